//! Rich text is where REST v3 (ADF documents) and v2 (wiki markup) differ; everything that
//! converts between the two API versions' shapes is gathered here.

use serde_json::{Value, json};

/// A v3 value as REST v2 renders it (Cloud v2 and Data Center): every ADF document, however
/// deep (descriptions, textarea fields, comment bodies), becomes wiki markup text, and links into
/// the site's v3 API point at v2.
pub fn to_v2(v: Value, base_url: &str) -> Value {
    let v3 = format!("{base_url}/rest/api/3/");
    fn walk(v: Value, v3: &str) -> Value {
        match v {
            Value::Object(_) if v.get("type").and_then(Value::as_str) == Some("doc") => adf_to_wiki(v),
            Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, walk(v, v3))).collect()),
            Value::Array(a) => Value::Array(a.into_iter().map(|v| walk(v, v3)).collect()),
            Value::String(s) if s.starts_with(v3) => {
                Value::String(format!("{}/rest/api/2/{}", &v3[..v3.len() - "/rest/api/3/".len()], &s[v3.len()..]))
            }
            other => other,
        }
    }
    walk(v, &v3)
}

/// Data Center's v2 API returns rich text as wiki markup strings, not ADF documents.
pub use crate::wiki::adf_to_wiki;

/// Atlassian Document Format with one paragraph, as v3 returns rich text.
pub fn adf(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    ]})
}
