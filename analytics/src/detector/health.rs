//! Snapshots of an asset's health from the detector's state, for the API and dashboards.

use std::collections::HashMap;

use forewarn_domain::{
    AssetHealth, AssetId, AssetTypeId, FailureModeId, HealthIndex, SensorDeviation, SensorHealth,
    SensorState, TimeToFailure, health_index,
};

use super::{AssetState, Detector};

impl Detector {
    /// The health of every asset seen, by asset id.
    pub fn health_all(&self) -> Vec<AssetHealth> {
        let mut ids: Vec<&AssetId> = self.assets.keys().collect();
        ids.sort();
        ids.into_iter().filter_map(|a| self.health(a)).collect()
    }

    /// Each asset's newest reading time analysed, by asset id.
    pub fn clocks(&self) -> Vec<(AssetId, forewarn_domain::TimestampMs)> {
        let mut clocks: Vec<_> = self
            .assets
            .iter()
            .filter_map(|(id, s)| Some((id.clone(), s.newest_ms?)))
            .collect();
        clocks.sort();
        clocks
    }

    /// The asset's health as of its last reading, or `None` for an asset never seen.
    pub fn health(&self, asset: &AssetId) -> Option<AssetHealth> {
        let state = self.assets.get(asset)?;
        let sensors = state
            .sensors
            .iter()
            .map(|(name, s)| {
                let b = &s.baseline;
                let fault = s.fault().map(|f| f.0);
                let state = if fault.is_some() {
                    SensorState::Faulty
                } else if b.normal().is_none() {
                    SensorState::Warming
                } else if b.deviation(&self.cfg).is_some() {
                    SensorState::Deviating
                } else {
                    SensorState::Ok
                };
                SensorHealth {
                    sensor: name.clone(),
                    state,
                    value: b.last_value(),
                    score: (b.score() * 100.0).round() / 100.0,
                    change_score: (b.change_score() * 1000.0).round() / 1000.0,
                    last_change: b.change_since(i64::MIN),
                    fault,
                    baseline: b.normal().map(|n| n.0),
                    scale: b.normal().map(|n| n.1),
                }
            })
            .collect();
        let health = state.asset_type.as_ref().and_then(|ty| {
            let deviations = self.deviations(state, ty);
            self.health_index(state, ty, &deviations)
        });
        Some(AssetHealth {
            asset: asset.clone(),
            as_of_ms: state.newest_ms,
            sensors,
            joint: super::joint_evidence(state),
            health,
            operating: state
                .newest_ms
                .and_then(|now| state.rest.operating(now, state.sensors.len())),
            operating_point: state.points.operating_point(),
        })
    }

    /// The asset's remaining life from its deviating sensors: per machine mode, the sensor
    /// whose estimate is the most precise (narrowest interval on a log scale — the mode's
    /// sensors foretell the same failure, and one whose level varies little between machines
    /// says it best) with the soonest low end of any of them; across modes, the soonest.
    fn asset_time_to_failure(
        &self,
        asset_type: &AssetTypeId,
        deviations: &[SensorDeviation],
    ) -> Option<TimeToFailure> {
        let mut per_mode: HashMap<&FailureModeId, TimeToFailure> = HashMap::new();
        for (mode, sensor, direction) in self.levels.signatures(asset_type) {
            let Some(t) = deviations
                .iter()
                .find(|d| &d.sensor == sensor && d.direction == direction)
                .and_then(|d| d.time_to_failure_h)
            else {
                continue;
            };
            let best = per_mode.entry(mode).or_insert(t);
            // The low end stays the soonest any of them allows: each sensor may be the one
            // whose level this machine reaches first.
            let low = best.low.min(t.low);
            if log_width(&t) < log_width(best) {
                *best = t;
            }
            best.low = low;
        }
        per_mode
            .into_values()
            .min_by(|a, b| a.hours.total_cmp(&b.hours))
    }

    /// The asset's health fused from its judged, healthy sensors ([`health_index`]: levels
    /// from the catalog's `failure_scores`), with the soonest remaining-life estimate among
    /// `deviations`.
    pub(super) fn health_index(
        &self,
        state: &AssetState,
        asset_type: &AssetTypeId,
        deviations: &[SensorDeviation],
    ) -> Option<HealthIndex> {
        let levels = self.levels.levels(asset_type)?;
        let judged = state
            .sensors
            .iter()
            .filter(|(_, s)| s.fault().is_none() && s.baseline.normal().is_some())
            .map(|(name, s)| (name, s.baseline.score()));
        let (index, name) = health_index(levels, judged)?;
        Some(HealthIndex {
            index,
            limiting_sensor: name.clone(),
            time_to_failure_h: self.asset_time_to_failure(asset_type, deviations),
            levels: self.levels.version(asset_type),
        })
    }
}

/// ln(high / low) of an interval: its width on the scale remaining lives vary on.
fn log_width(t: &TimeToFailure) -> f64 {
    t.high
        .map_or(f64::INFINITY, |h| (h / t.low.max(super::SOONEST_H)).ln())
}
