//! Flushing the buffer to Parquet partitions and rollups, and retention.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use forewarn_domain::{AssetId, SensorName, TimestampMs};

use super::{DAY_MS, Store};
use crate::index::Frozen;
use crate::manifest::{LastPoint, Manifest, PartFile};
use crate::rollup::{self, Agg, DataClass};
use crate::{StoreError, crashpoint, parquet};

impl Store {
    /// Writes every buffered point to Parquet now (also done automatically when the buffer fills).
    pub fn flush(&self) -> Result<(), StoreError> {
        // Waits for a background flush, then runs this one in the caller's thread.
        loop {
            if self.claim_flush() {
                break;
            }
            self.wait_for_flush();
        }
        self.flush_claimed()
    }

    /// Runs a flush whose claim the caller holds, and releases it.
    pub(super) fn flush_claimed(&self) -> Result<(), StoreError> {
        let r = self.flush_phases();
        self.release_flush();
        r
    }

    /// A flush in four phases, so that appends and queries wait only for the short ones:
    /// 1. freeze (WAL and state locks): rotate the WAL, move the buffer aside as `frozen`;
    /// 2. write (no lock): raw and rollup Parquet files of the frozen buffer;
    /// 3. commit (state lock): manifest with the new files, `frozen` dropped;
    /// 4. trim (WAL lock): delete the WAL segments the manifest now covers, and expired files.
    ///
    /// A flush that fails before its commit (a full disk) leaves its frozen buffer in place, marked
    /// failed: the next flush writes that same buffer again instead of freezing a new one.
    fn flush_phases(&self) -> Result<(), StoreError> {
        let _one = self.flush_lock.lock().unwrap_or_else(|p| p.into_inner());
        let Some((next, frozen, manifest)) = self.freeze()? else {
            return Ok(());
        };
        crashpoint::hit("flush-rotated");
        let r = self.write_and_commit(next, &frozen, manifest);
        if r.is_err() {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            state.frozen_failed = state.frozen.is_some();
        }
        r
    }

    /// Phase 1: the buffer to write and the WAL segment it ends before — a failed flush's, or the
    /// live buffer frozen now (`None`: nothing buffered).
    fn freeze(&self) -> Result<Option<(u64, Arc<Frozen>, Manifest)>, StoreError> {
        let mut wal = self.wal.lock().unwrap_or_else(|p| p.into_inner());
        let wal = wal.as_mut().ok_or_else(|| self.read_only())?;
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        if let (true, Some(frozen)) = (state.frozen_failed, state.frozen.clone()) {
            state.frozen_failed = false;
            tracing::info!(
                points = frozen.points,
                "writing the buffer of a failed flush again"
            );
            return Ok(Some((state.frozen_next, frozen, state.manifest.clone())));
        }
        if state.index.points() == 0 {
            return Ok(None);
        }
        // Everything buffered lies in segments below `next`: those go once the manifest commits.
        let next = wal.rotate()?;
        let frozen = Arc::new(state.index.take());
        state.frozen = Some(frozen.clone());
        state.frozen_next = next;
        state.active_new = 0;
        Ok(Some((next, frozen, state.manifest.clone())))
    }

    /// Phases 2 to 4 for `frozen`, whose points lie in WAL segments below `next`.
    fn write_and_commit(
        &self,
        next: u64,
        frozen: &Arc<Frozen>,
        mut manifest: Manifest,
    ) -> Result<(), StoreError> {
        // Only flushes and retention change the manifest, one at a time: this copy stays current.
        let written = self.write_partitions(frozen, &mut manifest)?;
        let now = now_ms();
        self.materialize_minutes(&mut manifest, now)?;
        let expired = {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            for (asset, sensor, (ts, value)) in frozen.lasts() {
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
            // Points appended during the flush are in WAL segments from `next` on, and are
            // counted again when those are replayed: the manifest's count leaves them out.
            manifest.points = state.points - state.active_new;
            manifest.wal_start = next;
            manifest.assets = self.assets();
            let expired = self.expire(&mut manifest, now);
            manifest.save(&self.dir)?;
            crashpoint::hit("flush-committed");
            state.points = manifest.points + state.active_new;
            state.manifest = manifest;
            state.frozen = None;
            expired
        };
        {
            let mut wal = self.wal.lock().unwrap_or_else(|p| p.into_inner());
            let wal = wal.as_mut().ok_or_else(|| self.read_only())?;
            wal.remove_before(next)?;
            self.wal_bytes.store(wal.bytes(), Ordering::Relaxed);
        }
        crashpoint::hit("flush-trimmed");
        self.delete_files(&expired)?;
        tracing::debug!(
            files = written,
            points = frozen.points,
            expired = expired.len(),
            "flushed buffer to parquet"
        );
        Ok(())
    }

    /// Writes the raw and rollup files of a frozen buffer (one per class and UTC day) and adds
    /// them to `manifest`; returns how many were written.
    fn write_partitions(
        &self,
        frozen: &Frozen,
        manifest: &mut Manifest,
    ) -> Result<usize, StoreError> {
        let buffered = &frozen.decode();
        let mut written = 0;
        let minute: Vec<Vec<(TimestampMs, Agg)>> = buffered
            .iter()
            .map(|(_, _, points)| rollup::aggregate_sorted(points, 60_000))
            .collect();
        // Data sampled once a minute or less often (the usual fleet) has 1-minute buckets equal to
        // its raw rows: writing them would more than double the flush for nothing. Such a flush
        // marks its raw files instead; 1-minute queries aggregate them, and the rollups are
        // written when they expire.
        let minute_from_raw = buffered
            .iter()
            .zip(&minute)
            .all(|((_, _, points), b)| points.len() == b.len());
        let mut raw_days: DaySeries<'_, f64> = BTreeMap::new();
        for (asset, sensor, points) in buffered {
            for (day, part) in split_by_day(points) {
                raw_days.entry(day).or_default().push((asset, sensor, part));
            }
        }
        for (day, series) in &raw_days {
            let (rel, id) = next_file(manifest, DataClass::Raw, *day);
            let bytes = parquet::write_series(
                &self.dir.join(&rel),
                series.iter().map(|(a, s, p)| (*a, *s, *p)),
            )?;
            let mut f = part_file(
                DataClass::Raw,
                id,
                rel,
                *day,
                bytes,
                series.iter().map(|(_, _, p)| p),
            );
            f.minute_from_raw = minute_from_raw;
            manifest.files.push(f);
            written += 1;
        }
        crashpoint::hit("flush-raw-written");
        // Rollups are computed from the same buffer, so each point lands in exactly one bucket of
        // each resolution; buckets split across flushes merge exactly at query time.
        if !minute_from_raw {
            written += self.write_rollups(DataClass::Minute, buffered, &minute, manifest)?;
        }
        let hour: Vec<Vec<(TimestampMs, Agg)>> = buffered
            .iter()
            .map(|(_, _, points)| rollup::aggregate_sorted(points, 3_600_000))
            .collect();
        written += self.write_rollups(DataClass::Hour, buffered, &hour, manifest)?;
        crashpoint::hit("flush-rollups-written");
        Ok(written)
    }

    /// Writes one rollup class of some series (`buckets[i]` belongs to `series[i]`), one file per
    /// UTC day, and adds the files to `manifest`; returns how many were written.
    fn write_rollups(
        &self,
        class: DataClass,
        series: &[crate::index::BufferedSeries],
        buckets: &[Vec<(TimestampMs, Agg)>],
        manifest: &mut Manifest,
    ) -> Result<usize, StoreError> {
        let mut days: DaySeries<'_, Agg> = BTreeMap::new();
        for ((asset, sensor, _), b) in series.iter().zip(buckets) {
            for (day, part) in split_by_day(b) {
                days.entry(day).or_default().push((asset, sensor, part));
            }
        }
        for (day, parts) in &days {
            let (rel, id) = next_file(manifest, class, *day);
            let bytes = parquet::write_rollups(
                &self.dir.join(&rel),
                parts.iter().map(|(a, s, p)| (*a, *s, *p)),
            )?;
            manifest.files.push(part_file(
                class,
                id,
                rel,
                *day,
                bytes,
                parts.iter().map(|(_, _, p)| p),
            ));
        }
        Ok(days.len())
    }

    /// Writes the 1-minute rollups of raw files that are about to expire and have none (see
    /// `minute_from_raw`), when the 1-minute class keeps them longer: rollups outlive raw data.
    fn materialize_minutes(
        &self,
        manifest: &mut Manifest,
        now: TimestampMs,
    ) -> Result<(), StoreError> {
        let Some(raw_keep) = self.options.retention(DataClass::Raw) else {
            return Ok(());
        };
        let minute_keep = self.options.retention(DataClass::Minute);
        let due: Vec<PartFile> = manifest
            .files
            .iter()
            .filter(|f| f.class == DataClass::Raw && f.minute_from_raw)
            .filter(|f| f.max_ts < now - raw_keep)
            .filter(|f| minute_keep.is_none_or(|keep| f.max_ts >= now - keep))
            .cloned()
            .collect();
        for f in due {
            let series = parquet::read_all_raw(&self.dir.join(&f.path))?;
            let minute: Vec<Vec<(TimestampMs, Agg)>> = series
                .iter()
                .map(|(_, _, points)| rollup::aggregate_sorted(points, 60_000))
                .collect();
            self.write_rollups(DataClass::Minute, &series, &minute, manifest)?;
            tracing::debug!(file = %f.path, "wrote the 1-minute rollups of an expiring raw file");
        }
        Ok(())
    }

    /// Applies retention now, without a flush (a quiet store still forgets old data on time):
    /// commits a manifest without the expired files, then deletes them. Returns how many went.
    pub fn apply_retention(&self) -> Result<usize, StoreError> {
        let _one = self.flush_lock.lock().unwrap_or_else(|p| p.into_inner());
        if self.wal.lock().unwrap_or_else(|p| p.into_inner()).is_none() {
            return Ok(0);
        }
        let now = now_ms();
        let mut manifest = self
            .state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .manifest
            .clone();
        let files_before = manifest.files.len();
        self.materialize_minutes(&mut manifest, now)?;
        let materialized = manifest.files.len() > files_before;
        let expired = {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            let before = manifest.points;
            let expired = self.expire(&mut manifest, now);
            if expired.is_empty() && !materialized {
                return Ok(0);
            }
            manifest.save(&self.dir)?;
            state.points -= before - manifest.points;
            state.manifest = manifest;
            expired
        };
        self.delete_files(&expired)?;
        tracing::info!(
            files = expired.len(),
            "retention dropped expired partitions"
        );
        Ok(expired.len())
    }

    /// Deletes partition files the committed manifest no longer names.
    fn delete_files(&self, files: &[PartFile]) -> Result<(), StoreError> {
        for f in files {
            let path = self.dir.join(&f.path);
            fs::remove_file(&path).map_err(StoreError::io(&path))?;
            // The day's directory goes with its last file (remove_dir refuses a non-empty one).
            if let Some(day_dir) = path.parent() {
                let _ = fs::remove_dir(day_dir);
            }
        }
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
}

/// Series split by UTC day, ready to be written one file per day.
type DaySeries<'a, V> = BTreeMap<i64, Vec<(&'a AssetId, &'a SensorName, &'a [(TimestampMs, V)])>>;

/// Splits time-sorted points into one slice per UTC day (no copy).
fn split_by_day<V>(mut points: &[(TimestampMs, V)]) -> Vec<(i64, &[(TimestampMs, V)])> {
    let mut out = Vec::new();
    while let Some(first) = points.first() {
        let day = first.0.div_euclid(DAY_MS);
        let end = points.partition_point(|p| p.0 < (day + 1) * DAY_MS);
        let (this, rest) = points.split_at(end);
        out.push((day, this));
        points = rest;
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
    series: impl Iterator<Item = &'a &'a [(TimestampMs, V)]> + Clone,
) -> PartFile {
    let rows = series.clone().map(|p| p.len() as u64).sum();
    let min_ts = series
        .clone()
        .filter_map(|p| p.first().map(|x| x.0))
        .min()
        .unwrap_or(0);
    let max_ts = series
        .filter_map(|p| p.last().map(|x| x.0))
        .max()
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
        minute_from_raw: false,
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
pub(super) fn remove_orphans(dir: &Path, manifest: &Manifest) -> Result<(), StoreError> {
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
