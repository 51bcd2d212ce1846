//! The dead-letter log: every rejected message, one JSON line each, in `deadletter.jsonl`.
//!
//! Lines are fsynced with the batch they arrived in, before the messages are acknowledged, so an
//! operator can always see (and replay) what was refused. A crash between the fsync and the
//! acknowledgement means the broker redelivers and the message is logged again: dead letters are
//! at-least-once, readings exactly-once.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use forewarn_domain::Rejection;

use crate::StoreError;

/// The dead-letter log of a data directory.
#[derive(Debug)]
pub struct DeadLetters {
    path: PathBuf,
    file: Option<Mutex<File>>,
    count: AtomicU64,
}

impl DeadLetters {
    /// Opens (creating when `writable`) the log and counts its complete lines. A half-written last
    /// line left by a crash is cut off when writable.
    pub fn open(dir: &Path, writable: bool) -> Result<Self, StoreError> {
        let path = dir.join("deadletter.jsonl");
        let mut count = 0u64;
        let mut valid_len = 0u64;
        match File::open(&path) {
            Ok(f) => {
                let mut reader = BufReader::new(f);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    let n = reader
                        .read_until(b'\n', &mut line)
                        .map_err(StoreError::io(&path))?;
                    if n == 0 || line.last() != Some(&b'\n') {
                        break;
                    }
                    count += 1;
                    valid_len += n as u64;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::Io { path, source: e }),
        }
        let file = if writable {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(StoreError::io(&path))?;
            if f.metadata().map_err(StoreError::io(&path))?.len() > valid_len {
                f.set_len(valid_len).map_err(StoreError::io(&path))?;
            }
            Some(Mutex::new(f))
        } else {
            None
        };
        Ok(Self {
            path,
            file,
            count: AtomicU64::new(count),
        })
    }

    /// Appends rejections durably.
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
            serde_json::to_writer(&mut buf, r).unwrap_or_default();
            buf.push(b'\n');
        }
        let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(&buf).map_err(StoreError::io(&self.path))?;
        f.sync_data().map_err(StoreError::io(&self.path))?;
        self.count
            .fetch_add(rejections.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Lines in the log.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
