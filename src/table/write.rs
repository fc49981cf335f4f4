//! Writing a table: a streamed replace, a merge by `id`, appends for the audit tables, and
//! deletes, each one atomic commit.

use std::collections::HashMap;
use std::sync::Arc;

use deltalake::datafusion::common::Column;
use deltalake::datafusion::datasource::{MemTable, provider_as_source};
use deltalake::datafusion::logical_expr::{LogicalPlanBuilder, col};
use deltalake::datafusion::prelude::SessionContext;
use deltalake::operations::write::{SchemaMode, WriteBuilder};
use deltalake::parquet::basic::{Compression, ZstdLevel};
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::parquet::schema::types::ColumnPath;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableError};
use tokio::sync::mpsc;

use super::{ChannelSource, CommitMeta, DELETED_AT, DELETED_REASON, Encoding, Layout, TableError, TableStore};
use crate::arrow::array::RecordBatch;

/// Rows per Parquet row group. The writer keeps a row group's column encoders (dictionaries,
/// indices, pages) in memory until it closes, about 1.5 KB per wide issue row, so the default
/// of a million rows would make memory grow with the table. 8k rows (~1.5 MB compressed for
/// issues) keeps the run's peak memory under 200 MB; 16k added ~18 MB (bench/RESULTS.md).
/// Readers still get several MB per row group per file, and `optimize` compacts files.
const ROW_GROUP_ROWS: usize = 8_192;

/// A checkpoint every 10 commits (Delta Lake's default on Spark, docs.delta.io "Table
/// properties"; deltalake's is 100). Every open reads the log from the last checkpoint on, one
/// object-store GET per commit file: a table written every 15 minutes, opened by each run and
/// every analyst's query, would otherwise replay up to 99 of them.
const CHECKPOINT_INTERVAL: &str = "delta.checkpointInterval";
const CHECKPOINT_EVERY: &str = "10";

/// Bounded row groups, zstd for free text and Snappy for the rest (see [`Encoding`]), and no
/// dictionary for the `distinct` columns: for them a dictionary is every value hashed and
/// copied twice, then abandoned once it outgrows its page.
pub(super) fn writer_properties(encoding: &Encoding) -> WriterProperties {
    let builder = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS));
    let builder = encoding.zstd.iter().fold(builder, |b, c| {
        b.set_column_compression(ColumnPath::from(c.as_str()), Compression::ZSTD(ZstdLevel::default()))
    });
    encoding
        .distinct
        .iter()
        .fold(builder, |b, c| b.set_column_dictionary_enabled(ColumnPath::from(c.as_str()), false))
        .build()
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
    /// Appends `batch` in one commit (new columns are added), creating the table if needed.
    /// Columns the table already has keep the table's type: `_runs` written before its counters
    /// became whole numbers holds doubles, and a schema merge cannot change a column's type.
    pub async fn append(&self, object: &str, batch: RecordBatch, meta: &CommitMeta) -> Result<u64, TableError> {
        let url = self.table_url(object);
        let table = self.open(&url).await?;
        let batch = match table.snapshot() {
            Ok(state) => to_table_types(batch, &state.snapshot().arrow_schema()).map_err(Self::err(&url))?,
            Err(_) => batch,
        };
        let write = table.write(vec![batch]).with_save_mode(SaveMode::Append).with_schema_mode(SchemaMode::Merge);
        let table = committed(write, object, &Encoding::default(), meta).await.map_err(Self::err(&url))?;
        Ok(table.version().unwrap_or_default())
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
        let write = table
            .write(Vec::new())
            .with_input_plan(plan)
            .with_session_state(write_session().map_err(Self::err(&url))?)
            .with_save_mode(SaveMode::Overwrite)
            .with_schema_mode(SchemaMode::Overwrite);
        let table = committed(write, object, &layout.encoding, meta).await.map_err(Self::err(&url))?;
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
        let Layout { schema, encoding } = layout;
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
            .with_writer_properties(writer_properties(&encoding))
            .with_commit_properties(meta.properties(object))
            .when_matched_update(|u| names.iter().fold(u, |u, n| u.update(n.as_str(), source_col(n))))
            .and_then(|m| m.when_not_matched_insert(|i| names.iter().fold(i, |i, n| i.set(n.as_str(), source_col(n)))))
            .map_err(Self::err(&url))?
            .await
            .map_err(Self::err(&url))?;
        Ok(table.version().unwrap_or_default())
    }

    /// Marks rows whose records left the listing, in one commit: each row in `marks` gets
    /// `_deleted_at = at` and its reason in `_deleted_reason`; with `hard`, rows whose reason
    /// is `deleted` are removed instead. The files rewritten keep the table's `encoding`, as
    /// dictionary, as `replace` wrote them. Returns the new version.
    pub async fn mark(
        &self,
        object: &str,
        marks: &[(String, &'static str)],
        hard: bool,
        at: chrono::DateTime<chrono::Utc>,
        encoding: &Encoding,
        meta: &CommitMeta,
    ) -> Result<u64, TableError> {
        use crate::transform::batch::BatchBuilder;
        use crate::transform::columns::{Column as Col, ColumnType};
        use deltalake::datafusion::prelude::lit;
        let url = self.table_url(object);
        let table = self.open(&url).await?;
        let columns = vec![
            Col { name: "id".into(), ty: ColumnType::Text },
            Col { name: DELETED_AT.into(), ty: ColumnType::Timestamp },
            Col { name: DELETED_REASON.into(), ty: ColumnType::Text },
        ];
        let schema = crate::transform::batch::schema(&columns);
        let mut b = BatchBuilder::new(columns);
        let at = serde_json::Value::from(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
        for (id, reason) in marks {
            let (id_v, reason_v) = (serde_json::Value::from(id.as_str()), serde_json::Value::from(*reason));
            b.push(id, |c| match c {
                "id" => Some(&id_v),
                DELETED_AT => Some(&at),
                _ => Some(&reason_v),
            })
            .expect("marks fit their columns");
        }
        let source = MemTable::try_new(schema, vec![vec![b.finish()]]).map_err(|e| Self::err(&url)(e.into()))?;
        let df = SessionContext::new().read_table(Arc::new(source)).map_err(|e| Self::err(&url)(e.into()))?;
        let source_col = |n: &str| col(Column::new(Some("source"), n));
        let mut merge = table
            .merge(df, col(Column::new(Some("target"), "id")).eq(source_col("id")))
            .with_source_alias("source")
            .with_target_alias("target")
            .with_merge_schema(true)
            .with_writer_properties(writer_properties(encoding))
            .with_commit_properties(meta.properties(object));
        if hard {
            merge = merge
                .when_matched_delete(|d| d.predicate(source_col(DELETED_REASON).eq(lit("deleted"))))
                .map_err(Self::err(&url))?;
        }
        let (table, _) = merge
            .when_matched_update(|u| {
                u.update(DELETED_AT, source_col(DELETED_AT)).update(DELETED_REASON, source_col(DELETED_REASON))
            })
            .map_err(Self::err(&url))?
            .await
            .map_err(Self::err(&url))?;
        Ok(table.version().unwrap_or_default())
    }
}

/// A write with what every data commit of `object` carries: the table name, the writer
/// properties for its columns' `encoding`, and the run's commit metadata.
/// `batch` with each column the table has cast to the table's type (doubles for a table's
/// older whole-number counters); new columns are left as they are.
fn to_table_types(batch: RecordBatch, table: &crate::arrow::datatypes::Schema) -> Result<RecordBatch, DeltaTableError> {
    use crate::arrow::datatypes::{Field, Schema};
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        match table.field_with_name(f.name()) {
            Ok(t)
                if t.data_type() != f.data_type()
                    && crate::arrow::compute::can_cast_types(f.data_type(), t.data_type()) =>
            {
                columns.push(crate::arrow::compute::cast(c, t.data_type())?);
                fields.push(Field::new(f.name(), t.data_type().clone(), f.is_nullable()));
            }
            _ => {
                columns.push(c.clone());
                fields.push(f.as_ref().clone());
            }
        }
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

async fn committed(
    write: WriteBuilder,
    object: &str,
    encoding: &Encoding,
    meta: &CommitMeta,
) -> Result<DeltaTable, DeltaTableError> {
    write
        .with_table_name(object)
        .with_configuration([(CHECKPOINT_INTERVAL, Some(CHECKPOINT_EVERY))])
        .with_writer_properties(writer_properties(encoding))
        .with_commit_properties(meta.properties(object))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::columns::{Column, ColumnType};

    /// Text columns get zstd, every other column Snappy, and the nearly distinct ones no
    /// dictionary: what `Layout::of` says is what the writer is told.
    #[test]
    fn text_is_zstd_the_rest_snappy_and_distinct_columns_have_no_dictionary() {
        let col = |name: &str, ty: ColumnType| Column { name: name.into(), ty };
        let layout = super::super::Layout::of(&[
            col("id", ColumnType::Text),
            col("summary", ColumnType::Text),
            col("comment", ColumnType::Json),
            col("created", ColumnType::Timestamp),
            col("votes", ColumnType::Int),
            col("_run_id", ColumnType::Text),
        ]);
        let props = writer_properties(&layout.encoding);
        let compression = |c: &str| props.compression(&ColumnPath::from(c));
        for text in ["id", "summary", "comment"] {
            assert_eq!(compression(text), Compression::ZSTD(ZstdLevel::default()), "{text}");
        }
        for other in ["created", "votes", "_run_id", "status.name"] {
            assert_eq!(compression(other), Compression::SNAPPY, "{other}");
        }
        let dictionary = |c: &str| props.dictionary_enabled(&ColumnPath::from(c));
        assert!(!dictionary("summary") && !dictionary("created") && dictionary("votes") && dictionary("_run_id"));
        assert_eq!(props.max_row_group_row_count(), Some(ROW_GROUP_ROWS));
    }
}
