//! Issue search on Jira Cloud: `/rest/api/3/search/jql`, paged by `nextPageToken`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{JiraClient, JiraError};

/// One page of search results. Jira decides the page size; never assume the one asked for.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchPage {
    pub issues: Vec<Value>,
    #[serde(default)]
    pub next_page_token: Option<String>,
    #[serde(default)]
    pub is_last: Option<bool>,
}

impl SearchPage {
    /// Jira omits the token on the last page; `isLast` is advisory.
    pub fn next(&self) -> Option<&str> {
        self.next_page_token.as_deref().filter(|t| !t.is_empty() && self.is_last != Some(true))
    }
}

/// Longest field list sent in a GET query string; beyond it the POST form avoids URL limits.
const MAX_GET_FIELDS_LEN: usize = 1500;

impl JiraClient {
    /// One page of `jql` with `fields` (ids), continuing from `token`.
    pub async fn search_page(
        &self,
        jql: &str,
        fields: &[String],
        token: Option<&str>,
        max_results: u32,
    ) -> Result<SearchPage, JiraError> {
        let joined = fields.join(",");
        if joined.len() > MAX_GET_FIELDS_LEN {
            let mut body = json!({"jql": jql, "fields": fields, "maxResults": max_results});
            if let Some(t) = token {
                body["nextPageToken"] = json!(t);
            }
            return self.post("rest/api/3/search/jql", &body).await;
        }
        let mut query = vec![("jql", jql.to_string()), ("fields", joined), ("maxResults", max_results.to_string())];
        if let Some(t) = token {
            query.push(("nextPageToken", t.to_string()));
        }
        self.get("rest/api/3/search/jql", &query).await
    }
}

/// The JQL jirapipe sends: the user's filter parenthesised (so its `OR`s cannot escape the
/// window), bounded by `updated` (enhanced search rejects unbounded queries), in a stable order.
pub fn bounded_jql(user_jql: Option<&str>, updated_from_ms: i64) -> String {
    let window = format!("updated >= {updated_from_ms}");
    match user_jql.map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) => format!("({q}) AND {window} ORDER BY updated ASC, id ASC"),
        None => format!("{window} ORDER BY updated ASC, id ASC"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_jql_is_parenthesised_and_bounded() {
        assert_eq!(
            bounded_jql(Some("project = A OR project = B"), 0),
            "(project = A OR project = B) AND updated >= 0 ORDER BY updated ASC, id ASC"
        );
        assert_eq!(bounded_jql(Some("  "), 5), "updated >= 5 ORDER BY updated ASC, id ASC");
    }

    #[test]
    fn last_page_has_no_next() {
        let p: SearchPage = serde_json::from_value(json!({"issues": [], "isLast": true})).unwrap();
        assert_eq!(p.next(), None);
        let p: SearchPage =
            serde_json::from_value(json!({"issues": [], "nextPageToken": "t", "isLast": false})).unwrap();
        assert_eq!(p.next(), Some("t"));
    }
}
