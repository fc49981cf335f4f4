//! The `objects` block: sync mode, JQL, field selection, masks and delete handling per object,
//! and which of them apply to which object.

use super::Resolver;
use super::{DEFAULT_LOOKBACK, DEFAULT_MAX_DELETED_FRACTION, DEFAULT_MAX_REJECTED_FRACTION, DEFAULT_RECONCILE_EVERY};
use crate::config::model::{Deletes, FieldsSpec, ObjectSpec, SyncMode, Text};
use crate::config::pipeline::{FieldSelection, ObjectConfig, ObjectKind};

impl Resolver<'_> {
    pub(super) fn object(&mut self, kind: ObjectKind, o: &ObjectSpec) -> Option<ObjectConfig> {
        let sync = match &o.sync {
            Some(s) if s.value == SyncMode::Incremental && !kind.is_incremental() => {
                self.at(
                    &s.referenced,
                    format!("`{kind}` cannot be extracted incrementally: Jira gives no change date for them"),
                    &format!("only {} are incremental", incremental_objects()),
                    "use `sync: full_refresh`",
                );
                None
            }
            Some(s) => Some(s.value),
            None if kind.is_incremental() => Some(SyncMode::Incremental),
            None => Some(SyncMode::FullRefresh),
        };
        let jql = match &o.jql {
            Some(j) if !kind.is_incremental() => {
                self.at(
                    &j.referenced,
                    format!("`jql` applies only to {}, not to `{kind}`", incremental_objects()),
                    "not for this object",
                    "move the `jql` under `objects.issues`, or remove it",
                );
                None
            }
            Some(j) => {
                let q = self.text(j, "jql").filter(|q| !q.trim().is_empty());
                // jirapipe wraps the filter in its own windows and ordering; an `ORDER BY`
                // inside the parentheses would be a Jira syntax error at run time.
                if q.as_deref().is_some_and(|q| {
                    q.to_ascii_lowercase()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .windows(2)
                        .any(|w| w == ["order", "by"])
                }) {
                    self.at(
                        &j.referenced,
                        "`jql` must not contain `ORDER BY`: jirapipe orders its own queries".to_string(),
                        "ordering here",
                        "remove the `ORDER BY …` part; the table has no order to keep",
                    );
                }
                q
            }
            None => None,
        };
        let fields = self.fields(o.fields.as_ref());
        let incremental = kind.is_incremental() && sync == Some(SyncMode::Incremental);
        // Deletes are seen only by reading changes; reconciliation needs a listing of the
        // object's own records.
        let marks_deletes = incremental && kind.has_deletes();
        let reconciles = incremental && kind.reconciles();
        // Objects swept by issue re-read every issue's list now and then: Jira may not mark an
        // issue updated when one of its comments is deleted.
        let full_sweeps = incremental && kind.sweeps_by_issue();
        let lookback = self.issues_duration(&o.lookback, "lookback", incremental, 7 * 24 * 3600, DEFAULT_LOOKBACK);
        // A full refresh replaces the table: the guard also stops a snapshot that shrank.
        let guarded = reconciles || sync == Some(SyncMode::FullRefresh);
        let max_deleted_fraction = self.fraction(&o.max_deleted_fraction, "max_deleted_fraction", guarded);
        let max_rejected_fraction = self.fraction(&o.max_rejected_fraction, "max_rejected_fraction", true);
        let reconcile_every = self.issues_duration(
            &o.reconcile_every,
            "reconcile_every",
            reconciles || full_sweeps,
            366 * 24 * 3600,
            DEFAULT_RECONCILE_EVERY,
        );
        let deletes = match &o.deletes {
            Some(d) if !marks_deletes => {
                self.at(
                    &d.referenced,
                    format!(
                        "`deletes` applies only to {} with `sync: incremental`, not to `{kind}`",
                        objects_with_deletes()
                    ),
                    "not for this object",
                    "remove `deletes`: a full refresh replaces the table, so deleted records disappear with it",
                );
                None
            }
            Some(d) => Some(d.value),
            None if marks_deletes => Some(Deletes::Soft),
            None => Some(Deletes::Ignore),
        };
        let mut hash = Vec::new();
        for h in &o.hash {
            let path = self.text(h, "hash")?;
            if path == "id" {
                self.at(
                    &h.referenced,
                    "`id` cannot be hashed: it is the primary key that merges and joins rely on",
                    "primary key",
                    "remove `id` from `hash`",
                );
            } else if path.trim().is_empty() {
                self.at(
                    &h.referenced,
                    "empty path in `hash`",
                    "empty",
                    "write a field path such as `assignee.emailAddress`",
                );
            } else {
                hash.push(path);
            }
        }
        Some(ObjectConfig {
            kind,
            sync: sync?,
            jql,
            fields: fields?,
            hash,
            schema_drift: o.schema_drift.as_ref().map(|d| d.value).unwrap_or_default(),
            lookback: lookback?,
            deletes: deletes?,
            reconcile_every: reconcile_every?,
            max_deleted_fraction: max_deleted_fraction?,
            max_rejected_fraction: max_rejected_fraction?,
        })
    }

    /// `max_deleted_fraction` or `max_rejected_fraction` (`KEY`): `10%` or `0.1`, between 0
    /// and 1.
    fn fraction(&mut self, value: &Option<Text>, key: &'static str, allowed: bool) -> Option<f64> {
        let default =
            if key == "max_rejected_fraction" { DEFAULT_MAX_REJECTED_FRACTION } else { DEFAULT_MAX_DELETED_FRACTION };
        let Some(v) = value else { return Some(default) };
        if !allowed {
            self.at(
                &v.referenced,
                format!(
                    "`{key}` applies only to `sync: full_refresh` objects and to {} with `sync: incremental`",
                    objects_reconciled(false)
                ),
                "not for this object",
                format!("remove `{key}`"),
            );
            return None;
        }
        let raw = self.text(v, key)?;
        let raw = raw.trim();
        let parsed = match raw.strip_suffix('%') {
            Some(pct) => pct.trim().parse::<f64>().ok().map(|p| p / 100.0),
            None => raw.parse::<f64>().ok(),
        };
        match parsed {
            Some(f) if (0.0..=1.0).contains(&f) => Some(f),
            _ => {
                self.at(
                    &v.referenced,
                    format!("`{key}: {raw}` is not a share between 0% and 100%"),
                    "not a fraction",
                    format!("write a percentage such as `{key}: 10%` (or a fraction such as `0.1`)"),
                );
                None
            }
        }
    }

    /// A duration key of incremental issues (`lookback`, `reconcile_every`), at most `max_secs`.
    pub(super) fn issues_duration(
        &mut self,
        value: &Option<Text>,
        key: &str,
        allowed: bool,
        max_secs: u64,
        default: std::time::Duration,
    ) -> Option<std::time::Duration> {
        let Some(l) = value else { return Some(default) };
        if !allowed {
            self.at(
                &l.referenced,
                format!(
                    "`{key}` applies only to {} with `sync: incremental`",
                    if key == "lookback" { incremental_objects() } else { objects_reconciled(true) }
                ),
                "not for this object",
                format!("remove `{key}`"),
            );
            return None;
        }
        let raw = self.text(l, key)?;
        match humantime::parse_duration(raw.trim()) {
            Ok(d) if d.as_secs() <= max_secs => Some(d),
            Ok(_) => {
                self.at(
                    &l.referenced,
                    format!(
                        "`{key}: {raw}` is too long (at most {})",
                        humantime::format_duration(std::time::Duration::from_secs(max_secs))
                    ),
                    "too long",
                    format!("use a shorter duration, e.g. `{key}: {}`", humantime::format_duration(default)),
                );
                None
            }
            Err(e) => {
                self.at(
                    &l.referenced,
                    format!("`{key}: {raw}` is not a duration: {e}"),
                    "not a duration",
                    "write e.g. `5m`, `90s`, `1h` or `1d`",
                );
                None
            }
        }
    }

    pub(super) fn fields(&mut self, f: Option<&FieldsSpec>) -> Option<FieldSelection> {
        let Some(f) = f else { return Some(FieldSelection::All) };
        let list = |r: &mut Self, items: &[Text], key: &str| -> Option<Vec<String>> {
            let mut out = Vec::new();
            for t in items {
                out.push(r.text(t, key)?);
            }
            Some(out)
        };
        match (&f.include, &f.exclude) {
            (Some(inc), None) => {
                if inc.value.is_empty() {
                    self.at(
                        &inc.referenced,
                        "`fields.include` is empty",
                        "empty list",
                        "list the fields to keep, or remove `fields` to keep all",
                    );
                    return None;
                }
                Some(FieldSelection::Include(list(self, &inc.value, "fields.include")?))
            }
            (None, Some(exc)) => {
                if let Some(id) = exc.value.iter().find(|t| t.value == "id") {
                    self.at(
                        &id.referenced,
                        "`id` cannot be excluded: every table is keyed by it",
                        "primary key",
                        "remove `id` from `exclude`",
                    );
                    return None;
                }
                Some(FieldSelection::Exclude(list(self, &exc.value, "fields.exclude")?))
            }
            (Some(_), Some(exc)) => {
                self.at(
                    &exc.referenced,
                    "`fields` has both `include` and `exclude`",
                    "second list",
                    "keep one: `include` lists what to keep, `exclude` what to drop",
                );
                None
            }
            (None, None) => Some(FieldSelection::All),
        }
    }
}

/// The objects that follow the issues' cursor, for messages: `issues`, `issues, changelog`, …
fn incremental_objects() -> String {
    ObjectKind::ALL.iter().filter(|k| k.is_incremental()).map(|k| k.name()).collect::<Vec<_>>().join(", ")
}

/// The objects whose rows can be found deleted, for messages.
fn objects_with_deletes() -> String {
    ObjectKind::ALL.iter().filter(|k| k.has_deletes()).map(|k| k.name()).collect::<Vec<_>>().join(", ")
}

/// The objects reconciled against a full listing (with `sweeps`: or re-read whole now and
/// then), for messages.
fn objects_reconciled(sweeps: bool) -> String {
    let of = |k: &&ObjectKind| k.reconciles() || (sweeps && k.sweeps_by_issue());
    ObjectKind::ALL.iter().filter(of).map(|k| k.name()).collect::<Vec<_>>().join(", ")
}
