//! One sensor's robust streaming baseline.

use forewarn_domain::{AbruptChange, Direction, TimestampMs};

use crate::stream::{StreamConfig, StreamDetector};
use crate::trend::{ScoreTrend, TimeTo};

const HOUR_MS: i64 = 3_600_000;
/// MAD × 1.4826 estimates the standard deviation of normally distributed data.
const MAD_TO_SIGMA: f64 = 1.4826;

/// Settings shared by every sensor. The defaults are in physical time and in robust standard
/// deviations, so they hold for any sample rate and any unit.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineConfig {
    /// How long a sensor is observed before it is judged.
    pub warmup_ms: i64,
    /// Fewest warm-up samples (a slow sensor waits longer than `warmup_ms`).
    pub min_warmup_samples: usize,
    /// Time constant of the score smoothing (an exponentially weighted mean over time).
    pub smoothing_ms: i64,
    /// Smoothed |z| at or above which a deviation starts.
    pub threshold: f64,
    /// Smoothed |z| below which a deviation ends (hysteresis against flapping).
    pub clear_threshold: f64,
    /// How long the smoothed score must stay beyond the threshold to count as sustained.
    pub sustain_ms: i64,
    /// An asset's joint model is refitted after this long of undisturbed healthy operation.
    pub refit_ms: i64,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        Self {
            warmup_ms: 24 * HOUR_MS,
            min_warmup_samples: 30,
            smoothing_ms: 90 * 60_000,
            threshold: 3.5,
            clear_threshold: 2.0,
            sustain_ms: 2 * HOUR_MS,
            refit_ms: 7 * 24 * HOUR_MS,
        }
    }
}

/// Most warm-up samples kept per sensor. A 1 Hz sensor sends 86,400 in a 24 h warm-up; keeping
/// every one would cost 691 KB per sensor. When the buffer fills, every other sample is dropped
/// and from then on only every second (fourth, …) reading is kept, so the buffer stays an evenly
/// spaced sample of the whole window (64 to 128 values: the median's standard error is under
/// 0.16 σ, small beside the 3.5 σ threshold) in at most 512 bytes. Kept as `f32`: seven
/// significant digits are more than a median and a MAD need, and it halves the cost.
const WARMUP_CAP: usize = 128;

/// Fewest warm-up values whose median tells a level ([`SensorBaseline::provisional_level`]).
const PROVISIONAL_SAMPLES: usize = 30;

/// Longer than this many usual intervals between two readings is a gap, not operation.
const GAP_INTERVALS: f64 = 4.0;

/// The state of one sensor: warming up, then scoring.
#[derive(Debug, Clone, Default)]
pub struct SensorBaseline {
    warmup: Vec<f32>,
    /// Readings seen during warm-up (kept or not).
    warmup_seen: usize,
    /// Keep one warm-up reading in `stride` (a power of two).
    stride: usize,
    /// Device time observed during the warm-up: the time between consecutive readings, a
    /// gap (a stop, a stay at another operating point, an outage) counted as one usual interval.
    warmup_observed_ms: i64,
    /// Usual time between two readings (smoothed, gaps left out).
    usual_dt_ms: f64,
    center: f64,
    scale: f64,
    ready: bool,
    smoothed: f64,
    last_ts: Option<TimestampMs>,
    above_since: Option<TimestampMs>,
    last_value: f64,
    /// Hourly samples of the smoothed score, for the time to failure.
    /// Allocated when the warm-up ends: a warming sensor has no score to follow, and every
    /// sensor of a fleet that has just connected is warming at once.
    trend: Option<Box<ScoreTrend>>,
    /// Abrupt changes (spikes, shifts) against the sensor's own recent forecast, from the end of
    /// the warm-up; allocated then, like the trend.
    stream: Option<Box<StreamDetector>>,
    /// The latest abrupt change, and whether it is still going on.
    change: Option<(AbruptChange, bool)>,
    /// After a repair: the (center, scale) learnt before it, kept until the new warm-up's
    /// normal has been judged (a bad repair is not learnt as healthy).
    prior: Option<(f64, f64)>,
    /// The new warm-up ended and its normal waits for [`SensorBaseline::judge`].
    awaiting_judgement: bool,
    /// `prior` is not a normal learnt before but one predicted for a new operating point.
    predicted: bool,
}

/// A sustained deviation of one sensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deviation {
    /// Which way.
    pub direction: Direction,
    /// Since when the smoothed score has been beyond the threshold.
    pub since_ms: TimestampMs,
}

impl SensorBaseline {
    /// Feeds one reading. Readings at or before the last one seen are ignored (redeliveries,
    /// replays), so the state only ever moves forward in time.
    pub fn observe(&mut self, cfg: &BaselineConfig, ts_ms: TimestampMs, value: f64) {
        if self.last_ts.is_some_and(|t| ts_ms <= t) {
            return;
        }
        let dt = self.observed(self.last_ts.map_or(0, |t| ts_ms - t));
        self.last_ts = Some(ts_ms);
        self.last_value = value;
        if !self.ready {
            self.warmup_observed_ms += dt;
            self.keep_warmup_sample(value);
            if self.warmup_observed_ms >= cfg.warmup_ms
                && self.warmup_seen >= cfg.min_warmup_samples
            {
                self.finish_warmup();
            }
            return;
        }
        let z = (value - self.center) / self.scale;
        let alpha = 1.0 - (-(dt as f64) / cfg.smoothing_ms.max(1) as f64).exp();
        self.smoothed += alpha * (z - self.smoothed);
        if let Some(t) = &mut self.trend {
            t.observe(ts_ms, self.smoothed);
        }
        if let Some(stream) = &mut self.stream {
            let s = stream.observe(value);
            match (&mut self.change, s.kind) {
                (Some((c, ongoing @ true)), Some(kind)) if s.anomalous => {
                    // A shift's first value looks like a spike: the kind follows the detector.
                    c.kind = kind;
                    c.peak = c.peak.max(s.score);
                    *ongoing = true;
                }
                (_, Some(kind)) if s.anomalous => {
                    self.change = Some((
                        AbruptChange {
                            kind,
                            at_ms: ts_ms,
                            peak: s.score,
                        },
                        true,
                    ));
                }
                (Some((_, ongoing)), _) => *ongoing = false,
                (None, _) => {}
            }
        }
        if self.smoothed.abs() >= cfg.threshold {
            self.above_since.get_or_insert(ts_ms);
        } else if self.smoothed.abs() < cfg.clear_threshold {
            self.above_since = None;
        }
    }

    /// The time since the previous reading that counts as observed operation: a gap (over
    /// [`GAP_INTERVALS`] usual intervals: a stop, a stay at another operating point, an
    /// outage) counts as one usual interval. A warm-up is a day of *observed* operation, and
    /// the score's smoothing runs in it too, so a reading after a stop weighs as one reading,
    /// not as the whole stop.
    fn observed(&mut self, dt: i64) -> i64 {
        if dt <= 0 {
            return 0;
        }
        let dt = dt as f64;
        if self.usual_dt_ms == 0.0 {
            // The first interval only tells the usual one: it may be a gap.
            self.usual_dt_ms = dt;
            return 0;
        }
        if dt <= GAP_INTERVALS * self.usual_dt_ms {
            self.usual_dt_ms += 0.1 * (dt - self.usual_dt_ms);
            dt as i64
        } else {
            self.usual_dt_ms as i64
        }
    }

    /// Keeps an evenly spaced sample of the warm-up readings in at most [`WARMUP_CAP`] values.
    fn keep_warmup_sample(&mut self, value: f64) {
        let stride = self.stride.max(1);
        if self.warmup_seen.is_multiple_of(stride) {
            self.warmup.push(value as f32);
            if self.warmup.len() == WARMUP_CAP {
                let mut i = 0;
                self.warmup.retain(|_| {
                    i += 1;
                    i % 2 == 1
                });
                self.stride = stride * 2;
            }
        }
        self.warmup_seen += 1;
    }

    fn finish_warmup(&mut self) {
        let mut v: Vec<f64> = std::mem::take(&mut self.warmup)
            .into_iter()
            .map(f64::from)
            .collect();
        self.stream = Some(Box::new(StreamDetector::new(&v, StreamConfig::default())));
        let center = median(&mut v);
        let mut dev: Vec<f64> = v.iter().map(|x| (x - center).abs()).collect();
        let mad = median(&mut dev);
        // A flat sensor has MAD 0; a floor relative to its level keeps scores finite and meaningful.
        self.scale = (MAD_TO_SIGMA * mad).max(1e-3 * center.abs()).max(1e-9);
        self.center = center;
        self.smoothed = 0.0;
        self.trend = Some(Box::default());
        self.ready = true;
        self.awaiting_judgement = self.prior.is_some();
    }

    /// The machine was repaired: learn its normal again from a fresh warm-up, keeping the
    /// normal learnt before as the fallback should the new one not look healthy. Readings at
    /// or before the last one seen are still ignored.
    pub fn rebaseline(&mut self) {
        let prior = self.normal().or(self.prior);
        *self = SensorBaseline {
            last_ts: self.last_ts,
            last_value: self.last_value,
            usual_dt_ms: self.usual_dt_ms,
            prior,
            ..SensorBaseline::default()
        };
    }

    /// A fresh warm-up at an operating point the asset has not run at before, whose normal
    /// the asset's other points predict as `predicted` (center, scale): the one learnt is
    /// judged against it, so a fault developing meanwhile is not learnt as that point's normal.
    pub fn expecting(predicted: (f64, f64)) -> Self {
        Self {
            prior: Some(predicted),
            predicted: true,
            ..Self::default()
        }
    }

    /// The median of the warm-up so far, once it holds [`PROVISIONAL_SAMPLES`] values: a level
    /// good enough to compare operating points by, not a normal to judge against.
    pub fn provisional_level(&self) -> Option<f64> {
        if self.ready || self.warmup.len() < PROVISIONAL_SAMPLES {
            return None;
        }
        let mut v: Vec<f64> = self.warmup.iter().map(|&x| f64::from(x)).collect();
        Some(median(&mut v))
    }

    /// A warm-up resumed at an operating point whose normal the asset's other points now
    /// predict: judged against it like [`SensorBaseline::expecting`] (no effect once ready, or
    /// when it already has a normal to be judged against).
    pub fn expect(&mut self, predicted: (f64, f64)) {
        if !self.ready && self.prior.is_none() {
            self.prior = Some(predicted);
            self.predicted = true;
        }
    }

    /// Whether the normal the warm-up learns is judged against a prediction (not against the
    /// normal before a repair).
    pub fn predicted(&self) -> bool {
        self.predicted
    }

    /// A person found nothing wrong behind this sensor's deviation: learn its normal again
    /// from a fresh warm-up and take it as it comes (no fallback to judge against).
    pub fn relearn(&mut self) {
        self.rebaseline();
        self.prior = None;
    }

    /// The normal a post-repair warm-up learnt, waiting to be judged, and the one before it.
    pub fn awaiting_judgement(&self) -> Option<((f64, f64), (f64, f64))> {
        let prior = self.prior?;
        (self.awaiting_judgement && self.ready).then_some(((self.center, self.scale), prior))
    }

    /// Keeps the new normal (`accept`), or goes back to the one learnt before the repair: the
    /// deviation, if it is still there, is judged afresh from now on, as a new episode.
    pub fn judge(&mut self, accept: bool) {
        if let (false, Some((center, scale))) = (accept, self.prior) {
            self.center = center;
            self.scale = scale;
        }
        self.awaiting_judgement = false;
        self.prior = None;
        self.predicted = false;
        self.smoothed = 0.0;
        self.above_since = None;
    }

    /// The sustained deviation, if any, as of the last reading.
    pub fn deviation(&self, cfg: &BaselineConfig) -> Option<Deviation> {
        let since = self.above_since?;
        let last = self.last_ts?;
        (last - since >= cfg.sustain_ms).then_some(Deviation {
            direction: if self.smoothed > 0.0 {
                Direction::Up
            } else {
                Direction::Down
            },
            since_ms: since,
        })
    }

    /// The smoothed robust z-score (0 while warming up).
    pub fn score(&self) -> f64 {
        self.smoothed
    }

    /// The learned normal level (median of the warm-up), once ready.
    pub fn center(&self) -> Option<f64> {
        self.ready.then_some(self.center)
    }

    /// Hours until the smoothed |score| reaches `level`, from its recent hourly trend.
    pub fn time_to(&self, level: f64) -> Option<TimeTo> {
        self.trend.as_ref()?.time_to(level)
    }

    /// The learned (center, scale) once ready: median and robust standard deviation.
    pub fn normal(&self) -> Option<(f64, f64)> {
        self.ready.then_some((self.center, self.scale))
    }

    /// The last value seen.
    pub fn last_value(&self) -> f64 {
        self.last_value
    }

    /// The latest abrupt change at or after `since_ms`.
    pub fn change_since(&self, since_ms: TimestampMs) -> Option<AbruptChange> {
        self.change.map(|(c, _)| c).filter(|c| c.at_ms >= since_ms)
    }

    /// The streaming change score of the last reading, in [0, 1) (0 while warming up).
    pub fn change_score(&self) -> f64 {
        self.stream.as_ref().map_or(0.0, |s| s.current().score)
    }
}

/// The median (reorders `v`); 0 for an empty slice.
pub(crate) fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    *m
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use forewarn_domain::ChangeKind;

    const MIN: i64 = 60_000;

    /// A deterministic, noise-like sequence in [-1, 1] (no RNG dependency in unit tests).
    pub(crate) fn wobble(i: i64) -> f64 {
        ((i as f64 * 12.9898).sin() * 43758.5453).rem_euclid(1.0) * 2.0 - 1.0
    }

    #[test]
    fn quiet_sensor_never_deviates_and_drift_does() {
        let cfg = BaselineConfig::default();
        let mut b = SensorBaseline::default();
        let mut first_dev = None;
        for i in 0..(10 * 24 * 60) {
            let t = i * MIN;
            let drift = if t > 5 * 24 * 60 * MIN {
                (t - 5 * 24 * 60 * MIN) as f64 / (24.0 * 60.0 * MIN as f64)
            } else {
                0.0
            };
            b.observe(&cfg, t, 10.0 + wobble(i) + 3.0 * drift);
            if b.deviation(&cfg).is_some() && first_dev.is_none() {
                first_dev = Some(t);
            }
            if t <= 5 * 24 * 60 * MIN {
                assert!(b.deviation(&cfg).is_none(), "false deviation at {t}");
            }
        }
        let d = b.deviation(&cfg).unwrap();
        assert_eq!(d.direction, Direction::Up);
        // A drift of ~4 robust sigmas a day is flagged within about a day and a half.
        assert!(first_dev.unwrap() < 6 * 24 * 60 * MIN + 36 * 60 * MIN);
    }

    #[test]
    fn a_step_is_an_abrupt_shift_and_a_drift_is_not() {
        let cfg = BaselineConfig::default();
        let (mut step, mut drift) = (SensorBaseline::default(), SensorBaseline::default());
        let onset = 3 * 24 * 60;
        for i in 0..(5 * 24 * 60) {
            let after = (i - onset).max(0) as f64;
            step.observe(
                &cfg,
                i * MIN,
                10.0 + wobble(i) + if i >= onset { 4.0 } else { 0.0 },
            );
            // The same 4 after a day and a half.
            drift.observe(
                &cfg,
                i * MIN,
                10.0 + wobble(i) + (after / 2160.0).min(1.0) * 4.0,
            );
        }
        let d = step.deviation(&cfg).expect("the step deviates");
        let c = step
            .change_since(d.since_ms - 4 * cfg.smoothing_ms)
            .unwrap();
        assert_eq!(c.kind, ChangeKind::Shift);
        assert!(
            (onset * MIN..=(onset + 2) * MIN).contains(&c.at_ms),
            "{c:?}"
        );
        assert!(c.peak > 0.5);
        let d = drift.deviation(&cfg).expect("the drift deviates");
        let c = drift.change_since(d.since_ms - 4 * cfg.smoothing_ms);
        assert!(c.is_none_or(|c| c.kind != ChangeKind::Shift), "{c:?}");
        assert!(step.change_score() < 0.5, "the change is over");
    }

    #[test]
    fn a_warmup_is_a_day_of_observed_operation_not_of_calendar() {
        let cfg = BaselineConfig::default();
        let mut b = SensorBaseline::default();
        // Ten-minute readings, six hours on and six off: a day of operation takes two.
        let mut t = 0;
        let mut observed = 0;
        while !b.ready {
            if (t / (6 * HOUR_MS)) % 2 == 0 {
                b.observe(&cfg, t, 50.0 + (t % 7) as f64 * 0.1);
                observed += 1;
            }
            t += 600_000;
        }
        assert!((143..=150).contains(&observed), "{observed} readings");
        assert!(t > 40 * HOUR_MS, "ready after {} h", t / HOUR_MS);
    }

    #[test]
    fn a_1hz_warmup_stays_small_and_evenly_spaced() {
        let cfg = BaselineConfig::default();
        let mut b = SensorBaseline::default();
        // A day at 1 Hz of a slow ramp 0 → 1000: the median of an even sample is 500.
        for i in 0..86_400i64 {
            b.observe(&cfg, i * 1000, i as f64 * 1000.0 / 86_400.0);
            assert!(b.warmup.len() < WARMUP_CAP);
        }
        // The first interval only tells the usual one: a day of intervals counts from the second.
        b.observe(&cfg, 86_400_000, 1000.0);
        assert!(!b.ready);
        b.observe(&cfg, 86_401_000, 1000.0);
        assert!(b.ready);
        assert!((b.center - 500.0).abs() < 5.0, "center {}", b.center);
        assert!(b.warmup.capacity() == 0, "warm-up memory released");
    }

    #[test]
    fn spike_in_warmup_does_not_poison_the_baseline() {
        let cfg = BaselineConfig::default();
        let mut b = SensorBaseline::default();
        for i in 0..(2 * 24 * 60) {
            let v = if i == 100 { 1e6 } else { 5.0 + 0.1 * wobble(i) };
            b.observe(&cfg, i * MIN, v);
        }
        assert!((b.center().unwrap() - 5.0).abs() < 0.05);
        assert!(b.deviation(&cfg).is_none());
    }

    #[test]
    fn ignores_replayed_and_out_of_order_readings() {
        let cfg = BaselineConfig::default();
        let mut b = SensorBaseline::default();
        b.observe(&cfg, 10, 1.0);
        b.observe(&cfg, 5, 100.0);
        b.observe(&cfg, 10, 100.0);
        assert_eq!(b.last_value(), 1.0);
    }
}
