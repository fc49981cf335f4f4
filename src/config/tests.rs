//! Every way a pipeline file can be wrong, each with where and how to fix it.

use std::path::Path;

use super::*;

const BASE: &str = "\
version: 1
name: acme
source:
  site: https://acme.atlassian.net
  auth:
    type: api_token
    email: me@acme.com
    token: ${JIRA_API_TOKEN}
destination:
  url: s3://lake/jira
objects:
  issues: {sync: full_refresh}
";

fn vars() -> Vars {
    Vars::only([("JIRA_API_TOKEN", "tok"), ("JIRA_MASK_KEY", "k")])
}

fn load(text: &str) -> Result<Pipeline, LoadError> {
    load_str(text, "p.yaml", Path::new("/etc/jirapipe"), &vars())
}

/// The single error of an invalid file.
fn error(text: &str) -> ConfigError {
    match load(text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(LoadError::Invalid { mut errors, .. }) => {
            assert_eq!(errors.len(), 1, "{errors:#?}");
            errors.remove(0)
        }
        Err(e) => panic!("unexpected {e}"),
    }
}

#[track_caller]
fn assert_error(text: &str, line: usize, column: usize, message: &str, help: &str) {
    let e = error(text);
    assert_eq!((e.line, e.column), (line, column), "{e}");
    assert!(e.message.contains(message), "message `{}` lacks `{message}`", e.message);
    assert!(e.help.contains(help), "help `{}` lacks `{help}`", e.help);
    assert!(e.to_string().starts_with(&format!("p.yaml:{line}:{column}: ")), "{e}");
}

#[test]
fn the_base_file_is_valid() {
    let p = load(BASE).unwrap();
    assert_eq!(p.name, "acme");
    assert_eq!(p.source.base_url.as_str(), "https://acme.atlassian.net/");
    let Auth::ApiToken { email, token, .. } = &p.source.auth else { panic!() };
    assert_eq!((email.as_str(), token.expose()), ("me@acme.com", "tok"));
    assert_eq!(p.objects.len(), 1);
    assert_eq!(p.objects[0].sync, SyncMode::FullRefresh);
}

#[test]
fn malformed_yaml() {
    assert_error("version: 1\nname: [\n", 2, 7, "expected", "indentation");
    assert_error("version: 1\nname: \"acme\n", 2, 7, "", "quoting");
}

#[test]
fn unknown_key_suggests_the_closest() {
    assert_error(&BASE.replace("  site:", "  sitee:"), 4, 3, "unknown field `sitee`", "did you mean `site`?");
    assert_error(&BASE.replace("destination:", "destinaton:"), 9, 1, "unknown field", "did you mean `destination`?");
}

#[test]
fn wrong_type() {
    assert_error(&BASE.replace("version: 1", "version: one"), 1, 10, "invalid", "type");
    assert_error(&BASE.replace("  issues: {sync: full_refresh}", "  issues: [full_refresh]"), 12, 11, "", "");
}

#[test]
fn missing_required_key() {
    let e = error(&BASE.replace("name: acme\n", ""));
    assert!(e.message.contains("missing field `name`"), "{e}");
    assert!(e.help.contains("add `name:`"), "{}", e.help);
    assert_error(&BASE.replace("    email: me@acme.com\n", ""), 6, 11, "`email` is required", "email: ${JIRA_EMAIL}");
}

#[test]
fn unknown_object_name() {
    assert_error(&BASE.replace("  issues:", "  isues:"), 12, 3, "unknown field `isues`", "did you mean `issues`?");
    assert_error(&BASE.replace("  issues:", "  sprint:"), 12, 3, "unknown field `sprint`", "did you mean `sprints`?");
}

#[test]
fn unknown_sync_mode() {
    assert_error(
        &BASE.replace("sync: full_refresh", "sync: fullrefresh"),
        12,
        18,
        "unknown variant `fullrefresh`",
        "did you mean `full_refresh`?",
    );
}

#[test]
fn missing_variable_points_at_it() {
    let text = BASE.replace("${JIRA_API_TOKEN}", "${JIRA_TOKEN_TYPO}");
    assert_error(&text, 8, 12, "`JIRA_TOKEN_TYPO`", "export JIRA_TOKEN_TYPO=");
    // Inside a quoted string, after other text.
    let text = BASE.replace("url: s3://lake/jira", "url: \"s3://lake/${ENVIRONMENT}/jira\"");
    assert_error(&text, 10, 19, "`ENVIRONMENT`", "export ENVIRONMENT=");
}

#[test]
fn unsupported_destination_scheme() {
    assert_error(&BASE.replace("s3://lake/jira", "ftp://lake/jira"), 10, 8, "`ftp://` is not supported", "s3://");
}

#[test]
fn empty_objects() {
    assert_error(
        &BASE.replace("objects:\n  issues: {sync: full_refresh}\n", "objects: {}\n"),
        11,
        10,
        "`objects` is empty",
        "issues",
    );
}

#[test]
fn duplicate_keys() {
    assert_error(&format!("{BASE}name: other\n"), 13, 1, "duplicate", "only once");
    assert_error(
        &BASE.replace("    email: me@acme.com\n", "    email: me@acme.com\n    email: you@acme.com\n"),
        8,
        5,
        "duplicate",
        "only once",
    );
}

#[test]
fn secrets_must_not_be_inline() {
    assert_error(&BASE.replace("${JIRA_API_TOKEN}", "abc123"), 8, 12, "inline", "token: ${JIRA_TOKEN}");
}

#[test]
fn secrets_from_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tok"), "from-file\n").unwrap();
    let text = BASE.replace("token: ${JIRA_API_TOKEN}", "token_file: tok");
    let p = load_str(&text, "p.yaml", dir.path(), &vars()).unwrap();
    let Auth::ApiToken { token, .. } = p.source.auth else { panic!() };
    assert_eq!(token.expose(), "from-file");
    // The file's content never shows up in Debug output.
    assert!(!format!("{token:?}").contains("from-file"));

    let missing = BASE.replace("token: ${JIRA_API_TOKEN}", "token_file: nope");
    let Err(LoadError::Invalid { errors, .. }) = load_str(&missing, "p.yaml", dir.path(), &vars()) else { panic!() };
    assert!(errors[0].message.contains("cannot read `token_file`"), "{}", errors[0]);
    let both = BASE.replace("token: ${JIRA_API_TOKEN}", "token: ${JIRA_API_TOKEN}\n    token_file: tok");
    assert_error(&both, 9, 17, "both `token` and `token_file`", "keep one");
}

#[test]
fn auth_must_match_the_deployment() {
    assert_error(
        &BASE.replace("type: api_token", "type: pat").replace("    email: me@acme.com\n", ""),
        6,
        11,
        "only on Jira Data Center",
        "api_token",
    );
    let dc = BASE.replace("  site:", "  deployment: data_center\n  base_url:");
    assert_error(&dc, 7, 11, "Data Center uses a PAT", "type: pat");
    let pat = dc.replace("type: api_token", "type: pat").replace("    email: me@acme.com\n", "");
    let p = load(&pat).unwrap();
    assert!(matches!(p.source.auth, Auth::Pat { .. }));
    assert_error(&BASE.replace("  site:", "  base_url:"), 4, 13, "`base_url` is for Data Center", "site");
    assert_error(
        &pat.replace("    type: pat\n", "    type: pat\n    password: x\n"),
        8,
        15,
        "`password` is not used with `type: pat`",
        "remove",
    );
}

#[test]
fn site_must_be_a_url() {
    assert_error(
        &BASE.replace("https://acme.atlassian.net", "acme"),
        4,
        9,
        "not an http(s) URL",
        "https://acme.atlassian.net",
    );
}

#[test]
fn field_selection_rules() {
    let both = BASE.replace("{sync: full_refresh}", "{fields: {include: [summary], exclude: [labels]}}");
    assert_error(&both, 12, 50, "both `include` and `exclude`", "keep one");
    let no_id = BASE.replace("{sync: full_refresh}", "{fields: {exclude: [summary, id]}}");
    assert_error(&no_id, 12, 40, "`id` cannot be excluded", "remove `id`");
    let empty = BASE.replace("{sync: full_refresh}", "{fields: {include: []}}");
    assert_error(&empty, 12, 30, "`fields.include` is empty", "list the fields");
    let ok = BASE.replace("{sync: full_refresh}", "{fields: {include: [summary, customfield_10016]}}");
    let p = load(&ok).unwrap();
    assert!(
        p.objects[0].fields.keeps("id") && p.objects[0].fields.keeps("summary") && !p.objects[0].fields.keeps("labels")
    );
}

#[test]
fn hashing_needs_a_key_and_never_the_id() {
    let no_key = BASE.replace("{sync: full_refresh}", "{hash: [assignee.emailAddress]}");
    assert_error(&no_key, 12, 19, "no masking key", "`masking:` block with `key: ${JIRA_MASK_KEY}`");
    // `${}` inside a flow mapping must be quoted; the error says so.
    assert_error(&format!("{no_key}masking: {{key: ${{JIRA_MASK_KEY}}}}\n"), 13, 17, "flow mapping", "quote values");
    let with_key = format!("{no_key}masking:\n  key: ${{JIRA_MASK_KEY}}\n");
    let p = load(&with_key).unwrap();
    assert_eq!(p.objects[0].hash, ["assignee.emailAddress"]);
    assert_eq!(p.masking_key.unwrap().expose(), "k");
    let id = with_key.replace("[assignee.emailAddress]", "[id]");
    assert_error(&id, 12, 19, "`id` cannot be hashed", "remove `id`");
}

#[test]
fn only_issues_take_jql_and_incremental() {
    let text = BASE.replace("  issues: {sync: full_refresh}", "  users: {sync: incremental}");
    assert_error(&text, 12, 17, "cannot be extracted incrementally", "full_refresh");
    let text = BASE.replace("  issues: {sync: full_refresh}", "  projects: {jql: project = X}");
    assert_error(&text, 12, 19, "`jql` applies only to issues", "objects.issues");
    let text = BASE.replace("{sync: full_refresh}", "{sync: full_refresh, jql: project = X order  by rank}");
    assert_error(&text, 12, 37, "must not contain `ORDER BY`", "remove the `ORDER BY");
}

#[test]
fn defaults() {
    let p = load(&BASE.replace("{sync: full_refresh}", "{}").replace("objects:\n", "objects:\n  users: {}\n")).unwrap();
    let issues = p.object(ObjectKind::Issues).unwrap();
    assert_eq!(issues.sync, SyncMode::Incremental);
    assert_eq!(issues.schema_drift, SchemaDrift::AutoSync);
    assert_eq!(issues.fields, FieldSelection::All);
    assert_eq!(p.object(ObjectKind::Users).unwrap().sync, SyncMode::FullRefresh);
}

#[test]
fn local_destinations_are_relative_to_the_pipeline_file() {
    let p = load(&BASE.replace("s3://lake/jira", "../lake")).unwrap();
    assert_eq!(p.destination.url.as_str(), "file:///etc/jirapipe/../lake/");
    let p = load(&BASE.replace("s3://lake/jira", "file:///data/jira")).unwrap();
    assert_eq!(p.destination.url.as_str(), "file:///data/jira");
}

#[test]
fn schedule_needs_exactly_one_of_cron_and_every() {
    let both = format!("{BASE}schedule: {{cron: \"*/15 * * * *\", every: 30m}}\n");
    assert_error(&both, 13, 41, "both `cron` and `every`", "exactly one");
    let p = load(&format!("{BASE}schedule: {{every: 30m}}\n")).unwrap();
    assert_eq!(p.schedule.unwrap().timezone(), chrono_tz::Tz::UTC);
}

#[test]
fn several_problems_are_reported_together() {
    let text = BASE.replace("version: 1", "version: 2").replace("s3://lake/jira", "ftp://x");
    let Err(LoadError::Invalid { errors, .. }) = load(&text) else { panic!() };
    assert_eq!(errors.len(), 2, "{errors:#?}");
}

#[test]
fn the_design_example_is_valid() {
    let text = r#"
version: 1
name: acme
source:
  deployment: cloud
  site: https://acme.atlassian.net
  auth:
    type: api_token
    email: ${JIRA_EMAIL}
    token: ${JIRA_API_TOKEN}
destination:
  url: s3://analytics/jira
schedule:
  cron: "*/15 * * * *"
masking:
  key: ${JIRA_MASK_KEY}
objects:
  issues:
    sync: incremental
    jql: project in (ENG, OPS)
    fields: {include: [summary, status, assignee, created, updated, customfield_10016]}
    hash: [assignee.emailAddress, reporter.emailAddress]
    schema_drift: block
  projects: {sync: full_refresh}
  users: {sync: full_refresh, hash: [emailAddress]}
  boards: {sync: full_refresh}
  fields: {sync: full_refresh}
"#;
    let vars = Vars::only([("JIRA_EMAIL", "e"), ("JIRA_API_TOKEN", "t"), ("JIRA_MASK_KEY", "k")]);
    let p = load_str(text, "p.yaml", Path::new("."), &vars).unwrap();
    assert_eq!(p.objects.len(), 5);
    assert_eq!(p.object(ObjectKind::Issues).unwrap().schema_drift, SchemaDrift::Block);
    assert_eq!(p.object(ObjectKind::Issues).unwrap().jql.as_deref(), Some("project in (ENG, OPS)"));
}

#[test]
fn service_account_and_data_center_oauth_blocks() {
    // A scoped token goes through the gateway; `cloud_id` makes sense only then.
    let scoped =
        BASE.replace("token: ${JIRA_API_TOKEN}", "token: ${JIRA_API_TOKEN}\n    scoped: true\n    cloud_id: c1");
    let p = load(&scoped).unwrap();
    let Auth::ApiToken { gateway: Some(g), .. } = &p.source.auth else { panic!("{:?}", p.source.auth) };
    assert_eq!((g.cloud_id.as_deref(), g.api_url.as_str()), (Some("c1"), "https://api.atlassian.com/"));
    let unscoped = BASE.replace("token: ${JIRA_API_TOKEN}", "token: ${JIRA_API_TOKEN}\n    cloud_id: c1");
    assert_error(&unscoped, 9, 15, "`cloud_id` is not used with `type: api_token`", "remove `cloud_id`");
    let bad_date = BASE.replace("token: ${JIRA_API_TOKEN}", "token: ${JIRA_API_TOKEN}\n    expires: next year");
    assert_error(&bad_date, 9, 14, "`expires` must be a date", "YYYY-MM-DD");

    // Client credentials: no refresh token, no store.
    let cc = BASE.replace(
        "    type: api_token\n    email: me@acme.com\n    token: ${JIRA_API_TOKEN}",
        "    type: oauth2_client_credentials\n    client_id: sa\n    client_secret: ${JIRA_API_TOKEN}",
    );
    assert!(matches!(load(&cc).unwrap().source.auth, Auth::ClientCredentials(_)));
    let with_refresh = cc.replace("client_id: sa", "client_id: sa\n    refresh_token: ${JIRA_API_TOKEN}");
    assert_error(&with_refresh, 8, 20, "`refresh_token` is not used", "remove `refresh_token`");

    // Data Center OAuth: the token URL is the site's own, and the link's redirect URL is needed.
    let dc = BASE.replace("  site:", "  deployment: data_center\n  base_url:").replace(
        "    type: api_token\n    email: me@acme.com\n    token: ${JIRA_API_TOKEN}",
        "    type: oauth2\n    client_id: dc\n    client_secret: ${JIRA_API_TOKEN}\n    refresh_token: ${JIRA_API_TOKEN}",
    );
    assert_error(&dc, 7, 11, "`redirect_uri` is required", "Redirect URL");
    let dc = dc.replace("client_id: dc", "client_id: dc\n    redirect_uri: https://x.example/cb");
    let p = load(&dc).unwrap();
    let Auth::OAuth2(o) = &p.source.auth else { panic!() };
    assert_eq!(o.token_url.as_str(), "https://acme.atlassian.net/rest/oauth2/latest/token");
    assert_eq!(o.provider, crate::config::OAuthProvider::DataCenter);
    assert_error(
        &dc.replace("client_id: dc", "client_id: dc\n    cloud_id: c1"),
        9,
        15,
        "`cloud_id` is not used",
        "remove",
    );
}
