//! The granular OAuth 2.0 scopes each object's endpoints need, for scoped API tokens and
//! service-account OAuth credentials, which may hold granular scopes instead of the classic
//! `read:jira-work` / `read:jira-user`. Derived from `x-atlassian-oauth2-scopes` of the Jira
//! Cloud platform v3 spec (the `Beta` entry of each operation jirapipe calls) and, for the agile
//! API, from its reference; `crates/jira-sim/src/scopes.rs` enforces the same table.

const SEARCH: &[&str] = &[
    "read:issue-details:jira",
    "read:audit-log:jira",
    "read:avatar:jira",
    "read:field-configuration:jira",
    "read:issue-meta:jira",
    "read:field.default-value:jira",
    "read:field.option:jira",
    "read:field:jira",
    "read:group:jira",
];
const FETCH: &[&str] = &[
    "read:issue-security-level:jira",
    "read:issue.vote:jira",
    "read:issue.changelog:jira",
    "read:issue:jira",
    "read:status:jira",
    "read:user:jira",
];
const FIELDS: &[&str] = &[
    "read:field:jira",
    "read:avatar:jira",
    "read:project-category:jira",
    "read:project:jira",
    "read:field-configuration:jira",
];
const PROJECTS: &[&str] = &[
    "read:issue-type:jira",
    "read:project:jira",
    "read:project.property:jira",
    "read:user:jira",
    "read:application-role:jira",
    "read:avatar:jira",
    "read:group:jira",
    "read:issue-type-hierarchy:jira",
    "read:project-category:jira",
    "read:project-version:jira",
    "read:project.component:jira",
];
const USERS: &[&str] = &["read:user:jira", "read:application-role:jira", "read:avatar:jira", "read:group:jira"];
const COMMENTS: &[&str] = &[
    "read:comment:jira",
    "read:comment.property:jira",
    "read:project:jira",
    "read:project-role:jira",
    "read:user:jira",
];
const WORKLOGS: &[&str] = &[
    "read:issue-worklog:jira",
    "read:issue-worklog.property:jira",
    "read:comment:jira",
    "read:project-role:jira",
    "read:user:jira",
];
const BOARDS: &[&str] =
    &["read:board-scope:jira-software", "read:board-scope.admin:jira-software", "read:project:jira"];

const ISSUE_TYPES: &[&str] =
    &["read:issue-type:jira", "read:avatar:jira", "read:project-category:jira", "read:project:jira"];

/// The granular scopes `target` (an object, or `auth` for `/myself`) needs, sorted.
pub fn granular_scopes(target: &str) -> Vec<&'static str> {
    let parts: &[&[&str]] = match target {
        "auth" => &[USERS],
        "issues" | "issue_links" => &[SEARCH, FETCH, FIELDS],
        "changelog" | "status_intervals" | "field_history" => &[SEARCH, FETCH],
        "comments" => &[SEARCH, COMMENTS],
        "worklogs" => &[SEARCH, WORKLOGS],
        "projects" => &[PROJECTS],
        "users" => &[USERS],
        "fields" => &[FIELDS],
        "boards" => &[BOARDS],
        "sprints" => &[BOARDS, &["read:sprint:jira-software"]],
        "versions" => &[PROJECTS],
        "components" => &[PROJECTS, &["read:project.component:jira"]],
        "statuses" => &[&["read:status:jira"]],
        "resolutions" => &[&["read:resolution:jira"]],
        "labels" => &[&["read:label:jira"]],
        "issue_types" => &[ISSUE_TYPES],
        "project_categories" => &[&["read:project-category:jira"]],
        "field_options" => {
            &[&["read:custom-field-contextual-configuration:jira", "read:field.option:jira", "read:field:jira"]]
        }
        "priorities" => &[&["read:priority:jira"]],
        _ => &[],
    };
    let mut all: Vec<&str> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
    all
}
