//! The store engine: WAL for durability, index for queries, dead letters for refused input.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use forewarn_domain::{Asset, AssetId, Batch, Reading, SensorName, TimestampMs};
use serde::Serialize;

use crate::codec::{self, Record};
use crate::index::{Index, SeriesPoint};
use crate::wal::{self, Recovery, Wal};
use crate::{DeadLetters, StoreError};

/// How to open a data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// The service: takes the directory lock, repairs a torn WAL tail, appends.
    ReadWrite,
    /// Inspection while the service may run or be stopped: no lock, no repair, no writes.
    ReadOnly,
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
}

/// The embedded time-series store of one data directory.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    wal: Mutex<Option<Wal>>,
    wal_bytes: std::sync::atomic::AtomicU64,
    index: RwLock<Index>,
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
    /// Opens a data directory, replaying its WAL.
    pub fn open(dir: &Path, mode: OpenMode) -> Result<(Store, Recovery), StoreError> {
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
        let mut index = Index::default();
        let mut assets = BTreeMap::new();
        let (wal, recovery) = Wal::open(
            &dir.join("wal"),
            writable,
            wal::DEFAULT_SEGMENT_BYTES,
            |payload| {
                match codec::decode(payload)? {
                    Record::Readings(rs) => rs.iter().for_each(|r| {
                        index.insert(r);
                    }),
                    Record::Birth(a) => {
                        assets.insert(a.id.clone(), a);
                    }
                }
                Ok(())
            },
        )?;
        let dead_letters = DeadLetters::open(dir, writable)?;
        let store = Store {
            dir: dir.to_path_buf(),
            wal_bytes: recovery.bytes.into(),
            wal: Mutex::new(wal),
            index: RwLock::new(index),
            assets: RwLock::new(assets),
            dead_letters,
            _lock: lock,
        };
        Ok((store, recovery))
    }

    /// Makes batches durable (dead letters, then one WAL write + fsync), then indexes them.
    /// When this returns `Ok`, every message of every batch may be acknowledged.
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
        {
            let mut wal = self.wal.lock().unwrap_or_else(|p| p.into_inner());
            let wal = wal.as_mut().ok_or_else(|| StoreError::Io {
                path: self.dir.clone(),
                source: std::io::Error::other("store opened read-only"),
            })?;
            wal.append(&payloads)?;
            self.wal_bytes
                .store(wal.bytes(), std::sync::atomic::Ordering::Relaxed);
        }
        let mut out = Appended::default();
        {
            let mut assets = self.assets.write().unwrap_or_else(|p| p.into_inner());
            for a in batches.iter().flat_map(|b| &b.births) {
                assets.insert(a.id.clone(), a.clone());
            }
        }
        let mut index = self.index.write().unwrap_or_else(|p| p.into_inner());
        for r in batches.iter().flat_map(|b| &b.readings) {
            if index.insert(r) {
                out.new_points += 1;
            } else {
                out.rewrites += 1;
            }
        }
        Ok(out)
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
        self.index
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .latest(asset)
    }

    /// Raw points of one series with `from <= ts < to`.
    pub fn range(
        &self,
        asset: &AssetId,
        sensor: &SensorName,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Vec<(TimestampMs, f64)> {
        self.index
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .range(asset, sensor, from, to)
    }

    /// Every stored reading of an asset in time order.
    pub fn asset_history(&self, asset: &AssetId) -> Vec<Reading> {
        self.index
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .asset_history(asset)
    }

    /// What is stored.
    pub fn stats(&self) -> StoreStats {
        let index = self.index.read().unwrap_or_else(|p| p.into_inner());
        StoreStats {
            points: index.points(),
            series: index.series(),
            assets: self.assets.read().unwrap_or_else(|p| p.into_inner()).len() as u64,
            rejected: self.dead_letters.count(),
            wal_bytes: self.wal_bytes.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
