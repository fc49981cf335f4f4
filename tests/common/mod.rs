//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

pub mod s3;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::compute::cast;
use deltalake::arrow::datatypes::{DataType, Field, Schema};
use deltalake::datafusion::prelude::SessionContext;
use url::Url;

/// A simulated Jira Cloud site with `issues` issues and everything else at its defaults.
pub async fn sim_with_issues(issues: u64) -> jira_sim::RunningSim {
    let data = jira_sim::DatasetConfig { issues, ..Default::default() };
    jira_sim::RunningSim::start(jira_sim::SimConfig { data, ..Default::default() }).await.unwrap()
}

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn jirapipe() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jirapipe"));
    c.env_remove("RUST_LOG");
    c
}

/// The test venv's python, created on first use by `scripts/python-env.sh`.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("py-venv");
            let out = Command::new("bash")
                .arg(root().join("scripts/python-env.sh"))
                .arg(&venv)
                .output()
                .expect("run python-env.sh");
            assert!(out.status.success(), "python-env.sh failed:\n{}", String::from_utf8_lossy(&out.stderr));
            PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
        })
        .clone()
}

/// A Delta table as Python `deltalake` reads it: (`{columns: [..], types: {..}}`, rows sorted by id).
pub fn read_with_python(table: &Path) -> (serde_json::Value, Vec<serde_json::Value>) {
    let read = || Command::new(python()).arg(root().join("tests/read_delta.py")).arg(table).output().unwrap();
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
    let ctx = SessionContext::new();
    table.update_datafusion_session(&ctx.state()).unwrap();
    ctx.register_table("t", table.table_provider().await.unwrap()).unwrap();
    let batches = ctx.sql("SELECT * FROM t ORDER BY id").await.unwrap().collect().await.unwrap();
    batches.iter().map(without_views).collect()
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

/// Commits in the Delta log of `table` under `dir/lake`.
pub fn versions(dir: &Path, table: &str) -> usize {
    std::fs::read_dir(dir.join("lake").join(table).join("_delta_log"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".json"))
        .count()
}
