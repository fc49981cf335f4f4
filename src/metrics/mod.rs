//! What runs did, as Prometheus metrics: served by `schedule --listen` on `/metrics`, written by
//! `run --metrics-file` for node_exporter's textfile collector ([`textfile`]). Both come from
//! the same [`Metrics`], fed by the run report ([`Metrics::record_run`]) and by what the
//! scheduler sees around a run (the lease, a run skipped because another process holds it).
//!
//! Names follow Prometheus' conventions: a `jirapipe_` prefix, base units (`_seconds`, Unix
//! time as `_timestamp_seconds`), `_total` on counters, and the labels `pipeline` and `object`.
//! The text format is 0.0.4, which Prometheus scrapes and node_exporter and `promtool check
//! metrics` read (OpenMetrics' counters named without `_total` are not read right by those).

pub mod textfile;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::config::{Pipeline, Schedule};
use crate::report::{RunReport, Status};

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How a run of the scheduler or of `run` ended, as the `outcome` label of `jirapipe_runs_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    Succeeded,
    Failed,
    /// Another process held the pipeline's lease: nothing was done.
    Busy,
    /// Stopped by a shutdown before it finished.
    Abandoned,
}

impl RunOutcome {
    pub const ALL: [RunOutcome; 4] = [Self::Succeeded, Self::Failed, Self::Busy, Self::Abandoned];

    pub fn label(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Busy => "busy",
            Self::Abandoned => "abandoned",
        }
    }
}

/// Runs last from seconds to hours: a small pipeline takes seconds, a first load of 100k issues
/// with history most of an hour.
const DURATION_BUCKETS: [f64; 12] = [1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0];

/// Retries the object store made (S3, GCS, Azure): counted from the storage client's own log
/// events, since it says nothing else about them ([`storage_retries_layer`]).
static STORAGE_RETRIES: AtomicU64 = AtomicU64::new(0);

/// The object store's module that logs each retry it makes (object_store's `client::retry`).
const STORAGE_RETRY_TARGET: &str = "object_store::client::retry";

/// A tracing layer that counts the object store's retries into `jirapipe_storage_retries_total`.
/// It sees only the store's retry events, whatever the log filter says.
pub fn storage_retries_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use tracing_subscriber::Layer;
    let only_retries =
        tracing_subscriber::filter::Targets::new().with_target(STORAGE_RETRY_TARGET, tracing::Level::INFO);
    StorageRetries.with_filter(only_retries)
}

struct StorageRetries;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for StorageRetries {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target().starts_with(STORAGE_RETRY_TARGET) {
            STORAGE_RETRIES.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Every family jirapipe exposes, in one registry.
pub struct Metrics {
    registry: Registry,
    runs: IntCounterVec,
    last_run: GaugeVec,
    last_success: GaugeVec,
    last_run_succeeded: IntGaugeVec,
    run_duration: HistogramVec,
    object_duration: HistogramVec,
    object_failures: IntCounterVec,
    rows_written: IntCounterVec,
    rows_rejected: IntCounterVec,
    rows_with_rejected_values: IntCounterVec,
    rows_deleted: IntCounterVec,
    cursor: GaugeVec,
    cursor_lag: GaugeVec,
    table_version: IntGaugeVec,
    jira_requests: IntCounterVec,
    jira_rate_limited: IntCounterVec,
    jira_rate_limit_wait: prometheus::CounterVec,
    jira_retries: IntCounterVec,
    jira_bytes: IntCounterVec,
    storage_retries: IntCounter,
    /// The share of [`STORAGE_RETRIES`] already added to `storage_retries`.
    storage_retries_seen: AtomicU64,
    lease_held: IntGaugeVec,
    lease_acquired: GaugeVec,
    schedule_interval: GaugeVec,
    /// Cursors and schedules, for the values that move with time (lag, interval): computed
    /// when the metrics are rendered.
    cursors: Mutex<BTreeMap<(String, String), DateTime<Utc>>>,
    schedules: Mutex<BTreeMap<String, Schedule>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

const PIPELINE: &[&str] = &["pipeline"];
const OBJECT: &[&str] = &["pipeline", "object"];

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        fn reg<C: prometheus::core::Collector + Clone + 'static>(r: &Registry, c: C) -> C {
            r.register(Box::new(c.clone())).expect("metric names are unique");
            c
        }
        let counter = |name: &str, help: &str, labels: &[&str]| {
            reg(&registry, IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter"))
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            reg(&registry, GaugeVec::new(Opts::new(name, help), labels).unwrap())
        };
        let int_gauge = |name: &str, help: &str, labels: &[&str]| {
            reg(&registry, IntGaugeVec::new(Opts::new(name, help), labels).expect("valid gauge"))
        };
        let histogram = |name: &str, help: &str, labels: &[&str]| {
            let opts = HistogramOpts::new(name, help).buckets(DURATION_BUCKETS.to_vec());
            reg(&registry, HistogramVec::new(opts, labels).expect("valid histogram"))
        };
        let build_info = int_gauge(
            "jirapipe_build_info",
            "Always 1; the version label says which jirapipe exposes these metrics.",
            &["version"],
        );
        build_info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        Self {
            runs: counter(
                "jirapipe_runs_total",
                "Runs by how they ended: succeeded, failed, busy (another process held the lease; nothing \
                 was done) or abandoned (stopped by a shutdown).",
                &["pipeline", "outcome"],
            ),
            last_run: gauge(
                "jirapipe_last_run_timestamp_seconds",
                "When the last run that succeeded or failed ended, in Unix time.",
                PIPELINE,
            ),
            last_success: gauge(
                "jirapipe_last_success_timestamp_seconds",
                "When the last successful run ended, in Unix time.",
                PIPELINE,
            ),
            last_run_succeeded: int_gauge(
                "jirapipe_last_run_succeeded",
                "1 if the last run that succeeded or failed succeeded, 0 if it failed.",
                PIPELINE,
            ),
            run_duration: histogram(
                "jirapipe_run_duration_seconds",
                "How long runs took, from the start to the last commit (succeeded and failed runs).",
                PIPELINE,
            ),
            object_duration: histogram(
                "jirapipe_object_duration_seconds",
                "How long each object's extraction and commit took.",
                OBJECT,
            ),
            object_failures: counter(
                "jirapipe_object_failures_total",
                "Objects whose run failed: their table stayed at its last commit.",
                OBJECT,
            ),
            rows_written: counter("jirapipe_rows_written_total", "Rows committed to the object's table.", OBJECT),
            rows_rejected: counter(
                "jirapipe_rows_rejected_total",
                "Records refused whole (no usable id); each is in the _rejects table.",
                OBJECT,
            ),
            rows_with_rejected_values: counter(
                "jirapipe_rows_with_rejected_values_total",
                "Rows written with at least one value that did not fit its column (left null; each \
                 value is in the _rejects table).",
                OBJECT,
            ),
            rows_deleted: counter(
                "jirapipe_rows_deleted_total",
                "Rows marked or removed because their record is gone from Jira.",
                OBJECT,
            ),
            cursor: gauge(
                "jirapipe_cursor_timestamp_seconds",
                "Where the object's next incremental run starts (before lookback), in Unix time.",
                OBJECT,
            ),
            cursor_lag: gauge(
                "jirapipe_cursor_lag_seconds",
                "How far the object's cursor is behind now: changes in Jira older than this are in the \
                 table.",
                OBJECT,
            ),
            table_version: int_gauge(
                "jirapipe_table_version",
                "The Delta version of the object's table after its last commit.",
                OBJECT,
            ),
            jira_requests: counter(
                "jirapipe_jira_requests_total",
                "Requests to Jira by the class of their answer (1xx to 5xx; none: no answer, such as a \
                 refused connection or a timeout).",
                &["pipeline", "class"],
            ),
            jira_rate_limited: counter(
                "jirapipe_jira_rate_limited_total",
                "Answers 429 (rate limited) from Jira.",
                PIPELINE,
            ),
            jira_rate_limit_wait: reg(
                &registry,
                prometheus::CounterVec::new(
                    Opts::new(
                        "jirapipe_jira_rate_limit_wait_seconds_total",
                        "Wall-clock time during which Jira's rate limits held requests back (Retry-After \
                         pauses, a spent hourly quota); overlapping pauses count once.",
                    ),
                    PIPELINE,
                )
                .expect("valid counter"),
            ),
            jira_retries: counter(
                "jirapipe_jira_retries_total",
                "Jira requests sent again (after a 429, a 5xx, a timeout or a cut answer).",
                PIPELINE,
            ),
            jira_bytes: counter("jirapipe_jira_response_bytes_total", "Response body bytes read from Jira.", PIPELINE),
            storage_retries: reg(
                &registry,
                IntCounter::new(
                    "jirapipe_storage_retries_total",
                    "Requests the object store (S3, GCS, Azure) retried, for every pipeline of the process.",
                )
                .expect("valid counter"),
            ),
            storage_retries_seen: AtomicU64::new(0),
            lease_held: int_gauge(
                "jirapipe_lease_held",
                "1 while this process holds the pipeline's lease (a run is going), else 0.",
                PIPELINE,
            ),
            lease_acquired: gauge(
                "jirapipe_lease_acquired_timestamp_seconds",
                "When this process last took the pipeline's lease, in Unix time.",
                PIPELINE,
            ),
            schedule_interval: gauge(
                "jirapipe_schedule_interval_seconds",
                "The gap between the pipeline's fire time that passed last and its next one.",
                PIPELINE,
            ),
            registry,
            cursors: Mutex::default(),
            schedules: Mutex::default(),
        }
    }

    /// A pipeline this process runs: its series start at zero (so the first failure is an
    /// increase), and its schedule, if any, gives `jirapipe_schedule_interval_seconds`.
    pub fn pipeline(&self, pipeline: &Pipeline) {
        let name = pipeline.name.as_str();
        for o in RunOutcome::ALL {
            self.runs.with_label_values(&[name, o.label()]);
        }
        self.lease_held.with_label_values(&[name]).set(0);
        for counter in [&self.jira_rate_limited, &self.jira_retries] {
            counter.with_label_values(&[name]);
        }
        self.jira_rate_limit_wait.with_label_values(&[name]);
        for class in ["2xx", "4xx", "5xx", "none"] {
            self.jira_requests.with_label_values(&[name, class]);
        }
        for o in &pipeline.objects {
            let labels = [name, o.kind.name()];
            for c in [&self.rows_written, &self.rows_rejected, &self.rows_with_rejected_values, &self.rows_deleted] {
                c.with_label_values(&labels);
            }
            self.object_failures.with_label_values(&labels);
        }
        if let Some(s) = &pipeline.schedule {
            self.schedules.lock().expect("metrics lock").insert(name.to_string(), s.clone());
        }
    }

    /// A run that ended without a report: another process held the lease, a shutdown
    /// abandoned it, or it failed before it could start (the lease's storage unreachable).
    pub fn outcome(&self, pipeline: &str, outcome: RunOutcome, at: DateTime<Utc>) {
        self.runs.with_label_values(&[pipeline, outcome.label()]).inc();
        if outcome == RunOutcome::Failed {
            self.last_run.with_label_values(&[pipeline]).set(unix(at));
            self.last_run_succeeded.with_label_values(&[pipeline]).set(0);
        }
    }

    /// Everything a finished run's report says: its outcome, its rows, its requests.
    pub fn record_run(&self, r: &RunReport) {
        let p = r.pipeline.as_str();
        let ok = r.status == Status::Ok;
        let outcome = if ok { RunOutcome::Succeeded } else { RunOutcome::Failed };
        self.runs.with_label_values(&[p, outcome.label()]).inc();
        let finished = unix(r.finished_at);
        self.last_run.with_label_values(&[p]).set(finished);
        self.last_run_succeeded.with_label_values(&[p]).set(i64::from(ok));
        if ok {
            self.last_success.with_label_values(&[p]).set(finished);
        }
        let took = (r.finished_at - r.started_at).to_std().unwrap_or_default();
        self.run_duration.with_label_values(&[p]).observe(took.as_secs_f64());
        for o in &r.objects {
            let labels = [p, o.object.as_str()];
            self.rows_written.with_label_values(&labels).inc_by(o.rows_written as u64);
            self.rows_rejected.with_label_values(&labels).inc_by(o.rows_rejected as u64);
            self.rows_with_rejected_values.with_label_values(&labels).inc_by(o.rows_with_rejected_fields as u64);
            self.rows_deleted.with_label_values(&labels).inc_by(o.rows_deleted as u64);
            self.object_duration.with_label_values(&labels).observe(o.duration_ms as f64 / 1000.0);
            if o.error.is_some() {
                self.object_failures.with_label_values(&labels).inc();
            }
            if let Some(v) = o.table_version {
                self.table_version.with_label_values(&labels).set(i64::try_from(v).unwrap_or(i64::MAX));
            }
            if let Some(c) = o.cursor_after {
                self.cursor.with_label_values(&labels).set(unix(c));
                self.cursors.lock().expect("metrics lock").insert((p.to_string(), o.object.clone()), c);
            }
        }
        let q = &r.requests;
        for (class, n) in q.answers.labelled() {
            if n > 0 {
                self.jira_requests.with_label_values(&[p, class]).inc_by(n);
            }
        }
        if q.no_answer > 0 {
            self.jira_requests.with_label_values(&[p, "none"]).inc_by(q.no_answer);
        }
        self.jira_rate_limited.with_label_values(&[p]).inc_by(q.throttled);
        self.jira_retries.with_label_values(&[p]).inc_by(q.retries);
        self.jira_bytes.with_label_values(&[p]).inc_by(q.bytes);
        self.jira_rate_limit_wait.with_label_values(&[p]).inc_by(q.rate_limit_wait_ms as f64 / 1000.0);
    }

    /// This process took the pipeline's lease (a run starts).
    pub fn lease_taken(&self, pipeline: &str, at: DateTime<Utc>) {
        self.lease_held.with_label_values(&[pipeline]).set(1);
        self.lease_acquired.with_label_values(&[pipeline]).set(unix(at));
    }

    /// This process let go of the pipeline's lease (or lost it).
    pub fn lease_let_go(&self, pipeline: &str) {
        self.lease_held.with_label_values(&[pipeline]).set(0);
    }

    /// The metrics in the Prometheus text format, with the values that move with time as of
    /// `now`.
    pub fn render(&self, now: DateTime<Utc>) -> String {
        for ((p, o), c) in self.cursors.lock().expect("metrics lock").iter() {
            self.cursor_lag.with_label_values(&[p, o]).set((now - *c).as_seconds_f64().max(0.0));
        }
        for (p, s) in self.schedules.lock().expect("metrics lock").iter() {
            if let Some(gap) = s.interval_around(now) {
                self.schedule_interval.with_label_values(&[p]).set(gap.as_seconds_f64());
            }
        }
        let total = STORAGE_RETRIES.load(Ordering::Relaxed);
        let seen = self.storage_retries_seen.swap(total, Ordering::Relaxed);
        self.storage_retries.inc_by(total.saturating_sub(seen));
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("the text encoder writes to memory");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

fn unix(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SyncMode;
    use crate::jira::{RequestStats, StatusClasses};
    use crate::report::ObjectReport;

    fn report(status: Status) -> RunReport {
        let t0 = DateTime::from_timestamp(1_772_000_000, 0).unwrap();
        let mut o = ObjectReport::new("issues", SyncMode::Incremental, "issues".into());
        o.rows_written = 300;
        o.rows_rejected = 2;
        o.table_version = Some(4);
        o.cursor_after = Some(t0);
        o.duration_ms = 2500;
        RunReport {
            pipeline: "acme".into(),
            run_id: "r".into(),
            status,
            error: None,
            started_at: t0,
            finished_at: t0 + chrono::TimeDelta::seconds(3),
            requests: RequestStats {
                requests: 12,
                throttled: 2,
                retries: 2,
                answers: StatusClasses { success: 10, client_error: 2, ..Default::default() },
                rate_limit_wait_ms: 1500,
                ..Default::default()
            },
            objects: vec![o],
        }
    }

    fn value(text: &str, series: &str) -> f64 {
        let line = text.lines().find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '));
        line.unwrap_or_else(|| panic!("no {series} in\n{text}")).rsplit(' ').next().unwrap().parse().unwrap()
    }

    #[test]
    fn a_report_becomes_series_by_pipeline_and_object() {
        let m = Metrics::new();
        m.record_run(&report(Status::Ok));
        m.record_run(&report(Status::Failed));
        let now = DateTime::from_timestamp(1_772_000_060, 0).unwrap();
        let text = m.render(now);
        let obj = r#"{object="issues",pipeline="acme"}"#;
        assert_eq!(value(&text, r#"jirapipe_runs_total{outcome="succeeded",pipeline="acme"}"#), 1.0);
        assert_eq!(value(&text, r#"jirapipe_runs_total{outcome="failed",pipeline="acme"}"#), 1.0);
        assert_eq!(value(&text, &format!("jirapipe_rows_written_total{obj}")), 600.0);
        assert_eq!(value(&text, &format!("jirapipe_rows_rejected_total{obj}")), 4.0);
        assert_eq!(value(&text, &format!("jirapipe_table_version{obj}")), 4.0);
        assert_eq!(value(&text, &format!("jirapipe_cursor_lag_seconds{obj}")), 60.0);
        assert_eq!(value(&text, r#"jirapipe_last_run_succeeded{pipeline="acme"}"#), 0.0);
        assert_eq!(value(&text, r#"jirapipe_last_success_timestamp_seconds{pipeline="acme"}"#), 1_772_000_003.0);
        assert_eq!(value(&text, r#"jirapipe_jira_requests_total{class="4xx",pipeline="acme"}"#), 4.0);
        assert_eq!(value(&text, r#"jirapipe_jira_rate_limit_wait_seconds_total{pipeline="acme"}"#), 3.0);
        assert_eq!(value(&text, r#"jirapipe_run_duration_seconds_count{pipeline="acme"}"#), 2.0);
        assert_eq!(value(&text, r#"jirapipe_run_duration_seconds_bucket{pipeline="acme",le="5"}"#), 2.0);
        assert!(text.contains("# TYPE jirapipe_rows_written_total counter"), "{text}");
    }
}
