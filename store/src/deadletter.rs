//! The dead-letter log: every rejected message, one JSON line each, in `deadletter.jsonl`.
//!
//! Lines are fsynced with the batch they arrived in, before the messages are acknowledged, so an
//! operator can always see (and replay) what was refused. A crash between the fsync and the
//! acknowledgement means the broker redelivers and the message is logged again: dead letters are
//! at-least-once, readings exactly-once.
//!
//! Bounded, so a flood of bad messages cannot fill the disk by itself: a line holds at most
//! [`MAX_FIELD_BYTES`] of topic and of detail (the payload excerpt is bounded by ingest), the
//! active file is rotated to `deadletter.1.jsonl` past `max_file_bytes`, and only `keep_files`
//! rotated files are kept. Start-up reads only the active file's tail (a half-written last line
//! left by a crash is cut off); the count of rejections ever logged lives in `deadletter.count`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use forewarn_domain::Rejection;

use crate::StoreError;

/// Topic and detail are cut to this many bytes in a line (a topic may be 64 KiB).
pub const MAX_FIELD_BYTES: usize = 1024;
/// How far from the end start-up looks for the last whole line (lines are a few KiB at most).
const TAIL_BYTES: u64 = 64 * 1024;

/// How large the log may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadLetterLimits {
    /// The active file is rotated past this size.
    pub max_file_bytes: u64,
    /// Rotated files kept (older ones are deleted).
    pub keep_files: u32,
}

impl Default for DeadLetterLimits {
    /// 64 MiB files, 8 kept: at most about 576 MiB.
    fn default() -> Self {
        Self {
            max_file_bytes: 64 << 20,
            keep_files: 8,
        }
    }
}

/// The dead-letter log of a data directory.
#[derive(Debug)]
pub struct DeadLetters {
    dir: PathBuf,
    path: PathBuf,
    limits: DeadLetterLimits,
    file: Option<Mutex<File>>,
    count: AtomicU64,
}

impl DeadLetters {
    /// Opens (creating when `writable`) the log with the default limits.
    pub fn open(dir: &Path, writable: bool) -> Result<Self, StoreError> {
        Self::open_with(dir, writable, DeadLetterLimits::default())
    }

    /// Opens the log with `limits`; when writable, a half-written last line is cut off.
    pub fn open_with(
        dir: &Path,
        writable: bool,
        limits: DeadLetterLimits,
    ) -> Result<Self, StoreError> {
        let path = dir.join("deadletter.jsonl");
        let count = match std::fs::read_to_string(dir.join("deadletter.count")) {
            Ok(text) => text.trim().parse().unwrap_or(0),
            // A log from before the count file: counted once, then the count file takes over.
            Err(_) => count_lines(&path)?,
        };
        let file = if writable {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .read(true)
                .open(&path)
                .map_err(StoreError::io(&path))?;
            cut_torn_tail(&f, &path)?;
            Some(Mutex::new(f))
        } else {
            None
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            path,
            limits,
            file,
            count: AtomicU64::new(count),
        })
    }

    /// Appends rejections durably, rotating the file when it grew past its limit.
    pub fn append(&self, rejections: &[&Rejection]) -> Result<(), StoreError> {
        if rejections.is_empty() {
            return Ok(());
        }
        let Some(file) = &self.file else {
            return Err(StoreError::Io {
                path: self.path.clone(),
                source: std::io::Error::other("opened read-only"),
            });
        };
        let mut buf = Vec::new();
        for r in rejections {
            // A struct of strings and numbers always serialises.
            serde_json::to_writer(&mut buf, &bounded(r)).unwrap_or_default();
            buf.push(b'\n');
        }
        let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(&buf).map_err(StoreError::io(&self.path))?;
        f.sync_data().map_err(StoreError::io(&self.path))?;
        let count = self
            .count
            .fetch_add(rejections.len() as u64, Ordering::Relaxed)
            + rejections.len() as u64;
        self.save_count(count);
        let size = f.metadata().map_err(StoreError::io(&self.path))?.len();
        if size > self.limits.max_file_bytes {
            *f = self.rotate()?;
        }
        Ok(())
    }

    /// Rejections ever logged (rotated-away ones included).
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The active log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `deadletter.{n}.jsonl`: the n-th newest rotated file.
    fn rotated(&self, n: u32) -> PathBuf {
        self.dir.join(format!("deadletter.{n}.jsonl"))
    }

    /// Shifts the rotated files up by one (dropping the oldest), moves the active file to
    /// `.1`, and opens a new active file.
    fn rotate(&self) -> Result<File, StoreError> {
        let keep = self.limits.keep_files;
        let oldest = self.rotated(keep);
        if oldest.exists() {
            std::fs::remove_file(&oldest).map_err(StoreError::io(&oldest))?;
        }
        for n in (1..keep).rev() {
            let from = self.rotated(n);
            if from.exists() {
                std::fs::rename(&from, self.rotated(n + 1)).map_err(StoreError::io(&from))?;
            }
        }
        if keep > 0 {
            std::fs::rename(&self.path, self.rotated(1)).map_err(StoreError::io(&self.path))?;
        } else {
            std::fs::remove_file(&self.path).map_err(StoreError::io(&self.path))?;
        }
        tracing::info!(path = %self.path.display(), keep, "dead-letter log rotated");
        OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&self.path)
            .map_err(StoreError::io(&self.path))
    }

    /// Writes the count beside the log (renamed into place; a crash may leave it one batch
    /// behind, as dead letters are at-least-once anyway).
    fn save_count(&self, count: u64) {
        let path = self.dir.join("deadletter.count");
        let tmp = self.dir.join("deadletter.count.tmp");
        let saved =
            std::fs::write(&tmp, format!("{count}\n")).and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = saved {
            tracing::warn!(path = %path.display(), error = %e, "cannot save the dead-letter count");
        }
    }
}

/// A rejection with its topic and detail cut to [`MAX_FIELD_BYTES`].
fn bounded(r: &Rejection) -> std::borrow::Cow<'_, Rejection> {
    if r.topic.len() <= MAX_FIELD_BYTES && r.detail.len() <= MAX_FIELD_BYTES {
        return std::borrow::Cow::Borrowed(r);
    }
    let mut r = r.clone();
    cut(&mut r.topic);
    cut(&mut r.detail);
    std::borrow::Cow::Owned(r)
}

fn cut(s: &mut String) {
    if s.len() > MAX_FIELD_BYTES {
        let mut end = MAX_FIELD_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
}

/// Cuts a half-written last line, looking only at the file's tail.
fn cut_torn_tail(f: &File, path: &Path) -> Result<(), StoreError> {
    let len = f.metadata().map_err(StoreError::io(path))?.len();
    if len == 0 {
        return Ok(());
    }
    let start = len.saturating_sub(TAIL_BYTES);
    let mut tail = Vec::new();
    let mut reader = f;
    reader
        .seek(SeekFrom::Start(start))
        .map_err(StoreError::io(path))?;
    reader
        .read_to_end(&mut tail)
        .map_err(StoreError::io(path))?;
    let whole = match tail.iter().rposition(|&b| b == b'\n') {
        Some(i) => start + i as u64 + 1,
        None => start,
    };
    if whole < len {
        f.set_len(whole).map_err(StoreError::io(path))?;
    }
    Ok(())
}

/// Complete lines in a log without a count file.
fn count_lines(path: &Path) -> Result<u64, StoreError> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(StoreError::Io {
                path: path.to_path_buf(),
                source: e,
            });
        }
    };
    let mut reader = BufReader::new(f);
    let mut line = Vec::new();
    let mut count = 0;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(StoreError::io(path))?;
        if n == 0 || line.last() != Some(&b'\n') {
            return Ok(count);
        }
        count += 1;
    }
}

#[cfg(test)]
#[path = "deadletter_tests.rs"]
mod tests;
