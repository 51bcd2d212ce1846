//! Streaming change detection on one series: a score in [0, 1) for every value and the kind of
//! change that raised it, and an alarm once per event, in bounded memory (under 3 KiB with a
//! season, ~400 bytes without) and without per-series tuning.
//!
//! - **Forecast residual.** Four exponentially weighted levels, from "the last value" to "the
//!   mean of the last ~64 values", and — when the warm-up shows a cycle — a seasonal forecast
//!   ([`season`]: the period found by autocorrelation, Holt–Winters' level + profile) forecast the
//!   next value; the one whose mean absolute error has been smallest over the last ~500 values
//!   is used, so a random walk is predicted by its last value, a noisy constant by its mean and a
//!   daily cycle or a duty cycle by its profile. The residual over the forecaster's robust spread
//!   is a z-score (errors are winsorised at five spreads before they update the spread, so an
//!   anomaly does not teach the detector that anomalies are normal). The spread has a floor, 1 %
//!   of the warm-up's 5–95 % range: a near-noiseless signal is not alarmed by its rounding.
//! - **Spike**: |z| beyond its threshold.
//! - **Shift**: a two-sided CUSUM of the (clamped) z-scores with allowance ½: a change of level
//!   of any size accumulates until it is flagged, even one each value of which looks ordinary.
//!   Restarted after each alarm.
//! - **Self-calibrating thresholds**: each statistic's threshold is 1.5 × its own 99.9th
//!   percentile over the recent normal past ([`tail`]), never below what a Gaussian series needs
//!   (5 for |z|, 8 for the CUSUM): a heavy-tailed series learns that its large values are
//!   ordinary, a quiet one keeps the floor. Values beyond the threshold teach it at the threshold:
//!   a change that recurs stops being news, a one-off is too rare to move it.
//! - **Score**: the largest statistic over its threshold, mapped to `1 − 2^−ratio` (0.5 at the
//!   threshold) and held with a decay of 0.9 per value, so a large change stays visible for a few
//!   values after its onset.
//! - **Alarm**: one per event ([`onset`]) — on the value whose ratio first reaches ½, again only
//!   if the event grows to 1.5 times that; an event ends after 200 quieter values.
//!
//! A slow drift that the levels follow is not a change in this sense: the per-sensor baseline
//! ([`crate::baseline`]) and the joint model judge drift against learnt healthy behaviour.

pub mod onset;
pub mod season;
pub mod tail;

pub use forewarn_domain::ChangeKind;
use onset::{Onset, OnsetConfig};
use season::Season;
use tail::TailHistogram;

use crate::baseline::median;

/// The forecasters' smoothing rates: the last value, then means over about 4, 16 and 64 values.
const RATES: [f64; 4] = [1.0, 0.25, 0.0625, 0.015625];
/// The level forecasters and the seasonal one (unused without a season).
const FORECASTERS: usize = RATES.len() + 1;
/// The noise floor: this share of the warm-up's 5–95 % range is the smallest spread a forecast
/// error is measured in, so a near-deterministic signal (a clean sine, a square wave, a setpoint)
/// does not turn rounding into alarms.
const FLOOR_SHARE: f64 = 0.01;
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
    /// When an event raises its alarm ([`onset`]).
    pub onset: OnsetConfig,
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
            onset: OnsetConfig::default(),
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
    /// In [0, 1): non-zero only on the value that raises an event's alarm ([`onset`]), with
    /// the same scale as `score` (0.5 at the threshold; events start at half of it).
    pub alarm: f64,
}

/// The state of one series.
#[derive(Debug, Clone)]
pub struct StreamDetector {
    cfg: StreamConfig,
    level: [f64; 4],
    /// The seasonal forecaster, when the warm-up showed a cycle.
    season: Option<Box<Season>>,
    /// Mean absolute error of each forecaster (its spread), ~100 values.
    spread: [f64; FORECASTERS],
    /// The same over ~500 normal values, to choose the forecaster.
    choice: [f64; FORECASTERS],
    /// The smallest spread (see [`FLOOR_SHARE`]).
    floor: f64,
    onset: Onset,
    up: f64,
    down: f64,
    spike_tail: TailHistogram,
    shift_tail: TailHistogram,
    /// Current thresholds: spike, shift.
    thresholds: [f64; 2],
    since_recalibration: u32,
    held: f64,
    held_kind: Option<ChangeKind>,
    /// During a change: the forecast it started from, relative to the season's forecast then
    /// (so "where the series was" follows the cycle), and how far its first value went. A later
    /// value still far from it makes the change a shift, however its first value looked.
    jumped_from: Option<(f64, f64)>,
}

impl StreamDetector {
    /// Starts from a warm-up sample (at least one finite value; more is better: the thresholds
    /// are calibrated on it, and a season needs two cycles of it): level = median, spread from
    /// the median absolute deviation (the mean absolute deviation when most values are equal).
    /// The warm-up is then replayed to calibrate without raising anything.
    pub fn new(warmup: &[f64], cfg: StreamConfig) -> Self {
        let v: Vec<f64> = warmup.iter().copied().filter(|x| x.is_finite()).collect();
        // The replays below need the values in order.
        let mut sorted = v.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        let center = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
        let range = quantile_sorted(&sorted, 0.95) - quantile_sorted(&sorted, 0.05);
        let mut dev: Vec<f64> = v.iter().map(|x| (x - center).abs()).collect();
        let mad = median(&mut dev) * 1.4826;
        let mean_abs = dev.iter().sum::<f64>() / dev.len().max(1) as f64 * MEAN_ABS_TO_SIGMA;
        let tiny = (1e-9 * center.abs()).max(1e-12);
        let sigma = if mad > 0.0 { mad } else { mean_abs }.max(tiny);
        let err = sigma / MEAN_ABS_TO_SIGMA;
        let season = Season::find(&v).map(Box::new);
        let mut choice = [err; FORECASTERS];
        if season.is_none() {
            choice[RATES.len()] = f64::INFINITY;
        }
        let mut d = Self {
            thresholds: [2.0 * cfg.spike_floor, 2.0 * cfg.shift_floor],
            cfg,
            level: [center; 4],
            season,
            spread: [err; FORECASTERS],
            choice,
            floor: (FLOOR_SHARE * range).max(tiny),
            onset: Onset::default(),
            up: 0.0,
            down: 0.0,
            spike_tail: TailHistogram::default(),
            shift_tail: TailHistogram::default(),
            since_recalibration: 0,
            held: 0.0,
            held_kind: None,
            jumped_from: None,
        };
        d.calibrate(&v);
        d
    }

    /// Two passes over the warm-up: the forecasters settle their spreads and which of them fits
    /// best (so the thresholds are not calibrated on a start-up transient), then the thresholds
    /// learn the statistics' normal tail.
    fn calibrate(&mut self, v: &[f64]) {
        let first = v.first().copied().unwrap_or(self.level[0]);
        for &x in v {
            self.learn_forecasters(x, false);
        }
        self.rewind(first);
        for &x in v {
            let (stats, ratios, ..) = self.statistics(x);
            self.learn(x, stats, false);
            if ratios[1] >= 1.0 {
                self.up = 0.0;
                self.down = 0.0;
            }
        }
        self.held = 0.0;
        self.held_kind = None;
    }

    /// Puts every forecast at `x`, the season at its first phase, and forgets any change in
    /// progress, keeping what was learnt of the series' spread, cycle and thresholds: a backtest
    /// scores its own warm-up rows from the start.
    pub fn rewind(&mut self, x: f64) {
        if x.is_finite() {
            self.level = [x; 4];
            if let Some(season) = &mut self.season {
                season.restart(x);
            }
        }
        self.up = 0.0;
        self.down = 0.0;
        self.held = 0.0;
        self.held_kind = None;
        self.jumped_from = None;
        self.onset.reset();
    }

    /// The period of the cycle found in the warm-up, in values.
    pub fn period(&self) -> Option<usize> {
        self.season.as_ref().map(|s| s.period())
    }

    /// Bytes held, on the heap included.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self
                .season
                .as_ref()
                .map_or(0, |s| std::mem::size_of::<Season>() + s.heap_bytes())
    }

    /// Scores the next value; a non-finite value changes nothing and returns the held score.
    pub fn observe(&mut self, x: f64) -> StreamScore {
        if !x.is_finite() {
            return self.current();
        }
        let (stats, ratios, forecast, sigma) = self.statistics(x);
        let ratio = ratios[0].max(ratios[1]);
        let anomalous = ratio >= 1.0;
        let alarm = self.onset.observe(ratio, &self.cfg.onset);
        let kind = if ratios[0] >= ratios[1] {
            ChangeKind::Spike
        } else {
            ChangeKind::Shift
        };
        // Capped so that even a huge change clears within ~20 values (0.9^20 × 8 < 1).
        let ratio = ratio.min(HELD_CAP);
        // Within a change, its kind is decided by where the series went (below), not by which
        // statistic peaks later: a spike's clamped z leaves the CUSUM most of the way up, and a
        // small bias after it can finish the job without the level having moved.
        let shifted = self.jumped_from.is_some() && self.held_kind.is_some();
        if ratio >= self.held * self.cfg.hold {
            self.held = ratio;
            if !shifted {
                self.held_kind = Some(kind);
            }
        } else {
            self.held *= self.cfg.hold;
        }
        // The season's forecast now (protected from the change: it learns forecasts, not
        // anomalous values), 0 without one.
        let cycle = self.season.as_ref().map_or(0.0, |s| s.forecast());
        match self.jumped_from {
            // A value after the first of a change, still beyond half a spike threshold from
            // where the series was and at least half as far as the change first went: the
            // level moved, whatever the first value looked like. (Half a threshold alone was
            // too little on a quiet series: after a spike 300 σ high, a season's ordinary
            // forecast errors passed it and the spike was called a shift.)
            Some((from, size))
                if (x - cycle - from).abs()
                    >= (0.5 * self.thresholds[0] * sigma).max(0.5 * size) =>
            {
                self.held_kind = Some(ChangeKind::Shift);
            }
            None if self.held >= 1.0 => {
                self.jumped_from = Some((forecast - cycle, (x - forecast).abs()));
            }
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
        StreamScore {
            alarm: to_score(alarm.min(HELD_CAP)),
            ..self.current()
        }
    }

    /// The held score without a new value.
    pub fn current(&self) -> StreamScore {
        let anomalous = self.held >= 1.0;
        StreamScore {
            score: to_score(self.held),
            anomalous,
            kind: if anomalous { self.held_kind } else { None },
            alarm: 0.0,
        }
    }

    /// |z| and the CUSUM after `x`, each over its threshold, the forecast and its spread.
    fn statistics(&mut self, x: f64) -> ([f64; 2], [f64; 2], f64, f64) {
        // On a tie (at the start) the smoothest forecaster: `min_by` keeps the first minimum.
        let best = (0..FORECASTERS)
            .rev()
            .min_by(|&a, &b| self.choice[a].total_cmp(&self.choice[b]))
            .unwrap_or(0);
        let sigma = (MEAN_ABS_TO_SIGMA * self.spread[best]).max(self.floor);
        let forecast = self.forecast(best);
        let z = (x - forecast) / sigma;
        let zc = z.clamp(-CUSUM_CLAMP, CUSUM_CLAMP);
        self.up = (self.up + zc - self.cfg.allowance).max(0.0);
        self.down = (self.down - zc - self.cfg.allowance).max(0.0);
        let stats = [z.abs(), self.up.max(self.down)];
        (
            stats,
            [stats[0] / self.thresholds[0], stats[1] / self.thresholds[1]],
            forecast,
            sigma,
        )
    }

    /// Moves the forecasters; normal values also teach the choice of forecaster. Every value
    /// teaches the thresholds: a change that recurs (a spike every day, a pump's start-up surge)
    /// becomes part of the normal tail and stops raising alarms, while a one-off is too rare a
    /// share of the past to move it.
    fn learn(&mut self, x: f64, stats: [f64; 2], anomalous: bool) {
        self.learn_forecasters(x, anomalous);
        // Clipped at the threshold: a value beyond it may widen the threshold only by the
        // margin, and only once such values are a tail's share of the past.
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

    /// Forecaster `i`'s forecast: a level, or the season's.
    fn forecast(&self, i: usize) -> f64 {
        match (self.level.get(i), &self.season) {
            (Some(&level), _) => level,
            (None, Some(season)) => season.forecast(),
            (None, None) => self.level[0],
        }
    }

    fn learn_forecasters(&mut self, x: f64, anomalous: bool) {
        let forecasts: [f64; FORECASTERS] = std::array::from_fn(|i| self.forecast(i));
        let errors = self.spread.iter_mut().zip(&mut self.choice).zip(forecasts);
        for ((spread, choice), forecast) in errors {
            let e = (x - forecast).abs();
            *spread +=
                self.cfg.spread_rate * (e.min(WINSOR * MEAN_ABS_TO_SIGMA * *spread) - *spread);
            if !anomalous && choice.is_finite() {
                *choice +=
                    self.cfg.choice_rate * (e.min(WINSOR * MEAN_ABS_TO_SIGMA * *choice) - *choice);
            }
        }
        for (level, rate) in self.level.iter_mut().zip(RATES) {
            *level += rate * (x - *level);
        }
        if let Some(season) = &mut self.season {
            // An anomalous value must not become next cycle's normal.
            season.learn(if anomalous { forecasts[RATES.len()] } else { x });
        }
    }
}

/// A ratio over a threshold as a score in [0, 1): 0.5 at the threshold.
fn to_score(ratio: f64) -> f64 {
    1.0 - (-std::f64::consts::LN_2 * ratio).exp()
}

/// The `q` quantile of sorted values, interpolated (0 for none).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0.0;
    };
    let pos = q * last as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(last);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests;
