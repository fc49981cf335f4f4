//! Jira JSON → typed Arrow columns, typed from Jira's own field schema (`/field`).
//!
//! A value that does not fit its column's type is an error naming the record and field, never a
//! silent null: a wrong number in a table is worse than a failed run.

use std::sync::Arc;

use crate::arrow::datatypes::{DataType, Field, Fields, TimeUnit};

use crate::jira::fields::FieldSchema;
/// Jira's instants and dates are read by the HTTP layer too (sorting histories), so they live
/// there; re-exported for the cells.
pub use crate::jira::instant::{epoch_micros, parse_jira_date, parse_jira_datetime, parse_jira_instant};

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
/// System fields jirapipe once kept as JSON text and now types: a table written before keeps
/// their JSON text (see `drift`), without a drift warning on every run.
pub const TYPED_SINCE_JSON: [&str; 7] =
    ["timetracking", "progress", "aggregateprogress", "votes", "watches", "subtasks", "attachment"];

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
            "timetracking" => st(&[
                ("originalEstimate", Text),
                ("remainingEstimate", Text),
                ("timeSpent", Text),
                ("originalEstimateSeconds", Int),
                ("remainingEstimateSeconds", Int),
                ("timeSpentSeconds", Int),
            ]),
            // `percent` only when `total` is not zero.
            "progress" => st(&[("progress", Int), ("total", Int), ("percent", Int)]),
            "votes" => st(&[("votes", Int), ("hasVoted", Bool)]),
            "watches" => st(&[("watchCount", Int), ("isWatching", Bool)]),
            "attachment" => st(&[
                ("id", Text),
                ("filename", Text),
                ("size", Int),
                ("mimeType", Text),
                ("created", Timestamp),
                ("author", Self::user()),
            ]),
            _ => Json,
        }
    }

    /// A sub-task as `subtasks` lists it: the id and key, and under `fields` its
    /// summary, status, priority and type.
    fn subtask() -> Self {
        use ColumnType::*;
        st(&[
            ("id", Text),
            ("key", Text),
            (
                "fields",
                st(&[
                    ("summary", Text),
                    ("status", Self::of_kind("status", None)),
                    ("priority", Self::named()),
                    ("issuetype", Self::of_kind("issuetype", None)),
                ]),
            ),
        ])
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
            ("array", Some("issuelinks")) if s.system.as_deref() == Some("subtasks") => {
                ColumnType::List(Box::new(Self::subtask()))
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
    /// Text, whole or as Jira's rich text or JSON: the columns that hold a table's bytes.
    pub fn free_text(&self) -> bool {
        !self.name.starts_with('_') && matches!(self.ty, ColumnType::Text | ColumnType::RichText | ColumnType::Json)
    }

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
        let sys = |kind: &str, items: Option<&str>, id: &str| FieldSchema {
            system: Some(id.into()),
            ..schema(kind, items, None)
        };
        for (kind, items, id) in [
            ("timetracking", None, "timetracking"),
            ("progress", None, "aggregateprogress"),
            ("votes", None, "votes"),
            ("watches", None, "watches"),
        ] {
            assert!(matches!(ColumnType::of(Some(&sys(kind, items, id))), ColumnType::Struct(_)), "{id}");
        }
        assert!(matches!(
            ColumnType::of(Some(&sys("array", Some("attachment"), "attachment"))),
            ColumnType::List(t) if matches!(*t, ColumnType::Struct(_))
        ));
        let subtasks = ColumnType::of(Some(&sys("array", Some("issuelinks"), "subtasks")));
        assert!(subtasks.describe().starts_with("list<struct<id, key, fields>"), "{}", subtasks.describe());
        let links = ColumnType::of(Some(&sys("array", Some("issuelinks"), "issuelinks")));
        assert_eq!(links, ColumnType::Json, "issue links stay JSON");
        assert_eq!(ColumnType::of(None), ColumnType::Json);
        let t = ColumnType::of(Some(&schema("array", Some("option"), None)));
        assert_eq!(ColumnType::from_arrow(&t.arrow()), t, "a table's types map back to column types");
    }
}
