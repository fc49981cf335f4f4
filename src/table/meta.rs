//! What each commit records besides data: run facts in its commit info, and the cursor and
//! the last delete reconciliation as Delta application transactions (`txn`), so a run reads
//! them from the same snapshot as the data they cover.

use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;

use super::{TableError, TableStore};

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
    pub(super) fn properties(&self, object: &str) -> CommitProperties {
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
    pub(super) fn properties_plain(&self) -> CommitProperties {
        CommitProperties::default().with_metadata(self.info())
    }

    fn info(&self) -> Vec<(String, serde_json::Value)> {
        vec![
            ("jirapipe.pipeline".to_string(), serde_json::json!(self.pipeline)),
            ("jirapipe.run_id".to_string(), serde_json::json!(self.run_id)),
        ]
    }
}

/// The Delta `txn` app id holding an object's cursor.
fn cursor_app_id(pipeline: &str, object: &str) -> String {
    format!("jirapipe/{pipeline}/{object}")
}

/// The Delta `txn` app id holding when deletions were last reconciled.
fn reconciled_app_id(pipeline: &str, object: &str) -> String {
    format!("jirapipe/{pipeline}/{object}/reconciled")
}

impl TableStore {
    /// The cursor committed with the object's last incremental (or full) write, if any.
    pub async fn cursor(&self, pipeline: &str, object: &str) -> Result<Option<i64>, TableError> {
        self.txn(object, cursor_app_id(pipeline, object)).await
    }

    /// When deletions were last reconciled for the object (epoch ms), if ever.
    pub async fn reconciled(&self, pipeline: &str, object: &str) -> Result<Option<i64>, TableError> {
        self.txn(object, reconciled_app_id(pipeline, object)).await
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

    async fn txn(&self, object: &str, app_id: String) -> Result<Option<i64>, TableError> {
        let url = self.table_url(object);
        let table = self.open(&url).await?;
        let Ok(state) = table.snapshot() else { return Ok(None) };
        state.transaction_version(table.log_store().as_ref(), app_id).await.map_err(Self::err(&url))
    }
}
