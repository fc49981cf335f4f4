//! The checked-in JSON Schema is generated from the Rust types, and every example pipeline
//! points editors at it and validates.

use std::path::PathBuf;

use crate::common::root;

#[test]
fn checked_in_schema_matches_the_types() {
    let generated = serde_json::to_string_pretty(&jirapipe::config::json_schema()).unwrap() + "\n";
    let path = root().join("schemas/pipeline.schema.json");
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "schemas/pipeline.schema.json differs from the pipeline types; regenerate it with\n  UPDATE_SCHEMA=1 cargo test --test it schema::"
    );
}

#[test]
fn schema_describes_every_top_level_key() {
    let schema = jirapipe::config::json_schema();
    let props = schema["properties"].as_object().unwrap();
    for key in ["version", "name", "source", "destination", "schedule", "masking", "objects"] {
        assert!(props.contains_key(key), "{key}");
        assert!(props[key].get("description").is_some(), "{key} has no description");
    }
    assert_eq!(schema["additionalProperties"], false);
}

fn example_pipelines() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_pipeline_names_the_schema_and_validates() {
    let files = example_pipelines();
    assert!(files.len() >= 3, "{files:?}");
    let vars = jirapipe::config::Vars::only([
        ("JIRA_SITE", "https://acme.atlassian.net"),
        ("JIRA_EMAIL", "me@acme.com"),
        ("JIRA_API_TOKEN", "t"),
        ("JIRA_PAT", "t"),
        ("JIRA_CLIENT_ID", "c"),
        ("JIRA_CLIENT_SECRET", "s"),
        ("JIRA_REFRESH_TOKEN", "r"),
        ("JIRA_MASK_KEY", "k"),
        ("JIRAPIPE_DEMO_DIR", "/tmp/demo"),
    ]);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schemas/pipeline.schema.json\n"),
            "{} must start with the yaml-language-server schema line",
            f.display()
        );
        if let Err(e) = jirapipe::config::load_file(&f, &vars) {
            panic!("{} is invalid: {e}\n{:#?}", f.display(), e.errors());
        }
    }
}

/// Every key of the schema appears in the pipeline reference (docs/pipeline.md).
#[test]
fn the_pipeline_reference_covers_every_key() {
    fn keys(v: &serde_json::Value, defs: &serde_json::Value, out: &mut Vec<String>) {
        if let Some(props) = v.get("properties").and_then(|p| p.as_object()) {
            for (k, sub) in props {
                out.push(k.clone());
                keys(sub, defs, out);
            }
        }
        for nested in ["anyOf", "oneOf", "allOf"] {
            for sub in v.get(nested).and_then(|a| a.as_array()).into_iter().flatten() {
                keys(sub, defs, out);
            }
        }
        if let Some(r) = v.get("$ref").and_then(|r| r.as_str()) {
            keys(&defs[r.trim_start_matches("#/$defs/")], defs, out);
        }
    }
    let schema = jirapipe::config::json_schema();
    let mut all = Vec::new();
    keys(&schema, &schema["$defs"], &mut all);
    let reference = std::fs::read_to_string(root().join("docs/pipeline.md")).unwrap();
    for k in all {
        assert!(
            [format!(".{k}`"), format!("`{k}`"), format!("`{k}."), format!(".{k}.")]
                .iter()
                .any(|p| reference.contains(p)),
            "docs/pipeline.md does not document `{k}`"
        );
    }
}
