//! Per-asset detection: combine sensor baselines into findings.

use std::collections::{BTreeMap, HashMap};

use forewarn_domain::{
    AssetId, AssetTypeId, Direction, Finding, Reading, SensorDeviation, SensorName, Severity,
    TimestampMs,
};

use crate::baseline::{BaselineConfig, SensorBaseline};

/// Name and version recorded on every finding.
pub const DETECTOR_NAME: &str = "robust-baseline/1";
/// While a deviation lasts, the finding is repeated this often so later stages see it is ongoing.
const REPEAT_MS: i64 = 12 * 3_600_000;

#[derive(Debug, Default)]
struct AssetState {
    sensors: BTreeMap<SensorName, SensorBaseline>,
    /// The sensors deviating now, with their direction; a finding is emitted when it grows or a
    /// direction changes.
    reported: BTreeMap<SensorName, Direction>,
    last_emit_ms: Option<TimestampMs>,
}

/// Streaming detector for a whole fleet. Pure: feed readings in time order per asset, get findings.
#[derive(Debug, Default)]
pub struct Detector {
    cfg: BaselineConfig,
    // Looked up once per reading: foldhash, not SipHash.
    assets: HashMap<AssetId, AssetState, foldhash::fast::RandomState>,
}

impl Detector {
    /// A detector with the given settings.
    pub fn new(cfg: BaselineConfig) -> Self {
        Self {
            cfg,
            assets: HashMap::default(),
        }
    }

    /// Feeds one reading of an asset of type `asset_type`; returns a finding when the set of
    /// sustained deviations of that asset grew or changed direction (or is still there after
    /// [`REPEAT_MS`]).
    pub fn observe(&mut self, r: &Reading, asset_type: &AssetTypeId) -> Option<Finding> {
        // Look up before `entry`, which would clone (atomically count) the ids on every reading.
        let state = match self.assets.get_mut(&r.asset) {
            Some(s) => s,
            None => self.assets.entry(r.asset.clone()).or_default(),
        };
        let baseline = match state.sensors.get_mut(&r.sensor) {
            Some(b) => b,
            None => state.sensors.entry(r.sensor.clone()).or_default(),
        };
        baseline.observe(&self.cfg, r.ts_ms, r.value);
        // A sensor's deviation changes only when that sensor reports, so the asset's deviating set
        // is kept up to date incrementally from the one sensor just observed.
        let grew = match baseline.deviation(&self.cfg).map(|d| d.direction) {
            Some(d) if state.reported.get(&r.sensor) == Some(&d) => false,
            Some(d) => {
                state.reported.insert(r.sensor.clone(), d);
                true
            }
            None => {
                state.reported.remove(&r.sensor);
                false
            }
        };
        if state.reported.is_empty() {
            return None;
        }
        let repeat = state.last_emit_ms.is_some_and(|t| r.ts_ms - t >= REPEAT_MS);
        if !grew && !repeat {
            return None;
        }
        state.last_emit_ms = Some(r.ts_ms);
        Some(self.finding(&r.asset, asset_type, r.ts_ms))
    }

    fn finding(&self, asset: &AssetId, asset_type: &AssetTypeId, now: TimestampMs) -> Finding {
        let state = &self.assets[asset];
        let mut deviations: Vec<SensorDeviation> = state
            .sensors
            .iter()
            .filter_map(|(name, b)| {
                let d = b.deviation(&self.cfg)?;
                Some(SensorDeviation {
                    sensor: name.clone(),
                    direction: d.direction,
                    score: round2(b.score()),
                    value: b.last_value(),
                    baseline: b.center().unwrap_or(f64::NAN),
                    since_ms: d.since_ms,
                })
            })
            .collect();
        deviations.sort_by(|a, b| b.score.abs().total_cmp(&a.score.abs()));
        let score = deviations.first().map_or(0.0, |d| d.score.abs());
        Finding {
            asset: asset.clone(),
            asset_type: asset_type.clone(),
            detected_at_ms: now,
            deviations,
            score,
            severity: severity(score),
            detector: DETECTOR_NAME.to_string(),
        }
    }
}

fn severity(score: f64) -> Severity {
    match score {
        s if s >= 12.0 => Severity::Critical,
        s if s >= 7.0 => Severity::High,
        s if s >= 4.5 => Severity::Medium,
        _ => Severity::Low,
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::tests::wobble;

    const MIN: i64 = 60_000;

    #[test]
    fn emits_when_the_deviating_set_grows_only() {
        let mut d = Detector::default();
        let ty = AssetTypeId::new("pump").unwrap();
        let asset = AssetId::new("p-1").unwrap();
        let (vib, temp) = (
            SensorName::new("vib").unwrap(),
            SensorName::new("temp").unwrap(),
        );
        let mut findings = Vec::new();
        for i in 0..(6 * 24 * 60) {
            let t = i * MIN;
            let days = t as f64 / (24.0 * 60.0 * MIN as f64);
            // vib drifts up from day 2, temp from day 3.
            let v = 2.0 + 0.05 * wobble(i) + (days - 2.0).max(0.0);
            let c = 40.0 + 0.5 * wobble(i + 7) + 5.0 * (days - 3.0).max(0.0);
            for (s, x) in [(&vib, v), (&temp, c)] {
                let r = Reading {
                    asset: asset.clone(),
                    sensor: s.clone(),
                    ts_ms: t,
                    value: x,
                };
                findings.extend(d.observe(&r, &ty));
            }
        }
        assert!(findings.len() >= 2, "{findings:?}");
        assert_eq!(findings[0].deviations.len(), 1);
        assert_eq!(findings[0].deviations[0].sensor, vib);
        assert!(findings[0].detected_at_ms > 2 * 24 * 60 * MIN);
        let both = findings
            .iter()
            .find(|f| f.deviations.len() == 2)
            .expect("both sensors");
        assert!(both.deviations.iter().all(|x| x.direction == Direction::Up));
        // Repeats are rate-limited: at most one per 12 h plus one per change.
        assert!(findings.len() <= 2 + 8);
        assert_eq!(findings[0].detector, DETECTOR_NAME);
    }
}
