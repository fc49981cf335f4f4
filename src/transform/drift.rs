//! Schema drift: Jira's fields against the columns a table already has.
//!
//! The table's types always win for columns it has: a field whose Jira type changed keeps its
//! column type, and records whose values no longer fit go to `_rejects` instead of being
//! coerced. New fields are added, held back, or stop the run, as the policy says.

use serde::Serialize;

use super::columns::{Column, ColumnType, TYPED_SINCE_JSON};
use crate::arrow::datatypes::Schema;
use crate::config::SchemaDrift;

/// What differs between Jira's fields and the table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Drift {
    /// Fields Jira has and the table does not.
    pub added: Vec<String>,
    /// Columns whose Jira type changed: (column, table type, Jira type).
    pub retyped: Vec<(String, String, String)>,
    /// Columns the table has and this run does not produce (kept as nulls unless `auto_sync`
    /// replaces the table).
    pub missing: Vec<String>,
}

/// Adjusts `columns` to the table's `schema` under `policy`. `Err` carries the new fields when
/// `policy` is `fail`. `rewrite`: the table is replaced whole (a full refresh under
/// `auto_sync`), so it takes Jira's types and drops the columns Jira no longer has; otherwise
/// the table's types win and its other columns are re-added (as nulls) so nothing is dropped.
pub fn reconcile(
    columns: &mut Vec<Column>,
    schema: &Schema,
    policy: SchemaDrift,
    rewrite: bool,
) -> Result<Drift, Vec<String>> {
    let keep_missing = !rewrite;
    let mut drift = Drift::default();
    for c in columns.iter_mut() {
        match schema.field_with_name(&c.name) {
            Ok(f) if f.data_type() != &c.ty.arrow() => {
                let table_type = ColumnType::from_arrow(f.data_type());
                // Compared as the table can hold them: Delta names list items `element` and may
                // read fields back with other nullability, which is not a change, and text
                // columns of every kind (rich text, JSON) are text in the table.
                let same = table_type == ColumnType::from_arrow(&c.ty.arrow());
                // Whole numbers in a table of doubles (written before they were whole): the
                // table keeps doubles, which hold every value, without a warning on every run.
                let widened = table_type.widens(&c.ty);
                // A text column for a structured value keeps the value's JSON text, lossless;
                // for the fields jirapipe itself once kept as JSON that is no drift either.
                let as_json = table_type == ColumnType::Text
                    && matches!(c.ty, ColumnType::Struct(_) | ColumnType::List(_) | ColumnType::Json);
                let ours = as_json && TYPED_SINCE_JSON.contains(&c.name.as_str());
                // A rewritten table changes type in front of its readers: always said.
                if !same && (rewrite || (!widened && !ours)) {
                    drift.retyped.push((c.name.clone(), table_type.describe(), c.ty.describe()));
                }
                if rewrite {
                    // Jira's type: the table is written anew.
                } else if as_json {
                    c.ty = ColumnType::Json;
                } else if !same {
                    c.ty = table_type;
                }
            }
            Ok(_) => {}
            // jirapipe's own metadata columns are added without asking.
            Err(_) if c.name.starts_with('_') => {}
            Err(_) => drift.added.push(c.name.clone()),
        }
    }
    match policy {
        SchemaDrift::Fail if !drift.added.is_empty() => return Err(drift.added),
        SchemaDrift::Block => columns.retain(|c| !drift.added.contains(&c.name)),
        _ => {}
    }
    for f in schema.fields() {
        if !columns.iter().any(|c| &c.name == f.name()) {
            drift.missing.push(f.name().clone());
            if keep_missing {
                columns.push(Column { name: f.name().clone(), ty: ColumnType::from_arrow(f.data_type()) });
            }
        }
    }
    Ok(drift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::datatypes::{DataType, Field};

    fn cols(spec: &[(&str, ColumnType)]) -> Vec<Column> {
        spec.iter().map(|(n, t)| Column { name: n.to_string(), ty: t.clone() }).collect()
    }

    fn table() -> Schema {
        Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("points", DataType::Float64, true),
            Field::new("old", DataType::Utf8, true),
        ])
    }

    #[test]
    fn policies_add_hold_back_or_fail_on_new_fields() {
        let jira = cols(&[("id", ColumnType::Text), ("points", ColumnType::Float), ("new", ColumnType::Text)]);
        let mut c = jira.clone();
        let d = reconcile(&mut c, &table(), SchemaDrift::AutoSync, true).unwrap();
        assert_eq!((d.added.clone(), d.missing.clone()), (vec!["new".to_string()], vec!["old".to_string()]));
        assert_eq!(c.len(), 3);
        let mut c = jira.clone();
        reconcile(&mut c, &table(), SchemaDrift::Block, false).unwrap();
        assert_eq!(c.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["id", "points", "old"]);
        let mut c = jira.clone();
        assert_eq!(reconcile(&mut c, &table(), SchemaDrift::Fail, false).unwrap_err(), ["new"]);
    }

    /// Delta reads a list back with its item named `element` and may change nullability: the
    /// same logical type is no drift (it was reported on every second run).
    #[test]
    fn physical_differences_are_not_drift_and_a_real_change_still_is() {
        use std::sync::Arc;
        let item = |name: &str, nullable: bool| {
            let inner = ColumnType::user().arrow();
            DataType::List(Arc::new(Field::new(name, inner, nullable)))
        };
        let table = Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("watchers", item("element", false), true),
            Field::new("points", DataType::Float64, true),
            Field::new("spent", DataType::Float64, true),
            Field::new("description", DataType::Utf8, true),
        ]);
        let list = ColumnType::List(Box::new(ColumnType::user()));
        let jira = cols(&[
            ("id", ColumnType::Text),
            ("watchers", list.clone()),
            ("points", ColumnType::Float),
            ("spent", ColumnType::Int),
            ("description", ColumnType::RichText),
        ]);
        let mut c = jira.clone();
        let d = reconcile(&mut c, &table, SchemaDrift::AutoSync, false).unwrap();
        assert!(d.retyped.is_empty() && d.added.is_empty() && d.missing.is_empty(), "{d:?}");
        assert_eq!(c[1].ty, list);
        assert_eq!(c[3].ty, ColumnType::Float, "the table's doubles are kept");
        assert_eq!(c[4].ty, ColumnType::RichText, "rich text is still flattened");
        let mut c = cols(&[("id", ColumnType::Text), ("watchers", ColumnType::List(Box::new(ColumnType::Text)))]);
        let d = reconcile(&mut c, &table, SchemaDrift::AutoSync, false).unwrap();
        assert_eq!(d.retyped.len(), 1, "a real change is still reported");
    }

    /// A table written when `votes` was JSON text keeps it (no warning); a field Jira changed
    /// from text to an object is kept as JSON text too, and said.
    #[test]
    fn text_columns_keep_structured_values_as_json() {
        let table = Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("votes", DataType::Utf8, true),
            Field::new("customfield_1", DataType::Utf8, true),
        ]);
        let votes = ColumnType::Struct(vec![("votes".into(), ColumnType::Int)]);
        let mut c = cols(&[("id", ColumnType::Text), ("votes", votes.clone()), ("customfield_1", votes)]);
        let d = reconcile(&mut c, &table, SchemaDrift::AutoSync, false).unwrap();
        assert_eq!((c[1].ty.clone(), c[2].ty.clone()), (ColumnType::Json, ColumnType::Json));
        let retyped: Vec<&str> = d.retyped.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(retyped, ["customfield_1"]);
        let votes = ColumnType::Struct(vec![("votes".into(), ColumnType::Int)]);
        let mut c = cols(&[("id", ColumnType::Text), ("votes", votes.clone())]);
        let d = reconcile(&mut c, &table, SchemaDrift::AutoSync, true).unwrap();
        assert_eq!((c[1].ty.clone(), d.retyped.len()), (votes, 1), "a rewritten table takes Jira's type, and says so");
    }

    #[test]
    fn the_table_type_wins_when_jira_changes_a_field_type() {
        let mut c = cols(&[("id", ColumnType::Text), ("points", ColumnType::Text)]);
        let d = reconcile(&mut c, &table(), SchemaDrift::AutoSync, false).unwrap();
        assert_eq!(c[1].ty, ColumnType::Float);
        assert_eq!(d.retyped, vec![("points".into(), "double".into(), "text".into())]);
    }
}
