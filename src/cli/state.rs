//! `jirapipe state show|reset`: where each object stands, and rewinding cursors.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use jirapipe::config::Vars;
use jirapipe::state::{self, StateError};

use super::{Exit, load};

fn failed(e: &StateError) -> Exit {
    eprintln!("error: {e}");
    if e.is_input() { Exit::BadInput } else { Exit::RunFailed }
}

pub async fn show(file: &Path) -> Exit {
    let Some(pipeline) = load(file, &Vars::from_env()) else { return Exit::BadInput };
    let objects = match state::show(&pipeline).await {
        Ok(o) => o,
        Err(e) => return failed(&e),
    };
    println!("pipeline `{}` -> {}\n", pipeline.name, pipeline.destination.url);
    println!("{:<9} {:>7}  {:<24}  {:<34}  {:>9}  {:<7}", "object", "version", "cursor", "last run", "rows", "status");
    for o in objects {
        let version = o.version.map_or_else(|| "-".to_string(), |v| v.to_string());
        let cursor = match (o.cursor, pipeline.object(kind(o.object)).map(|c| c.sync)) {
            (Some(c), _) if c.timestamp_millis() == 0 => "none (next: full, merged)".to_string(),
            (Some(c), _) => c.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            (None, Some(jirapipe::config::SyncMode::Incremental)) => "none (next: full)".to_string(),
            (None, _) => "- (full refresh)".to_string(),
        };
        let (when, rows, status) = match &o.last_run {
            Some(r) => (r.started_at.clone(), r.rows_written.clone(), r.status.clone()),
            None => ("never".to_string(), "-".to_string(), "-".to_string()),
        };
        println!("{:<9} {:>7}  {:<24}  {:<34}  {:>9}  {:<7}", o.object, version, cursor, when, rows, status);
        if let Some(e) = o.last_run.as_ref().and_then(|r| r.error.as_ref()) {
            println!("    last error: {e}");
        }
    }
    Exit::Ok
}

fn kind(name: &str) -> jirapipe::config::ObjectKind {
    jirapipe::config::ObjectKind::ALL.iter().copied().find(|k| k.name() == name).expect("a known object")
}

pub async fn reset(file: &Path, object: Option<&str>, to: Option<&str>, yes: bool) -> Exit {
    let Some(pipeline) = load(file, &Vars::from_env()) else { return Exit::BadInput };
    let to = match to.map(state::parse_time).transpose() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: --to: {e}");
            return Exit::BadInput;
        }
    };
    let targets = match state::reset_targets(&pipeline, object) {
        Ok(t) if t.is_empty() => {
            println!("pipeline `{}` has no incremental object: nothing to reset", pipeline.name);
            return Exit::Ok;
        }
        Ok(t) => t,
        Err(e) => return failed(&e),
    };
    let names: Vec<&str> = targets.iter().map(|k| k.name()).collect();
    let what = match to {
        Some(t) => format!(
            "rewind the cursor of {} to {t}; the next run re-reads everything updated since then",
            names.join(", ")
        ),
        None => format!(
            "forget the cursor of {}; the next run re-reads every issue the JQL matches and merges it by id",
            names.join(", ")
        ),
    };
    if !yes {
        if !std::io::stdin().is_terminal() {
            eprintln!("error: this would {what}. Pass --yes to confirm (stdin is not a terminal)");
            return Exit::BadInput;
        }
        eprint!("This will {what}. Continue? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing changed");
            return Exit::Ok;
        }
    }
    match state::reset(&pipeline, &targets, to).await {
        Ok(resets) => {
            for r in resets {
                match r.version {
                    Some(v) => println!(
                        "{}: cursor {} -> {} (table version {v})",
                        r.object,
                        r.cursor_before.map_or_else(|| "none".to_string(), |c| c.to_rfc3339()),
                        r.cursor_after.to_rfc3339()
                    ),
                    None => {
                        println!("{}: no table yet, nothing to reset (the first run extracts everything)", r.object)
                    }
                }
            }
            Exit::Ok
        }
        Err(e) => failed(&e),
    }
}
