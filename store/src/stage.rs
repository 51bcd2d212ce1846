//! The store stage: group commit between ingest and analytics.

use std::sync::Arc;

use forewarn_domain::{Batch, Metrics};
use tokio::sync::mpsc;

use crate::{Store, StoreError};

/// Most batches committed with one fsync; bounds the latency of the first batch in a group.
const MAX_GROUP: usize = 64;

/// Commits batches as they arrive — everything already waiting goes into one fsync — and forwards
/// each batch downstream only once it is durable. Ends when the input closes and all is forwarded.
pub async fn run(
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    mut input: mpsc::Receiver<Batch>,
    output: mpsc::Sender<Batch>,
) -> Result<(), StoreError> {
    while let Some(first) = input.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match input.try_recv() {
                Ok(b) => group.push(b),
                Err(_) => break,
            }
        }
        let s = store.clone();
        let (group, result) = tokio::task::spawn_blocking(move || {
            let r = s.append(&group);
            (group, r)
        })
        .await
        .map_err(|e| StoreError::Io {
            path: store.dir().to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let appended = result?;
        metrics.store_commits.inc();
        metrics.readings_stored.inc_by(appended.new_points);
        for b in group {
            output
                .send(b)
                .await
                .map_err(|_| StoreError::PipelineClosed)?;
        }
    }
    Ok(())
}
