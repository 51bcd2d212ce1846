//! `forewarn stats`: what a data directory holds, read from disk.

use std::path::Path;

use anyhow::Context;
use forewarn_maintenance::Maintenance;
use forewarn_store::{OpenMode, Store};
use serde_json::json;

/// Prints the statistics of `dir` as one JSON object.
pub async fn run(dir: &Path) -> anyhow::Result<()> {
    println!("{}", collect(dir).await?);
    Ok(())
}

/// The statistics of `dir`: store counts (read-only WAL replay, no lock) and tickets.
pub async fn collect(dir: &Path) -> anyhow::Result<serde_json::Value> {
    anyhow::ensure!(dir.is_dir(), "{} is not a directory", dir.display());
    let d = dir.to_path_buf();
    let (store, recovery) =
        tokio::task::spawn_blocking(move || Store::open(&d, OpenMode::ReadOnly))
            .await?
            .with_context(|| format!("reading the store in {}", dir.display()))?;
    let s = store.stats();
    // A PostgreSQL tickets database is shared: reading it beside the service is fine.
    let elsewhere = std::env::var(forewarn_maintenance::DATABASE_URL_VAR)
        .ok()
        .filter(|u| !u.trim().is_empty());
    let db = match elsewhere {
        Some(url) => Some(Maintenance::connect(url.trim()).await?),
        None => Maintenance::open_read_only(dir).await?,
    };
    let tickets = match db {
        Some(db) => {
            let n = db.count().await?;
            db.close().await;
            n
        }
        None => 0,
    };
    Ok(json!({
        "points": s.points,
        "series": s.series,
        "assets": s.assets,
        "rejected": s.rejected,
        "tickets": tickets,
        "wal_bytes": s.wal_bytes,
        "partitions": s.partitions,
        "parquet_bytes": s.parquet_bytes,
        "raw_parquet_bytes": s.raw_parquet_bytes,
        "buffered_points": s.buffered_points,
        "wal_segments": recovery.segments,
        "wal_torn_tail_bytes": recovery.truncated_bytes,
    }))
}
