//! What the history objects (`changelog`, `status_intervals`, `field_history`) share: the
//! issues changed since the cursor, each read with its whole changelog — and, for the rebuilds,
//! when it was created and its status now — then turned into rows batch by batch.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Map, Value};

pub(crate) use super::history_feed::IssueHistory;
use super::history_feed::{Fed, HistoryFeed};
use super::{Job, ObjectError, Outcome, Probed, Rows, issues};
use crate::config::ObjectConfig;
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError};
use crate::report::Warning;

/// `check`'s probe of a history object: the first matching issue's changelog, so the endpoint
/// answers and the API user may read it.
pub(crate) async fn probe(client: &JiraClient, config: &ObjectConfig) -> Result<Probed, JiraError> {
    let Some(id) = issues::first_matching(client, config).await? else {
        return Ok(Probed { records: Some("0".into()), ..Probed::default() });
    };
    let histories: usize = client.changelogs(&[id]).await?.iter().map(|h| h.histories.len()).sum();
    Ok(Probed { records: Some(format!("{histories} changes on issue {id}")), ..Probed::default() })
}

/// Rows of one issue: `(id, row)` each.
pub(crate) type IssueRows = Vec<(String, Map<String, Value>)>;

/// The rows of one issue, or why none can be made from its history (the issue is then
/// rejected whole: a history rebuilt from part of its changes would be wrong, not short).
pub(crate) type Rebuilt = Result<IssueRows, String>;

/// A check of one issue's rebuilt rows against the issue as Jira shows it; `Err` says how they
/// disagree.
pub(crate) type Check = fn(&IssueHistory, &IssueRows) -> Result<(), String>;

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

/// Sends the rows `rows_of` makes of every listed issue's history, read through the run's
/// changelog feed (shared with the other history objects of the pipeline). `with_issue` also
/// reads each issue's `created` and `status` (one more request per 100 issues on Cloud), and
/// `check` holds each issue's rows against them before they are sent: an issue that disagrees
/// is read once more (it may have changed between two requests), then fails the object.
pub(crate) async fn extract(
    job: Job<'_>,
    object: &'static str,
    with_issue: bool,
    values: &ValueColumns,
    rows_of: impl Fn(&IssueHistory) -> Rebuilt + Sync,
    check: Option<Check>,
) -> Result<Outcome, ObjectError> {
    let users = user_fields(job.catalogue);
    let Job { client, config, catalogue, shape, stamp, concurrency, tx, listing, history, .. } = job;
    let Some(listing) = listing else {
        return Err(ObjectError::Listing { endpoint: object, message: "extracted without a listing".into() });
    };
    // An object the run's feed does not expect (run on its own) reads through a feed of its own.
    let own;
    let feed = match history.filter(|f| f.serves(config.kind)) {
        Some(f) => f,
        None => {
            own = HistoryFeed::new(client, catalogue, concurrency, [config.kind]);
            &own
        }
    };
    let mut fed = feed.join(config.kind, listing.ids.clone(), with_issue);
    let mut rows = Rows::new(shape, &tx);
    let again = Again { with_issue, feed };
    let finish = loop {
        let issue = match fed.recv().await {
            Some(Fed::Issue(issue)) => issue,
            Some(Fed::Done(finish)) => break finish,
            Some(Fed::Failed(e)) => return Err(ObjectError::Shared(e)),
            None => {
                return Err(ObjectError::Listing {
                    endpoint: object,
                    message: "the run's changelog read stopped before it finished".into(),
                });
            }
        };
        let built = match rebuild(&again, issue, &rows_of, check).await {
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
    };
    rows.flush().await?;
    let mut outcome = rows.into_outcome(Outcome::default());
    if let Some((issue, total)) = finish.cut.first() {
        // Rows would be silently missing: fail before the commit.
        return Err(ObjectError::Listing {
            endpoint: "rest/api/2/search (expand=changelog)",
            message: format!(
                "Jira cut the changelog of {} issue(s) short (issue {issue} has {total} histories); the table was left unchanged. Report it with your Jira version: this Data Center does not return whole changelogs",
                finish.cut.len()
            ),
        });
    }
    if !finish.unresolved.is_empty() {
        outcome.warnings.push(Warning {
            message: finish.unresolved.message(),
            fix: "join those rows by `field` (the name) instead; Jira keeps the name an item was written with, so giving each custom field a name of its own (Administration → Issues → Custom fields) resolves the changes made after the rename".into(),
        });
    }
    Ok(outcome)
}

/// What reading an issue again takes.
struct Again<'a> {
    with_issue: bool,
    feed: &'a HistoryFeed,
}

/// Why an issue's rows were not made: its history cannot be read (`id`, why), or the rows
/// disagree with the issue (`id`, how).
enum Unbuilt {
    Unreadable(String, String),
    Disagrees(String, String),
}

/// `issue`'s rows, checked; an issue whose rows disagree is read again once and checked again.
async fn rebuild(
    again: &Again<'_>,
    issue: Arc<IssueHistory>,
    rows_of: &(impl Fn(&IssueHistory) -> Rebuilt + Sync),
    check: Option<Check>,
) -> Result<IssueRows, Unbuilt> {
    let id = issue.issue_id.clone();
    let built = rows_of(&issue).map_err(|why| Unbuilt::Unreadable(id.clone(), why))?;
    let Some(check) = check else { return Ok(built) };
    let Err(first) = check(&issue, &built) else { return Ok(built) };
    drop(issue);
    let Some(issue) = again.feed.read_again(&id, again.with_issue).await else {
        return Err(Unbuilt::Disagrees(id, first));
    };
    let built = rows_of(&issue).map_err(|why| Unbuilt::Unreadable(id.clone(), why))?;
    check(&issue, &built).map_err(|how| Unbuilt::Disagrees(id.clone(), how))?;
    Ok(built)
}
