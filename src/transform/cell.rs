//! One value of a row, checked against its column's type and converted to it: the unit both
//! decoders (`Cell::from_value` over a parsed `Value`, `super::decode` over the page's text)
//! produce and the batch builders consume. Both must accept the same values and make the same
//! cells; `decode`'s tests build every type both ways.

use std::borrow::Cow;

use serde_json::Value;

use super::columns::{ColumnType, epoch_micros, parse_jira_date, parse_jira_datetime};
use super::{adf, sprint, wiki};

/// Text (rich text flattened, JSON serialised), a whole or real number, days, microseconds, or
/// the cells of a list or of a struct's fields in the struct's order.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Null,
    Text(Cow<'a, str>),
    Int(i64),
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
            (ColumnType::Int, Value::Number(n)) => match n.as_i64() {
                Some(i) => Cell::Int(i),
                None => Cell::Int(whole(n.as_f64().unwrap_or(f64::NAN))?),
            },
            (ColumnType::Int, _) => return Err(wrong("a whole number")),
            (ColumnType::Float, v) => {
                Cell::Float(v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| wrong("a number"))?)
            }
            (ColumnType::Bool, v) => Cell::Bool(v.as_bool().ok_or_else(|| wrong("true or false"))?),
            (ColumnType::Date, v) => Cell::Date(date(v.as_str().ok_or_else(|| wrong("a date string"))?)?),
            (ColumnType::Timestamp, Value::String(s)) => Cell::Timestamp(timestamp(s)?),
            (ColumnType::Timestamp, Value::Number(n)) => Cell::Timestamp(epoch(n.as_f64().unwrap_or(f64::NAN))?),
            (ColumnType::Timestamp, _) => return Err(wrong("a datetime")),
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
            Cell::Int(i) => Cell::Int(i),
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

/// A timestamp cell's microseconds from epoch seconds or milliseconds (see `epoch_micros`).
pub fn epoch(x: f64) -> Result<i64, String> {
    epoch_micros(x).ok_or_else(|| format!("bad epoch time {x}"))
}

/// `x` as a whole number, or why not: `3.0` is 3, `2.5` is not whole.
pub fn whole(x: f64) -> Result<i64, String> {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.2e18 {
        Ok(x as i64)
    } else {
        Err(format!("expected a whole number, got {x}"))
    }
}

pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
