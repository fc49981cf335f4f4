//! What the objects that live in an issue's lists share (`comments`, `issue_links`, and
//! `worklogs` where Jira has no worklog feed): every issue the listing found is read with the
//! one field that embeds its list (a bulk fetch per 100 issues), and a list Jira embedded only
//! in part is read whole from its own endpoint. An issue whose whole list was read and written
//! is *swept*: its stored rows that this run did not write again are no longer in Jira.

use std::collections::HashSet;
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::{Job, ObjectError, Outcome, Probed, Queue, Rows, RunStamp, Shape, SharedBatch, issues};
use crate::config::{FieldSelection, ObjectConfig};
use crate::jira::activity::{IssueList, page_is_complete};
use crate::jira::issues::BULK_FETCH_MAX;
use crate::jira::lean::{self, Lean};
use crate::jira::{JiraClient, JiraError};
use crate::report::Warning;
use crate::transform::columns::Column;

/// One row made from one record of an issue's list: its id and its columns.
pub(crate) type ChildRow = (String, Map<String, Value>);

/// The issue a list belongs to.
pub(crate) struct Parent {
    pub id: String,
    pub key: Option<String>,
}

/// How an object reads its issues' lists.
pub(crate) struct Spec {
    pub object: &'static str,
    /// The issue field that embeds the list (`comment`, `worklog`, `issuelinks`).
    pub field: &'static str,
    /// Lists Jira pages (`PageOfComments`, `PageOfWorklogs`), read past the embedded page from
    /// their own endpoint; `None`: the field is a plain array and always whole.
    pub paged: Option<IssueList>,
    /// The row of one record of an issue's list; `None` when the record has no id.
    pub row: fn(issue: &Parent, record: &Value) -> Option<ChildRow>,
    /// Records are listed under more than one issue (a link, on both of its issues): each is
    /// written once per run, since a merge takes one source row per id.
    pub shared: bool,
}

/// Sends the rows of every listed issue's list, and says which issues were swept.
pub(crate) async fn extract(job: Job<'_>, spec: &Spec) -> Result<Outcome, ObjectError> {
    let Job { client, shape, stamp, concurrency, tx, listing, derived, .. } = job;
    let Some(listing) = listing else {
        return Err(ObjectError::Listing { endpoint: spec.object, message: "extracted without a listing".into() });
    };
    let batches = Queue::new(listing.ids.chunks(BULK_FETCH_MAX));
    // Records read back from this run's table come in one piece, to one worker.
    let from_table = derived.is_some();
    let derived = Mutex::new(derived);
    let concurrency = if from_table { 1 } else { concurrency };
    let fields = [spec.field.to_string()];
    let written = Mutex::new(HashSet::<String>::new());
    let first_time = |id: &str| !spec.shared || written.lock().expect("never poisoned").insert(id.to_string());
    let tx = &tx;
    let batch = SharedBatch::new(shape);
    let writer = ListWriter { spec, shape, stamp, first_time: &first_time };
    let writer = &writer;
    let workers = (0..concurrency.max(1)).map(|_| async {
        let mut rows = Rows::sharing(shape, tx, &batch);
        let mut tally = Tally::default();
        let mut given = derived.lock().expect("never poisoned").take();
        loop {
            let issues = match (given.take(), from_table) {
                (Some(records), _) => records.to_vec(),
                (None, true) => break,
                (None, false) => match batches.next() {
                    Some(ids) => lean::values(client.fetch_by_ids::<Vec<Lean>>(ids, &fields, 0).await?.issues),
                    None => break,
                },
            };
            // Lists Jira embedded in part are read whole after the page is dropped: a page of
            // 100 issues' threads was held through one request per long thread (bench/RESULTS.md).
            let mut partial = Vec::new();
            for mut issue in issues {
                let Some(issue_id) = id_text(&issue["id"]) else { continue };
                let parent = Parent { id: issue_id, key: issue["key"].as_str().map(str::to_string) };
                // Taken, not copied.
                let embedded = issue.get_mut("fields").and_then(|f| f.get_mut(spec.field)).map(Value::take);
                let embedded = embedded.unwrap_or_default();
                let records = match spec.paged {
                    Some(list) if page_is_complete(&embedded, list) => take_array(embedded, list.key()),
                    Some(list) => {
                        partial.push((parent, list));
                        continue;
                    }
                    None => match embedded {
                        Value::Array(all) => all,
                        // The field is off on this site (or hidden): nothing to read or sweep.
                        _ => continue,
                    },
                };
                writer.write(parent, &records, &mut rows, &mut tally).await?;
            }
            for (parent, list) in partial {
                let records = match client.issue_list(&parent.id, list).await {
                    Ok(Some(all)) => all,
                    // Deleted or hidden since it was listed: its rows stay as they are.
                    Ok(None) => continue,
                    Err(JiraError::Forbidden { .. }) => {
                        tally.forbidden.push(parent.id);
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                writer.write(parent, &records, &mut rows, &mut tally).await?;
            }
        }
        rows.flush().await?;
        let Tally { swept, forbidden, malformed } = tally;
        let mut warnings = Vec::new();
        if !forbidden.is_empty() {
            warnings.push(Warning {
                message: format!(
                    "{} issue(s) refused their {} list (HTTP 403): {}",
                    forbidden.len(),
                    spec.field,
                    forbidden.join(", ")
                ),
                fix: "the API user may see these issues but not their comments or worklogs (a security level or a project role); their rows are kept as they were".into(),
            });
        }
        if !malformed.is_empty() {
            warnings.push(Warning {
                message: format!(
                    "{} issue(s) have {} records without an id, which were skipped: {}",
                    malformed.len(),
                    spec.field,
                    malformed.join(", ")
                ),
                fix: "report it to your Jira admin (an app or proxy altering responses); the issues' other rows are kept and none of them is marked deleted".into(),
            });
        }
        let outcome = Outcome { swept, skipped: forbidden.len(), warnings, ..Outcome::default() };
        Ok::<_, ObjectError>(rows.into_outcome(outcome))
    });
    Ok(Outcome::sum(futures::future::try_join_all(workers).await?))
}

/// What a worker learnt of its issues' lists.
#[derive(Default)]
struct Tally {
    /// Issues whose whole list was written: their other stored rows are gone from Jira.
    swept: Vec<String>,
    forbidden: Vec<String>,
    /// Issues with records that have no id.
    malformed: Vec<String>,
}

/// Writes one issue's whole list.
struct ListWriter<'a> {
    spec: &'a Spec,
    shape: &'a Shape,
    stamp: &'a RunStamp,
    /// Whether a record is written for the first time this run (see `Spec::shared`).
    first_time: &'a (dyn Fn(&str) -> bool + Sync),
}

impl ListWriter<'_> {
    async fn write(
        &self,
        parent: Parent,
        records: &[Value],
        rows: &mut Rows<'_>,
        tally: &mut Tally,
    ) -> Result<(), ObjectError> {
        let rejected = rows.rejected;
        let mut whole = true;
        for record in records {
            let Some((id, mut row)) = (self.spec.row)(&parent, record) else {
                whole = false;
                continue;
            };
            if !(self.first_time)(&id) {
                continue;
            }
            self.shape.mask(&mut row);
            let raw = Value::Object(row);
            rows.push(&id, &raw, |c| self.stamp.column(c).or_else(|| raw.get(c)).filter(|v| !v.is_null())).await?;
        }
        // A record that was not written must not pass for a deleted one.
        if whole && rows.rejected == rejected {
            tally.swept.push(parent.id);
        } else if !whole {
            tally.malformed.push(parent.id);
        }
        Ok(())
    }
}

/// `page[key]` moved out of the page, when it is an array.
fn take_array(page: Value, key: &str) -> Vec<Value> {
    match page {
        Value::Object(mut page) => match page.remove(key) {
            Some(Value::Array(all)) => all,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// An id as text, whether Jira sends it as a string or a number.
pub(crate) fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `record`'s `visibility` as two columns: its type (`group`, `role`) and the group or role.
pub(crate) fn visibility(record: &Value, row: &mut Map<String, Value>) {
    let v = &record["visibility"];
    row.insert("visibility_type".into(), v["type"].clone());
    row.insert("visibility_value".into(), v["value"].clone());
}

/// `fields` applied as on every fixed-shape object, except that the columns naming the issue
/// stay: sweeping an issue's rows needs them.
pub(crate) fn select(
    object: &'static str,
    columns: Vec<Column>,
    selection: &FieldSelection,
    parents: &[&str],
) -> Result<Vec<Column>, ObjectError> {
    let kept: Vec<String> = super::select(object, columns.clone(), selection)?.into_iter().map(|c| c.name).collect();
    Ok(columns.into_iter().filter(|c| kept.contains(&c.name) || parents.contains(&c.name.as_str())).collect())
}

/// `check`'s probe: the first issue the JQL matches, and its whole list (`list`), or its
/// `field` for a list Jira never pages.
pub(crate) async fn probe(
    client: &JiraClient,
    config: &ObjectConfig,
    field: &'static str,
    list: Option<IssueList>,
) -> Result<Probed, JiraError> {
    let Some(id) = issues::first_matching(client, config).await? else {
        return Ok(Probed { records: Some("0".into()), ..Probed::default() });
    };
    let n = match list {
        Some(list) => client.issue_list(&id.to_string(), list).await?.map_or(0, |l| l.len()),
        None => {
            let page = client.fetch_by_ids::<Vec<Value>>(&[id], &[field.to_string()], 0).await?;
            page.issues.first().and_then(|i| i["fields"][field].as_array().map(Vec::len)).unwrap_or(0)
        }
    };
    Ok(Probed { records: Some(format!("{n} on issue {id}")), ..Probed::default() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::col;
    use crate::transform::columns::ColumnType;

    #[test]
    fn the_issue_columns_stay_whatever_fields_say() {
        let cols =
            || vec![col("id", ColumnType::Text), col("issue_id", ColumnType::Text), col("body", ColumnType::Text)];
        let names = |c: Vec<Column>| c.into_iter().map(|c| c.name).collect::<Vec<_>>();
        let drop = FieldSelection::Exclude(vec!["issue_id".into()]);
        assert_eq!(names(select("comments", cols(), &drop, &["issue_id"]).unwrap()), ["id", "issue_id", "body"]);
        let keep = FieldSelection::Include(vec!["body".into()]);
        assert_eq!(names(select("comments", cols(), &keep, &["issue_id"]).unwrap()), ["id", "issue_id", "body"]);
        let bad = FieldSelection::Include(vec!["bdy".into()]);
        assert!(select("comments", cols(), &bad, &["issue_id"]).unwrap_err().is_config());
    }
}
