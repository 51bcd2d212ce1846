//! The store seam: what the pipeline, the API and analytics need from a telemetry backend.
//!
//! Three backends implement [`Telemetry`]: [`Embedded`] (WAL + Parquet, the default),
//! [`crate::InfluxStore`] (InfluxDB holds the telemetry; acks wait for it) and
//! [`crate::Mirrored`] (embedded, with every durable batch also shipped to InfluxDB from a persistent
//! backlog). The service holds an `Arc<dyn Telemetry>` and never knows which.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use forewarn_domain::{Asset, AssetId, Batch, Reading, SensorName, TimestampMs};

use crate::engine::Appended;
use crate::rollup::Agg;
use crate::{SeriesPoint, Store, StoreError, StoreStats, parquet};

/// A telemetry backend. Writes are durable when `append` returns; reads see every appended point.
#[async_trait]
pub trait Telemetry: Send + Sync + 'static {
    /// The backend's name, for logs and `/metrics`.
    fn engine(&self) -> &'static str;

    /// Makes the batches durable (readings, births, dead letters). Every message of every batch
    /// may be acknowledged once this returns `Ok`. Shared, so a caller can try the same batches
    /// again after an error (a retry may write some of them twice; points are deduplicated).
    async fn append(&self, batches: Arc<Vec<Batch>>) -> Result<Appended, StoreError>;

    /// Waits for background work (a flush) to end; called when the pipeline stops.
    async fn close(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Periodic upkeep (retention of an idle store); the store stage calls it hourly.
    async fn maintain(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Registered assets, by id.
    fn assets(&self) -> Vec<Asset>;

    /// One registered asset.
    fn asset(&self, id: &AssetId) -> Option<Asset>;

    /// The newest value of each sensor of an asset.
    async fn latest(&self, asset: &AssetId) -> Result<Vec<SeriesPoint>, StoreError>;

    /// The newest value of each sensor of every registered asset (the fleet view), by asset.
    async fn latest_all(&self) -> Result<BTreeMap<AssetId, Vec<SeriesPoint>>, StoreError> {
        let mut out = BTreeMap::new();
        for a in self.assets() {
            let l = self.latest(&a.id).await?;
            out.insert(a.id, l);
        }
        Ok(out)
    }

    /// Points of one series with `from <= ts < to`, in time order.
    async fn range(
        &self,
        asset: &AssetId,
        sensor: &SensorName,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<(TimestampMs, f64)>, StoreError>;

    /// Buckets of `step` ms aligned to the epoch over `from <= ts < to`; empty buckets are absent.
    async fn downsample(
        &self,
        asset: &AssetId,
        sensor: &SensorName,
        from: TimestampMs,
        to: TimestampMs,
        step: i64,
    ) -> Result<Vec<(TimestampMs, Agg)>, StoreError>;

    /// Every stored reading of an asset in time order (ties by sensor): the analytics replay.
    async fn history(&self, asset: &AssetId) -> Result<Vec<Reading>, StoreError>;

    /// What is stored.
    async fn stats(&self) -> Result<StoreStats, StoreError>;

    /// Whether a flush of buffered points to long-term files is under way (memory then also holds
    /// the frozen buffer and the files being built). Engines without a buffer answer `false`.
    fn flushing(&self) -> bool {
        false
    }

    /// One series over `from <= ts < to` as a Parquet file (columns `ts`, `value`), for export.
    async fn export_parquet(
        &self,
        asset: &AssetId,
        sensor: &SensorName,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<u8>, StoreError> {
        let points = self.range(asset, sensor, from, to).await?;
        blocking(move || parquet::to_bytes(&points)).await
    }
}

/// Runs file and Parquet work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

/// The embedded engine behind the seam.
#[derive(Debug, Clone)]
pub struct Embedded(pub Arc<Store>);

#[async_trait]
impl Telemetry for Embedded {
    fn engine(&self) -> &'static str {
        "embedded"
    }

    async fn append(&self, batches: Arc<Vec<Batch>>) -> Result<Appended, StoreError> {
        let store = self.0.clone();
        blocking(move || store.append_with_background_flush(&batches)).await
    }

    async fn close(&self) -> Result<(), StoreError> {
        let store = self.0.clone();
        blocking(move || store.close()).await
    }

    async fn maintain(&self) -> Result<(), StoreError> {
        let store = self.0.clone();
        blocking(move || store.apply_retention().map(|_| ())).await
    }

    fn assets(&self) -> Vec<Asset> {
        self.0.assets()
    }

    fn asset(&self, id: &AssetId) -> Option<Asset> {
        self.0.asset(id)
    }

    async fn latest(&self, asset: &AssetId) -> Result<Vec<SeriesPoint>, StoreError> {
        // Manifest and buffer only: no file is read.
        Ok(self.0.latest(asset))
    }

    async fn range(
        &self,
        asset: &AssetId,
        sensor: &SensorName,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<(TimestampMs, f64)>, StoreError> {
        let (store, a, s) = (self.0.clone(), asset.clone(), sensor.clone());
        blocking(move || store.range(&a, &s, from, to)).await
    }

    async fn downsample(
        &self,
        asset: &AssetId,
        sensor: &SensorName,
        from: TimestampMs,
        to: TimestampMs,
        step: i64,
    ) -> Result<Vec<(TimestampMs, Agg)>, StoreError> {
        let (store, a, s) = (self.0.clone(), asset.clone(), sensor.clone());
        blocking(move || store.downsample(&a, &s, from, to, step)).await
    }

    async fn history(&self, asset: &AssetId) -> Result<Vec<Reading>, StoreError> {
        let (store, a) = (self.0.clone(), asset.clone());
        blocking(move || store.asset_history(&a)).await
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        Ok(self.0.stats())
    }

    fn flushing(&self) -> bool {
        self.0.flushing()
    }
}
