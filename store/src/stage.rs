//! The store stage: group commit between ingest and analytics, held back — never failing — while
//! the data directory's disk is below its free-space floor or the store cannot write.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use forewarn_domain::{Batch, Dependency, Metrics};
use tokio::sync::mpsc;

use crate::{Appended, StoreError, Telemetry};

/// Most batches committed with one fsync; bounds the latency of the first batch in a group.
const MAX_GROUP: usize = 64;
/// How often the backend's upkeep (retention of an idle store) runs.
const UPKEEP: std::time::Duration = std::time::Duration::from_secs(3600);
/// How often free space is looked at again while below the floor.
const DISK_POLL: Duration = Duration::from_secs(1);
/// Longest wait between two tries of a failed write.
const MAX_RETRY: Duration = Duration::from_secs(30);

/// The free space the data directory's filesystem must keep: below it the stage stops writing
/// (and so acknowledging: the broker keeps the messages) until space returns.
#[derive(Debug, Clone)]
pub struct DiskFloor {
    /// The data directory.
    pub dir: PathBuf,
    /// Bytes that must stay available (0: no floor).
    pub min_free: u64,
}

impl DiskFloor {
    /// Bytes available when they are below the floor.
    fn short(&self) -> Option<u64> {
        if self.min_free == 0 {
            return None;
        }
        let available = fs4::available_space(&self.dir).ok()?;
        (available < self.min_free).then_some(available)
    }

    fn reason(&self, available: u64) -> String {
        format!(
            "{} MiB free in {}, below [store] min_free_mb = {}: not storing or acknowledging until there is more",
            available >> 20,
            self.dir.display(),
            self.min_free >> 20
        )
    }
}

/// Commits batches as they arrive — everything already waiting goes into one fsync — and forwards
/// each batch downstream only once it is durable. Ends when the input closes and all is forwarded.
/// Below the disk floor, or while writes fail (a full disk, an I/O error, InfluxDB refusing), the
/// group waits and is tried again; the degradation shows in `metrics`. Only what cannot be
/// retried (a directory taken by another process, a damaged log) ends the stage.
pub async fn run(
    store: Arc<dyn Telemetry>,
    metrics: Arc<Metrics>,
    mut input: mpsc::Receiver<Batch>,
    output: mpsc::Sender<Batch>,
    floor: DiskFloor,
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
                if let Err(e) = store.maintain().await {
                    // Retention is tried again at the next tick; the data is safe meanwhile.
                    tracing::warn!(error = %e, "store upkeep failed");
                }
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
        let group = Arc::new(group);
        let appended = commit(store.as_ref(), &metrics, &floor, &group).await?;
        metrics.store_commits.inc();
        metrics.readings_stored.inc_by(appended.new_points);
        let group = Arc::try_unwrap(group).unwrap_or_else(|shared| (*shared).clone());
        for b in group {
            output
                .send(b)
                .await
                .map_err(|_| StoreError::PipelineClosed)?;
        }
    }
    store.close().await
}

/// Appends `group` once there is room for it, trying again after a failure that a retry can
/// fix.
async fn commit(
    store: &dyn Telemetry,
    metrics: &Metrics,
    floor: &DiskFloor,
    group: &Arc<Vec<Batch>>,
) -> Result<Appended, StoreError> {
    let mut retry = Duration::from_secs(1);
    loop {
        if let Some(available) = floor.short() {
            metrics.degrade(Dependency::DiskSpace, &floor.reason(available), now_ms());
            tokio::time::sleep(DISK_POLL).await;
            continue;
        }
        metrics.recover(Dependency::DiskSpace);
        match store.append(group.clone()).await {
            Ok(appended) => {
                metrics.recover(Dependency::TelemetryStore);
                return Ok(appended);
            }
            Err(e) if !e.retryable() => return Err(e),
            Err(e) => {
                metrics.degrade(Dependency::TelemetryStore, &e.to_string(), now_ms());
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(MAX_RETRY);
            }
        }
    }
}

/// Wall-clock time for a degradation's start (an operator's time, not an asset's).
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
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
        let floor = DiskFloor {
            dir: dir.path().to_path_buf(),
            min_free: 0,
        };
        let stage = tokio::spawn(run(backend, metrics.clone(), in_rx, out_tx, floor));
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
