//! Operating points: a machine on a variable-speed drive runs at several set points, and each
//! has its own normal.
//!
//! Which sensor tells the operating point is learnt, not configured: the *reference* is the
//! steadiest of the asset's indicators (zero-based sensors, see `rest.rs`) — the one whose
//! reading moves least, relative to its level, from one reading to the next while running. On
//! a variable-speed drive that is the speed; flow, pressure and current wander with the
//! process. Its first [`REFERENCE_AFTER`] running readings per indicator decide.
//!
//! The reference's levels are clustered online (leader clustering: the number of set points is
//! not known, and a new one may appear in the fifth month): a reading belongs to a point within
//! [`BAND_STEPS`] of the reference's usual step, or [`BAND_SHARE`] of the point's level, of its
//! centre. A reading outside the current point's band is held back, and with it the asset's
//! other readings until the reference reads again; a second one at the same new level moves
//! the asset to that point (a known one, or a new one), a reading back in the band was a blip.
//! Each point keeps its sensors' baselines and its joint model (`detector.rs` parks and
//! restores them); a new point warms up like a new asset.

use forewarn_domain::{OperatingPoint, SensorName, TimestampMs};

use super::predict::{self, Known};
use super::{AssetState, SensorState};
use crate::asset_joint::AssetJoint;
use crate::baseline::{BaselineConfig, SensorBaseline, median};

/// Running readings of every indicator before the reference is chosen.
const REFERENCE_AFTER: usize = 12;
/// A point's band: this many of the reference's usual step between two readings…
const BAND_STEPS: f64 = 6.0;
/// …or this share of the point's level, whichever is wider.
const BAND_SHARE: f64 = 0.03;
/// Most points per asset: a drive with more set points than this has its steadiest levels
/// merged into the nearest one.
const MAX_POINTS: usize = 6;
/// Smoothing of a point's centre and of the reference's usual step.
const FOLLOW: f64 = 0.02;

/// An indicator's steadiness while the reference is being chosen.
#[derive(Debug, Clone)]
struct Candidate {
    sensor: SensorName,
    last: Option<f64>,
    /// |step| / |level| between consecutive running readings (their median ranks it: a
    /// set-point change among them does not).
    relative_steps: Vec<f64>,
}

/// How a reading of one of the asset's sensors stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen {
    /// An indicator's reading of a running machine.
    pub running: bool,
    /// An indicator's reading at rest while the machine is stopped: it follows the machine
    /// (a motor's supply voltage does not).
    pub resting: bool,
    /// Its instrument checks find it misreading.
    pub faulty: bool,
}

/// What the asset's operating point says about one reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PointMove {
    /// No move (or one not yet confirmed: then the asset's readings other than the
    /// reference's are held back until it confirms or not).
    Stay,
    /// The asset moved from point `from` to point `to` (new if never seen): park `from`'s
    /// normals and restore (or start) `to`'s.
    Moved { from: usize, to: usize },
}

/// One indicator once the reference is chosen: every indicator is followed at every point,
/// so when the steadiest misreads, the next one tells the point.
#[derive(Debug, Clone)]
struct Tracked {
    sensor: SensorName,
    /// Usual |step| between two readings at one point.
    step: f64,
    last: Option<f64>,
    /// Its instrument checks find it misreading.
    faulty: bool,
    /// It has read at rest while the machine stood still.
    rests: bool,
}

/// The operating points of one asset.
#[derive(Debug, Default)]
pub(crate) struct Points {
    candidates: Vec<Candidate>,
    /// The indicators, steadiest first, once chosen.
    ranked: Vec<Tracked>,
    /// Each point's level of each ranked indicator (NaN until seen there).
    centres: Vec<Vec<f64>>,
    current: usize,
    /// A reference reading outside the current band, waiting for a second one.
    pending: Option<f64>,
    /// Since the last stop the reference has read within a point (readings before it, which
    /// may belong to another set point, are held back).
    confirmed: bool,
    /// When the current point was entered.
    since_ms: Option<TimestampMs>,
}

impl Points {
    /// The current point, once the asset has shown more than one.
    pub fn operating_point(&self) -> Option<OperatingPoint> {
        (self.centres.len() > 1).then(|| OperatingPoint {
            point: u32::try_from(self.current + 1).unwrap_or(u32::MAX),
            of: u32::try_from(self.centres.len()).unwrap_or(u32::MAX),
            since_ms: self.since_ms.unwrap_or_default(),
        })
    }

    /// The current point's index (0 until a second one is seen).
    #[cfg(test)]
    fn current(&self) -> usize {
        self.current
    }

    /// Each point's level of the current reference (NaN where it has not read there).
    fn levels(&self) -> Vec<f64> {
        let Some(i) = self.reference() else {
            return Vec::new();
        };
        self.centres.iter().map(|c| c[i]).collect()
    }

    /// The reference now: the steadiest indicator among those that follow the machine's stops
    /// once one has been seen; while it misreads, the next one that tells the known points
    /// apart (see [`Points::separates`]), else none: the asset stays at its point.
    fn reference(&self) -> Option<usize> {
        let any_rests = self.ranked.iter().any(|t| t.rests);
        let mut eligible = (0..self.ranked.len()).filter(|&i| self.ranked[i].rests || !any_rests);
        let steadiest = eligible.next()?;
        if !self.ranked[steadiest].faulty {
            return Some(steadiest);
        }
        eligible.find(|&i| !self.ranked[i].faulty && self.separates(i))
    }

    /// Whether the reference now stands in for a steadier one that misreads.
    fn standing_in(&self) -> bool {
        self.reference()
            .is_some_and(|r| self.ranked[..r].iter().any(|t| t.faulty))
    }

    /// Whether indicator `i` can tell the asset's known points apart: there are several (a
    /// drive with one set point has nothing to tell, and flow or pressure wandering with the
    /// demand would invent points along it) and its centres are further apart than
    /// [`BAND_SHARE`] of their level.
    fn separates(&self, i: usize) -> bool {
        let levels: Vec<f64> = self.centres.iter().map(|c| c[i]).collect();
        levels.len() > 1
            && levels.iter().enumerate().all(|(p, a)| {
                a.is_finite()
                    && levels[p + 1..]
                        .iter()
                        .all(|b| (a - b).abs() > BAND_SHARE * a.abs().max(b.abs()))
            })
    }

    /// Whether the point waits for the reference to confirm it (a move, or a start that may
    /// be at another set point): the asset's other readings are held back meanwhile.
    pub fn holding(&self) -> bool {
        self.pending.is_some() || (self.reference().is_some() && !self.confirmed)
    }

    /// Whether `sensor` is the reference now.
    pub fn is_reference(&self, sensor: &SensorName) -> bool {
        self.reference()
            .is_some_and(|i| &self.ranked[i].sensor == sensor)
    }

    /// Takes in a reading of `sensor`.
    pub fn observe(
        &mut self,
        sensor: &SensorName,
        seen: Seen,
        ts: TimestampMs,
        value: f64,
    ) -> PointMove {
        if self.ranked.is_empty() {
            if seen.running && !seen.faulty {
                self.learn_reference(sensor, value);
            }
            return PointMove::Stay;
        }
        let Some(i) = self.ranked.iter().position(|t| &t.sensor == sensor) else {
            return PointMove::Stay;
        };
        let before = self.reference();
        self.ranked[i].faulty = seen.faulty;
        self.ranked[i].rests |= seen.resting;
        if self.reference() != before {
            // Another reference: the point it tells is confirmed afresh.
            self.pending = None;
            self.confirmed = false;
        }
        if !seen.running || seen.faulty {
            return PointMove::Stay;
        }
        if self.reference() == Some(i) {
            self.track(i, ts, value)
        } else {
            self.follow(i, value);
            PointMove::Stay
        }
    }

    /// A stop ends a pending move; after the start the reference tells the point first.
    pub fn stopped(&mut self) {
        self.pending = None;
        self.confirmed = false;
        for t in &mut self.ranked {
            t.last = None;
        }
    }

    fn learn_reference(&mut self, sensor: &SensorName, value: f64) {
        let i = match self.candidates.iter().position(|c| &c.sensor == sensor) {
            Some(i) => i,
            None => {
                self.candidates.push(Candidate {
                    sensor: sensor.clone(),
                    last: None,
                    relative_steps: Vec::new(),
                });
                self.candidates.len() - 1
            }
        };
        let c = &mut self.candidates[i];
        if let Some(last) = c.last
            && value.abs() > f64::EPSILON
        {
            c.relative_steps.push((value - last).abs() / value.abs());
        }
        c.last = Some(value);
        if self
            .candidates
            .iter()
            .all(|c| c.relative_steps.len() >= REFERENCE_AFTER)
        {
            let mut candidates = std::mem::take(&mut self.candidates);
            let mut steadiness: Vec<(f64, Candidate)> = candidates
                .drain(..)
                .map(|mut c| (median(&mut c.relative_steps), c))
                .collect();
            steadiness.sort_by(|a, b| a.0.total_cmp(&b.0));
            let candidates = steadiness.into_iter().map(|(_, c)| c);
            self.ranked = candidates
                .into_iter()
                .map(|c| Tracked {
                    sensor: c.sensor,
                    step: 0.0,
                    last: None,
                    faulty: false,
                    rests: false,
                })
                .collect();
        }
    }

    fn band(&self, i: usize, centre: f64) -> f64 {
        (BAND_STEPS * self.ranked[i].step).max(BAND_SHARE * centre.abs())
    }

    /// The known point whose level of indicator `i` is nearest `value`, within its band.
    fn nearest(&self, i: usize, value: f64) -> Option<usize> {
        self.centres
            .iter()
            .enumerate()
            .map(|(p, c)| (p, c[i]))
            .filter(|(_, c)| c.is_finite() && (value - c).abs() <= self.band(i, *c))
            .min_by(|a, b| (value - a.1).abs().total_cmp(&(value - b.1).abs()))
            .map(|(p, _)| p)
    }

    fn track(&mut self, i: usize, ts: TimestampMs, value: f64) -> PointMove {
        if self.centres.is_empty() {
            self.centres.push(vec![f64::NAN; self.ranked.len()]);
            self.since_ms = Some(ts);
        }
        let centre = self.centres[self.current][i];
        if !centre.is_finite() || (value - centre).abs() <= self.band(i, centre) {
            self.pending = None;
            self.confirmed = true;
            self.follow(i, value);
            return PointMove::Stay;
        }
        // The reference's own reading is judged where it stands (a spike of a misreading
        // reference is the instrument checks' to count); the others wait for the next one.
        let Some(first) = self.pending.replace(value) else {
            return PointMove::Stay;
        };
        if (value - first).abs() > self.band(i, value) {
            return PointMove::Stay; // still moving: wait for it to settle
        }
        self.pending = None;
        self.confirmed = true;
        let from = self.current;
        self.current = match self.nearest(i, value) {
            Some(p) => p,
            // A stand-in tells known points only: a new one needs the steadiest to say so.
            None if self.standing_in() => return PointMove::Stay,
            None if self.centres.len() < MAX_POINTS => {
                self.centres.push(vec![f64::NAN; self.ranked.len()]);
                self.centres.len() - 1
            }
            None => self.closest(i, value),
        };
        self.since_ms = Some(ts);
        self.ranked[i].last = None;
        self.follow(i, value);
        PointMove::Moved {
            from,
            to: self.current,
        }
    }

    fn closest(&self, i: usize, value: f64) -> usize {
        let distance = |p: usize| {
            let c = self.centres[p][i];
            if c.is_finite() {
                (value - c).abs()
            } else {
                f64::INFINITY
            }
        };
        (0..self.centres.len())
            .min_by(|&a, &b| distance(a).total_cmp(&distance(b)))
            .unwrap_or(0)
    }

    /// A reading of indicator `i` at the current point: its level there and its usual step
    /// follow slowly (a level first seen is taken as it is).
    fn follow(&mut self, i: usize, value: f64) {
        if self.pending.is_some() || self.centres.is_empty() {
            return;
        }
        let t = &mut self.ranked[i];
        if let Some(last) = t.last {
            let step = (value - last).abs();
            t.step = if t.step == 0.0 {
                step
            } else {
                t.step + FOLLOW * (step - t.step)
            };
        }
        t.last = Some(value);
        let c = &mut self.centres[self.current][i];
        *c = if c.is_finite() {
            *c + FOLLOW * (value - *c)
        } else {
            value
        };
    }
}

impl SensorState {
    /// Its learnt normals at the points with a known reference level (the current baseline
    /// being point `current`), and the levels of warm-ups under way there (scale 0): these
    /// tell how the sensor scales with the point, not a normal to judge against.
    fn known(&self, current: usize, levels: &[f64]) -> Vec<Known> {
        std::iter::once((current, &self.baseline))
            .chain(self.parked.iter().map(|(p, b)| (*p, b)))
            .filter(|(_, b)| b.awaiting_judgement().is_none())
            .filter_map(|(p, b)| {
                let (center, scale) = match b.normal() {
                    Some(n) => n,
                    None => (b.provisional_level()?, 0.0),
                };
                let level = *levels.get(p)?;
                level.is_finite().then_some(Known {
                    level,
                    center,
                    scale,
                })
            })
            .collect()
    }

    /// Parks the baseline of point `from` and takes up `to`'s: its parked one, or a fresh
    /// warm-up; a warm-up is judged against `expected` when the other points predict one.
    fn switch_point(&mut self, from: usize, to: usize, expected: Option<(f64, f64)>) {
        let next = match self.parked.iter().position(|(p, _)| *p == to) {
            Some(i) => {
                let mut b = self.parked.swap_remove(i).1;
                if let Some(e) = expected {
                    b.expect(e);
                }
                b
            }
            None => expected.map_or_else(SensorBaseline::default, SensorBaseline::expecting),
        };
        let current = std::mem::replace(&mut self.baseline, next);
        self.parked.push((from, current));
        self.check.moved();
    }
}

/// Reads a reading of `sensor` into the asset's operating point; moves its normals when the
/// point changed. Whether the reading is judged.
pub(super) fn judge(
    state: &mut AssetState,
    cfg: &BaselineConfig,
    sensor: &SensorName,
    seen: Seen,
    (ts, value): (TimestampMs, f64),
) -> bool {
    match state.points.observe(sensor, seen, ts, value) {
        PointMove::Stay => !state.points.holding() || state.points.is_reference(sensor),
        PointMove::Moved { from, to } => {
            move_normals(state, from, to);
            let next = match state.parked_joints.iter().position(|(p, _)| *p == to) {
                Some(i) => state.parked_joints.swap_remove(i).1,
                None => AssetJoint::new(state.sensors.len(), cfg.warmup_ms, cfg.refit_ms),
            };
            let current = state.joint.replace(next);
            if let Some(j) = current {
                state.parked_joints.push((from, j));
            }
            // Deviations were judged against the point left; the sensors that are not
            // indicators (temperatures) settle at the new point as after a start.
            state.reported.clear();
            state.rest.restart(ts);
            true
        }
    }
}

/// Every sensor parks its normal of point `from` and takes up `to`'s; a point never seen
/// expects the normal its power law predicts.
fn move_normals(state: &mut AssetState, from: usize, to: usize) {
    let levels = state.points.levels();
    let level = levels.get(to).copied().unwrap_or(f64::NAN);
    for s in state.sensors.values_mut() {
        // Only a zero-based quantity (flow, head, current, vibration) scales with the speed;
        // a temperature is the ambient plus a rise, which no power law of its own level
        // predicts: it learns each new point from its warm-up alone.
        if s.range.is_none_or(|(lo, _)| lo != 0.0) {
            s.switch_point(from, to, None);
            continue;
        }
        let known = s.known(from, &levels);
        let expected = predict::exponent(&known).and_then(|k| predict::predict(&known, level, k));
        s.switch_point(from, to, expected);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNNING: Seen = Seen {
        running: true,
        resting: false,
        faulty: false,
    };

    fn name(s: &str) -> SensorName {
        s.parse().unwrap()
    }

    /// Feeds `n` readings of speed (steady) and flow (noisy) around the given levels.
    fn run(p: &mut Points, t0: i64, n: i64, speed: f64, flow: f64) -> Vec<PointMove> {
        let (s, f) = (name("speed"), name("flow"));
        let mut moves = Vec::new();
        for k in 0..n {
            let w = if k % 2 == 0 { 1.0 } else { -1.0 };
            moves.push(p.observe(&f, RUNNING, t0 + k, flow * (1.0 + 0.01 * w)));
            moves.push(p.observe(&s, RUNNING, t0 + k, speed + 3.0 * w));
        }
        moves
    }

    #[test]
    fn the_steadiest_indicator_tells_the_point_and_a_confirmed_step_moves_it() {
        let mut p = Points::default();
        run(&mut p, 0, 20, 2950.0, 150.0);
        assert!(p.is_reference(&name("speed")));
        assert_eq!(p.current(), 0);
        // The drive steps down to 85 %: held once, moved at the second reading.
        let moves = run(&mut p, 100, 1, 2507.0, 127.0);
        assert_eq!(moves[1], PointMove::Stay);
        assert!(p.holding(), "the others wait for the reference to confirm");
        let moves = run(&mut p, 101, 2, 2507.0, 127.0);
        assert_eq!(moves[1], PointMove::Moved { from: 0, to: 1 });
        assert_eq!(moves[3], PointMove::Stay);
        assert!(!p.holding());
        // Back to rated speed: the first point again, not a third.
        let moves = run(&mut p, 200, 3, 2950.0, 150.0);
        assert_eq!(moves[3], PointMove::Moved { from: 1, to: 0 });
        assert_eq!(p.operating_point().map(|o| (o.point, o.of)), Some((1, 2)));
        // A lone blip of the reference is not a move.
        let s = name("speed");
        assert_eq!(p.observe(&s, RUNNING, 300, 2500.0), PointMove::Stay);
        assert!(p.holding());
        assert_eq!(p.observe(&s, RUNNING, 301, 2951.0), PointMove::Stay);
        assert!(!p.holding());
        assert_eq!(p.current(), 0);
        // After a stop, the others wait for the reference's first reading.
        p.stopped();
        assert!(p.holding());
        assert_eq!(p.observe(&s, RUNNING, 400, 2950.0), PointMove::Stay);
        assert!(!p.holding());
        // A stuck speed transmitter: flow, followed at every point, tells the point.
        let f = name("flow");
        assert_eq!(
            p.observe(
                &s,
                Seen {
                    faulty: true,
                    ..RUNNING
                },
                500,
                2950.0
            ),
            PointMove::Stay
        );
        assert!(p.is_reference(&f));
        assert_eq!(p.observe(&f, RUNNING, 501, 150.0), PointMove::Stay);
        assert_eq!(p.observe(&f, RUNNING, 502, 127.0), PointMove::Stay);
        assert_eq!(
            p.observe(&f, RUNNING, 503, 127.5),
            PointMove::Moved { from: 0, to: 1 }
        );
    }

    #[test]
    fn a_process_variable_does_not_stand_in_where_it_cannot_tell_points_apart() {
        let (s, f) = (name("speed"), name("flow"));
        let mut p = Points::default();
        run(&mut p, 0, 20, 2950.0, 150.0);
        let faulty = Seen {
            faulty: true,
            ..RUNNING
        };
        assert_eq!(p.observe(&s, faulty, 100, 2950.0), PointMove::Stay);
        assert!(
            !p.is_reference(&f),
            "one set point known: nothing to tell apart"
        );
        assert!(!p.holding());
        // Demand sweeps the flow over ±10 %: no point is invented, nothing is held.
        for k in 0..200 {
            let demand = 150.0 * (1.0 + 0.1 * (k as f64 / 15.0).sin());
            assert_eq!(p.observe(&f, RUNNING, 101 + k, demand), PointMove::Stay);
            assert!(!p.holding());
        }
        assert_eq!(p.operating_point(), None);
    }
}
