//! Pipeline files: parse, interpolate, validate. Every failure is a [`ConfigError`] that names
//! file, line and column and says how to fix it.

pub mod cron;
mod error;
mod interpolate;
mod model;
mod pipeline;
mod resolve;
mod secret;

use std::path::Path;

pub use error::{ConfigError, LoadError, SourceFile};
pub use interpolate::Vars;
pub use model::PipelineFile;
pub use pipeline::{
    Auth, ClientCredentials, Deletes, Deployment, Destination, FieldSelection, Gateway, OAuth2, OAuthProvider,
    ObjectConfig, ObjectKind, Pipeline, Schedule, SchemaDrift, Source, SyncMode,
};
pub use secret::Secret;

/// Loads and validates the pipeline file at `path`.
pub fn load_file(path: &Path, vars: &Vars) -> Result<Pipeline, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read { path: path.to_path_buf(), source })?;
    let base_dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    load_str(&text, &path.display().to_string(), base_dir, vars)
}

/// Loads and validates pipeline `text`; `name` is shown in errors, relative paths in the file
/// are read from `base_dir`.
pub fn load_str(text: &str, name: &str, base_dir: &Path, vars: &Vars) -> Result<Pipeline, LoadError> {
    let src = SourceFile { name: name.to_string(), text: text.to_string() };
    let invalid = |errors| LoadError::Invalid { file: name.to_string(), errors };
    let file: PipelineFile = serde_saphyr::from_str(text).map_err(|e| invalid(vec![parse_error(&src, &e)]))?;
    let mut r = resolve::Resolver { src: &src, vars, base_dir, errors: Vec::new() };
    match r.pipeline(&file) {
        Some(p) if r.errors.is_empty() => Ok(p),
        _ => Err(invalid(r.errors)),
    }
}

/// The JSON Schema of pipeline files (checked in as `schemas/pipeline.schema.json`).
pub fn json_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(PipelineFile);
    schema.insert("$id".into(), "https://github.com/jirapipe/jirapipe/schemas/pipeline.schema.json".into());
    schema.insert("title".into(), "jirapipe pipeline".into());
    schema.to_value()
}

/// Turns a YAML/serde error into a located error with a fix hint.
fn parse_error(src: &SourceFile, e: &serde_saphyr::Error) -> ConfigError {
    let loc = e.location().unwrap_or(serde_saphyr::Location::UNKNOWN);
    let message = message_of(e);
    let bad = message.split('`').nth(1).unwrap_or_default().to_string();
    let (label, help) = if message.starts_with("unknown field") {
        ("unknown key", suggestion(&bad, &expected(&message), "key"))
    } else if message.starts_with("unknown variant") {
        ("unknown value", suggestion(&bad, &expected(&message), "value"))
    } else if message.starts_with("missing field") {
        ("required key missing here", format!("add `{bad}:` to this mapping (see the README's pipeline reference)"))
    } else if message.starts_with("duplicate") {
        ("duplicate key", "each key may appear only once in a mapping: delete or merge the repeated one".to_string())
    } else if message.starts_with("invalid") {
        (
            "wrong type",
            "give this key a value of the type the README's pipeline reference lists (quote text that looks like a number or boolean)".to_string(),
        )
    } else if line_of(src, &loc).contains("[]") && message.contains("flow") {
        (
            "YAML error",
            "`[` and `]` delimit a `[ ... ]` list: quote paths that contain `[]`, e.g. `hash: [\"watchers[].emailAddress\"]`".to_string(),
        )
    } else if line_of(src, &loc).contains("${") && message.contains("flow") {
        (
            "YAML error",
            "`{` and `}` end a `{ ... }` mapping: quote values that use variables there, e.g. `{key: \"${JIRA_MASK_KEY}\"}`".to_string(),
        )
    } else {
        ("YAML error", "check indentation (spaces, not tabs), quoting and `key: value` syntax on this line".to_string())
    };
    src.error_at(&loc, message, label, help)
}

fn line_of<'s>(src: &'s SourceFile, loc: &serde_saphyr::Location) -> &'s str {
    src.text.lines().nth((loc.line() as usize).saturating_sub(1)).unwrap_or_default()
}

/// The error's text without the snippet, position and tuning advice the YAML library adds.
fn message_of(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let mut text = text.lines().next().unwrap_or_default().trim().to_string();
    if let Some(i) = text.rfind(" at line ") {
        text.truncate(i);
    }
    if let Some(i) = text.find(", set DuplicateKeyPolicy") {
        text.truncate(i);
    }
    text.trim_end_matches('.').to_string()
}

/// The valid choices listed in "…, expected one of a, b, c" or "…, expected `a` or `b`".
fn expected(message: &str) -> Vec<String> {
    let Some((_, list)) = message.split_once("expected ") else { return Vec::new() };
    let list = list.strip_prefix("one of ").unwrap_or(list);
    list.split(", ")
        .flat_map(|p| p.split(" or "))
        .map(|p| p.trim().trim_matches('`').to_string())
        .filter(|p| !p.is_empty() && !p.contains(' '))
        .collect()
}

/// "did you mean" for a mistyped key or value, with the valid choices.
fn suggestion(bad: &str, valid: &[String], what: &str) -> String {
    let best = valid
        .iter()
        .map(|v| (strsim::jaro_winkler(&bad.to_lowercase(), &v.to_lowercase()), v))
        .filter(|(score, _)| *score > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let choices = valid.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ");
    match best {
        Some((_, v)) => format!("did you mean `{v}`? Valid {what}s here: {choices}"),
        None if valid.is_empty() => format!("remove this {what}"),
        None => format!("valid {what}s here: {choices}"),
    }
}

#[cfg(test)]
mod tests;
