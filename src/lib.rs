//! jirapipe: Jira Cloud / Data Center → Delta Lake tables, driven by YAML pipeline files.
//!
//! The data path reads top to bottom: [`config`] → [`jira`] → [`stream`] → [`transform`] →
//! [`table`], orchestrated by [`runner`].

pub(crate) use deltalake::arrow;

pub mod check;
pub mod config;
pub mod discover;
pub mod jira;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod state;
pub mod stream;
pub mod table;
pub mod transform;
