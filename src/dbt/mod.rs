//! `jirapipe discover --dbt <dir>`: the dbt sources and staging models of a pipeline's
//! destination, for the `analytics/` dbt project. The sources read the Delta tables where they
//! are (dbt-duckdb's `external_location`: `delta_scan('<lake>/<table>')`, the lake overridable
//! with the `jirapipe_lake` var), with each column described from Jira's field names; the
//! staging models keep live rows, give custom fields readable names (collisions resolved and
//! listed) and give the models the columns they read whatever the pipeline selects.
//!
//! Nothing here writes files: [`generate`] returns them, the CLI writes them.

mod names;
pub mod project;
pub mod staging;

use std::fmt::Write;

pub use names::{Collision, Renamed, Role};

use crate::config::{Deletes, FieldSelection, ObjectKind, Pipeline};
use crate::jira::fields::{FieldDef, FieldSchema};
use crate::objects::{self, ObjectError};
use crate::table::{DELETED_AT, TableError, TableStore};
use crate::transform::columns::ColumnType;
use staging::{MARKER, Select, snake_column};

/// The objects the analytics models read. A pipeline without one gets an empty staging view
/// for it, so the models still build (their counts of it are then zero).
pub const MODEL_OBJECTS: [ObjectKind; 8] = [
    ObjectKind::Issues,
    ObjectKind::StatusIntervals,
    ObjectKind::FieldHistory,
    ObjectKind::Comments,
    ObjectKind::Worklogs,
    ObjectKind::IssueLinks,
    ObjectKind::Sprints,
    ObjectKind::Statuses,
];

/// Where the generated files go inside the dbt project (`dbt_project.yml` lists both paths).
pub const MODELS_DIR: &str = "generated/models";
pub const MACROS_DIR: &str = "generated/macros";

#[derive(Debug, thiserror::Error)]
pub enum DbtError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error(transparent)]
    Object(#[from] ObjectError),
}

/// What `discover --dbt` writes, and what it decided.
#[derive(Debug)]
pub struct Generated {
    /// (path inside the dbt project, content).
    pub files: Vec<(String, String)>,
    pub renamed: Vec<Renamed>,
    pub collisions: Vec<Collision>,
    pub roles: Vec<Role>,
    /// Model objects the pipeline does not write: their staging views are empty.
    pub stubbed: Vec<ObjectKind>,
    /// The lake the sources read by default.
    pub lake: String,
}

/// One column as the sources list it.
struct Col {
    name: String,
    description: String,
}

/// The dbt files for `pipeline`'s destination. Tables already written give their columns as
/// they are; others the columns a run would write.
pub async fn generate(pipeline: &Pipeline, catalogue: &[FieldDef]) -> Result<Generated, DbtError> {
    let store = TableStore::for_destination(&pipeline.destination);
    let lake = lake_location(&pipeline.destination.url);
    let mut tables = Vec::new();
    for o in &pipeline.objects {
        let object = objects::of(o.kind);
        let mut columns: Vec<(String, ColumnType)> = object
            .select(catalogue, &selection(pipeline, o.kind, &o.fields))?
            .into_iter()
            .map(|c| (c.name, c.ty))
            .collect();
        if o.deletes != Deletes::Ignore && o.kind.has_deletes() {
            columns.push((DELETED_AT.into(), ColumnType::Timestamp));
            columns.push((crate::table::DELETED_REASON.into(), ColumnType::Text));
        }
        let names: Vec<String> = match store.schema(o.kind.table()).await? {
            Some(schema) => schema.fields().iter().map(|f| f.name().clone()).collect(),
            None => columns.iter().map(|(n, _)| n.clone()).collect(),
        };
        let docs = describe(o.kind, catalogue);
        let cols = names
            .into_iter()
            .map(|n| {
                let ty = columns.iter().find(|(c, _)| *c == n).map(|(_, t)| t.clone());
                let description = docs
                    .iter()
                    .find(|(c, _)| *c == n)
                    .map(|(_, d)| d.clone())
                    .unwrap_or_else(|| ty.as_ref().map(|t| format!("`{}`", t.describe())).unwrap_or_default());
                Col { name: n, description }
            })
            .collect();
        tables.push((o.kind, cols));
    }

    let mut files = vec![(format!("{MODELS_DIR}/_jira__sources.yml"), sources_yml(pipeline, &lake, &tables))];
    let mut stubbed = Vec::new();
    let (mut renamed, mut collisions) = (Vec::new(), Vec::new());
    let roles = names::roles(catalogue);
    for (kind, cols) in &tables {
        let has_deletes = cols.iter().any(|c| c.name == DELETED_AT);
        let sql = if *kind == ObjectKind::Issues {
            let (sql, r, c) = issues_view(pipeline, cols, catalogue, &roles, has_deletes);
            (renamed, collisions) = (r, c);
            sql
        } else {
            let select: Vec<(String, String)> = cols
                .iter()
                .filter(|c| !c.name.starts_with("_deleted"))
                .map(|c| (c.name.clone(), snake_column(&c.name)))
                .collect();
            let select: Vec<Select<'_>> = select.iter().map(|(c, a)| Select::Column { column: c, alias: a }).collect();
            let header = format!(
                "{MARKER} for pipeline `{}`: `{}` with snake-case names, rows marked deleted left out.",
                pipeline.name,
                kind.table()
            );
            staging::view(kind.table(), &header, &select, has_deletes)
        };
        files.push((format!("{MODELS_DIR}/stg_jira__{}.sql", kind.table()), sql));
    }
    for kind in MODEL_OBJECTS.iter().filter(|k| pipeline.object(**k).is_none()) {
        stubbed.push(*kind);
        let columns: Vec<(String, ColumnType)> =
            objects::of(*kind).columns(catalogue).into_iter().map(|c| (c.name, c.ty)).collect();
        let header = format!(
            "{MARKER} for pipeline `{}`, which does not read `{}`: an empty view of its columns, so the\n\
             models build (what they count of it is zero). Add `{}` to the pipeline and run discover again.",
            pipeline.name,
            kind.name(),
            kind.name()
        );
        files.push((format!("{MODELS_DIR}/stg_jira__{}.sql", kind.table()), staging::stub(&header, &columns)));
    }
    files.push((format!("{MACROS_DIR}/jirapipe_custom_fields.sql"), roles_macro(pipeline, &roles)));
    Ok(Generated { files, renamed, collisions, roles, stubbed, lake })
}

/// `fields` as the run applies it: `comment` and `worklog` left out of issues when their own
/// objects are in the pipeline (unless named in `include`).
fn selection(pipeline: &Pipeline, kind: ObjectKind, fields: &FieldSelection) -> FieldSelection {
    let embedded: Vec<String> = objects::of(kind)
        .embeds()
        .iter()
        .filter(|(_, by)| pipeline.object(*by).is_some())
        .map(|(c, _)| c.to_string())
        .collect();
    match fields {
        FieldSelection::Include(_) => fields.clone(),
        _ if embedded.is_empty() => fields.clone(),
        FieldSelection::Exclude(names) => FieldSelection::Exclude(names.iter().cloned().chain(embedded).collect()),
        FieldSelection::All => FieldSelection::Exclude(embedded),
    }
}

/// The descriptions of `kind`'s columns: Jira's name and type for issues' fields, what the
/// metadata columns mean.
fn describe(kind: ObjectKind, catalogue: &[FieldDef]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = objects::of(kind)
        .describe(catalogue)
        .into_iter()
        .map(|c| {
            let ty = c.column.ty.describe();
            let d = if c.jira_type.is_empty() {
                format!("`{ty}`")
            } else {
                let custom = if c.custom { ", custom field" } else { "" };
                format!("{} (Jira type `{}`{custom}): `{ty}`", c.name, c.jira_type)
            };
            (c.column.name, d)
        })
        .collect();
    for (c, d) in [
        ("_extracted_at", "When the run that wrote the row started (UTC)."),
        ("_run_id", "The run that wrote the row (`_runs.run_id`)."),
        ("_project_id", "The issue's project id when it was last read."),
        (DELETED_AT, "When jirapipe found the record gone (UTC); null while it is in Jira."),
        ("_deleted_reason", "Why it is gone: deleted, left_filter, archived or lost_access."),
    ] {
        out.push((c.into(), d.into()));
    }
    out
}

/// The lake as `delta_scan` takes it: a local path for `file://`, the URL otherwise.
fn lake_location(url: &url::Url) -> String {
    match url.to_file_path() {
        Ok(p) if url.scheme() == "file" => p.to_string_lossy().trim_end_matches('/').to_string(),
        _ => url.as_str().trim_end_matches('/').to_string(),
    }
}

/// A YAML double-quoted scalar (JSON's string syntax is YAML's), with braces that dbt's Jinja
/// would read as template syntax replaced.
fn yaml_text(s: &str) -> String {
    let safe = s.replace("{{", "{ {").replace("}}", "} }").replace("{%", "{ %").replace("{#", "{ #");
    serde_json::Value::String(safe).to_string()
}

fn sources_yml(pipeline: &Pipeline, lake: &str, tables: &[(ObjectKind, Vec<Col>)]) -> String {
    let mut y = format!(
        "# {MARKER} for pipeline `{}`; run it again rather than edit.\n\
         # The tables are read where they are: dbt-duckdb's `external_location` (delta_scan); set the\n\
         # `jirapipe_lake` var to read another copy. Other adapters read `<jirapipe_schema>.<table>`.\n\
         version: 2\n\nsources:\n  - name: jira\n",
        pipeline.name
    );
    let _ = writeln!(
        y,
        "    description: {}",
        yaml_text(&format!("The Delta tables of jirapipe pipeline `{}` at {lake}.", pipeline.name))
    );
    y.push_str("    schema: \"{{ var('jirapipe_schema', 'jira') }}\"\n    tables:\n");
    for (kind, cols) in tables {
        let table = kind.table();
        let _ = writeln!(y, "      - name: {table}");
        let _ = writeln!(
            y,
            "        description: {}",
            yaml_text(&format!("jirapipe object `{}` (its columns: docs/tables.md).", kind.name()))
        );
        let location = format!("delta_scan('{{{{ var('jirapipe_lake', '{}') }}}}/{table}')", lake.replace('\'', "''"));
        let _ = writeln!(y, "        meta:\n          external_location: {}", serde_json::Value::String(location));
        y.push_str("        columns:\n");
        for c in cols {
            let _ = writeln!(
                y,
                "          - name: {}\n            description: {}",
                yaml_text(&c.name),
                yaml_text(&c.description)
            );
            if c.name == "id" {
                y.push_str("            data_tests: [not_null]\n");
            }
        }
    }
    y
}

/// The required issue columns the models read, with the type a missing one gets.
fn required_issue_columns() -> Vec<(&'static str, ColumnType)> {
    let of = |kind: &str, items: Option<&str>, custom: Option<&str>| {
        ColumnType::of(Some(&FieldSchema {
            kind: kind.into(),
            items: items.map(String::from),
            custom: custom.map(String::from),
            system: None,
        }))
    };
    vec![
        ("summary", ColumnType::Text),
        ("status", of("status", None, None)),
        ("priority", of("priority", None, None)),
        ("issuetype", of("issuetype", None, None)),
        ("project", of("project", None, None)),
        ("assignee", of("user", None, None)),
        ("reporter", of("user", None, None)),
        ("parent", of("issuelink", None, None)),
        ("created", ColumnType::Timestamp),
        ("updated", ColumnType::Timestamp),
        ("resolutiondate", ColumnType::Timestamp),
        ("sprint", of("array", Some("json"), Some("com.pyxis.greenhopper.jira:gh-sprint"))),
        ("story_points", ColumnType::Float),
    ]
}

fn issues_view(
    pipeline: &Pipeline,
    cols: &[Col],
    catalogue: &[FieldDef],
    roles: &[Role],
    has_deletes: bool,
) -> (String, Vec<Renamed>, Vec<Collision>) {
    let columns: Vec<String> =
        cols.iter().filter(|c| !c.name.starts_with("_deleted")).map(|c| c.name.clone()).collect();
    let (mut renamed, collisions) = names::rename(&columns, catalogue, roles);
    for r in renamed.iter_mut().filter(|r| r.column.starts_with('_')) {
        r.alias = snake_column(&r.column);
    }
    let required = required_issue_columns();
    let absent: Vec<&(&str, ColumnType)> =
        required.iter().filter(|(name, _)| !renamed.iter().any(|r| r.alias == *name)).collect();
    let mut select: Vec<Select<'_>> =
        renamed.iter().map(|r| Select::Column { column: &r.column, alias: &r.alias }).collect();
    select.extend(absent.iter().map(|(alias, ty)| Select::Null { alias, ty }));
    let absent_names: Vec<&str> = absent.iter().map(|(n, _)| *n).collect();
    let header = staging::issues_header(&pipeline.name, &renamed, &collisions, &absent_names);
    let sql = staging::view("issues", &header, &select, has_deletes);
    (sql, renamed, collisions)
}

/// A macro naming the custom field of each role on this site (`''` when it has none), for
/// the models that read field history by field id.
fn roles_macro(pipeline: &Pipeline, roles: &[Role]) -> String {
    let mut m = format!(
        "{{# {MARKER} for pipeline `{}`: the custom field playing each role the models read. #}}\n\
         {{% macro jirapipe_custom_field(role) -%}}\n",
        pipeline.name
    );
    let pairs: Vec<String> = ["sprint", "story_points", "epic_link"]
        .iter()
        .map(|name| {
            let id = roles.iter().find(|r| r.name == *name).map(|r| r.field_id.as_str()).unwrap_or("");
            format!("{}: {}", quote_jinja(name), quote_jinja(id))
        })
        .collect();
    let _ = writeln!(m, "  {{%- set ids = {{{}}} -%}}", pairs.join(", "));
    m.push_str("  {{- return(ids.get(role, '')) -}}\n{%- endmacro %}\n");
    m
}

fn quote_jinja(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}
