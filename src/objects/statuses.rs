//! The `statuses` table: every status with its category, to join `issues.status` and the
//! history tables' status ids to a name and to To Do / In Progress / Done.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::dimension::{Dimension, row_of};
use super::per_project::text;
use super::{Job, Object, ObjectError, Outcome, Probed, RunStamp, col};
use crate::config::{ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};

const LIST: Dimension = Dimension { kind: ObjectKind::Statuses, list: JiraClient::all_statuses, row };

pub struct Statuses;

impl Object for Statuses {
    fn kind(&self) -> ObjectKind {
        ObjectKind::Statuses
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        let mut cols = vec![
            col("id", ColumnType::Text),
            col("name", ColumnType::Text),
            col("description", ColumnType::Text),
            col("category_id", ColumnType::Text),
            col("category_key", ColumnType::Text),
            col("category_name", ColumnType::Text),
            col("category_color", ColumnType::Text),
            // Cloud only: a team-managed project's own status says which project it belongs to.
            col("scope_type", ColumnType::Text),
            col("scope_project_id", ColumnType::Text),
        ];
        cols.extend(RunStamp::columns());
        cols
    }

    fn extract<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Result<Outcome, ObjectError>> {
        Box::pin(LIST.extract(job))
    }

    fn probe<'a>(&'a self, client: &'a JiraClient, _: &'a ObjectConfig) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(LIST.probe(client))
    }
}

fn row(s: &Value) -> Map<String, Value> {
    let c = &s["statusCategory"];
    row_of(json!({
        "id": text(&s["id"]), "name": s["name"], "description": s["description"],
        // Cloud and Data Center send the category id as a number; issues hold it as text.
        "category_id": text(&c["id"]), "category_key": c["key"], "category_name": c["name"],
        "category_color": c["colorName"],
        "scope_type": s["scope"]["type"], "scope_project_id": text(&s["scope"]["project"]["id"]),
    }))
}
