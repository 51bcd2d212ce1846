//! Snapshots of an asset's health from the detector's state, for the API and dashboards.

use forewarn_domain::{
    AssetHealth, AssetId, AssetTypeId, Direction, HealthIndex, SensorDeviation, SensorHealth,
    SensorName, SensorState,
};

use super::{AssetState, Detector};

impl Detector {
    /// The health of every asset seen, by asset id.
    pub fn health_all(&self) -> Vec<AssetHealth> {
        let mut ids: Vec<&AssetId> = self.assets.keys().collect();
        ids.sort();
        ids.into_iter().filter_map(|a| self.health(a)).collect()
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
        })
    }

    /// The asset's health fused from its judged, healthy sensors: 1 − the largest share of the
    /// way from baseline to failure level any of them has gone (levels from the catalog's
    /// `failure_scores`), with the soonest remaining-life estimate among `deviations`.
    ///
    /// A sensor leaning away from the only direction it fails in has gone no way at all: it
    /// counts as 0, not as unknown (else a healthy asset whose sensors all sit a hair on the
    /// safe side would show no health). `None` only when no judged sensor has a level.
    pub(super) fn health_index(
        &self,
        state: &AssetState,
        asset_type: &AssetTypeId,
        deviations: &[SensorDeviation],
    ) -> Option<HealthIndex> {
        let levels = self.failure_levels.get(asset_type)?;
        let mut worst: Option<(f64, &SensorName)> = None;
        for (name, s) in &state.sensors {
            if s.fault().is_some() || s.baseline.normal().is_none() {
                continue;
            }
            let score = s.baseline.score();
            let (toward, away) = if score >= 0.0 {
                (Direction::Up, Direction::Down)
            } else {
                (Direction::Down, Direction::Up)
            };
            let gone = match levels.get(&(name.clone(), toward)) {
                Some(&level) => score.abs() / level,
                None if levels.contains_key(&(name.clone(), away)) => 0.0,
                None => continue,
            };
            if worst.is_none_or(|(w, _)| gone > w) {
                worst = Some((gone, name));
            }
        }
        let (gone, name) = worst?;
        Some(HealthIndex {
            index: ((1.0 - gone).clamp(0.0, 1.0) * 1000.0).round() / 1000.0,
            limiting_sensor: name.clone(),
            time_to_failure_h: deviations
                .iter()
                .filter_map(|d| d.time_to_failure_h)
                .min_by(|a, b| a.hours.total_cmp(&b.hours)),
        })
    }
}
