//! Backtests: the joint detector run over a history table, row by row, as it would have run live.
//!
//! The first `baseline_rows` rows are the healthy baseline ([`JointModel`]); every row then gets
//! its squared Mahalanobis distance, smoothed over time by an exponentially weighted mean, and
//! compared with a threshold calibrated on the same smoothed score over the baseline itself (a
//! row's distance is capped at a few thresholds first, so alarms end soon after faults do): no
//! constant depends on a unit, a sensor or a data set.
//!
//! One value column is scored by the streaming change detector instead ([`score_series`],
//! [`crate::stream`]): a single series has no joint behaviour to model, and series stored alone
//! (traffic, load, a lone temperature) wander and trend, so their changes are judged against
//! their own recent forecast rather than a fixed healthy baseline.

use ndarray::{Array2, ArrayView1, ArrayView2, Axis, Slice};

use crate::joint::{FitError, JointModel};
use crate::pca::PcaModel;
use crate::stream::{ChangeKind, StreamConfig, StreamDetector};

/// Settings of the joint scorer, in rows (a backtest has no clock) and relative terms.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreConfig {
    /// Weight of a new row in the smoothed score (1/20: a time constant of about 20 rows).
    pub smoothing: f64,
    /// Quantile of the baseline's smoothed score that is still normal.
    pub quantile: f64,
    /// Head-room over that quantile before a row is anomalous.
    pub margin: f64,
    /// Each row's distance is capped at this many thresholds before smoothing, so an alarm clears
    /// within about `ln(cap) / smoothing` rows of the deviation ending, however large it was.
    pub cap: f64,
    /// A column whose baseline lag-1 autocorrelation is above this is context, not judged: its
    /// level wanders slowly with conditions the baseline did not see (a temperature following
    /// the room or the machine's own heat), so its level is no evidence of a fault.
    pub context_autocorrelation: f64,
    /// Which joint model scores the rows.
    pub joint: Joint,
}

/// The joint model a [`JointScorer`] scores with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Joint {
    /// Shrunk-correlation Mahalanobis distance ([`JointModel`]): the service's.
    #[default]
    Mahalanobis,
    /// linfa's PCA with T² and SPE limits ([`PcaModel`]), for comparison.
    Pca,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        Self {
            smoothing: 0.05,
            quantile: 0.99,
            margin: 1.3,
            cap: 4.0,
            context_autocorrelation: 0.7,
            joint: Joint::Mahalanobis,
        }
    }
}

/// Scores of every row of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Per row, in [0, 1): 0.5 at the threshold.
    pub score: Vec<f64>,
    /// Per row: beyond the threshold.
    pub anomalous: Vec<bool>,
    /// The smoothed score at which a row became anomalous.
    pub threshold: f64,
    /// Per row, each column's reconstruction-based contribution (for event summaries).
    pub contributions: Vec<Vec<f64>>,
    /// Per row, the kind of change a univariate score found (empty for joint scores).
    pub kinds: Vec<Option<ChangeKind>>,
    /// Per row, a univariate score's alarm: non-zero only on the row that raises an event's
    /// alarm, on the scale of `score` (empty for joint scores).
    pub alarms: Vec<f64>,
}

/// The joint model of one asset scored row after row: what the live detector runs per asset and
/// [`score_table`] runs over a file, so a backtest reproduces the service.
#[derive(Debug, Clone)]
pub struct JointScorer {
    /// Always fitted: the live detector persists its parameters.
    model: JointModel,
    /// With [`Joint::Pca`], the model that scores.
    pca: Option<PcaModel>,
    /// The judged columns (the others are context), in order.
    columns: Vec<usize>,
    /// Columns of a row.
    width: usize,
    cfg: ScoreConfig,
    threshold: f64,
    smoothed: Option<f64>,
}

/// One row's joint score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JointScore {
    /// In [0, 1): 0.5 at the threshold.
    pub score: f64,
    /// Beyond the threshold.
    pub anomalous: bool,
}

impl JointScorer {
    /// Fits the model on healthy `baseline` rows and calibrates the threshold on them.
    pub fn fit(baseline: ArrayView2<f64>, cfg: &ScoreConfig) -> Result<Self, FitError> {
        let columns = judged_columns(baseline, cfg.context_autocorrelation);
        let judged = baseline.select(Axis(1), &columns);
        let model = JointModel::fit(judged.view())?;
        let pca = match cfg.joint {
            Joint::Pca => Some(PcaModel::fit(judged.view())?),
            Joint::Mahalanobis => None,
        };
        let raw: Vec<f64> = judged
            .rows()
            .into_iter()
            .map(|r| match &pca {
                Some(p) => p.distance2(r),
                None => model.distance2(r),
            })
            .collect();
        let mut calib = ewma(&raw, cfg.smoothing);
        let threshold = cfg.margin * quantile(&mut calib, cfg.quantile).max(f64::EPSILON);
        Ok(Self {
            model,
            pca,
            columns,
            width: baseline.ncols(),
            cfg: cfg.clone(),
            threshold,
            smoothed: None,
        })
    }

    /// The judged columns, in order (the model's columns).
    pub fn columns(&self) -> &[usize] {
        &self.columns
    }

    /// Scores the next row (finite values, the baseline's columns).
    pub fn score(&mut self, row: ArrayView1<f64>) -> JointScore {
        let judged = row.select(Axis(0), &self.columns);
        let d = match &self.pca {
            Some(p) => p.distance2(judged.view()),
            None => self.model.distance2(judged.view()),
        }
        .min(self.cfg.cap * self.threshold);
        let s = match self.smoothed {
            Some(m) => m + self.cfg.smoothing * (d - m),
            None => d,
        };
        self.smoothed = Some(s);
        JointScore {
            score: 1.0 - (-std::f64::consts::LN_2 * s / self.threshold).exp(),
            anomalous: s > self.threshold,
        }
    }

    /// Each column's reconstruction-based contribution to the row's distance (see
    /// [`JointModel::reconstruction`]).
    /// Context columns contribute 0.
    pub fn contributions(&self, row: ArrayView1<f64>) -> Vec<f64> {
        let judged = row.select(Axis(0), &self.columns);
        let mut all = vec![0.0; self.width];
        let shares = match &self.pca {
            Some(p) => p.reconstruction(judged.view()),
            None => self.model.reconstruction(judged.view()),
        };
        for (&c, v) in self.columns.iter().zip(shares) {
            all[c] = v;
        }
        all
    }

    /// The smoothed distance at which rows become anomalous.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The fitted model.
    pub fn model(&self) -> &JointModel {
        &self.model
    }
}

/// The columns the joint model judges: those whose baseline lag-1 autocorrelation is at most
/// `context` (all of them if none is).
fn judged_columns(baseline: ArrayView2<f64>, context: f64) -> Vec<usize> {
    let judged: Vec<usize> = (0..baseline.ncols())
        .filter(|&c| lag1_autocorrelation(baseline.column(c)) <= context)
        .collect();
    if judged.is_empty() {
        (0..baseline.ncols()).collect()
    } else {
        judged
    }
}

/// Lag-1 autocorrelation of a column (0 for one that never moved).
fn lag1_autocorrelation(x: ArrayView1<f64>) -> f64 {
    let n = x.len() as f64;
    let mean = x.sum() / n.max(1.0);
    let var: f64 = x.iter().map(|v| (v - mean).powi(2)).sum();
    if var <= 0.0 || !var.is_finite() {
        return 0.0;
    }
    let cov: f64 = x
        .iter()
        .zip(x.iter().skip(1))
        .map(|(a, b)| (a - mean) * (b - mean))
        .sum();
    cov / var
}

/// Scores every row of `values` (rows × sensors, finite) against a model of its first
/// `baseline_rows` rows.
pub fn score_table(
    values: ArrayView2<f64>,
    baseline_rows: usize,
    cfg: &ScoreConfig,
) -> Result<Scored, FitError> {
    // `slice_axis`, not `s![]`: the macro expands to an `allow(unsafe_code)` this crate forbids.
    let baseline = values.slice_axis(Axis(0), Slice::from(..baseline_rows.min(values.nrows())));
    let mut scorer = JointScorer::fit(baseline, cfg)?;
    let (mut score, mut anomalous, mut contributions) = (Vec::new(), Vec::new(), Vec::new());
    for row in values.rows() {
        let s = scorer.score(row);
        score.push(s.score);
        anomalous.push(s.anomalous);
        contributions.push(scorer.contributions(row));
    }
    Ok(Scored {
        score,
        anomalous,
        threshold: scorer.threshold(),
        contributions,
        kinds: Vec::new(),
        alarms: Vec::new(),
    })
}

/// Scores one series with the streaming change detector, calibrated on its first
/// `warmup_rows` values (at least [`MIN_WARMUP`]) and then run over every value from the first,
/// as it would have run live.
pub fn score_series(
    values: &[f64],
    warmup_rows: usize,
    cfg: &StreamConfig,
) -> Result<Scored, FitError> {
    let warmup = &values[..warmup_rows.min(values.len())];
    if warmup.iter().filter(|v| v.is_finite()).count() < MIN_WARMUP {
        return Err(FitError::TooFewRows {
            got: warmup.len(),
            needed: MIN_WARMUP,
        });
    }
    let mut detector = StreamDetector::new(warmup, cfg.clone());
    detector.rewind(values[0]);
    let mut out = Scored {
        score: Vec::with_capacity(values.len()),
        anomalous: Vec::with_capacity(values.len()),
        threshold: 0.5,
        contributions: Vec::new(),
        kinds: Vec::with_capacity(values.len()),
        alarms: Vec::with_capacity(values.len()),
    };
    for &v in values {
        let s = detector.observe(v);
        out.score.push(s.score);
        out.anomalous.push(s.anomalous);
        out.kinds.push(s.kind);
        out.alarms.push(s.alarm);
        out.contributions.push(vec![1.0]);
    }
    Ok(out)
}

/// Fewest warm-up values of a univariate backtest.
pub const MIN_WARMUP: usize = 10;

/// One run of anomalous rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// First anomalous row.
    pub start: usize,
    /// Last anomalous row.
    pub end: usize,
    /// Highest score within.
    pub peak: f64,
    /// Column indices by their summed positive share of the distance, largest first (top 3).
    pub top_columns: Vec<usize>,
    /// The kind of change, as known at the event's last row (univariate scores only).
    pub kind: Option<ChangeKind>,
}

/// The runs of anomalous rows, with the sensors that drove each.
pub fn events(scored: &Scored) -> Vec<Event> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = scored.anomalous.len();
    while i < n {
        if !scored.anomalous[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && scored.anomalous[i] {
            i += 1;
        }
        let rows = start..i;
        let peak = scored.score[rows.clone()]
            .iter()
            .fold(0.0f64, |a, &b| a.max(b));
        let p = scored.contributions.first().map_or(0, Vec::len);
        let mut share = vec![0.0; p];
        for r in rows {
            for (s, c) in share.iter_mut().zip(&scored.contributions[r]) {
                *s += c.max(0.0);
            }
        }
        let mut top: Vec<usize> = (0..p).collect();
        top.sort_by(|&a, &b| share[b].total_cmp(&share[a]));
        top.truncate(3);
        out.push(Event {
            start,
            end: i - 1,
            peak,
            top_columns: top,
            // The last row's: a shift's first value looks like a spike.
            kind: scored.kinds.get(i - 1).copied().flatten(),
        });
    }
    out
}

/// Missing or non-numeric cells carry the column's last value forward (the first rows take the
/// first value seen), so one gap in a CSV does not become an anomaly.
pub fn fill_gaps(values: &mut Array2<f64>) {
    for mut col in values.columns_mut() {
        let first = col.iter().copied().find(|v| v.is_finite()).unwrap_or(0.0);
        let mut last = first;
        for v in col.iter_mut() {
            if v.is_finite() {
                last = *v;
            } else {
                *v = last;
            }
        }
    }
}

fn ewma(xs: &[f64], alpha: f64) -> Vec<f64> {
    let mut m = xs.first().copied().unwrap_or(0.0);
    xs.iter()
        .map(|&x| {
            m += alpha * (x - m);
            m
        })
        .collect()
}

fn quantile(xs: &mut [f64], q: f64) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    let i = ((xs.len() - 1) as f64 * q).round() as usize;
    xs[i.min(xs.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three sensors; from row 600 to 800 one of them shifts by 4 standard deviations.
    fn table() -> Array2<f64> {
        Array2::from_shape_fn((1000, 3), |(i, j)| {
            let t = i as f64;
            let noise = ((t * 12.9898 + j as f64 * 78.233).sin() * 43_758.545).fract() - 0.5;
            let shift = if (600..800).contains(&i) && j == 1 {
                4.0 * 0.29
            } else {
                0.0
            };
            [20.0, 3.0, 250.0][j] + noise + shift
        })
    }

    #[test]
    fn finds_the_shift_and_names_the_sensor() {
        let t = table();
        let s = score_table(t.view(), 300, &ScoreConfig::default()).unwrap();
        let ev = events(&s);
        let flagged = |r: std::ops::Range<usize>| {
            s.anomalous[r.clone()].iter().filter(|&&a| a).count() as f64 / r.len() as f64
        };
        assert!(flagged(620..800) > 0.9, "{ev:?}");
        assert!(
            flagged(300..600) < 0.02 && flagged(850..1000) < 0.02,
            "{ev:?}"
        );
        let main = ev.iter().max_by_key(|e| e.end - e.start).unwrap();
        assert_eq!(main.top_columns[0], 1);
        assert!(s.score.iter().all(|&x| (0.0..1.0).contains(&x)));
    }

    #[test]
    fn gaps_carry_the_last_value() {
        let mut t = ndarray::array![[f64::NAN, 1.0], [2.0, f64::NAN], [f64::NAN, 3.0]];
        fill_gaps(&mut t);
        assert_eq!(t, ndarray::array![[2.0, 1.0], [2.0, 1.0], [2.0, 3.0]]);
    }

    #[test]
    fn a_slowly_wandering_column_is_context() {
        // Column 2 follows the room: a slow sine with little noise. Its level later leaves the
        // baseline's range, which is not a fault; a shift in column 1 still is.
        let mut t = table();
        for (i, mut row) in t.rows_mut().into_iter().enumerate() {
            row[2] = 250.0 + 5.0 * (i as f64 / 150.0).sin() + 0.01 * row[0].fract();
        }
        let scorer = JointScorer::fit(
            t.slice_axis(Axis(0), Slice::from(..300)),
            &ScoreConfig::default(),
        )
        .unwrap();
        assert_eq!(scorer.columns(), [0, 1]);
        assert_eq!(scorer.contributions(t.row(700))[2], 0.0);
        let s = score_table(t.view(), 300, &ScoreConfig::default()).unwrap();
        let flagged = |r: std::ops::Range<usize>| s.anomalous[r].iter().filter(|&&a| a).count();
        assert!(flagged(620..800) > 160 && flagged(850..1000) == 0);
    }

    /// Issue 19: on a sine with one spike and one level shift, the spike was reported as an
    /// 18-row "shift" and the shift as a 7-row "spike". Each event is named by what the series
    /// did, at several noise seeds, amplitudes and positions.
    #[test]
    fn a_spike_and_a_shift_are_told_apart() {
        for (seed, amp, spike_at, shift_at) in [
            (1.0, 1.0, 1500, 2600),
            (2.0, 3.0, 2200, 3100),
            (3.0, 0.5, 1800, 2400),
            (4.0, 2.0, 2900, 1700),
        ] {
            let values: Vec<f64> = (0..4000)
                .map(|i| {
                    let t = i as f64;
                    let noise = ((t * 12.9898 + seed * 78.233).sin() * 43_758.545).fract() - 0.5;
                    let cycle = amp * (t * std::f64::consts::TAU / 200.0).sin();
                    let spike = if i == spike_at {
                        8.0 * amp.max(1.0)
                    } else {
                        0.0
                    };
                    let shift = if i >= shift_at {
                        3.0 * amp.max(1.0)
                    } else {
                        0.0
                    };
                    10.0 + cycle + 0.1 * amp * noise + spike + shift
                })
                .collect();
            let s = score_series(&values, 1000, &StreamConfig::default()).unwrap();
            let found = events(&s);
            let near = |at: usize| {
                found
                    .iter()
                    .find(|e| e.start <= at + 5 && at <= e.end + 1)
                    .unwrap_or_else(|| panic!("seed {seed}: nothing at {at}: {found:?}"))
            };
            let spike = near(spike_at);
            assert_eq!(
                spike.kind,
                Some(ChangeKind::Spike),
                "seed {seed}: {spike:?}"
            );
            let shift = near(shift_at);
            assert_eq!(
                shift.kind,
                Some(ChangeKind::Shift),
                "seed {seed}: {shift:?}"
            );
        }
    }
}
