//! Jira's JSON text decoded straight into typed cells, without a tree of every value.
//!
//! Parsing each page into `serde_json::Value`s allocated every key and string of every issue
//! (~8 KB of JSON and hundreds of allocations each) only to read part of it and free it all:
//! after the Arrow builders, that was the largest share of the client's CPU. Here the parser
//! hands each value to a visitor for its column's type: strings are borrowed from the page, and
//! unselected fields and struct members that are not columns (URLs, avatars) are skipped
//! without being built.
//!
//! A value that does not fit its column stops the record with an error. The caller then takes
//! that record through `Cell::from_value`, which says what was wrong and makes the reject, so
//! both must agree on what fits: the tests build the same rows both ways.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::cell::{Cell, bool_text, date, epoch, timestamp, whole};
use super::columns::ColumnType;
pub use super::key::Key;
use super::{adf, sprint, wiki};

/// Decodes one value as a cell of `ty`. A JSON column keeps the value's text as Jira sent it,
/// borrowed from the page: parsing comments into a `Value` and printing them again was a tenth
/// of the client's CPU. (`Cell::from_value` prints a `Value` with its keys sorted; the text is
/// the same JSON, and the same text where Jira sorts its keys.)
pub struct CellSeed<'t>(pub &'t ColumnType);

impl<'de> DeserializeSeed<'de> for CellSeed<'_> {
    type Value = Cell<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cell<'de>, D::Error> {
        match self.0 {
            ColumnType::Json => match <&RawValue>::deserialize(d)?.get() {
                "null" => Ok(Cell::Null),
                text => Ok(Cell::Text(Cow::Borrowed(text))),
            },
            ty => d.deserialize_any(CellVisitor(ty)),
        }
    }
}

/// `v` as an owned cell of `ty`, with `from_value`'s reason as the decoding error.
pub fn value_cell<E: de::Error>(ty: &ColumnType, v: &Value) -> Result<Cell<'static>, E> {
    Cell::from_value(ty, v).map(Cell::into_owned).map_err(E::custom)
}

struct CellVisitor<'t>(&'t ColumnType);

impl<'de> CellVisitor<'_> {
    fn text<E: de::Error>(self, s: Cow<'de, str>) -> Result<Cell<'de>, E> {
        match self.0 {
            ColumnType::Text => Ok(Cell::Text(s)),
            // Data Center's wiki markup, flattened as `Cell::from_value` does.
            ColumnType::RichText => Ok(Cell::Text(wiki::to_text(&s).into())),
            ColumnType::Date => date(&s).map(Cell::Date).map_err(E::custom),
            ColumnType::Timestamp => timestamp(&s).map(Cell::Timestamp).map_err(E::custom),
            // Data Center's Sprint values, read as Cloud's sprint objects (`sprint.rs`).
            ColumnType::Struct(_) if sprint::is_sprint(&s) => {
                value_cell(self.0, &sprint::parse(&s).ok_or_else(|| E::custom(sprint::unreadable(&s)))?)
            }
            _ => Err(E::invalid_type(Unexpected::Str(&s), &self)),
        }
    }

    /// A number; `json` is how a text column spells it (as `Value` would print it), `int` the
    /// number itself when Jira sent a whole number that fits.
    fn number<E: de::Error>(self, x: f64, int: Option<i64>, json: impl FnOnce() -> String) -> Result<Cell<'de>, E> {
        match self.0 {
            ColumnType::Int => match int {
                Some(i) => Ok(Cell::Int(i)),
                None => whole(x).map(Cell::Int).map_err(E::custom),
            },
            ColumnType::Float if x.is_finite() => Ok(Cell::Float(x)),
            ColumnType::Timestamp => epoch(x).map(Cell::Timestamp).map_err(E::custom),
            ColumnType::Text => Ok(Cell::Text(Cow::Owned(json()))),
            _ => Err(E::invalid_type(Unexpected::Float(x), &self)),
        }
    }
}

impl<'de> Visitor<'de> for CellVisitor<'_> {
    type Value = Cell<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0.describe())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Cell<'de>, E> {
        Ok(Cell::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Cell<'de>, E> {
        match self.0 {
            ColumnType::Bool => Ok(Cell::Bool(b)),
            ColumnType::Text => Ok(Cell::Text(bool_text(b).into())),
            _ => Err(E::invalid_type(Unexpected::Bool(b), &self)),
        }
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Cell<'de>, E> {
        self.number(n as f64, Some(n), || n.to_string())
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Cell<'de>, E> {
        self.number(n as f64, i64::try_from(n).ok(), || n.to_string())
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Cell<'de>, E> {
        self.number(x, None, || serde_json::Number::from_f64(x).map(|n| n.to_string()).unwrap_or_default())
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Cell<'de>, E> {
        self.text(Cow::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Cell<'de>, E> {
        self.text(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Cell<'de>, E> {
        self.text(Cow::Owned(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Cell<'de>, A::Error> {
        let ColumnType::List(inner) = self.0 else { return Err(de::Error::invalid_type(Unexpected::Seq, &self)) };
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(cell) = seq.next_element_seed(CellSeed(inner))? {
            items.push(cell);
        }
        Ok(Cell::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Cell<'de>, A::Error> {
        if *self.0 == ColumnType::RichText {
            return Ok(Cell::Text(adf::map_text(map)?.into()));
        }
        let ColumnType::Struct(fields) = self.0 else { return Err(de::Error::invalid_type(Unexpected::Map, &self)) };
        let mut cells = vec![Cell::Null; fields.len()];
        while let Some(key) = map.next_key::<Key>()? {
            match fields.iter().position(|(name, _)| *name == *key.0) {
                // A repeated key keeps its last value, as `Value` does.
                Some(i) => cells[i] = map.next_value_seed(CellSeed(&fields[i].1))?,
                None => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok(Cell::Struct(cells))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jira::fields::FieldSchema;
    use serde_json::json;

    fn decode<'a>(ty: &ColumnType, text: &'a str) -> Result<Cell<'a>, serde_json::Error> {
        CellSeed(ty).deserialize(&mut serde_json::Deserializer::from_str(text))
    }

    fn of(kind: &str, items: Option<&str>) -> ColumnType {
        ColumnType::of(Some(&FieldSchema {
            kind: kind.into(),
            items: items.map(Into::into),
            custom: None,
            system: None,
        }))
    }

    /// Every type against values that fit and values that do not: the decoder accepts exactly
    /// what `from_value` accepts, and makes the same cell.
    #[test]
    fn decoding_agrees_with_from_value() {
        let types = [
            ColumnType::Text,
            ColumnType::RichText,
            ColumnType::Json,
            ColumnType::Int,
            ColumnType::Float,
            ColumnType::Bool,
            ColumnType::Date,
            ColumnType::Timestamp,
            of("user", None),
            of("status", None),
            of("array", Some("option")),
            of("array", Some("string")),
            of("option-with-child", None),
        ];
        let values = [
            json!(null),
            json!("plain"),
            json!("esc\"aped\u{e9}"),
            json!("h2. Wiki\n* *bold* [link|http://x] {code}a_b{code}"),
            json!(3),
            json!(-3),
            json!(2.5),
            json!(3.0),
            json!(1e300),
            json!(18446744073709551615u64),
            json!(9223372036854775807i64),
            json!(1_654_817_371_871u64),
            json!(1_654_817_371.5),
            json!(true),
            json!("2024-02-29"),
            json!("2024-02-30"),
            json!("2022-06-09T16:29:31.871-0700"),
            json!("2022-06-09T16:29:31.871-07:00"),
            json!([]),
            json!(["a", null, 1, false]),
            json!([{"id": "1", "value": "x", "self": "http://s"}, null, {"id": 2}]),
            json!([{"id": ["bad"]}]),
            json!({"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hi"}]}]}),
            json!({
                "accountId": "a", "active": true, "avatarUrls": {"48x48": "u"}, "displayName": "A", "active": false
            }),
            json!({"id": "3", "name": "Done", "statusCategory": {"id": 3, "key": "done", "name": "Done"}}),
            json!({"id": "3", "statusCategory": "oops"}),
            json!({"id": "1", "value": "a", "child": {"id": "2", "value": "b"}}),
            json!({"name": null, "accountId": 7}),
        ];
        for ty in &types {
            for v in &values {
                // `json!` keeps only the last of a repeated key; the text below keeps both.
                let text = if v.get("avatarUrls").is_some() {
                    r#"{"accountId":"a","active":true,"avatarUrls":{"48x48":"u"},"displayName":"A","active":false}"#
                        .into()
                } else {
                    v.to_string()
                };
                let expected = Cell::from_value(ty, v);
                let got = decode(ty, &text);
                match (&expected, &got) {
                    // JSON text as sent: the same JSON, not necessarily the same text.
                    (Ok(Cell::Text(e)), Ok(Cell::Text(g))) if *ty == ColumnType::Json => {
                        assert_eq!(serde_json::from_str::<Value>(e).unwrap(), serde_json::from_str::<Value>(g).unwrap())
                    }
                    (Ok(e), Ok(g)) => assert_eq!(e, g, "{ty:?} from {text}"),
                    (Err(_), Err(_)) => {}
                    _ => panic!("{ty:?} from {text}: from_value {expected:?}, decoder {got:?}"),
                }
            }
        }
    }

    #[test]
    fn json_columns_keep_the_text_as_sent() {
        let text = r#"{"z":1,"a":[true,null]}"#;
        assert_eq!(decode(&ColumnType::Json, text).unwrap(), Cell::Text(Cow::Borrowed(text)));
        assert_eq!(decode(&ColumnType::Json, "null").unwrap(), Cell::Null);
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let text = r#"{"id": "1", "name": "Open", "self": "http://x"}"#;
        let Cell::Struct(cells) = decode(&of("status", None), text).unwrap() else { panic!() };
        assert!(matches!(&cells[1], Cell::Text(Cow::Borrowed("Open"))), "{cells:?}");
        assert!(matches!(decode(&ColumnType::Text, r#""a\nb""#).unwrap(), Cell::Text(Cow::Owned(_))));
    }
}
