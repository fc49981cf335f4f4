//! The `projects` table: every project the API user can browse.

use futures::future::BoxFuture;

use super::{Concern, Job, Object, ObjectError, Outcome, Probed, Rows, RunStamp, col};
use crate::config::{ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::report::Diagnosis;
use crate::transform::columns::{Column, ColumnType};

pub struct Projects;

impl Object for Projects {
    fn kind(&self) -> ObjectKind {
        ObjectKind::Projects
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
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

    fn extract<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Result<Outcome, ObjectError>> {
        Box::pin(extract(job))
    }

    fn probe<'a>(&'a self, client: &'a JiraClient, _: &'a ObjectConfig) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(async move {
            let count = client.project_count().await?;
            let mut probed = Probed { records: Some(count.to_string()), ..Probed::default() };
            if count == 0 {
                probed.findings.push((
                    Concern::Warn,
                    Diagnosis::new(
                        "no-projects-visible",
                        "the API user sees no project",
                        "give the API user Browse projects on the projects you extract",
                    ),
                ));
            }
            Ok(probed)
        })
    }
}

async fn extract(job: Job<'_>) -> Result<Outcome, ObjectError> {
    let Job { client, shape, stamp, tx, .. } = job;
    let mut rows = Rows::new(shape, &tx);
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
