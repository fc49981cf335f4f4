//! `jirapipe validate`: offline checks of pipeline files.

use std::path::PathBuf;

use jirapipe::config::{Vars, load_file};

use super::{Exit, report_load_error};

pub fn run(files: &[PathBuf]) -> Exit {
    let vars = Vars::from_env();
    let mut failed = 0;
    for f in files {
        match load_file(f, &vars) {
            Ok(p) => {
                let objects: Vec<&str> = p.objects.iter().map(|o| o.kind.name()).collect();
                println!(
                    "ok  {}  (pipeline `{}`: {} -> {})",
                    f.display(),
                    p.name,
                    objects.join(", "),
                    p.destination.url
                );
            }
            Err(e) => {
                failed += 1;
                report_load_error(&e);
                println!(
                    "bad {}  ({} problem{})",
                    f.display(),
                    e.errors().len().max(1),
                    if e.errors().len() > 1 { "s" } else { "" }
                );
            }
        }
    }
    if failed > 0 { Exit::BadInput } else { Exit::Ok }
}
