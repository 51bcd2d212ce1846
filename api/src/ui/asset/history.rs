//! An asset's health index over time, for the asset page's health chart: each hour's mean of
//! every judged sensor (the store's 1-hour rollups), as a score against that sensor's learnt
//! baseline and spread, fused by the same [`health_index`] the live detectors use.
//!
//! Hourly means stand in for the detectors' smoothed scores (a 90-minute time constant), so the
//! history joins the live index without a step. It is judged against today's baselines: what
//! the detectors would say of those hours now, not a replay of what they said then.

use std::collections::BTreeMap;

use forewarn_domain::{AssetHealth, AssetId, FailureLevels, SensorName, SensorState, health_index};

use crate::{ApiError, AppState};

/// One hour, in ms: the rollup the history is read from.
const HOUR_MS: i64 = 3_600_000;

/// The health index of each hour of `[to − span, to)` that has readings: (hours relative to
/// `to`, negative; index). Sensors misreading now, or still learning, are left out, as live.
pub(crate) async fn health_history(
    s: &AppState,
    asset: &AssetId,
    levels: &FailureLevels,
    health: &AssetHealth,
    to: i64,
    span: i64,
) -> Result<Vec<(f64, f64)>, ApiError> {
    let has_level = |n: &SensorName| levels.keys().any(|(s, _)| s == n);
    let judged: Vec<(&SensorName, f64, f64)> = health
        .sensors
        .iter()
        .filter(|x| x.state != SensorState::Faulty && has_level(&x.sensor))
        .filter_map(|x| Some((&x.sensor, x.baseline?, x.scale?)))
        .filter(|(_, _, scale)| *scale > 0.0)
        .collect();
    let from = to - span;
    let hourly = futures_util::future::try_join_all(
        judged
            .iter()
            .map(|(sensor, _, _)| s.store.downsample(asset, sensor, from, to, HOUR_MS)),
    )
    .await?;
    let mut by_hour: BTreeMap<i64, Vec<(&SensorName, f64)>> = BTreeMap::new();
    for (&(sensor, baseline, scale), buckets) in judged.iter().zip(&hourly) {
        for (ts, agg) in buckets.iter().filter(|(_, a)| a.count > 0) {
            let mean = agg.sum / agg.count as f64;
            by_hour
                .entry(*ts)
                .or_default()
                .push((sensor, (mean - baseline) / scale));
        }
    }
    Ok(by_hour
        .into_iter()
        .filter_map(|(ts, scores)| {
            let (index, _) = health_index(levels, scores)?;
            // The hour's middle, so the last full hour sits just left of now.
            let hours = (ts + HOUR_MS / 2 - to) as f64 / HOUR_MS as f64;
            Some((hours.min(0.0), index))
        })
        .collect())
}
