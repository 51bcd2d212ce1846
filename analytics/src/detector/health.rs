//! Snapshots of an asset's health from the detector's state, for the API and dashboards.

use forewarn_domain::{AssetHealth, AssetId, SensorHealth, SensorState};

use super::Detector;

impl Detector {
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
        Some(AssetHealth {
            asset: asset.clone(),
            as_of_ms: state.newest_ms,
            sensors,
            joint: super::joint_evidence(state),
        })
    }
}
