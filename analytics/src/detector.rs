//! Per-asset detection: combine sensor baselines into findings.
//!
//! Every reading passes its sensor's [`SensorCheck`] first: readings of a misreading sensor never
//! reach the machine baseline, and the faulty sensors of an asset become an instrumentation
//! finding of their own. Machine findings only ever name healthy sensors.

use std::collections::{BTreeMap, HashMap};

use forewarn_domain::{
    AssetId, AssetTypeId, Catalog, ChangeKind, Direction, Finding, FittedModel, InstrumentFault,
    Reading, SensorDeviation, SensorFault, SensorName, Severity, TimeToFailure, TimestampMs,
};

use crate::asset_joint::AssetJoint;

mod fleet_levels;
mod health;
mod point;
mod predict;
mod repair;
mod rest;
use crate::baseline::{BaselineConfig, SensorBaseline};
use crate::instrument::{Admit, SensorCheck};
use crate::levels;
use fleet_levels::LevelInUse;

/// A sensor silent for this many of its usual intervals, while its asset reports, has dropped
/// out.
const DROPOUT_INTERVALS: f64 = 10.0;

/// Name and version recorded on every finding.
pub const DETECTOR_NAME: &str = "robust-baseline/2";
/// While a deviation lasts, the finding is repeated this often so later stages see it is ongoing.
pub const REPEAT_MS: i64 = 12 * 3_600_000;

/// One sensor of an asset.
#[derive(Debug, Default)]
struct SensorState {
    /// Column in the asset's joint model (order of first appearance).
    index: usize,
    /// Its baseline at the asset's current operating point.
    baseline: SensorBaseline,
    /// Its baselines at the other operating points the asset has run at.
    parked: Vec<(usize, SensorBaseline)>,
    check: SensorCheck,
    /// Physical range from the catalog.
    range: Option<(f64, f64)>,
    last_seen_ms: Option<TimestampMs>,
    /// Smoothed time between readings.
    interval_ms: f64,
    dropout_since: Option<TimestampMs>,
}

impl SensorState {
    /// A reading at `ts`: its usual interval follows, gaps (the sensor or its asset silent)
    /// aside.
    fn seen_at(&mut self, ts: TimestampMs) {
        if let Some(t) = self.last_seen_ms {
            let dt = (ts - t) as f64;
            if self.interval_ms == 0.0 {
                self.interval_ms = dt;
            } else if dt <= DROPOUT_INTERVALS * self.interval_ms {
                self.interval_ms += 0.05 * (dt - self.interval_ms);
            }
        }
        self.last_seen_ms = Some(ts);
    }

    /// Passes a reading through the instrument check; what it admits, the baseline learns.
    fn admit(&mut self, cfg: &BaselineConfig, ts: TimestampMs, value: f64) -> bool {
        let normal = self.baseline.normal();
        match self.check.observe(ts, value, self.range, normal) {
            Admit::Feed => {
                self.baseline.observe(cfg, ts, value);
                true
            }
            Admit::HeldThenThis(t, v) => {
                self.baseline.observe(cfg, t, v);
                self.baseline.observe(cfg, ts, value);
                true
            }
            Admit::Skip => false,
        }
    }

    fn fault(&self) -> Option<(InstrumentFault, TimestampMs)> {
        match self.dropout_since {
            Some(t) => Some((InstrumentFault::Dropout, t)),
            None => self.check.fault(),
        }
    }
}

#[derive(Debug, Default)]
struct AssetState {
    sensors: BTreeMap<SensorName, SensorState>,
    /// The sensors deviating now, with their direction; a finding is emitted when it grows or a
    /// direction changes.
    reported: BTreeMap<SensorName, Direction>,
    last_emit_ms: Option<TimestampMs>,
    /// A machine finding is owed (it coincided with an instrumentation finding).
    machine_due: bool,
    /// The faulty sensors reported last, and when.
    faulty: BTreeMap<SensorName, InstrumentFault>,
    last_fault_emit_ms: Option<TimestampMs>,
    /// Newest reading time of any sensor (dropout is judged when it advances).
    newest_ms: Option<TimestampMs>,
    /// The joint model of all its sensors.
    joint: Option<AssetJoint>,
    /// Its type (for the failure levels of a health snapshot).
    asset_type: Option<AssetTypeId>,
    /// Repairs (no sensors named) and all-clears (the sensors to re-learn) not yet in effect,
    /// by device time: each takes effect at the first reading after it.
    repairs: Vec<repair::Due>,
    /// The latest repair in effect.
    repaired_ms: Option<TimestampMs>,
    /// The latest repair or all-clear in effect.
    applied_ms: Option<TimestampMs>,
    /// When the asset last reported again after falling silent as a whole (stopped, failed,
    /// off the network): its sensors' silence before that was the asset's, not theirs.
    resumed_ms: Option<TimestampMs>,
    /// Stopped or starting: readings the machine's state explains are not judged.
    rest: rest::Rest,
    /// The set point it runs at; each has its own normals.
    points: point::Points,
    /// The joint models of the operating points other than the current one.
    parked_joints: Vec<(usize, AssetJoint)>,
}

/// Streaming detector for a whole fleet. Pure: feed readings in time order per asset, get findings.
#[derive(Debug, Default)]
pub struct Detector {
    cfg: BaselineConfig,
    // Looked up once per reading: foldhash, not SipHash.
    assets: HashMap<AssetId, AssetState, foldhash::fast::RandomState>,
    /// Physical ranges per asset type and sensor (from the catalog).
    ranges: HashMap<AssetTypeId, HashMap<SensorName, (f64, f64)>>,
    /// Failure level (robust σ) per asset type, sensor and direction: the lowest of the
    /// machine modes' levels whose signature has that sensor deviating that way — the
    /// catalog's `failure_scores`, re-learnt from the fleet's repairs.
    levels: fleet_levels::FleetLevels,
    /// Joint models fitted since [`Detector::take_fitted`] was last called.
    fitted: Vec<FittedModel>,
    /// Sensors whose post-repair warm-up just ended, their new normal to be judged against the
    /// fleet before the asset's next reading.
    judgements: Vec<(AssetId, SensorName)>,
}

impl Detector {
    /// A detector with the given settings.
    pub fn new(cfg: BaselineConfig) -> Self {
        Self {
            cfg,
            assets: HashMap::default(),
            ranges: HashMap::new(),
            levels: fleet_levels::FleetLevels::default(),
            fitted: Vec::new(),
            judgements: Vec::new(),
        }
    }

    /// The joint models fitted (first fits and refits) since the last call, for persistence.
    pub fn take_fitted(&mut self) -> Vec<FittedModel> {
        std::mem::take(&mut self.fitted)
    }

    /// Judges readings against the physical ranges the catalog gives its sensors, and estimates
    /// the time to failure of deviations whose modes give their sensor a `failure_scores` level.
    pub fn with_catalog(mut self, catalog: &Catalog) -> Self {
        self.levels = fleet_levels::FleetLevels::from_catalog(catalog);
        self.ranges = catalog
            .asset_types
            .iter()
            .map(|(id, ty)| {
                let r = ty
                    .sensors
                    .iter()
                    .map(|(s, spec)| (s.clone(), (spec.min, spec.max)))
                    .collect();
                (id.clone(), r)
            })
            .collect();
        self
    }

    /// The smoothed robust score of one sensor now (0 while it warms up), if it has reported.
    pub fn score(&self, asset: &AssetId, sensor: &SensorName) -> Option<f64> {
        Some(
            self.assets
                .get(asset)?
                .sensors
                .get(sensor)?
                .baseline
                .score(),
        )
    }

    /// Feeds one reading of an asset of type `asset_type`; returns a finding when the set of
    /// sustained deviations of that asset grew or changed direction (or is still there after
    /// [`REPEAT_MS`]), or when the set of its misreading sensors grew (an instrumentation
    /// finding; a machine finding due at the same reading follows at the asset's next one).
    pub fn observe(&mut self, r: &Reading, asset_type: &AssetTypeId) -> Option<Finding> {
        if !self.judgements.is_empty() {
            self.judge_pending();
        }
        // Look up before `entry`, which would clone (atomically count) the ids on every reading.
        let state = match self.assets.get_mut(&r.asset) {
            Some(s) => s,
            None => self.assets.entry(r.asset.clone()).or_default(),
        };
        if state.asset_type.is_none() {
            state.asset_type = Some(asset_type.clone());
        }
        if state.repairs.first().is_some_and(|d| d.at < r.ts_ms)
            && let Some((found, scores)) = repair::apply_due(state, r.ts_ms, self.cfg.warmup_ms)
        {
            self.levels.learn(asset_type, &found.0, found.1, &scores);
        }
        let sensor = match state.sensors.get_mut(&r.sensor) {
            Some(b) => b,
            None => {
                let range = self
                    .ranges
                    .get(asset_type)
                    .and_then(|m| m.get(&r.sensor))
                    .copied();
                add_sensor(state, &self.cfg, &r.sensor, range)
            }
        };
        if sensor.last_seen_ms.is_some_and(|t| r.ts_ms <= t) {
            return None; // a redelivery or replay: already judged
        }
        sensor.seen_at(r.ts_ms);
        let fault_before = sensor.fault().map(|f| f.0);
        sensor.dropout_since = None;
        let view = rest::SensorView {
            range: sensor.range,
            normal: sensor.baseline.normal(),
        };
        if !operating(state, &self.cfg, r, view, fault_before.is_some()) {
            // Not judged, but analysed: the pipeline's clock moves on (a client waiting for the
            // service to catch up must not wait on a stopped machine).
            state.newest_ms = state.newest_ms.max(Some(r.ts_ms));
            return None;
        }
        // The operating point may have moved the sensor's baseline: look it up again.
        let sensor = state.sensors.get_mut(&r.sensor)?;
        let admitted = sensor.admit(&self.cfg, r.ts_ms, r.value);
        if admitted && sensor.baseline.awaiting_judgement().is_some() {
            self.judgements.push((r.asset.clone(), r.sensor.clone()));
        }
        let fault_now = sensor.fault().map(|f| f.0);
        let healthy = fault_now.is_none();
        // The asset's faulty set is looked at only when it may have changed (or a repeat is due):
        // it is rare, and scanning every sensor on every reading is not.
        let mut faults_changed = fault_before != fault_now;
        let index = sensor.index;
        let deviation = sensor
            .baseline
            .deviation(&self.cfg)
            .filter(|_| healthy)
            .map(|d| d.direction);
        if admitted
            && healthy
            && let Some(m) = observe_joint(state, &r.asset, index, r.ts_ms, r.value)
        {
            self.fitted.push(m);
        }
        if state.newest_ms.is_none_or(|t| r.ts_ms > t) {
            let previous = state.newest_ms.replace(r.ts_ms);
            faults_changed |= mark_dropouts(state, previous, r.ts_ms);
        }
        let repeat_due = !state.faulty.is_empty()
            && state
                .last_fault_emit_ms
                .is_some_and(|t| r.ts_ms - t >= REPEAT_MS);
        if (faults_changed || repeat_due)
            && let Some(f) = self.instrumentation(&r.asset, asset_type, r.ts_ms)
        {
            return Some(f);
        }
        self.machine(r, asset_type, deviation)
    }

    /// A machine finding when the asset's deviating set grew or changed direction with `r`
    /// (whose sensor now deviates so, or not), or a repeat is due.
    fn machine(
        &mut self,
        r: &Reading,
        asset_type: &AssetTypeId,
        deviation: Option<Direction>,
    ) -> Option<Finding> {
        let state = self.assets.get_mut(&r.asset)?;
        // A sensor's deviation changes only when that sensor reports, so the asset's deviating set
        // is kept up to date incrementally from the one sensor just observed.
        let grew = match deviation {
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
        let grew = grew || std::mem::take(&mut state.machine_due);
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

    /// An instrumentation finding when the asset's set of faulty sensors grew or changed (or is
    /// still there after [`REPEAT_MS`]).
    fn instrumentation(
        &mut self,
        asset: &AssetId,
        asset_type: &AssetTypeId,
        now: TimestampMs,
    ) -> Option<Finding> {
        let state = self.assets.get_mut(asset)?;
        let mut changed = false;
        let mut faults = Vec::new();
        for (name, s) in &state.sensors {
            let Some((fault, since)) = s.fault() else {
                continue;
            };
            changed |= state.faulty.get(name) != Some(&fault);
            faults.push(SensorFault {
                sensor: name.clone(),
                fault,
                since_ms: since,
                value: s.check.last().unwrap_or(f64::NAN),
            });
        }
        state
            .faulty
            .retain(|n, _| faults.iter().any(|f| &f.sensor == n));
        if faults.is_empty() {
            return None;
        }
        let repeat = state
            .last_fault_emit_ms
            .is_some_and(|t| now - t >= REPEAT_MS);
        if !changed && !repeat {
            return None;
        }
        for f in &faults {
            state.faulty.insert(f.sensor.clone(), f.fault);
        }
        state.last_fault_emit_ms = Some(now);
        state.machine_due = true;
        Some(Finding {
            asset: asset.clone(),
            asset_type: asset_type.clone(),
            detected_at_ms: now,
            deviations: Vec::new(),
            score: 0.0,
            // A blind sensor hides the wear it should show: plan a repair.
            severity: Severity::Medium,
            detector: DETECTOR_NAME.to_string(),
            sensor_faults: faults,
            joint: None,
            health: None,
            evidence: None,
        })
    }

    /// The asset's sustained deviations of healthy sensors, strongest first.
    fn deviations(&self, state: &AssetState, asset_type: &AssetTypeId) -> Vec<SensorDeviation> {
        let mut deviations: Vec<SensorDeviation> = state
            .sensors
            .iter()
            .filter(|(_, s)| s.fault().is_none())
            .filter_map(|(name, s)| {
                let b = &s.baseline;
                let d = b.deviation(&self.cfg)?;
                Some(SensorDeviation {
                    sensor: name.clone(),
                    direction: d.direction,
                    score: round2(b.score()),
                    value: b.last_value(),
                    baseline: b.center().unwrap_or(f64::NAN),
                    since_ms: d.since_ms,
                    time_to_failure_h: self
                        .levels
                        .level(asset_type, name, d.direction)
                        .and_then(|level| time_to_failure(b, level)),
                    // A change that began the deviation comes before it is sustained: the
                    // smoothed score takes a few time constants to cross the threshold.
                    // Only a shift begins a deviation; a lone spike before it is noise.
                    change: b
                        .change_since(d.since_ms - 4 * self.cfg.smoothing_ms)
                        .filter(|c| c.kind == ChangeKind::Shift),
                })
            })
            .collect();
        deviations.sort_by(|a, b| b.score.abs().total_cmp(&a.score.abs()));
        deviations
    }

    fn finding(&self, asset: &AssetId, asset_type: &AssetTypeId, now: TimestampMs) -> Finding {
        let state = &self.assets[asset];
        let deviations = self.deviations(state, asset_type);
        let joint = joint_evidence(state);
        let health = self.health_index(state, asset_type, &deviations);
        let score = deviations.first().map_or(0.0, |d| d.score.abs());
        Finding {
            asset: asset.clone(),
            asset_type: asset_type.clone(),
            detected_at_ms: now,
            deviations,
            score,
            severity: severity(score),
            detector: DETECTOR_NAME.to_string(),
            sensor_faults: Vec::new(),
            joint,
            health,
            evidence: None,
        }
    }
}

/// The remaining life is never put below this many hours on a machine still running: its
/// level lies above what it shows, so failure is not "now" (about one reading at 5-minute
/// intervals).
const SOONEST_H: f64 = 0.1;

/// Time until the sensor's deviation reaches its failure level, with a 90 % interval covering
/// both where between machines the level lies and the trend's uncertainty. The level is that
/// of a machine still running: log-normal around the learnt level, above what the sensor
/// reaches now ([`levels::level_above`]), so a machine past the usual level gets the upper tail
/// rather than "0 h". The estimate is the trend's middle to the median level.
fn time_to_failure(b: &SensorBaseline, level: LevelInUse) -> Option<TimeToFailure> {
    let reached = b.score().abs();
    let at = |p: f64| levels::level_above(level.level, level.spread, reached, p);
    let mid = b.time_to(at(0.5))?;
    // A deviation that is not growing has no time to failure (and JSON has no infinity: it
    // would be written as null where a number is expected).
    if !mid.hours.is_finite() {
        return None;
    }
    let hours = mid.hours.max(SOONEST_H);
    // Two independent uncertainties on a log scale — the trend's (its interval to the median
    // level) and the level's (the middle trend to its 95th percentile) — combine as the root of
    // their sum of squares for the high end: taking both extremes overstated it.
    let log_gap = |a: f64, b: f64| (a.max(SOONEST_H) / b.max(SOONEST_H)).ln().abs();
    let level_high = b.time_to(at(0.95)).map_or(f64::INFINITY, |t| t.hours);
    let up = log_gap(mid.high, hours).hypot(log_gap(level_high, hours));
    let high = hours * up.exp();
    // The low end keeps both extremes — the fastest trend to the 5th percentile level: the
    // smoothed score's lag makes the last day's estimates late, and a failure sooner than
    // promised is the costly miss.
    let low = b.time_to(at(0.05)).map_or(SOONEST_H, |t| t.low);
    Some(TimeToFailure {
        hours: round2(hours),
        low: round2(low.clamp(SOONEST_H.min(hours), hours)),
        high: high.is_finite().then(|| round2(high)),
    })
}

/// The asset's sensors in their joint-model column order.
fn columns(state: &AssetState) -> Vec<&SensorName> {
    let mut names: Vec<(usize, &SensorName)> =
        state.sensors.iter().map(|(n, s)| (s.index, n)).collect();
    names.sort_by_key(|(i, _)| *i);
    names.into_iter().map(|(_, n)| n).collect()
}

/// The joint model's evidence as of the asset's last complete row.
fn joint_evidence(state: &AssetState) -> Option<forewarn_domain::JointEvidence> {
    state.joint.as_ref()?.evidence(&columns(state))
}

/// A sensor of the asset reports for the first time: its state, and a joint model that learns
/// again with it (the parked ones of other operating points too: their rows lack it).
fn add_sensor<'s>(
    state: &'s mut AssetState,
    cfg: &BaselineConfig,
    name: &SensorName,
    range: Option<(f64, f64)>,
) -> &'s mut SensorState {
    let index = state.sensors.len();
    state.joint = Some(AssetJoint::new(index + 1, cfg.warmup_ms, cfg.refit_ms));
    state.parked_joints.clear();
    state.sensors.entry(name.clone()).or_insert(SensorState {
        index,
        range,
        ..SensorState::default()
    })
}

/// Whether the asset's operating state and point let reading `r` be judged: not while the
/// machine is stopped, starting or moving to another set point.
fn operating(
    state: &mut AssetState,
    cfg: &BaselineConfig,
    r: &Reading,
    view: rest::SensorView,
    faulty: bool,
) -> bool {
    let judged = state.rest.judge(&r.sensor, view, r.ts_ms, r.value);
    if state.rest.stopped() {
        state.points.stopped();
    }
    let seen = point::Seen {
        running: judged && view.running(r.value),
        resting: state.rest.stopped() && view.resting(r.value),
        faulty,
    };
    let settled = point::judge(state, cfg, &r.sensor, seen, (r.ts_ms, r.value));
    judged && settled
}

/// Feeds an admitted reading to the asset's joint model; fits it once a complete row arrives
/// after every sensor's baseline has warmed up (the same warm-up, so the same healthy window),
/// and refits it after each undisturbed refit period. Returns a new model version.
fn observe_joint(
    state: &mut AssetState,
    asset: &AssetId,
    index: usize,
    ts: TimestampMs,
    value: f64,
) -> Option<FittedModel> {
    let joint = state.joint.as_mut()?;
    if !joint.observe(index, ts, value) {
        return None;
    }
    if !state.reported.is_empty() || !state.faulty.is_empty() {
        joint.disturb();
        return None;
    }
    let due = if joint.learning() {
        joint.width() == state.sensors.len()
            && state
                .sensors
                .values()
                .all(|s| s.baseline.normal().is_some())
    } else {
        joint.refit_due(ts)
    };
    if !due {
        return None;
    }
    let names: Vec<SensorName> = columns(state).into_iter().cloned().collect();
    state.joint.as_mut()?.fit(ts, asset, &names)
}

/// Marks the asset's sensors that have been silent for [`DROPOUT_INTERVALS`] of their usual
/// interval while the asset reports at `now` (its newest reading before was at `previous`);
/// true when it marked one. When the whole asset was silent that long (stopped, failed, off the
/// network), its sensors' silence is counted from its return instead: a machine that comes back
/// is not a set of dropped-out sensors.
fn mark_dropouts(state: &mut AssetState, previous: Option<TimestampMs>, now: TimestampMs) -> bool {
    let shortest = state
        .sensors
        .values()
        .map(|s| s.interval_ms)
        .filter(|i| *i > 0.0)
        .fold(f64::INFINITY, f64::min);
    if previous.is_some_and(|p| (now - p) as f64 > DROPOUT_INTERVALS * shortest) {
        state.resumed_ms = Some(now);
    }
    let resumed = state.resumed_ms.unwrap_or(i64::MIN);
    let mut marked = false;
    for s in state.sensors.values_mut() {
        if s.dropout_since.is_some() || s.interval_ms <= 0.0 {
            continue;
        }
        if let Some(last) = s.last_seen_ms.map(|l| l.max(resumed))
            && (now - last) as f64 > DROPOUT_INTERVALS * s.interval_ms
        {
            s.dropout_since = Some(last);
            marked = true;
        }
    }
    marked
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
pub(crate) mod tests {
    use super::*;

    /// A fan with one temperature sensor that fails by overheating, at 6 robust σ.
    pub(crate) fn fan_catalog() -> Catalog {
        Catalog::from_toml(
            r#"
[asset_types.fan]
description = "fan"
[asset_types.fan.sensors]
temp = { unit = "C", min = -50.0, max = 200.0 }
[[asset_types.fan.failure_modes]]
id = "overheat"
name = "Overheating"
signature = { temp = "up" }
failure_scores = { temp = 6.0 }
parts = []
"#,
        )
        .unwrap()
    }
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

    /// Regression: a healthy asset whose sensors all sat on the safe side of their baselines
    /// showed no health at all on the fleet page ("–"), as if nothing were known of it.
    #[test]
    fn a_sensor_on_the_safe_side_counts_as_fully_healthy() {
        let mut d = Detector::default().with_catalog(&fan_catalog());
        let ty = AssetTypeId::new("fan").unwrap();
        let asset = AssetId::new("fan-1").unwrap();
        let temp = SensorName::new("temp").unwrap();
        let feed = |d: &mut Detector, from: i64, to: i64, offset: f64| {
            for i in from..to {
                let r = Reading {
                    asset: asset.clone(),
                    sensor: temp.clone(),
                    ts_ms: i * MIN,
                    value: 40.0 + 0.5 * wobble(i) + offset,
                };
                d.observe(&r, &ty);
            }
        };
        // Two days to learn, then half a degree cooler than usual for two hours.
        feed(&mut d, 0, 2 * 24 * 60, 0.0);
        feed(&mut d, 2 * 24 * 60, 2 * 24 * 60 + 120, -0.5);
        let h = d.health(&asset).unwrap();
        assert!(h.sensors[0].score < 0.0, "{h:?}");
        let index = h.health.expect("a health index");
        assert_eq!(index.index, 1.0);
        // Warmer than usual: part of the way to the overheating level.
        feed(&mut d, 2 * 24 * 60 + 120, 2 * 24 * 60 + 240, 1.5);
        let index = d.health(&asset).unwrap().health.unwrap();
        assert!(index.index < 1.0, "{index:?}");
        // Far past the overheating level for half a day: 0 %; yet a machine still running has
        // not reached its own level, so never "due now" (issue 19: "0.0 h" beside a pump that
        // ran 84 h more).
        feed(&mut d, 2 * 24 * 60 + 240, 2 * 24 * 60 + 960, 40.0);
        let index = d.health(&asset).unwrap().health.unwrap();
        assert_eq!(index.index, 0.0, "{index:?}");
        if let Some(due) = index.time_to_failure_h {
            assert!(due.hours >= SOONEST_H && due.low > 0.0, "{due:?}");
        }
    }
}
