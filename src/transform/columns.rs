//! Jira JSON → typed Arrow columns, typed from Jira's own field schema (`/field`).
//!
//! A value that does not fit its column's type is an error naming the record and field, never a
//! silent null: a wrong number in a table is worse than a failed run.

use std::sync::Arc;

use crate::arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};

use crate::jira::fields::FieldSchema;

/// The column type a Jira value becomes. Structs keep the stable keys of Jira's objects (ids,
/// keys, names), not their URLs and icons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    /// ADF rich text (or Data Center wiki text) flattened to plain text.
    RichText,
    /// Whole numbers: Jira's seconds, counts and indexes. A double would print `3600.0` and
    /// lose exactness past 2^53, and analysts join and group on these.
    Int,
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
/// System fields whose `number` is a whole count of seconds or a percentage: Jira keeps them as
/// `Long` (`TimeTrackingSystemField`, `WorkRatio`), so a fraction there is not a Jira value.
const WHOLE_NUMBER_FIELDS: [&str; 7] = [
    "timespent",
    "timeoriginalestimate",
    "timeestimate",
    "aggregatetimespent",
    "aggregatetimeoriginalestimate",
    "aggregatetimeestimate",
    "workratio",
];
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
            // `environment` is rich text like `description` (ADF on Cloud, wiki markup on Data
            // Center); as plain text its ADF object would not fit.
            ("string", _)
                if s.custom.as_deref() == Some(TEXTAREA)
                    || matches!(s.system.as_deref(), Some("description" | "environment")) =>
            {
                ColumnType::RichText
            }
            ("array", Some(items)) => match Self::of_kind(items, s.custom.as_deref()) {
                ColumnType::Json => ColumnType::Json,
                t => ColumnType::List(Box::new(t)),
            },
            ("array", None) => ColumnType::Json,
            ("number", _) if s.system.as_deref().is_some_and(|f| WHOLE_NUMBER_FIELDS.contains(&f)) => ColumnType::Int,
            (kind, _) => Self::of_kind(kind, s.custom.as_deref()),
        }
    }

    pub fn arrow(&self) -> DataType {
        match self {
            ColumnType::Text | ColumnType::RichText | ColumnType::Json => DataType::Utf8,
            ColumnType::Int => DataType::Int64,
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
            ColumnType::Int => "bigint".into(),
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

    /// Whether a column of this type (a table's) holds every value of `newer` without loss:
    /// doubles hold the whole numbers that once were written as doubles.
    pub fn widens(&self, newer: &ColumnType) -> bool {
        match (self, newer) {
            (ColumnType::Float, ColumnType::Int) => true,
            (ColumnType::List(a), ColumnType::List(b)) => a.widens(b),
            (ColumnType::Struct(a), ColumnType::Struct(b)) => {
                a.len() == b.len()
                    && a.iter().zip(b).all(|((na, ta), (nb, tb))| na == nb && (ta == tb || ta.widens(tb)))
            }
            _ => false,
        }
    }

    /// The column type an existing Delta column of Arrow type `dt` holds, so values are checked
    /// against the table as it is (its types win over a field whose Jira type changed).
    pub fn from_arrow(dt: &DataType) -> Self {
        match dt {
            DataType::Int64 | DataType::Int32 => ColumnType::Int,
            DataType::Float64 | DataType::Float32 => ColumnType::Float,
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

/// Fields whose values are nearly all distinct whatever their type says: identities and free
/// text (by name too, since a column typed from an existing table is plain text).
const DISTINCT_FIELDS: [&str; 6] = ["id", "key", "summary", "description", "environment", "comment"];

impl Column {
    /// Whether nearly every row holds its own value (ids, keys, instants, free text). A Parquet
    /// dictionary then only costs: every value is hashed and stored twice until the dictionary
    /// outgrows its page and the writer gives up on it (bench/RESULTS.md). Metadata columns
    /// (`_extracted_at`, one value per run) are the opposite.
    pub fn nearly_distinct(&self) -> bool {
        if self.name.starts_with('_') {
            return false;
        }
        DISTINCT_FIELDS.contains(&self.name.as_str())
            || matches!(self.ty, ColumnType::Timestamp | ColumnType::RichText | ColumnType::Json)
    }
}

/// A value that could not be converted.
#[derive(Debug, thiserror::Error)]
#[error("record {record}: field `{field}`: {message}")]
pub struct ConvertError {
    pub record: String,
    pub field: String,
    pub message: String,
}

/// Epoch numbers below this are seconds, at or above it milliseconds. 10^11 seconds is the year
/// 5138 and 10^11 milliseconds is March 1973, before any Jira existed, so no instant Jira can
/// hold reads the same number both ways.
const EPOCH_MILLIS_FROM: f64 = 1e11;

/// An instant as Jira sends it, in microseconds since the epoch: its text forms (see
/// [`parse_jira_datetime`]) or an epoch number — Cloud's changelog bulk fetch sends a history's
/// `created` as epoch milliseconds. Numbers are told apart by size (`EPOCH_MILLIS_FROM`).
pub fn parse_jira_instant(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::String(s) => parse_jira_datetime(s),
        serde_json::Value::Number(n) => epoch_micros(n.as_f64()?),
        _ => None,
    }
}

/// Epoch seconds or milliseconds (told apart by size) → microseconds, `None` when not finite
/// or outside what a timestamp column holds.
pub fn epoch_micros(n: f64) -> Option<i64> {
    if !n.is_finite() {
        return None;
    }
    let us = if n.abs() < EPOCH_MILLIS_FROM { n * 1e6 } else { n * 1e3 };
    // Year 9999 and before year 1, as chrono and the readers take them.
    (-62_135_596_800e6..=253_402_300_799e6).contains(&us).then(|| us.round() as i64)
}

/// Jira's `2022-06-09T16:29:31.871-0700` (offset without colon; also accepts RFC 3339, `Z`,
/// and an all-digit epoch number sent as text) → microseconds since the epoch in UTC. The
/// offset is applied, never dropped.
pub fn parse_jira_datetime(s: &str) -> Option<i64> {
    if !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_digit()) {
        return epoch_micros(s.parse::<f64>().ok()?);
    }
    jira_fixed_datetime(s).or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
            .ok()
            .map(|d| d.timestamp_micros())
    })
}

/// The one layout Jira writes every instant in, read without a format interpreter: a site has
/// several per issue and chrono's `%`-format parsing was a visible share of a run's CPU.
fn jira_fixed_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 28 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'.'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let time = NaiveTime::from_hms_milli_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?)?;
    let sign = match b[23] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (oh, om) = (num(24, 26)?, num(26, 28)?);
    if om >= 60 {
        return None;
    }
    let offset_s = sign * i64::from(oh * 3600 + om * 60);
    Some(NaiveDateTime::new(date, time).and_utc().timestamp_micros() - offset_s * 1_000_000)
}

/// `YYYY-MM-DD` → days since the epoch.
pub fn parse_jira_date(s: &str) -> Option<i32> {
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    i32::try_from(d.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(kind: &str, items: Option<&str>, custom: Option<&str>) -> FieldSchema {
        FieldSchema { kind: kind.into(), items: items.map(Into::into), custom: custom.map(Into::into), system: None }
    }

    #[test]
    fn identities_instants_and_free_text_are_nearly_distinct() {
        let col = |name: &str, ty: ColumnType| Column { name: name.into(), ty };
        assert!(col("key", ColumnType::Text).nearly_distinct());
        assert!(col("summary", ColumnType::Text).nearly_distinct());
        assert!(col("created", ColumnType::Timestamp).nearly_distinct());
        assert!(col("customfield_10020", ColumnType::RichText).nearly_distinct());
        assert!(col("customfield_10021", ColumnType::Json).nearly_distinct());
        assert!(!col("customfield_10022", ColumnType::Text).nearly_distinct());
        assert!(!col("duedate", ColumnType::Date).nearly_distinct());
        assert!(!col("status", ColumnType::of_kind("status", None)).nearly_distinct());
        assert!(!col("_extracted_at", ColumnType::Timestamp).nearly_distinct(), "one value per run");
    }

    #[test]
    fn types_follow_jira_field_schema() {
        assert_eq!(ColumnType::of(Some(&schema("number", None, None))), ColumnType::Float);
        assert_eq!(ColumnType::of(Some(&schema("datetime", None, None))), ColumnType::Timestamp);
        assert_eq!(ColumnType::of(Some(&schema("string", None, Some(TEXTAREA)))), ColumnType::RichText);
        for system in ["description", "environment"] {
            let s = FieldSchema { system: Some(system.into()), ..schema("string", None, None) };
            assert_eq!(ColumnType::of(Some(&s)), ColumnType::RichText, "{system}");
        }
        assert_eq!(
            ColumnType::of(Some(&schema("array", Some("string"), None))),
            ColumnType::List(Box::new(ColumnType::Text))
        );
        assert_eq!(ColumnType::of(Some(&schema("user", None, None))), ColumnType::user());
        assert_eq!(
            ColumnType::of(Some(&schema("array", Some("user"), None))),
            ColumnType::List(Box::new(ColumnType::user()))
        );
        assert!(matches!(
            ColumnType::of(Some(&schema("option-with-child", None, None))),
            ColumnType::Struct(f) if f.len() == 3
        ));
        assert_eq!(ColumnType::of(Some(&schema("array", Some("json"), None))), ColumnType::Json);
        assert_eq!(ColumnType::of(Some(&schema("mystery", None, None))), ColumnType::Json);
        let seconds = FieldSchema { system: Some("timeoriginalestimate".into()), ..schema("number", None, None) };
        assert_eq!(ColumnType::of(Some(&seconds)), ColumnType::Int, "time tracking is whole seconds");
        assert_eq!(ColumnType::from_arrow(&ColumnType::Int.arrow()), ColumnType::Int);
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
        assert_eq!(parse_jira_datetime("2022-02-30T16:29:31.871-0700"), None, "no such day");
        assert_eq!(parse_jira_datetime("2022-06-09T16:29:31.871-0760"), None, "no such offset");
        assert_eq!(parse_jira_datetime("2022-06-09T23:29:31.871Z"), Some(utc));
        assert_eq!(parse_jira_datetime("2022-06-09T23:29:31.871+00:00"), Some(utc));
        assert_eq!(parse_jira_datetime("1654817371871"), Some(utc), "epoch milliseconds as text");
    }

    /// Seconds and milliseconds are told apart by size; both name the same instant.
    #[test]
    fn epoch_numbers_are_seconds_or_milliseconds() {
        use serde_json::json;
        let utc = 1_654_817_371_871_000;
        assert_eq!(parse_jira_instant(&json!(1_654_817_371_871u64)), Some(utc));
        assert_eq!(parse_jira_instant(&json!(1_654_817_371.871)), Some(utc));
        assert_eq!(parse_jira_instant(&json!(1_654_817_371)), Some(utc - 871_000));
        assert_eq!(parse_jira_instant(&json!("2022-06-09T16:29:31.871-0700")), Some(utc));
        assert_eq!(parse_jira_instant(&json!(99_999_999_999u64)), Some(99_999_999_999_000_000), "seconds: year 5138");
        assert_eq!(parse_jira_instant(&json!(100_000_000_000u64)), Some(100_000_000_000_000), "milliseconds: 1973");
        assert_eq!(parse_jira_instant(&json!(1e300)), None);
        assert_eq!(parse_jira_instant(&json!(true)), None);
        assert_eq!(parse_jira_instant(&json!(null)), None);
    }

    #[test]
    fn the_fast_datetime_path_agrees_with_chrono() {
        for s in ["2022-06-09T16:29:31.871-0700", "1999-12-31T23:59:59.999+1345", "2024-02-29T00:00:00.000+0000"] {
            let chrono = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z").unwrap().timestamp_micros();
            assert_eq!(jira_fixed_datetime(s), Some(chrono), "{s}");
        }
        assert_eq!(parse_jira_date("1970-01-03"), Some(2));
        assert_eq!(parse_jira_date("1969-12-31"), Some(-1));
        assert_eq!(parse_jira_date("03/01/1970"), None);
    }
}
