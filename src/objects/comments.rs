//! The `comments` table: every comment of every issue the JQL matches, one row per comment. It
//! follows the issues' cursor: each run reads the comments of the issues updated since the
//! cursor less the lookback — the page Jira embeds in the issue, and the rest of a longer
//! thread from `…/issue/{id}/comment`. A comment no longer in its issue's list is marked
//! deleted (see `children`).

use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::children::{self, ChildRow, Parent, Spec};
use super::{Job, Object, ObjectError, Outcome, Probed, RunStamp, col};
use crate::config::{FieldSelection, ObjectConfig, ObjectKind};
use crate::jira::activity::IssueList;
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};

const SPEC: Spec = Spec { object: "comments", field: "comment", paged: Some(IssueList::Comments), row, shared: false };

pub struct Comments;

impl Object for Comments {
    fn kind(&self) -> ObjectKind {
        ObjectKind::Comments
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        let mut cols = vec![
            col("id", ColumnType::Text),
            col("issue_id", ColumnType::Text),
            col("author", ColumnType::user()),
            col("update_author", ColumnType::user()),
            col("body", ColumnType::RichText),
            col("created", ColumnType::Timestamp),
            col("updated", ColumnType::Timestamp),
            col("visibility_type", ColumnType::Text),
            col("visibility_value", ColumnType::Text),
            col("jsd_public", ColumnType::Bool),
        ];
        cols.extend(RunStamp::columns());
        cols
    }

    fn select(&self, catalogue: &[FieldDef], selection: &FieldSelection) -> Result<Vec<Column>, ObjectError> {
        children::select("comments", self.columns(catalogue), selection, self.parent_columns())
    }

    /// What people write is theirs: bodies name people and quote them.
    fn personal_columns(&self) -> &'static [&'static str] {
        &["body"]
    }

    fn extract<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Result<Outcome, ObjectError>> {
        Box::pin(children::extract(job, &SPEC))
    }

    fn probe<'a>(
        &'a self,
        client: &'a JiraClient,
        config: &'a ObjectConfig,
    ) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(children::probe(client, config, SPEC.field, SPEC.paged))
    }
}

fn row(issue: &Parent, c: &Value) -> Option<ChildRow> {
    let id = children::id_text(&c["id"])?;
    let Value::Object(mut row) = json!({
        "id": id,
        "issue_id": issue.id,
        "author": c["author"],
        "update_author": c["updateAuthor"],
        "body": c["body"],
        "created": c["created"],
        "updated": c["updated"],
        "jsd_public": c["jsdPublic"],
    }) else {
        return None;
    };
    children::visibility(c, &mut row);
    Some((id, row))
}
