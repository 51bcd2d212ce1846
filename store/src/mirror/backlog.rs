//! The mirror's backlog: a write-ahead log of what InfluxDB has not confirmed yet, bounded in bytes.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use forewarn_domain::{Batch, Metrics};
use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::codec::{self, Record};
use crate::wal::{self, Wal};

/// Backlog segments are small so that shipped data is deleted soon and a dropped segment is a
/// small loss.
pub(crate) const SEGMENT_BYTES: u64 = 8 * 1024 * 1024;

/// How far the shipper got: every record before `offset` in segment `segment` (and every record
/// of earlier segments) is in InfluxDB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    pub segment: u64,
    pub offset: u64,
}

impl Cursor {
    fn path(dir: &Path) -> PathBuf {
        dir.join("cursor.json")
    }

    /// The saved cursor, or the start when there is none (a first start or an unreadable file,
    /// which only means resending what InfluxDB may already have).
    pub fn load(dir: &Path) -> Cursor {
        fs::read(Self::path(dir))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Saves by atomic rename. Not fsynced: losing the newest cursor resends, never loses.
    pub fn save(&self, dir: &Path) -> Result<(), StoreError> {
        let tmp = dir.join("cursor.json.tmp");
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        fs::write(&tmp, bytes).map_err(StoreError::io(&tmp))?;
        fs::rename(&tmp, Self::path(dir)).map_err(StoreError::io(dir))
    }
}

/// The writing end of the backlog.
#[derive(Debug)]
pub struct Backlog {
    dir: PathBuf,
    wal: Wal,
    max_bytes: u64,
    metrics: Arc<Metrics>,
}

impl Backlog {
    /// Opens (creating) the backlog in `dir`, repairing a torn tail and deleting segments the
    /// shipper had finished.
    pub fn open(dir: &Path, max_bytes: u64, metrics: Arc<Metrics>) -> Result<Self, StoreError> {
        let cursor = Cursor::load(dir);
        let (wal, _) = Wal::open(dir, true, SEGMENT_BYTES, cursor.segment, |_| Ok(()))?;
        let wal = wal.ok_or_else(|| StoreError::Task("backlog opened read-only".into()))?;
        let backlog = Self {
            dir: dir.to_path_buf(),
            wal,
            max_bytes: max_bytes.max(2 * SEGMENT_BYTES),
            metrics,
        };
        backlog
            .metrics
            .mirror_backlog_bytes
            .set(backlog.bytes()? as i64);
        Ok(backlog)
    }

    /// Makes the batches durable in the backlog (one fsync), then enforces the bound.
    pub fn append(&mut self, batches: &[Batch]) -> Result<(), StoreError> {
        self.wal.append(&codec::encode_batches(batches))?;
        self.enforce_bound()
    }

    fn bytes(&self) -> Result<u64, StoreError> {
        Ok(wal::list_segments(&self.dir)?
            .iter()
            .map(|(_, p)| fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .sum())
    }

    /// Drops the oldest segments while the backlog is over its bound, counting their readings.
    fn enforce_bound(&mut self) -> Result<(), StoreError> {
        let mut segments: Vec<(PathBuf, u64)> = wal::list_segments(&self.dir)?
            .into_iter()
            .map(|(_, p)| {
                let len = fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                (p, len)
            })
            .collect();
        let mut total: u64 = segments.iter().map(|(_, l)| l).sum();
        // The newest segment is being written and is never dropped.
        while total > self.max_bytes && segments.len() > 1 {
            let (path, len) = segments.remove(0);
            let dropped = count_readings(&path);
            match fs::remove_file(&path) {
                Ok(()) => {}
                // The shipper finished it meanwhile: nothing was lost.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(StoreError::Io { path, source: e }),
            }
            total -= len;
            self.metrics.mirror_dropped_readings.inc_by(dropped);
            tracing::warn!(segment = %path.display(), readings = dropped, "InfluxDB mirror backlog over its bound; dropped its oldest segment");
        }
        self.metrics.mirror_backlog_bytes.set(total as i64);
        Ok(())
    }
}

/// Readings in a segment (0 when it cannot be read: it is being dropped either way).
fn count_readings(path: &Path) -> u64 {
    let Ok(data) = fs::read(path) else {
        return 0;
    };
    let mut n = 0u64;
    let _ = wal::read_frames(path, &data, |p| {
        if let Ok(Record::Readings(rs)) = codec::decode(p) {
            n += rs.len() as u64;
        }
        Ok(())
    });
    n
}

#[cfg(test)]
mod tests {
    use forewarn_domain::{AssetId, Reading, SensorName};

    use super::*;

    fn batch(seq: u64, n: usize) -> Batch {
        let asset = AssetId::new("p-1").unwrap();
        let sensor = SensorName::new("vib").unwrap();
        let readings = (0..n)
            .map(|i| Reading {
                asset: asset.clone(),
                sensor: sensor.clone(),
                ts_ms: (seq * n as u64 + i as u64) as i64,
                value: 1.0,
            })
            .collect();
        Batch {
            seq,
            readings,
            messages: 1,
            ..Default::default()
        }
    }

    /// Over its bound the backlog drops whole old segments, counts their readings, never the
    /// segment being written, and survives a reopen with what it kept.
    #[test]
    fn bounded_drops_oldest_segments_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Arc::new(Metrics::new());
        let mut b = Backlog::open(dir.path(), 0, metrics.clone()).unwrap();
        // ~1.5 MB a batch: the 16 MiB bound (two segments) is passed after a dozen batches.
        let batches = 40u64;
        for seq in 0..batches {
            b.append(&[batch(seq, 50_000)]).unwrap();
        }
        let kept = wal::list_segments(dir.path()).unwrap();
        let bytes: u64 = kept
            .iter()
            .map(|(_, p)| fs::metadata(p).unwrap().len())
            .sum();
        assert!(bytes <= 2 * SEGMENT_BYTES, "{bytes} bytes kept");
        let dropped = metrics.mirror_dropped_readings.get();
        assert!(
            dropped > 0 && dropped.is_multiple_of(50_000),
            "dropped {dropped}"
        );
        let kept_readings: u64 = kept.iter().map(|(_, p)| count_readings(p)).sum();
        assert_eq!(kept_readings + dropped, batches * 50_000);
        assert_eq!(metrics.mirror_backlog_bytes.get() as u64, bytes);
        drop(b);
        Backlog::open(dir.path(), 0, metrics).unwrap();
        assert_eq!(wal::list_segments(dir.path()).unwrap(), kept);
    }
}
