//! The time-series store: durable before acknowledged.
//!
//! A write-ahead log ([`wal`]) of checksummed records makes every batch durable before it is
//! acknowledged upstream; recent points live in an in-memory buffer and are flushed to Parquet
//! partitions (one file per UTC day per flush, written and scanned with polars), committed by a
//! manifest, after which the WAL segments they cover are deleted. Points are deduplicated on
//! (asset, sensor, timestamp), last write wins, across the buffer, partitions and restarts, so MQTT
//! redeliveries are harmless.
//!
//! [`Store`] is the engine; [`run`] is the pipeline stage around it, committing every batch that
//! arrives together with one fsync (group commit).

mod codec;
pub mod crashpoint;
mod deadletter;
mod engine;
mod error;
mod index;
mod influx;
mod manifest;
mod mirror;
mod parquet;
pub mod rollup;
mod stage;
mod telemetry;
pub mod wal;

pub use deadletter::DeadLetters;
pub use engine::{Appended, OpenMode, Store, StoreOptions, StoreStats};
pub use error::StoreError;
pub use index::SeriesPoint;
pub use influx::{Influx, InfluxConfig, InfluxStore};
pub use manifest::{Manifest, PartFile};
pub use mirror::{Mirrored, Shipper};
pub use stage::{DiskFloor, run};
pub use telemetry::{Embedded, Telemetry};
