//! Issues: JQL search pages → typed batches, one column per selected field.

use serde_json::Value;

use super::{BATCH_ROWS, Extract, RunStamp, StreamError};
use crate::config::{FieldSelection, ObjectConfig};
use crate::jira::JiraClient;
use crate::jira::fields::FieldDef;
use crate::jira::issues::bounded_jql;
use crate::transform::columns::{BatchBuilder, Column, ColumnType};

/// Page size asked for; Jira may return fewer, and paging never assumes it.
const PAGE_SIZE: u32 = 100;

/// The issue table's columns: `id`, `key`, the selected fields in `/field` order, metadata.
pub fn columns(defs: &[FieldDef], selection: &FieldSelection) -> Result<Vec<Column>, StreamError> {
    if let FieldSelection::Include(names) | FieldSelection::Exclude(names) = selection {
        for name in names {
            if name != "key" && !defs.iter().any(|d| &d.id == name) {
                return Err(unknown_field(defs, name));
            }
        }
    }
    // `id` and `key` are always kept: the primary key and the name people use for an issue.
    let mut cols =
        vec![Column { name: "id".into(), ty: ColumnType::Text }, Column { name: "key".into(), ty: ColumnType::Text }];
    for d in defs {
        if d.id != "id" && d.id != "key" && selection.keeps(&d.id) {
            cols.push(Column { name: d.id.clone(), ty: ColumnType::of(d.schema.as_ref()) });
        }
    }
    cols.extend(RunStamp::columns());
    Ok(cols)
}

/// Users often write a field's display name ("Story Points") where its id belongs.
fn unknown_field(defs: &[FieldDef], name: &str) -> StreamError {
    let by_name = defs.iter().find(|d| d.name.eq_ignore_ascii_case(name));
    let suggestion = match by_name {
        Some(d) => format!("; `{name}` is the display name of `{}`: use the id", d.id),
        None => defs
            .iter()
            .map(|d| (strsim::jaro_winkler(&d.id, name), d))
            .filter(|(s, _)| *s > 0.85)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, d)| format!("; did you mean `{}` ({})?", d.id, d.name))
            .unwrap_or_else(|| "; run `jirapipe discover` to list field ids".into()),
    };
    StreamError::UnknownField { object: "issues", field: name.to_string(), suggestion }
}

/// Pulls every issue matching the object's JQL (full refresh) into typed batches.
pub async fn extract(
    client: &JiraClient,
    object: &ObjectConfig,
    defs: &[FieldDef],
    stamp: &RunStamp,
) -> Result<Extract, StreamError> {
    let cols = columns(defs, &object.fields)?;
    // Push the selection down: ask Jira only for the fields that become columns.
    let wanted: Vec<String> =
        cols.iter().filter(|c| !c.name.starts_with('_') && c.name != "id").map(|c| c.name.clone()).collect();
    let wanted = if wanted.is_empty() { vec!["id".to_string()] } else { wanted };
    let jql = bounded_jql(object.jql.as_deref(), 0);
    let mut builder = BatchBuilder::new(cols);
    let mut batches = Vec::new();
    let mut rows = 0;
    let mut token: Option<String> = None;
    loop {
        let page = client.search_page(&jql, &wanted, token.as_deref(), PAGE_SIZE).await?;
        for issue in &page.issues {
            let id = issue["id"].as_str().unwrap_or_default();
            let fields = &issue["fields"];
            builder.push(id, |col| lookup(issue, fields, stamp, col))?;
            rows += 1;
            if builder.len() >= BATCH_ROWS {
                batches.push(builder.finish());
            }
        }
        tracing::debug!(rows, "issues page received");
        match page.next() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    if !builder.is_empty() || batches.is_empty() {
        batches.push(builder.finish());
    }
    Ok(Extract { schema: batches[0].schema(), batches, rows })
}

fn lookup<'v>(issue: &'v Value, fields: &'v Value, stamp: &'v RunStamp, col: &str) -> Option<&'v Value> {
    match col {
        "id" | "key" => issue.get(col),
        _ => stamp.column(col).or_else(|| fields.get(col)),
    }
}
