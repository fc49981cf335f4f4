//! What a response body is when it is not the JSON Jira sends: sniffed before decoding (a login
//! page, another content type, nothing at all) and told from the decoder's error after (cut
//! short, not UTF-8, nested too deep, the wrong shape), so the error says what happened and
//! only accidents are retried.

use super::JiraError;
use super::error::BodyProblem;

/// Why a body could not be read whole.
pub(super) enum ReadError {
    TooLarge {
        max: usize,
    },
    /// The connection broke or went silent mid-body.
    Cut(String),
}

impl ReadError {
    pub fn at(self, endpoint: &str) -> JiraError {
        let endpoint = endpoint.to_string();
        match self {
            ReadError::TooLarge { max } => {
                JiraError::Body { endpoint, problem: BodyProblem::TooLarge, detail: format!("over {} MB", max >> 20) }
            }
            ReadError::Cut(message) => JiraError::Body { endpoint, problem: BodyProblem::Truncated, detail: message },
        }
    }
}

/// A successful answer that is plainly not JSON, before any decoding: `None` when it may be.
pub(super) fn sniff(content_type: &str, body: &[u8]) -> Option<(BodyProblem, String)> {
    let text = String::from_utf8_lossy(&body[..body.len().min(2048)]);
    let start = text.trim_start();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some((BodyProblem::Empty, String::new()));
    }
    // JSON is read as JSON whatever the label: some proxies send Jira's JSON as `text/html`.
    if start.starts_with(['{', '[']) {
        return None;
    }
    let ct = content_type.to_ascii_lowercase();
    if ct.contains("html") || start.starts_with('<') {
        return Some((BodyProblem::Html, title(&text).map(|t| format!("page title `{t}`")).unwrap_or_default()));
    }
    let json_type = ct.is_empty() || ct.contains("json");
    if !json_type {
        let shown: String = start.chars().take(60).collect();
        return Some((BodyProblem::NotJson, format!("`{content_type}`: `{shown}`")));
    }
    None
}

/// A record of a page that the page's reader passed over and its own decoder could not read.
pub fn body_error(endpoint: &str, e: &serde_json::Error) -> JiraError {
    let (problem, detail) = classify(e);
    JiraError::Body { endpoint: endpoint.to_string(), problem, detail }
}

/// The problem behind a decoder's error.
pub(super) fn classify(e: &serde_json::Error) -> (BodyProblem, String) {
    let message = e.to_string();
    let problem = if e.is_eof() {
        BodyProblem::Truncated
    } else if message.contains("recursion limit") {
        BodyProblem::TooDeep
    } else if message.contains("unicode") || message.contains("utf-8") || message.contains("UTF-8") {
        BodyProblem::NotUtf8
    } else if e.is_data() {
        BodyProblem::Malformed
    } else {
        // A syntax error in a body that began as JSON: what a cut and re-framed body looks like
        // as often as a broken one, so it is retried.
        BodyProblem::Truncated
    };
    (problem, message)
}

/// An error answer that is an HTML page (Data Center's 401 page for a refused password, a
/// proxy's error page), summed up by its title instead of its markup.
pub(super) fn html_summary(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&body[..body.len().min(2048)]);
    text.trim_start().starts_with('<').then(|| match title(&text) {
        Some(t) => format!("an HTML page titled `{t}`"),
        None => "an HTML page".to_string(),
    })
}

/// An HTML page's `<title>`.
fn title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let from = lower.find("<title>")? + "<title>".len();
    let to = from + lower[from..].find("</title>")?;
    Some(html[from..to].trim().chars().take(80).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_html_error_page_is_summed_up_by_its_title() {
        let page = b"<html><head><title>Unauthorized (401)</title></head><body>Basic Authentication Failure</body>";
        assert_eq!(html_summary(page).as_deref(), Some("an HTML page titled `Unauthorized (401)`"));
        assert_eq!(html_summary(b"{\"errorMessages\": []}"), None);
    }

    #[test]
    fn sniffing_tells_pages_from_json() {
        let page = b"<!DOCTYPE html><html><head><title>Sign In - Okta</title></head></html>";
        assert_eq!(sniff("text/html", page), Some((BodyProblem::Html, "page title `Sign In - Okta`".into())));
        assert_eq!(sniff("application/json", b"  ").map(|s| s.0), Some(BodyProblem::Empty));
        assert_eq!(sniff("text/plain", b"OK").map(|s| s.0), Some(BodyProblem::NotJson));
        assert_eq!(sniff("application/json;charset=UTF-8", b"{\"a\":1}"), None);
        assert_eq!(sniff("", b"[1]"), None);
        assert_eq!(sniff("text/html", b" {\"issues\": []}"), None, "mislabelled JSON is still JSON");
    }

    #[test]
    fn decoder_errors_name_their_problem() {
        let err = |s: &[u8]| serde_json::from_slice::<serde_json::Value>(s).unwrap_err();
        assert_eq!(classify(&err(b"{\"issues\": [1, 2")).0, BodyProblem::Truncated);
        assert_eq!(classify(&err(&[b'"', 0xFF, 0xFE, b'"'])).0, BodyProblem::NotUtf8);
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(classify(&err(deep.as_bytes())).0, BodyProblem::TooDeep);
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Id {
            id: String,
        }
        let e = serde_json::from_slice::<Id>(b"{\"id\": {\"v\": 1}}").unwrap_err();
        assert_eq!(classify(&e).0, BodyProblem::Malformed);
    }
}
