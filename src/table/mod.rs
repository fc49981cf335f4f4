//! Delta Lake tables on an object store: one table per object at `{destination}/{object}`.
//! Knows Delta and storage, not Jira. Every write is one atomic commit, so a reader never sees
//! half a run and a crash leaves the table at its last good version.

use std::collections::HashMap;
use std::sync::Once;

use crate::arrow::array::RecordBatch;
use deltalake::DeltaTable;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::operations::write::SchemaMode;
use deltalake::parquet::basic::{Compression, ZstdLevel};
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::protocol::SaveMode;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("table {url}: {source}")]
    Delta { url: String, source: Box<deltalake::DeltaTableError> },
    #[error("cannot create local folder {path}: {source}")]
    Folder { path: String, source: std::io::Error },
}

/// Registers the s3/gs/az URL schemes with deltalake, once per process.
fn register_stores() {
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

/// Facts recorded in a commit's `commitInfo`, readable with `DESCRIBE HISTORY`.
#[derive(Debug, Clone)]
pub struct CommitMeta {
    pub pipeline: String,
    pub run_id: String,
    pub rows: usize,
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

    async fn open(&self, url: &Url) -> Result<DeltaTable, TableError> {
        if url.scheme() == "file" {
            let path = url.to_file_path().map_err(|()| TableError::Folder {
                path: url.to_string(),
                source: std::io::Error::other("not a local path"),
            })?;
            std::fs::create_dir_all(&path)
                .map_err(|source| TableError::Folder { path: path.display().to_string(), source })?;
        }
        DeltaTable::try_from_url_with_storage_options(url.clone(), self.storage_options.clone())
            .await
            .map_err(|source| TableError::Delta { url: url.to_string(), source: Box::new(source) })
    }

    /// Replaces the table's content (and schema) with `batches` in one commit; returns the
    /// new table version.
    pub async fn replace(&self, object: &str, batches: Vec<RecordBatch>, meta: &CommitMeta) -> Result<u64, TableError> {
        let url = self.table_url(object);
        let table = self.open(&url).await?;
        let props = WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default())).build();
        let commit = CommitProperties::default().with_metadata([
            ("jirapipe.pipeline".to_string(), serde_json::json!(meta.pipeline)),
            ("jirapipe.run_id".to_string(), serde_json::json!(meta.run_id)),
            ("jirapipe.rows".to_string(), serde_json::json!(meta.rows)),
        ]);
        let table = table
            .write(batches)
            .with_save_mode(SaveMode::Overwrite)
            .with_schema_mode(SchemaMode::Overwrite)
            .with_table_name(object)
            .with_writer_properties(props)
            .with_commit_properties(commit)
            .await
            .map_err(|source| TableError::Delta { url: url.to_string(), source: Box::new(source) })?;
        Ok(table.version().unwrap_or_default())
    }
}
