//! A machine at rest is not a failing machine: the *stopped* and *starting* operating states.
//!
//! Which sensors tell whether a machine runs is learnt, not configured: an *indicator* is a
//! sensor whose physical range starts at zero (speed, current, flow, pressure, vibration) and
//! whose learnt running normal is far from zero (more than [`CLEAR_OF_ZERO`] of its own spreads);
//! before its normal is learnt (the first day), every zero-based sensor is one. A reading of an
//! indicator is *at rest* when it is within the range and below [`REST_SHARE`] of that normal
//! (before it, of a fifth of the range). The asset is stopped while at least two indicators, and
//! more of them than not, read at rest by their latest readings.
//!
//! An indicator's reading at rest is never judged while the others say the machine is stopped
//! or may be stopping: its first one is held back (the others' readings of the same moment come
//! after it), and only a second one while the machine runs makes it a misreading for the
//! instrument checks (a sensor reading zero among running ones).
//!
//! While stopped, no reading is judged or learnt (a stopped pump has no vibration to judge, and
//! its zero speed is not a stuck sensor). After a start, indicators are judged again at once;
//! the other sensors (temperatures cooling while stopped, warming after) are judged again from
//! their first reading back within [`SETTLED_SPREADS`] of their normal or on its other side
//! (a worn bearing warms through its normal to above it: the rise between two readings may
//! step over the band), or once it has levelled off (its change over the last
//! [`LEVEL_WINDOW_MS`] of device time under [`LEVELLED_SHARE`] of its change since the start:
//! what settles a sensor whose normal is not learnt yet, or a hot one — about 2.4 thermal time
//! constants after a start, at any sampling rate), and after [`STARTUP_MAX_MS`] of device time
//! in any case.

use std::collections::{BTreeMap, BTreeSet};

use forewarn_domain::{OperatingState, SensorName, TimestampMs};

/// A running normal at least this many spreads above zero makes a zero-based sensor an indicator.
const CLEAR_OF_ZERO: f64 = 10.0;
/// An indicator below this share of its running normal reads at rest.
const REST_SHARE: f64 = 0.1;
/// A sensor back within this many spreads of its normal after a start has settled.
const SETTLED_SPREADS: f64 = 3.0;
/// Longest start-up, in device time: after it every sensor is judged again.
const STARTUP_MAX_MS: i64 = 6 * 3_600_000;
/// A sensor whose change over the last [`LEVEL_WINDOW_MS`] is under this share of its change
/// since the start has levelled off.
const LEVELLED_SHARE: f64 = 0.1;
/// The device time over which levelling off is judged: long beside the sampling interval (a
/// single step says nothing at 5-minute samples), short beside a thermal time constant.
const LEVEL_WINDOW_MS: i64 = 30 * 60_000;
/// Before its normal is learnt, an indicator's at-rest reference is this share of its range.
const PROVISIONAL_SHARE: f64 = 0.2;

/// The operating state of one asset, from its indicators' latest readings.
#[derive(Debug, Default)]
pub(crate) struct Rest {
    at_rest: BTreeSet<SensorName>,
    running: BTreeSet<SensorName>,
    stopped_since: Option<TimestampMs>,
    started_ms: Option<TimestampMs>,
    /// Non-indicator sensors back within their normal since the last start.
    settled: BTreeSet<SensorName>,
    /// Each other sensor's first reading since the last start, and its latest mark (a
    /// reading at least [`LEVEL_WINDOW_MS`] before the newest).
    since_start: BTreeMap<SensorName, Settling>,
}

/// A sensor on its way back to its normal after a start.
#[derive(Debug, Clone, Copy)]
struct Settling {
    first: f64,
    mark: (TimestampMs, f64),
}

/// What a sensor knows that the state needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SensorView {
    /// Physical range from the catalog.
    pub range: Option<(f64, f64)>,
    /// Learnt normal: centre and spread.
    pub normal: Option<(f64, f64)>,
}

impl SensorView {
    /// Whether `value` is an indicator's reading at rest.
    pub fn resting(&self, value: f64) -> bool {
        self.at_rest(value) == Some(true)
    }

    /// Whether `value` is an indicator's reading of a running machine (within its range).
    pub fn running(&self, value: f64) -> bool {
        self.at_rest(value) == Some(false)
            && self
                .range
                .is_some_and(|(lo, hi)| (lo..=hi).contains(&value))
    }

    /// `Some(at rest)` for an indicator, `None` for another sensor (or before its normal).
    fn at_rest(&self, value: f64) -> Option<bool> {
        let (lo, hi) = self.range?;
        if lo != 0.0 {
            return None;
        }
        let reference = match self.normal {
            Some((center, scale)) if center > CLEAR_OF_ZERO * scale.max(f64::EPSILON) => center,
            Some(_) => return None,
            None => PROVISIONAL_SHARE * hi,
        };
        Some((lo..=hi).contains(&value) && value < REST_SHARE * reference)
    }
}

impl Rest {
    /// Takes in one reading; whether it is to be judged (and learnt).
    pub fn judge(
        &mut self,
        sensor: &SensorName,
        view: SensorView,
        ts: TimestampMs,
        value: f64,
    ) -> bool {
        let indicator = view.at_rest(value);
        // A second reading at rest in a row, the machine running: a misreading to judge.
        let again = indicator == Some(true) && self.at_rest.contains(sensor);
        // Sets change only when a sensor changes side: no id is cloned on the hot path.
        match indicator {
            Some(true) if !again => {
                self.running.remove(sensor);
                self.at_rest.insert(sensor.clone());
            }
            Some(false) if !self.running.contains(sensor) => {
                self.at_rest.remove(sensor);
                self.running.insert(sensor.clone());
            }
            _ => {}
        }
        let stopped = self.at_rest.len() >= 2 && self.at_rest.len() > self.running.len();
        match (stopped, self.stopped_since) {
            (true, None) => self.stopped_since = Some(ts),
            (false, Some(_)) => {
                self.stopped_since = None;
                self.started_ms = Some(ts);
                self.settled.clear();
                self.since_start.clear();
            }
            _ => {}
        }
        if stopped || (indicator == Some(true) && !again) || self.stopped_since.is_some() {
            return false;
        }
        indicator.is_some() || self.settled_after_start(sensor, view, ts, value)
    }

    /// Whether the asset is stopped now.
    pub fn stopped(&self) -> bool {
        self.stopped_since.is_some()
    }

    /// The machine moved to another operating point at `ts`: the sensors that are not
    /// indicators settle again, as after a start.
    pub fn restart(&mut self, ts: TimestampMs) {
        self.started_ms = Some(ts);
        self.settled.clear();
        self.since_start.clear();
    }

    /// Whether the asset is stopped, and since when.
    #[cfg(test)]
    pub fn stopped_since(&self) -> Option<TimestampMs> {
        self.stopped_since
    }

    /// Its state as of `now` for an asset of `sensors` sensors; `None` before any indicator
    /// has said.
    pub fn operating(&self, now: TimestampMs, sensors: usize) -> Option<OperatingState> {
        let indicators = self.at_rest.len() + self.running.len();
        if indicators == 0 {
            return None;
        }
        if let Some(since_ms) = self.stopped_since {
            return Some(OperatingState::Stopped { since_ms });
        }
        let others = sensors.saturating_sub(indicators);
        match self.started_ms {
            Some(since_ms) if now - since_ms < STARTUP_MAX_MS && self.settled.len() < others => {
                Some(OperatingState::Starting { since_ms })
            }
            _ => Some(OperatingState::Running),
        }
    }

    fn settled_after_start(
        &mut self,
        sensor: &SensorName,
        view: SensorView,
        ts: TimestampMs,
        value: f64,
    ) -> bool {
        let Some(started) = self.started_ms else {
            return true;
        };
        if ts - started >= STARTUP_MAX_MS || self.settled.contains(sensor) {
            return true;
        }
        let s = self.since_start.entry(sensor.clone()).or_insert(Settling {
            first: value,
            mark: (ts, value),
        });
        let first = s.first;
        let mut levelled = false;
        if ts - s.mark.0 >= LEVEL_WINDOW_MS {
            levelled = (value - s.mark.1).abs() <= LEVELLED_SHARE * (value - first).abs();
            s.mark = (ts, value);
        }
        let settled = levelled
            || view.normal.is_some_and(|(center, scale)| {
                (value - center).abs() <= SETTLED_SPREADS * scale.max(f64::EPSILON)
                    || (value - center).signum() != (first - center).signum()
            });
        if settled {
            self.settled.insert(sensor.clone());
        }
        settled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn views() -> [(SensorName, SensorView); 3] {
        let zero_based = |center: f64| SensorView {
            range: Some((0.0, 5000.0)),
            normal: Some((center, center / 100.0)),
        };
        [
            ("speed".parse().unwrap(), zero_based(2950.0)),
            ("current".parse().unwrap(), zero_based(60.0)),
            (
                "bearing_temp".parse().unwrap(),
                SensorView {
                    range: Some((-20.0, 150.0)),
                    normal: Some((50.0, 0.5)),
                },
            ),
        ]
    }

    #[test]
    fn a_stop_is_not_judged_and_a_start_waits_for_the_heat() {
        let [(speed, sv), (current, cv), (temp, tv)] = views();
        let mut rest = Rest::default();
        assert!(rest.judge(&speed, sv, 0, 2950.0));
        assert!(rest.judge(&current, cv, 0, 60.0));
        assert!(rest.judge(&temp, tv, 0, 50.0));
        // One indicator at zero among running ones: held back once (the others of the same
        // moment may follow it to rest), judged when it stays there (a misreading, not a stop).
        assert!(!rest.judge(&speed, sv, H / 2, 0.0));
        assert!(rest.judge(&current, cv, H / 2, 60.0));
        assert!(rest.judge(&speed, sv, H / 2 + 1, 0.0));
        assert!(rest.stopped_since().is_none());
        // Both at rest: stopped, nothing judged.
        assert!(!rest.judge(&current, cv, H, 0.2));
        assert_eq!(rest.stopped_since(), Some(H));
        assert_eq!(
            rest.operating(H, 3),
            Some(OperatingState::Stopped { since_ms: H })
        );
        assert!(!rest.judge(&temp, tv, H, 30.0));
        // Started: indicators judged at once, the cold bearing only once it is warm again.
        assert!(rest.judge(&speed, sv, 3 * H, 2950.0));
        assert!(rest.judge(&current, cv, 3 * H, 60.0));
        assert!(!rest.judge(&temp, tv, 3 * H, 35.0));
        assert_eq!(
            rest.operating(3 * H, 3),
            Some(OperatingState::Starting { since_ms: 3 * H })
        );
        assert!(rest.judge(&temp, tv, 4 * H, 49.0));
        assert!(rest.judge(&temp, tv, 4 * H + 1, 40.0), "settled: judged");
        assert_eq!(rest.operating(4 * H, 3), Some(OperatingState::Running));
        // Another stop and start: a worn bearing steps over its normal while warming.
        rest.judge(&speed, sv, 5 * H, 0.0);
        rest.judge(&current, cv, 5 * H, 0.0);
        rest.judge(&speed, sv, 6 * H, 2950.0);
        rest.judge(&current, cv, 6 * H, 60.0);
        assert!(!rest.judge(&temp, tv, 6 * H, 40.0));
        assert!(
            rest.judge(&temp, tv, 6 * H + 1, 58.0),
            "past its normal: judged"
        );
    }

    #[test]
    fn a_start_that_never_settles_is_judged_after_the_longest_start_up() {
        let [(speed, sv), (current, cv), (temp, tv)] = views();
        let mut rest = Rest::default();
        rest.judge(&speed, sv, 0, 0.0);
        rest.judge(&current, cv, 0, 0.0);
        rest.judge(&speed, sv, H, 2950.0);
        rest.judge(&current, cv, H, 60.0);
        assert!(!rest.judge(&temp, tv, 2 * H, 80.0));
        assert!(
            rest.judge(&temp, tv, H + STARTUP_MAX_MS, 80.0),
            "a hot start is caught"
        );
        // Out of range is never at rest: the instrument checks judge it.
        assert!(rest.judge(&speed, sv, 8 * H, -9999.0));
        // Before a normal is learnt, a fifth of the range is the reference.
        let fresh = SensorView {
            range: Some((0.0, 3600.0)),
            normal: None,
        };
        assert_eq!(fresh.at_rest(10.0), Some(true));
        assert_eq!(fresh.at_rest(2950.0), Some(false));
    }

    #[test]
    fn levelling_off_is_judged_in_device_time_at_any_sampling_rate() {
        // A temperature with no normal yet warms from 20 to 50 with a 45-minute time constant
        // after a start; when is it judged, sampled every minute or every ten?
        let settled_after = |every_ms: i64| {
            let [(speed, sv), (current, cv), (temp, _)] = views();
            let fresh = SensorView {
                range: Some((-20.0, 150.0)),
                normal: None,
            };
            let mut rest = Rest::default();
            rest.judge(&speed, sv, 0, 0.0);
            rest.judge(&current, cv, 0, 0.0);
            rest.judge(&speed, sv, H, 2950.0);
            rest.judge(&current, cv, H, 60.0);
            (0..)
                .map(|k| k * every_ms)
                .find(|&t| {
                    let v = 50.0 - 30.0 * (-(t as f64) / (45.0 * 60_000.0)).exp();
                    rest.judge(&temp, fresh, H + t, v)
                })
                .unwrap()
        };
        let (fast, slow) = (settled_after(60_000), settled_after(600_000));
        for t in [fast, slow] {
            assert!(
                (90 * 60_000..=150 * 60_000).contains(&t),
                "settled after {t} ms"
            );
        }
    }
}
