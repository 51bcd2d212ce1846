//! The manifest: which Parquet partitions are part of the store, and where the WAL starts.
//!
//! It is the commit point of a flush. A flush writes its Parquet files, then replaces
//! `manifest.json` atomically (temporary file, fsync, rename, directory fsync), and only then
//! deletes the WAL segments the files cover. A crash before the rename leaves orphan files that
//! the next open deletes and a WAL that still holds everything; a crash after it leaves WAL
//! segments that the next open skips and deletes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;

use forewarn_domain::{Asset, TimestampMs};
use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::rollup::DataClass;

/// One Parquet partition file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartFile {
    /// Raw points or a rollup resolution.
    #[serde(default)]
    pub class: DataClass,
    /// Flush sequence number: a higher id overrides a lower one for the same point.
    pub id: u64,
    /// Path relative to the data directory.
    pub path: String,
    /// UTC day of every row (`YYYY-MM-DD`), the unit retention drops.
    pub day: String,
    /// Rows in the file.
    pub rows: u64,
    /// Earliest timestamp (bucket start for rollups).
    pub min_ts: TimestampMs,
    /// Latest timestamp.
    pub max_ts: TimestampMs,
    /// File size.
    pub bytes: u64,
    /// A raw file whose flush wrote no 1-minute rollups because no minute held two points of a
    /// series (they would repeat the raw rows): 1-minute queries aggregate this file instead, and
    /// its rollups are written when it expires, if the 1-minute class outlives it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub minute_from_raw: bool,
}

/// The newest flushed point of a series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LastPoint {
    /// Its time.
    pub ts: TimestampMs,
    /// Its value.
    pub value: f64,
}

/// The committed state of the Parquet side of the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Next flush sequence number.
    pub next_file: u64,
    /// WAL segments below this id are covered by Parquet files.
    pub wal_start: u64,
    /// Distinct points committed to Parquet.
    pub points: u64,
    /// Partition files, in id order.
    pub files: Vec<PartFile>,
    /// Newest flushed point per series, keyed `asset/sensor`.
    pub series: BTreeMap<String, LastPoint>,
    /// Registered assets at the time of the flush (the WAL records them too, until trimmed).
    pub assets: Vec<Asset>,
}

const NAME: &str = "manifest.json";

impl Manifest {
    /// Reads the manifest of `dir`, or an empty one when there is none yet.
    pub fn load(dir: &Path) -> Result<Manifest, StoreError> {
        let path = dir.join(NAME);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                path,
                offset: e.column() as u64,
                reason: format!("manifest is not valid: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(e) => Err(StoreError::Io { path, source: e }),
        }
    }

    /// Replaces the manifest of `dir` atomically and durably.
    pub fn save(&self, dir: &Path) -> Result<(), StoreError> {
        let path = dir.join(NAME);
        let tmp = dir.join("manifest.json.tmp");
        let bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        let mut f = File::create(&tmp).map_err(StoreError::io(&tmp))?;
        f.write_all(&bytes).map_err(StoreError::io(&tmp))?;
        f.sync_all().map_err(StoreError::io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(StoreError::io(&path))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(StoreError::io(dir))
    }

    /// The key of a series in [`Manifest::series`].
    pub fn series_key(asset: &str, sensor: &str) -> String {
        format!("{asset}/{sensor}")
    }

    /// Total bytes of partition files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}
