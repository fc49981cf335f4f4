//! Delta Lake tables on an object store: one table per object at `{destination}/{object}`.
//! Knows Delta and storage, not Jira. Every write is one atomic commit, so a reader never sees
//! half a run and a crash leaves the table at its last good version.

mod maintain;
mod meta;
mod source;
mod write;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Once};

use deltalake::datafusion::prelude::SessionContext;
use deltalake::{DeltaTable, DeltaTableError};
use url::Url;

use crate::arrow::datatypes::SchemaRef;
use crate::transform::columns::Column as JiraColumn;
pub use meta::CommitMeta;
pub use source::ChannelSource;

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error(
        "table {url}: {source}. A table changes only by whole commits (its cursor with them), so it is at its last one and the next run writes what this one could not. Fix: check that the destination is reachable and writable (credentials, bucket policy, free space); `destination.retry_timeout` sets how long failing storage requests are retried"
    )]
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
    /// Each table as last opened through this store (one run's, or one command's). A run opens
    /// an object's table several times (its cursor, its schema, when it was last reconciled,
    /// the write, maintenance); a table already loaded is only brought up to date: one listing
    /// of its log, and the commits since, instead of its checkpoint and every commit after it
    /// read again. The clone shares the snapshot's files (Arrow batches behind `Arc`s).
    loaded: Arc<Mutex<HashMap<Url, DeltaTable>>>,
}

/// The soft-delete column of incremental issues.
pub const DELETED_AT: &str = "_deleted_at";

/// Why a row was marked: `deleted`, `left_filter`, `archived` or `lost_access`.
pub const DELETED_REASON: &str = "_deleted_reason";

/// The project a row's record was in when last read: how reconciliation asks Jira whether the
/// API user may still browse it, even when `key` is hashed.
pub const PROJECT_ID: &str = "_project_id";

/// A row as delete reconciliation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    pub id: String,
    pub key: Option<String>,
    pub project_id: Option<String>,
    /// `_deleted_reason`, or `deleted` for a row soft-deleted before reasons were recorded.
    pub reason: Option<String>,
}

/// What a write needs to know about an object's columns before its first batch arrives.
#[derive(Debug, Clone)]
pub struct Layout {
    pub schema: SchemaRef,
    pub encoding: Encoding,
}

/// How a table's columns are encoded; every write and rewrite of the table uses the same.
#[derive(Debug, Clone, Default)]
pub struct Encoding {
    /// Top-level columns whose values are nearly all distinct: written without a dictionary.
    pub distinct: Vec<String>,
    /// Top-level free-text columns, compressed with zstd; every other column with Snappy.
    ///
    /// Parquet's zstd codec holds a decompression context (~100 KB) per column while a row group
    /// is open, whether or not it ever decompresses: 20 MB of a run's heap for the 215 leaf
    /// columns of issues with every field (heaptrack, bench/RESULTS.md). The text columns hold
    /// nearly all the bytes (a row group of issues: 4.7 of 5.5 MB); the ids, counts, instants
    /// and small structs compress about as well with Snappy, which keeps no such state.
    pub zstd: Vec<String>,
}

impl Layout {
    /// The schema `columns` produce, and how each is encoded.
    pub fn of(columns: &[JiraColumn]) -> Self {
        let names =
            |keep: fn(&JiraColumn) -> bool| columns.iter().filter(|c| keep(c)).map(|c| c.name.clone()).collect();
        Self {
            schema: crate::transform::batch::schema(columns),
            encoding: Encoding { distinct: names(JiraColumn::nearly_distinct), zstd: names(JiraColumn::free_text) },
        }
    }
}

impl TableStore {
    pub fn new(root: Url) -> Self {
        register_stores();
        let mut root = root;
        if !root.path().ends_with('/') {
            root.set_path(&format!("{}/", root.path()));
        }
        Self { root, storage_options: HashMap::new(), loaded: Arc::default() }
    }

    /// The tables of `destination`, opened with its storage settings (retries, timeouts).
    pub fn for_destination(destination: &crate::config::Destination) -> Self {
        Self { storage_options: destination.storage_options(), ..Self::new(destination.url.clone()) }
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
        let cached = self.loaded.lock().expect("table cache lock").get(url).cloned();
        if let Some(mut table) = cached {
            // Should the update fail (a table deleted and created again under the run), the
            // table is loaded afresh below.
            if table.update_incremental(None).await.is_ok() {
                self.remember(url, &table);
                return Ok(table);
            }
            self.loaded.lock().expect("table cache lock").remove(url);
        }
        let mut table = DeltaTable::try_from_url_with_storage_options(url.clone(), self.storage_options.clone())
            .await
            .map_err(Self::err(url))?;
        match table.load().await {
            Ok(()) => {
                self.remember(url, &table);
                Ok(table)
            }
            Err(DeltaTableError::NotATable(_)) => Ok(table),
            Err(e) => Err(Self::err(url)(e)),
        }
    }

    fn remember(&self, url: &Url, table: &DeltaTable) {
        self.loaded.lock().expect("table cache lock").insert(url.clone(), table.clone());
    }

    /// The table's current columns, `None` when it does not exist yet.
    pub async fn schema(&self, object: &str) -> Result<Option<SchemaRef>, TableError> {
        let url = self.table_url(object);
        let table = self.open(&url).await?;
        let Ok(state) = table.snapshot() else { return Ok(None) };
        Ok(Some(state.snapshot().arrow_schema()))
    }

    /// Every row's id, key, project and mark, for delete reconciliation. Columns a table
    /// written by an older jirapipe lacks read as null.
    pub async fn stored_rows(&self, object: &str) -> Result<Vec<StoredRow>, TableError> {
        let Some(schema) = self.schema(object).await? else { return Ok(Vec::new()) };
        let has = |c: &str| schema.field_with_name(c).is_ok();
        let or_null = |c: &str| if has(c) { format!("CAST({c} AS VARCHAR)") } else { "NULL".into() };
        let reason = match (has(DELETED_REASON), has(DELETED_AT)) {
            (true, true) => {
                format!("COALESCE({DELETED_REASON}, CASE WHEN {DELETED_AT} IS NULL THEN NULL ELSE 'deleted' END)")
            }
            (true, false) => DELETED_REASON.to_string(),
            (false, true) => format!("CASE WHEN {DELETED_AT} IS NULL THEN NULL ELSE 'deleted' END"),
            (false, false) => "NULL".into(),
        };
        let sql = format!("SELECT CAST(id AS VARCHAR), {}, {}, {reason} FROM t", or_null("key"), or_null(PROJECT_ID));
        let rows = self.query_text(object, &sql).await?.unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|mut r| StoredRow {
                id: r[0].take().unwrap_or_default(),
                key: r[1].take(),
                project_id: r[2].take(),
                reason: r[3].take(),
            })
            .collect())
    }

    /// Ids of the rows not marked deleted where any of `columns` is one of `values`, less those whose
    /// `except` column (`_run_id`) holds the given value (rows the current run wrote). Values are
    /// compared as text; an empty `values` or a missing table finds nothing.
    pub async fn live_ids(
        &self,
        object: &str,
        columns: &[&str],
        values: &[String],
        except: Option<(&str, &str)>,
    ) -> Result<Vec<String>, TableError> {
        let Some(schema) = self.schema(object).await? else { return Ok(Vec::new()) };
        let columns: Vec<&str> = columns.iter().copied().filter(|c| schema.field_with_name(c).is_ok()).collect();
        if values.is_empty() || columns.is_empty() {
            return Ok(Vec::new());
        }
        let quote = |v: &str| format!("'{}'", v.replace('\'', "''"));
        let mut filter = Vec::new();
        if schema.field_with_name(DELETED_AT).is_ok() {
            filter.push(format!("{DELETED_AT} IS NULL"));
        }
        if let Some((c, v)) = except
            && schema.field_with_name(c).is_ok()
        {
            filter.push(format!("({c} IS NULL OR {c} <> {})", quote(v)));
        }
        let mut ids = Vec::new();
        // A few hundred values per query keep the SQL small.
        for chunk in values.chunks(500) {
            let list = chunk.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ");
            let any = columns.iter().map(|c| format!("CAST({c} AS VARCHAR) IN ({list})")).collect::<Vec<_>>();
            let mut clauses = vec![format!("({})", any.join(" OR "))];
            clauses.extend(filter.iter().cloned());
            let sql = format!("SELECT CAST(id AS VARCHAR) FROM t WHERE {}", clauses.join(" AND "));
            let rows = self.query_text(object, &sql).await?.unwrap_or_default();
            ids.extend(rows.into_iter().filter_map(|mut r| r[0].take()));
        }
        Ok(ids)
    }

    /// How many rows the table holds now, `None` when it does not exist yet: what a full
    /// refresh is about to replace.
    /// Rows marked deleted (a table once incremental) are not counted: a refresh never writes
    /// them again.
    pub async fn row_count(&self, object: &str) -> Result<Option<u64>, TableError> {
        let Some(schema) = self.schema(object).await? else { return Ok(None) };
        let live = if schema.field_with_name(DELETED_AT).is_ok() { " WHERE _deleted_at IS NULL" } else { "" };
        let rows = self.query_text(object, &format!("SELECT CAST(count(*) AS VARCHAR) FROM t{live}")).await?;
        Ok(rows.and_then(|r| r.first()?.first()?.as_deref()?.parse().ok()))
    }

    /// The table's current version, `None` when it does not exist yet.
    pub async fn version(&self, object: &str) -> Result<Option<u64>, TableError> {
        let url = self.table_url(object);
        Ok(self.open(&url).await?.version())
    }

    /// Runs `sql` over the table registered as `t`, every column cast to text by the caller's
    /// SQL (`CAST(x AS VARCHAR)`); `None` when the table does not exist. For small audit
    /// tables such as `_runs`.
    pub async fn query_text(&self, object: &str, sql: &str) -> Result<Option<Vec<Vec<Option<String>>>>, TableError> {
        self.query_tables(&[(object, "t")], sql).await
    }

    /// Runs `sql` over several tables, each `(table, name it is registered as)`, every column
    /// cast to text; `None` when one of them does not exist. For answers joining a few tables
    /// (the demo's).
    pub async fn query_tables(
        &self,
        tables: &[(&str, &str)],
        sql: &str,
    ) -> Result<Option<Vec<Vec<Option<String>>>>, TableError> {
        use deltalake::arrow::array::{Array, AsArray};
        let ctx = SessionContext::new();
        let mut url = self.root.clone();
        for (object, name) in tables {
            url = self.table_url(object);
            let table = self.open(&url).await?;
            if table.snapshot().is_err() {
                return Ok(None);
            }
            let df_err = |e: deltalake::datafusion::error::DataFusionError| Self::err(&url)(e.into());
            table.update_datafusion_session(&ctx.state()).map_err(Self::err(&url))?;
            ctx.register_table(*name, table.table_provider().await.map_err(df_err)?).map_err(df_err)?;
        }
        let df_err = |e: deltalake::datafusion::error::DataFusionError| Self::err(&url)(e.into());
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::array::{RecordBatch, StringArray};
    use crate::arrow::datatypes::{DataType, Field, Schema};

    fn batch(columns: &[&str]) -> RecordBatch {
        let schema = Schema::new(columns.iter().map(|c| Field::new(*c, DataType::Utf8, true)).collect::<Vec<_>>());
        let arrays = columns.iter().map(|c| Arc::new(StringArray::from(vec![*c])) as _).collect();
        RecordBatch::try_new(Arc::new(schema), arrays).unwrap()
    }

    /// A table this store has loaded is only brought up to date on the next open, and still
    /// sees what another writer committed in between: its versions and its new columns.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_table_opened_again_sees_commits_made_since() {
        let dir = tempfile::tempdir().unwrap();
        let url = Url::from_directory_path(dir.path()).unwrap();
        let (ours, theirs) = (TableStore::new(url.clone()), TableStore::new(url));
        let meta = CommitMeta { pipeline: "p".into(), run_id: "r".into(), cursor_ms: None, reconciled_ms: None };
        assert_eq!(ours.version("_runs").await.unwrap(), None);
        ours.append("_runs", batch(&["id"]), &meta).await.unwrap();
        assert_eq!(ours.version("_runs").await.unwrap(), Some(0));
        assert!(ours.loaded.lock().unwrap().contains_key(&ours.table_url("_runs")), "kept after its first load");
        theirs.append("_runs", batch(&["id", "added"]), &meta).await.unwrap();
        assert_eq!(ours.version("_runs").await.unwrap(), Some(1));
        let schema = ours.schema("_runs").await.unwrap().unwrap();
        assert!(schema.field_with_name("added").is_ok(), "{schema:?}");
        let rows = ours.query_text("_runs", "SELECT id FROM t ORDER BY id").await.unwrap().unwrap();
        assert_eq!(rows.len(), 2);
    }
}
