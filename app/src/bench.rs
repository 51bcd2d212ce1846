//! `forewarn bench store`, `bench ingest`, `bench detect`, `bench dashboards`, `bench lifecycle`
//! and `bench chaos`: one JSON object per figure and line.
//!
//! Every figure is `{"name": ..., "value": ..., "unit": ...}`. Data comes from the seeded fleet
//! simulator, so the numbers are reproducible and the compression figure is for realistic signals.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use forewarn_domain::{AssetId, Batch, Reading, SensorName};
use forewarn_simulators::{Fleet, FleetConfig};
use forewarn_store::{OpenMode, Store, StoreOptions};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

pub mod browser;
mod chaos;
mod dashboards;
mod detect;
pub mod fill;
mod ingest;
pub mod lifecycle;

pub use chaos::{ChaosArgs, chaos};
pub use dashboards::{DashboardBenchArgs, dashboards};
pub use detect::{DetectBenchArgs, detect};
pub use ingest::{IngestBenchArgs, ingest};
pub use lifecycle::{LifecycleArgs, lifecycle};

const DAY_MS: i64 = 86_400_000;

/// Settings of `forewarn bench store`.
#[derive(Debug, clap::Args)]
pub struct StoreBenchArgs {
    /// Readings appended (and replayed for the recovery figure).
    #[arg(long, default_value_t = 10_000_000)]
    pub readings: u64,
    /// Readings per appended batch (one fsync each).
    #[arg(long, default_value_t = 10_000)]
    pub batch: usize,
    /// Scratch directory (default: a temporary folder, removed afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

pub(crate) fn emit(name: &str, value: f64, unit: &str) {
    println!(
        "{}",
        json!({"name": name, "value": (value * 1000.0).round() / 1000.0, "unit": unit})
    );
}

pub(crate) fn bar(len: u64, what: &str) -> ProgressBar {
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template("{msg:>12} {bar:30} {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    b.set_message(what.to_string());
    b
}

/// Runs the store benchmark.
pub fn store(args: StoreBenchArgs) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let readings = simulated(args.readings)?;

    // Durable appends, batched, no flush: the WAL path alone.
    let dir = root.join("append");
    let never = StoreOptions {
        flush_points: u64::MAX,
        ..StoreOptions::default()
    };
    let (store, _) = Store::open_with(&dir, OpenMode::ReadWrite, never)?;
    let pb = bar(readings.len() as u64, "append");
    let started = Instant::now();
    for (seq, chunk) in readings.chunks(args.batch.max(1)).enumerate() {
        let batch = Batch {
            seq: seq as u64,
            readings: chunk.to_vec(),
            messages: chunk.len(),
            ..Default::default()
        };
        store.append(std::slice::from_ref(&batch))?;
        pb.inc(chunk.len() as u64);
    }
    let secs = started.elapsed().as_secs_f64();
    pb.finish_and_clear();
    emit(
        "store_append_durable",
        readings.len() as f64 / secs,
        "readings/s",
    );
    drop(store);

    // Recovery: replay the whole WAL.
    let started = Instant::now();
    let (store, recovery) = Store::open_with(&dir, OpenMode::ReadWrite, never)?;
    emit("store_recovery", started.elapsed().as_secs_f64(), "s");
    emit(
        "store_recovery_wal_readings",
        store.stats().points as f64,
        "readings",
    );
    emit(
        "wal_bytes_per_reading",
        recovery.bytes as f64 / readings.len() as f64,
        "bytes",
    );

    // Flush to Parquet: bytes per reading on disk.
    let started = Instant::now();
    store.flush()?;
    emit("store_flush", started.elapsed().as_secs_f64(), "s");
    let s = store.stats();
    emit(
        "parquet_raw_bytes_per_reading",
        s.raw_parquet_bytes as f64 / s.points as f64,
        "bytes",
    );
    emit(
        "parquet_all_bytes_per_reading",
        s.parquet_bytes as f64 / s.points as f64,
        "bytes",
    );
    drop(store);

    // One sensor's day at 1 Hz among other series of the same day.
    let dir = root.join("query");
    let (store, _) = Store::open_with(&dir, OpenMode::ReadWrite, never)?;
    let day0 = (chrono::Utc::now().timestamp_millis() / DAY_MS - 1) * DAY_MS;
    let sensor = SensorName::new("vibration_rms")?;
    let assets: Vec<AssetId> = (0..20)
        .map(|i| AssetId::new(&format!("asset-{i:03}")))
        .collect::<Result<_, _>>()?;
    let pb = bar(assets.len() as u64, "query data");
    for (k, asset) in assets.iter().enumerate() {
        let rs: Vec<Reading> = (0..86_400)
            .map(|i| Reading {
                asset: asset.clone(),
                sensor: sensor.clone(),
                ts_ms: day0 + i * 1000,
                value: 2.0 + ((i * 7 + k as i64) % 100) as f64 / 100.0,
            })
            .collect();
        store.append(&[Batch {
            seq: k as u64,
            messages: 1,
            readings: rs,
            ..Default::default()
        }])?;
        pb.inc(1);
    }
    pb.finish_and_clear();
    store.flush()?;
    let target = &assets[7];
    let time = |f: &dyn Fn() -> anyhow::Result<usize>| -> anyhow::Result<(f64, usize)> {
        let mut times = Vec::new();
        let mut n = 0;
        for _ in 0..15 {
            let t = Instant::now();
            n = f()?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        Ok((times[times.len() / 2], n))
    };
    let (raw_ms, n) = time(&|| Ok(store.range(target, &sensor, day0, day0 + DAY_MS)?.len()))?;
    anyhow::ensure!(n == 86_400, "raw day query returned {n} points");
    emit("query_day_1hz_raw", raw_ms, "ms");
    let (step_ms, n) = time(&|| {
        Ok(store
            .downsample(target, &sensor, day0, day0 + DAY_MS, 60_000)?
            .len())
    })?;
    anyhow::ensure!(n == 1440, "1-minute day query returned {n} buckets");
    emit("query_day_1m_step", step_ms, "ms");
    Ok(())
}

/// `n` readings of a seeded fleet of 1000 assets sampled every minute.
fn simulated(n: u64) -> anyhow::Result<Vec<Reading>> {
    let ticks = n.div_ceil(6000) as i64;
    let mut cfg = FleetConfig::ending_at(
        7,
        1000,
        chrono::Utc::now().timestamp_millis(),
        ticks * 60_000,
    );
    cfg.interval_ms = 60_000;
    // Every reading stored, none left out by a dropped-out sensor: figures stay comparable.
    cfg.sensor_faults = 0;
    let mut fleet = Fleet::new(cfg).context("building the benchmark fleet")?;
    let names: Vec<Vec<SensorName>> = fleet
        .assets
        .iter()
        .map(|a| {
            a.kind
                .sensors()
                .iter()
                .map(|s| SensorName::new(s))
                .collect::<Result<_, _>>()
        })
        .collect::<Result<_, _>>()?;
    let ids: Vec<AssetId> = fleet
        .assets
        .iter()
        .map(|a| AssetId::new(&a.id))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(n as usize);
    let pb = bar(n, "generate");
    let ticks: Vec<i64> = fleet.ticks().collect();
    'outer: for t in ticks {
        for (i, a) in fleet.assets.iter_mut().enumerate() {
            let Some(values) = a.sample(t) else { continue };
            for (s, v) in names[i].iter().zip(values) {
                out.push(Reading {
                    asset: ids[i].clone(),
                    sensor: s.clone(),
                    ts_ms: t,
                    value: v,
                });
                if out.len() as u64 >= n {
                    break 'outer;
                }
            }
        }
        pb.set_position(out.len() as u64);
    }
    pb.finish_and_clear();
    Ok(out)
}
