//! The source tree's own rules, checked where every change is tested: the module graph has no
//! cycle, and no line is left over `max_width` by rustfmt giving up on it.

use std::process::Command;

use crate::common::root;

fn script(name: &str) -> (bool, String) {
    let out = Command::new("python3").arg(root().join("scripts").join(name)).current_dir(root()).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn the_module_graph_has_no_cycle() {
    let (ok, text) = script("module-graph.py");
    assert!(ok, "{text}");
}

#[test]
fn no_line_is_left_over_max_width() {
    let (ok, text) = script("long-lines.py");
    assert!(ok, "{text}");
}

#[test]
fn the_module_check_finds_a_cycle() {
    // The checker itself must be able to fail: a copy of the tree with one back edge added.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("config")).unwrap();
    std::fs::create_dir_all(src.join("jira")).unwrap();
    std::fs::write(src.join("config/mod.rs"), "use crate::jira::JiraClient;\n").unwrap();
    std::fs::write(src.join("jira/mod.rs"), "use crate::config::Source;\n").unwrap();
    let out =
        Command::new("python3").arg(root().join("scripts/module-graph.py")).current_dir(dir.path()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("module cycle: config -> jira -> config"));
}
