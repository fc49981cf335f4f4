//! Batches arriving on a channel as a DataFusion source, so Delta writes and merges consume
//! them while extraction is still fetching: memory holds a few batches, not the object.

use std::sync::{Arc, Mutex};

use deltalake::datafusion::catalog::streaming::StreamingTable;
use deltalake::datafusion::error::DataFusionError;
use deltalake::datafusion::execution::TaskContext;
use deltalake::datafusion::physical_plan::SendableRecordBatchStream;
use deltalake::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use deltalake::datafusion::physical_plan::streaming::PartitionStream;
use tokio::sync::mpsc;

use crate::arrow::array::RecordBatch;
use crate::arrow::datatypes::SchemaRef;

/// The receiving end of an object's batches, readable once.
#[derive(Debug)]
pub struct ChannelSource {
    schema: SchemaRef,
    rx: Mutex<Option<mpsc::Receiver<RecordBatch>>>,
}

impl ChannelSource {
    pub fn new(schema: SchemaRef, rx: mpsc::Receiver<RecordBatch>) -> Self {
        Self { schema, rx: Mutex::new(Some(rx)) }
    }

    pub fn into_table(self) -> Result<StreamingTable, DataFusionError> {
        let schema = self.schema.clone();
        StreamingTable::try_new(schema, vec![Arc::new(self)])
    }
}

impl PartitionStream for ChannelSource {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let rx = self.rx.lock().unwrap_or_else(|e| e.into_inner()).take();
        let stream = futures::stream::unfold(rx, |rx| async move {
            let mut rx = rx?;
            rx.recv().await.map(|batch| (Ok(batch), Some(rx)))
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}
