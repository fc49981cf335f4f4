//! Activity on issues while the site runs: comments, worklogs and links added, edited and
//! deleted, over the generated ones. Each change is logged per issue with the instant search
//! sees it (index lag), so a snapshot taken before that instant still shows the issue without
//! it, exactly as edits do; the issue endpoints read the stored state.
//!
//! What Jira does on each change (see the crate README, "Activity", for the sources): the issue's
//! `updated` moves to the change's time (comments: add always, edit and delete unless
//! `Behaviour::comment_edit_delete_keep_updated`); worklog changes and link changes also write a
//! changelog history (`WorklogId`, `timespent`, `timeestimate`, `WorklogTimeSpent`; `Link` on
//! both issues), a comment delete a `Comment` item; time tracking follows the worklogs (the
//! remaining estimate adjusted automatically, Jira's default `adjustEstimate=auto`).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::data::{CommentSpec, WorklogSpec};

/// One change to an issue's comments, worklogs or links.
#[derive(Debug, Clone)]
pub(crate) enum Act {
    CommentAdded(CommentSpec),
    CommentEdited { id: u64, by: u64 },
    CommentDeleted { id: u64 },
    WorklogAdded(WorklogSpec),
    WorklogEdited { id: u64, by: u64, secs: i64 },
    WorklogDeleted { id: u64 },
    LinkAdded(Link),
    LinkDeleted { id: u64 },
}

/// One change, when it was made (`ms`) and when search sees it.
#[derive(Debug, Clone)]
pub(crate) struct Logged {
    pub(crate) act: Act,
    pub(crate) ms: i64,
    pub(crate) visible_at: Instant,
}

/// A link added while the site runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Link {
    pub id: u64,
    pub from: u64,
    pub to: u64,
    /// Index into `LINK_TYPES`.
    pub kind: u64,
}

/// Everything that happened to comments, worklogs and links since start-up.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    /// Changes by issue index, in the order they were made.
    pub(crate) by_issue: HashMap<u64, Vec<Logged>>,
    /// Comments and worklogs added at run time: id → issue index.
    pub(crate) added_comments: HashMap<u64, u64>,
    pub(crate) added_worklogs: HashMap<u64, u64>,
    /// Links added at run time: id → link.
    pub(crate) added_links: HashMap<u64, Link>,
    /// Links deleted (generated or added).
    pub(crate) deleted_links: HashSet<u64>,
    pub(crate) next_comment: u64,
    pub(crate) next_worklog: u64,
    pub(crate) next_link: u64,
    /// The worklog feed's entries for worklogs changed at run time: (updatedTime, id), and each
    /// id's latest time.
    pub(crate) worklog_updates: BTreeSet<(i64, u64)>,
    pub(crate) worklog_updated_at: HashMap<u64, i64>,
    /// Deleted worklogs: (deletion time, id), in deletion order (so ascending time).
    pub(crate) worklog_deletes: Vec<(i64, u64)>,
    /// Worklogs deleted, generated or added.
    pub(crate) deleted_worklogs: HashSet<u64>,
}

impl Activity {
    pub(crate) fn log(&mut self, i: u64, act: Act, ms: i64, visible_at: Instant) {
        self.by_issue.entry(i).or_default().push(Logged { act, ms, visible_at });
    }

    pub(crate) fn acts(&self, i: u64, at: Instant) -> impl Iterator<Item = &Logged> {
        self.by_issue.get(&i).into_iter().flatten().filter(move |l| l.visible_at <= at)
    }

    pub fn touched(&self, i: u64) -> bool {
        self.by_issue.contains_key(&i)
    }

    pub fn worklog_deleted(&self, id: u64) -> bool {
        self.deleted_worklogs.contains(&id)
    }
}

/// A moment after every pending index update: what the issue endpoints read.
pub(crate) fn stored_view() -> Instant {
    Instant::now() + Duration::from_secs(365 * 86_400)
}
