//! Issue search: Cloud's enhanced `/rest/api/3/search/jql` (opaque `nextPageToken`), Data
//! Center's `/rest/api/2/search` (`startAt`, `total`), Cloud's `approximate-count`, and the
//! removed Cloud `/rest/api/3/search` (410).
//!
//! Page sizes are Jira's, not the caller's (see `cloud` and `start_at`). The two paging models
//! share the request forms, the JQL resolution, the ordered walk over the site's issues and
//! the issue rendering, so each of those is a module of its own and the paging modules hold
//! only what differs between Cloud and Data Center.

mod cloud;
mod handlers;
mod matcher;
mod query;
mod render;
mod request;
mod start_at;

pub(crate) use handlers::{
    approximate_count, cloud_get, cloud_post, cloud_v2_get, cloud_v2_post, dc_get, dc_post, legacy_get, legacy_post,
    removed,
};
pub(crate) use render::{Render, render, select};
pub(crate) use request::Expand;

use crate::app::AppState;

const DEFAULT_PAGE: usize = 50;

pub(crate) async fn search_pause(app: &AppState) {
    let lag = app.site.lock().behaviour.search_latency;
    if !lag.is_zero() {
        tokio::time::sleep(lag).await;
    }
}
