//! The Jira objects, one module each: its columns, how it is extracted, its `check` probe and
//! what `discover` shows of it, behind the [`Object`] trait. [`runner`](crate::runner),
//! [`check`](crate::check) and [`discover`](crate::discover) iterate over [`of`] and never
//! name an object; adding one is a module here plus a line in `for_each_object!` (`lib.rs`).
//!
//! Objects know Jira's shapes (through `jira`) and Arrow (through `transform`), not Delta:
//! they send typed batches to a bounded channel that the table writer drains as it goes, so
//! memory depends on the batch size, not on the size of the site.

pub mod boards;
pub mod changelog;
mod children;
mod dimension;
pub mod comments;
pub mod field_history;
mod field_ids;
pub mod fields;
mod history;
mod history_feed;
pub mod issue_row;
pub mod issue_links;
pub mod issues;
mod per_project;
mod queue;
pub mod projects;
pub mod rows;
pub mod shape;
pub mod status_intervals;
pub mod users;
pub mod sprints;
pub mod versions;
pub mod components;
pub mod statuses;
pub mod priorities;
pub mod resolutions;
pub mod issue_types;
pub mod project_categories;
pub mod labels;
pub mod field_options;
pub mod worklogs;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

pub use history_feed::HistoryFeed;
pub(crate) use queue::Queue;
pub(crate) use rows::Rows;
pub(crate) use rows::SharedBatch;
pub use rows::{BATCH_ROWS, CHANNEL_BATCHES, EXTRACTED_AT, MAX_REJECTS_KEPT, Marks, Outcome, RUN_ID, RunStamp, Sender};
pub use shape::Shape;

use crate::config::{FieldSelection, ObjectConfig, ObjectKind};
use crate::jira::JiraClient;
use crate::jira::JiraError;
use crate::jira::fields::FieldDef;
use crate::report::Diagnosis;
use crate::transform::columns::{Column, ColumnType, ConvertError};

/// One Jira object: everything `run`, `check` and `discover` need to know about it.
pub trait Object: Sync {
    fn kind(&self) -> ObjectKind;

    /// Every column the table can have before `fields` applies, metadata columns included.
    /// `catalogue` is the site's `/field` list (empty unless [`Object::needs_catalogue`]).
    fn columns(&self, catalogue: &[FieldDef]) -> Vec<Column>;

    /// The columns `fields` keeps. Fixed-shape objects check every name against their
    /// columns, so a typo is an error rather than a selection that silently keeps everything.
    fn select(&self, catalogue: &[FieldDef], selection: &FieldSelection) -> Result<Vec<Column>, ObjectError> {
        select(self.kind().name(), self.columns(catalogue), selection)
    }

    /// Whether the object needs the site's field catalogue (fetched once per run).
    fn needs_catalogue(&self) -> bool {
        false
    }

    /// The columns as `discover` lists them (fixed-shape objects: name and type only).
    fn describe(&self, catalogue: &[FieldDef]) -> Vec<ColumnInfo> {
        let personal = self.personal_columns();
        self.columns(catalogue)
            .into_iter()
            .filter(|c| !c.name.starts_with('_'))
            .map(|c| ColumnInfo {
                name: c.name.clone(),
                jira_type: String::new(),
                custom: false,
                personal: personal.contains(&c.name.as_str()),
                column: c,
            })
            .collect()
    }

    /// Columns that hold personal data although their names do not say so (the history
    /// tables' values of user fields), for `discover` to suggest hashing.
    fn personal_columns(&self) -> &'static [&'static str] {
        &[]
    }

    /// Incremental objects: the records changed since `since_ms` (0: all of them) and Jira's
    /// clock when the listing began, which becomes the next cursor. Every incremental object
    /// follows the issues, so it lists the issues its `jql` matches; snapshot objects list
    /// nothing up front.
    fn list<'a>(
        &'a self,
        client: &'a JiraClient,
        config: &'a ObjectConfig,
        since_ms: i64,
    ) -> BoxFuture<'a, Result<Option<Listing>, ObjectError>> {
        Box::pin(async move {
            if self.kind().is_incremental() { issues::list(client, config, since_ms).await.map(Some) } else { Ok(None) }
        })
    }

    /// Incremental objects: why each row missing from a full listing is missing. The default
    /// takes a missing record for a deleted one; objects whose records can leave a listing
    /// while they live (issues: a filter, archiving, permissions) ask Jira.
    fn explain_missing<'a>(
        &'a self,
        _client: &'a JiraClient,
        missing: &'a [Missing],
    ) -> BoxFuture<'a, Result<Vec<(u64, Gone)>, ObjectError>> {
        Box::pin(async move { Ok(missing.iter().map(|m| (m.id, Gone::Deleted)).collect()) })
    }

    /// The columns naming the issue a row belongs to. When an extraction sweeps an issue
    /// ([`Outcome::swept`]), its rows that the run did not write again are marked deleted.
    fn parent_columns(&self) -> &'static [&'static str] {
        &["issue_id"]
    }

    /// The object whose table, written earlier in the same run, already holds what this one
    /// reads (a column of it), so it can be derived from there without a request. The runner
    /// decides whether it may (see `runner::derive`); otherwise the object reads Jira.
    fn derives_from(&self) -> Option<Derivation> {
        None
    }

    /// Whether the object is made from issues' changelogs: the run reads them once for every
    /// such object of the pipeline (`HistoryFeed`).
    fn reads_history(&self) -> bool {
        false
    }

    /// Columns that hold only a page of what another object reads whole (issues' `comment` and
    /// `worklog` embed the first comments and worklogs): left out by default when that object is
    /// in the same pipeline (see `runner::object`).
    fn embeds(&self) -> &'static [(&'static str, ObjectKind)] {
        &[]
    }

    /// Sends the object's rows to `job.tx`; returns when all are sent.
    fn extract<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Result<Outcome, ObjectError>>;

    /// The classic OAuth scope its endpoints need; `check` names it when a token lacks it.
    fn oauth_scope(&self) -> &'static str {
        "read:jira-work"
    }

    /// `check`'s catalog entries particular to this object: what a failure of its probe
    /// means here, and how much it matters. `None` leaves `err` to the general catalog.
    fn diagnose(&self, _err: &JiraError) -> Option<(Concern, Diagnosis)> {
        None
    }

    /// A cheap read (one record or one page where Jira allows it) for `check`: what the API
    /// user can see of the object.
    fn probe<'a>(
        &'a self,
        client: &'a JiraClient,
        config: &'a ObjectConfig,
    ) -> BoxFuture<'a, Result<Probed, JiraError>>;
}

/// Expands the object list (`for_each_object!` in `lib.rs`) into the registry.
macro_rules! registry {
    ($($(#[$doc:meta])* $kind:ident = $module:ident, $sync:ident, $table:literal;)*) => {
        /// The implementation of `kind`.
        pub fn of(kind: ObjectKind) -> &'static dyn Object {
            match kind {
                $(ObjectKind::$kind => &$module::$kind,)*
            }
        }
    };
}

for_each_object!(registry);

/// What one object's extraction gets from the run.
pub struct Job<'a> {
    pub client: &'a JiraClient,
    pub config: &'a ObjectConfig,
    pub catalogue: &'a [FieldDef],
    pub shape: &'a Shape,
    pub stamp: &'a RunStamp,
    /// What [`Object::list`] found, for incremental objects.
    pub listing: Option<&'a Listing>,
    /// Rows to read again although the listing left them out (they left the filter or were
    /// archived: their current values are kept, marked by `stamp`).
    pub refresh: &'a [u64],
    /// Requests the object may keep in flight (the client's limit still applies).
    pub concurrency: usize,
    /// Owned, so the end of the extraction closes the writer's input.
    pub tx: Sender,
    /// Records to read instead of asking Jira (see [`Object::derives_from`]): the listed issues
    /// as `{id, key, fields: {<column>: …}}`, read back from the table written this run.
    pub derived: Option<&'a [serde_json::Value]>,
    /// The run's one changelog read, shared by its history objects.
    pub history: Option<&'a HistoryFeed>,
}

/// Where an object's records can be read back from in the same run: `column` of `source`'s
/// table.
#[derive(Debug, Clone, Copy)]
pub struct Derivation {
    pub source: ObjectKind,
    pub column: &'static str,
}

/// What an incremental object's listing found: every matching id, in order, and Jira's clock
/// when it began.
#[derive(Debug)]
pub struct Listing {
    /// The filter (user JQL and window) without ordering.
    pub filter: String,
    pub ids: Vec<u64>,
    /// Jira's time at the first response. Everything updated before it (and indexed) is in
    /// `ids`, so it is the next run's cursor: unlike the largest `updated` received, it cannot
    /// skip a record edited during the run after its part was read.
    pub jira_now: DateTime<Utc>,
    /// Jira's exact count, when it gives one (Data Center).
    pub total: Option<u64>,
    /// Records a change feed reports deleted since the cursor (worklogs' tombstones).
    pub gone: Vec<u64>,
    /// `ids` are the object's own records from a change feed, not issues.
    pub feed: bool,
}

/// A row of an incremental table whose record a full listing no longer shows.
#[derive(Debug, Clone)]
pub struct Missing {
    pub id: u64,
    /// The project the row was in, as stored (`_project_id`, or the key's project when the
    /// row predates that column and its key is not hashed).
    pub project: Option<ProjectRef>,
}

/// A project as a stored row names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProjectRef {
    Id(String),
    Key(String),
}

/// Why a row is no longer in its listing. Only `Deleted` rows are removed under
/// `deletes: hard`; every reason is recorded in `_deleted_reason`, with `_deleted_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gone {
    /// Jira no longer has it, and the API user may still browse its project.
    Deleted,
    /// It exists, but no longer matches the pipeline's JQL.
    LeftFilter,
    /// It exists but is archived: search no longer shows it.
    Archived,
    /// The API user can no longer browse its project (or cannot tell): it may be alive.
    LostAccess,
}

impl Gone {
    pub const ALL: [Gone; 4] = [Gone::Deleted, Gone::LeftFilter, Gone::Archived, Gone::LostAccess];

    /// The value of `_deleted_reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            Gone::Deleted => "deleted",
            Gone::LeftFilter => "left_filter",
            Gone::Archived => "archived",
            Gone::LostAccess => "lost_access",
        }
    }

    pub fn parse(s: &str) -> Option<Gone> {
        Gone::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// One column as `discover` shows it.
#[derive(Debug, Clone)]
pub struct ColumnInfo {
    pub column: Column,
    /// Jira's display name (the column name for fixed-shape objects).
    pub name: String,
    /// Jira's type (`user`, `array<option>`, …); empty for fixed-shape objects.
    pub jira_type: String,
    pub custom: bool,
    /// The object says the column holds personal data (beyond what its name shows).
    pub personal: bool,
}

/// What a probe found: how many records the API user sees, and anything to point out.
#[derive(Debug, Default)]
pub struct Probed {
    /// e.g. `250`, or `50+` when only a sample was read.
    pub records: Option<String>,
    pub findings: Vec<(Concern, Diagnosis)>,
}

/// How much a probe's finding matters: a `Note` is information, a `Warn` something to fix
/// that does not stop a run, a `Fail` something that does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concern {
    Note,
    Warn,
    Fail,
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error(transparent)]
    Jira(#[from] JiraError),
    #[error(transparent)]
    Convert(#[from] ConvertError),
    #[error("`{object}.fields` names `{field}`, which this Jira site does not have{suggestion}")]
    UnknownField { object: &'static str, field: String, suggestion: String },
    /// The table writer stopped reading (it failed; its error is the one reported).
    #[error("the table writer stopped")]
    WriterGone,
    #[error("`{object}.fields` names `{field}`, which is not a column of `{object}`; its columns are: {columns}")]
    UnknownColumn { object: &'static str, field: String, columns: String },
    #[error("`objects.{object}.hash`: {message}")]
    BadHash { object: &'static str, message: String },
    #[error(
        "`{object}`: {lost} of the {listed} issues listed did not come back whole when fetched by id from {endpoint}, although Jira still shows each of them (ids {sample}); records without a usable id are set aside in the run's rejects. The table was left unchanged. Run again; if it repeats, the site is dropping or garbling issues in its responses (a proxy, an app, or a Jira bug): report the ids to your Jira admin"
    )]
    Incomplete { object: &'static str, endpoint: &'static str, listed: usize, lost: usize, sample: String },
    /// The issue listing could not be completed safely; nothing was written.
    #[error("{endpoint}: the issue listing stopped: {message}")]
    Listing { endpoint: &'static str, message: String },
    #[error(
        "`{object}`: Jira has fields the table does not: {fields}. `schema_drift: fail` stops the run before anything is written; add them (`auto_sync`), keep the table's columns (`block`), or deselect them"
    )]
    Drift { object: &'static str, fields: String },
    #[error(
        "`{object}`: {count} record(s) had no usable id and could not be written (e.g. {sample}); the table was left unchanged. A record Jira sends always has an id: a proxy, an app or a Jira bug is garbling responses. See `_rejects` for the raw records, then run again"
    )]
    Lost { object: &'static str, count: usize, sample: String },
    #[error(
        "`{object}`: {affected} of {read} records ({share:.1}%) had values that do not fit their columns, more than `max_rejected_fraction` allows ({limit_pct}%); nothing was committed. {fields}. Fix: if Jira changed a field's type, rebuild the table (`schema_drift: auto_sync` on a full refresh, or delete it); if jirapipe cannot read a shape Jira sends, report it with the example; to write the rows with those values left null, raise `objects.{object}.max_rejected_fraction`"
    )]
    Rejected { object: &'static str, affected: usize, read: usize, share: f64, limit_pct: f64, fields: String },
    #[error(
        "`{object}` disagrees with its source for issue {issue}: {message}; nothing was committed. The changelog Jira returned does not lead to the issue as it is: run again (an issue edited during the run agrees next time); if it repeats, report the issue id with your Jira version"
    )]
    Derived { object: &'static str, issue: String, message: String },
    #[error(
        "`{object}`: Jira returned no records, but the table holds {table_rows}; nothing was changed. An empty answer usually means the API user sees nothing: a revoked or wrong credential that Jira answers anonymously, a JQL filter that matches nothing, or lost Browse Projects permission. Run `jirapipe check`; if the table really should be empty, delete it"
    )]
    Emptied { object: &'static str, table_rows: u64 },
    #[error(
        "`{object}`: this full refresh would replace the table's {table_rows} rows with {rows}, dropping more than `max_deleted_fraction` allows ({limit_pct}%); nothing was changed. Check the API user's access and the JQL (`jirapipe check`); if Jira really holds fewer records now, run once with `jirapipe run --allow-mass-delete`"
    )]
    Shrunk { object: &'static str, table_rows: u64, rows: usize, limit_pct: f64 },
    /// An error of a read several objects shared (the run's changelog read): each fails with it.
    #[error(transparent)]
    Shared(std::sync::Arc<ObjectError>),
}

impl ObjectError {
    /// A problem with the pipeline file rather than with the run.
    pub fn is_config(&self) -> bool {
        match self {
            ObjectError::Shared(e) => e.is_config(),
            e => matches!(
                e,
                ObjectError::UnknownField { .. } | ObjectError::UnknownColumn { .. } | ObjectError::BadHash { .. }
            ),
        }
    }
}

/// Applies `fields` to an object whose columns are fixed (everything but issues): `id` and the
/// metadata columns are always kept, and a name that is not a column is an error rather than
/// a selection that silently keeps everything.
pub fn select(
    object: &'static str,
    columns: Vec<Column>,
    selection: &FieldSelection,
) -> Result<Vec<Column>, ObjectError> {
    let named = |c: &Column| !c.name.starts_with('_');
    if let FieldSelection::Include(names) | FieldSelection::Exclude(names) = selection
        && let Some(bad) = names.iter().find(|n| !columns.iter().any(|c| named(c) && &c.name == *n))
    {
        let list = columns.iter().filter(|c| named(c)).map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ");
        return Err(ObjectError::UnknownColumn { object, field: bad.clone(), columns: list });
    }
    Ok(columns.into_iter().filter(|c| !named(c) || selection.keeps(&c.name)).collect())
}

/// Column helper for the fixed-shape objects.
pub(crate) fn col(name: &str, ty: ColumnType) -> Column {
    Column { name: name.into(), ty }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_columns_follow_the_selection_and_reject_unknown_names() {
        let cols = || vec![col("id", ColumnType::Text), col("name", ColumnType::Text), col("size", ColumnType::Float)];
        let names = |c: Vec<Column>| c.into_iter().map(|c| c.name).collect::<Vec<_>>();
        let with_meta = || cols().into_iter().chain(RunStamp::columns()).collect::<Vec<_>>();
        let keep = FieldSelection::Include(vec!["size".into()]);
        assert_eq!(names(select("boards", with_meta(), &keep).unwrap()), ["id", "size", "_extracted_at", "_run_id"]);
        let drop = FieldSelection::Exclude(vec!["size".into()]);
        assert_eq!(names(select("boards", cols(), &drop).unwrap()), ["id", "name"]);
        let bad = FieldSelection::Exclude(vec!["_run_id".into()]);
        let e = select("boards", with_meta(), &bad).unwrap_err();
        assert!(e.is_config() && e.to_string().contains("id, name, size"), "{e}");
    }
}
