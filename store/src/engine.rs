//! The store engine: WAL for durability, an in-memory buffer for recent points, Parquet partitions
//! for history, dead letters for refused input.
//!
//! Appends go to the WAL (fsync) and the buffer. When the buffer holds `flush_points` points it is
//! flushed: the WAL rotates, the buffer is written as one Parquet file per UTC day, the manifest
//! commits the files, and the WAL segments they cover are deleted. Queries merge Parquet files (in
//! flush order) and the buffer, a later write of the same (asset, sensor, ts) winning. A point that
//! arrives for a time at or before what was already flushed for its series (a redelivery after a
//! crash, late data) is looked up in Parquet, so the distinct-point count stays exact.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use forewarn_domain::{Asset, AssetId, Batch, Reading, SensorName, TimestampMs};
use serde::Serialize;

use crate::codec::{self, Record};
use crate::index::{Index, SeriesPoint};
use crate::manifest::{LastPoint, Manifest, PartFile};
use crate::rollup::{self, Agg, DataClass};
use crate::wal::{self, Recovery, Wal};
use crate::{DeadLetters, StoreError, parquet};

const DAY_MS: i64 = 86_400_000;

/// How to open a data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// The service: takes the directory lock, repairs a torn WAL tail, appends.
    ReadWrite,
    /// Inspection while the service may run or be stopped: no lock, no repair, no writes.
    ReadOnly,
}

/// Engine settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// Buffered points that trigger a flush to Parquet.
    pub flush_points: u64,
    /// How long raw points are kept (wall clock; `None` = forever). Whole days are dropped.
    pub raw_retention_ms: Option<i64>,
    /// How long 1-minute rollups are kept.
    pub minute_retention_ms: Option<i64>,
    /// How long 1-hour rollups are kept.
    pub hour_retention_ms: Option<i64>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            flush_points: 2_000_000,
            raw_retention_ms: Some(30 * DAY_MS),
            minute_retention_ms: Some(365 * DAY_MS),
            hour_retention_ms: None,
        }
    }
}

impl StoreOptions {
    fn retention(&self, class: DataClass) -> Option<i64> {
        match class {
            DataClass::Raw => self.raw_retention_ms,
            DataClass::Minute => self.minute_retention_ms,
            DataClass::Hour => self.hour_retention_ms,
        }
    }
}

/// Counts that describe what is on disk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreStats {
    /// Distinct (asset, sensor, timestamp) points.
    pub points: u64,
    /// Distinct (asset, sensor) series.
    pub series: u64,
    /// Registered assets.
    pub assets: u64,
    /// Dead-lettered messages.
    pub rejected: u64,
    /// Bytes of valid WAL records.
    pub wal_bytes: u64,
    /// Parquet partition files.
    pub partitions: u64,
    /// Bytes of Parquet partition files.
    pub parquet_bytes: u64,
    /// Points waiting in memory for the next flush.
    pub buffered_points: u64,
}

/// Index, manifest and counters change together (a flush moves points from one to the other).
#[derive(Debug, Default)]
struct State {
    index: Index,
    manifest: Manifest,
    /// Newest flushed timestamp per series: a point at or before it may already be in Parquet.
    flushed: HashMap<AssetId, HashMap<SensorName, TimestampMs>>,
    points: u64,
}

/// The embedded time-series store of one data directory.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    options: StoreOptions,
    wal: Mutex<Option<Wal>>,
    wal_bytes: AtomicU64,
    state: RwLock<State>,
    assets: RwLock<BTreeMap<AssetId, Asset>>,
    dead_letters: DeadLetters,
    // Held for the life of the store: the OS releases it when the process dies, even by SIGKILL.
    _lock: Option<File>,
}

/// What one append did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Appended {
    /// Readings that were new points.
    pub new_points: u64,
    /// Readings that rewrote an existing point (redeliveries).
    pub rewrites: u64,
}

impl Store {
    /// Opens a data directory with default options, replaying its WAL.
    pub fn open(dir: &Path, mode: OpenMode) -> Result<(Store, Recovery), StoreError> {
        Self::open_with(dir, mode, StoreOptions::default())
    }

    /// Opens a data directory: manifest, then the WAL segments it does not cover.
    pub fn open_with(
        dir: &Path,
        mode: OpenMode,
        options: StoreOptions,
    ) -> Result<(Store, Recovery), StoreError> {
        let writable = mode == OpenMode::ReadWrite;
        let lock = if writable {
            fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
            let path = dir.join("LOCK");
            let f = File::create(&path).map_err(StoreError::io(&path))?;
            f.try_lock()
                .map_err(|_| StoreError::Locked(dir.to_path_buf()))?;
            Some(f)
        } else {
            None
        };
        let manifest = Manifest::load(dir)?;
        if writable {
            remove_orphans(dir, &manifest)?;
        }
        let mut state = State {
            points: manifest.points,
            ..Default::default()
        };
        for (key, last) in &manifest.series {
            if let Some((a, s)) = key.split_once('/')
                && let (Ok(a), Ok(s)) = (AssetId::new(a), SensorName::new(s))
            {
                state.flushed.entry(a).or_default().insert(s, last.ts);
            }
        }
        let mut assets: BTreeMap<AssetId, Asset> = manifest
            .assets
            .iter()
            .map(|a| (a.id.clone(), a.clone()))
            .collect();
        state.manifest = manifest;
        let start = state.manifest.wal_start;
        let mut replay_error = None;
        let (wal, recovery) = Wal::open(
            &dir.join("wal"),
            writable,
            wal::DEFAULT_SEGMENT_BYTES,
            start,
            |payload| {
                match codec::decode(payload)? {
                    Record::Readings(rs) => {
                        if let Err(e) = insert_all(dir, &mut state, &rs) {
                            replay_error.get_or_insert(e);
                        }
                    }
                    Record::Birth(a) => {
                        assets.insert(a.id.clone(), a);
                    }
                }
                Ok(())
            },
        )?;
        if let Some(e) = replay_error {
            return Err(e);
        }
        let dead_letters = DeadLetters::open(dir, writable)?;
        let store = Store {
            dir: dir.to_path_buf(),
            options,
            wal_bytes: recovery.bytes.into(),
            wal: Mutex::new(wal),
            state: RwLock::new(state),
            assets: RwLock::new(assets),
            dead_letters,
            _lock: lock,
        };
        Ok((store, recovery))
    }

    /// Makes batches durable (dead letters, then one WAL write + fsync), then indexes them, and
    /// flushes to Parquet when the buffer is full. When this returns `Ok`, every message of every
    /// batch may be acknowledged.
    pub fn append(&self, batches: &[Batch]) -> Result<Appended, StoreError> {
        let rejections: Vec<_> = batches.iter().flat_map(|b| &b.rejections).collect();
        self.dead_letters.append(&rejections)?;
        let mut payloads = Vec::new();
        for b in batches {
            for a in &b.births {
                let mut p = Vec::new();
                codec::encode_birth(a, &mut p);
                payloads.push(p);
            }
            if !b.readings.is_empty() {
                let mut p = Vec::with_capacity(5 + b.readings.len() * 40);
                codec::encode_readings(&b.readings, &mut p);
                payloads.push(p);
            }
        }
        let mut wal = self.wal.lock().unwrap_or_else(|p| p.into_inner());
        let wal = wal.as_mut().ok_or_else(|| self.read_only())?;
        wal.append(&payloads)?;
        self.wal_bytes.store(wal.bytes(), Ordering::Relaxed);
        {
            let mut assets = self.assets.write().unwrap_or_else(|p| p.into_inner());
            for a in batches.iter().flat_map(|b| &b.births) {
                assets.insert(a.id.clone(), a.clone());
            }
        }
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let mut out = Appended::default();
        for b in batches {
            let new = insert_all(&self.dir, &mut state, &b.readings)?;
            out.new_points += new;
            out.rewrites += b.readings.len() as u64 - new;
        }
        if state.index.points() >= self.options.flush_points {
            self.flush_locked(&mut state, wal)?;
        }
        Ok(out)
    }

    /// Writes every buffered point to Parquet now (also done automatically when the buffer fills).
    pub fn flush(&self) -> Result<(), StoreError> {
        let mut wal = self.wal.lock().unwrap_or_else(|p| p.into_inner());
        let wal = wal.as_mut().ok_or_else(|| self.read_only())?;
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        self.flush_locked(&mut state, wal)
    }

    fn flush_locked(&self, state: &mut State, wal: &mut Wal) -> Result<(), StoreError> {
        if state.index.points() == 0 {
            return Ok(());
        }
        // Everything buffered lies in segments below `next`: those go once the manifest commits.
        let next = wal.rotate()?;
        let buffered = state.index.take();
        let mut manifest = state.manifest.clone();
        let mut written = 0;
        let mut raw_days: BTreeMap<i64, Vec<(&AssetId, &SensorName, BTreeMap<TimestampMs, f64>)>> =
            BTreeMap::new();
        for (asset, sensor, points) in &buffered {
            for (day, part) in split_by_day(points) {
                raw_days.entry(day).or_default().push((asset, sensor, part));
            }
        }
        for (day, series) in &raw_days {
            let (rel, id) = next_file(&mut manifest, DataClass::Raw, *day);
            let bytes = parquet::write_series(
                &self.dir.join(&rel),
                series.iter().map(|(a, s, p)| (*a, *s, p)),
            )?;
            manifest.files.push(part_file(
                DataClass::Raw,
                id,
                rel,
                *day,
                bytes,
                series.iter().map(|(_, _, p)| p),
            ));
            written += 1;
        }
        // Rollups are computed from the same buffer, so each point lands in exactly one bucket of
        // each resolution; buckets split across flushes merge exactly at query time.
        for class in [DataClass::Minute, DataClass::Hour] {
            let step = class.step_ms().unwrap_or(60_000);
            let mut days: BTreeMap<i64, Vec<(&AssetId, &SensorName, BTreeMap<TimestampMs, Agg>)>> =
                BTreeMap::new();
            for (asset, sensor, points) in &buffered {
                let buckets = rollup::aggregate(points.iter().map(|(&t, &v)| (t, v)), step);
                for (day, part) in split_by_day(&buckets) {
                    days.entry(day).or_default().push((asset, sensor, part));
                }
            }
            for (day, series) in &days {
                let (rel, id) = next_file(&mut manifest, class, *day);
                let bytes = parquet::write_rollups(
                    &self.dir.join(&rel),
                    series.iter().map(|(a, s, p)| (*a, *s, p)),
                )?;
                manifest.files.push(part_file(
                    class,
                    id,
                    rel,
                    *day,
                    bytes,
                    series.iter().map(|(_, _, p)| p),
                ));
                written += 1;
            }
        }
        for (asset, sensor, points) in &buffered {
            if let Some((&ts, &value)) = points.last_key_value() {
                let key = Manifest::series_key(asset.as_str(), sensor.as_str());
                let newer = manifest.series.get(&key).is_none_or(|l| l.ts <= ts);
                if newer {
                    manifest.series.insert(key, LastPoint { ts, value });
                    state
                        .flushed
                        .entry(asset.clone())
                        .or_default()
                        .insert(sensor.clone(), ts);
                }
            }
        }
        manifest.points = state.points;
        manifest.wal_start = next;
        manifest.assets = self.assets();
        let expired = self.expire(&mut manifest, now_ms());
        manifest.save(&self.dir)?;
        state.points = manifest.points;
        state.manifest = manifest;
        wal.remove_before(next)?;
        // Expired files go only after the manifest no longer names them.
        for f in &expired {
            let path = self.dir.join(&f.path);
            fs::remove_file(&path).map_err(StoreError::io(&path))?;
            // The day's directory goes with its last file (remove_dir refuses a non-empty one).
            if let Some(day_dir) = path.parent() {
                let _ = fs::remove_dir(day_dir);
            }
        }
        self.wal_bytes.store(wal.bytes(), Ordering::Relaxed);
        tracing::debug!(
            files = written,
            expired = expired.len(),
            "flushed buffer to parquet"
        );
        Ok(())
    }

    /// Drops from `manifest` the partition files whose whole day is past its class's retention;
    /// returns them for deletion. Raw points dropped leave the point count.
    fn expire(&self, manifest: &mut Manifest, now: TimestampMs) -> Vec<PartFile> {
        let (keep, expired): (Vec<PartFile>, Vec<PartFile>) = std::mem::take(&mut manifest.files)
            .into_iter()
            .partition(|f| {
                self.options
                    .retention(f.class)
                    .is_none_or(|keep_ms| f.max_ts >= now - keep_ms)
            });
        manifest.files = keep;
        let dropped: u64 = expired
            .iter()
            .filter(|f| f.class == DataClass::Raw)
            .map(|f| f.rows)
            .sum();
        manifest.points = manifest.points.saturating_sub(dropped);
        expired
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
        for (ts, v) in state.index.range(asset, sensor, from, to) {
            add(ts, Agg::point(ts, v));
        }
        Ok(out.into_iter().collect())
    }

    fn read_only(&self) -> StoreError {
        StoreError::Io {
            path: self.dir.clone(),
            source: std::io::Error::other("store opened read-only"),
        }
    }

    /// Registered assets, by id.
    pub fn assets(&self) -> Vec<Asset> {
        self.assets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// One registered asset.
    pub fn asset(&self, id: &AssetId) -> Option<Asset> {
        self.assets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// The newest value of each sensor of an asset.
    pub fn latest(&self, asset: &AssetId) -> Vec<SeriesPoint> {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        let mut out: BTreeMap<SensorName, SeriesPoint> = BTreeMap::new();
        let prefix = format!("{asset}/");
        for (key, last) in state
            .manifest
            .series
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
        {
            if let Ok(sensor) = SensorName::new(&key[prefix.len()..]) {
                out.insert(
                    sensor.clone(),
                    SeriesPoint {
                        sensor,
                        ts_ms: last.ts,
                        value: last.value,
                    },
                );
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
        let prefix = format!("{asset}/");
        for (key, _) in state
            .manifest
            .series
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
        {
            if let Ok(s) = SensorName::new(&key[prefix.len()..]) {
                sensors.push(s);
            }
        }
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

    /// What is stored.
    pub fn stats(&self) -> StoreStats {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        let unflushed_series = state
            .index
            .series_keys()
            .filter(|(a, s)| !state.flushed.get(*a).is_some_and(|m| m.contains_key(*s)))
            .count() as u64;
        StoreStats {
            points: state.points,
            series: state.manifest.series.len() as u64 + unflushed_series,
            assets: self.assets.read().unwrap_or_else(|p| p.into_inner()).len() as u64,
            rejected: self.dead_letters.count(),
            wal_bytes: self.wal_bytes.load(Ordering::Relaxed),
            partitions: state.manifest.files.len() as u64,
            parquet_bytes: state.manifest.bytes(),
            buffered_points: state.index.points(),
        }
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Indexes readings; returns how many were new distinct points.
fn insert_all(dir: &Path, state: &mut State, readings: &[Reading]) -> Result<u64, StoreError> {
    let mut new = 0;
    for r in readings {
        let fresh_in_buffer = state.index.insert(r);
        let maybe_flushed = state
            .flushed
            .get(&r.asset)
            .and_then(|m| m.get(&r.sensor))
            .is_some_and(|&t| r.ts_ms <= t);
        // Rare path (redeliveries after a crash, late data): ask Parquet whether the point exists.
        let is_new = fresh_in_buffer && !(maybe_flushed && in_parquet(dir, &state.manifest, r)?);
        new += u64::from(is_new);
    }
    state.points += new;
    Ok(new)
}

fn in_parquet(dir: &Path, manifest: &Manifest, r: &Reading) -> Result<bool, StoreError> {
    for f in manifest
        .files
        .iter()
        .filter(|f| f.class == DataClass::Raw && f.min_ts <= r.ts_ms && r.ts_ms <= f.max_ts)
    {
        if !parquet::read_series(
            &dir.join(&f.path),
            r.asset.as_str(),
            r.sensor.as_str(),
            r.ts_ms,
            r.ts_ms + 1,
        )?
        .is_empty()
        {
            return Ok(true);
        }
    }
    Ok(false)
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
    merged.extend(state.index.range(asset, sensor, from, to));
    Ok(merged.into_iter().collect())
}

/// Splits a time-keyed map into one map per UTC day.
fn split_by_day<V: Clone>(
    points: &BTreeMap<TimestampMs, V>,
) -> Vec<(i64, BTreeMap<TimestampMs, V>)> {
    let mut out = Vec::new();
    let mut rest = points.clone();
    while let Some((&first, _)) = rest.first_key_value() {
        let day = first.div_euclid(DAY_MS);
        let later = rest.split_off(&((day + 1) * DAY_MS));
        out.push((day, std::mem::replace(&mut rest, later)));
    }
    out
}

fn next_file(manifest: &mut Manifest, class: DataClass, day: i64) -> (String, u64) {
    let id = manifest.next_file;
    manifest.next_file += 1;
    (
        format!("{}/{}/{id:010}.parquet", class.dir(), day_name(day)),
        id,
    )
}

fn part_file<'a, V: 'a>(
    class: DataClass,
    id: u64,
    path: String,
    day: i64,
    bytes: u64,
    series: impl Iterator<Item = &'a BTreeMap<TimestampMs, V>> + Clone,
) -> PartFile {
    let rows = series.clone().map(|p| p.len() as u64).sum();
    let min_ts = series
        .clone()
        .filter_map(|p| p.keys().next())
        .min()
        .copied()
        .unwrap_or(0);
    let max_ts = series
        .filter_map(|p| p.keys().next_back())
        .max()
        .copied()
        .unwrap_or(0);
    PartFile {
        class,
        id,
        path,
        day: day_name(day),
        rows,
        min_ts,
        max_ts,
        bytes,
    }
}

fn now_ms() -> TimestampMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn day_name(day: i64) -> String {
    chrono::DateTime::from_timestamp_millis(day * DAY_MS)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| format!("day-{day}"))
}

/// Deletes partition files a crashed flush wrote but never committed.
fn remove_orphans(dir: &Path, manifest: &Manifest) -> Result<(), StoreError> {
    let known: std::collections::HashSet<PathBuf> =
        manifest.files.iter().map(|f| dir.join(&f.path)).collect();
    let days = [DataClass::Raw, DataClass::Minute, DataClass::Hour]
        .into_iter()
        .filter_map(|c| fs::read_dir(dir.join(c.dir())).ok())
        .flatten();
    for day in days.flatten() {
        for file in fs::read_dir(day.path())
            .map_err(StoreError::io(day.path()))?
            .flatten()
        {
            let path = file.path();
            if !known.contains(&path) {
                tracing::warn!(file = %path.display(), "removing a partition file no flush committed");
                fs::remove_file(&path).map_err(StoreError::io(&path))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
