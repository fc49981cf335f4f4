//! Typed rows appended straight into Arrow builders.
//!
//! Profiling put most of the client's CPU in moving each record through intermediate JSON: a
//! normalised copy of every value, serialised again into arrow-json's tape, then decoded. Here a
//! record becomes a row of typed [`Cell`]s (checked against its columns, strings borrowed from
//! the record), then each cell is appended to its column's builder, so a row costs its own
//! bytes and nothing more. Cells come from a parsed JSON value (`Cell::from_value`) or straight
//! from the page's text (`super::decode`).

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Value;

use super::columns::{Column, ColumnType, ConvertError, parse_jira_date, parse_jira_datetime};
use super::{adf, sprint, wiki};
use crate::arrow::array::builder::NullBufferBuilder;
use crate::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, ListArray, RecordBatch, StringBuilder,
    StructArray, TimestampMicrosecondBuilder,
};
use crate::arrow::buffer::{OffsetBuffer, ScalarBuffer};
use crate::arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema, SchemaRef};

/// The schema rows of `columns` have: every column nullable but the key, `id`.
pub fn schema(columns: &[Column]) -> SchemaRef {
    Arc::new(Schema::new(columns.iter().map(|c| Field::new(&c.name, c.ty.arrow(), c.name != "id")).collect::<Vec<_>>()))
}

/// One value of a row, already checked against its column's type and converted to it: text
/// (rich text, ADF or wiki markup, flattened; JSON serialised), days, microseconds, or the cells of a list or of a
/// struct's fields in the struct's order.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Null,
    Text(Cow<'a, str>),
    Float(f64),
    Bool(bool),
    Date(i32),
    Timestamp(i64),
    List(Vec<Cell<'a>>),
    Struct(Vec<Cell<'a>>),
}

impl<'a> Cell<'a> {
    /// `v` as a cell of type `ty`, or why it does not fit.
    pub fn from_value(ty: &ColumnType, v: &'a Value) -> Result<Self, String> {
        if v.is_null() {
            return Ok(Cell::Null);
        }
        let wrong = |what: &str| format!("expected {what}, got {}", kind(v));
        Ok(match (ty, v) {
            (ColumnType::Json, v) => Cell::Text(v.to_string().into()),
            (ColumnType::Text, Value::String(s)) => Cell::Text(s.as_str().into()),
            // Data Center's rich text: wiki markup, read as the same plain text as Cloud's ADF.
            (ColumnType::RichText, Value::String(s)) => Cell::Text(wiki::to_text(s).into()),
            (ColumnType::Text, Value::Bool(b)) => Cell::Text(bool_text(*b).into()),
            (ColumnType::Text, Value::Number(n)) => Cell::Text(n.to_string().into()),
            (ColumnType::Text, _) => return Err(wrong("text")),
            (ColumnType::RichText, Value::Object(_)) => Cell::Text(adf::to_text(v).into()),
            (ColumnType::RichText, _) => return Err(wrong("rich text")),
            (ColumnType::Float, v) => {
                Cell::Float(v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| wrong("a number"))?)
            }
            (ColumnType::Bool, v) => Cell::Bool(v.as_bool().ok_or_else(|| wrong("true or false"))?),
            (ColumnType::Date, v) => Cell::Date(date(v.as_str().ok_or_else(|| wrong("a date string"))?)?),
            (ColumnType::Timestamp, v) => {
                Cell::Timestamp(timestamp(v.as_str().ok_or_else(|| wrong("a datetime string"))?)?)
            }
            (ColumnType::List(inner), v) => {
                let items = v.as_array().ok_or_else(|| wrong("a list"))?;
                Cell::List(items.iter().map(|i| Cell::from_value(inner, i)).collect::<Result<_, _>>()?)
            }
            // Data Center's Sprint values, read as Cloud's sprint objects (`sprint.rs`).
            (ColumnType::Struct(_), Value::String(s)) if sprint::is_sprint(s) => {
                Cell::from_value(ty, &sprint::parse(s).ok_or_else(|| sprint::unreadable(s))?)?.into_owned()
            }
            (ColumnType::Struct(fields), v) => {
                let o = v.as_object().ok_or_else(|| wrong("an object"))?;
                let cell = |(name, t): &(String, ColumnType)| match o.get(name) {
                    Some(x) => Cell::from_value(t, x).map_err(|e| format!("{name}: {e}")),
                    None => Ok(Cell::Null),
                };
                Cell::Struct(fields.iter().map(cell).collect::<Result<_, _>>()?)
            }
        })
    }

    /// The same cell borrowing this one's text, to put a cell kept for every row into a row.
    pub fn reborrow(&self) -> Cell<'_> {
        match self {
            Cell::Text(s) => Cell::Text(Cow::Borrowed(s)),
            Cell::List(items) => Cell::List(items.iter().map(Cell::reborrow).collect()),
            Cell::Struct(fields) => Cell::Struct(fields.iter().map(Cell::reborrow).collect()),
            scalar => scalar.clone(),
        }
    }

    /// The same cell owning its text, for cells made from a value that does not outlive them.
    pub fn into_owned(self) -> Cell<'static> {
        match self {
            Cell::Null => Cell::Null,
            Cell::Text(s) => Cell::Text(Cow::Owned(s.into_owned())),
            Cell::Float(x) => Cell::Float(x),
            Cell::Bool(b) => Cell::Bool(b),
            Cell::Date(d) => Cell::Date(d),
            Cell::Timestamp(t) => Cell::Timestamp(t),
            Cell::List(items) => Cell::List(items.into_iter().map(Cell::into_owned).collect()),
            Cell::Struct(fields) => Cell::Struct(fields.into_iter().map(Cell::into_owned).collect()),
        }
    }
}

/// Booleans in a text column, spelled as JSON spells them.
pub fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// A date cell's days, or why `s` is not a date.
pub fn date(s: &str) -> Result<i32, String> {
    parse_jira_date(s).ok_or_else(|| format!("bad date `{s}`, expected YYYY-MM-DD"))
}

/// A timestamp cell's microseconds, or why `s` is not a datetime.
pub fn timestamp(s: &str) -> Result<i64, String> {
    parse_jira_datetime(s).ok_or_else(|| format!("bad datetime `{s}`"))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Appends rows; `finish` yields a batch. One bad record is rejected alone, never the batch:
/// a row is converted whole before any of it is appended.
pub struct BatchBuilder {
    columns: Vec<Column>,
    schema: SchemaRef,
    cells: Vec<Cells>,
    key: Option<usize>,
    rows: usize,
}

impl BatchBuilder {
    pub fn new(columns: Vec<Column>) -> Self {
        let schema = schema(&columns);
        let cells = columns.iter().map(|c| Cells::new(&c.ty)).collect();
        let key = schema.fields().iter().position(|f| !f.is_nullable());
        Self { columns, schema, cells, key, rows: 0 }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one record; `value(name)` looks a column's JSON value up. Either the whole row is
    /// appended or, on error, nothing is.
    pub fn push<'v>(&mut self, record: &str, value: impl Fn(&str) -> Option<&'v Value>) -> Result<(), ConvertError> {
        let fail = |c: &Column, message: String| ConvertError { record: record.into(), field: c.name.clone(), message };
        let row = self
            .columns
            .iter()
            .map(|c| value(&c.name).map_or(Ok(Cell::Null), |v| Cell::from_value(&c.ty, v)).map_err(|e| fail(c, e)))
            .collect::<Result<Vec<_>, _>>()?;
        self.push_row(row).map_err(|c| fail(c, "missing; every record needs one".into()))
    }

    /// Appends a row of cells in column order, converted by the caller; refused (with the
    /// column) when the key is null.
    pub fn push_row(&mut self, row: Vec<Cell<'_>>) -> Result<(), &Column> {
        debug_assert_eq!(row.len(), self.columns.len());
        if let Some(k) = self.key
            && row[k] == Cell::Null
        {
            return Err(&self.columns[k]);
        }
        for (cell, cells) in row.into_iter().zip(&mut self.cells) {
            cells.append(cell);
        }
        self.rows += 1;
        Ok(())
    }

    pub fn finish(&mut self) -> RecordBatch {
        if self.rows == 0 {
            return RecordBatch::new_empty(self.schema.clone());
        }
        self.rows = 0;
        let arrays = self.cells.iter_mut().map(Cells::finish).collect();
        // Every cell was converted to its column's type, so the arrays match the schema.
        RecordBatch::try_new(self.schema.clone(), arrays).expect("checked rows build their schema")
    }
}

/// One column's pending values, shaped like its type.
enum Cells {
    Text(StringBuilder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    List { item: FieldRef, offsets: Vec<i32>, nulls: NullBufferBuilder, child: Box<Cells> },
    Struct { fields: Fields, children: Vec<Cells>, nulls: NullBufferBuilder },
}

impl Cells {
    fn new(ty: &ColumnType) -> Self {
        match ty {
            ColumnType::Text | ColumnType::RichText | ColumnType::Json => Cells::Text(StringBuilder::new()),
            ColumnType::Float => Cells::Float(Float64Builder::new()),
            ColumnType::Bool => Cells::Bool(BooleanBuilder::new()),
            ColumnType::Date => Cells::Date(Date32Builder::new()),
            ColumnType::Timestamp => Cells::Timestamp(TimestampMicrosecondBuilder::new().with_data_type(ty.arrow())),
            ColumnType::List(inner) => {
                let DataType::List(item) = ty.arrow() else { unreachable!("lists are Arrow lists") };
                Cells::List {
                    item,
                    offsets: vec![0],
                    nulls: NullBufferBuilder::new(0),
                    child: Box::new(Cells::new(inner)),
                }
            }
            ColumnType::Struct(fields) => {
                let DataType::Struct(arrow_fields) = ty.arrow() else { unreachable!("structs are Arrow structs") };
                Cells::Struct {
                    fields: arrow_fields,
                    children: fields.iter().map(|(_, t)| Cells::new(t)).collect(),
                    nulls: NullBufferBuilder::new(0),
                }
            }
        }
    }

    /// Appends `cell`, already of this column's type (a cell of another kind is a bug in
    /// whatever made it).
    fn append(&mut self, cell: Cell<'_>) {
        match (self, cell) {
            (Cells::Text(b), Cell::Text(s)) => b.append_value(s),
            (Cells::Text(b), Cell::Null) => b.append_null(),
            (Cells::Float(b), Cell::Float(x)) => b.append_value(x),
            (Cells::Float(b), Cell::Null) => b.append_null(),
            (Cells::Bool(b), Cell::Bool(x)) => b.append_value(x),
            (Cells::Bool(b), Cell::Null) => b.append_null(),
            (Cells::Date(b), Cell::Date(x)) => b.append_value(x),
            (Cells::Date(b), Cell::Null) => b.append_null(),
            (Cells::Timestamp(b), Cell::Timestamp(x)) => b.append_value(x),
            (Cells::Timestamp(b), Cell::Null) => b.append_null(),
            (Cells::List { offsets, nulls, child, .. }, cell) => {
                let mut len = 0;
                match cell {
                    Cell::List(items) => {
                        len = items.len() as i32;
                        items.into_iter().for_each(|i| child.append(i));
                        nulls.append_non_null();
                    }
                    Cell::Null => nulls.append_null(),
                    other => unreachable!("a list column got {other:?}"),
                }
                let last = *offsets.last().expect("offsets start at 0");
                offsets.push(last + len);
            }
            (Cells::Struct { children, nulls, .. }, Cell::Struct(fields)) => {
                fields.into_iter().zip(children).for_each(|(f, child)| child.append(f));
                nulls.append_non_null();
            }
            (Cells::Struct { children, nulls, .. }, Cell::Null) => {
                children.iter_mut().for_each(|child| child.append(Cell::Null));
                nulls.append_null();
            }
            (_, cell) => unreachable!("cell {cell:?} does not fit its column"),
        }
    }

    /// The pending values as an array. Each builder starts the next batch with the capacity
    /// this one needed: batches are alike, and growing from empty by doubling every batch
    /// was most of the run's allocator traffic (and of the memory it kept from the OS).
    fn finish(&mut self) -> ArrayRef {
        match self {
            Cells::Text(b) => {
                let next = StringBuilder::with_capacity(b.len(), b.values_slice().len());
                Arc::new(std::mem::replace(b, next).finish())
            }
            Cells::Float(b) => Arc::new(std::mem::replace(b, Float64Builder::with_capacity(b.len())).finish()),
            Cells::Bool(b) => Arc::new(std::mem::replace(b, BooleanBuilder::with_capacity(b.len())).finish()),
            Cells::Date(b) => Arc::new(std::mem::replace(b, Date32Builder::with_capacity(b.len())).finish()),
            Cells::Timestamp(b) => {
                let next =
                    TimestampMicrosecondBuilder::with_capacity(b.len()).with_data_type(ColumnType::Timestamp.arrow());
                Arc::new(std::mem::replace(b, next).finish())
            }
            Cells::List { item, offsets, nulls, child } => {
                let mut next = Vec::with_capacity(offsets.len());
                next.push(0);
                let offsets = OffsetBuffer::new(ScalarBuffer::from(std::mem::replace(offsets, next)));
                Arc::new(ListArray::new(item.clone(), offsets, child.finish(), nulls.finish()))
            }
            Cells::Struct { fields, children, nulls } => {
                let arrays = children.iter_mut().map(Cells::finish).collect();
                Arc::new(StructArray::new(fields.clone(), arrays, nulls.finish()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::array::{Array, AsArray};
    use crate::arrow::datatypes::{Date32Type, Float64Type, TimestampMicrosecondType};
    use crate::jira::fields::FieldSchema;
    use serde_json::json;

    fn status() -> ColumnType {
        let s = FieldSchema { kind: "status".into(), items: None, custom: None, system: None };
        ColumnType::of(Some(&s))
    }

    #[test]
    fn builds_typed_rows_and_rejects_bad_values_whole() {
        let cols = vec![
            Column { name: "id".into(), ty: ColumnType::Text },
            Column { name: "points".into(), ty: ColumnType::Float },
            Column { name: "due".into(), ty: ColumnType::Date },
            Column { name: "at".into(), ty: ColumnType::Timestamp },
            Column { name: "labels".into(), ty: ColumnType::List(Box::new(ColumnType::Text)) },
            Column { name: "desc".into(), ty: ColumnType::RichText },
            Column { name: "status".into(), ty: status() },
            Column { name: "raw".into(), ty: ColumnType::Json },
        ];
        let mut b = BatchBuilder::new(cols);
        let row = json!({
            "id": "1", "points": 3, "due": "1970-01-03", "at": "1970-01-01T01:00:00.000+0100",
            "labels": ["a", "b"],
            "desc": {"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hi"}]}]},
            "status": {
                "id": "3", "name": "Done", "self": "http://x",
                "statusCategory": {"id": 3, "key": "done", "name": "Done"},
            },
            "raw": {"a": [1]},
        });
        b.push("1", |c| row.get(c)).unwrap();
        let bad = json!({"id": "2", "points": "many"});
        let err = b.push("2", |c| bad.get(c)).unwrap_err();
        assert_eq!((err.record.as_str(), err.field.as_str()), ("2", "points"));
        let bad = json!({"id": "2", "labels": ["a", "b"], "status": {"name": ["x"]}});
        assert!(b.push("2", |c| bad.get(c)).unwrap_err().message.contains("name"));
        let bad = json!({"points": 1});
        assert_eq!(b.push("?", |c| bad.get(c)).unwrap_err().field, "id", "the key is never null");
        let empty = json!({"id": "3"});
        b.push("3", |c| empty.get(c)).unwrap();
        let batch = b.finish();
        assert_eq!(batch.num_rows(), 2, "rejected rows left nothing behind");
        assert_eq!(batch.column(1).as_primitive::<Float64Type>().value(0), 3.0);
        assert_eq!(batch.column(2).as_primitive::<Date32Type>().value(0), 2);
        assert_eq!(batch.column(3).as_primitive::<TimestampMicrosecondType>().value(0), 0);
        let labels = batch.column(4).as_list::<i32>();
        assert_eq!((labels.value(0).len(), labels.is_null(1)), (2, true));
        assert_eq!(labels.values().len(), 2, "the rejected row's labels were not appended");
        assert_eq!(batch.column(5).as_string::<i32>().value(0), "hi");
        let status = batch.column(6).as_struct();
        assert_eq!(status.column_by_name("name").unwrap().as_string::<i32>().value(0), "Done");
        let cat = status.column_by_name("statusCategory").unwrap().as_struct();
        assert_eq!(cat.column_by_name("id").unwrap().as_string::<i32>().value(0), "3");
        assert!(status.is_null(1));
        assert_eq!(batch.column(7).as_string::<i32>().value(0), r#"{"a":[1]}"#);
        assert!(batch.column(1).is_null(1));
        assert_eq!(b.finish().num_rows(), 0);
    }

    #[test]
    fn lists_of_structs_keep_null_elements_and_batches_restart() {
        let ty = ColumnType::List(Box::new(status()));
        let mut b = BatchBuilder::new(vec![
            Column { name: "id".into(), ty: ColumnType::Text },
            Column { name: "s".into(), ty: ty.clone() },
        ]);
        let row = json!({"id": "1", "s": [{"id": "1", "name": "Open"}, null, {"id": 2}]});
        b.push("1", |c| row.get(c)).unwrap();
        let first = b.finish();
        let list = first.column(1).as_list::<i32>();
        let items = list.value(0);
        let items = items.as_struct();
        assert_eq!(items.len(), 3);
        assert!(items.is_null(1));
        assert_eq!(items.column_by_name("id").unwrap().as_string::<i32>().value(2), "2", "numbers become text");
        b.push("1", |c| row.get(c)).unwrap();
        let second = b.finish();
        assert_eq!(second.column(1).as_list::<i32>().value_offsets(), &[0, 3], "offsets restart per batch");
    }
}
