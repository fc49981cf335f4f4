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
use deltalake::parquet::schema::types::ColumnPath;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableError};
use tokio::sync::mpsc;
use url::Url;

use crate::arrow::array::RecordBatch;
use crate::arrow::datatypes::SchemaRef;
use crate::transform::columns::Column as JiraColumn;
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
    /// When deletions were last looked for (incremental issues).
    pub reconciled_ms: Option<i64>,
}

impl CommitMeta {
    /// Run facts, plus the cursor and reconciliation time (as `txn` actions) when set.
    fn properties(&self, object: &str) -> CommitProperties {
        let mut info = self.info();
        let mut props = CommitProperties::default();
        if let Some(ms) = self.cursor_ms {
            info.push(("jirapipe.cursor_ms".to_string(), serde_json::json!(ms)));
            props = props.with_application_transaction(Transaction::new(cursor_app_id(&self.pipeline, object), ms));
        }
        if let Some(ms) = self.reconciled_ms {
            let app = reconciled_app_id(&self.pipeline, object);
            props = props.with_application_transaction(Transaction::new(app, ms));
        }
        props.with_metadata(info)
    }

    /// Run facts only: maintenance commits carry no cursor.
    fn properties_plain(&self) -> CommitProperties {
        CommitProperties::default().with_metadata(self.info())
    }

    fn info(&self) -> Vec<(String, serde_json::Value)> {
        vec![
            ("jirapipe.pipeline".to_string(), serde_json::json!(self.pipeline)),
            ("jirapipe.run_id".to_string(), serde_json::json!(self.run_id)),
        ]
    }
}

/// The soft-delete column of incremental issues.
pub const DELETED_AT: &str = "_deleted_at";

/// The Delta `txn` app id holding an object's cursor.
fn cursor_app_id(pipeline: &str, object: &str) -> String {
    format!("jirapipe/{pipeline}/{object}")
}

/// The Delta `txn` app id holding when deletions were last reconciled.
fn reconciled_app_id(pipeline: &str, object: &str) -> String {
    format!("jirapipe/{pipeline}/{object}/reconciled")
}

/// Rows per Parquet row group. The writer keeps a row group's column encoders (dictionaries,
/// indices, pages) in memory until it closes, about 1.5 KB per wide issue row, so the default
/// of a million rows would make memory grow with the table. 8k rows (~1.5 MB compressed for
/// issues) keeps the run's peak memory under 200 MB; 16k added ~18 MB (bench/RESULTS.md).
/// Readers still get several MB per row group per file, and `optimize` compacts files.
const ROW_GROUP_ROWS: usize = 8_192;

/// What a write needs to know about an object's columns before its first batch arrives.
#[derive(Debug, Clone)]
pub struct Layout {
    pub schema: SchemaRef,
    /// Top-level columns whose values are nearly all distinct: written without a dictionary.
    pub distinct: Vec<String>,
}

impl Layout {
    /// The schema `columns` produce, and which of them hold nearly distinct values.
    pub fn of(columns: &[JiraColumn]) -> Self {
        Self {
            schema: crate::transform::batch::schema(columns),
            distinct: columns.iter().filter(|c| c.nearly_distinct()).map(|c| c.name.clone()).collect(),
        }
    }
}

/// zstd pages, bounded row groups, and no dictionary for the `distinct` columns: for them a
/// dictionary is every value hashed and copied twice, then abandoned once it outgrows its page.
fn writer_properties(distinct: &[String]) -> WriterProperties {
    let builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS));
    distinct.iter().fold(builder, |b, c| b.set_column_dictionary_enabled(ColumnPath::from(c.as_str()), false)).build()
}

/// The DataFusion session a streamed write runs in. One partition: the batches arrive on one
/// channel and a table without partition columns has one file writer, so DataFusion's
/// round-robin repartitioning only added copies (it concatenates batches up to 8,192 rows,
/// ~10 MB of wide issues per partition, the largest single holder of memory in a run).
fn write_session() -> Result<Arc<dyn deltalake::datafusion::catalog::Session>, DeltaTableError> {
    let overrides = HashMap::from([("datafusion.execution.target_partitions".to_string(), "1".to_string())]);
    let ctx = deltalake::delta_datafusion::DeltaSessionContext::new_with_session_overrides(&overrides)?;
    Ok(Arc::new(ctx.state()))
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

    /// The table's current columns, `None` when it does not exist yet.
    pub async fn schema(&self, object: &str) -> Result<Option<SchemaRef>, TableError> {
        let url = self.table_url(object);
        let table = self.open(&url).await?;
        let Ok(state) = table.snapshot() else { return Ok(None) };
        Ok(Some(state.snapshot().arrow_schema()))
    }

    /// Appends `batch` in one commit (new columns are added), creating the table if needed.
    pub async fn append(&self, object: &str, batch: RecordBatch, meta: &CommitMeta) -> Result<u64, TableError> {
        let url = self.table_url(object);
        let table = self.open(&url).await?;
        let table = table
            .write(vec![batch])
            .with_save_mode(SaveMode::Append)
            .with_schema_mode(SchemaMode::Merge)
            .with_table_name(object)
            .with_writer_properties(writer_properties(&[]))
            .with_commit_properties(meta.properties(object))
            .await
            .map_err(Self::err(&url))?;
        Ok(table.version().unwrap_or_default())
    }

    /// `(id, key, soft-deleted)` of every row, for delete reconciliation.
    pub async fn ids(&self, object: &str) -> Result<Vec<(String, String, bool)>, TableError> {
        let Some(schema) = self.schema(object).await? else { return Ok(Vec::new()) };
        let deleted = match schema.field_with_name(DELETED_AT) {
            Ok(_) => format!("{DELETED_AT} IS NOT NULL"),
            Err(_) => "false".into(),
        };
        let rows = self.query_text(object, &format!("SELECT id, key, {deleted} FROM t")).await?.unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|mut r| {
                let deleted = r[2].as_deref() == Some("true");
                (r[0].take().unwrap_or_default(), r[1].take().unwrap_or_default(), deleted)
            })
            .collect())
    }

    /// Marks rows deleted in Jira: sets `_deleted_at` (soft) or removes them (hard), in one
    /// commit. Returns the new version. The files rewritten keep `distinct` without a
    /// dictionary, as `replace` wrote them.
    pub async fn delete_ids(
        &self,
        object: &str,
        ids: &[String],
        distinct: &[String],
        soft: bool,
        at_micros: i64,
        meta: &CommitMeta,
    ) -> Result<u64, TableError> {
        use deltalake::datafusion::prelude::lit;
        use deltalake::datafusion::scalar::ScalarValue;
        let url = self.table_url(object);
        let table = self.open(&url).await?;
        let predicate = col("id").in_list(ids.iter().map(|i| lit(i.as_str())).collect(), false);
        let table = if soft {
            let at = lit(ScalarValue::TimestampMicrosecond(Some(at_micros), Some("UTC".into())));
            table
                .update()
                .with_predicate(predicate)
                .with_update(DELETED_AT, at)
                .with_writer_properties(writer_properties(distinct))
                .with_commit_properties(meta.properties(object))
                .await
                .map_err(Self::err(&url))?
                .0
        } else {
            table
                .delete()
                .with_predicate(predicate)
                .with_writer_properties(writer_properties(distinct))
                .with_commit_properties(meta.properties(object))
                .await
                .map_err(Self::err(&url))?
                .0
        };
        Ok(table.version().unwrap_or_default())
    }

    /// Small-file hygiene: every `every` versions, compacts small files into large ones and
    /// vacuums files older than `retention` that no version still needs; compacted files keep
    /// `distinct` without a dictionary. Returns whether it ran.
    pub async fn maintain(
        &self,
        object: &str,
        version: u64,
        distinct: &[String],
        every: u64,
        retention: std::time::Duration,
        meta: &CommitMeta,
    ) -> Result<bool, TableError> {
        if every == 0 || version == 0 || !version.is_multiple_of(every) {
            return Ok(false);
        }
        let url = self.table_url(object);
        let table = self.open(&url).await?;
        let (table, metrics) = table
            .optimize()
            .with_writer_properties(writer_properties(distinct))
            .with_commit_properties(meta.properties_plain())
            .await
            .map_err(Self::err(&url))?;
        let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::days(7));
        let (_, vacuumed) = table
            .vacuum()
            .with_retention_period(retention)
            .with_enforce_retention_duration(false)
            .with_commit_properties(meta.properties_plain())
            .await
            .map_err(Self::err(&url))?;
        tracing::info!(
            object,
            compacted = metrics.num_files_removed,
            into = metrics.num_files_added,
            vacuumed = vacuumed.files_deleted.len(),
            "table maintenance done"
        );
        Ok(true)
    }

    /// The cursor committed with the object's last incremental (or full) write, if any.
    pub async fn cursor(&self, pipeline: &str, object: &str) -> Result<Option<i64>, TableError> {
        self.txn(object, cursor_app_id(pipeline, object)).await
    }

    /// When deletions were last reconciled for the object (epoch ms), if ever.
    pub async fn reconciled(&self, pipeline: &str, object: &str) -> Result<Option<i64>, TableError> {
        self.txn(object, reconciled_app_id(pipeline, object)).await
    }

    /// The table's current version, `None` when it does not exist yet.
    pub async fn version(&self, object: &str) -> Result<Option<u64>, TableError> {
        let url = self.table_url(object);
        Ok(self.open(&url).await?.version())
    }

    /// Commits `meta` (its cursor) alone: a new table version with no data change, so the next
    /// run reads the cursor from it. `None` when the table does not exist (nothing to rewind).
    pub async fn commit_meta(&self, object: &str, meta: &CommitMeta) -> Result<Option<u64>, TableError> {
        use deltalake::kernel::transaction::CommitBuilder;
        use deltalake::protocol::DeltaOperation;
        let url = self.table_url(object);
        let table = self.open(&url).await?;
        let Ok(state) = table.snapshot() else { return Ok(None) };
        let operation = DeltaOperation::Write { mode: SaveMode::Append, partition_by: None, predicate: None };
        let commit = CommitBuilder::from(meta.properties(object))
            .build(Some(state), table.log_store(), operation)
            .await
            .map_err(Self::err(&url))?;
        Ok(Some(commit.version() as u64))
    }

    /// Runs `sql` over the table registered as `t`, every column cast to text by the caller's
    /// SQL (`CAST(x AS VARCHAR)`); `None` when the table does not exist. For small audit
    /// tables such as `_runs`.
    pub async fn query_text(&self, object: &str, sql: &str) -> Result<Option<Vec<Vec<Option<String>>>>, TableError> {
        use deltalake::arrow::array::{Array, AsArray};
        let url = self.table_url(object);
        let table = self.open(&url).await?;
        if table.snapshot().is_err() {
            return Ok(None);
        }
        let df_err = |e: deltalake::datafusion::error::DataFusionError| Self::err(&url)(e.into());
        let ctx = SessionContext::new();
        table.update_datafusion_session(&ctx.state()).map_err(Self::err(&url))?;
        ctx.register_table("t", table.table_provider().await.map_err(df_err)?).map_err(df_err)?;
        let batches = ctx.sql(sql).await.map_err(df_err)?.collect().await.map_err(df_err)?;
        let mut rows = Vec::new();
        for b in batches {
            let cols: Vec<_> = b
                .columns()
                .iter()
                .map(|c| deltalake::arrow::compute::cast(c, &deltalake::arrow::datatypes::DataType::Utf8))
                .collect::<Result<_, _>>()
                .map_err(|e| Self::err(&url)(e.into()))?;
            for r in 0..b.num_rows() {
                rows.push(
                    cols.iter()
                        .map(|c| {
                            let c = c.as_string::<i32>();
                            (!c.is_null(r)).then(|| c.value(r).to_string())
                        })
                        .collect(),
                );
            }
        }
        Ok(Some(rows))
    }

    async fn txn(&self, object: &str, app_id: String) -> Result<Option<i64>, TableError> {
        let url = self.table_url(object);
        let table = self.open(&url).await?;
        let Ok(state) = table.snapshot() else { return Ok(None) };
        state.transaction_version(table.log_store().as_ref(), app_id).await.map_err(Self::err(&url))
    }

    /// Replaces the table's content (and schema) with the batches from `rx`, in one commit;
    /// returns the new table version.
    pub async fn replace(
        &self,
        object: &str,
        layout: Layout,
        rx: mpsc::Receiver<RecordBatch>,
        meta: &CommitMeta,
    ) -> Result<u64, TableError> {
        let url = self.table_url(object);
        let table = self.open(&url).await?;
        let source = ChannelSource::new(layout.schema, rx).into_table().map_err(|e| Self::err(&url)(e.into()))?;
        let plan = LogicalPlanBuilder::scan("source", provider_as_source(Arc::new(source)), None)
            .and_then(LogicalPlanBuilder::build)
            .map_err(|e| Self::err(&url)(e.into()))?;
        let table = table
            .write(Vec::new())
            .with_input_plan(plan)
            .with_session_state(write_session().map_err(Self::err(&url))?)
            .with_save_mode(SaveMode::Overwrite)
            .with_schema_mode(SchemaMode::Overwrite)
            .with_table_name(object)
            .with_writer_properties(writer_properties(&layout.distinct))
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
        layout: Layout,
        rx: mpsc::Receiver<RecordBatch>,
        meta: &CommitMeta,
    ) -> Result<u64, TableError> {
        let url = self.table_url(object);
        let table = self.open(&url).await?;
        if table.version().is_none() {
            return self.replace(object, layout, rx, meta).await;
        }
        let Layout { schema, distinct } = layout;
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
            .with_writer_properties(writer_properties(&distinct))
            .with_commit_properties(meta.properties(object))
            .when_matched_update(|u| names.iter().fold(u, |u, n| u.update(n.as_str(), source_col(n))))
            .and_then(|m| m.when_not_matched_insert(|i| names.iter().fold(i, |i, n| i.set(n.as_str(), source_col(n)))))
            .map_err(Self::err(&url))?
            .await
            .map_err(Self::err(&url))?;
        Ok(table.version().unwrap_or_default())
    }
}
