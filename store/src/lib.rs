//! The time-series store: durable before acknowledged.
//!
//! This first engine is a write-ahead log ([`wal`]) of checksummed records plus an in-memory index of
//! every series, rebuilt by replaying the log on start. A batch is acknowledged upstream only after
//! its WAL records (and its dead letters) are fsynced; points are deduplicated on
//! (asset, sensor, timestamp), so MQTT redeliveries are harmless. Parquet partitions, retention and
//! rollups come next (see ARCHITECTURE.md).
//!
//! [`Store`] is the engine; [`run`] is the pipeline stage around it, committing every batch that
//! arrives together with one fsync (group commit).

mod codec;
mod deadletter;
mod engine;
mod error;
mod index;
mod stage;
pub mod wal;

pub use deadletter::DeadLetters;
pub use engine::{OpenMode, Store, StoreStats};
pub use error::StoreError;
pub use index::SeriesPoint;
pub use stage::run;
