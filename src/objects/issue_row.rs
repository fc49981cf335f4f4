//! One issue's JSON text → its row of cells in a single pass (see `transform::decode`): `id`
//! and `key` from the issue, the rest from its `fields`, masks applied on the way.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::{RunStamp, Shape};
use crate::table::{DELETED_AT, DELETED_REASON, PROJECT_ID};
use crate::transform::batch::Cell;
use crate::transform::decode::{CellSeed, Key, value_cell};

/// How an issue's keys map to the columns of `shape`.
pub struct IssueRows<'s> {
    shape: &'s Shape,
    id: usize,
    key: Option<usize>,
    /// Keys of `fields` that are columns.
    fields: HashMap<&'s str, usize>,
    /// Columns with a hash path below them: decoded whole, hashed, then converted.
    masked: Vec<bool>,
    /// The run's own columns, the same in every row.
    stamp: Vec<(usize, Cell<'static>)>,
    /// `_project_id`: the id inside `fields.project`, whether `project` is a column or not.
    project_id: Option<usize>,
    /// Rows marked out of scope: their `_deleted_at` and `_deleted_reason` columns, and the
    /// cells per marked id.
    marks: Option<MarkCells>,
}

/// The `_deleted_at` and `_deleted_reason` column indices, and each marked id's two cells.
type MarkCells = (usize, usize, HashMap<u64, (Cell<'static>, Cell<'static>)>);

impl<'s> IssueRows<'s> {
    /// `None` when the run's metadata does not fit the table's columns: then every row goes the
    /// slow way, which rejects each with the reason.
    pub fn new(shape: &'s Shape, run: &RunStamp) -> Option<Self> {
        let cols = &shape.columns;
        let id = cols.iter().position(|c| c.name == "id")?;
        let key = cols.iter().position(|c| c.name == "key");
        let project_id = cols.iter().position(|c| c.name == PROJECT_ID);
        let mut fields = HashMap::new();
        let mut stamp = Vec::new();
        for (i, c) in cols.iter().enumerate() {
            match run.column(&c.name) {
                Some(v) => stamp.push((i, Cell::from_value(&c.ty, v).ok()?.into_owned())),
                None if i != id && Some(i) != key && Some(i) != project_id => drop(fields.insert(c.name.as_str(), i)),
                None => {}
            }
        }
        let masked = cols.iter().map(|c| shape.is_masked(&c.name)).collect();
        let marks = match (
            cols.iter().position(|c| c.name == DELETED_AT),
            cols.iter().position(|c| c.name == DELETED_REASON),
        ) {
            (Some(at), Some(reason)) if !run.marks.by_id.is_empty() => {
                let mut cells = HashMap::new();
                for &marked in run.marks.by_id.keys() {
                    let cell = |i: usize| -> Option<Cell<'static>> {
                        let v = run.marks.column(marked, &cols[i].name)?;
                        Some(Cell::from_value(&cols[i].ty, v).ok()?.into_owned())
                    };
                    cells.insert(marked, (cell(at)?, cell(reason)?));
                }
                Some((at, reason, cells))
            }
            _ => None,
        };
        Some(Self { shape, id, key, fields, masked, stamp, project_id, marks })
    }

    /// The row of the issue `text`; an error when a value does not fit its column, or the issue
    /// has no `id` (the caller then finds out why through `Value`s and rejects it).
    pub fn decode<'a>(&'a self, text: &'a str) -> Result<Vec<Cell<'a>>, serde_json::Error> {
        let mut row = vec![Cell::Null; self.shape.columns.len()];
        for (i, cell) in &self.stamp {
            row[*i] = cell.reborrow();
        }
        let mut de = serde_json::Deserializer::from_str(text);
        de.deserialize_map(Issue { rows: self, row: &mut row })?;
        de.end()?;
        if row[self.id] == Cell::Null {
            return Err(de::Error::missing_field("id"));
        }
        if let Some((at, reason, cells)) = &self.marks
            && let Some((at_cell, reason_cell)) = self.id(&row).and_then(|id| cells.get(&id))
        {
            row[*at] = at_cell.reborrow();
            row[*reason] = reason_cell.reborrow();
        }
        Ok(row)
    }

    /// The numeric id of a decoded row.
    pub fn id(&self, row: &[Cell<'_>]) -> Option<u64> {
        match &row[self.id] {
            Cell::Text(id) => id.parse().ok(),
            _ => None,
        }
    }

    fn cell<'de, A: MapAccess<'de>>(&self, i: usize, map: &mut A) -> Result<Cell<'de>, A::Error> {
        let col = &self.shape.columns[i];
        if self.masked[i] {
            let v = self.shape.mask_value(&col.name, map.next_value::<Value>()?);
            return value_cell(&col.ty, &v);
        }
        map.next_value_seed(CellSeed(&col.ty))
    }
}

/// The issue object: `{"id", "key", "fields": {...}, "self", "expand", ...}`.
struct Issue<'r, 'de> {
    rows: &'de IssueRows<'de>,
    row: &'r mut Vec<Cell<'de>>,
}

impl<'de> Visitor<'de> for Issue<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an issue")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let rows = self.rows;
        while let Some(Key(k)) = map.next_key()? {
            match (&*k, rows.key) {
                ("id", _) => self.row[rows.id] = rows.cell(rows.id, &mut map)?,
                ("key", Some(i)) => self.row[i] = rows.cell(i, &mut map)?,
                ("fields", _) => map.next_value_seed(Fields { rows, row: &mut *self.row })?,
                _ => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok(())
    }
}

/// The issue's `fields` object: field id → value.
struct Fields<'r, 'de> {
    rows: &'de IssueRows<'de>,
    row: &'r mut Vec<Cell<'de>>,
}

impl<'de> DeserializeSeed<'de> for Fields<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Fields<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an issue's fields")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let rows = self.rows;
        while let Some(Key(k)) = map.next_key()? {
            match (rows.fields.get(&*k), rows.project_id) {
                // The project's id feeds `_project_id` as well as the `project` column.
                (column, Some(p)) if &*k == "project" => {
                    let v: Value = map.next_value()?;
                    self.row[p] = match &v["id"] {
                        Value::String(id) => Cell::Text(id.clone().into()),
                        _ => Cell::Null,
                    };
                    if let Some(&i) = column {
                        let col = &rows.shape.columns[i];
                        let v = if rows.masked[i] { rows.shape.mask_value(&col.name, v) } else { v };
                        self.row[i] = value_cell(&col.ty, &v)?;
                    }
                }
                (Some(&i), _) => self.row[i] = rows.cell(i, &mut map)?,
                (None, _) => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::array::AsArray;
    use crate::config::FieldSelection;
    use crate::jira::fields::FieldDef;
    use crate::objects::issues::{columns, issue_column, mask_issue};
    use crate::transform::batch::BatchBuilder;
    use crate::transform::mask::Masker;
    use jira_sim::{Dataset, DatasetConfig, data};
    use serde_json::json;

    /// The simulator's issues (every field type, ADF and wiki text, users with e-mail, masks
    /// at three depths) make the same batch decoded in one pass as through `Value`s.
    #[test]
    fn one_pass_rows_equal_value_rows() {
        let ds = Dataset::new(DatasetConfig { issues: 300, extra_custom_fields: 30, ..Default::default() }, "http://j");
        let defs: Vec<FieldDef> = serde_json::from_value(Value::Array(ds.fields())).unwrap();
        let cols = columns(&defs, &FieldSelection::All).unwrap();
        let hash = ["assignee.emailAddress", "reporter", "key"].map(String::from);
        let shape = Shape::new("issues", cols.clone(), &hash, Some(&Masker::new("k"))).unwrap();
        let run = RunStamp::new("run-1", chrono::Utc::now());
        let rows = IssueRows::new(&shape, &run).unwrap();
        let (mut fast, mut slow) = (BatchBuilder::new(shape.columns.clone()), BatchBuilder::new(shape.columns.clone()));
        for i in 0..300 {
            let mut issue = json!({"expand": "names", "id": Dataset::issue_id(i).to_string(), "self": "http://j/x",
                                   "key": ds.issue_key(i), "fields": ds.issue_fields(i)});
            if i % 2 == 1 {
                issue = data::to_v2(issue, "http://j");
            }
            let text = issue.to_string();
            assert!(fast.push_row(rows.decode(&text).unwrap()).is_ok());
            mask_issue(&shape, &mut issue);
            slow.push("", issue_column(&issue, &run)).unwrap();
        }
        let (fast, slow) = (fast.finish(), slow.finish());
        assert_eq!(fast.num_rows(), 300);
        for (c, f) in shape.columns.iter().zip(0..) {
            assert_eq!(fast.column(f), slow.column(f), "column {}", c.name);
        }
        assert_ne!(shape.columns, cols, "the masks changed column types");
        let key = shape.columns.iter().position(|c| c.name == "key").unwrap();
        let key = fast.column(key).as_string::<i32>().value(7).to_string();
        assert!(key.len() == 64 && key != ds.issue_key(7), "keys are hashed: {key}");
    }

    #[test]
    fn a_value_that_does_not_fit_or_a_missing_id_fails_the_pass() {
        let cols = vec![
            crate::objects::col("id", crate::transform::columns::ColumnType::Text),
            crate::objects::col("n", crate::transform::columns::ColumnType::Float),
        ];
        let shape = Shape::new("issues", cols, &[], None).unwrap();
        let rows = IssueRows::new(&shape, &RunStamp::new("r", chrono::Utc::now())).unwrap();
        assert!(rows.decode(r#"{"id": "1", "fields": {"n": 2, "other": {"x": [1]}}}"#).is_ok());
        assert!(rows.decode(r#"{"id": "1", "fields": {"n": "many"}}"#).is_err());
        assert!(rows.decode(r#"{"key": "A-1", "fields": {"n": 2}}"#).is_err());
        assert!(rows.decode(r#"{"id": "1", "fields": null}"#).is_err());
    }
}
