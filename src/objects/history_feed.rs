//! One read of each issue's changelog for every history object of a run.
//!
//! `changelog`, `status_intervals` and `field_history` are three views of the same changelogs.
//! Read apart, a pipeline with all three sent each bulk fetch three times and held three copies
//! of every batch of histories at once (about 100 MB at 10k issues, `bench/RESULTS.md`). Here
//! each history object joins the run's feed with the issues it listed; once every history object
//! of the pipeline has joined (or left: nothing changed, or it failed before reading), one task
//! reads the union of their issues and hands each issue's history to every member that listed
//! it, shared, not copied. A member's channel is bounded, so a slow table write slows the read
//! instead of piling histories up in memory.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::mpsc;

use super::field_ids::{FieldIds, Unresolved};
use super::{ObjectError, Queue, issues};
use crate::config::{Deployment, ObjectKind};
use crate::jira::JiraClient;
use crate::jira::changelog::{CHANGELOG_ISSUES_CLOUD, CHANGELOG_ISSUES_DC};
use crate::jira::fields::FieldDef;
use crate::jira::issues::BULK_FETCH_MAX;
use crate::transform::columns::parse_jira_instant;

/// Issues a member may have waiting before the read waits for it: enough to keep its row
/// building busy, few enough that a batch of 1,000 changelogs is not held twice.
const MEMBER_QUEUE: usize = 64;

/// Changelog readers on Cloud, where each holds 1,000 issues' histories (see `feed`).
const CLOUD_READERS: usize = 2;

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

/// What a member receives.
#[derive(Clone)]
pub(crate) enum Fed {
    Issue(Arc<IssueHistory>),
    /// The read stopped; every member fails with this.
    Failed(Arc<ObjectError>),
    /// Every issue was sent.
    Done(Arc<Finish>),
}

/// What the read learnt on the way, for every member's report.
#[derive(Debug, Default)]
pub(crate) struct Finish {
    /// Issues whose changelog Jira cut short: `(issue, histories it has)`.
    pub cut: Vec<(String, u64)>,
    /// Changelog field names that could not be resolved to ids (Data Center).
    pub unresolved: Unresolved,
}

struct Member {
    kind: ObjectKind,
    /// Sorted, as listings are.
    ids: Vec<u64>,
    with_issue: bool,
    tx: mpsc::Sender<Fed>,
}

impl Member {
    fn wants(&self, issue_id: &str) -> bool {
        // An id that is not a number cannot be looked up: every member gets it, and rejects it.
        issue_id.parse::<u64>().map_or(true, |n| self.ids.binary_search(&n).is_ok())
    }
}

struct State {
    /// History objects of the pipeline that have neither joined nor left.
    pending: HashSet<ObjectKind>,
    members: Vec<Member>,
}

/// The run's changelog reader, shared by its history objects.
pub struct HistoryFeed {
    client: JiraClient,
    field_ids: Arc<FieldIds>,
    concurrency: usize,
    state: Mutex<State>,
}

impl HistoryFeed {
    /// A feed for `members` (the history objects of the pipeline): it reads once all of them
    /// have joined or left.
    pub fn new(
        client: &JiraClient,
        catalogue: &[FieldDef],
        concurrency: usize,
        members: impl IntoIterator<Item = ObjectKind>,
    ) -> Self {
        Self {
            client: client.clone(),
            field_ids: Arc::new(FieldIds::new(catalogue)),
            concurrency: concurrency.max(1),
            state: Mutex::new(State { pending: members.into_iter().collect(), members: Vec::new() }),
        }
    }

    /// Whether `kind` reads through this feed.
    pub(crate) fn serves(&self, kind: ObjectKind) -> bool {
        self.state.lock().expect("never poisoned").pending.contains(&kind)
    }

    /// `kind` wants the histories of `ids` (sorted); `with_issue` also asks for each issue's
    /// `created` and status. The read starts when the last history object joins or leaves.
    pub(crate) fn join(&self, kind: ObjectKind, ids: Vec<u64>, with_issue: bool) -> mpsc::Receiver<Fed> {
        let (tx, rx) = mpsc::channel(MEMBER_QUEUE);
        let mut state = self.state.lock().expect("never poisoned");
        state.pending.remove(&kind);
        state.members.push(Member { kind, ids, with_issue, tx });
        self.start_if_ready(&mut state);
        rx
    }

    /// `kind` will not join this run (nothing changed, or it stopped before reading); a no-op
    /// for a member that joined.
    pub fn leave(&self, kind: ObjectKind) {
        let mut state = self.state.lock().expect("never poisoned");
        if state.pending.remove(&kind) {
            self.start_if_ready(&mut state);
        }
    }

    /// One issue read again on its own (its rows disagreed with it), with its field ids filled
    /// in; `None` when it cannot be read whole.
    pub(crate) async fn read_again(&self, id: &str, with_issue: bool) -> Option<IssueHistory> {
        let n = id.parse::<u64>().ok()?;
        let cut = Mutex::new(Vec::new());
        let mut issue = read(&self.client, &[n], with_issue, 1, &cut).await.ok()?.pop()?;
        if !cut.into_inner().ok()?.is_empty() {
            return None;
        }
        self.field_ids.fill(&mut issue.histories, &mut Unresolved::default());
        Some(issue)
    }

    fn start_if_ready(&self, state: &mut State) {
        if !state.pending.is_empty() || state.members.is_empty() {
            return;
        }
        let members = std::mem::take(&mut state.members);
        let kinds: Vec<&str> = members.iter().map(|m| m.kind.name()).collect();
        tracing::debug!(objects = ?kinds, "one changelog read for the history objects");
        tokio::spawn(feed(self.client.clone(), self.field_ids.clone(), self.concurrency, members));
    }
}

/// Reads the union of the members' issues and hands each history to the members that listed
/// it; ends with `Done`, or `Failed` at the first error.
async fn feed(client: JiraClient, field_ids: Arc<FieldIds>, concurrency: usize, members: Vec<Member>) {
    let with_issue = members.iter().any(|m| m.with_issue);
    let mut ids: Vec<u64> = members.iter().flat_map(|m| m.ids.iter().copied()).collect();
    ids.sort_unstable();
    ids.dedup();
    // A reader holds every history of its request's issues until the last page comes (Cloud
    // pages across issues): at 1,000 issues a request, eight readers held 37 MB of a run's
    // 156 MB heap peak with every object (heaptrack, bench/RESULTS.md). Two Cloud readers hold
    // a quarter of that for the same requests; each fetches its issues' fields with the
    // pipeline's concurrency shared between them, so the site's rate limit, not the readers, sets
    // the pace.
    let (per_request, readers) = match client.deployment() {
        Deployment::Cloud => (CHANGELOG_ISSUES_CLOUD, concurrency.min(CLOUD_READERS)),
        Deployment::DataCenter => (CHANGELOG_ISSUES_DC, concurrency),
    };
    let batches = Queue::new(ids.chunks(per_request));
    let cut = Mutex::new(Vec::new());
    let unresolved = Mutex::new(Unresolved::default());
    let members = &members;
    let workers = (0..readers).map(|_| async {
        while let Some(chunk) = batches.next() {
            if members.iter().all(|m| m.tx.is_closed()) {
                break;
            }
            for mut issue in read(&client, chunk, with_issue, concurrency.div_ceil(readers), &cut).await? {
                let mut missing = Unresolved::default();
                field_ids.fill(&mut issue.histories, &mut missing);
                unresolved.lock().expect("never poisoned").merge(missing);
                let issue = Arc::new(issue);
                for m in members.iter().filter(|m| m.wants(&issue.issue_id)) {
                    // A member that stopped (its write failed) no longer listens: the others go on.
                    let _ = m.tx.send(Fed::Issue(issue.clone())).await;
                }
            }
        }
        Ok::<_, ObjectError>(())
    });
    let last = match futures::future::try_join_all(workers).await {
        Ok(_) => Fed::Done(Arc::new(Finish {
            cut: cut.into_inner().expect("never poisoned"),
            unresolved: unresolved.into_inner().expect("never poisoned"),
        })),
        Err(e) => Fed::Failed(Arc::new(e)),
    };
    for m in members {
        let _ = m.tx.send(last.clone()).await;
    }
}

/// The histories of `ids`, one entry per issue (Cloud pages across issues, so an issue's
/// histories may arrive in several groups), with `created` and `status` when asked. Issues
/// whose changelog Jira cut short are added to `cut`.
pub(crate) async fn read(
    client: &JiraClient,
    ids: &[u64],
    with_issue: bool,
    concurrency: usize,
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
        let chunks = Queue::new(ids.chunks(BULK_FETCH_MAX));
        let fetched = Mutex::new(Vec::new());
        let workers = (0..concurrency.max(1)).map(|_| async {
            while let Some(chunk) = chunks.next() {
                let basics = issues::basics(client, chunk).await?;
                fetched.lock().expect("never poisoned").push(basics);
            }
            Ok::<_, ObjectError>(())
        });
        futures::future::try_join_all(workers).await?;
        for basics in fetched.into_inner().expect("never poisoned") {
            for issue in basics {
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
