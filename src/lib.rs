//! jirapipe: Jira Cloud / Data Center → Delta Lake tables, driven by YAML pipeline files.
//!
//! Modules are listed in the order data moves through them — [`config`] → [`jira`] →
//! [`objects`] → [`transform`] → [`table`] → [`report`] → [`metrics`] — and each imports only
//! modules listed before it. [`runner`], [`state`], [`schedule`], [`check`] and [`discover`] sit
//! above the data path ([`dbt`] too: `discover --dbt`); [`progress`] is the terminal's, imported
//! by whoever draws.

pub(crate) use deltalake::arrow;

/// Every object jirapipe can extract, in table order: the one list to extend when adding an
/// object. Each line is the object's doc (shown in the pipeline schema), its `ObjectKind`
/// variant, its module in `src/objects` (which defines a unit struct of the same name as the
/// variant implementing `objects::Object`; the module's name is the key in pipeline files),
/// its sync, and its table. `incremental` objects follow the issues' `updated` cursor and take
/// `jql`, `lookback`, `deletes` and `reconcile_every`; `follows_issues` objects follow that
/// cursor too (the history of the issues changed) but have no deletes of their own;
/// `issue_children` objects follow it and read each changed issue's whole list (comments,
/// links), so rows no longer in it are deletes; `feed` objects follow a change feed of their
/// own with tombstones (worklogs); `snapshot` objects are read whole on every run.
///
/// `config` expands the list into `ObjectKind` and the `objects:` block of pipeline files,
/// `objects` into its registry ([`objects::of`]).
macro_rules! for_each_object {
    ($then:ident) => {
        $then! {
            /// Issues, via JQL search.
            Issues = issues, incremental, "issues";
            /// Every change of the issues the JQL matches, one row per changed field.
            Changelog = changelog, follows_issues, "issue_changelog";
            /// Each stay of each issue in a status: time in status, lead and cycle time.
            StatusIntervals = status_intervals, follows_issues, "issue_status_intervals";
            /// Each value each field of each issue held (slowly changing dimension, type 2).
            FieldHistory = field_history, follows_issues, "issue_field_history";
            /// Every comment of the issues the JQL matches, read whole however long the thread.
            Comments = comments, issue_children, "comments";
            /// Every worklog (of the issues the JQL matches), from Jira's worklog change feed.
            Worklogs = worklogs, feed, "worklogs";
            /// Links between issues, one row per link: source, type, target.
            IssueLinks = issue_links, issue_children, "issue_links";
            /// Projects.
            Projects = projects, snapshot, "projects";
            /// Users.
            Users = users, snapshot, "users";
            /// Agile boards (Jira Software).
            Boards = boards, snapshot, "boards";
            /// Field definitions: maps `customfield_NNNNN` column names to display names.
            Fields = fields, snapshot, "fields";
            /// Sprints of every scrum board, one row per sprint (Jira Software).
            Sprints = sprints, snapshot, "sprints";
            /// Versions (releases) of every project.
            Versions = versions, snapshot, "versions";
            /// Components of every project.
            Components = components, snapshot, "components";
            /// Statuses with their category (To Do, In Progress, Done), to join issues' status ids to.
            Statuses = statuses, snapshot, "statuses";
            /// Priorities.
            Priorities = priorities, snapshot, "priorities";
            /// Resolutions.
            Resolutions = resolutions, snapshot, "resolutions";
            /// Issue types: sub-task or not, and (Cloud) their hierarchy level.
            IssueTypes = issue_types, snapshot, "issue_types";
            /// Project categories.
            ProjectCategories = project_categories, snapshot, "project_categories";
            /// Every label in use (Cloud only: Data Center lists none).
            Labels = labels, snapshot, "labels";
            /// The options of select, multi-select and cascading custom fields (per context on Cloud).
            FieldOptions = field_options, snapshot, "field_options";
        }
    };
}

pub mod config;
pub mod jira;
pub mod objects;
pub mod transform;
pub mod table;
pub mod report;
pub mod metrics;
pub mod progress;

pub mod runner;
pub mod state;
pub mod schedule;
pub mod check;
pub mod discover;
pub mod dbt;
