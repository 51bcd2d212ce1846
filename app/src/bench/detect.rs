//! `forewarn bench detect`: the streaming detector's hot path alone — readings scored per second
//! on one core, and memory per series.
//!
//! A seeded fleet (with its machine and sensor faults, so findings are emitted as in service) is
//! sampled tick by tick; only the time spent in `Detector::observe` counts. Memory is the growth
//! of the process's resident set from before the first reading to the end, divided by the series:
//! it includes the warm-up buffers already freed but kept by the allocator, so it is an upper
//! bound on what a series holds.
//!
//! The streaming change detector, which also runs inside `Detector::observe`, is then measured
//! alone over the same readings (`stream_*`): the per-reading score a backtest of one column runs.

use std::time::{Duration, Instant};

use anyhow::Context;
use forewarn_analytics::Detector;
use forewarn_analytics::stream::{StreamConfig, StreamDetector};
use forewarn_domain::{AssetId, AssetTypeId, Catalog, Reading, SensorName};
use forewarn_simulators::{Fleet, FleetConfig};

use super::{DAY_MS, bar, emit, ingest::rss_kib};

/// Settings of `forewarn bench detect`.
#[derive(Debug, clap::Args)]
pub struct DetectBenchArgs {
    /// Simulated assets (6 sensors each).
    #[arg(long, default_value_t = 2000)]
    pub assets: usize,
    /// Simulated days (the first is the detectors' warm-up).
    #[arg(long, default_value_t = 3)]
    pub days: i64,
    /// Seconds between two samples of an asset.
    #[arg(long, default_value_t = 60)]
    pub interval_s: i64,
}

/// Runs the detector benchmark.
pub fn detect(args: DetectBenchArgs) -> anyhow::Result<()> {
    let catalog = Catalog::from_toml(crate::config::BUILTIN_CATALOG)?;
    let mut cfg = FleetConfig::ending_at(7, args.assets, crate::now_ms(), args.days * DAY_MS);
    cfg.interval_ms = args.interval_s * 1000;
    let mut fleet = Fleet::new(cfg.clone()).context("building the benchmark fleet")?;
    let ids: Vec<(AssetId, AssetTypeId, Vec<SensorName>)> = fleet
        .assets
        .iter()
        .map(|a| {
            let sensors = a.kind.sensors().iter().map(|s| SensorName::new(s));
            Ok((
                AssetId::new(&a.id)?,
                AssetTypeId::new(a.kind.type_id())?,
                sensors.collect::<Result<_, _>>()?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    let series: usize = ids.iter().map(|i| i.2.len()).sum();
    let ticks: Vec<i64> = fleet.ticks().collect();

    let rss_before = rss_kib("VmRSS");
    let mut detector = Detector::default().with_catalog(&catalog);
    let mut tick_readings: Vec<(usize, Reading)> = Vec::with_capacity(series);
    let (mut scoring, mut readings, mut findings, mut instrumentation) =
        (Duration::ZERO, 0u64, 0u64, 0u64);
    let progress = bar(ticks.len() as u64, "ticks");
    for (k, &t) in ticks.iter().enumerate() {
        tick_readings.clear();
        for (i, a) in fleet.assets.iter_mut().enumerate() {
            let Some(values) = a.sample(t) else { continue };
            for (s, v) in ids[i].2.iter().zip(values) {
                if v.is_finite() {
                    let r = Reading {
                        asset: ids[i].0.clone(),
                        sensor: s.clone(),
                        ts_ms: t,
                        value: v,
                    };
                    tick_readings.push((i, r));
                }
            }
        }
        let started = Instant::now();
        for (i, r) in &tick_readings {
            if let Some(f) = detector.observe(r, &ids[*i].1) {
                findings += 1;
                instrumentation += u64::from(f.is_instrumentation());
            }
        }
        scoring += started.elapsed();
        readings += tick_readings.len() as u64;
        if k % 64 == 0 {
            progress.set_position(k as u64);
        }
    }
    progress.finish_and_clear();
    let rss_after = rss_kib("VmRSS");
    // Keep the detector alive (and its memory resident) until after the measurement.
    drop(detector);

    emit("detect_series", series as f64, "series");
    emit("detect_readings", readings as f64, "readings");
    emit(
        "detect_readings_per_s_one_core",
        readings as f64 / scoring.as_secs_f64().max(1e-9),
        "readings/s",
    );
    emit(
        "detect_ns_per_reading",
        scoring.as_nanos() as f64 / readings.max(1) as f64,
        "ns",
    );
    emit(
        "detect_rss_per_series",
        rss_after.saturating_sub(rss_before) as f64 * 1024.0 / series.max(1) as f64,
        "bytes",
    );
    emit("detect_findings", findings as f64, "findings");
    emit(
        "detect_instrumentation_findings",
        instrumentation as f64,
        "findings",
    );
    // The same fleet again (seeded), its first assets' readings kept per series.
    let mut fleet = Fleet::new(cfg)?;
    let kept = fleet.assets.len().min(STREAM_ASSETS);
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); kept * 6];
    for &t in &ticks {
        for (i, a) in fleet.assets.iter_mut().take(kept).enumerate() {
            let Some(sample) = a.sample(t) else { continue };
            for (j, v) in sample.into_iter().enumerate() {
                if v.is_finite() {
                    values[i * 6 + j].push(v);
                }
            }
        }
    }
    values.retain(|v| !v.is_empty());
    stream_alone(&values);
    Ok(())
}

/// Assets whose readings the streaming-detector measurement replays (kept in memory).
const STREAM_ASSETS: usize = 300;

/// The streaming change detector alone: one detector per series, every reading in turn.
fn stream_alone(values: &[Vec<f64>]) {
    let mut detectors: Vec<StreamDetector> = values
        .iter()
        .map(|v| StreamDetector::new(&v[..v.len().min(128)], StreamConfig::default()))
        .collect();
    let steps = values.iter().map(Vec::len).max().unwrap_or(0);
    let (mut scored, mut anomalous) = (0u64, 0u64);
    let start = Instant::now();
    for k in 0..steps {
        for (d, v) in detectors.iter_mut().zip(values) {
            if let Some(&x) = v.get(k) {
                anomalous += u64::from(d.observe(x).anomalous);
                scored += 1;
            }
        }
    }
    let took = start.elapsed();
    emit(
        "stream_readings_per_s_one_core",
        scored as f64 / took.as_secs_f64().max(1e-9),
        "readings/s",
    );
    let bytes: Vec<usize> = detectors.iter().map(StreamDetector::memory_bytes).collect();
    let mean = bytes.iter().sum::<usize>() as f64 / bytes.len().max(1) as f64;
    emit("stream_bytes_per_series", mean, "bytes");
    let most = bytes.iter().copied().max().unwrap_or(0);
    emit("stream_bytes_per_series_max", most as f64, "bytes");
    let seasonal = detectors.iter().filter(|d| d.period().is_some()).count();
    emit("stream_series_with_a_season", seasonal as f64, "series");
    emit("stream_readings", scored as f64, "readings");
    emit("stream_anomalous_readings", anomalous as f64, "readings");
}
