//! Delta Lake tables on an object store: one table per object at `{destination}/{object}`.
//! Knows Delta and storage, not Jira. Every write is one atomic commit, so a reader never sees
//! half a run and a crash leaves the table at its last good version.

mod source;

use std::collections::HashMap;
use std::sync::{Arc, Once};

use deltalake::datafusion::common::Column;
use deltalake::datafusion::datasource::{MemTable, provider_as_source};
use deltalake::datafusion::logical_expr::{LogicalPlanBuilder, col};
use deltalake::datafusion::prelude::SessionContext;
use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::operations::write::SchemaMode;
use deltalake::parquet::basic::{Compression, ZstdLevel};
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableError};
use tokio::sync::mpsc;
use url::Url;

use crate::arrow::array::RecordBatch;
use crate::arrow::datatypes::SchemaRef;
pub use source::ChannelSource;

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("table {url}: {source}")]
    Delta { url: String, source: Box<DeltaTableError> },
    #[error("cannot create local folder {path}: {source}")]
    Folder { path: String, source: std::io::Error },
}

/// Registers the s3/gs/az URL schemes with deltalake, once per process.
pub(crate) fn register_stores() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        deltalake::aws::register_handlers(None);
        deltalake::gcp::register_handlers(None);
        deltalake::azure::register_handlers(None);
    });
}

/// The destination: where each object's table lives.
#[derive(Debug, Clone)]
pub struct TableStore {
    root: Url,
    storage_options: HashMap<String, String>,
}

/// Facts recorded with a commit. `cursor_ms` also goes into the commit as a Delta
/// application transaction (`txn`), so the next run reads it from the table's snapshot in the
/// same atomic step as the data it covers.
#[derive(Debug, Clone)]
pub struct CommitMeta {
    pub pipeline: String,
    pub run_id: String,
    pub cursor_ms: Option<i64>,
}

impl CommitMeta {
    fn properties(&self, object: &str) -> CommitProperties {
        let mut info = vec![
            ("jirapipe.pipeline".to_string(), serde_json::json!(self.pipeline)),
            ("jirapipe.run_id".to_string(), serde_json::json!(self.run_id)),
        ];
        let mut props = CommitProperties::default();
        if let Some(ms) = self.cursor_ms {
            info.push(("jirapipe.cursor_ms".to_string(), serde_json::json!(ms)));
            props = props.with_application_transaction(Transaction::new(cursor_app_id(&self.pipeline, object), ms));
        }
        props.with_metadata(info)
    }
}

/// The Delta `txn` app id holding an object's cursor.
fn cursor_app_id(pipeline: &str, object: &str) -> String {
    format!("jirapipe/{pipeline}/{object}")
}

fn writer_properties() -> WriterProperties {
    WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default())).build()
}

impl TableStore {
    pub fn new(root: Url) -> Self {
        register_stores();
        let mut root = root;
        if !root.path().ends_with('/') {
            root.set_path(&format!("{}/", root.path()));
        }
        Self { root, storage_options: HashMap::new() }
    }

    pub fn table_url(&self, object: &str) -> Url {
        self.root.join(&format!("{object}/")).expect("object names are URL-safe")
    }

    fn err(url: &Url) -> impl FnOnce(DeltaTableError) -> TableError + '_ {
        move |source| TableError::Delta { url: url.to_string(), source: Box::new(source) }
    }

    async fn open(&self, url: &Url) -> Result<DeltaTable, TableError> {
        if url.scheme() == "file" {
            let path = url.to_file_path().map_err(|()| TableError::Folder {
                path: url.to_string(),
                source: std::io::Error::other("not a local path"),
            })?;
            std::fs::create_dir_all(&path)
                .map_err(|source| TableError::Folder { path: path.display().to_string(), source })?;
        }
        let mut table = DeltaTable::try_from_url_with_storage_options(url.clone(), self.storage_options.clone())
            .await
            .map_err(Self::err(url))?;
        match table.load().await {
            Ok(()) | Err(DeltaTableError::NotATable(_)) => Ok(table),
            Err(e) => Err(Self::err(url)(e)),
        }
    }

    /// The cursor committed with the object's last incremental (or full) write, if any.
    pub async fn cursor(&self, pipeline: &str, object: &str) -> Result<Option<i64>, TableError> {
        let url = self.table_url(object);
        let table = self.open(&url).await?;
        let Ok(state) = table.snapshot() else { return Ok(None) };
        state
            .transaction_version(table.log_store().as_ref(), cursor_app_id(pipeline, object))
            .await
            .map_err(Self::err(&url))
    }

    /// Replaces the table's content (and schema) with the batches from `rx`, in one commit;
    /// returns the new table version.
    pub async fn replace(
        &self,
        object: &str,
        schema: SchemaRef,
        rx: mpsc::Receiver<RecordBatch>,
        meta: &CommitMeta,
    ) -> Result<u64, TableError> {
        let url = self.table_url(object);
        let table = self.open(&url).await?;
        let source = ChannelSource::new(schema, rx).into_table().map_err(|e| Self::err(&url)(e.into()))?;
        let plan = LogicalPlanBuilder::scan("source", provider_as_source(Arc::new(source)), None)
            .and_then(LogicalPlanBuilder::build)
            .map_err(|e| Self::err(&url)(e.into()))?;
        let table = table
            .write(Vec::new())
            .with_input_plan(plan)
            .with_save_mode(SaveMode::Overwrite)
            .with_schema_mode(SchemaMode::Overwrite)
            .with_table_name(object)
            .with_writer_properties(writer_properties())
            .with_commit_properties(meta.properties(object))
            .await
            .map_err(Self::err(&url))?;
        Ok(table.version().unwrap_or_default())
    }

    /// Upserts the batches from `rx` by `id` in one commit (new columns are added); creates the
    /// table when it does not exist yet. Returns the new version.
    ///
    /// Unlike `replace`, the batches are gathered first: deltalake's merge reads its source
    /// twice (once to derive a pruning filter from the incoming ids, once to join), and a
    /// channel can be read only once. Incremental batches hold only what changed since the last
    /// run; a first run (no table yet) streams through `replace`.
    pub async fn merge(
        &self,
        object: &str,
        schema: SchemaRef,
        rx: mpsc::Receiver<RecordBatch>,
        meta: &CommitMeta,
    ) -> Result<u64, TableError> {
        let url = self.table_url(object);
        let table = self.open(&url).await?;
        if table.version().is_none() {
            return self.replace(object, schema, rx, meta).await;
        }
        let mut rx = rx;
        let mut batches = Vec::new();
        while let Some(b) = rx.recv().await {
            batches.push(b);
        }
        if batches.iter().all(|b| b.num_rows() == 0) {
            return Ok(table.version().unwrap_or_default());
        }
        let source = MemTable::try_new(schema.clone(), vec![batches]).map_err(|e| Self::err(&url)(e.into()))?;
        let df = SessionContext::new().read_table(Arc::new(source)).map_err(|e| Self::err(&url)(e.into()))?;
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let source_col = |n: &str| col(Column::new(Some("source"), n));
        let (table, _metrics) = table
            .merge(df, col(Column::new(Some("target"), "id")).eq(source_col("id")))
            .with_source_alias("source")
            .with_target_alias("target")
            .with_merge_schema(true)
            .with_writer_properties(writer_properties())
            .with_commit_properties(meta.properties(object))
            .when_matched_update(|u| names.iter().fold(u, |u, n| u.update(n.as_str(), source_col(n))))
            .and_then(|m| m.when_not_matched_insert(|i| names.iter().fold(i, |i, n| i.set(n.as_str(), source_col(n)))))
            .map_err(Self::err(&url))?
            .await
            .map_err(Self::err(&url))?;
        Ok(table.version().unwrap_or_default())
    }
}
