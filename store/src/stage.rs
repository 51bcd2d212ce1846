//! The store stage: group commit between ingest and analytics.

use std::sync::Arc;

use forewarn_domain::{Batch, Metrics};
use tokio::sync::mpsc;

use crate::{StoreError, Telemetry};

/// Most batches committed with one fsync; bounds the latency of the first batch in a group.
const MAX_GROUP: usize = 64;
/// How often the backend's upkeep (retention of an idle store) runs.
const UPKEEP: std::time::Duration = std::time::Duration::from_secs(3600);

/// Commits batches as they arrive — everything already waiting goes into one fsync — and forwards
/// each batch downstream only once it is durable. Ends when the input closes and all is forwarded.
pub async fn run(
    store: Arc<dyn Telemetry>,
    metrics: Arc<Metrics>,
    mut input: mpsc::Receiver<Batch>,
    output: mpsc::Sender<Batch>,
) -> Result<(), StoreError> {
    let mut upkeep = tokio::time::interval(UPKEEP);
    // The first tick is immediate: retention is applied at start too.
    upkeep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let first = tokio::select! {
            b = input.recv() => match b {
                Some(b) => b,
                None => break,
            },
            _ = upkeep.tick() => {
                store.maintain().await?;
                continue;
            }
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match input.try_recv() {
                Ok(b) => group.push(b),
                Err(_) => break,
            }
        }
        let (group, appended) = store.append(group).await?;
        metrics.store_commits.inc();
        metrics.readings_stored.inc_by(appended.new_points);
        for b in group {
            output
                .send(b)
                .await
                .map_err(|_| StoreError::PipelineClosed)?;
        }
    }
    store.close().await
}

#[cfg(test)]
mod tests {
    use forewarn_domain::{AssetId, Reading, SensorName};

    use super::*;
    use crate::{Embedded, OpenMode, Store};

    #[tokio::test]
    async fn forwards_in_order_only_what_is_durable() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), OpenMode::ReadWrite).unwrap();
        let store = Arc::new(store);
        let metrics = Arc::new(Metrics::new());
        let (in_tx, in_rx) = mpsc::channel(256);
        let (out_tx, mut out_rx) = mpsc::channel(256);
        let asset = AssetId::new("p-1").unwrap();
        let sensor = SensorName::new("vib").unwrap();
        for seq in 1..=200u64 {
            let readings = (0..10)
                .map(|i| Reading {
                    asset: asset.clone(),
                    sensor: sensor.clone(),
                    ts_ms: (seq * 10 + i) as i64,
                    value: 1.0,
                })
                .collect();
            in_tx
                .send(Batch {
                    seq,
                    readings,
                    messages: 1,
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        drop(in_tx);
        // Started after the queue filled up, so the grouping is deterministic.
        let backend = Arc::new(Embedded(store.clone()));
        let stage = tokio::spawn(run(backend, metrics.clone(), in_rx, out_tx));
        let mut seen = Vec::new();
        while let Some(b) = out_rx.recv().await {
            // Whatever comes out is already on disk: a read-only replay finds it.
            let (reader, _) = Store::open(dir.path(), OpenMode::ReadOnly).unwrap();
            assert!(reader.stats().points >= b.seq * 10);
            seen.push(b.seq);
        }
        stage.await.unwrap().unwrap();
        assert_eq!(seen, (1..=200).collect::<Vec<_>>());
        assert_eq!(metrics.readings_stored.get(), 2000);
        // Batches that were waiting together shared one fsync (groups of at most 64).
        assert_eq!(metrics.store_commits.get(), 4);
    }
}
