//! `jirapipe discover`: the site's fields per object, and a starter pipeline.

use std::path::Path;

use jirapipe::check;
use jirapipe::config::{ObjectKind, Vars};
use jirapipe::discover::{self, FieldInfo};
use jirapipe::jira::JiraClient;

use super::{Exit, load};

pub async fn run(file: &Path, write_pipeline: bool) -> Exit {
    let Some(pipeline) = load(file, &Vars::from_env()) else { return Exit::BadInput };
    let defs = match JiraClient::connect(&pipeline.source, check::probe_retry()).await {
        Ok(client) => client.fields().await,
        Err(e) => Err(e),
    };
    let defs = match defs {
        Ok(d) => d,
        Err(e) => {
            eprintln!(
                "error: cannot read the site's fields: {e}\n  run `jirapipe check {}` for the diagnosis",
                file.display()
            );
            return Exit::RunFailed;
        }
    };
    let fields: Vec<FieldInfo> = ObjectKind::ALL.iter().copied().flat_map(|k| discover::fields_of(k, &defs)).collect();
    if write_pipeline {
        // Only the YAML on stdout, so `> starter.yaml` works.
        let original = std::fs::read_to_string(file).unwrap_or_default();
        print!("{}", discover::starter_pipeline(&original, &pipeline.name, &fields, pipeline.source.deployment));
        return Exit::Ok;
    }
    println!(
        "{:<9} {:<20} {:<26} {:<16} {:<28} {:<6} pii",
        "object", "id", "name", "jira type", "column type", "custom"
    );
    for f in &fields {
        let mut column = f.column_type.clone();
        if column.len() > 28 {
            column.truncate(25);
            column.push_str("...");
        }
        println!(
            "{:<9} {:<20} {:<26} {:<16} {:<28} {:<6} {}",
            f.object,
            f.id,
            f.name,
            f.jira_type,
            column,
            if f.custom { "yes" } else { "" },
            if f.pii.is_empty() { String::new() } else { format!("hash: {}", f.pii.join(", ")) }
        );
    }
    for (column, by) in jirapipe::objects::of(ObjectKind::Issues).embeds() {
        if pipeline.object(*by).is_some() {
            println!(
                "note: issues.{column} holds the first page of what `{}` reads whole, so a new issues table leaves it out while `{}` is in this pipeline (name it in `fields.include` to keep it)",
                by.name(),
                by.name()
            );
        }
    }
    Exit::Ok
}
