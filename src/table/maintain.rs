//! Small-file hygiene: compaction and vacuum every `compact_every` versions.

use super::write::writer_properties;
use super::{CommitMeta, Encoding, TableError, TableStore};

impl TableStore {
    /// Small-file hygiene: every `every` versions, compacts small files into large ones and
    /// vacuums files older than `retention` that no version still needs; compacted files keep
    /// the table's `encoding`. Returns whether it ran.
    pub async fn maintain(
        &self,
        object: &str,
        version: u64,
        encoding: &Encoding,
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
            .with_writer_properties(writer_properties(encoding))
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
}
