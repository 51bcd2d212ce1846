//! Repairs in the detector: an asset's sensors learn their new normal after maintenance.
//!
//! A repair is an event in the asset's own timeline (`at_ms`, device time). It takes effect at
//! the asset's first reading after that moment — live and in a replay of history alike, so a
//! restart re-learns at the same moments. Then every sensor starts a fresh warm-up, keeping the
//! normal it had as a fallback; the joint model learns again (its next version); the deviations
//! end, and with them the health index's decline. When a sensor's new warm-up ends, its new
//! normal is judged before it counts: a bad repair must not be learnt as healthy.

use forewarn_domain::{AssetId, AssetTypeId, FailureModeId, Repair, SensorName, TimestampMs};

use super::{AssetState, Detector};
use crate::baseline::median;

/// A new normal may sit this many of the fleet's robust standard deviations (of healthy
/// units' normals) from the fleet's median: units of one type differ (nameplates, sites), a
/// worn one differs more.
const FLEET_SPREAD_Z: f64 = 4.0;
/// A new operating point's learnt normal within this many spreads of its prediction is kept.
const PREDICTED_SPREADS: f64 = 1.5;
/// Fewest other healthy units for the fleet to be a reference.
const FLEET_MIN: usize = 4;

/// A repair or all-clear waiting for the asset's first reading after it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Due {
    /// When it took effect (device time).
    pub at: TimestampMs,
    /// An all-clear's sensors; empty for a repair.
    pub sensors: Vec<SensorName>,
    /// A repair's mode found, and whether the machine had failed: what the failure levels
    /// learn from.
    pub found: Option<(FailureModeId, bool)>,
}

/// What a repair that found a mode tells the failure levels: the mode, whether the machine
/// had failed, and every sensor's smoothed score just before.
pub(super) type Found = ((FailureModeId, bool), Vec<(SensorName, f64)>);

impl Detector {
    /// A resolved ticket's repair or all-clear ([`Detector::repair`]); a repair also teaches
    /// the failure levels of the mode it found when it takes effect.
    pub fn resolved(&mut self, r: &Repair) {
        let found = r
            .sensors
            .is_empty()
            .then(|| (r.failure_mode.clone(), r.failed));
        self.schedule(&r.asset, r.at_ms, &r.sensors, found);
    }

    /// A repair of `asset` took effect at `at_ms` (device time) — or, when `sensors` are named,
    /// an all-clear: a technician found no fault behind their deviation, so they learn what
    /// they show as normal (no judgement: a person looked). Takes effect at the asset's first
    /// reading after it; one already known (the same moment and sensors, or at or before the
    /// last applied) is ignored, so the start-up list and live ones may overlap.
    pub fn repair(&mut self, asset: &AssetId, at_ms: TimestampMs, sensors: &[SensorName]) {
        self.schedule(asset, at_ms, sensors, None);
    }

    fn schedule(
        &mut self,
        asset: &AssetId,
        at_ms: TimestampMs,
        sensors: &[SensorName],
        found: Option<(FailureModeId, bool)>,
    ) {
        let state = match self.assets.get_mut(asset) {
            Some(s) => s,
            None => self.assets.entry(asset.clone()).or_default(),
        };
        let known = state
            .repairs
            .iter()
            .any(|d| d.at == at_ms && d.sensors.as_slice() == sensors);
        if state.applied_ms.is_some_and(|t| at_ms <= t) || known {
            return;
        }
        let i = state.repairs.partition_point(|d| d.at <= at_ms);
        state.repairs.insert(
            i,
            Due {
                at: at_ms,
                sensors: sensors.to_vec(),
                found,
            },
        );
    }

    /// The device time of the asset's latest repair that took effect.
    pub fn repaired_at(&self, asset: &AssetId) -> Option<TimestampMs> {
        self.assets.get(asset)?.repaired_ms
    }

    /// Judges the normals learnt after repairs whose warm-up just ended.
    pub(super) fn judge_pending(&mut self) {
        for (asset, sensor) in std::mem::take(&mut self.judgements) {
            let Some(state) = self.assets.get(&asset) else {
                continue;
            };
            let Some(s) = state.sensors.get(&sensor) else {
                continue;
            };
            let Some((candidate, prior)) = s.baseline.awaiting_judgement() else {
                continue;
            };
            // A new operating point's normal is judged against its prediction alone (the
            // fleet's units run at other points), and closely: both are day-long levels, and
            // a prediction kept in its place only flags what is [`BaselineConfig::threshold`]
            // spreads beyond it.
            let (mut fleet, tolerance) = match &state.asset_type {
                _ if s.baseline.predicted() => (Vec::new(), PREDICTED_SPREADS),
                Some(ty) => (self.fleet_normals(ty, &asset, &sensor), self.cfg.threshold),
                None => (Vec::new(), self.cfg.threshold),
            };
            let accept = healthy_after_repair(candidate, prior, &mut fleet, s.range, tolerance);
            if !accept {
                tracing::info!(%asset, %sensor, new = candidate.0, before = prior.0, "normal learnt after a repair does not look healthy; keeping the one from before");
            }
            if let Some(s) = self
                .assets
                .get_mut(&asset)
                .and_then(|st| st.sensors.get_mut(&sensor))
            {
                s.baseline.judge(accept);
            }
        }
    }

    /// The learnt normals of `sensor` on the other healthy, judged units of type `ty`.
    fn fleet_normals(&self, ty: &AssetTypeId, except: &AssetId, sensor: &SensorName) -> Vec<f64> {
        self.assets
            .iter()
            .filter(|(id, st)| *id != except && st.asset_type.as_ref() == Some(ty))
            .filter_map(|(_, st)| st.sensors.get(sensor))
            .filter(|s| {
                s.fault().is_none()
                    && s.baseline.awaiting_judgement().is_none()
                    && s.baseline.deviation(&self.cfg).is_none()
            })
            .filter_map(|s| s.baseline.center())
            .collect()
    }
}

/// Applies the asset's pending repairs and all-clears that took effect before `ts` (its next
/// reading).
pub(super) fn apply_due(state: &mut AssetState, ts: TimestampMs, warmup_ms: i64) -> Option<Found> {
    let due = state.repairs.partition_point(|d| d.at < ts);
    if due == 0 {
        return None;
    }
    let events: Vec<Due> = state.repairs.drain(..due).collect();
    state.applied_ms = events.last().map(|e| e.at);
    for d in events.iter().filter(|e| !e.sensors.is_empty()) {
        for name in &d.sensors {
            if let Some(s) = state.sensors.get_mut(name) {
                s.baseline.relearn();
            }
            state.reported.remove(name);
        }
    }
    let repair = events.into_iter().rev().find(|e| e.sensors.is_empty())?;
    // What the sensors had reached, before their normals start again.
    let found = repair.found.map(|f| {
        let scores = state
            .sensors
            .iter()
            .filter(|(_, s)| s.fault().is_none())
            .map(|(n, s)| (n.clone(), s.baseline.score()))
            .collect();
        (f, scores)
    });
    state.repaired_ms = Some(repair.at);
    for s in state.sensors.values_mut() {
        s.baseline.rebaseline();
        // Every operating point learns its normal again, when the asset next runs there.
        for (_, b) in &mut s.parked {
            b.rebaseline();
        }
        s.check.repaired();
        s.dropout_since = None;
    }
    for joint in state
        .joint
        .iter_mut()
        .chain(state.parked_joints.iter_mut().map(|(_, j)| j))
    {
        joint.relearn(warmup_ms);
    }
    // What it reported before belongs to the finished ticket: anything still wrong after the
    // repair is reported afresh, beginning after it.
    state.reported.clear();
    state.faulty.clear();
    state.last_emit_ms = None;
    state.last_fault_emit_ms = None;
    state.machine_due = false;
    found
}

/// Whether the normal (center, scale) a sensor learnt after a repair looks like a healthy
/// machine: inside the sensor's physical range, and either close to the normal it had before
/// (within the detection threshold of its old spread: new parts are not identical, but a
/// deviation the detector would flag is not a new normal) or close to where the fleet's other
/// healthy units of its type sit (a unit may well come back from a repair more like its peers).
pub(crate) fn healthy_after_repair(
    candidate: (f64, f64),
    prior: (f64, f64),
    fleet: &mut [f64],
    range: Option<(f64, f64)>,
    threshold: f64,
) -> bool {
    let (center, _) = candidate;
    if range.is_some_and(|(lo, hi)| !(lo..=hi).contains(&center)) {
        return false;
    }
    let own = threshold * prior.1;
    if (center - prior.0).abs() <= own {
        return true;
    }
    if fleet.len() < FLEET_MIN {
        return false;
    }
    let m = median(fleet);
    let mut dev: Vec<f64> = fleet.iter().map(|x| (x - m).abs()).collect();
    let spread = 1.4826 * median(&mut dev);
    (center - m).abs() <= (FLEET_SPREAD_Z * spread).max(own)
}

#[cfg(test)]
#[path = "repair_tests.rs"]
mod tests;
