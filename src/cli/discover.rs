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
    let new_project = match dbt.map(project_state).transpose() {
        Ok(n) => n.unwrap_or(false),
        Err(message) => {
            eprintln!("{message}");
            return Exit::BadInput;
        }
    };
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
        return write_dbt(&pipeline, &defs, dir, new_project).await;
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

/// Whether `dir` is to get the bundled `analytics/` project (it is missing or empty), or
/// already is a dbt project; anything else is refused before Jira is asked anything.
pub(super) fn project_state(dir: &Path) -> Result<bool, String> {
    if dir.join("dbt_project.yml").is_file() {
        return Ok(false);
    }
    let empty = std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(true);
    if empty && !dir.is_file() {
        return Ok(true);
    }
    Err(format!(
        "error: {} is not a dbt project (no dbt_project.yml) and not empty\n  fix: name a new or empty folder (jirapipe writes its analytics project there), or a dbt project whose model-paths and macro-paths include `{}` and `{}`",
        dir.display(),
        dbt::MODELS_DIR,
        dbt::MACROS_DIR
    ))
}

/// `--dbt <dir>`: the sources and staging models of the pipeline's destination, written under
/// `<dir>/generated/` (files an earlier run generated there are replaced; nothing else is
/// touched), after the bundled project when `dir` is new.
async fn write_dbt(pipeline: &Pipeline, defs: &[FieldDef], dir: &Path, new_project: bool) -> Exit {
    let generated = match dbt::generate(pipeline, defs).await {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: cannot describe the tables of pipeline `{}`: {e}", pipeline.name);
            return Exit::RunFailed;
        }
    };
    if let Err(e) = write_project(dir, new_project, &generated.files) {
        eprintln!("error: cannot write the dbt files into {}: {e}", dir.display());
        return Exit::RunFailed;
    }
    if new_project {
        println!("wrote jirapipe's analytics dbt project to {}", dir.display());
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

/// Writes the bundled project into `dir` when `bundle`, then `files`, first removing the files
/// an earlier run generated in the same folders (a table no longer in the pipeline must not
/// leave its model behind).
pub(super) fn write_project(dir: &Path, bundle: bool, files: &[(String, String)]) -> std::io::Result<()> {
    if bundle {
        for (path, text) in dbt::project::FILES {
            let path = dir.join(path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, text)?;
        }
    }
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
