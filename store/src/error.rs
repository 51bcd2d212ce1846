//! Store errors.

use std::path::PathBuf;

/// What can go wrong in the store. Corruption is reported with its location, never skipped silently.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another process holds the data directory.
    #[error("data directory {0} is in use by another Forewarn process")]
    Locked(PathBuf),
    /// A WAL record before the tail failed its checksum: data after it cannot be trusted.
    #[error("WAL segment {path} is corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// The segment.
        path: PathBuf,
        /// Byte offset of the bad record.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// The stage lost its input or output.
    #[error("pipeline closed")]
    PipelineClosed,
    /// InfluxDB refused a request in a way retrying cannot fix (bad credentials, schema conflict,
    /// malformed query), or stayed unreachable past the start-up deadline.
    #[error("InfluxDB at {url}: {message}")]
    Influx {
        /// The server.
        url: String,
        /// What it said.
        message: String,
    },
    /// A blocking task of the store panicked or was cancelled.
    #[error("store task failed: {0}")]
    Task(String),
}

impl StoreError {
    /// Whether trying the same write again may succeed: an I/O error (a full disk, a failing
    /// device) or InfluxDB refusing. A directory in use, a damaged log, a closed pipeline or a
    /// panicked task are not.
    pub fn retryable(&self) -> bool {
        matches!(self, StoreError::Io { .. } | StoreError::Influx { .. })
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }
}
