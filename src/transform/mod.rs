//! Pure conversions from Jira's JSON to the tables' typed columns.

pub mod adf;
pub mod batch;
pub mod cell;
pub mod columns;
pub mod decode;
pub mod drift;
pub mod history;
pub mod key;
pub mod mask;
pub mod sprint;
pub mod wiki;
