//! From the file as written (`model`) to the validated [`Pipeline`]: interpolation, defaults and
//! every cross-field rule, each failure located and paired with its fix. All problems are
//! collected so one `validate` shows them together.

mod auth;
mod destination;
mod objects;
mod schedule;
mod source;

use std::path::Path;

use serde_saphyr::Location;

use crate::config::error::{ConfigError, SourceFile};
use crate::config::interpolate::{InterpolateError, Vars, interpolate};
use crate::config::model::{AuthKind, PipelineFile, Text};
use crate::config::pipeline::{Deployment, Pipeline};
use crate::config::secret::Secret;

pub(super) struct Resolver<'a> {
    pub src: &'a SourceFile,
    pub vars: &'a Vars,
    /// Directory of the pipeline file: relative paths are read from there.
    pub base_dir: &'a Path,
    pub errors: Vec<ConfigError>,
}

pub(super) const DEFAULT_REQUESTS_PER_SECOND: f64 = 10.0;
pub(super) const DEFAULT_CONCURRENCY: u32 = 4;
/// Long enough to cover JQL's minute precision and ordinary index lag.
pub(super) const DEFAULT_LOOKBACK: std::time::Duration = std::time::Duration::from_secs(5 * 60);
/// One reconciliation marks at most this share of a table deleted unless told otherwise.
pub(super) const DEFAULT_MAX_DELETED_FRACTION: f64 = 0.1;
/// The share of an object's records that may carry a value left null (it did not fit its
/// column) before the object fails: a few odd values are worth a warning, a field that fits
/// nowhere is a shape jirapipe does not understand and must not pass unnoticed.
pub(super) const DEFAULT_MAX_REJECTED_FRACTION: f64 = 0.01;
pub(super) const DEFAULT_RECONCILE_EVERY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

pub(super) const SCHEMES: &str = "file://, s3://, gs://, az://, memory:// or a local path";

impl Resolver<'_> {
    pub(super) fn at(&mut self, loc: &Location, message: impl Into<String>, label: &str, help: impl Into<String>) {
        let e = self.src.error_at(loc, message, label, help);
        self.errors.push(e);
    }

    /// Interpolates a value; a missing variable is reported at its `${...}`.
    pub(super) fn text(&mut self, t: &Text, key: &str) -> Option<String> {
        match interpolate(&t.value, self.vars) {
            Ok(v) => Some(v),
            Err(e) => {
                let (offset, len, message, help) = match &e {
                    InterpolateError::Missing { name, offset } => (
                        *offset,
                        name.len() + 3,
                        format!("environment variable `{name}` used by `{key}` is not set"),
                        format!("export {name}=... before running jirapipe, or write `$${{` for a literal `${{`"),
                    ),
                    InterpolateError::Unclosed { offset } => (
                        *offset,
                        2,
                        format!("`${{` in `{key}` is not closed"),
                        "write `${NAME}`, or `$${` for a literal `${`".to_string(),
                    ),
                    InterpolateError::BadName { name, offset } => (
                        *offset,
                        name.len() + 3,
                        format!("`${{{name}}}` in `{key}` is not a valid variable name"),
                        "variable names are letters, digits and `_`, not starting with a digit".to_string(),
                    ),
                };
                let start = self.src.value_start(&t.referenced) + offset;
                // Point inside the value only when the raw text really is there (plain scalars
                // and simple quoted strings); otherwise at the value.
                let exact = self.src.text.get(start..start + 2) == Some("${");
                let err = if exact {
                    self.src.error_span(start, len, message, "here", help)
                } else {
                    self.src.error_at(&t.referenced, message, "here", help)
                };
                self.errors.push(err);
                None
            }
        }
    }

    /// A secret: from `${ENV}` in `inline` or from the file named by `file`, never a literal.
    pub(super) fn secret(
        &mut self,
        inline: &Option<Text>,
        file: &Option<Text>,
        key: &str,
        owner: &Location,
    ) -> Option<Secret> {
        let file_key = format!("{key}_file");
        match (inline, file) {
            (Some(_), Some(f)) => {
                self.at(
                    &f.referenced,
                    format!("both `{key}` and `{file_key}` are set"),
                    "second source",
                    format!("keep one of `{key}` and `{file_key}`"),
                );
                None
            }
            (None, None) => {
                self.at(
                    owner,
                    format!("`{key}` is required for this auth type"),
                    "in this auth block",
                    format!("add `{key}: ${{JIRA_{}}}` or `{file_key}: /path/to/secret`", key.to_uppercase()),
                );
                None
            }
            (Some(t), None) => {
                if !t.value.contains("${") {
                    self.at(
                        &t.referenced,
                        format!("`{key}` is written inline in the pipeline file"),
                        "literal secret",
                        format!(
                            "secrets must not live in pipeline files: use `{key}: ${{JIRA_{}}}` or `{file_key}:`",
                            key.to_uppercase()
                        ),
                    );
                    return None;
                }
                let vars: Vec<String> = t
                    .value
                    .split("${")
                    .skip(1)
                    .filter_map(|rest| rest.split_once('}').map(|(name, _)| format!("${name}")))
                    .collect();
                self.text(t, key).map(|v| Secret::new(v).from_origin(vars.join(" ")))
            }
            (None, Some(f)) => {
                let path = self.text(f, &file_key)?;
                let full = self.base_dir.join(&path);
                match std::fs::read_to_string(&full) {
                    Ok(s) if !s.trim().is_empty() => {
                        let origin = format!("file {}", full.display());
                        Some(Secret::new(s.trim_end_matches(['\n', '\r'])).from_origin(origin))
                    }
                    Ok(_) => {
                        self.at(
                            &f.referenced,
                            format!("`{file_key}` {} is empty", full.display()),
                            "empty file",
                            "write the secret into the file (a trailing newline is ignored)",
                        );
                        None
                    }
                    Err(e) => {
                        self.at(
                            &f.referenced,
                            format!("cannot read `{file_key}` {}: {e}", full.display()),
                            "unreadable",
                            "check the path (relative paths are read from the pipeline file's directory) and its permissions",
                        );
                        None
                    }
                }
            }
        }
    }

    pub fn pipeline(&mut self, f: &PipelineFile) -> Option<Pipeline> {
        if f.version.value != 1 {
            self.at(
                &f.version.referenced,
                format!("unsupported pipeline version {}", f.version.value),
                "version",
                "set `version: 1`",
            );
        }
        let name = self.text(&f.name, "name");
        if let Some(n) = &name
            && (n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            self.at(
                &f.name.referenced,
                format!("pipeline name `{n}` must be letters, digits, `-` or `_`"),
                "name",
                "pick a short identifier such as `acme-jira`",
            );
        }
        let source = self.source(f, name.as_deref());
        let destination = self.destination(f);
        let schedule = self.schedule(f);
        let masking_key = match &f.masking {
            Some(m) => {
                let none = None;
                self.secret(&Some(m.key.clone()), &none, "key", &m.key.referenced)
            }
            None => None,
        };

        let o = &f.objects.value;
        let specs = o.entries();
        let mut objects = Vec::new();
        for &(kind, spec) in &specs {
            if let Some(spec) = spec {
                objects.extend(self.object(kind, spec));
                if !spec.hash.is_empty() && f.masking.is_none() {
                    self.at(
                        &spec.hash[0].referenced,
                        format!("`{kind}` hashes fields but no masking key is configured"),
                        "needs masking.key",
                        "add a top-level `masking:` block with `key: ${JIRA_MASK_KEY}` (a long random secret; keep it stable)",
                    );
                }
            }
        }
        if source.as_ref().is_some_and(|s| s.deployment == Deployment::DataCenter) {
            for (kind, _) in specs.iter().filter(|(k, s)| k.cloud_only() && s.is_some()) {
                self.at(
                    &f.objects.referenced,
                    format!("`{kind}` is Cloud-only: Data Center's REST API has no such listing"),
                    "Cloud-only object",
                    format!("remove `{kind}` from a Data Center pipeline (the `issues` table's `labels` column holds each issue's labels)"),
                );
            }
        }
        if specs.iter().all(|(_, s)| s.is_none()) {
            self.at(
                &f.objects.referenced,
                "`objects` is empty: nothing to extract",
                "no objects",
                "add at least one object, e.g. `issues: {sync: incremental}`",
            );
        }
        if !self.errors.is_empty() {
            return None;
        }
        Some(Pipeline {
            name: name?,
            source: source?,
            destination: destination?,
            schedule: schedule?,
            masking_key,
            objects,
        })
    }
}

pub(super) fn auth_name(kind: AuthKind) -> &'static str {
    match kind {
        AuthKind::ApiToken => "api_token",
        AuthKind::Pat => "pat",
        AuthKind::Basic => "basic",
        AuthKind::Oauth2 => "oauth2",
        AuthKind::Oauth2ClientCredentials => "oauth2_client_credentials",
    }
}
