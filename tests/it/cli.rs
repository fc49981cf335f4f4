//! The command line as a user meets it: exit codes, located messages, secrets never printed.

use jira_sim::{DatasetConfig, RunningSim, SimConfig};

use crate::common::{self, OFFLINE_ENV, Out, output, write_file};

const GOOD: &str = "\
# yaml-language-server: $schema=../schemas/pipeline.schema.json
version: 1
name: cli-test
source:
  site: ${JIRA_SITE}
  auth:
    type: api_token
    email: ${JIRA_EMAIL}
    token: ${JIRA_API_TOKEN}
destination:
  url: ${OUT_DIR}
objects:
  issues:
    sync: full_refresh
    jql: project = OPS
    fields: {include: [summary, updated, customfield_10016]}
";

#[test]
fn validate_reports_each_problem_located_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("malformed.yaml", "version: 1\nname: \"acme\n".to_string(), "malformed.yaml:2:7", "quoting"),
        ("unknown.yaml", GOOD.replace("  site:", "  sitee:"), "unknown.yaml:5:3", "did you mean `site`?"),
        ("type.yaml", GOOD.replace("version: 1", "version: one"), "type.yaml:2:10", "wrong type"),
        ("missing.yaml", GOOD.replace("name: cli-test\n", ""), "missing.yaml:", "add `name:`"),
        ("object.yaml", GOOD.replace("  issues:", "  isues:"), "object.yaml:13:3", "did you mean `issues`?"),
        (
            "sync.yaml",
            GOOD.replace("sync: full_refresh", "sync: full"),
            "sync.yaml:14:11",
            "did you mean `full_refresh`?",
        ),
        (
            "var.yaml",
            GOOD.replace("${JIRA_API_TOKEN}", "${NOT_SET_ANYWHERE}"),
            "var.yaml:9:12",
            "export NOT_SET_ANYWHERE=",
        ),
        ("scheme.yaml", GOOD.replace("${OUT_DIR}", "ftp://x/y"), "scheme.yaml:11:8", "s3://"),
        (
            "empty.yaml",
            GOOD.split("objects:").next().unwrap().to_string() + "objects: {}\n",
            "empty.yaml:12:10",
            "add at least one object",
        ),
        ("dup.yaml", format!("{GOOD}name: again\n"), "dup.yaml:17:1", "only once"),
    ];
    for (name, text, location, help) in &cases {
        let f = write_file(dir.path(), name, text);
        let Out { code, stderr, .. } = output(
            common::jirapipe()
                .arg("validate")
                .arg(&f)
                .envs(OFFLINE_ENV)
                .env("OUT_DIR", "/tmp/x")
                .current_dir(dir.path()),
        );
        assert_eq!(code, Some(2), "{name}:\n{stderr}");
        assert!(stderr.contains(location), "{name}: no `{location}` in:\n{stderr}");
        assert!(stderr.contains(help), "{name}: no `{help}` in:\n{stderr}");
        // The offending line is shown.
        let line: usize = location.split(':').nth(1).unwrap().parse().unwrap_or(0);
        if line > 0 {
            let src_line = text.lines().nth(line - 1).unwrap().trim();
            assert!(stderr.contains(src_line), "{name}: offending line `{src_line}` not shown:\n{stderr}");
        }
    }
}

#[test]
fn validate_accepts_good_files_and_reports_all_files() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_file(dir.path(), "good.yaml", GOOD);
    let bad = write_file(dir.path(), "bad.yaml", &GOOD.replace("version: 1", "version: 9"));
    let validate = || {
        let mut c = common::jirapipe();
        c.arg("validate").envs(OFFLINE_ENV).env("OUT_DIR", "/tmp/x");
        c
    };
    let Out { code, stdout, .. } = output(validate().arg(&good));
    assert_eq!(code, Some(0));
    assert!(stdout.contains("ok  ") && stdout.contains("cli-test"), "{stdout}");
    let Out { code, stdout, stderr } = output(validate().arg(&good).arg(&bad));
    assert_eq!(code, Some(2));
    assert!(stdout.contains("ok  ") && stdout.contains("bad "), "{stdout}");
    assert!(stderr.contains("set `version: 1`"), "{stderr}");
    let Out { code, stderr, .. } = output(common::jirapipe().arg("validate").arg(dir.path().join("nope.yaml")));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("cannot read pipeline file"), "{stderr}");
}

#[test]
fn help_explains_exit_codes_and_first_steps() {
    let Out { code, stdout, .. } = output(common::jirapipe().arg("--help"));
    assert_eq!(code, Some(0));
    for needle in ["validate", "run", "demo", "Exit codes", "0  success", "1  the run failed", "2  bad input"] {
        assert!(stdout.contains(needle), "--help lacks `{needle}`:\n{stdout}");
    }
    let Out { code, stderr, .. } = output(common::jirapipe().arg("frobnicate"));
    assert_eq!(code, Some(2), "{stderr}");
}

fn sim() -> (tokio::runtime::Runtime, RunningSim) {
    common::blocking_sim(SimConfig { data: DatasetConfig { issues: 120, ..Default::default() }, ..Default::default() })
}

/// `jirapipe run` of `file` against `sim`, writing under `out_dir`.
fn run(sim: &RunningSim, file: &std::path::Path, out_dir: &std::path::Path) -> std::process::Command {
    let mut c = common::jirapipe_for(sim);
    c.arg("run").arg(file).env("OUT_DIR", out_dir);
    c
}

#[test]
fn run_extracts_selected_fields_of_the_jql_only() {
    let (_rt, sim) = sim();
    let dir = tempfile::tempdir().unwrap();
    let f = write_file(dir.path(), "p.yaml", GOOD);
    let out_dir = dir.path().join("out");
    let Out { code, stdout, stderr } = output(&mut run(&sim, &f, &out_dir));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(!stdout.contains(sim.api_token()) && !stderr.contains(sim.api_token()), "token leaked");
    let (schema, rows) = common::read_with_python(&out_dir.join("issues"));
    let columns: Vec<&str> = schema["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(
        columns,
        ["id", "key", "summary", "updated", "customfield_10016", "_extracted_at", "_run_id", "_project_id"]
    );
    // Project OPS is every 5th issue starting at index 1.
    let want: Vec<String> = (0..120u64).filter(|i| i % 5 == 1).map(|i| (10_000 + i).to_string()).collect();
    let got: Vec<String> = rows.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(got, want);
    assert!(rows.iter().all(|r| r["key"].as_str().unwrap().starts_with("OPS-")));
    // The selection was pushed down: Jira was asked for the kept fields only.
    assert!(sim.requests("/rest/api/3/search/jql") >= 1);
}

#[test]
fn wrong_credentials_fail_with_exit_1_without_printing_the_secret() {
    let (_rt, sim) = sim();
    let dir = tempfile::tempdir().unwrap();
    let f = write_file(dir.path(), "p.yaml", GOOD);
    let secret = "wrong-token-7f3a9c";
    let Out { code, stdout, stderr } = output(run(&sim, &f, &dir.path().join("out")).env("JIRA_API_TOKEN", secret));
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("401") && stderr.contains("API token"), "{stderr}");
    assert!(!stdout.contains(secret) && !stderr.contains(secret), "secret printed:\n{stdout}\n{stderr}");
    assert!(!dir.path().join("out/issues/_delta_log").exists(), "nothing may be written on failure");
}

#[test]
fn unknown_included_field_is_bad_input_and_names_the_id_to_use() {
    let (_rt, sim) = sim();
    let dir = tempfile::tempdir().unwrap();
    let f = write_file(dir.path(), "p.yaml", &GOOD.replace("customfield_10016]", "Story Points]"));
    let Out { code, stderr, .. } = output(&mut run(&sim, &f, &dir.path().join("out")));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`Story Points` is the display name of `customfield_10016`"), "{stderr}");
}

#[test]
fn unreachable_site_fails_with_a_connection_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_file(dir.path(), "p.yaml", GOOD);
    // A port nothing listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let Out { code, stderr, .. } = output(
        common::jirapipe()
            .arg("run")
            .arg(&f)
            .envs(OFFLINE_ENV)
            .env("JIRA_SITE", format!("http://127.0.0.1:{port}"))
            .env("OUT_DIR", dir.path().join("out")),
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cannot connect") || stderr.contains("connection failed"), "{stderr}");
}
