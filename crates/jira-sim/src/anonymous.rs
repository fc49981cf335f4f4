//! What the site answers a request it could not log in. Jira does not refuse such a request
//! outright: it serves it as the anonymous user (Atlassian KB "Jira Cloud: JQL search REST API
//! returns 200 OK without API token"), so an operation the v3 spec marks "can be accessed
//! anonymously" answers `200` with what an anonymous user may browse — nothing, on a site that
//! does not grant anonymous access — and the others answer `401`. The headers say what
//! happened (see [`headers`]); the README's "Failed logins" lists the sources.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::accounts::Flavor;
use crate::app::error;

/// Why a request is anonymous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anonymous {
    /// Credentials were sent and refused: wrong, revoked or expired, or a scoped API token at
    /// the site URL.
    LoginFailed,
    /// No credentials arrived (none sent, or a proxy dropped the `Authorization` header).
    NoCredentials,
}

/// The `401` of an operation that needs a logged-in caller (v3 spec: "Returned if the
/// authentication credentials are incorrect or missing"). Cloud's body is
/// `{"message", "status-code"}` (recorded in jira-node/node-jira-client #255), Data Center's
/// Jira's envelope (laravel-jira-rest-client #34).
pub(crate) fn unauthenticated(flavor: Flavor) -> Response {
    let mut resp = match flavor {
        Flavor::Cloud => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Client must be authenticated to access this resource.", "status-code": 401})),
        )
            .into_response(),
        Flavor::DataCenter => error(
            StatusCode::UNAUTHORIZED,
            "You are not authenticated. Authentication required to perform this operation.",
        ),
    };
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"protected-area\""));
    resp
}

/// Data Center's answer to a wrong Basic password: its HTML 401 page (OBSS "TiS v4.36 -
/// Authorization", node-jira-client #314: "Basic Authentication Failure - Reason :
/// AUTHENTICATED_FAILED"), on every endpoint.
pub(crate) fn basic_failure() -> Response {
    let page = "<html><head><title>Unauthorized (401)</title></head><body><h1>Unauthorized (401)</h1>\
                <p>Encountered a &quot;401 - Unauthorized&quot; error while loading this page.</p>\
                <p>Basic Authentication Failure - Reason : AUTHENTICATED_FAILED</p></body></html>";
    let mut resp =
        (StatusCode::UNAUTHORIZED, [(header::CONTENT_TYPE, "text/html;charset=UTF-8")], page).into_response();
    resp.headers_mut().insert("X-Seraph-LoginReason", HeaderValue::from_static("AUTHENTICATED_FAILED"));
    resp.headers_mut().insert("X-AUSERNAME", HeaderValue::from_static("anonymous"));
    resp
}

/// The headers Jira adds to an anonymous answer. Cloud marks every request whose credentials it
/// refused `X-Seraph-LoginReason: AUTHENTICATED_FAILED`, on `200`s too (jira.js #418,
/// jira-agile-metrics #61, ServiceNow KB2942093). Data Center names the caller in
/// `X-AUSERNAME`, `anonymous` when there is none (bobcarroll/jira-client #60); no source shows
/// Seraph's header on a refused PAT, so there it is left out. Cloud sent `X-AUSERNAME` too
/// (cristibaluta/Jit #10, 2017); that it says `anonymous` for no caller is inferred.
pub(crate) fn headers(h: &mut HeaderMap, flavor: Flavor, why: Anonymous) {
    h.insert("X-AUSERNAME", HeaderValue::from_static("anonymous"));
    if why == Anonymous::LoginFailed && flavor == Flavor::Cloud {
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
        Seen::Unauthenticated => unauthenticated(flavor),
    };
    headers(resp.headers_mut(), flavor, why);
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
        (Flavor::Cloud, ["project", "search"]) => {
            Seen::Body(json!({"maxResults": 50, "startAt": 0, "total": 0, "isLast": true, "values": []}))
        }
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
