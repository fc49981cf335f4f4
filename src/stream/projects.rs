//! The `projects` table: every project the API user can browse.

use super::{Outcome, Rows, RunStamp, Sender, Shape, StreamError, col};
use crate::jira::JiraClient;
use crate::transform::columns::{Column, ColumnType};

pub fn columns() -> Vec<Column> {
    let mut cols = vec![
        col("id", ColumnType::Text),
        col("key", ColumnType::Text),
        col("name", ColumnType::Text),
        col("projectTypeKey", ColumnType::Text),
        col("style", ColumnType::Text),
        col("simplified", ColumnType::Bool),
        col("isPrivate", ColumnType::Bool),
        col("archived", ColumnType::Bool),
        col("description", ColumnType::Text),
        col("lead", ColumnType::Json),
        col("projectCategory", ColumnType::Json),
    ];
    cols.extend(RunStamp::columns());
    cols
}

pub async fn extract(
    client: &JiraClient,
    shape: &Shape,
    stamp: &RunStamp,
    tx: &Sender,
) -> Result<Outcome, StreamError> {
    let mut rows = Rows::new(shape, tx);
    let mut pager = client.projects();
    while let Some(page) = pager.next().await? {
        for mut p in page {
            if let Some(o) = p.as_object_mut() {
                shape.mask(o);
            }
            let id = p["id"].as_str().unwrap_or_default().to_string();
            rows.push(&id, &p, |c| stamp.column(c).or_else(|| p.get(c))).await?;
        }
    }
    rows.flush().await?;
    Ok(rows.into_outcome(Outcome::default()))
}
