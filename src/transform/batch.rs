//! Typed rows appended straight into Arrow builders.
//!
//! Profiling put most of the client's CPU in moving each record through intermediate JSON: a
//! normalised copy of every value, serialised again into arrow-json's tape, then decoded. Here a
//! record becomes a row of typed [`Cell`]s (checked against its columns, strings borrowed from
//! the record), then each cell is appended to its column's builder, so a row costs its own
//! bytes and nothing more. Cells come from a parsed JSON value (`Cell::from_value`) or straight
//! from the page's text (`super::decode`).

use std::sync::Arc;

use serde_json::Value;

pub use super::cell::Cell;
use super::columns::{Column, ColumnType, ConvertError};
use crate::arrow::array::builder::NullBufferBuilder;
use crate::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, ListArray, RecordBatch,
    StringBuilder, StructArray, TimestampMicrosecondBuilder,
};
use crate::arrow::buffer::{OffsetBuffer, ScalarBuffer};
use crate::arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema, SchemaRef};

/// The schema rows of `columns` have: every column nullable but the key, `id`.
pub fn schema(columns: &[Column]) -> SchemaRef {
    Arc::new(Schema::new(columns.iter().map(|c| Field::new(&c.name, c.ty.arrow(), c.name != "id")).collect::<Vec<_>>()))
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

    /// Appends one record; `value(name)` looks a column's JSON value up. A value that does not
    /// fit its column leaves that cell null and comes back as an error of its own: one bad field
    /// never costs the row. Only a record whose key is missing or unusable is refused whole
    /// (`Err`, nothing appended).
    pub fn push<'v>(
        &mut self,
        record: &str,
        value: impl Fn(&str) -> Option<&'v Value>,
    ) -> Result<Vec<ConvertError>, ConvertError> {
        let fail = |c: &Column, message: String| ConvertError { record: record.into(), field: c.name.clone(), message };
        let mut bad = Vec::new();
        let mut row = Vec::with_capacity(self.columns.len());
        for (i, c) in self.columns.iter().enumerate() {
            match value(&c.name).map_or(Ok(Cell::Null), |v| Cell::from_value(&c.ty, v)) {
                Ok(cell) => row.push(cell),
                Err(e) if Some(i) == self.key => return Err(fail(c, e)),
                Err(e) => {
                    bad.push(fail(c, e));
                    row.push(Cell::Null);
                }
            }
        }
        self.push_row(row).map_err(|c| fail(c, "missing; every record needs one".into()))?;
        Ok(bad)
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
    Int(Int64Builder),
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
            ColumnType::Int => Cells::Int(Int64Builder::new()),
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
            (Cells::Int(b), Cell::Int(x)) => b.append_value(x),
            (Cells::Int(b), Cell::Null) => b.append_null(),
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
            Cells::Int(b) => Arc::new(std::mem::replace(b, Int64Builder::with_capacity(b.len())).finish()),
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
    fn builds_typed_rows_and_nulls_only_the_values_that_do_not_fit() {
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
        assert!(b.push("1", |c| row.get(c)).unwrap().is_empty());
        let bad = json!({"id": "2", "points": "many", "due": "1970-01-03"});
        let errs = b.push("2", |c| bad.get(c)).unwrap();
        let errs: Vec<(&str, &str)> = errs.iter().map(|e| (e.record.as_str(), e.field.as_str())).collect();
        assert_eq!(errs, [("2", "points")]);
        let bad = json!({"id": "3", "labels": ["a", "b"], "status": {"name": ["x"]}});
        let errs = b.push("3", |c| bad.get(c)).unwrap();
        assert!(errs.len() == 1 && errs[0].field == "status" && errs[0].message.contains("name"), "{errs:?}");
        let bad = json!({"points": 1});
        assert_eq!(b.push("?", |c| bad.get(c)).unwrap_err().field, "id", "the key is never null");
        let bad = json!({"id": ["x"], "points": 1});
        assert_eq!(b.push("?", |c| bad.get(c)).unwrap_err().field, "id", "nor unusable");
        let empty = json!({"id": "4"});
        assert!(b.push("4", |c| empty.get(c)).unwrap().is_empty());
        let batch = b.finish();
        assert_eq!(batch.num_rows(), 4, "rows with a bad field are written; rows without a key are not");
        assert!(batch.column(1).is_null(1), "the bad value is null");
        assert_eq!(batch.column(2).as_primitive::<Date32Type>().value(1), 2, "the row's other values are kept");
        let labels = batch.column(4).as_list::<i32>();
        assert_eq!(labels.value(2).len(), 2, "the row with a bad status keeps its labels");
        assert!(batch.column(6).is_null(2));
        assert_eq!(batch.column(1).as_primitive::<Float64Type>().value(0), 3.0);
        assert_eq!(batch.column(2).as_primitive::<Date32Type>().value(0), 2);
        assert_eq!(batch.column(3).as_primitive::<TimestampMicrosecondType>().value(0), 0);
        let labels = batch.column(4).as_list::<i32>();
        assert_eq!((labels.value(0).len(), labels.is_null(1)), (2, true));
        assert_eq!(labels.values().len(), 4, "the refused row's values were not appended");
        assert_eq!(batch.column(5).as_string::<i32>().value(0), "hi");
        let status = batch.column(6).as_struct();
        assert_eq!(status.column_by_name("name").unwrap().as_string::<i32>().value(0), "Done");
        let cat = status.column_by_name("statusCategory").unwrap().as_struct();
        assert_eq!(cat.column_by_name("id").unwrap().as_string::<i32>().value(0), "3");
        assert!(status.is_null(1));
        assert_eq!(batch.column(7).as_string::<i32>().value(0), r#"{"a":[1]}"#);
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
        assert!(b.push("1", |c| row.get(c)).unwrap().is_empty());
        let first = b.finish();
        let list = first.column(1).as_list::<i32>();
        let items = list.value(0);
        let items = items.as_struct();
        assert_eq!(items.len(), 3);
        assert!(items.is_null(1));
        assert_eq!(items.column_by_name("id").unwrap().as_string::<i32>().value(2), "2", "numbers become text");
        assert!(b.push("1", |c| row.get(c)).unwrap().is_empty());
        let second = b.finish();
        assert_eq!(second.column(1).as_list::<i32>().value_offsets(), &[0, 3], "offsets restart per batch");
    }
}
