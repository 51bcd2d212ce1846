//! Streaming change detection on one series: a score in [0, 1) for every value and the kind of
//! change that raised it, in constant memory (about 250 bytes) and without per-series tuning.
//!
//! - **Forecast residual.** Four exponentially weighted levels, from "the last value" to "the
//!   mean of the last ~64 values", forecast the next value; the one whose mean absolute error has
//!   been smallest over the last ~500 values is used, so a random walk is predicted by its last
//!   value and a noisy constant by its mean. The residual over the forecaster's robust spread is
//!   a z-score (errors are winsorised at five spreads before they update the spread, so an
//!   anomaly does not teach the detector that anomalies are normal).
//! - **Spike**: |z| beyond its threshold.
//! - **Shift**: a two-sided CUSUM of the (clamped) z-scores with allowance ½: a change of level
//!   of any size accumulates until it is flagged, even one each value of which looks ordinary.
//!   Restarted after each alarm.
//! - **Self-calibrating thresholds**: each statistic's threshold is 1.5 × its own 99.9th
//!   percentile over the recent normal past ([`tail`]), never below what a Gaussian series needs
//!   (5 for |z|, 8 for the CUSUM): a heavy-tailed series learns that its large values are
//!   ordinary, a quiet one keeps the floor. Values judged anomalous never teach the thresholds.
//! - **Score**: the largest statistic over its threshold, mapped to `1 − 2^−ratio` (0.5 at the
//!   threshold) and held with a decay of 0.9 per value, so a large change stays visible for a few
//!   values after its onset.
//!
//! A slow drift that the levels follow is not a change in this sense: the per-sensor baseline
//! ([`crate::baseline`]) and the joint model judge drift against learnt healthy behaviour.

pub mod tail;

pub use forewarn_domain::ChangeKind;
use tail::TailHistogram;

use crate::baseline::median;

/// The forecasters' smoothing rates: the last value, then means over about 4, 16 and 64 values.
const RATES: [f64; 4] = [1.0, 0.25, 0.0625, 0.015625];
/// Mean absolute deviation × √(π/2) estimates the standard deviation of normal data.
const MEAN_ABS_TO_SIGMA: f64 = 1.2533;
/// Errors beyond this many spreads update the spread as if they were this large.
const WINSOR: f64 = 5.0;
/// z-scores enter the CUSUM clamped to this, so one huge spike is a spike, not also a shift.
const CUSUM_CLAMP: f64 = 8.0;
/// The held ratio's ceiling (a score of 0.996).
const HELD_CAP: f64 = 8.0;
/// Thresholds are recomputed from the histograms every this many values.
const RECALIBRATE_EVERY: u32 = 32;

/// Settings; the defaults are unitless and hold for any series.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamConfig {
    /// CUSUM allowance, in robust standard deviations (½: tuned to shifts of about one).
    pub allowance: f64,
    /// Head-room over a statistic's recent tail quantile.
    pub margin: f64,
    /// The quantile of the recent past that is still normal.
    pub tail: f64,
    /// Lowest spike threshold (|z|).
    pub spike_floor: f64,
    /// Lowest CUSUM threshold.
    pub shift_floor: f64,
    /// Weight of a new error in each forecaster's spread (~100 values).
    pub spread_rate: f64,
    /// Weight of a new error in the forecaster choice (~500 values).
    pub choice_rate: f64,
    /// Per-value decay of the held score.
    pub hold: f64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            allowance: 0.5,
            margin: 1.5,
            tail: 0.999,
            spike_floor: 5.0,
            shift_floor: 8.0,
            spread_rate: 0.01,
            choice_rate: 0.002,
            hold: 0.9,
        }
    }
}

/// The verdict on one value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamScore {
    /// In [0, 1): 0.5 at the threshold; held for a few values after a change.
    pub score: f64,
    /// The held score is at or beyond the threshold.
    pub anomalous: bool,
    /// The statistic furthest beyond its threshold while anomalous.
    pub kind: Option<ChangeKind>,
}

/// The state of one series.
#[derive(Debug, Clone)]
pub struct StreamDetector {
    cfg: StreamConfig,
    level: [f64; 4],
    /// Mean absolute error of each forecaster (its spread), ~100 values.
    spread: [f64; 4],
    /// The same over ~500 normal values, to choose the forecaster.
    choice: [f64; 4],
    up: f64,
    down: f64,
    spike_tail: TailHistogram,
    shift_tail: TailHistogram,
    /// Current thresholds: spike, shift.
    thresholds: [f64; 2],
    since_recalibration: u32,
    held: f64,
    held_kind: Option<ChangeKind>,
    /// During a change: the forecast it started from. A later value still far from it makes the
    /// change a shift, however its first value looked.
    jumped_from: Option<f64>,
}

impl StreamDetector {
    /// Starts from a warm-up sample (at least one finite value; more is better: the thresholds
    /// are calibrated on it): level = median, spread from the median absolute deviation (the mean
    /// absolute deviation when most values are equal). The warm-up is then replayed to calibrate
    /// without raising anything.
    pub fn new(warmup: &[f64], cfg: StreamConfig) -> Self {
        let v: Vec<f64> = warmup.iter().copied().filter(|x| x.is_finite()).collect();
        // `median` reorders its input; the replays below need the values in order.
        let center = median(&mut v.clone());
        let mut dev: Vec<f64> = v.iter().map(|x| (x - center).abs()).collect();
        let mad = median(&mut dev) * 1.4826;
        let mean_abs = dev.iter().sum::<f64>() / dev.len().max(1) as f64 * MEAN_ABS_TO_SIGMA;
        let sigma = if mad > 0.0 { mad } else { mean_abs }
            .max(1e-9 * center.abs())
            .max(1e-12);
        let err = sigma / MEAN_ABS_TO_SIGMA;
        let mut d = Self {
            thresholds: [2.0 * cfg.spike_floor, 2.0 * cfg.shift_floor],
            cfg,
            level: [center; 4],
            spread: [err; 4],
            choice: [err; 4],
            up: 0.0,
            down: 0.0,
            spike_tail: TailHistogram::default(),
            shift_tail: TailHistogram::default(),
            since_recalibration: 0,
            held: 0.0,
            held_kind: None,
            jumped_from: None,
        };
        // First pass: the forecasters settle their spreads and which of them fits best, so the
        // thresholds are not calibrated on a start-up transient.
        for &x in &v {
            d.learn_forecasters(x, false);
        }
        d.level = [v.first().copied().unwrap_or(center); 4];
        for &x in &v {
            let (stats, ratios, ..) = d.statistics(x);
            d.learn(x, stats, false);
            if ratios[1] >= 1.0 {
                d.up = 0.0;
                d.down = 0.0;
            }
        }
        d.held = 0.0;
        d.held_kind = None;
        d
    }

    /// Puts every forecast at `x` and forgets any change in progress, keeping what was learnt of
    /// the series' spread and thresholds: a backtest scores its own warm-up rows from the start.
    pub fn rewind(&mut self, x: f64) {
        if x.is_finite() {
            self.level = [x; 4];
        }
        self.up = 0.0;
        self.down = 0.0;
        self.held = 0.0;
        self.held_kind = None;
        self.jumped_from = None;
    }

    /// Scores the next value; a non-finite value changes nothing and returns the held score.
    pub fn observe(&mut self, x: f64) -> StreamScore {
        if !x.is_finite() {
            return self.current();
        }
        let (stats, ratios, forecast, sigma) = self.statistics(x);
        let ratio = ratios[0].max(ratios[1]);
        let anomalous = ratio >= 1.0;
        let kind = if ratios[0] >= ratios[1] {
            ChangeKind::Spike
        } else {
            ChangeKind::Shift
        };
        // Capped so that even a huge change clears within ~20 values (0.9^20 × 8 < 1).
        let ratio = ratio.min(HELD_CAP);
        let shifted = self.held_kind == Some(ChangeKind::Shift) && self.jumped_from.is_some();
        if ratio >= self.held * self.cfg.hold {
            self.held = ratio;
            if !shifted {
                self.held_kind = Some(kind);
            }
        } else {
            self.held *= self.cfg.hold;
        }
        match self.jumped_from {
            // A value after the first of a change, still beyond half a spike threshold from
            // where the series was: the level moved, whatever the first value looked like.
            Some(from) if (x - from).abs() >= 0.5 * self.thresholds[0] * sigma => {
                self.held_kind = Some(ChangeKind::Shift);
            }
            None if self.held >= 1.0 => self.jumped_from = Some(forecast),
            _ => {}
        }
        if self.held < 1.0 {
            self.jumped_from = None;
        }
        self.learn(x, stats, anomalous);
        if ratios[1] >= 1.0 {
            self.up = 0.0;
            self.down = 0.0;
        }
        self.current()
    }

    /// The held score without a new value.
    pub fn current(&self) -> StreamScore {
        let anomalous = self.held >= 1.0;
        StreamScore {
            score: 1.0 - (-std::f64::consts::LN_2 * self.held).exp(),
            anomalous,
            kind: if anomalous { self.held_kind } else { None },
        }
    }

    /// |z| and the CUSUM after `x`, each over its threshold, the forecast and its spread.
    fn statistics(&mut self, x: f64) -> ([f64; 2], [f64; 2], f64, f64) {
        // On a tie (at the start) the smoothest forecaster: `min_by` keeps the first minimum.
        let best = (0..RATES.len())
            .rev()
            .min_by(|&a, &b| self.choice[a].total_cmp(&self.choice[b]))
            .unwrap_or(0);
        let sigma = MEAN_ABS_TO_SIGMA * self.spread[best];
        let z = (x - self.level[best]) / sigma;
        let zc = z.clamp(-CUSUM_CLAMP, CUSUM_CLAMP);
        self.up = (self.up + zc - self.cfg.allowance).max(0.0);
        self.down = (self.down - zc - self.cfg.allowance).max(0.0);
        let stats = [z.abs(), self.up.max(self.down)];
        (
            stats,
            [stats[0] / self.thresholds[0], stats[1] / self.thresholds[1]],
            self.level[best],
            sigma,
        )
    }

    /// Moves the forecasters; normal values also teach the choice and the thresholds.
    fn learn(&mut self, x: f64, stats: [f64; 2], anomalous: bool) {
        self.learn_forecasters(x, anomalous);
        if anomalous {
            return;
        }
        // Clipped at the threshold: a value just short of an alarm may widen the threshold only
        // by the margin, and only once it is a tail's share of the past.
        self.spike_tail.add(stats[0].min(self.thresholds[0]));
        self.shift_tail.add(stats[1].min(self.thresholds[1]));
        self.since_recalibration += 1;
        if self.since_recalibration >= RECALIBRATE_EVERY {
            self.since_recalibration = 0;
            let floors = [self.cfg.spike_floor, self.cfg.shift_floor];
            for (i, tail) in [&self.spike_tail, &self.shift_tail].into_iter().enumerate() {
                if let Some(q) = tail.quantile(self.cfg.tail) {
                    self.thresholds[i] = (self.cfg.margin * q).max(floors[i]);
                }
            }
        }
    }

    fn learn_forecasters(&mut self, x: f64, anomalous: bool) {
        let forecasters = self
            .level
            .iter_mut()
            .zip(&mut self.spread)
            .zip(&mut self.choice)
            .zip(RATES);
        for (((level, spread), choice), rate) in forecasters {
            let e = (x - *level).abs();
            *spread +=
                self.cfg.spread_rate * (e.min(WINSOR * MEAN_ABS_TO_SIGMA * *spread) - *spread);
            if !anomalous {
                *choice +=
                    self.cfg.choice_rate * (e.min(WINSOR * MEAN_ABS_TO_SIGMA * *choice) - *choice);
            }
            *level += rate * (x - *level);
        }
    }
}

#[cfg(test)]
mod tests;
