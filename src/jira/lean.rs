//! JSON read without the members no table keeps: every user Jira embeds (authors of comments,
//! worklogs and histories) carries four avatar URLs and a `self` link, and every record its own
//! `self`, which together are about half of a comment's or a history's parsed size. The
//! comment pages of 100 issues and the histories of 1,000 are held until their last record is
//! written, so these members were most of what a run with every object held (bench/RESULTS.md).
//!
//! Only for records whose tables read neither member: comments, worklogs, issue links and
//! changelog histories (their user columns are `ColumnType::user`, which has neither).

use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Members dropped at any depth.
const DROPPED: [&str; 2] = ["avatarUrls", "self"];

/// A JSON value as Jira sent it, less the [`DROPPED`] members.
#[derive(Debug, Clone, PartialEq)]
pub struct Lean(pub Value);

impl<'de> Deserialize<'de> for Lean {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LeanVisitor).map(Lean)
    }
}

struct LeanVisitor;

impl<'de> Visitor<'de> for LeanVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Lean::deserialize(d).map(|l| l.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(Lean(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if DROPPED.contains(&key.as_str()) {
                map.next_value::<IgnoredAny>()?;
            } else {
                let Lean(v) = map.next_value()?;
                out.insert(key, v);
            }
        }
        Ok(Value::Object(out))
    }
}

/// The values of `lean`, for APIs that take plain JSON.
pub fn values(lean: Vec<Lean>) -> Vec<Value> {
    lean.into_iter().map(|l| l.0).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn avatars_and_self_links_are_dropped_at_any_depth_and_the_rest_is_as_sent() {
        let sent = json!({
            "self": "https://x/rest/api/3/issue/1/comment/9",
            "id": "9",
            "author": {"self": "https://x/user", "accountId": "a1", "avatarUrls": {"48x48": "https://x/a.png"},
                       "displayName": "Ann", "active": true, "emailAddress": null},
            "body": {"type": "doc", "version": 1, "content": [{"type": "text", "text": "é \"quoted\" \u{1F600}"}]},
            "numbers": [1, -2, 2.5, 18446744073709551615u64],
            "items": [{"field": "status", "from": null}]
        });
        let Lean(read) = serde_json::from_str(&sent.to_string()).unwrap();
        let mut want = sent.clone();
        want.as_object_mut().unwrap().remove("self");
        want["author"].as_object_mut().unwrap().remove("self");
        want["author"].as_object_mut().unwrap().remove("avatarUrls");
        assert_eq!(read, want);
        // A float keeps its exact value, as serde_json's own `Value` reads it.
        let Lean(f) = serde_json::from_str("0.30000000000000004").unwrap();
        assert_eq!(f, serde_json::from_str::<Value>("0.30000000000000004").unwrap());
    }
}
