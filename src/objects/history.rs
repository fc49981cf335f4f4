//! What the history objects (`changelog`, `status_intervals`, `field_history`) share: the
//! issues changed since the cursor, each read with its whole changelog — and, for the rebuilds,
//! when it was created and its status now — then turned into rows batch by batch.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::field_ids::{FieldIds, Unresolved};
use super::{Job, ObjectError, Outcome, Probed, Rows, issues};
use crate::config::{Deployment, ObjectConfig};
use crate::jira::changelog::{CHANGELOG_ISSUES_CLOUD, CHANGELOG_ISSUES_DC};
use crate::jira::fields::FieldDef;
use crate::jira::issues::BULK_FETCH_MAX;
use crate::jira::{JiraClient, JiraError};
use crate::report::Warning;
use crate::transform::columns::parse_jira_instant;

/// `check`'s probe of a history object: the first matching issue's changelog, so the endpoint
/// answers and the API user may read it.
pub(crate) async fn probe(client: &JiraClient, config: &ObjectConfig) -> Result<Probed, JiraError> {
    let Some(id) = issues::first_matching(client, config).await? else {
        return Ok(Probed { records: Some("0".into()), ..Probed::default() });
    };
    let histories: usize = client.changelogs(&[id]).await?.iter().map(|h| h.histories.len()).sum();
    Ok(Probed { records: Some(format!("{histories} changes on issue {id}")), ..Probed::default() })
}

/// One issue's history and what the rebuilds need besides it.
#[derive(Debug, Default)]
pub(crate) struct IssueHistory {
    pub issue_id: String,
    /// Every history, oldest first.
    pub histories: Vec<Value>,
    /// Epoch microseconds (with `with_issue`).
    pub created: Option<i64>,
    /// `created` as sent, when Jira sent one that could not be read.
    pub created_unreadable: Option<String>,
    /// The status now: id and name (with `with_issue`).
    pub status: (Option<String>, Option<String>),
}

/// Rows of one issue: `(id, row)` each.
pub(crate) type IssueRows = Vec<(String, Map<String, Value>)>;

/// The rows of one issue, or why none can be made from its history (the issue is then
/// rejected whole: a history rebuilt from part of its changes would be wrong, not short).
pub(crate) type Rebuilt = Result<IssueRows, String>;

/// A check of one issue's rebuilt rows against the issue as Jira shows it; `Err` says how they
/// disagree.
pub(crate) type Check = fn(&IssueHistory, &IssueRows) -> Result<(), String>;

impl IssueHistory {
    fn set_created(&mut self, created: Option<&Value>) {
        self.created = created.and_then(parse_jira_instant);
        self.created_unreadable = match created {
            Some(v) if !v.is_null() && self.created.is_none() => Some(v.to_string().chars().take(60).collect()),
            _ => None,
        };
    }

    /// `created` in microseconds: `Ok(None)` for an issue gone since it was listed (nothing to
    /// rebuild), `Err` when Jira sent a `created` that cannot be read.
    pub fn created(&self) -> Result<Option<i64>, String> {
        match (&self.created_unreadable, self.created) {
            (Some(raw), _) => Err(format!("the issue's `created` cannot be read (got {raw})")),
            (None, c) => Ok(c),
        }
    }

    /// The status changes the histories hold, counted from Jira's items directly (not through
    /// the rebuild), so a rebuild that lost some is caught.
    pub fn status_moves(&self) -> usize {
        self.histories
            .iter()
            .flat_map(|h| h["items"].as_array().into_iter().flatten())
            .filter(|i| i["fieldId"].as_str().or(i["field"].as_str()) == Some("status"))
            .count()
    }
}

/// The columns of a history table that hold a field's value: personal data only when the field
/// holds users (an account id, a display name), so a `hash` path on one of them hashes it on
/// the rows of user fields alone — with the key `issues` uses, so hashed joins keep working —
/// and leaves statuses, summaries and dates readable.
pub(crate) struct ValueColumns {
    pub columns: &'static [&'static str],
    /// The column naming the row's field (`field_id`).
    pub field: &'static str,
}

/// The ids of the fields that hold users, from the site's catalogue (`assignee`, `reporter`,
/// user pickers).
fn user_fields(catalogue: &[FieldDef]) -> HashSet<String> {
    catalogue
        .iter()
        .filter(|d| d.schema.as_ref().is_some_and(|s| s.kind == "user" || s.items.as_deref() == Some("user")))
        .map(|d| d.id.clone())
        .collect()
}

/// Sends the rows `rows_of` makes of every listed issue's history. `with_issue` also reads
/// each issue's `created` and `status` (one more request per 100 issues on Cloud), and `check`
/// holds each issue's rows against them before they are sent: an issue that disagrees is read
/// once more (it may have changed between two requests), then fails the object.
pub(crate) async fn extract(
    job: Job<'_>,
    object: &'static str,
    with_issue: bool,
    values: &ValueColumns,
    rows_of: impl Fn(&IssueHistory) -> Rebuilt + Sync,
    check: Option<Check>,
) -> Result<Outcome, ObjectError> {
    let users = user_fields(job.catalogue);
    let field_ids = FieldIds::new(job.catalogue);
    let unresolved = Mutex::new(Unresolved::default());
    let Job { client, shape, stamp, concurrency, tx, listing, .. } = job;
    let Some(listing) = listing else {
        return Err(ObjectError::Listing { endpoint: object, message: "extracted without a listing".into() });
    };
    let per_request = match client.deployment() {
        Deployment::Cloud => CHANGELOG_ISSUES_CLOUD,
        Deployment::DataCenter => CHANGELOG_ISSUES_DC,
    };
    let batches = Mutex::new(listing.ids.chunks(per_request));
    let cut = Mutex::new(Vec::new());
    let next = || batches.lock().expect("never poisoned").next();
    let tx = &tx;
    let rows_of = &rows_of;
    // Items without a `fieldId` (Data Center) get it from the catalogue before rows are made.
    let fill = &|issue: &mut IssueHistory| {
        let mut missing = Unresolved::default();
        field_ids.fill(&mut issue.histories, &mut missing);
        unresolved.lock().expect("never poisoned").merge(missing);
    };
    let workers = (0..concurrency.max(1)).map(|_| async {
        let mut rows = Rows::new(shape, tx);
        while let Some(ids) = next() {
            for issue in read(client, ids, with_issue, &cut).await? {
                let built = match rebuild(client, issue, with_issue, &cut, fill, rows_of, check).await {
                    Ok(built) => built,
                    Err(Unbuilt::Unreadable(id, why)) => {
                        rows.reject_record(&id, why);
                        continue;
                    }
                    Err(Unbuilt::Disagrees(issue, message)) => {
                        return Err(ObjectError::Derived { object, issue, message });
                    }
                };
                for (id, mut row) in built {
                    let personal = row.get(values.field).and_then(Value::as_str).is_some_and(|f| users.contains(f));
                    // Values of other fields sit out the masking and go back unchanged.
                    let kept: Vec<(&str, Value)> = if personal {
                        Vec::new()
                    } else {
                        values.columns.iter().filter_map(|c| Some((*c, row.remove(*c)?))).collect()
                    };
                    shape.mask(&mut row);
                    for (c, v) in kept {
                        row.insert(c.to_string(), v);
                    }
                    let raw = Value::Object(row);
                    rows.push(&id, &raw, |c| stamp.column(c).or_else(|| raw.get(c)).filter(|v| !v.is_null())).await?;
                }
            }
        }
        rows.flush().await?;
        Ok::<_, ObjectError>(rows.into_outcome(Outcome::default()))
    });
    let outcomes = futures::future::try_join_all(workers).await?;
    let cut = cut.into_inner().expect("never poisoned");
    if let Some((issue, total)) = cut.first() {
        // Rows would be silently missing: fail before the commit.
        return Err(ObjectError::Listing {
            endpoint: "rest/api/2/search (expand=changelog)",
            message: format!(
                "Jira cut the changelog of {} issue(s) short (issue {issue} has {total} histories); the table was left unchanged. Report it with your Jira version: this Data Center does not return whole changelogs",
                cut.len()
            ),
        });
    }
    let mut outcome = Outcome::sum(outcomes);
    let unresolved = unresolved.into_inner().expect("never poisoned");
    if !unresolved.is_empty() {
        outcome.warnings.push(Warning {
            message: unresolved.message(),
            fix: "join those rows by `field` (the name) instead; Jira keeps the name an item was written with, so giving each custom field a name of its own (Administration → Issues → Custom fields) resolves the changes made after the rename".into(),
        });
    }
    Ok(outcome)
}

/// Why an issue's rows were not made: its history cannot be read (`id`, why), or the rows
/// disagree with the issue (`id`, how).
enum Unbuilt {
    Unreadable(String, String),
    Disagrees(String, String),
}

/// `issue`'s rows, checked; an issue whose rows disagree is read again once and checked again.
async fn rebuild(
    client: &JiraClient,
    mut issue: IssueHistory,
    with_issue: bool,
    cut: &Mutex<Vec<(String, u64)>>,
    fill: &(impl Fn(&mut IssueHistory) + Sync),
    rows_of: &(impl Fn(&IssueHistory) -> Rebuilt + Sync),
    check: Option<Check>,
) -> Result<IssueRows, Unbuilt> {
    fill(&mut issue);
    let id = issue.issue_id.clone();
    let built = rows_of(&issue).map_err(|why| Unbuilt::Unreadable(id.clone(), why))?;
    let Some(check) = check else { return Ok(built) };
    let Err(first) = check(&issue, &built) else { return Ok(built) };
    let again = match id.parse::<u64>() {
        Ok(n) => read(client, &[n], with_issue, cut).await.ok().and_then(|mut v| v.pop()),
        Err(_) => None,
    };
    let Some(mut again) = again else { return Err(Unbuilt::Disagrees(id, first)) };
    fill(&mut again);
    let built = rows_of(&again).map_err(|why| Unbuilt::Unreadable(id.clone(), why))?;
    check(&again, &built).map_err(|how| Unbuilt::Disagrees(id.clone(), how))?;
    Ok(built)
}

/// The histories of `ids`, one entry per issue (Cloud pages across issues, so an issue's
/// histories may arrive in several groups), with `created` and `status` when asked.
async fn read(
    client: &JiraClient,
    ids: &[u64],
    with_issue: bool,
    cut: &Mutex<Vec<(String, u64)>>,
) -> Result<Vec<IssueHistory>, ObjectError> {
    let mut by_id: HashMap<String, IssueHistory> = HashMap::new();
    for group in client.changelogs(ids).await? {
        if let Some(total) = group.cut_at {
            cut.lock().expect("never poisoned").push((group.issue_id.clone(), total));
        }
        let entry = by_id
            .entry(group.issue_id.clone())
            .or_insert_with(|| IssueHistory { issue_id: group.issue_id.clone(), ..IssueHistory::default() });
        entry.histories.extend(group.histories);
        if let Some(f) = group.issue {
            entry.set_created(f.created.as_ref());
            entry.status = f.status.map_or((None, None), |s| (s.id, s.name));
        }
    }
    // Cloud's changelog fetch carries no issue fields: one bulk fetch per 100 issues.
    if with_issue && client.deployment() == Deployment::Cloud {
        for chunk in ids.chunks(BULK_FETCH_MAX) {
            for issue in issues::basics(client, chunk).await? {
                let entry = by_id
                    .entry(issue.id.clone())
                    .or_insert_with(|| IssueHistory { issue_id: issue.id.clone(), ..IssueHistory::default() });
                entry.set_created(issue.created.as_ref());
                entry.status = (issue.status_id, issue.status_name);
            }
        }
    }
    let mut out: Vec<IssueHistory> = by_id.into_values().collect();
    out.sort_by(|a, b| a.issue_id.cmp(&b.issue_id));
    Ok(out)
}
