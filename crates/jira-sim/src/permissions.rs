//! `GET /rest/api/{3,2}/mypermissions`: whether the API user holds a permission, here in one
//! project's context — how an extractor tells "the issue was deleted" from "I may no longer
//! browse its project", which search and the issue endpoints answer alike (404, or absent).
//!
//! Shapes and rules are the v3 OpenAPI spec's (`jira-cloud-platform-v3.json`,
//! `getMyPermissions`, schemas `Permissions` and `UserPermission`): `permissions` is required
//! (400 without it); "404 Returned if the project or issue is not found or the user does not
//! have permission to view the project". Data Center serves the same resource under
//! `/rest/api/2/mypermissions` with the same parameters. A Jira administrator can view every
//! project (Browse Projects or not), so for one the answer is 200 with `havePermission: false`
//! (`Behaviour::api_user_is_admin`); anyone else gets the 404.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, json};

use crate::app::{AppState, error};
use crate::data::Dataset;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PermissionQuery {
    project_id: Option<String>,
    project_key: Option<String>,
    permissions: Option<String>,
}

/// The project permissions the simulator knows, with Jira's names and descriptions.
const KNOWN: [(&str, &str, &str); 1] =
    [("BROWSE_PROJECTS", "Browse Projects", "Ability to browse projects and the issues within them.")];

pub(crate) async fn my_permissions(State(app): State<Arc<AppState>>, Query(q): Query<PermissionQuery>) -> Response {
    let Some(wanted) = q.permissions.filter(|p| !p.trim().is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "The permissions query parameter is required.");
    };
    let data = &app.site.data;
    let st = app.site.lock();
    let project = match (&q.project_id, &q.project_key) {
        (Some(id), _) => {
            let found =
                id.parse::<u64>().ok().and_then(|id| (0..data.config.projects).find(|p| Dataset::project_id(*p) == id));
            match found {
                Some(p) => Some(p),
                None => return error(StatusCode::NOT_FOUND, &format!("No project could be found with id '{id}'.")),
            }
        }
        (None, Some(key)) => match (0..data.config.projects).find(|p| data.project_key(*p).eq_ignore_ascii_case(key)) {
            Some(p) => Some(p),
            None => return error(StatusCode::NOT_FOUND, &format!("No project could be found with key '{key}'.")),
        },
        (None, None) => None,
    };
    let browse = project.is_none_or(|p| st.project_visible(p));
    if let Some(p) = project
        && !browse
        && !st.behaviour.api_user_is_admin
    {
        return error(
            StatusCode::NOT_FOUND,
            &format!("No project could be found with id '{}'.", Dataset::project_id(p)),
        );
    }
    let mut out = Map::new();
    for key in wanted.split(',').map(str::trim) {
        let Some((k, name, description)) = KNOWN.iter().find(|(k, ..)| *k == key) else {
            return error(StatusCode::BAD_REQUEST, &format!("Unrecognized permission keys: [{key}]"));
        };
        out.insert(
            (*k).into(),
            json!({
                "id": "10", "key": k, "name": name, "type": "PROJECT",
                "description": description, "havePermission": browse,
            }),
        );
    }
    Json(json!({ "permissions": out })).into_response()
}
