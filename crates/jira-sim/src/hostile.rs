//! Hostile responses: what sits between an extractor and a real site, or a broken site itself,
//! sends instead of Jira's answer. Each is a [`Hostile`] switch in [`Behaviour`], applied by
//! the fault middleware after Jira's own handler has answered (or, for paging, by rewriting the
//! request before it):
//!
//! - an SSO or proxy login page with `200` — Jira Data Center behind Okta SAML answers API calls
//!   with an HTML page and 200 (apache/devlake #8704, pchuri/jira-cli #20), a login gateway
//!   (ADFS, DUO) does the same (go-jira/jira #445), a "Loading..." page with 200
//!   (pycontribs/jira #1340) — an empty `200`, a plain-text `200`;
//! - JSON cut short with its length adjusted (a proxy that truncates and re-frames), invalid
//!   UTF-8 inside a string, a 50 MB string field, a description nested 10,000 levels deep;
//! - paging that never ends: the same `nextPageToken` again and again, a site that serves the
//!   first page again under fresh tokens forever, a `startAt` the server ignores (Cloud's
//!   `search/jql` ignores it: sooperset/mcp-atlassian #848; a self-hosted Jira whose "get all
//!   issues" never ended: n8n-io/n8n #16493), pages without `isLast` (shridhar-tl/jira-assistant
//!   #418);
//! - a body that stalls half-way (a load balancer holding a connection), a connection reset on
//!   every Nth request;
//! - an issue whose `id` is missing, a number, or an object.
//!
//! None of this is Jira's documented behaviour; it is what clients of real sites report, and
//! what a production extractor must survive. [`Behaviour`]: crate::behaviour::Behaviour

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};

/// A hostile response, switched on in `Behaviour::hostile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostile {
    /// `200` with an HTML login page (an SSO proxy in front of the site).
    HtmlLogin,
    /// `200` with an empty body.
    EmptyBody,
    /// `200` with `text/plain` `OK` (a health-check endpoint answering for the site).
    PlainText,
    /// The JSON body cut in half, with a `Content-Length` that matches the cut.
    TruncatedJson,
    /// Two bytes that are not UTF-8 inside the first string of the body.
    InvalidUtf8,
    /// The first issue of each fetch response has a `summary` of this many bytes.
    HugeString(usize),
    /// The first issue of each fetch response has a `description` nested this deep.
    DeepNesting(usize),
    /// Cloud search names the same `nextPageToken` on every page (serving the first page again
    /// for it).
    RepeatedToken,
    /// After its last page, Cloud search serves the first page again under a new token, forever.
    EndlessPages,
    /// Paged endpoints ignore `startAt` and serve the first page every time.
    IgnoreStartAt,
    /// Pages never say whether they are the last: `isLast`, `lastPage` and `isLastPage` are
    /// left out everywhere (the end is then only an empty, short or token-less page).
    NoIsLast,
    /// Every Nth response stalls half-way through its body for `Behaviour::slow_by`.
    StallEvery(u64),
    /// Every Nth request's connection is reset before any response.
    ResetEvery(u64),
    /// Issues whose id ends in 7 have no `id` in fetch responses.
    IssueIdMissing,
    /// Issues whose id ends in 7 have their `id` as an object in fetch responses.
    IssueIdObject,
}

/// Tokens of ours, which read the first page again: no real listing hands them out.
const AGAIN: &str = "again-";
const REPEAT: &str = "repeat-";

impl Hostile {
    /// The request as the hostile site reads it (paging faults rewrite it).
    pub fn request(self, uri: &Uri, body: Option<Value>) -> (Option<Uri>, Option<Value>) {
        match self {
            Hostile::IgnoreStartAt => {
                let uri = uri.query().filter(|q| q.contains("startAt=")).map(|q| {
                    let kept: Vec<&str> = q.split('&').filter(|p| !p.starts_with("startAt=")).collect();
                    format!("{}?{}", uri.path(), kept.join("&")).parse().expect("a path and query")
                });
                let body = body.filter(|b| b.get("startAt").is_some()).map(|mut b| {
                    b["startAt"] = json!(0);
                    b
                });
                (uri, body)
            }
            Hostile::EndlessPages | Hostile::RepeatedToken => {
                // A token of ours reads the first page again.
                let again = |t: &str| t.starts_with(AGAIN) || t.starts_with(REPEAT);
                let uri = uri
                    .query()
                    .filter(|q| q.split('&').any(|p| p.strip_prefix("nextPageToken=").is_some_and(again)))
                    .map(|q| {
                        let kept: Vec<&str> = q.split('&').filter(|p| !p.starts_with("nextPageToken=")).collect();
                        format!("{}?{}", uri.path(), kept.join("&")).parse().expect("a path and query")
                    });
                let body = body.filter(|b| b["nextPageToken"].as_str().is_some_and(again)).map(|mut b| {
                    b.as_object_mut().map(|o| o.remove("nextPageToken"));
                    b
                });
                (uri, body)
            }
            _ => (None, None),
        }
    }

    /// Whether this switch replaces the response to request number `n` before Jira answers.
    pub fn resets(self, n: u64) -> bool {
        matches!(self, Hostile::ResetEvery(e) if e > 0 && n.is_multiple_of(e))
    }

    /// Jira's answer `body` (status `status`) to a request on `path`, as the hostile site
    /// sends it; `n` is the request's number, `counter` a number that grows with every endless
    /// page.
    pub fn response(self, path: &str, status: StatusCode, body: Vec<u8>, n: u64, stall: Duration) -> Response {
        let fetch = path.ends_with("/issue/bulkfetch") || path.ends_with("/rest/api/2/search");
        let search = path.ends_with("/search/jql");
        match self {
            Hostile::HtmlLogin => with(StatusCode::OK, "text/html; charset=utf-8", LOGIN_PAGE.as_bytes().to_vec()),
            Hostile::EmptyBody => with(StatusCode::OK, "application/json", Vec::new()),
            Hostile::PlainText => with(StatusCode::OK, "text/plain", b"OK".to_vec()),
            Hostile::TruncatedJson => {
                let half = body[..body.len() / 2].to_vec();
                with(status, "application/json", half)
            }
            Hostile::InvalidUtf8 => {
                let mut bad = body;
                if let Some(at) = bad.iter().position(|b| *b == b'"') {
                    bad.splice(at + 1..at + 1, [0xFF, 0xFE]);
                }
                with(status, "application/json", bad)
            }
            Hostile::HugeString(bytes) if fetch => rewrite(status, &body, |issues| {
                if let Some(first) = issues.first_mut() {
                    first["fields"]["summary"] = json!("x".repeat(bytes));
                }
            }),
            Hostile::DeepNesting(depth) if fetch => {
                let marked = rewrite_value(&body, |issues| {
                    if let Some(first) = issues.first_mut() {
                        first["fields"]["description"] = json!(DEEP);
                    }
                });
                match marked {
                    Some(text) => {
                        let open = r#"{"type":"doc","version":1,"content":["#.repeat(depth);
                        let deep = format!("{open}{}", "]}".repeat(depth));
                        let text = text.replacen(&format!("\"{DEEP}\""), &deep, 1);
                        with(status, "application/json", text.into_bytes())
                    }
                    None => with(status, "application/json", body),
                }
            }
            Hostile::IssueIdMissing | Hostile::IssueIdObject if fetch => rewrite(status, &body, |issues| {
                let sevens = issues
                    .iter_mut()
                    .filter(|i| i["id"].as_str().is_some_and(|id| id.ends_with('7')))
                    .filter_map(Value::as_object_mut);
                for issue in sevens {
                    if self == Hostile::IssueIdMissing {
                        issue.remove("id");
                    } else {
                        issue.insert("id".into(), json!({"value": issue["id"].clone()}));
                    }
                }
            }),
            Hostile::RepeatedToken if search => {
                let mut v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if v.get("issues").is_some() {
                    v["nextPageToken"] = json!(format!("{REPEAT}1"));
                    v["isLast"] = json!(false);
                }
                with(status, "application/json", v.to_string().into_bytes())
            }
            Hostile::EndlessPages if search => {
                let mut v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if v.get("issues").is_some() && v.get("nextPageToken").is_none() {
                    v["nextPageToken"] = json!(format!("{AGAIN}{n}"));
                    v["isLast"] = json!(false);
                }
                with(status, "application/json", v.to_string().into_bytes())
            }
            Hostile::StallEvery(e) if e > 0 && n.is_multiple_of(e) => stalled(status, body, stall),
            Hostile::NoIsLast => match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(mut o)) => {
                    for k in ["isLast", "lastPage", "isLastPage"] {
                        o.remove(k);
                    }
                    with(status, "application/json", Value::Object(o).to_string().into_bytes())
                }
                _ => with(status, "application/json", body),
            },
            _ => with(status, "application/json", body),
        }
    }
}

/// Stands in for the deep description until the body is text.
const DEEP: &str = "__deep_description__";

fn with(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// The body with its `issues` changed by `f` (bodies without issues pass unchanged).
fn rewrite(status: StatusCode, body: &[u8], f: impl FnOnce(&mut Vec<Value>)) -> Response {
    match rewrite_value(body, f) {
        Some(text) => with(status, "application/json", text.into_bytes()),
        None => with(status, "application/json", body.to_vec()),
    }
}

fn rewrite_value(body: &[u8], f: impl FnOnce(&mut Vec<Value>)) -> Option<String> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    f(v.get_mut("issues")?.as_array_mut()?);
    Some(v.to_string())
}

/// Half the body, a pause of `stall`, then the rest.
fn stalled(status: StatusCode, body: Vec<u8>, stall: Duration) -> Response {
    let rest = body[body.len() / 2..].to_vec();
    let first = body[..body.len() / 2].to_vec();
    let stream = futures_util::stream::unfold(0u8, move |step| {
        let (first, rest) = (first.clone(), rest.clone());
        async move {
            match step {
                0 => Some((Ok::<_, std::io::Error>(first), 1)),
                1 => {
                    tokio::time::sleep(stall).await;
                    Some((Ok(rest), 2))
                }
                _ => None,
            }
        }
    });
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// What an SSO proxy answers an API call without its session cookie.
const LOGIN_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign In - Acme Single Sign-On</title></head>
<body><form method="post" action="/login/callback"><input name="username"><input name="password" type="password">
<button type="submit">Sign in</button></form></body></html>"#;

#[cfg(test)]
mod tests {
    use super::*;

    async fn text(r: Response) -> (StatusCode, String, Vec<u8>) {
        let ct = r.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let status = r.status();
        let body = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap().to_vec();
        (status, ct, body)
    }

    #[tokio::test]
    async fn replacements_and_rewrites() {
        let body = br#"{"issues":[{"id":"1","fields":{}},{"id":"2","fields":{}}]}"#.to_vec();
        let stall = Duration::ZERO;
        let ok = StatusCode::OK;
        let (_, ct, b) = text(Hostile::HtmlLogin.response("/x", ok, body.clone(), 1, stall)).await;
        assert!(ct.starts_with("text/html") && b.starts_with(b"<!DOCTYPE"));
        let (_, _, b) = text(Hostile::TruncatedJson.response("/x", ok, body.clone(), 1, stall)).await;
        assert!(serde_json::from_slice::<Value>(&b).is_err());
        let (_, _, b) = text(Hostile::InvalidUtf8.response("/x", ok, body.clone(), 1, stall)).await;
        assert!(std::str::from_utf8(&b).is_err());
        let path = "/rest/api/3/issue/bulkfetch";
        let (_, _, b) = text(Hostile::DeepNesting(500).response(path, ok, body.clone(), 1, stall)).await;
        assert_eq!(b.iter().filter(|c| **c == b'[').count(), 501);
        let sevens = br#"{"issues":[{"id":"10007","fields":{}},{"id":"10008","fields":{}}]}"#.to_vec();
        let (_, _, b) = text(Hostile::IssueIdMissing.response(path, ok, sevens, 1, stall)).await;
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert!(v["issues"][0].get("id").is_none() && v["issues"][1]["id"] == "10008");
        let (_, _, b) = text(Hostile::HugeString(1000).response(path, ok, body, 1, stall)).await;
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["issues"][0]["fields"]["summary"].as_str().unwrap().len(), 1000);
    }

    #[test]
    fn paging_faults_rewrite_the_request() {
        let uri: Uri = "/rest/api/2/search?jql=x&startAt=50&maxResults=50".parse().unwrap();
        let (u, b) = Hostile::IgnoreStartAt.request(&uri, Some(json!({"startAt": 7, "jql": "x"})));
        assert_eq!(u.unwrap().to_string(), "/rest/api/2/search?jql=x&maxResults=50");
        assert_eq!(b.unwrap()["startAt"], 0);
        let uri: Uri = "/rest/api/3/search/jql?jql=x&nextPageToken=again-4".parse().unwrap();
        let (u, _) = Hostile::EndlessPages.request(&uri, None);
        assert_eq!(u.unwrap().to_string(), "/rest/api/3/search/jql?jql=x");
    }
}
