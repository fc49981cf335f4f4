//! The end-to-end tests: one test binary, one module per suite, so that a change links one
//! binary rather than one per suite. Run a suite with `cargo test --test it <suite>::`.

mod common;

mod activity;
mod analytics;
mod auth;
mod azure;
mod changelog;
mod check;
mod cli;
mod crash;
mod deletes;
mod dimensions;
mod demo;
mod extract;
mod hostile;
mod loss;
mod monitoring;
mod login;
mod oauth;
mod operator;
mod pacing;
mod planning;
mod progress;
mod s3;
mod schedule;
mod schema;
mod soak;
mod source_tree;
mod storage;
mod tables;
mod typed;
