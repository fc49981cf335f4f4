//! The `worklogs` table: every worklog, one row each, from Jira's worklog change feed — the
//! ids updated since the cursor (`…/worklog/updated`), the worklogs themselves 1,000 at a time
//! (`…/worklog/list`), and the ids deleted since the cursor (`…/worklog/deleted`), which mark
//! their rows. The feed covers the whole site: with a `jql`, worklogs are kept only on the
//! issues it matches. Where the feed is missing (HTTP 404), worklogs are read per issue like
//! comments: the issues updated since the cursor, each one's whole list.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::children::{self, ChildRow, Parent, Spec};
use super::{Job, Listing, Object, ObjectError, Outcome, Probed, Rows, RunStamp, col, issues};
use crate::config::{FieldSelection, ObjectConfig, ObjectKind};
use crate::jira::activity::{Feed, IssueList, WORKLOG_LIST_MAX};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};

/// Reading per issue, where the site has no feed.
const SPEC: Spec = Spec { object: "worklogs", field: "worklog", paged: Some(IssueList::Worklogs), row, shared: false };

pub struct Worklogs;

impl Object for Worklogs {
    fn kind(&self) -> ObjectKind {
        ObjectKind::Worklogs
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        let mut cols = vec![
            col("id", ColumnType::Text),
            col("issue_id", ColumnType::Text),
            col("author", ColumnType::user()),
            col("update_author", ColumnType::user()),
            col("comment", ColumnType::RichText),
            col("created", ColumnType::Timestamp),
            col("updated", ColumnType::Timestamp),
            col("started", ColumnType::Timestamp),
            col("time_spent", ColumnType::Text),
            col("time_spent_seconds", ColumnType::Int),
            col("visibility_type", ColumnType::Text),
            col("visibility_value", ColumnType::Text),
        ];
        cols.extend(RunStamp::columns());
        cols
    }

    fn select(&self, catalogue: &[FieldDef], selection: &FieldSelection) -> Result<Vec<Column>, ObjectError> {
        children::select("worklogs", self.columns(catalogue), selection, self.parent_columns())
    }

    fn personal_columns(&self) -> &'static [&'static str] {
        &["comment"]
    }

    /// The worklogs changed since `since_ms` by the feed (its `until` is the next cursor), or
    /// the issues updated since then where the site has no feed.
    fn list<'a>(
        &'a self,
        client: &'a JiraClient,
        config: &'a ObjectConfig,
        since_ms: i64,
    ) -> BoxFuture<'a, Result<Option<Listing>, ObjectError>> {
        Box::pin(async move {
            let updated = match client.worklog_feed(Feed::Updated, since_ms).await {
                Ok(read) => read,
                Err(JiraError::Status { status: 404, .. }) => {
                    tracing::info!("no worklog feed on this site: worklogs are read per updated issue");
                    return issues::list(client, config, since_ms).await.map(Some);
                }
                Err(e) => return Err(e.into()),
            };
            // On a first load there is nothing to mark.
            let deleted =
                if since_ms > 0 { client.worklog_feed(Feed::Deleted, since_ms).await? } else { Default::default() };
            // Both feeds leave out the last minute; the earlier `until` is where both resume.
            let until = [updated.until_ms, deleted.until_ms].into_iter().flatten().min().unwrap_or(since_ms);
            let mut ids = updated.ids;
            ids.sort_unstable();
            ids.dedup();
            Ok(Some(Listing {
                filter: "worklog/updated".into(),
                ids,
                jira_now: DateTime::<Utc>::from_timestamp_millis(until).unwrap_or_default(),
                total: None,
                gone: deleted.ids,
                feed: true,
            }))
        })
    }

    fn extract<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Result<Outcome, ObjectError>> {
        Box::pin(async move {
            match job.listing {
                Some(l) if l.feed => from_feed(job).await,
                _ => children::extract(job, &SPEC).await,
            }
        })
    }

    /// The feed's first page since a week ago (the endpoint answers and the user may read it).
    fn probe<'a>(
        &'a self,
        client: &'a JiraClient,
        config: &'a ObjectConfig,
    ) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(async move {
            let week_ago = Utc::now().timestamp_millis() - 7 * 86_400_000;
            match client.worklog_feed(Feed::Updated, week_ago).await {
                Ok(read) => Ok(Probed {
                    records: Some(format!("{} updated in the last week", read.ids.len())),
                    ..Probed::default()
                }),
                Err(JiraError::Status { status: 404, .. }) => {
                    children::probe(client, config, SPEC.field, SPEC.paged).await
                }
                Err(e) => Err(e),
            }
        })
    }
}

/// The worklogs the feed listed, 1,000 per request; with a `jql`, only those on issues it
/// matches (one ids-only listing of the JQL per run, when anything changed).
async fn from_feed(job: Job<'_>) -> Result<Outcome, ObjectError> {
    let Job { client, config, shape, stamp, tx, listing, .. } = job;
    let Some(listing) = listing else {
        return Err(ObjectError::Listing { endpoint: "worklogs", message: "extracted without a listing".into() });
    };
    let mut rows = Rows::new(shape, &tx);
    let in_scope: Option<HashSet<String>> = match &config.jql {
        Some(_) if !listing.ids.is_empty() => {
            let issues = issues::list(client, config, 0).await?;
            Some(issues.ids.iter().map(u64::to_string).collect())
        }
        _ => None,
    };
    let mut out_of_scope = 0;
    for chunk in listing.ids.chunks(WORKLOG_LIST_MAX) {
        for w in client.worklogs_by_id(chunk).await? {
            let Some(issue_id) = children::id_text(&w["issueId"]) else { continue };
            if in_scope.as_ref().is_some_and(|s| !s.contains(&issue_id)) {
                out_of_scope += 1;
                continue;
            }
            let Some((id, mut row)) = row(&Parent { id: issue_id, key: None }, &w) else { continue };
            shape.mask(&mut row);
            let raw = Value::Object(row);
            rows.push(&id, &raw, |c| stamp.column(c).or_else(|| raw.get(c)).filter(|v| !v.is_null())).await?;
        }
    }
    rows.flush().await?;
    tracing::debug!(out_of_scope, "worklogs on issues outside the JQL left out");
    Ok(rows.into_outcome(Outcome::default()))
}

fn row(issue: &Parent, w: &Value) -> Option<ChildRow> {
    let id = children::id_text(&w["id"])?;
    let Value::Object(mut row) = json!({
        "id": id,
        "issue_id": issue.id,
        "author": w["author"],
        "update_author": w["updateAuthor"],
        "comment": w["comment"],
        "created": w["created"],
        "updated": w["updated"],
        "started": w["started"],
        "time_spent": w["timeSpent"],
        "time_spent_seconds": w["timeSpentSeconds"],
    }) else {
        return None;
    };
    children::visibility(w, &mut row);
    Some((id, row))
}
