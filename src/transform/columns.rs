//! Jira JSON → typed Arrow columns, typed from Jira's own field schema (`/field`).
//!
//! A value that does not fit its column's type is an error naming the record and field, never a
//! silent null: a wrong number in a table is worse than a failed run.

use std::sync::Arc;

use crate::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, ListBuilder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use crate::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, NaiveDate};
use serde_json::Value;

use super::adf;
use crate::jira::fields::FieldSchema;

/// The column type a Jira field becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    /// ADF rich text flattened to plain text.
    RichText,
    Float,
    Bool,
    Date,
    /// Instant in UTC, microseconds.
    Timestamp,
    TextList,
    /// Anything without a dedicated mapping, kept losslessly as JSON text.
    Json,
}

const TEXTAREA: &str = "com.atlassian.jira.plugin.system.customfieldtypes:textarea";

impl ColumnType {
    pub fn of(schema: Option<&FieldSchema>) -> Self {
        let Some(s) = schema else { return ColumnType::Json };
        match (s.kind.as_str(), s.items.as_deref()) {
            ("number", _) => ColumnType::Float,
            ("date", _) => ColumnType::Date,
            ("datetime", _) => ColumnType::Timestamp,
            ("string", _) if s.custom.as_deref() == Some(TEXTAREA) || s.system.as_deref() == Some("description") => {
                ColumnType::RichText
            }
            ("string", _) => ColumnType::Text,
            ("array", Some("string")) => ColumnType::TextList,
            _ => ColumnType::Json,
        }
    }

    pub fn arrow(self) -> DataType {
        match self {
            ColumnType::Text | ColumnType::RichText | ColumnType::Json => DataType::Utf8,
            ColumnType::Float => DataType::Float64,
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Date => DataType::Date32,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColumnType::TextList => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        }
    }
}

/// One output column and the Jira field it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
}

/// A value that could not be converted.
#[derive(Debug, thiserror::Error)]
#[error("record {record}: field `{field}`: {message}")]
pub struct ConvertError {
    pub record: String,
    pub field: String,
    pub message: String,
}

enum Builder {
    Text(StringBuilder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    TextList(ListBuilder<StringBuilder>),
}

/// Appends records into typed column builders; `finish` yields a batch.
pub struct BatchBuilder {
    columns: Vec<Column>,
    builders: Vec<Builder>,
    schema: SchemaRef,
    rows: usize,
}

impl BatchBuilder {
    pub fn new(columns: Vec<Column>) -> Self {
        let schema = Arc::new(Schema::new(
            columns.iter().map(|c| Field::new(&c.name, c.ty.arrow(), c.name != "id")).collect::<Vec<_>>(),
        ));
        let builders = columns.iter().map(|c| new_builder(c.ty)).collect();
        Self { columns, builders, schema, rows: 0 }
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
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
        // Convert first, append after: a failure must not leave columns of unequal length.
        let mut cells = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            let v = value(&c.name).filter(|v| !v.is_null());
            cells.push(convert(c.ty, v).map_err(|message| ConvertError {
                record: record.to_string(),
                field: c.name.clone(),
                message,
            })?);
        }
        for (b, cell) in self.builders.iter_mut().zip(cells) {
            append(b, cell);
        }
        self.rows += 1;
        Ok(())
    }

    pub fn finish(&mut self) -> RecordBatch {
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(finish_builder).collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays).expect("builders match the schema")
    }
}

enum Cell {
    Null,
    Text(String),
    Float(f64),
    Bool(bool),
    Date(i32),
    Timestamp(i64),
    TextList(Vec<Option<String>>),
}

fn new_builder(ty: ColumnType) -> Builder {
    match ty {
        ColumnType::Text | ColumnType::RichText | ColumnType::Json => Builder::Text(StringBuilder::new()),
        ColumnType::Float => Builder::Float(Float64Builder::new()),
        ColumnType::Bool => Builder::Bool(BooleanBuilder::new()),
        ColumnType::Date => Builder::Date(Date32Builder::new()),
        ColumnType::Timestamp => Builder::Timestamp(TimestampMicrosecondBuilder::new().with_timezone("UTC")),
        ColumnType::TextList => Builder::TextList(ListBuilder::new(StringBuilder::new())),
    }
}

fn finish_builder(b: &mut Builder) -> ArrayRef {
    match b {
        Builder::Text(b) => Arc::new(b.finish()),
        Builder::Float(b) => Arc::new(b.finish()),
        Builder::Bool(b) => Arc::new(b.finish()),
        Builder::Date(b) => Arc::new(b.finish()),
        Builder::Timestamp(b) => Arc::new(b.finish()),
        Builder::TextList(b) => Arc::new(b.finish()),
    }
}

fn append(b: &mut Builder, cell: Cell) {
    match (b, cell) {
        (Builder::Text(b), Cell::Text(s)) => b.append_value(s),
        (Builder::Text(b), _) => b.append_null(),
        (Builder::Float(b), Cell::Float(x)) => b.append_value(x),
        (Builder::Float(b), _) => b.append_null(),
        (Builder::Bool(b), Cell::Bool(x)) => b.append_value(x),
        (Builder::Bool(b), _) => b.append_null(),
        (Builder::Date(b), Cell::Date(d)) => b.append_value(d),
        (Builder::Date(b), _) => b.append_null(),
        (Builder::Timestamp(b), Cell::Timestamp(t)) => b.append_value(t),
        (Builder::Timestamp(b), _) => b.append_null(),
        (Builder::TextList(b), Cell::TextList(items)) => b.append_value(items),
        (Builder::TextList(b), _) => b.append_null(),
    }
}

fn convert(ty: ColumnType, v: Option<&Value>) -> Result<Cell, String> {
    let Some(v) = v else { return Ok(Cell::Null) };
    Ok(match ty {
        ColumnType::Text => match v {
            Value::String(s) => Cell::Text(s.clone()),
            Value::Number(n) => Cell::Text(n.to_string()),
            Value::Bool(b) => Cell::Text(b.to_string()),
            other => return Err(format!("expected text, got {}", kind(other))),
        },
        ColumnType::RichText => match v {
            Value::String(s) => Cell::Text(s.clone()),
            Value::Object(_) => Cell::Text(adf::to_text(v)),
            other => return Err(format!("expected rich text, got {}", kind(other))),
        },
        ColumnType::Json => Cell::Text(v.to_string()),
        ColumnType::Float => match v.as_f64() {
            Some(x) => Cell::Float(x),
            None => return Err(format!("expected a number, got {}", kind(v))),
        },
        ColumnType::Bool => match v.as_bool() {
            Some(x) => Cell::Bool(x),
            None => return Err(format!("expected true or false, got {}", kind(v))),
        },
        ColumnType::Date => {
            let s = v.as_str().ok_or_else(|| format!("expected a date string, got {}", kind(v)))?;
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| format!("bad date `{s}`: {e}"))?;
            Cell::Date(d.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32)
        }
        ColumnType::Timestamp => {
            let s = v.as_str().ok_or_else(|| format!("expected a datetime string, got {}", kind(v)))?;
            Cell::Timestamp(parse_jira_datetime(s).ok_or_else(|| format!("bad datetime `{s}`"))?)
        }
        ColumnType::TextList => match v {
            Value::Array(items) => Cell::TextList(
                items
                    .iter()
                    .map(|i| match i {
                        Value::Null => None,
                        Value::String(s) => Some(s.clone()),
                        other => Some(other.to_string()),
                    })
                    .collect(),
            ),
            other => return Err(format!("expected a list, got {}", kind(other))),
        },
    })
}

/// Jira's `2022-06-09T16:29:31.871-0700` (offset without colon; also accepts RFC 3339) →
/// microseconds since the epoch in UTC. The offset is applied, never dropped.
pub fn parse_jira_datetime(s: &str) -> Option<i64> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|d| d.timestamp_micros())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::array::{Array, AsArray};
    use crate::arrow::datatypes::{Date32Type, Float64Type, TimestampMicrosecondType};
    use serde_json::json;

    fn schema(kind: &str, items: Option<&str>, custom: Option<&str>) -> FieldSchema {
        FieldSchema { kind: kind.into(), items: items.map(Into::into), custom: custom.map(Into::into), system: None }
    }

    #[test]
    fn types_follow_jira_field_schema() {
        assert_eq!(ColumnType::of(Some(&schema("number", None, None))), ColumnType::Float);
        assert_eq!(ColumnType::of(Some(&schema("datetime", None, None))), ColumnType::Timestamp);
        assert_eq!(ColumnType::of(Some(&schema("string", None, Some(TEXTAREA)))), ColumnType::RichText);
        assert_eq!(ColumnType::of(Some(&schema("array", Some("string"), None))), ColumnType::TextList);
        assert_eq!(ColumnType::of(Some(&schema("user", None, None))), ColumnType::Json);
        assert_eq!(ColumnType::of(None), ColumnType::Json);
    }

    #[test]
    fn jira_datetimes_keep_their_offset() {
        let utc = parse_jira_datetime("2022-06-09T23:29:31.871+0000").unwrap();
        assert_eq!(parse_jira_datetime("2022-06-09T16:29:31.871-0700"), Some(utc));
        assert_eq!(parse_jira_datetime("2022-06-09T16:29:31.871-07:00"), Some(utc));
        assert_eq!(utc, 1_654_817_371_871_000);
        assert_eq!(parse_jira_datetime("yesterday"), None);
    }

    #[test]
    fn builds_typed_rows_and_rejects_bad_values_whole() {
        let cols = vec![
            Column { name: "id".into(), ty: ColumnType::Text },
            Column { name: "points".into(), ty: ColumnType::Float },
            Column { name: "due".into(), ty: ColumnType::Date },
            Column { name: "at".into(), ty: ColumnType::Timestamp },
            Column { name: "labels".into(), ty: ColumnType::TextList },
            Column { name: "desc".into(), ty: ColumnType::RichText },
        ];
        let mut b = BatchBuilder::new(cols);
        let row = json!({"id": "1", "points": 3, "due": "1970-01-03", "at": "1970-01-01T01:00:00.000+0100",
                         "labels": ["a", "b"], "desc": {"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hi"}]}]}});
        b.push("1", |c| row.get(c)).unwrap();
        let bad = json!({"id": "2", "points": "many"});
        let err = b.push("2", |c| bad.get(c)).unwrap_err();
        assert_eq!((err.record.as_str(), err.field.as_str()), ("2", "points"));
        let empty = json!({"id": "3"});
        b.push("3", |c| empty.get(c)).unwrap();
        let batch = b.finish();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.column(1).as_primitive::<Float64Type>().value(0), 3.0);
        assert_eq!(batch.column(2).as_primitive::<Date32Type>().value(0), 2);
        assert_eq!(batch.column(3).as_primitive::<TimestampMicrosecondType>().value(0), 0);
        assert_eq!(batch.column(4).as_list::<i32>().value(0).len(), 2);
        assert_eq!(batch.column(5).as_string::<i32>().value(0), "hi");
        assert!(batch.column(1).is_null(1));
    }
}
