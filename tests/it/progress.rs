//! What a person watching sees: progress bars on a terminal (run under a pseudo-terminal with
//! `script`), none in pipes, and JSON lines with `--log-format json`.

use crate::common::{self, PipelineYaml};

#[test]
fn progress_bars_on_a_terminal_and_none_in_pipes() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_jirapipe");
    let cmd = format!("{bin} demo --issues 400 --dir {}", dir.path().join("tty").display());
    // `script` gives the command a pseudo-terminal and copies what it draws to stdout.
    let out = std::process::Command::new("script").args(["-qec", &cmd, "/dev/null"]).output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    let bar = screen.lines().find(|l| l.contains("issues") && l.contains("rows") && l.contains("/s"));
    assert!(bar.is_some(), "a bar with rows and a rate for issues:\n{screen}");
    assert!(screen.contains("\u{1b}["), "drawn with terminal escapes");

    let out =
        common::jirapipe().args(["demo", "--issues", "400", "--dir"]).arg(dir.path().join("pipe")).output().unwrap();
    assert!(out.status.success());
    for text in [String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)] {
        assert!(!has_rate(&text) && !text.contains("\u{1b}["), "no bars or escapes in pipes:\n{text}");
    }
}

/// Whether `text` shows a rate (`12/s`), as a bar does: a `/s` that ends a word. Table paths
/// (`…/sprints/`, `…/statuses/`) have `/s` inside a word.
fn has_rate(text: &str) -> bool {
    text.match_indices("/s").any(|(i, _)| !text[i + 2..].starts_with(|c: char| c.is_alphanumeric() || c == '_'))
}

#[test]
fn a_rate_is_told_from_a_table_path() {
    assert!(has_rate("issues  1200 rows  340/s"));
    assert!(has_rate("issues 12/s"));
    assert!(!has_rate("sprints 30 rows -> file:///tmp/x/sprints/ (version 0)\nstatuses -> /tmp/x/statuses/"));
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_are_json_lines() {
    let sim = common::sim_with_issues(50).await;
    let dir = tempfile::tempdir().unwrap();
    let file = PipelineYaml::new("j", "  issues: {}\n  boards: {}").write(dir.path(), "p.yaml");
    let out = common::jirapipe_for(&sim).args(["--log-format", "json", "run"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert!(lines.iter().any(|l| l["fields"]["message"] == "run started"), "{stderr}");
    // The board whose filter is not shared is a warning, as JSON too.
    assert!(lines.iter().any(|l| l["level"] == "WARN" && l["fields"]["object"] == "boards"), "{stderr}");
}
