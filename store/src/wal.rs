//! The write-ahead log: numbered segment files of framed, checksummed records.
//!
//! Frame: `len:u32 LE | crc32(payload):u32 LE | payload`. A batch of frames is written with one
//! `write` and made durable with one `fdatasync` (group commit). On open, every segment is replayed
//! in order. A damaged *tail* of the last segment — a frame cut short, or a final frame whose
//! checksum fails — is what a crash during a write leaves behind: it is reported and truncated, and
//! nothing that was acknowledged is lost (acks follow the fsync). Damage anywhere else means the
//! disk or another process changed the file, and opening fails with [`StoreError::Corrupt`] rather
//! than silently dropping the records after it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::StoreError;

const HEADER: usize = 8;
/// A frame longer than this is treated as damage, not as a record.
const MAX_FRAME: usize = 256 * 1024 * 1024;
/// A new segment starts once the current one reaches this size.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// What replaying the log found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Segment files read.
    pub segments: usize,
    /// Records replayed.
    pub records: u64,
    /// Bytes of valid records.
    pub bytes: u64,
    /// Bytes of a damaged tail that were cut off (or, read-only, ignored).
    pub truncated_bytes: u64,
}

/// An open log, positioned for appending.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    file: File,
    segment_id: u64,
    segment_len: u64,
    segment_limit: u64,
    total_bytes: u64,
}

impl Wal {
    /// Replays every record in `dir` through `on_record`, repairs a torn tail when `writable`, and
    /// returns the log ready for appending (or `None` when read-only).
    ///
    /// Segments numbered below `start` are already covered by Parquet partitions: they are skipped
    /// (and deleted when `writable`).
    pub fn open(
        dir: &Path,
        writable: bool,
        segment_limit: u64,
        start: u64,
        mut on_record: impl FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<(Option<Wal>, Recovery), StoreError> {
        if writable {
            fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
        }
        let mut segments = list_segments(dir)?;
        let covered: Vec<_> = segments
            .iter()
            .filter(|(id, _)| *id < start)
            .cloned()
            .collect();
        segments.retain(|(id, _)| *id >= start);
        if writable {
            for (_, path) in covered {
                fs::remove_file(&path).map_err(StoreError::io(&path))?;
            }
        }
        let mut recovery = Recovery {
            segments: segments.len(),
            ..Default::default()
        };
        for (i, (_, path)) in segments.iter().enumerate() {
            let data = fs::read(path).map_err(StoreError::io(path))?;
            let is_last = i + 1 == segments.len();
            let valid = replay_segment(path, &data, is_last, &mut recovery, &mut on_record)?;
            if valid < data.len() as u64 {
                recovery.truncated_bytes += data.len() as u64 - valid;
                tracing::warn!(segment = %path.display(), valid_bytes = valid, cut_bytes = data.len() as u64 - valid, "wal tail damaged by an interrupted write; cutting it off");
                if writable {
                    let f = OpenOptions::new()
                        .write(true)
                        .open(path)
                        .map_err(StoreError::io(path))?;
                    f.set_len(valid).map_err(StoreError::io(path))?;
                    f.sync_all().map_err(StoreError::io(path))?;
                }
            }
        }
        if !writable {
            return Ok((None, recovery));
        }
        let (segment_id, path) = match segments.last() {
            Some((id, path)) => (*id, path.clone()),
            None => (start.max(1), segment_path(dir, start.max(1))),
        };
        let wal = Wal::open_segment(dir, segment_id, &path, segment_limit, recovery.bytes)?;
        Ok((Some(wal), recovery))
    }

    fn open_segment(
        dir: &Path,
        segment_id: u64,
        path: &Path,
        segment_limit: u64,
        total_bytes: u64,
    ) -> Result<Wal, StoreError> {
        let existed = path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(StoreError::io(path))?;
        if !existed {
            // The new file's directory entry must be durable too, or a crash could lose the whole segment.
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(StoreError::io(dir))?;
        }
        let segment_len = file.metadata().map_err(StoreError::io(path))?.len();
        Ok(Wal {
            dir: dir.to_path_buf(),
            file,
            segment_id,
            segment_len,
            segment_limit,
            total_bytes,
        })
    }

    /// Appends all payloads as one write and makes them durable with one fsync.
    pub fn append(&mut self, payloads: &[Vec<u8>]) -> Result<(), StoreError> {
        if payloads.is_empty() {
            return Ok(());
        }
        if self.segment_len >= self.segment_limit {
            let id = self.segment_id + 1;
            let path = segment_path(&self.dir, id);
            *self = Wal::open_segment(&self.dir, id, &path, self.segment_limit, self.total_bytes)?;
        }
        let size: usize = payloads.iter().map(|p| p.len() + HEADER).sum();
        let mut buf = Vec::with_capacity(size);
        for p in payloads {
            buf.extend_from_slice(&(p.len() as u32).to_le_bytes());
            buf.extend_from_slice(&crc32fast::hash(p).to_le_bytes());
            buf.extend_from_slice(p);
        }
        let path = segment_path(&self.dir, self.segment_id);
        let written = self
            .file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // A partial frame (a full disk) or a write whose durability is unknown (a failed
            // fsync) is cut off, so the log stays a sequence of whole frames and the caller can
            // try again; appends are O_APPEND, so the next write lands at the cut.
            let _ = self.file.set_len(self.segment_len);
            return Err(StoreError::Io { path, source: e });
        }
        self.segment_len += buf.len() as u64;
        self.total_bytes += buf.len() as u64;
        Ok(())
    }

    /// Bytes of records in all segments.
    pub fn bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Closes the current segment and starts the next; returns the new segment's id. Every record
    /// appended before lies in a segment with a lower id.
    pub fn rotate(&mut self) -> Result<u64, StoreError> {
        let id = self.segment_id + 1;
        let path = segment_path(&self.dir, id);
        *self = Wal::open_segment(&self.dir, id, &path, self.segment_limit, self.total_bytes)?;
        Ok(id)
    }

    /// Deletes every segment numbered below `id` (their records are in Parquet now).
    pub fn remove_before(&mut self, id: u64) -> Result<(), StoreError> {
        for (seg, path) in list_segments(&self.dir)? {
            if seg < id {
                let len = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                fs::remove_file(&path).map_err(StoreError::io(&path))?;
                self.total_bytes = self.total_bytes.saturating_sub(len);
            }
        }
        Ok(())
    }
}

/// Replays one segment; returns the length of its valid prefix.
fn replay_segment(
    path: &Path,
    data: &[u8],
    is_last: bool,
    recovery: &mut Recovery,
    on_record: &mut impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<u64, StoreError> {
    let corrupt = |offset: usize, reason: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason,
    };
    let mut off = 0usize;
    while off < data.len() {
        let rest = &data[off..];
        let torn = |reason: &str| -> Result<u64, StoreError> {
            if is_last {
                Ok(off as u64)
            } else {
                Err(corrupt(off, reason.to_string()))
            }
        };
        if rest.len() < HEADER {
            return torn("frame header cut short");
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        if len > MAX_FRAME || HEADER + len > rest.len() {
            return torn("frame runs past the end of the segment");
        }
        let payload = &rest[HEADER..HEADER + len];
        if crc32fast::hash(payload) != crc {
            // Only the very last frame may be half-written; a bad frame with data after it is damage.
            if off + HEADER + len == data.len() {
                return torn("checksum mismatch in the final frame");
            }
            return Err(corrupt(off, "checksum mismatch".into()));
        }
        on_record(payload).map_err(|e| corrupt(off, e))?;
        recovery.records += 1;
        recovery.bytes += (HEADER + len) as u64;
        off += HEADER + len;
    }
    Ok(off as u64)
}

/// Reads the complete, checksummed frames of `data` (a segment's bytes from a frame boundary,
/// possibly still being appended to) through `on_record`; returns the bytes they span. A frame cut
/// short by a write in progress ends the read; damage before the end is an error.
pub(crate) fn read_frames(
    path: &Path,
    data: &[u8],
    mut on_record: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<u64, StoreError> {
    replay_segment(path, data, true, &mut Recovery::default(), &mut on_record)
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.wal"))
}

/// Segment ids and paths in `dir`, oldest first.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(StoreError::Io {
                path: dir.to_path_buf(),
                source: e,
            });
        }
    };
    let mut segments = Vec::new();
    for entry in entries {
        let path = entry.map_err(StoreError::io(dir))?.path();
        let id = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".wal"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(id) = id {
            segments.push((id, path));
        }
    }
    segments.sort();
    Ok(segments)
}

#[cfg(test)]
#[path = "wal_tests.rs"]
mod tests;
