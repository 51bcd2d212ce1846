//! Mirror mode: the embedded engine stays the store of record, and every durable batch is also
//! shipped to InfluxDB (for Grafana users) from a persistent, bounded backlog.
//!
//! The backlog is a second write-ahead log in `mirror/` (the same checksummed segment format),
//! appended and fsynced in the same call that makes a batch durable in the embedded engine, so an
//! acknowledged reading is always either in the backlog or already in InfluxDB. A [`Shipper`]
//! task reads the backlog in order, writes to InfluxDB with retry and backoff, and records how far
//! it got in `mirror/cursor.json`; a restart resumes there (a few readings may be written twice,
//! which InfluxDB's own last-write-wins dedup makes harmless). When InfluxDB stays away so long
//! that the backlog outgrows its bound, the oldest segments are dropped and counted
//! (`forewarn_mirror_dropped_readings_total`): the mirror must never stop the store of record.
//! Only what arrives after the mirror is enabled is shipped; there is no backfill of history.

mod backlog;
mod shipper;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use forewarn_domain::{Asset, AssetId, Batch, Metrics, Reading, SensorName, TimestampMs};
use tokio::sync::Notify;

pub use backlog::Backlog;
pub use shipper::Shipper;

use crate::engine::Appended;
use crate::rollup::Agg;
use crate::telemetry::blocking;
use crate::{Embedded, InfluxConfig, SeriesPoint, Store, StoreError, StoreStats, Telemetry};

/// The embedded engine with its InfluxDB mirror.
#[derive(Debug)]
pub struct Mirrored {
    primary: Embedded,
    backlog: Arc<Mutex<Backlog>>,
    wake: Arc<Notify>,
}

impl Mirrored {
    /// Opens the backlog beside `store` and returns the backend with the task that ships it.
    pub fn open(
        store: Arc<Store>,
        config: &InfluxConfig,
        max_backlog_bytes: u64,
        metrics: Arc<Metrics>,
    ) -> Result<(Self, Shipper), StoreError> {
        let dir = store.dir().join("mirror");
        let backlog = Backlog::open(&dir, max_backlog_bytes, metrics.clone())?;
        let wake = Arc::new(Notify::new());
        let shipper = Shipper::new(&dir, config, metrics, wake.clone())?;
        let mirrored = Self {
            primary: Embedded(store),
            backlog: Arc::new(Mutex::new(backlog)),
            wake,
        };
        Ok((mirrored, shipper))
    }
}

#[async_trait]
impl Telemetry for Mirrored {
    fn engine(&self) -> &'static str {
        "embedded+influxdb"
    }

    async fn append(&self, batches: Arc<Vec<Batch>>) -> Result<Appended, StoreError> {
        let store = self.primary.0.clone();
        let backlog = self.backlog.clone();
        let out = blocking(move || {
            let appended = store.append_with_background_flush(&batches)?;
            // After the store of record: a crash in between leaves the messages unacknowledged,
            // so the broker redelivers them and they reach the backlog then.
            backlog
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .append(&batches)?;
            Ok(appended)
        })
        .await?;
        self.wake.notify_one();
        Ok(out)
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.primary.close().await
    }

    async fn maintain(&self) -> Result<(), StoreError> {
        self.primary.maintain().await
    }

    fn assets(&self) -> Vec<Asset> {
        self.primary.assets()
    }

    fn asset(&self, id: &AssetId) -> Option<Asset> {
        self.primary.asset(id)
    }

    async fn latest(&self, asset: &AssetId) -> Result<Vec<SeriesPoint>, StoreError> {
        self.primary.latest(asset).await
    }

    async fn range(
        &self,
        asset: &AssetId,
        sensor: &SensorName,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<(TimestampMs, f64)>, StoreError> {
        self.primary.range(asset, sensor, from, to).await
    }

    async fn downsample(
        &self,
        asset: &AssetId,
        sensor: &SensorName,
        from: TimestampMs,
        to: TimestampMs,
        step: i64,
    ) -> Result<Vec<(TimestampMs, Agg)>, StoreError> {
        self.primary.downsample(asset, sensor, from, to, step).await
    }

    async fn history(&self, asset: &AssetId) -> Result<Vec<Reading>, StoreError> {
        self.primary.history(asset).await
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        self.primary.stats().await
    }

    fn flushing(&self) -> bool {
        self.primary.flushing()
    }
}
