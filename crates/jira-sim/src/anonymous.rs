//! What the site answers a request it could not log in. Jira does not refuse such a request
//! outright: it serves it as the anonymous user (Atlassian KB "Jira Cloud: JQL search REST API
//! returns 200 OK without API token"), so an operation the v3 spec marks "can be accessed
//! anonymously" answers `200` with what an anonymous user may browse — nothing, on a site that
//! does not grant anonymous access — and the others answer `401`. The headers say what
//! happened: see [`headers`] and the README's "Failed logins".

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::Flavor;
use crate::server::error;

/// Why a request is anonymous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anonymous {
    /// Credentials were sent and refused: wrong, revoked or expired, or a scoped API token at
    /// the site URL. Seraph marks the response `AUTHENTICATED_FAILED`.
    LoginFailed,
    /// No credentials arrived (none sent, or a proxy dropped the `Authorization` header).
    NoCredentials,
}

/// The v3 spec's `401` answer for every operation: "Returned if the authentication credentials
/// are incorrect or missing"; the body is the one Jira sends (see the README).
pub(crate) fn unauthenticated() -> Response {
    let mut resp = error(StatusCode::UNAUTHORIZED, "Client must be authenticated to access this resource.");
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"protected-area\""));
    resp
}

/// The headers Jira adds to an anonymous answer: `X-AUSERNAME: anonymous` always, and
/// `X-Seraph-LoginReason: AUTHENTICATED_FAILED` when credentials were sent and refused.
pub(crate) fn headers(h: &mut HeaderMap, why: Anonymous) {
    h.insert("X-AUSERNAME", HeaderValue::from_static("anonymous"));
    if why == Anonymous::LoginFailed {
        h.insert("X-Seraph-LoginReason", HeaderValue::from_static("AUTHENTICATED_FAILED"));
    }
}

/// Answers `req` as the anonymous user of a site without anonymous access.
pub(crate) async fn answer(flavor: Flavor, why: Anonymous, req: axum::extract::Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let mut resp = match what(flavor, req.method(), &path) {
        Seen::Served => next.run(req).await,
        Seen::Body(body) => Json(body).into_response(),
        Seen::IssueNotFound => {
            error(StatusCode::NOT_FOUND, "Issue does not exist or you do not have permission to see it.")
        }
        Seen::ProjectNotFound(key) => {
            error(StatusCode::NOT_FOUND, &format!("No project could be found with key '{key}'."))
        }
        Seen::Unauthenticated => unauthenticated(),
    };
    headers(resp.headers_mut(), why);
    resp
}

/// What the anonymous user gets from one endpoint.
#[derive(Debug, PartialEq)]
enum Seen {
    /// The endpoint's ordinary answer: site-wide configuration anyone may read.
    Served,
    /// An empty result in the endpoint's shape.
    Body(serde_json::Value),
    IssueNotFound,
    ProjectNotFound(String),
    Unauthenticated,
}

/// By path: the operations the v3 spec says "can be accessed anonymously" (search, bulk fetch,
/// an issue and its comments and worklogs, project search, versions, components, fields,
/// statuses, server info) show an anonymous user nothing it may not browse; the rest (`myself`,
/// the worklog feed, users, groups, changelog bulk fetch, the agile API: "Returned if the user
/// is not logged in") answer `401`.
fn what(flavor: Flavor, method: &Method, path: &str) -> Seen {
    let rest = path.strip_prefix("/rest/api/3/").or_else(|| path.strip_prefix("/rest/api/2/"));
    let Some(rest) = rest else { return Seen::Unauthenticated };
    let parts: Vec<&str> = rest.split('/').collect();
    match (flavor, parts.as_slice()) {
        (_, ["serverInfo" | "field" | "status"]) => Seen::Served,
        (Flavor::Cloud, ["search", "jql"]) => Seen::Body(json!({"issues": [], "isLast": true})),
        (Flavor::Cloud, ["search", "approximate-count"]) => Seen::Body(json!({"count": 0})),
        (Flavor::DataCenter, ["search"]) => {
            Seen::Body(json!({"expand": "schema,names", "startAt": 0, "maxResults": 50, "total": 0, "issues": []}))
        }
        (Flavor::Cloud, ["issue", "bulkfetch"]) if method == Method::POST => {
            Seen::Body(json!({"issues": [], "issueErrors": []}))
        }
        (_, ["issue", _] | ["issue", _, "comment" | "worklog"]) => Seen::IssueNotFound,
        (Flavor::Cloud, ["project", "search"]) => Seen::Body(
            json!({"maxResults": 50, "startAt": 0, "total": 0, "isLast": true, "values": []}),
        ),
        (Flavor::DataCenter, ["project"]) => Seen::Body(json!([])),
        (_, ["project", key, "version" | "component" | "components"]) => Seen::ProjectNotFound(key.to_string()),
        _ => Seen::Unauthenticated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_sees_empty_results_where_the_spec_allows_anonymous_access_and_401_elsewhere() {
        let get = Method::GET;
        let cloud = |p: &str| what(Flavor::Cloud, &get, p);
        assert_eq!(cloud("/rest/api/3/myself"), Seen::Unauthenticated);
        assert_eq!(cloud("/rest/api/2/myself"), Seen::Unauthenticated);
        assert_eq!(cloud("/rest/api/3/search/jql"), Seen::Body(json!({"issues": [], "isLast": true})));
        assert_eq!(cloud("/rest/api/3/issue/10001"), Seen::IssueNotFound);
        assert_eq!(cloud("/rest/api/3/issue/10001/comment"), Seen::IssueNotFound);
        assert_eq!(cloud("/rest/api/3/users/search"), Seen::Unauthenticated);
        assert_eq!(cloud("/rest/api/3/worklog/updated"), Seen::Unauthenticated);
        assert_eq!(cloud("/rest/agile/1.0/board"), Seen::Unauthenticated);
        assert_eq!(cloud("/rest/api/3/field"), Seen::Served);
        assert_eq!(cloud("/rest/api/3/project/ENG/version"), Seen::ProjectNotFound("ENG".into()));
        let dc = |p: &str| what(Flavor::DataCenter, &get, p);
        assert!(matches!(dc("/rest/api/2/search"), Seen::Body(b) if b["total"] == 0));
        assert_eq!(dc("/rest/api/2/project"), Seen::Body(json!([])));
        assert_eq!(dc("/rest/api/2/myself"), Seen::Unauthenticated);
    }
}
