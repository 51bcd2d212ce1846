//! Snapshots of an asset's health from the detector's state, for the API and dashboards.

use forewarn_domain::{
    AssetHealth, AssetId, AssetTypeId, HealthIndex, SensorDeviation, SensorHealth, SensorState,
    health_index,
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
            time_to_failure_h: deviations
                .iter()
                .filter_map(|d| d.time_to_failure_h)
                .min_by(|a, b| a.hours.total_cmp(&b.hours)),
            levels: self.levels.version(asset_type),
        })
    }
}
