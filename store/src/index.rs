//! The in-memory buffer of every series: deduplicated on (asset, sensor, timestamp), last write wins.
//!
//! Each series is a [`SeriesBuffer`]: compressed chunks at a byte or two a point for timestamps
//! and decimal values (16 bytes uncompressed), so memory per active series stays small. A flush
//! takes the buffer out decoded ([`Frozen`]), which queries and dedup read until it commits.

mod chunk;
mod series;

use std::collections::HashMap;

use foldhash::fast::RandomState as Fast;

use forewarn_domain::{AssetId, Reading, SensorName, TimestampMs};
use serde::Serialize;
use series::SeriesBuffer;

/// One point of a named series, as queries return it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SeriesPoint {
    /// The sensor.
    pub sensor: SensorName,
    /// When.
    pub ts_ms: TimestampMs,
    /// The value.
    pub value: f64,
}

/// One series' buffered points, time-sorted.
pub(crate) type BufferedSeries = (AssetId, SensorName, Vec<(TimestampMs, f64)>);

/// The buffered points of one asset's sensors, time-sorted.
type Sensors = HashMap<SensorName, SeriesBuffer, Fast>;

#[derive(Debug, Default)]
pub(crate) struct Index {
    // Looked up twice per reading: foldhash instead of SipHash (ids are validated, and the seed
    // is random per process).
    assets: HashMap<AssetId, Sensors, Fast>,
    points: u64,
}

impl Index {
    /// Inserts a reading; returns whether it was a new point (not a rewrite of an existing key).
    #[cfg(test)]
    pub fn insert(&mut self, r: &Reading) -> bool {
        let mut new = false;
        self.insert_run(std::slice::from_ref(r), |_| new = true);
        new
    }

    /// Inserts readings that all belong to one asset (a message's worth: the asset is looked up
    /// once); calls `on_new` for each reading that was a new point, not a rewrite.
    pub fn insert_run(&mut self, run: &[Reading], mut on_new: impl FnMut(&Reading)) {
        let Some(first) = run.first() else { return };
        let Index { assets, points } = self;
        // Look up before `entry`, which would clone (atomically count) the id.
        let sensors = match assets.get_mut(&first.asset) {
            Some(s) => s,
            None => assets.entry(first.asset.clone()).or_default(),
        };
        for r in run {
            let new = match sensors.get_mut(&r.sensor) {
                Some(series) => series.insert(r.ts_ms, r.value),
                None => {
                    let series = SeriesBuffer::new(r.ts_ms, r.value);
                    sensors.insert(r.sensor.clone(), series);
                    true
                }
            };
            if new {
                *points += 1;
                on_new(r);
            }
        }
    }

    /// Moves every buffered series out as a [`Frozen`] buffer, leaving the index empty.
    pub fn take(&mut self) -> Frozen {
        let mut series: Vec<_> = std::mem::take(&mut self.assets)
            .into_iter()
            .flat_map(|(a, sensors)| {
                sensors
                    .into_iter()
                    .map(move |(s, buffer)| (a.clone(), s, buffer))
            })
            .collect();
        series.sort_unstable_by(|x, y| (&x.0, &x.1).cmp(&(&y.0, &y.1)));
        let points = std::mem::take(&mut self.points);
        Frozen { series, points }
    }

    /// The sensors with buffered points for an asset.
    pub fn sensors(&self, asset: &AssetId) -> Vec<SensorName> {
        self.assets
            .get(asset)
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Every buffered (asset, sensor) pair.
    pub fn series_keys(&self) -> impl Iterator<Item = (&AssetId, &SensorName)> {
        self.assets
            .iter()
            .flat_map(|(a, s)| s.keys().map(move |k| (a, k)))
    }

    pub fn points(&self) -> u64 {
        self.points
    }

    /// The newest point of each sensor of an asset, sorted by sensor.
    pub fn latest(&self, asset: &AssetId) -> Vec<SeriesPoint> {
        let mut out: Vec<SeriesPoint> = self
            .assets
            .get(asset)
            .into_iter()
            .flatten()
            .filter_map(|(sensor, s)| {
                s.last().map(|(ts_ms, value)| SeriesPoint {
                    sensor: sensor.clone(),
                    ts_ms,
                    value,
                })
            })
            .collect();
        out.sort_by(|a, b| a.sensor.cmp(&b.sensor));
        out
    }

    /// Points of one series with `from <= ts < to`.
    pub fn range(
        &self,
        asset: &AssetId,
        sensor: &SensorName,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Vec<(TimestampMs, f64)> {
        if from >= to {
            return Vec::new();
        }
        self.assets
            .get(asset)
            .and_then(|s| s.get(sensor))
            .map(|s| s.range(from, to))
            .unwrap_or_default()
    }
}

/// A buffer taken out of the index for a flush: sorted by (asset, sensor), still compressed,
/// read-only, and still visible to queries and dedup until the flush commits. Taking it is a
/// move, so the freeze holds the locks only briefly; the flush decodes it without a lock.
#[derive(Debug, Default)]
pub(crate) struct Frozen {
    series: Vec<(AssetId, SensorName, SeriesBuffer)>,
    pub points: u64,
}

impl Frozen {
    fn get(&self, asset: &AssetId, sensor: &SensorName) -> Option<&SeriesBuffer> {
        self.series
            .binary_search_by(|(a, s, _)| (a, s).cmp(&(asset, sensor)))
            .ok()
            .map(|i| &self.series[i].2)
    }

    /// Whether the point of a reading is in this buffer (new points are past its end: checked
    /// without decoding).
    pub fn contains(&self, r: &Reading) -> bool {
        self.get(&r.asset, &r.sensor)
            .is_some_and(|s| s.contains(r.ts_ms))
    }

    /// Every series, decoded, sorted by (asset, sensor): what the flush writes.
    pub fn decode(&self) -> Vec<BufferedSeries> {
        self.series
            .iter()
            .map(|(a, s, b)| (a.clone(), s.clone(), b.points()))
            .collect()
    }

    /// The newest point of every series.
    pub fn lasts(&self) -> impl Iterator<Item = (&AssetId, &SensorName, (TimestampMs, f64))> {
        self.series
            .iter()
            .filter_map(|(a, s, b)| Some((a, s, b.last()?)))
    }

    /// The sensors of one asset with their newest point.
    pub fn of(
        &self,
        asset: &AssetId,
    ) -> impl Iterator<Item = (&SensorName, Option<(TimestampMs, f64)>)> {
        let lo = self.series.partition_point(|(a, _, _)| a < asset);
        self.series[lo..]
            .iter()
            .take_while(move |(a, _, _)| a == asset)
            .map(|(_, s, b)| (s, b.last()))
    }

    /// Points of one series with `from <= ts < to`.
    pub fn range(
        &self,
        asset: &AssetId,
        sensor: &SensorName,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Vec<(TimestampMs, f64)> {
        self.get(asset, sensor)
            .map(|b| b.range(from, to))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(asset: &str, sensor: &str, ts: i64, v: f64) -> Reading {
        Reading {
            asset: AssetId::new(asset).unwrap(),
            sensor: SensorName::new(sensor).unwrap(),
            ts_ms: ts,
            value: v,
        }
    }

    #[test]
    fn dedups_last_write_wins() {
        let mut ix = Index::default();
        assert!(ix.insert(&r("a", "x", 1, 1.0)));
        assert!(!ix.insert(&r("a", "x", 1, 2.0)));
        assert!(ix.insert(&r("a", "y", 1, 3.0)));
        assert!(ix.insert(&r("a", "x", 2, 4.0)));
        assert_eq!(ix.points(), 3);
        let a = AssetId::new("a").unwrap();
        let x = SensorName::new("x").unwrap();
        assert_eq!(ix.range(&a, &x, 0, 10), vec![(1, 2.0), (2, 4.0)]);
        assert_eq!(ix.range(&a, &x, 2, 2), vec![]);
        assert_eq!(
            ix.latest(&a).iter().map(|p| p.value).collect::<Vec<_>>(),
            vec![4.0, 3.0]
        );
        // Out of order and rewritten in the middle: still sorted, still unique.
        assert!(ix.insert(&r("a", "x", 0, 9.0)));
        assert!(!ix.insert(&r("a", "x", 1, 5.0)));
        assert_eq!(
            ix.range(&a, &x, i64::MIN, i64::MAX),
            vec![(0, 9.0), (1, 5.0), (2, 4.0)]
        );
        let taken = ix.take();
        assert_eq!(taken.decode().len(), 2);
        assert_eq!(taken.points, 4);
        assert!(taken.contains(&r("a", "x", 0, 1.0)));
        assert!(!taken.contains(&r("a", "x", 3, 1.0)));
        assert_eq!(taken.range(&a, &x, 1, 3), vec![(1, 5.0), (2, 4.0)]);
        assert_eq!(ix.points(), 0);
    }
}
