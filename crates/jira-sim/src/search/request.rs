//! A search arrives as GET query parameters or a POST body, in Cloud's or Data Center's
//! spelling; this module reduces every form to one `SearchRequest` so paging never sees the
//! difference.

use serde::Deserialize;
use serde_json::Value;

use crate::accounts::Viewer;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetParams {
    jql: Option<String>,
    next_page_token: Option<String>,
    start_at: Option<i64>,
    max_results: Option<i64>,
    fields: Option<String>,
    expand: Option<String>,
    validate_query: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PostBody {
    jql: Option<String>,
    next_page_token: Option<String>,
    start_at: Option<i64>,
    max_results: Option<i64>,
    fields: Option<Vec<String>>,
    /// A comma list (Cloud enhanced search) or an array of names (Data Center).
    expand: Option<Value>,
    /// `false` (Data Center's boolean) or `"none"`/`"warn"` (newer string form) turn literal
    /// validation off.
    validate_query: Option<Value>,
}

/// Whether a `validateQuery` value leaves validation on (the default).
fn validates(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !matches!(s.to_ascii_lowercase().as_str(), "false" | "none" | "warn"),
        _ => true,
    }
}

fn split_fields(fields: Option<&str>) -> Option<Vec<String>> {
    fields.map(|f| f.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
}

/// The issue expansions the simulator renders (`expand=changelog,transitions`); Jira's others
/// (`names`, `schema`, `renderedFields`, …) are accepted and ignored.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Expand {
    pub(super) changelog: bool,
    pub(super) transitions: bool,
}

impl Expand {
    fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut e = Expand::default();
        for n in names {
            match n.trim() {
                "changelog" => e.changelog = true,
                "transitions" => e.transitions = true,
                _ => {}
            }
        }
        e
    }

    pub(crate) fn from_value(v: Option<&Value>) -> Self {
        match v {
            Some(Value::String(s)) => Self::parse(s.split(',')),
            Some(Value::Array(a)) => Self::parse(a.iter().filter_map(Value::as_str).flat_map(|s| s.split(','))),
            _ => Self::default(),
        }
    }
}

/// One search request, whichever form it came in.
pub(super) struct SearchRequest {
    pub(super) jql: String,
    pub(super) token: Option<String>,
    pub(super) start_at: Option<i64>,
    pub(super) max: Option<i64>,
    pub(super) fields: Option<Vec<String>>,
    pub(super) expand: Expand,
    pub(super) emails: bool,
    pub(super) validate: bool,
}

impl SearchRequest {
    pub(super) fn from_get(p: GetParams, viewer: Viewer) -> Self {
        let fields = split_fields(p.fields.as_deref());
        Self {
            jql: p.jql.unwrap_or_default(),
            token: p.next_page_token,
            start_at: p.start_at,
            max: p.max_results,
            fields,
            expand: Expand::parse(p.expand.as_deref().unwrap_or_default().split(',')),
            emails: viewer.emails,
            validate: validates(p.validate_query.map(Value::String).as_ref()),
        }
    }

    pub(super) fn from_post(b: PostBody, viewer: Viewer) -> Self {
        Self {
            jql: b.jql.unwrap_or_default(),
            token: b.next_page_token,
            start_at: b.start_at,
            max: b.max_results,
            fields: b.fields,
            expand: Expand::from_value(b.expand.as_ref()),
            emails: viewer.emails,
            validate: validates(b.validate_query.as_ref()),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct CountBody {
    pub(super) jql: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn expand_lists_come_as_comma_strings_or_arrays() {
        let e = Expand::parse("changelog,transitions".split(','));
        assert!(e.changelog && e.transitions);
        let e = Expand::from_value(Some(&json!(["names", "changelog"])));
        assert!(e.changelog && !e.transitions);
        let e = Expand::from_value(Some(&json!("renderedFields, transitions")));
        assert!(!e.changelog && e.transitions);
        assert!(!Expand::from_value(None).changelog);
    }
}
