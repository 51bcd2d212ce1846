//! The live side of the joint model: one per asset, learning from the same warm-up as the
//! sensors' baselines and then scoring each complete row with the [`JointScorer`] a backtest runs.
//!
//! A row is the asset's readings of one timestamp (one MQTT message); it counts once every
//! sensor has reported a reading its instrumentation check admitted. Warm-up rows are sampled
//! evenly in time — one per `warm-up / ROWS_CAP` — so the sample grows with the warm-up rather
//! than with the message rate, and a warm-up that runs long is thinned by halving (the baseline's
//! scheme): memory is bounded by the number of sensors, never by the warm-up's length.

use forewarn_domain::{JointEvidence, SensorName, TimestampMs};
use ndarray::{Array2, ArrayView1};

use crate::backtest::{JointScore, JointScorer, ScoreConfig};

/// Most warm-up rows kept: 24 to 48 evenly spaced rows fit a model of a few sensors (the
/// correlation is shrunk), and cost at most 192 bytes per sensor while warming up.
const ROWS_CAP: usize = 48;
/// Name and version of the method, recorded with every fitted model.
pub const JOINT_NAME: &str = "joint-mahalanobis/1";

#[derive(Debug, Clone)]
enum Phase {
    Learning {
        rows: Vec<f32>,
        /// Earliest time of the next kept row.
        next_due: Option<TimestampMs>,
        spacing_ms: i64,
    },
    Scoring {
        scorer: Box<JointScorer>,
        model: String,
        last: Option<JointScore>,
        /// Each sensor's share of the distance, smoothed like the score: one row's shares are
        /// noisy, the drift that made the score is not.
        shares: Vec<f64>,
    },
    /// The baseline could not be modelled (too few complete rows); sensors still work alone.
    Unfit,
}

/// One asset's joint state.
#[derive(Debug, Clone)]
pub struct AssetJoint {
    phase: Phase,
    width: usize,
    row: Vec<f64>,
    row_ts: Option<TimestampMs>,
    filled: usize,
    seen_in_row: Vec<bool>,
}

impl AssetJoint {
    /// A new state for `width` sensors whose warm-up lasts about `warmup_ms`.
    pub fn new(width: usize, warmup_ms: i64) -> Self {
        Self {
            phase: Phase::Learning {
                rows: Vec::new(),
                next_due: None,
                spacing_ms: (warmup_ms / ROWS_CAP as i64).max(1),
            },
            width,
            row: vec![0.0; width],
            row_ts: None,
            filled: 0,
            seen_in_row: vec![false; width],
        }
    }

    /// Sensors it models.
    pub fn width(&self) -> usize {
        self.width
    }

    /// An admitted reading of sensor `index` at `ts`. Returns true when it completed a row.
    pub fn observe(&mut self, index: usize, ts: TimestampMs, value: f64) -> bool {
        if index >= self.width {
            return false;
        }
        if self.row_ts != Some(ts) {
            self.row_ts = Some(ts);
            self.filled = 0;
            self.seen_in_row.fill(false);
        }
        if !self.seen_in_row[index] {
            self.seen_in_row[index] = true;
            self.filled += 1;
        }
        self.row[index] = value;
        if self.filled < self.width {
            return false;
        }
        self.filled = 0;
        self.seen_in_row.fill(false);
        match &mut self.phase {
            Phase::Learning {
                rows,
                next_due,
                spacing_ms,
            } => {
                if next_due.is_none_or(|d| ts >= d) {
                    rows.extend(self.row.iter().map(|&v| v as f32));
                    if rows.len() == ROWS_CAP * self.width {
                        let w = self.width;
                        let kept: Vec<f32> = rows.chunks(w).step_by(2).flatten().copied().collect();
                        *rows = kept;
                        *spacing_ms *= 2;
                    }
                    *next_due = Some(ts + *spacing_ms);
                }
            }
            Phase::Scoring {
                scorer,
                last,
                shares,
                ..
            } => {
                let row = ArrayView1::from(&self.row);
                let first = last.is_none();
                *last = Some(scorer.score(row));
                let alpha = if first {
                    1.0
                } else {
                    ScoreConfig::default().smoothing
                };
                for (s, c) in shares.iter_mut().zip(scorer.contributions(row)) {
                    *s += alpha * (c - *s);
                }
            }
            Phase::Unfit => {}
        }
        true
    }

    /// Ends the warm-up: fits the model on the rows kept (called once every sensor's baseline
    /// is ready).
    pub fn fit(&mut self, now: TimestampMs) {
        let Phase::Learning { rows, .. } = &self.phase else {
            return;
        };
        let n = rows.len() / self.width.max(1);
        let data = Array2::from_shape_fn((n, self.width), |(i, j)| {
            f64::from(rows[i * self.width + j])
        });
        self.phase = match JointScorer::fit(data.view(), &ScoreConfig::default()) {
            Ok(scorer) => Phase::Scoring {
                scorer: Box::new(scorer),
                model: format!("{JOINT_NAME} fitted at {now} on {n} rows"),
                last: None,
                shares: vec![0.0; self.width],
            },
            Err(e) => {
                tracing::debug!(error = %e, "joint model not fitted");
                Phase::Unfit
            }
        };
    }

    /// Whether it is still learning.
    pub fn learning(&self) -> bool {
        matches!(self.phase, Phase::Learning { .. })
    }

    /// The evidence for a finding: the smoothed score as of the last complete row and the three
    /// sensors with the largest smoothed share (`names` in column order).
    pub fn evidence(&self, names: &[&SensorName]) -> Option<JointEvidence> {
        let Phase::Scoring {
            model,
            last: Some(last),
            shares,
            ..
        } = &self.phase
        else {
            return None;
        };
        let total: f64 = shares
            .iter()
            .map(|s| s.max(0.0))
            .sum::<f64>()
            .max(f64::EPSILON);
        let mut drivers: Vec<(SensorName, f64)> = names
            .iter()
            .zip(shares.iter())
            .map(|(n, s)| ((*n).clone(), (s.max(0.0) / total * 1000.0).round() / 1000.0))
            .collect();
        drivers.sort_by(|a, b| b.1.total_cmp(&a.1));
        drivers.truncate(3);
        Some(JointEvidence {
            score: (last.score * 1000.0).round() / 1000.0,
            anomalous: last.anomalous,
            drivers,
            model: model.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_rows_then_scores_them_and_names_the_driver() {
        let names: Vec<SensorName> = ["a", "b", "c"]
            .map(|n| SensorName::new(n).unwrap())
            .to_vec();
        let refs: Vec<&SensorName> = names.iter().collect();
        let mut j = AssetJoint::new(3, 48);
        let noise = |t: f64, k: f64| ((t * 12.9898 + k * 78.233).sin() * 43_758.545).fract();
        for i in 0..1000i64 {
            let t = i as f64;
            let load = (t / 50.0).sin();
            // Out of order within a row, as sensors of one message may come.
            assert!(!j.observe(2, i, 3.0 + load + 0.1 * noise(t, 3.0)));
            assert!(!j.observe(0, i, 10.0 + load + 0.1 * noise(t, 1.0)));
            assert!(j.observe(1, i, 5.0 - load + 0.1 * noise(t, 2.0)));
        }
        assert!(j.learning());
        j.fit(1000);
        assert!(!j.learning());
        for i in 1000..1100i64 {
            let t = i as f64;
            let load = (t / 50.0).sin();
            j.observe(0, i, 10.0 + load + 0.1 * noise(t, 1.0));
            // b reads 0.4 high: small beside its swing with the load, large beside its noise.
            j.observe(1, i, 5.4 - load + 0.1 * noise(t, 2.0));
            j.observe(2, i, 3.0 + load + 0.1 * noise(t, 3.0));
        }
        let e = j.evidence(&refs).unwrap();
        assert!(e.anomalous && e.score > 0.5, "{e:?}");
        assert_eq!(e.drivers[0].0.as_str(), "b");
        assert!(
            e.model.starts_with(JOINT_NAME) && e.model.contains("fitted at 1000"),
            "{}",
            e.model
        );
    }

    #[test]
    fn a_partial_row_never_counts() {
        let mut j = AssetJoint::new(2, 48);
        assert!(!j.observe(0, 1, 1.0));
        assert!(!j.observe(0, 2, 1.0)); // a new timestamp discards the partial row
        assert!(j.observe(1, 2, 1.0));
        assert!(!j.observe(5, 3, 1.0)); // an unknown column is ignored
    }
}
