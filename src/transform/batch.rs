//! Typed rows appended straight into Arrow builders.
//!
//! Profiling put most of the client's CPU in moving each record through intermediate JSON: a
//! normalised copy of every value, serialised again into arrow-json's tape, then decoded. Here a
//! record is checked against its columns once, then each value is appended to its column's
//! builder in place, so a row costs its own bytes and nothing more.

use std::sync::Arc;

use serde_json::Value;

use super::adf;
use super::columns::{Column, ColumnType, ConvertError, parse_jira_date, parse_jira_datetime};
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

/// Appends records as typed rows; `finish` yields a batch. One bad record is rejected alone,
/// never the batch: every value of a row is checked before any is appended.
pub struct BatchBuilder {
    columns: Vec<Column>,
    schema: SchemaRef,
    cells: Vec<Cells>,
    rows: usize,
}

impl BatchBuilder {
    pub fn new(columns: Vec<Column>) -> Self {
        let schema = schema(&columns);
        let cells = columns.iter().map(|c| Cells::new(&c.ty)).collect();
        Self { columns, schema, cells, rows: 0 }
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
        let values: Vec<Option<&Value>> =
            self.columns.iter().map(|c| value(&c.name).filter(|v| !v.is_null())).collect();
        for ((c, v), f) in self.columns.iter().zip(&values).zip(self.schema.fields()) {
            let fail = |message: String| ConvertError { record: record.to_string(), field: c.name.clone(), message };
            match v {
                Some(v) => check(&c.ty, v).map_err(fail)?,
                None if !f.is_nullable() => return Err(fail("missing; every record needs one".into())),
                None => {}
            }
        }
        for ((c, v), cells) in self.columns.iter().zip(values).zip(&mut self.cells) {
            cells.append(&c.ty, v);
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
        // Every value was checked against its column's type, so the arrays match the schema.
        RecordBatch::try_new(self.schema.clone(), arrays).expect("checked rows build their schema")
    }
}

/// Whether `v` (not null) fits `ty`, with the reason when it does not.
fn check(ty: &ColumnType, v: &Value) -> Result<(), String> {
    let fits = |ok: bool, what: &str| if ok { Ok(()) } else { Err(format!("expected {what}, got {}", kind(v))) };
    match ty {
        ColumnType::Text => fits(matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)), "text"),
        ColumnType::RichText => fits(matches!(v, Value::String(_) | Value::Object(_)), "rich text"),
        ColumnType::Json => Ok(()),
        ColumnType::Float => fits(v.as_f64().is_some_and(f64::is_finite), "a number"),
        ColumnType::Bool => fits(v.is_boolean(), "true or false"),
        ColumnType::Date => {
            let s = v.as_str().ok_or_else(|| format!("expected a date string, got {}", kind(v)))?;
            parse_jira_date(s).map(drop).ok_or_else(|| format!("bad date `{s}`, expected YYYY-MM-DD"))
        }
        ColumnType::Timestamp => {
            let s = v.as_str().ok_or_else(|| format!("expected a datetime string, got {}", kind(v)))?;
            parse_jira_datetime(s).map(drop).ok_or_else(|| format!("bad datetime `{s}`"))
        }
        ColumnType::List(inner) => {
            let items = v.as_array().ok_or_else(|| format!("expected a list, got {}", kind(v)))?;
            items.iter().filter(|i| !i.is_null()).try_for_each(|i| check(inner, i))
        }
        ColumnType::Struct(fields) => {
            let o = v.as_object().ok_or_else(|| format!("expected an object, got {}", kind(v)))?;
            fields.iter().try_for_each(|(name, t)| match o.get(name).filter(|x| !x.is_null()) {
                Some(x) => check(t, x).map_err(|e| format!("{name}: {e}")),
                None => Ok(()),
            })
        }
    }
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

    /// Appends `v`, already checked against `ty` (`None` is null).
    fn append(&mut self, ty: &ColumnType, v: Option<&Value>) {
        let v = v.filter(|v| !v.is_null());
        match (self, v) {
            (Cells::Text(b), None) => b.append_null(),
            (Cells::Text(b), Some(v)) => match (ty, v) {
                (_, Value::String(s)) if *ty != ColumnType::Json => b.append_value(s),
                (ColumnType::RichText, v) => b.append_value(adf::to_text(v)),
                (ColumnType::Json, v) => b.append_value(v.to_string()),
                (_, Value::Bool(x)) => b.append_value(if *x { "true" } else { "false" }),
                (_, v) => b.append_value(v.to_string()),
            },
            (Cells::Float(b), v) => b.append_option(v.and_then(Value::as_f64)),
            (Cells::Bool(b), v) => b.append_option(v.and_then(Value::as_bool)),
            (Cells::Date(b), v) => b.append_option(v.and_then(Value::as_str).and_then(parse_jira_date)),
            (Cells::Timestamp(b), v) => b.append_option(v.and_then(Value::as_str).and_then(parse_jira_datetime)),
            (Cells::List { offsets, nulls, child, .. }, v) => {
                let ColumnType::List(inner) = ty else { unreachable!("list cells hold list columns") };
                match v.and_then(Value::as_array) {
                    Some(items) => {
                        items.iter().for_each(|i| child.append(inner, Some(i)));
                        nulls.append_non_null();
                    }
                    None => nulls.append_null(),
                }
                let last = *offsets.last().expect("offsets start at 0");
                offsets.push(last + v.and_then(Value::as_array).map_or(0, |i| i.len() as i32));
            }
            (Cells::Struct { children, nulls, .. }, v) => {
                let ColumnType::Struct(fields) = ty else { unreachable!("struct cells hold struct columns") };
                let o = v.and_then(Value::as_object);
                for ((name, t), child) in fields.iter().zip(children) {
                    child.append(t, o.and_then(|o| o.get(name)));
                }
                if o.is_some() { nulls.append_non_null() } else { nulls.append_null() }
            }
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
        let row = json!({"id": "1", "points": 3, "due": "1970-01-03", "at": "1970-01-01T01:00:00.000+0100",
                         "labels": ["a", "b"], "desc": {"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hi"}]}]},
                         "status": {"id": "3", "name": "Done", "self": "http://x", "statusCategory": {"id": 3, "key": "done", "name": "Done"}},
                         "raw": {"a": [1]}});
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
