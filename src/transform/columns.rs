//! Jira JSON → typed Arrow columns, typed from Jira's own field schema (`/field`).
//!
//! A value that does not fit its column's type is an error naming the record and field, never a
//! silent null: a wrong number in a table is worse than a failed run.

use std::sync::Arc;

use crate::arrow::array::RecordBatch;
use crate::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use crate::arrow::json::ReaderBuilder;
use crate::arrow::json::reader::Decoder;
use chrono::{DateTime, NaiveDate};
use serde_json::{Map, Value};

use super::adf;
use crate::jira::fields::FieldSchema;

/// The column type a Jira value becomes. Structs keep the stable keys of Jira's objects (ids,
/// keys, names), not their URLs and icons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    /// ADF rich text (or Data Center wiki text) flattened to plain text.
    RichText,
    Float,
    Bool,
    Date,
    /// Instant in UTC, microseconds.
    Timestamp,
    List(Box<ColumnType>),
    Struct(Vec<(String, ColumnType)>),
    /// Anything without a dedicated mapping, kept losslessly as JSON text.
    Json,
}

const TEXTAREA: &str = "com.atlassian.jira.plugin.system.customfieldtypes:textarea";
const SPRINT: &str = "com.pyxis.greenhopper.jira:gh-sprint";

fn st(fields: &[(&str, ColumnType)]) -> ColumnType {
    ColumnType::Struct(fields.iter().map(|(n, t)| (n.to_string(), t.clone())).collect())
}

impl ColumnType {
    pub fn user() -> Self {
        use ColumnType::*;
        st(&[
            ("accountId", Text),
            ("accountType", Text),
            ("displayName", Text),
            ("emailAddress", Text),
            ("active", Bool),
            ("timeZone", Text),
            ("name", Text),
            ("key", Text),
        ])
    }

    fn option() -> Self {
        st(&[("id", ColumnType::Text), ("value", ColumnType::Text)])
    }

    fn named() -> Self {
        st(&[("id", ColumnType::Text), ("name", ColumnType::Text)])
    }

    /// The type of an element of Jira's schema type `kind` (`items` of arrays too).
    fn of_kind(kind: &str, custom: Option<&str>) -> Self {
        use ColumnType::*;
        match kind {
            "number" => Float,
            "date" => Date,
            "datetime" => Timestamp,
            "string" => Text,
            "user" => Self::user(),
            "status" => st(&[
                ("id", Text),
                ("name", Text),
                ("statusCategory", st(&[("id", Text), ("key", Text), ("name", Text)])),
            ]),
            "priority" | "resolution" | "component" | "securitylevel" => Self::named(),
            "issuetype" => st(&[("id", Text), ("name", Text), ("subtask", Bool), ("hierarchyLevel", Float)]),
            "project" => st(&[("id", Text), ("key", Text), ("name", Text), ("projectTypeKey", Text)]),
            "option" => Self::option(),
            "option-with-child" => st(&[("id", Text), ("value", Text), ("child", Self::option())]),
            "version" => {
                st(&[("id", Text), ("name", Text), ("released", Bool), ("archived", Bool), ("releaseDate", Date)])
            }
            "issuelink" => st(&[("id", Text), ("key", Text)]),
            "json" if custom == Some(SPRINT) => st(&[
                ("id", Text),
                ("name", Text),
                ("state", Text),
                ("boardId", Text),
                ("goal", Text),
                ("startDate", Timestamp),
                ("endDate", Timestamp),
                ("completeDate", Timestamp),
            ]),
            _ => Json,
        }
    }

    pub fn of(schema: Option<&FieldSchema>) -> Self {
        let Some(s) = schema else { return ColumnType::Json };
        match (s.kind.as_str(), s.items.as_deref()) {
            ("string", _) if s.custom.as_deref() == Some(TEXTAREA) || s.system.as_deref() == Some("description") => {
                ColumnType::RichText
            }
            ("array", Some(items)) => match Self::of_kind(items, s.custom.as_deref()) {
                ColumnType::Json => ColumnType::Json,
                t => ColumnType::List(Box::new(t)),
            },
            ("array", None) => ColumnType::Json,
            (kind, _) => Self::of_kind(kind, s.custom.as_deref()),
        }
    }

    pub fn arrow(&self) -> DataType {
        match self {
            ColumnType::Text | ColumnType::RichText | ColumnType::Json => DataType::Utf8,
            ColumnType::Float => DataType::Float64,
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Date => DataType::Date32,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColumnType::List(inner) => DataType::List(Arc::new(Field::new("item", inner.arrow(), true))),
            ColumnType::Struct(fields) => DataType::Struct(Fields::from(
                fields.iter().map(|(n, t)| Field::new(n, t.arrow(), true)).collect::<Vec<_>>(),
            )),
        }
    }

    /// Short name for reports and the `fields` table (`struct<id, name>`, `list<text>`).
    pub fn describe(&self) -> String {
        match self {
            ColumnType::Text => "text".into(),
            ColumnType::RichText => "text (from rich text)".into(),
            ColumnType::Float => "double".into(),
            ColumnType::Bool => "boolean".into(),
            ColumnType::Date => "date".into(),
            ColumnType::Timestamp => "timestamp (UTC)".into(),
            ColumnType::Json => "json text".into(),
            ColumnType::List(t) => format!("list<{}>", t.describe()),
            ColumnType::Struct(f) => {
                format!("struct<{}>", f.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "))
            }
        }
    }

    /// The column type an existing Delta column of Arrow type `dt` holds, so values are checked
    /// against the table as it is (its types win over a field whose Jira type changed).
    pub fn from_arrow(dt: &DataType) -> Self {
        match dt {
            DataType::Float64 | DataType::Float32 | DataType::Int64 | DataType::Int32 => ColumnType::Float,
            DataType::Boolean => ColumnType::Bool,
            DataType::Date32 => ColumnType::Date,
            DataType::Timestamp(..) => ColumnType::Timestamp,
            DataType::List(f) | DataType::LargeList(f) => ColumnType::List(Box::new(Self::from_arrow(f.data_type()))),
            DataType::Struct(fields) => {
                ColumnType::Struct(fields.iter().map(|f| (f.name().clone(), Self::from_arrow(f.data_type()))).collect())
            }
            _ => ColumnType::Text,
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

/// Appends records as typed rows; `finish` yields a batch. Values are checked and normalised
/// here (so one bad record is rejected alone, never the batch), then Arrow's JSON decoder
/// builds the nested arrays.
pub struct BatchBuilder {
    columns: Vec<Column>,
    schema: SchemaRef,
    decoder: Decoder,
    /// Normalised cells in column order; names are attached only when the decoder reads them,
    /// so a row costs no map and no copies of column names.
    rows: Vec<Vec<Value>>,
}

/// A pending row as the JSON object the decoder expects.
struct RowView<'a> {
    columns: &'a [Column],
    cells: &'a [Value],
}

impl serde::Serialize for RowView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.cells.len()))?;
        for (c, v) in self.columns.iter().zip(self.cells) {
            map.serialize_entry(&c.name, v)?;
        }
        map.end()
    }
}

impl BatchBuilder {
    pub fn new(columns: Vec<Column>) -> Self {
        let schema = Arc::new(Schema::new(
            columns.iter().map(|c| Field::new(&c.name, c.ty.arrow(), c.name != "id")).collect::<Vec<_>>(),
        ));
        let decoder = ReaderBuilder::new(schema.clone())
            // Only a capacity hint: `serialize` takes any number of rows and `flush` returns them
            // all in one batch.
            .with_batch_size(1024)
            .build_decoder()
            .expect("a schema of supported types");
        Self { columns, schema, decoder, rows: Vec::new() }
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Appends one record; `value(name)` looks a column's JSON value up. Either the whole row is
    /// appended or, on error, nothing is.
    pub fn push<'v>(&mut self, record: &str, value: impl Fn(&str) -> Option<&'v Value>) -> Result<(), ConvertError> {
        let mut row = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            let v = value(&c.name).filter(|v| !v.is_null());
            let cell = match v {
                Some(v) => normalize(&c.ty, v).map_err(|message| ConvertError {
                    record: record.to_string(),
                    field: c.name.clone(),
                    message,
                })?,
                None => Value::Null,
            };
            row.push(cell);
        }
        self.rows.push(row);
        Ok(())
    }

    pub fn finish(&mut self) -> RecordBatch {
        let rows = std::mem::take(&mut self.rows);
        if rows.is_empty() {
            return RecordBatch::new_empty(self.schema.clone());
        }
        // Every value was normalised to its column's type above, so decoding cannot fail.
        let view: Vec<RowView> = rows.iter().map(|cells| RowView { columns: &self.columns, cells }).collect();
        self.decoder.serialize(&view).expect("normalised rows decode");
        self.decoder.flush().expect("normalised rows decode").expect("rows were added")
    }
}

/// Checks `v` against `ty` and rewrites it into the form Arrow's decoder reads: instants as
/// microseconds, dates as days, rich text as plain text, JSON columns as text, structs with
/// only their known keys.
fn normalize(ty: &ColumnType, v: &Value) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    Ok(match ty {
        ColumnType::Text => match v {
            Value::String(_) => v.clone(),
            Value::Number(n) => Value::String(n.to_string()),
            Value::Bool(b) => Value::String(b.to_string()),
            other => return Err(format!("expected text, got {}", kind(other))),
        },
        ColumnType::RichText => match v {
            Value::String(_) => v.clone(),
            Value::Object(_) => Value::String(adf::to_text(v)),
            other => return Err(format!("expected rich text, got {}", kind(other))),
        },
        ColumnType::Json => Value::String(v.to_string()),
        ColumnType::Float => match v.as_f64() {
            Some(x) if x.is_finite() => Value::from(x),
            _ => return Err(format!("expected a number, got {}", kind(v))),
        },
        ColumnType::Bool => match v.as_bool() {
            Some(x) => Value::Bool(x),
            None => return Err(format!("expected true or false, got {}", kind(v))),
        },
        ColumnType::Date => {
            let s = v.as_str().ok_or_else(|| format!("expected a date string, got {}", kind(v)))?;
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| format!("bad date `{s}`: {e}"))?;
            Value::from(d.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days())
        }
        ColumnType::Timestamp => {
            let s = v.as_str().ok_or_else(|| format!("expected a datetime string, got {}", kind(v)))?;
            Value::from(parse_jira_datetime(s).ok_or_else(|| format!("bad datetime `{s}`"))?)
        }
        ColumnType::List(inner) => match v {
            Value::Array(items) => {
                Value::Array(items.iter().map(|i| normalize(inner, i)).collect::<Result<Vec<_>, _>>()?)
            }
            other => return Err(format!("expected a list, got {}", kind(other))),
        },
        ColumnType::Struct(fields) => match v {
            Value::Object(o) => {
                let mut out = Map::with_capacity(fields.len());
                for (name, t) in fields {
                    let cell = match o.get(name) {
                        Some(x) => normalize(t, x).map_err(|e| format!("{name}: {e}"))?,
                        None => Value::Null,
                    };
                    out.insert(name.clone(), cell);
                }
                Value::Object(out)
            }
            other => return Err(format!("expected an object, got {}", kind(other))),
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
        assert_eq!(
            ColumnType::of(Some(&schema("array", Some("string"), None))),
            ColumnType::List(Box::new(ColumnType::Text))
        );
        assert_eq!(ColumnType::of(Some(&schema("user", None, None))), ColumnType::user());
        assert_eq!(
            ColumnType::of(Some(&schema("array", Some("user"), None))),
            ColumnType::List(Box::new(ColumnType::user()))
        );
        assert!(
            matches!(ColumnType::of(Some(&schema("option-with-child", None, None))), ColumnType::Struct(f) if f.len() == 3)
        );
        assert_eq!(ColumnType::of(Some(&schema("array", Some("json"), None))), ColumnType::Json);
        assert_eq!(ColumnType::of(Some(&schema("mystery", None, None))), ColumnType::Json);
        assert_eq!(ColumnType::of(None), ColumnType::Json);
        let t = ColumnType::of(Some(&schema("array", Some("option"), None)));
        assert_eq!(ColumnType::from_arrow(&t.arrow()), t, "a table's types map back to column types");
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
        let status = ColumnType::of(Some(&schema("status", None, None)));
        let cols = vec![
            Column { name: "id".into(), ty: ColumnType::Text },
            Column { name: "points".into(), ty: ColumnType::Float },
            Column { name: "due".into(), ty: ColumnType::Date },
            Column { name: "at".into(), ty: ColumnType::Timestamp },
            Column { name: "labels".into(), ty: ColumnType::List(Box::new(ColumnType::Text)) },
            Column { name: "desc".into(), ty: ColumnType::RichText },
            Column { name: "status".into(), ty: status },
            Column { name: "raw".into(), ty: ColumnType::Json },
        ];
        let mut b = BatchBuilder::new(cols);
        let row = json!({"id": "1", "points": 3, "due": "1970-01-03", "at": "1970-01-01T01:00:00.000+0100",
                         "labels": ["a", "b"], "desc": {"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hi"}]}]},
                         "status": {"id": "3", "name": "Done", "self": "http://x", "statusCategory": {"id": 3, "key": "done", "name": "Done"}},
                         "raw": {"a": [1]}});
        b.push("1", |c| row.get(c)).unwrap();
        let bad = json!({"id": "2", "points": "many"});
        let err = b.push("2", |c| bad.get(c)).unwrap_err();
        assert_eq!((err.record.as_str(), err.field.as_str()), ("2", "points"));
        let bad = json!({"id": "2", "status": {"name": ["x"]}});
        assert!(b.push("2", |c| bad.get(c)).unwrap_err().message.contains("name"));
        let empty = json!({"id": "3"});
        b.push("3", |c| empty.get(c)).unwrap();
        let batch = b.finish();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.column(1).as_primitive::<Float64Type>().value(0), 3.0);
        assert_eq!(batch.column(2).as_primitive::<Date32Type>().value(0), 2);
        assert_eq!(batch.column(3).as_primitive::<TimestampMicrosecondType>().value(0), 0);
        assert_eq!(batch.column(4).as_list::<i32>().value(0).len(), 2);
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
}
