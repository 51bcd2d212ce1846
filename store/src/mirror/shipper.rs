//! The shipping end of the mirror: backlog → InfluxDB, in order, resumable.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use forewarn_domain::{Asset, Dependency, Metrics, Reading};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::backlog::Cursor;
use crate::codec::{self, Record};
use crate::influx::{Influx, InfluxConfig};
use crate::telemetry::blocking;
use crate::{StoreError, wal};

/// Longest idle wait: a notification can be missed when the shipper was busy, so it looks anyway.
const IDLE: Duration = Duration::from_secs(1);
/// Wait after InfluxDB refused a write, before trying the same chunk again.
const REFUSED_WAIT: Duration = Duration::from_secs(10);

/// What one look at the backlog found.
struct Chunk {
    segment: u64,
    end: u64,
    readings: Vec<Reading>,
    births: Vec<Asset>,
    /// A newer segment exists, so this one is complete: once shipped it can be deleted.
    sealed: bool,
}

/// Ships the backlog to InfluxDB; run it as a task for the life of the service.
#[derive(Debug)]
pub struct Shipper {
    dir: PathBuf,
    influx: Influx,
    metrics: Arc<Metrics>,
    wake: Arc<Notify>,
}

impl Shipper {
    pub(super) fn new(
        dir: &Path,
        config: &InfluxConfig,
        metrics: Arc<Metrics>,
        wake: Arc<Notify>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            dir: dir.to_path_buf(),
            influx: Influx::new(config, metrics.clone())?.as_mirror(),
            metrics,
            wake,
        })
    }

    /// InfluxDB refused the mirror's request: degraded (shown in `/readyz` and `/metrics`), the
    /// store of record goes on.
    fn refused(&self, e: &StoreError) {
        tracing::warn!(error = %e, "the InfluxDB mirror's request was refused; retrying");
        let now = chrono::Utc::now().timestamp_millis();
        self.metrics
            .degrade(Dependency::InfluxdbMirror, &e.to_string(), now);
    }

    /// Ships until `shutdown`. InfluxDB being down is waited out (with backoff), never an error;
    /// only a backlog that cannot be read is.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StoreError> {
        // The database may not exist yet; keep trying while the service runs.
        loop {
            let connected = tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                r = self.influx.connect(Duration::from_secs(60)) => r,
            };
            match connected {
                Ok(()) => break,
                // Refused at once (credentials): wait before asking again.
                Err(e) => {
                    self.refused(&e);
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(()),
                        _ = tokio::time::sleep(REFUSED_WAIT) => {}
                    }
                }
            }
        }
        let mut cursor = Cursor::load(&self.dir);
        loop {
            let dir = self.dir.clone();
            let from = cursor;
            let chunk = blocking(move || next_chunk(&dir, from)).await?;
            let Some(chunk) = chunk else {
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(()),
                    _ = self.wake.notified() => {},
                    _ = tokio::time::sleep(IDLE) => {},
                }
                continue;
            };
            if chunk.segment != cursor.segment {
                cursor = Cursor {
                    segment: chunk.segment,
                    offset: 0,
                };
            }
            let n = chunk.readings.len() as u64;
            if n > 0 || !chunk.births.is_empty() {
                let written = tokio::select! {
                    _ = shutdown.cancelled() => return Ok(()),
                    r = self.influx.write(&chunk.readings, &chunk.births) => r,
                };
                // Refused (a dropped database, credentials being rotated, a bad request): the
                // chunk is tried again after a while; the backlog keeps it, bounded.
                if let Err(e) = written {
                    self.refused(&e);
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(()),
                        _ = tokio::time::sleep(REFUSED_WAIT) => continue,
                    }
                }
                self.metrics.mirror_readings.inc_by(n);
            }
            cursor.offset = chunk.end;
            if chunk.sealed && n == 0 && chunk.births.is_empty() {
                // Everything in this segment is in InfluxDB: move on and delete it.
                let path = self.dir.join(format!("{:020}.wal", chunk.segment));
                cursor = Cursor {
                    segment: chunk.segment + 1,
                    offset: 0,
                };
                cursor.save(&self.dir)?;
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::Io { path, source: e }),
                }
            } else {
                cursor.save(&self.dir)?;
            }
            let left = backlog_bytes(&self.dir).saturating_sub(cursor.offset);
            self.metrics.mirror_backlog_bytes.set(left as i64);
        }
    }
}

/// Bytes of all backlog segments.
fn backlog_bytes(dir: &Path) -> u64 {
    wal::list_segments(dir)
        .unwrap_or_default()
        .iter()
        .map(|(_, p)| fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum()
}

/// The records after `cursor`, or `None` when there is nothing to do yet.
fn next_chunk(dir: &Path, cursor: Cursor) -> Result<Option<Chunk>, StoreError> {
    // Listed before reading: a segment with a newer one beside it at this moment receives no
    // more appends, so what is read next is all of it.
    let segments = wal::list_segments(dir)?;
    let Some((segment, path)) = segments.iter().find(|(id, _)| *id >= cursor.segment) else {
        return Ok(None);
    };
    let sealed = segments.iter().any(|(id, _)| id > segment);
    // The cursor's segment is gone: shipped, or dropped by the bound. Start the next at 0.
    let offset = if *segment == cursor.segment {
        cursor.offset
    } else {
        0
    };
    let data = match fs::read(path) {
        Ok(d) => d,
        // Dropped by the bound between listing and reading: look again.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(StoreError::Io {
                path: path.clone(),
                source: e,
            });
        }
    };
    let start = (offset as usize).min(data.len());
    let mut readings = Vec::new();
    let mut births = Vec::new();
    let valid = wal::read_frames(path, &data[start..], |p| {
        match codec::decode(p)? {
            Record::Readings(rs) => readings.extend(rs),
            Record::Birth(a) => births.push(a),
        }
        Ok(())
    })?;
    if valid == 0 && !sealed {
        return Ok(None);
    }
    Ok(Some(Chunk {
        segment: *segment,
        end: start as u64 + valid,
        readings,
        births,
        sealed,
    }))
}
