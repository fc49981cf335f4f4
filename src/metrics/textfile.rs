//! `run --metrics-file`: the metrics of a run in node_exporter's textfile-collector format,
//! written atomically (a temporary file in the same folder, then a rename), so the collector
//! never reads half a file.
//!
//! Each `run` is a new process whose counters start at zero, so the file carries the previous
//! run's forward: counters and histograms add up across runs (rates and `increase()` work as
//! they do on the daemon's `/metrics`), and a gauge this run did not set keeps its last value
//! (the last success of a run that failed, the cursor of an object that did not move).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Gauges a run that did not set them leaves at their previous value. The others (lag, lease,
/// build info, interval) describe this run only.
const CARRIED_GAUGES: [&str; 5] = [
    "jirapipe_last_run_timestamp_seconds",
    "jirapipe_last_success_timestamp_seconds",
    "jirapipe_last_run_succeeded",
    "jirapipe_cursor_timestamp_seconds",
    "jirapipe_table_version",
];

#[derive(Debug, thiserror::Error)]
pub enum TextfileError {
    #[error(
        "cannot write the metrics file {path}: {source}. Fix: point --metrics-file at a writable folder (node_exporter's --collector.textfile.directory)"
    )]
    Write { path: String, source: std::io::Error },
    #[error("the metrics file {path} must end in `.prom`: node_exporter's textfile collector reads only those")]
    Extension { path: String },
}

/// One family of the text format: its comment lines, type and samples in order.
#[derive(Debug, Default)]
struct Family {
    comments: Vec<String>,
    kind: String,
    samples: Vec<(String, f64)>,
}

/// Families of a text in the 0.0.4 format, by name, in the order they came. Lines that are not
/// `# HELP`, `# TYPE` or a `series value` sample are skipped.
fn parse(text: &str) -> Vec<(String, Family)> {
    let mut families: Vec<(String, Family)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ").or_else(|| line.strip_prefix("# TYPE ")) {
            let name = rest.split(' ').next().unwrap_or_default();
            if families.last().is_none_or(|(n, _)| n != name) {
                families.push((name.to_string(), Family::default()));
            }
            let f = &mut families.last_mut().expect("just pushed").1;
            if let Some(kind) = line.strip_prefix("# TYPE ").and_then(|r| r.split(' ').nth(1)) {
                f.kind = kind.to_string();
            }
            f.comments.push(line.to_string());
        } else if !line.starts_with('#')
            && let Some((series, value)) = line.rsplit_once(' ')
            && let Ok(value) = value.parse::<f64>()
            && let Some((_, f)) = families.last_mut()
        {
            f.samples.push((series.to_string(), value));
        }
    }
    families
}

/// `current` with `previous` carried forward: counters and histograms summed series by series,
/// series only `previous` has kept (counters, histograms, [`CARRIED_GAUGES`]).
pub fn merge(previous: &str, current: &str) -> String {
    let before: BTreeMap<String, Family> = parse(previous).into_iter().collect();
    let mut families = parse(current);
    let names: BTreeSet<String> = families.iter().map(|(n, _)| n.clone()).collect();
    for (name, f) in &mut families {
        let Some(old) = before.get(name.as_str()) else { continue };
        let cumulative = matches!(f.kind.as_str(), "counter" | "histogram" | "summary") && old.kind == f.kind;
        if !cumulative && !CARRIED_GAUGES.contains(&name.as_str()) {
            continue;
        }
        let old_values: BTreeMap<&str, f64> = old.samples.iter().map(|(s, v)| (s.as_str(), *v)).collect();
        let present: BTreeSet<String> = f.samples.iter().map(|(s, _)| s.clone()).collect();
        if cumulative {
            for (series, value) in &mut f.samples {
                *value += old_values.get(series.as_str()).copied().unwrap_or(0.0);
            }
        }
        f.samples.extend(old.samples.iter().filter(|(s, _)| !present.contains(s)).cloned());
    }
    // Whole families of the previous file this run did not produce (an object removed, no
    // success this time).
    for (name, f) in before {
        let carried = matches!(f.kind.as_str(), "counter" | "histogram") || CARRIED_GAUGES.contains(&name.as_str());
        if !names.contains(&name) && carried {
            families.push((name, f));
        }
    }
    let mut out = String::new();
    for (_, f) in families {
        for c in f.comments {
            out.push_str(&c);
            out.push('\n');
        }
        for (series, value) in f.samples {
            out.push_str(&format!("{series} {}\n", format_value(value)));
        }
    }
    out
}

fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        format!("{v}")
    }
}

/// Writes `text` to `path`, merged with what `path` held before (see the module doc), through a
/// temporary file in the same folder and a rename.
pub fn write(path: &Path, text: &str) -> Result<(), TextfileError> {
    let err = |source| TextfileError::Write { path: path.display().to_string(), source };
    if path.extension().is_none_or(|e| e != "prom") {
        return Err(TextfileError::Extension { path: path.display().to_string() });
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let merged = match std::fs::read_to_string(path) {
        Ok(previous) => merge(&previous, text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => text.to_string(),
        Err(e) => return Err(err(e)),
    };
    // Not `*.prom`: the collector must not read the temporary file.
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(merged.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: &str = "\
# HELP jirapipe_runs_total Runs.
# TYPE jirapipe_runs_total counter
jirapipe_runs_total{outcome=\"failed\",pipeline=\"a\"} 1
jirapipe_runs_total{outcome=\"succeeded\",pipeline=\"a\"} 0
# HELP jirapipe_last_success_timestamp_seconds Last success.
# TYPE jirapipe_last_success_timestamp_seconds gauge
jirapipe_last_success_timestamp_seconds{pipeline=\"a\"} 1700000000
# HELP jirapipe_lease_held Lease.
# TYPE jirapipe_lease_held gauge
jirapipe_lease_held{pipeline=\"a\"} 0
";

    const SECOND: &str = "\
# HELP jirapipe_runs_total Runs.
# TYPE jirapipe_runs_total counter
jirapipe_runs_total{outcome=\"failed\",pipeline=\"a\"} 1
jirapipe_runs_total{outcome=\"succeeded\",pipeline=\"a\"} 0
# HELP jirapipe_lease_held Lease.
# TYPE jirapipe_lease_held gauge
jirapipe_lease_held{pipeline=\"a\"} 0
";

    #[test]
    fn counters_add_up_and_a_last_success_is_kept_across_failed_runs() {
        let merged = merge(FIRST, SECOND);
        assert!(merged.contains("jirapipe_runs_total{outcome=\"failed\",pipeline=\"a\"} 2\n"), "{merged}");
        assert!(merged.contains("jirapipe_runs_total{outcome=\"succeeded\",pipeline=\"a\"} 0\n"), "{merged}");
        assert!(merged.contains("jirapipe_last_success_timestamp_seconds{pipeline=\"a\"} 1700000000\n"), "{merged}");
        assert_eq!(merged.matches("jirapipe_lease_held{").count(), 1, "{merged}");
        assert_eq!(parse(&merged).len(), parse(FIRST).len());
    }

    #[test]
    fn the_file_is_replaced_whole_and_must_be_a_prom_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/acme.prom");
        write(&path, FIRST).unwrap();
        write(&path, SECOND).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("jirapipe_runs_total{outcome=\"failed\",pipeline=\"a\"} 2\n"), "{text}");
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["acme.prom"], "no temporary file is left");
        assert!(matches!(write(&dir.path().join("acme.txt"), FIRST), Err(TextfileError::Extension { .. })));
    }
}
