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
use std::sync::{Arc, Condvar, Mutex, RwLock};

use forewarn_domain::{Asset, AssetId, Batch, Reading, SensorName, TimestampMs};
use serde::Serialize;

use crate::codec::{self, Record};
use crate::index::{Frozen, Index};
use crate::manifest::Manifest;
use crate::rollup::DataClass;
use crate::wal::{self, Recovery, Wal};
use crate::{DeadLetters, StoreError};
use foldhash::fast::RandomState as Fast;

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
    /// Bytes of Parquet partition files (raw and rollups).
    pub parquet_bytes: u64,
    /// Bytes of raw-point Parquet files alone.
    pub raw_parquet_bytes: u64,
    /// Points waiting in memory for the next flush.
    pub buffered_points: u64,
}

/// Index, manifest and counters change together (a flush moves points from one to the other).
#[derive(Debug, Default)]
struct State {
    index: Index,
    /// The buffer a running flush is writing: still served to queries and checked by dedup.
    frozen: Option<Arc<Frozen>>,
    /// The first WAL segment after `frozen`'s points.
    frozen_next: u64,
    /// `frozen`'s flush failed before its commit: the next flush writes it again.
    frozen_failed: bool,
    /// Points of `index` that counted as new in `points` (the rest rewrote older points).
    active_new: u64,
    manifest: Manifest,
    /// Newest flushed timestamp per series: a point at or before it may already be in Parquet.
    flushed: HashMap<AssetId, HashMap<SensorName, TimestampMs, Fast>, Fast>,
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
    /// One flush at a time.
    flush_lock: Mutex<()>,
    /// Whether a flush is running (set when it is scheduled), with a condition variable for
    /// appends that must wait for it.
    flushing: (Mutex<bool>, Condvar),
    /// A background flush's failure, reported by the next append.
    flush_error: Mutex<Option<StoreError>>,
    /// The latest background flush thread, joined by `close` (it holds an `Arc` of the store).
    flush_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
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
        let lock = if writable { Some(lock_dir(dir)?) } else { None };
        let manifest = Manifest::load(dir)?;
        if writable {
            flush::remove_orphans(dir, &manifest)?;
        }
        verify_partitions(dir, &manifest)?;
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
            flush_lock: Mutex::new(()),
            flushing: (Mutex::new(false), Condvar::new()),
            flush_error: Mutex::new(None),
            flush_thread: Mutex::new(None),
            _lock: lock,
        };
        Ok((store, recovery))
    }

    /// Makes batches durable (dead letters, then one WAL write + fsync), then indexes them, and
    /// flushes to Parquet, in this call, when the buffer is full. When this returns `Ok`, every
    /// message of every batch may be acknowledged.
    pub fn append(&self, batches: &[Batch]) -> Result<Appended, StoreError> {
        let (appended, due) = self.append_only(batches)?;
        if due {
            self.flush()?;
        }
        Ok(appended)
    }

    /// As [`Store::append`], but a full buffer is flushed by a background thread while appends go
    /// on into a fresh buffer: ingest does not stall for the seconds a flush takes. An append
    /// waits only when the fresh buffer fills too before the flush ends (memory stays bounded at
    /// twice `flush_points`). A background flush's error is returned by the next append.
    pub fn append_with_background_flush(
        self: &Arc<Self>,
        batches: &[Batch],
    ) -> Result<Appended, StoreError> {
        if let Some(e) = self
            .flush_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            return Err(e);
        }
        self.wait_while_over_limit();
        let (appended, due) = self.append_only(batches)?;
        if due && self.claim_flush() {
            let store = self.clone();
            let thread = std::thread::Builder::new()
                .name("forewarn-flush".into())
                .spawn(move || {
                    let r = store.flush_claimed();
                    if let Err(e) = r {
                        tracing::error!(error = %e, "flush to Parquet failed");
                        *store.flush_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    }
                })
                .map_err(StoreError::io(&self.dir))?;
            // The previous thread has released its claim, so it is finishing or finished.
            let previous = self
                .flush_thread
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .replace(thread);
            if let Some(t) = previous {
                let _ = t.join();
            }
        }
        Ok(appended)
    }

    /// Waits until no flush runs (at shutdown, so the directory lock is free when this returns
    /// and the last `Arc` is dropped).
    pub fn wait_for_flush(&self) {
        let (m, cv) = &self.flushing;
        let mut running = m.lock().unwrap_or_else(|p| p.into_inner());
        while *running {
            running = cv.wait(running).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Waits for a background flush and reports its failure, if any.
    pub fn close(&self) -> Result<(), StoreError> {
        self.wait_for_flush();
        let thread = self
            .flush_thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(t) = thread {
            let _ = t.join();
        }
        match self
            .flush_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn wait_while_over_limit(&self) {
        let over = |s: &Store| {
            let state = s.state.read().unwrap_or_else(|p| p.into_inner());
            state.frozen.is_some() && state.index.points() >= s.options.flush_points
        };
        if over(self) {
            self.wait_for_flush();
        }
    }

    /// Marks a flush as running; false when one already is.
    fn claim_flush(&self) -> bool {
        let mut running = self.flushing.0.lock().unwrap_or_else(|p| p.into_inner());
        !std::mem::replace(&mut *running, true)
    }

    fn release_flush(&self) {
        let (m, cv) = &self.flushing;
        *m.lock().unwrap_or_else(|p| p.into_inner()) = false;
        cv.notify_all();
    }

    /// Appends without flushing; returns whether the buffer is due for a flush.
    fn append_only(&self, batches: &[Batch]) -> Result<(Appended, bool), StoreError> {
        let rejections: Vec<_> = batches.iter().flat_map(|b| &b.rejections).collect();
        self.dead_letters.append(&rejections)?;
        let payloads = codec::encode_batches(batches);
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
        let due = (state.index.points() >= self.options.flush_points && state.frozen.is_none())
            || state.frozen_failed;
        Ok((out, due))
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

    /// What is stored.
    pub fn stats(&self) -> StoreStats {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        let frozen = state
            .frozen
            .iter()
            .flat_map(|f| f.lasts().map(|(a, s, _)| (a, s)));
        let unflushed_series = state
            .index
            .series_keys()
            .chain(frozen)
            .filter(|(a, s)| !state.flushed.get(*a).is_some_and(|m| m.contains_key(*s)))
            .collect::<std::collections::HashSet<_>>()
            .len() as u64;
        StoreStats {
            points: state.points,
            series: state.manifest.series.len() as u64 + unflushed_series,
            assets: self.assets.read().unwrap_or_else(|p| p.into_inner()).len() as u64,
            rejected: self.dead_letters.count(),
            wal_bytes: self.wal_bytes.load(Ordering::Relaxed),
            partitions: state.manifest.files.len() as u64,
            parquet_bytes: state.manifest.bytes(),
            raw_parquet_bytes: state
                .manifest
                .files
                .iter()
                .filter(|f| f.class == DataClass::Raw)
                .map(|f| f.bytes)
                .sum(),
            buffered_points: state.index.points() + state.frozen.as_ref().map_or(0, |f| f.points),
        }
    }

    /// Whether a flush holds a frozen buffer (from the freeze until the commit).
    pub fn flushing(&self) -> bool {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        state.frozen.is_some()
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Creates `dir` and takes its `LOCK`, which the OS releases when the process dies, even by
/// SIGKILL: two services never write one data directory.
pub(crate) fn lock_dir(dir: &Path) -> Result<File, StoreError> {
    fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
    let path = dir.join("LOCK");
    let f = File::create(&path).map_err(StoreError::io(&path))?;
    f.try_lock()
        .map_err(|_| StoreError::Locked(dir.to_path_buf()))?;
    Ok(f)
}

/// Indexes readings; returns how many were new distinct points.
fn insert_all(dir: &Path, state: &mut State, readings: &[Reading]) -> Result<u64, StoreError> {
    let mut new = 0;
    // Points new to the buffer but at or before what was flushed for their series may already be
    // in Parquet (redeliveries after a crash, late data): rare, so they are checked in one scan
    // per series and file rather than one per point.
    let mut maybe_flushed: HashMap<(AssetId, SensorName), Vec<TimestampMs>> = HashMap::new();
    let State {
        index,
        frozen,
        flushed,
        ..
    } = state;
    // Readings arrive in runs of one asset (a message each): one asset lookup per run.
    for run in readings.chunk_by(|a, b| a.asset == b.asset) {
        let flushed = flushed.get(&run[0].asset);
        index.insert_run(run, |r| {
            // A rewrite of a point the running flush is writing: not new.
            if frozen.as_ref().is_some_and(|f| f.contains(r)) {
                return;
            }
            let flushed_to = flushed.and_then(|m| m.get(&r.sensor));
            if flushed_to.is_some_and(|&t| r.ts_ms <= t) {
                maybe_flushed
                    .entry((r.asset.clone(), r.sensor.clone()))
                    .or_default()
                    .push(r.ts_ms);
            } else {
                new += 1;
            }
        });
    }
    for ((asset, sensor), ts) in maybe_flushed {
        let present = query::in_parquet(dir, &state.manifest, &asset, &sensor, &ts)?;
        new += ts.iter().filter(|t| !present.contains(t)).count() as u64;
    }
    state.points += new;
    state.active_new += new;
    Ok(new)
}

/// Checks that every committed partition file is there with its committed size: a missing or
/// truncated file is reported at open, not discovered by a query months later.
fn verify_partitions(dir: &Path, manifest: &Manifest) -> Result<(), StoreError> {
    for f in &manifest.files {
        let path = dir.join(&f.path);
        let len = fs::metadata(&path).map_err(StoreError::io(&path))?.len();
        if len != f.bytes {
            return Err(StoreError::Corrupt {
                path,
                offset: len,
                reason: format!(
                    "partition file is {len} bytes, the manifest committed {}",
                    f.bytes
                ),
            });
        }
    }
    Ok(())
}

mod flush;
mod query;

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
