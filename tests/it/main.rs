//! The end-to-end tests: one test binary, one module per suite, so that a change links one
//! binary rather than one per suite. Run a suite with `cargo test --test it <suite>::`.

/// The allocator the binary ships with: the runs these tests drive in-process then allocate as
/// the binary does (glibc's malloc took 7% of the soak test's CPU time).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

mod activity;
mod analytics;
mod auth;
mod azure;
mod changelog;
/// The soak test, 100 runs through random faults. Tests start in name order and this one takes
/// longest (4–5 minutes): named to start early, so that the others run beside it, not after it.
mod chaos;
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
mod source_tree;
mod storage;
mod tables;
mod typed;
