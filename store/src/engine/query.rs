//! Reading the store: buffer and Parquet partitions merged, raw or from rollups.

use std::collections::BTreeMap;
use std::path::Path;

use forewarn_domain::{AssetId, Reading, SensorName, TimestampMs};

use super::{State, Store};
use crate::index::SeriesPoint;
use crate::manifest::{LastPoint, Manifest};
use crate::rollup::{self, Agg, DataClass};
use crate::{StoreError, parquet};

impl Store {
    /// One series over `from <= ts < to` as a Parquet file (columns `ts`, `value`), for export.
    pub fn export_parquet(
        &self,
        asset: &AssetId,
        sensor: &SensorName,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<u8>, StoreError> {
        parquet::to_bytes(&self.range(asset, sensor, from, to)?)
    }

    /// Buckets of `step` ms (aligned to the epoch) over `from <= ts < to`, served from the
    /// coarsest rollup that tiles the step, plus the not yet flushed buffer.
    pub fn downsample(
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
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        let class = DataClass::for_step(step);
        if class == DataClass::Raw {
            let points = range_in(&self.dir, &state, asset, sensor, from, to)?;
            return Ok(rollup::aggregate(points, step).into_iter().collect());
        }
        let mut out: BTreeMap<TimestampMs, Agg> = BTreeMap::new();
        let mut add = |ts: TimestampMs, a: Agg| {
            out.entry(rollup::bucket(ts, step))
                .and_modify(|x| x.merge(&a))
                .or_insert(a);
        };
        let flushed = state
            .flushed
            .get(asset)
            .is_some_and(|m| m.contains_key(sensor));
        if flushed {
            for f in state
                .manifest
                .files
                .iter()
                .filter(|f| f.class == class && f.max_ts >= from && f.min_ts < to)
            {
                for (ts, a) in parquet::read_rollups(
                    &self.dir.join(&f.path),
                    asset.as_str(),
                    sensor.as_str(),
                    from,
                    to,
                )? {
                    add(ts, a);
                }
            }
        }
        // Flushes of sparse data wrote no 1-minute rollups: their raw files stand in.
        if flushed && class == DataClass::Minute {
            for f in state.manifest.files.iter().filter(|f| {
                f.class == DataClass::Raw && f.minute_from_raw && f.max_ts >= from && f.min_ts < to
            }) {
                for (ts, v) in parquet::read_series(
                    &self.dir.join(&f.path),
                    asset.as_str(),
                    sensor.as_str(),
                    from,
                    to,
                )? {
                    add(ts, Agg::point(ts, v));
                }
            }
        }
        let frozen = state
            .frozen
            .iter()
            .flat_map(|f| f.range(asset, sensor, from, to));
        for (ts, v) in frozen.chain(state.index.range(asset, sensor, from, to)) {
            add(ts, Agg::point(ts, v));
        }
        Ok(out.into_iter().collect())
    }

    /// The newest value of each sensor of an asset.
    pub fn latest(&self, asset: &AssetId) -> Vec<SeriesPoint> {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        let mut out: BTreeMap<SensorName, SeriesPoint> = BTreeMap::new();
        for (sensor, last) in flushed_series(&state.manifest, asset) {
            let point = SeriesPoint {
                sensor: sensor.clone(),
                ts_ms: last.ts,
                value: last.value,
            };
            out.insert(sensor, point);
        }
        for (sensor, last) in state.frozen.iter().flat_map(|f| f.of(asset)) {
            if let Some((ts_ms, value)) = last
                && out.get(sensor).is_none_or(|old| old.ts_ms <= ts_ms)
            {
                let p = SeriesPoint {
                    sensor: sensor.clone(),
                    ts_ms,
                    value,
                };
                out.insert(sensor.clone(), p);
            }
        }
        for p in state.index.latest(asset) {
            if out.get(&p.sensor).is_none_or(|old| old.ts_ms <= p.ts_ms) {
                out.insert(p.sensor.clone(), p);
            }
        }
        out.into_values().collect()
    }

    /// Points of one series with `from <= ts < to`: Parquet partitions merged with the buffer.
    pub fn range(
        &self,
        asset: &AssetId,
        sensor: &SensorName,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<(TimestampMs, f64)>, StoreError> {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        range_in(&self.dir, &state, asset, sensor, from, to)
    }

    /// Every stored reading of an asset in time order (ties by sensor).
    pub fn asset_history(&self, asset: &AssetId) -> Result<Vec<Reading>, StoreError> {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        let mut sensors = state.index.sensors(asset);
        sensors.extend(
            state
                .frozen
                .iter()
                .flat_map(|f| f.of(asset).map(|(s, _)| s.clone())),
        );
        sensors.extend(flushed_series(&state.manifest, asset).map(|(s, _)| s));
        sensors.sort();
        sensors.dedup();
        let mut out = Vec::new();
        for sensor in sensors {
            for (ts_ms, value) in range_in(&self.dir, &state, asset, &sensor, i64::MIN, i64::MAX)? {
                out.push(Reading {
                    asset: asset.clone(),
                    sensor: sensor.clone(),
                    ts_ms,
                    value,
                });
            }
        }
        out.sort_by(|a, b| a.ts_ms.cmp(&b.ts_ms).then_with(|| a.sensor.cmp(&b.sensor)));
        Ok(out)
    }
}

/// The flushed series of an asset with their newest flushed point (manifest keys are `asset/sensor`).
fn flushed_series<'m>(
    manifest: &'m Manifest,
    asset: &AssetId,
) -> impl Iterator<Item = (SensorName, &'m LastPoint)> + 'm {
    let prefix = format!("{asset}/");
    manifest
        .series
        .range(prefix.clone()..)
        .take_while(move |(k, _)| k.starts_with(&prefix))
        .filter_map(move |(k, last)| Some((SensorName::new(k.rsplit_once('/')?.1).ok()?, last)))
}

pub(super) fn in_parquet(
    dir: &Path,
    manifest: &Manifest,
    asset: &AssetId,
    sensor: &SensorName,
    ts: &[TimestampMs],
) -> Result<std::collections::HashSet<TimestampMs>, StoreError> {
    let (Some(&from), Some(&to)) = (ts.iter().min(), ts.iter().max()) else {
        return Ok(Default::default());
    };
    let wanted: std::collections::HashSet<TimestampMs> = ts.iter().copied().collect();
    let mut present = std::collections::HashSet::new();
    for f in manifest
        .files
        .iter()
        .filter(|f| f.class == DataClass::Raw && f.min_ts <= to && from <= f.max_ts)
    {
        for (t, _) in parquet::read_series(
            &dir.join(&f.path),
            asset.as_str(),
            sensor.as_str(),
            from,
            to + 1,
        )? {
            if wanted.contains(&t) {
                present.insert(t);
            }
        }
    }
    Ok(present)
}

fn range_in(
    dir: &Path,
    state: &State,
    asset: &AssetId,
    sensor: &SensorName,
    from: TimestampMs,
    to: TimestampMs,
) -> Result<Vec<(TimestampMs, f64)>, StoreError> {
    if from >= to {
        return Ok(Vec::new());
    }
    let flushed = state
        .flushed
        .get(asset)
        .is_some_and(|m| m.contains_key(sensor));
    let mut merged: BTreeMap<TimestampMs, f64> = BTreeMap::new();
    if flushed {
        // Files in flush order, so a later write of the same point overrides an earlier one.
        for f in state
            .manifest
            .files
            .iter()
            .filter(|f| f.class == DataClass::Raw && f.max_ts >= from && f.min_ts < to)
        {
            merged.extend(parquet::read_series(
                &dir.join(&f.path),
                asset.as_str(),
                sensor.as_str(),
                from,
                to,
            )?);
        }
    }
    // A point being flushed, then the live buffer: later writes win.
    if let Some(f) = &state.frozen {
        merged.extend(f.range(asset, sensor, from, to));
    }
    merged.extend(state.index.range(asset, sensor, from, to));
    Ok(merged.into_iter().collect())
}
