//! `jirapipe discover`: the site's fields per object, and a starter pipeline.

use std::path::Path;

use jirapipe::check;
use jirapipe::config::{ObjectKind, Pipeline, Vars};
use jirapipe::dbt;
use jirapipe::discover::{self, FieldInfo};
use jirapipe::jira::JiraClient;
use jirapipe::jira::fields::FieldDef;

use super::{Exit, load};

pub async fn run(file: &Path, write_pipeline: bool, dbt: Option<&Path>) -> Exit {
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
    if let Some(dir) = dbt {
        return write_dbt(&pipeline, &defs, dir).await;
    }
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

/// `--dbt <dir>`: the sources and staging models of the pipeline's destination, written under
/// `<dir>/generated/` (files an earlier run generated there are replaced; nothing else is touched).
async fn write_dbt(pipeline: &Pipeline, defs: &[FieldDef], dir: &Path) -> Exit {
    if !dir.join("dbt_project.yml").is_file() {
        eprintln!(
            "error: {} is not a dbt project (no dbt_project.yml)\n  fix: point --dbt at a copy of jirapipe's analytics/ project (or any dbt project whose model-paths and macro-paths include `{}` and `{}`)",
            dir.display(),
            dbt::MODELS_DIR,
            dbt::MACROS_DIR
        );
        return Exit::BadInput;
    }
    let generated = match dbt::generate(pipeline, defs).await {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: cannot describe the tables of pipeline `{}`: {e}", pipeline.name);
            return Exit::RunFailed;
        }
    };
    if let Err(e) = write_files(dir, &generated.files) {
        eprintln!("error: cannot write the dbt files into {}: {e}", dir.display());
        return Exit::RunFailed;
    }
    println!(
        "wrote {} files under {} (sources read {})",
        generated.files.len(),
        dir.join("generated").display(),
        generated.lake
    );
    for r in &generated.roles {
        println!("  role {:<13} {}", r.name, r.field_id);
    }
    for r in generated.renamed.iter().filter(|r| r.jira_name.is_some()) {
        println!("  {:<20} {:<28} -> {}", r.column, r.jira_name.as_deref().unwrap_or_default(), r.alias);
    }
    for c in &generated.collisions {
        println!(
            "note: {} ({}) would be `{}`, which {} holds: it is `{}`",
            c.column, c.jira_name, c.wanted, c.taken_by, c.alias
        );
    }
    for k in &generated.stubbed {
        println!(
            "note: the pipeline does not read `{}`: its staging view is empty, so the models count none of it (add it to the pipeline)",
            k.name()
        );
    }
    Exit::Ok
}

/// Writes `files` under `dir`, first removing the files an earlier run generated in the same
/// folders (a table no longer in the pipeline must not leave its model behind).
fn write_files(dir: &Path, files: &[(String, String)]) -> std::io::Result<()> {
    for sub in [dbt::MODELS_DIR, dbt::MACROS_DIR] {
        let folder = dir.join(sub);
        std::fs::create_dir_all(&folder)?;
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if path.is_file() && text.lines().next().is_some_and(|l| l.contains(dbt::staging::MARKER)) {
                std::fs::remove_file(&path)?;
            }
        }
    }
    for (path, text) in files {
        std::fs::write(dir.join(path), text)?;
    }
    Ok(())
}
