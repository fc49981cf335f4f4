//! Helpers shared by the suites: the binary and its output, the simulator, the pipeline builder
//! ([`pipeline`]), the local stores ([`s3`], [`azure`]) and the proxy that fails their requests
//! ([`faults`]), and the two readers that read tables back.

pub mod azure;
pub mod faults;
pub mod pipeline;
pub mod prometheus;
pub mod s3;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use deltalake::DeltaTable;
use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::compute::cast;
use deltalake::arrow::datatypes::{DataType, Field, Schema};
use deltalake::datafusion::prelude::SessionContext;
use jira_sim::{DatasetConfig, RunningSim, SimConfig};
use jirapipe::config::Pipeline;
use jirapipe::jira::RetryConfig;
use jirapipe::runner::{self, ObjectReport, RunReport};
use url::Url;

pub use pipeline::{
    API_TOKEN, CLIENT_CREDENTIALS, OFFLINE_ENV, PAT, PipelineYaml, SCOPED_TOKEN, dc_oauth2, jirapipe_for, oauth2,
    sim_vars,
};

/// A simulated Jira Cloud site with `issues` issues and everything else at its defaults.
pub async fn sim_with_issues(issues: u64) -> RunningSim {
    let data = DatasetConfig { issues, ..Default::default() };
    RunningSim::start(SimConfig { data, ..Default::default() }).await.unwrap()
}

/// A simulator for a test without a runtime of its own: it serves on the returned runtime,
/// which must live as long as the simulator is used.
pub fn blocking_sim(config: SimConfig) -> (tokio::runtime::Runtime, RunningSim) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(RunningSim::start(config)).unwrap();
    (rt, sim)
}

/// Runs `p` in process, which must succeed.
pub async fn run(p: &Pipeline, retry: RetryConfig) -> RunReport {
    runner::run(p, retry).await.unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// The report of `object` in a run's report.
pub fn object<'r>(r: &'r RunReport, object: &str) -> &'r ObjectReport {
    r.objects.iter().find(|o| o.object == object).unwrap_or_else(|| panic!("no {object} in {r:?}"))
}

/// Writes `text` to `dir/name`.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn jirapipe() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jirapipe"));
    c.env_remove("RUST_LOG");
    c
}

/// What a finished command printed, and its exit code (`None` if a signal ended it).
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

pub fn output(cmd: &mut Command) -> Out {
    let out = cmd.output().unwrap();
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

/// The test venv's python, created on first use by `scripts/python-env.sh`.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| venv_python("py-venv", None)).clone()
}

/// The dbt venv's python (dbt-core, dbt-duckdb, DuckDB with its delta extension, from
/// `analytics/requirements.txt`), created on first use like [`python`], in a venv of its own.
pub fn dbt_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| venv_python("dbt-venv", Some(&root().join("analytics/requirements.txt")))).clone()
}

fn venv_python(name: &str, requirements: Option<&Path>) -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let mut c = Command::new("bash");
    c.arg(root().join("scripts/python-env.sh")).arg(&venv);
    if let Some(r) = requirements {
        c.arg(r);
    }
    let out = c.output().expect("run python-env.sh");
    assert!(out.status.success(), "python-env.sh failed:\n{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A Delta table as Python `deltalake` reads it: (`{columns: [..], types: {..}}`, rows sorted by id).
pub fn read_with_python(table: &Path) -> (serde_json::Value, Vec<serde_json::Value>) {
    read_delta(table, &[])
}

/// The table `table` under `dir/lake`, as [`read_with_python`] reads it.
pub fn python_rows(dir: &Path, table: &str) -> (serde_json::Value, Vec<serde_json::Value>) {
    read_with_python(&dir.join("lake").join(table))
}

/// [`read_with_python`] of a table path or URL, with `env` (e.g. an object store's options).
pub fn read_delta(table: impl AsRef<OsStr>, env: &[(&str, String)]) -> (serde_json::Value, Vec<serde_json::Value>) {
    read_delta_with(table, env, &[])
}

/// [`read_delta`] with deltalake's `storage_options` too.
pub fn read_delta_with(
    table: impl AsRef<OsStr>,
    env: &[(&str, String)],
    storage_options: &[(&str, String)],
) -> (serde_json::Value, Vec<serde_json::Value>) {
    let options: serde_json::Map<String, serde_json::Value> =
        storage_options.iter().map(|(k, v)| (k.to_string(), v.clone().into())).collect();
    let read = || {
        let mut c = Command::new(python());
        c.arg(root().join("tests/read_delta.py")).arg(table.as_ref());
        c.envs(env.iter().cloned());
        if !options.is_empty() {
            c.env("READ_DELTA_STORAGE_OPTIONS", serde_json::Value::Object(options.clone()).to_string());
        }
        c.output().unwrap()
    };
    let mut out = read();
    if !out.status.success() {
        // One retry: the reader's native runtime has been seen to abort on a busy machine.
        eprintln!("read_delta.py failed once, retrying:\n{}", String::from_utf8_lossy(&out.stderr));
        out = read();
    }
    assert!(out.status.success(), "read_delta.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap());
    let schema = lines.next().expect("schema line");
    (schema, lines.collect())
}

/// A Delta table as deltalake's own reader (DataFusion) returns it, sorted by id.
pub async fn read_with_rust(table: &Url) -> Vec<RecordBatch> {
    let table = deltalake::open_table(table.clone()).await.unwrap();
    query(&table, "SELECT * FROM t ORDER BY id").await.iter().map(without_views).collect()
}

/// `sql` over `table`, which it calls `t`, with DataFusion.
pub async fn query(table: &DeltaTable, sql: &str) -> Vec<RecordBatch> {
    let ctx = SessionContext::new();
    table.update_datafusion_session(&ctx.state()).unwrap();
    ctx.register_table("t", table.table_provider().await.unwrap()).unwrap();
    ctx.sql(sql).await.unwrap().collect().await.unwrap()
}

/// DataFusion reads strings as `Utf8View`; tests compare plain `Utf8`.
fn without_views(batch: &RecordBatch) -> RecordBatch {
    fn plain(dt: &DataType) -> DataType {
        match dt {
            DataType::Utf8View => DataType::Utf8,
            DataType::List(f) => DataType::List(Arc::new(f.as_ref().clone().with_data_type(plain(f.data_type())))),
            DataType::Struct(fields) => DataType::Struct(
                fields.iter().map(|f| f.as_ref().clone().with_data_type(plain(f.data_type()))).collect(),
            ),
            other => other.clone(),
        }
    }
    let fields: Vec<Field> =
        batch.schema().fields().iter().map(|f| f.as_ref().clone().with_data_type(plain(f.data_type()))).collect();
    let columns = batch.columns().iter().zip(&fields).map(|(c, f)| cast(c, f.data_type()).unwrap()).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

/// The plain text jirapipe makes of the simulator's rich description (`jira_sim::wiki::rich_doc`)
/// of issue `key`, from ADF on Cloud or wiki markup on Data Center alike: one block a line,
/// markers, the link's URL and the image gone, table cells tab-separated. `mention` is how the
/// mention reads: `@Display Name` from ADF, `@username` from wiki markup (which stores no more).
pub fn rich_description_text(key: &str, summary: &str, mention: &str) -> String {
    format!(
        "Steps to reproduce\n\
         Open {key} in the staging environment and follow the runbook.\n\
         Sign in as a reporter\n\
         Run export_all --dry-run\n\
         Expected: the export finishes\n\
         Actual: it stops at 50%\n\
         ExportJob job = new ExportJob(\"{key}\");\n\
         job.run();\n\
         Assigned to {mention} for triage.\n\
         Field\tValue\n\
         Summary\t{summary}"
    )
}

/// The description issue `i` of the simulator's data set `d` should read as, on Cloud (`data_center`
/// false) or Data Center: see [`rich_description_text`]; the others are one paragraph.
pub fn description_text(d: &jira_sim::Dataset, i: u64, data_center: bool) -> Option<String> {
    let f = d.issue_fields(i);
    let description = f.get("description").filter(|v| !v.is_null())?;
    let summary = f["summary"].as_str().unwrap();
    if description["content"].as_array().is_some_and(|c| c.len() == 1) {
        return Some(format!("Steps to reproduce for {summary}."));
    }
    let name = f["reporter"]["displayName"].as_str().unwrap();
    let mention = if data_center { format!("@{}", jira_sim::wiki::username(name)) } else { format!("@{name}") };
    Some(rich_description_text(&d.issue_key(i), summary, &mention))
}

/// The commit files (`*.json`) in the Delta log of the table at `table`, in order.
pub fn commits(table: &Path) -> Vec<String> {
    let mut c: Vec<String> = std::fs::read_dir(table.join("_delta_log"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    c.sort();
    c
}

/// How many commits the table `table` under `dir/lake` has.
pub fn versions(dir: &Path, table: &str) -> usize {
    commits(&dir.join("lake").join(table)).len()
}

/// Asserts the report holds `code` on `target` with `status`, its problem and fix containing the
/// given texts.
#[track_caller]
pub fn assert_finding(
    r: &jirapipe::check::CheckReport,
    target: &str,
    code: &str,
    status: jirapipe::check::Status,
    problem: &str,
    fix: &str,
) {
    let probe = r.probes.iter().find(|p| p.target == target).unwrap_or_else(|| panic!("no row {target}: {r:#?}"));
    let f = probe
        .findings
        .iter()
        .find(|f| f.diagnosis.code == code)
        .unwrap_or_else(|| panic!("no `{code}` on {target}: {r:#?}"));
    assert_eq!(f.status, status, "{r:#?}");
    assert!(f.diagnosis.problem.contains(problem), "problem of {code}: {:?} lacks {problem:?}", f.diagnosis.problem);
    assert!(f.diagnosis.fix.contains(fix), "fix of {code}: {:?} lacks {fix:?}", f.diagnosis.fix);
    if status == jirapipe::check::Status::Fail {
        assert!(!r.passed, "a failed probe fails the check: {r:#?}");
    }
}
