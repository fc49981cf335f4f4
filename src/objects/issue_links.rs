//! The `issue_links` table: one row per link between two issues, from the issues' own
//! `issuelinks` (Jira embeds every link of an issue, and lists a link on both of its issues).
//! Each row reads "`source_issue_id` *outward* `target_issue_id`" (`ENG-1` *blocks* `ENG-2`),
//! whichever of the two issues it was read from. It follows the issues' cursor; a link no
//! longer on an issue that was read again is marked deleted.

use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::children::{self, ChildRow, Parent, Spec};
use super::{Derivation, Job, Object, ObjectError, Outcome, Probed, RunStamp, col};
use crate::config::{FieldSelection, ObjectConfig, ObjectKind};
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::transform::columns::{Column, ColumnType};

const SPEC: Spec = Spec { object: "issue_links", field: "issuelinks", paged: None, row, shared: true };

pub struct IssueLinks;

impl Object for IssueLinks {
    fn kind(&self) -> ObjectKind {
        ObjectKind::IssueLinks
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        let mut cols = vec![
            col("id", ColumnType::Text),
            col("type_id", ColumnType::Text),
            col("type_name", ColumnType::Text),
            col("inward", ColumnType::Text),
            col("outward", ColumnType::Text),
            col("source_issue_id", ColumnType::Text),
            col("source_issue_key", ColumnType::Text),
            col("target_issue_id", ColumnType::Text),
            col("target_issue_key", ColumnType::Text),
        ];
        cols.extend(RunStamp::columns());
        cols
    }

    fn select(&self, catalogue: &[FieldDef], selection: &FieldSelection) -> Result<Vec<Column>, ObjectError> {
        children::select("issue_links", self.columns(catalogue), selection, self.parent_columns())
    }

    /// A link belongs to both of its issues: reading either one whole says whether it exists.
    fn parent_columns(&self) -> &'static [&'static str] {
        &["source_issue_id", "target_issue_id"]
    }

    /// Every link is already in the `issuelinks` of the issues read this run, when the
    /// pipeline reads them too: no request then.
    fn derives_from(&self) -> Option<Derivation> {
        Some(Derivation { source: ObjectKind::Issues, column: SPEC.field })
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

/// The link as read from `issue`: the other issue is its `outwardIssue` (this one is the
/// source) or its `inwardIssue` (this one is the target).
fn row(issue: &Parent, link: &Value) -> Option<ChildRow> {
    let id = children::id_text(&link["id"])?;
    let this = (Some(issue.id.clone()), issue.key.clone());
    let (source, target) = match (&link["outwardIssue"], &link["inwardIssue"]) {
        (Value::Object(other), _) => (this, other_ends(other)),
        (_, Value::Object(other)) => (other_ends(other), this),
        _ => return None,
    };
    let kind = &link["type"];
    let Value::Object(row) = json!({
        "id": id,
        "type_id": kind["id"],
        "type_name": kind["name"],
        "inward": kind["inward"],
        "outward": kind["outward"],
        "source_issue_id": source.0,
        "source_issue_key": source.1,
        "target_issue_id": target.0,
        "target_issue_key": target.1,
    }) else {
        return None;
    };
    Some((id, row))
}

/// The other issue's id and key, as the link names it.
fn other_ends(other: &serde_json::Map<String, Value>) -> (Option<String>, Option<String>) {
    (other.get("id").and_then(children::id_text), other.get("key").and_then(Value::as_str).map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_reads_the_same_from_either_issue() {
        let kind = json!({"id": "10000", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"});
        let on_a = json!({"id": "500", "type": kind, "outwardIssue": {"id": "10002", "key": "ENG-2"}});
        let on_b = json!({"id": "500", "type": kind, "inwardIssue": {"id": "10001", "key": "ENG-1"}});
        let parent = |id: &str, key: &str| Parent { id: id.into(), key: Some(key.into()) };
        let (id, from_a) = row(&parent("10001", "ENG-1"), &on_a).unwrap();
        let (_, from_b) = row(&parent("10002", "ENG-2"), &on_b).unwrap();
        assert_eq!(id, "500");
        assert_eq!(from_a["source_issue_id"], "10001");
        assert_eq!(from_a["target_issue_id"], "10002");
        assert_eq!(from_a["target_issue_key"], "ENG-2");
        assert_eq!(from_b["source_issue_id"], "10001");
        assert_eq!(from_b["source_issue_key"], "ENG-1");
        assert_eq!(from_b["target_issue_id"], "10002");
        assert_eq!(from_a, from_b, "the same row from either end");
        assert_eq!(from_a["outward"], "blocks");
        assert!(row(&parent("1", "A-1"), &json!({"id": "7", "type": kind})).is_none(), "a link to nothing is no row");
    }
}
