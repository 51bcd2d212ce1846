//! The InfluxDB backend (`[store] engine = "influxdb"`): telemetry lives in InfluxDB, MQTT acks wait
//! for InfluxDB to accept each batch, and reads go through InfluxQL.
//!
//! The data directory still holds what is Forewarn's own: the dead-letter log, the tickets database
//! and the directory lock. Asset registrations are written to InfluxDB (measurement `assets`) so
//! that a restart — or another instance — finds them there. While InfluxDB is down, writes are
//! retried with backoff for ever: the store stage stops taking batches, ingest stops reading, and
//! the broker holds the messages (back-pressure, nothing dropped, nothing acked early).

mod client;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use forewarn_domain::{Asset, AssetId, Batch, Metrics, Reading, SensorName, TimestampMs};

pub use client::{ASSETS, Influx, InfluxConfig, MEASUREMENT};
use client::{SeriesResult, parse_time, quote};

use crate::engine::{Appended, lock_dir};
use crate::rollup::Agg;
use crate::telemetry::blocking;
use crate::{DeadLetters, SeriesPoint, StoreError, StoreStats, Telemetry};

/// How long start-up waits for InfluxDB before giving up.
const CONNECT_WAIT: Duration = Duration::from_secs(30);

/// Telemetry in InfluxDB.
#[derive(Debug)]
pub struct InfluxStore {
    influx: Influx,
    assets: RwLock<BTreeMap<AssetId, Asset>>,
    dead_letters: Arc<DeadLetters>,
    _lock: File,
}

impl InfluxStore {
    /// Locks the data directory, connects (creating the database when missing) and loads the
    /// registered assets.
    pub async fn open(
        dir: &Path,
        config: &InfluxConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StoreError> {
        let d = dir.to_path_buf();
        let (lock, dead_letters) =
            blocking(move || Ok((lock_dir(&d)?, DeadLetters::open(&d, true)?))).await?;
        let influx = Influx::new(config, metrics)?;
        influx.connect(CONNECT_WAIT).await?;
        let assets = load_assets(&influx).await?;
        Ok(Self {
            influx,
            assets: RwLock::new(assets),
            dead_letters: Arc::new(dead_letters),
            _lock: lock,
        })
    }
}

impl InfluxStore {
    /// The series of a `GROUP BY sensor` query, with their sensor.
    async fn by_sensor(&self, q: &str) -> Result<Vec<(SensorName, SeriesResult)>, StoreError> {
        let results = self.influx.select(q).await?;
        Ok(results
            .into_iter()
            .flat_map(|r| r.series)
            .filter_map(|s| {
                let sensor = SensorName::new(s.tags.get("sensor")?).ok()?;
                Some((sensor, s))
            })
            .collect())
    }
}

/// The newest registration of every asset.
pub(crate) async fn load_assets(influx: &Influx) -> Result<BTreeMap<AssetId, Asset>, StoreError> {
    let q = format!("SELECT last(birth) FROM {ASSETS} GROUP BY asset");
    let mut out = BTreeMap::new();
    for s in influx.select(&q).await?.into_iter().flat_map(|r| r.series) {
        for row in &s.values {
            let Some(json) = row.get(1).and_then(|v| v.as_str()) else {
                continue;
            };
            match serde_json::from_str::<Asset>(json) {
                Ok(a) => {
                    out.insert(a.id.clone(), a);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "ignoring an unreadable asset registration in InfluxDB")
                }
            }
        }
    }
    Ok(out)
}

/// `(time, value)` rows of a series; rows without a numeric value are skipped.
fn points(s: &SeriesResult) -> impl Iterator<Item = (TimestampMs, f64)> + '_ {
    s.values.iter().filter_map(|row| {
        let ts = parse_time(row.first()?)?;
        Some((ts, row.get(1)?.as_f64()?))
    })
}

/// A time condition in epoch milliseconds (InfluxQL duration literals are epoch-relative).
fn between(from: TimestampMs, to: TimestampMs) -> String {
    format!("time >= {}ms AND time < {}ms", from.max(0), to.max(0))
}

#[async_trait]
impl Telemetry for InfluxStore {
    fn engine(&self) -> &'static str {
        "influxdb"
    }

    async fn append(&self, batches: Arc<Vec<Batch>>) -> Result<Appended, StoreError> {
        let dl = self.dead_letters.clone();
        let rejections: Vec<_> = batches
            .iter()
            .flat_map(|b| b.rejections.iter().cloned())
            .collect();
        if !rejections.is_empty() {
            blocking(move || dl.append(&rejections.iter().collect::<Vec<_>>())).await?;
        }
        let births: Vec<Asset> = batches.iter().flat_map(|b| b.births.clone()).collect();
        let readings: Vec<Reading> = batches
            .iter()
            .flat_map(|b| b.readings.iter().cloned())
            .collect();
        self.influx.write(&readings, &births).await?;
        let mut assets = self.assets.write().unwrap_or_else(|p| p.into_inner());
        for a in births {
            assets.insert(a.id.clone(), a);
        }
        // InfluxDB does not say whether a point overwrote another: every reading counts as new.
        let appended = Appended {
            new_points: readings.len() as u64,
            rewrites: 0,
        };
        Ok(appended)
    }

    fn assets(&self) -> Vec<Asset> {
        let assets = self.assets.read().unwrap_or_else(|p| p.into_inner());
        assets.values().cloned().collect()
    }

    fn asset(&self, id: &AssetId) -> Option<Asset> {
        let assets = self.assets.read().unwrap_or_else(|p| p.into_inner());
        assets.get(id).cloned()
    }

    async fn latest(&self, asset: &AssetId) -> Result<Vec<SeriesPoint>, StoreError> {
        let q = format!(
            "SELECT last(value) FROM {MEASUREMENT} WHERE asset = {} GROUP BY sensor",
            quote(asset.as_str())
        );
        let mut out = Vec::new();
        for (sensor, s) in self.by_sensor(&q).await? {
            if let Some((ts_ms, value)) = points(&s).last() {
                out.push(SeriesPoint {
                    sensor,
                    ts_ms,
                    value,
                });
            }
        }
        out.sort_by(|a, b| a.sensor.cmp(&b.sensor));
        Ok(out)
    }

    async fn latest_all(&self) -> Result<BTreeMap<AssetId, Vec<SeriesPoint>>, StoreError> {
        // One query for the fleet instead of one per asset.
        let q = format!("SELECT last(value) FROM {MEASUREMENT} GROUP BY asset, sensor");
        let mut out: BTreeMap<AssetId, Vec<SeriesPoint>> = self
            .assets()
            .into_iter()
            .map(|a| (a.id, Vec::new()))
            .collect();
        for s in self
            .influx
            .select(&q)
            .await?
            .into_iter()
            .flat_map(|r| r.series)
        {
            let (Some(asset), Some(sensor)) = (
                s.tags.get("asset").and_then(|t| AssetId::new(t).ok()),
                s.tags.get("sensor").and_then(|t| SensorName::new(t).ok()),
            ) else {
                continue;
            };
            if let (Some(points), Some((ts_ms, value))) = (out.get_mut(&asset), points(&s).last()) {
                points.push(SeriesPoint {
                    sensor,
                    ts_ms,
                    value,
                });
            }
        }
        for points in out.values_mut() {
            points.sort_by(|a, b| a.sensor.cmp(&b.sensor));
        }
        Ok(out)
    }

    async fn range(
        &self,
        asset: &AssetId,
        sensor: &SensorName,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<(TimestampMs, f64)>, StoreError> {
        let q = format!(
            "SELECT value FROM {MEASUREMENT} WHERE asset = {} AND sensor = {} AND {}",
            quote(asset.as_str()),
            quote(sensor.as_str()),
            between(from, to)
        );
        let results = self.influx.select(&q).await?;
        Ok(results
            .iter()
            .flat_map(|r| &r.series)
            .flat_map(points)
            .collect())
    }

    async fn downsample(
        &self,
        asset: &AssetId,
        sensor: &SensorName,
        from: TimestampMs,
        to: TimestampMs,
        step: i64,
    ) -> Result<Vec<(TimestampMs, Agg)>, StoreError> {
        if step <= 0 || from >= to {
            return Ok(Vec::new());
        }
        // GROUP BY time() buckets are aligned to the epoch, as the embedded rollups are.
        let q = format!(
            "SELECT min(value), max(value), sum(value), count(value), last(value) FROM {MEASUREMENT} \
             WHERE asset = {} AND sensor = {} AND {} GROUP BY time({step}ms) fill(none)",
            quote(asset.as_str()),
            quote(sensor.as_str()),
            between(from, to)
        );
        let mut out = Vec::new();
        for s in self
            .influx
            .select(&q)
            .await?
            .into_iter()
            .flat_map(|r| r.series)
        {
            for row in &s.values {
                let num = |i: usize| row.get(i).and_then(|v| v.as_f64());
                let (Some(ts), Some(min), Some(max), Some(sum), Some(count), Some(last)) = (
                    row.first().and_then(parse_time),
                    num(1),
                    num(2),
                    num(3),
                    num(4),
                    num(5),
                ) else {
                    continue;
                };
                // InfluxQL's last() does not return its own time next to other aggregates; the
                // bucket start stands in for it (only merges across buckets would need it).
                let agg = Agg {
                    min,
                    max,
                    sum,
                    count: count as u64,
                    last_ts: ts,
                    last,
                };
                out.push((ts, agg));
            }
        }
        Ok(out)
    }

    async fn history(&self, asset: &AssetId) -> Result<Vec<Reading>, StoreError> {
        let q = format!(
            "SELECT value FROM {MEASUREMENT} WHERE asset = {} GROUP BY sensor",
            quote(asset.as_str())
        );
        let mut out = Vec::new();
        for (sensor, s) in self.by_sensor(&q).await? {
            out.extend(points(&s).map(|(ts_ms, value)| Reading {
                asset: asset.clone(),
                sensor: sensor.clone(),
                ts_ms,
                value,
            }));
        }
        out.sort_by(|a, b| a.ts_ms.cmp(&b.ts_ms).then_with(|| a.sensor.cmp(&b.sensor)));
        Ok(out)
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        let q = format!("SELECT count(value) FROM {MEASUREMENT} GROUP BY asset, sensor");
        let results = self.influx.select(&q).await?;
        let series: Vec<_> = results.iter().flat_map(|r| &r.series).collect();
        let points = series
            .iter()
            .flat_map(|s| s.values.iter().filter_map(|row| row.get(1)?.as_u64()))
            .sum();
        Ok(StoreStats {
            points,
            series: series.len() as u64,
            assets: self.assets.read().map(|a| a.len()).unwrap_or(0) as u64,
            rejected: self.dead_letters.count(),
            wal_bytes: 0,
            partitions: 0,
            parquet_bytes: 0,
            raw_parquet_bytes: 0,
            buffered_points: 0,
        })
    }
}
