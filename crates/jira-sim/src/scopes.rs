//! The OAuth 2.0 scopes each endpoint needs, classic and granular, as Atlassian's specs list
//! them: `x-atlassian-oauth2-scopes` of the Jira Cloud platform v3 spec (the `Current` entry is
//! the classic scope, the `Beta` entry the granular ones), and for the agile API the scopes its
//! reference lists (its spec leaves `getAllBoards` empty). A token holding the classic scope or
//! every granular one may call the endpoint; scoped API tokens of service accounts hold either.

/// The classic scope `path` needs (`None`: any valid token).
pub(crate) fn classic(path: &str) -> Option<&'static str> {
    if path.ends_with("/serverInfo") {
        None
    } else if path.ends_with("/group/member") || path.ends_with("/context") || path.ends_with("/option") {
        // Custom field contexts and their options: the v3 spec's `Current` scope.
        Some("manage:jira-configuration")
    } else if path.contains("/myself") || path.contains("/users/search") || path.contains("/user/search") {
        Some("read:jira-user")
    } else {
        Some("read:jira-work")
    }
}

const AVATAR: &str = "read:avatar:jira";

/// The granular scopes `method path` needs, every one of them.
pub(crate) fn granular(method: &str, path: &str) -> &'static [&'static str] {
    let p = path;
    if p.ends_with("/serverInfo") {
        &[]
    } else if (p.ends_with("/search/jql") || p.ends_with("/api/3/search")) && method == "GET" {
        &[
            "read:issue-details:jira",
            "read:audit-log:jira",
            AVATAR,
            "read:field-configuration:jira",
            "read:issue-meta:jira",
        ]
    } else if p.ends_with("/search/jql") || p.ends_with("/search/approximate-count") || p.ends_with("/api/3/search") {
        &[
            "read:issue-details:jira",
            "read:field.default-value:jira",
            "read:field.option:jira",
            "read:field:jira",
            "read:group:jira",
        ]
    } else if p.ends_with("/changelog/bulkfetch") {
        &["read:issue-meta:jira", AVATAR, "read:issue.changelog:jira"]
    } else if p.ends_with("/issue/bulkfetch")
        || (p.contains("/issue/") && !p.ends_with("/comment") && !p.ends_with("/worklog"))
    {
        &[
            "read:issue-meta:jira",
            "read:issue-security-level:jira",
            "read:issue.vote:jira",
            "read:issue.changelog:jira",
            AVATAR,
            "read:issue:jira",
            "read:status:jira",
            "read:user:jira",
            "read:field-configuration:jira",
        ]
    } else if p.ends_with("/comment") {
        &[
            "read:comment:jira",
            "read:comment.property:jira",
            "read:group:jira",
            "read:project:jira",
            "read:project-role:jira",
            "read:user:jira",
            AVATAR,
        ]
    } else if p.ends_with("/worklog") {
        &[
            "read:group:jira",
            "read:issue-worklog:jira",
            "read:issue-worklog.property:jira",
            "read:project-role:jira",
            "read:user:jira",
            AVATAR,
        ]
    } else if p.ends_with("/worklog/updated") || p.ends_with("/worklog/deleted") {
        &["read:issue-worklog:jira", "read:issue-worklog.property:jira"]
    } else if p.ends_with("/worklog/list") {
        &[
            "read:comment:jira",
            "read:group:jira",
            "read:issue-worklog:jira",
            "read:issue-worklog.property:jira",
            "read:project-role:jira",
            "read:user:jira",
            AVATAR,
        ]
    } else if p.ends_with("/project/search") {
        &[
            "read:issue-type:jira",
            "read:project:jira",
            "read:project.property:jira",
            "read:user:jira",
            "read:application-role:jira",
            AVATAR,
            "read:group:jira",
            "read:issue-type-hierarchy:jira",
            "read:project-category:jira",
            "read:project-version:jira",
            "read:project.component:jira",
        ]
    } else if p.ends_with("/version") {
        &["read:project-version:jira"]
    } else if p.ends_with("/component") {
        &[
            "read:project:jira",
            "read:project.component:jira",
            "read:user:jira",
            "read:application-role:jira",
            AVATAR,
            "read:group:jira",
        ]
    } else if p.ends_with("/users/search") {
        &["read:user:jira", "read:application-role:jira", AVATAR, "read:group:jira"]
    } else if p.ends_with("/myself") {
        &["read:application-role:jira", "read:group:jira", "read:user:jira", AVATAR]
    } else if p.ends_with("/group/member") {
        &["read:group:jira", "read:user:jira", AVATAR]
    } else if p.ends_with("/field") {
        &["read:field:jira", AVATAR, "read:project-category:jira", "read:project:jira", "read:field-configuration:jira"]
    } else if p.ends_with("/status") {
        &["read:status:jira"]
    } else if p.ends_with("/priority") {
        &["read:priority:jira"]
    } else if p.ends_with("/resolution/search") {
        &["read:resolution:jira"]
    } else if p.ends_with("/label") {
        &["read:label:jira"]
    } else if p.ends_with("/issuetype") {
        &["read:issue-type:jira", AVATAR, "read:project-category:jira", "read:project:jira"]
    } else if p.ends_with("/projectCategory") {
        &["read:project-category:jira"]
    } else if p.ends_with("/context") {
        &["read:field:jira", "read:custom-field-contextual-configuration:jira"]
    } else if p.ends_with("/option") {
        &["read:field.option:jira"]
    } else if p.ends_with("/mypermissions") {
        &["read:permission:jira"]
    } else if p.ends_with("/configuration") {
        &["read:board-scope.admin:jira-software", "read:project:jira"]
    } else if p.ends_with("/sprint") {
        &["read:sprint:jira-software"]
    } else if p.ends_with("/rest/agile/1.0/board") {
        &["read:board-scope:jira-software", "read:project:jira"]
    } else {
        &["read:jira-work"]
    }
}

/// Whether `held` may call `method path`: the classic scope, or every granular one.
pub(crate) fn allows(held: &[String], method: &str, path: &str) -> bool {
    let has = |s: &str| held.iter().any(|h| h == s);
    match classic(path) {
        None => true,
        Some(c) if has(c) => true,
        Some(_) => {
            let g = granular(method, path);
            !g.is_empty() && g.iter().all(|s| has(s))
        }
    }
}

/// Every granular scope a read-only extractor needs, for default service-account tokens.
pub fn all_granular_read_scopes() -> Vec<String> {
    let mut all: Vec<String> = [
        ("GET", "/rest/api/3/search/jql"),
        ("POST", "/rest/api/3/search/jql"),
        ("POST", "/rest/api/3/issue/bulkfetch"),
        ("POST", "/rest/api/3/changelog/bulkfetch"),
        ("GET", "/rest/api/3/issue/1/comment"),
        ("GET", "/rest/api/3/issue/1/worklog"),
        ("POST", "/rest/api/3/worklog/list"),
        ("GET", "/rest/api/3/project/search"),
        ("GET", "/rest/api/3/project/X/version"),
        ("GET", "/rest/api/3/project/X/component"),
        ("GET", "/rest/api/3/users/search"),
        ("GET", "/rest/api/3/myself"),
        ("GET", "/rest/api/3/group/member"),
        ("GET", "/rest/api/3/field"),
        ("GET", "/rest/api/3/status"),
        ("GET", "/rest/api/3/priority"),
        ("GET", "/rest/api/3/resolution/search"),
        ("GET", "/rest/api/3/label"),
        ("GET", "/rest/api/3/issuetype"),
        ("GET", "/rest/api/3/projectCategory"),
        ("GET", "/rest/api/3/field/customfield_1/context"),
        ("GET", "/rest/api/3/field/customfield_1/context/1/option"),
        ("GET", "/rest/api/3/mypermissions"),
        ("GET", "/rest/agile/1.0/board"),
        ("GET", "/rest/agile/1.0/board/1/configuration"),
        ("GET", "/rest/agile/1.0/board/1/sprint"),
    ]
    .iter()
    .flat_map(|(m, p)| granular(m, p).iter().map(|s| s.to_string()))
    .collect();
    all.sort();
    all.dedup();
    all
}
