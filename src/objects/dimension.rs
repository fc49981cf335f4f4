//! What the dimension objects share (`statuses`, `priorities`, `resolutions`, `issue_types`,
//! `project_categories`, `labels`): one site-wide list read whole every run, each record a row.
//! They are small (tens to thousands of records), so nothing is read per project.

use serde_json::{Map, Value};

use super::{Job, ObjectError, Outcome, Probed, Rows};
use crate::config::ObjectKind;
use crate::jira::planning::Paged;
use crate::jira::{JiraClient, JiraError};

/// How an object reads its list, and the row of one of its records.
pub(crate) struct Dimension {
    pub kind: ObjectKind,
    pub list: for<'c> fn(&'c JiraClient) -> Paged<'c>,
    /// The record with the table's column names; its `id` is the row's key.
    pub row: fn(record: &Value) -> Map<String, Value>,
}

impl Dimension {
    pub(crate) async fn extract(&self, job: Job<'_>) -> Result<Outcome, ObjectError> {
        let Job { client, shape, stamp, tx, .. } = job;
        self.available(client)?;
        let mut rows = Rows::new(shape, &tx);
        let mut pager = (self.list)(client);
        while let Some(page) = pager.next().await? {
            for record in page {
                let mut row = (self.row)(&record);
                shape.mask(&mut row);
                let id = row.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                let row = Value::Object(row);
                rows.push(&id, &record, |c| stamp.column(c).or_else(|| row.get(c))).await?;
            }
        }
        rows.flush().await?;
        Ok(rows.into_outcome(Outcome::default()))
    }

    /// `check`'s probe: how many records the first page holds, `+` when another follows.
    pub(crate) async fn probe(&self, client: &JiraClient) -> Result<Probed, JiraError> {
        self.available(client)?;
        let mut pager = (self.list)(client);
        let n = pager.next().await?.map_or(0, |p| p.len());
        let more = pager.next().await?.is_some();
        Ok(Probed { records: Some(format!("{n}{}", if more { "+" } else { "" })), ..Probed::default() })
    }

    fn available(&self, client: &JiraClient) -> Result<(), JiraError> {
        if self.kind.cloud_only() { client.cloud_only(self.kind.name()) } else { Ok(()) }
    }
}

/// `json` (an object literal) as a row.
pub(crate) fn row_of(json: Value) -> Map<String, Value> {
    match json {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}
