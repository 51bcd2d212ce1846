//! The live side of the joint model: one per asset, learning from the same warm-up as the
//! sensors' baselines and then scoring each complete row with the [`JointScorer`] a backtest runs.
//!
//! A row is the asset's readings of one timestamp (one MQTT message); it counts once every
//! sensor has reported a reading its instrumentation check admitted. Warm-up rows are sampled
//! evenly in time — one per `warm-up / ROWS_CAP` — so the sample grows with the warm-up rather
//! than with the message rate, and a warm-up that runs long is thinned by halving (the baseline's
//! scheme): memory is bounded by the number of sensors, never by the warm-up's length.

use forewarn_domain::{AssetId, FittedModel, JointEvidence, SensorName, TimestampMs};
use ndarray::{Array2, ArrayView1};

use crate::backtest::{JointScore, JointScorer, ScoreConfig};

/// Most rows kept for a fit: 24 to 48 evenly spaced rows fit a model of a few sensors (the
/// correlation is shrunk), and cost at most 192 bytes per sensor.
const ROWS_CAP: usize = 48;
/// Name and version of the method, recorded with every fitted model.
pub const JOINT_NAME: &str = "joint-mahalanobis/1";

/// Complete rows sampled evenly in time over a window: one per `window / ROWS_CAP`, thinned by
/// halving when the window runs long.
#[derive(Debug, Clone)]
struct Sample {
    rows: Vec<f32>,
    /// Earliest time of the next kept row.
    next_due: Option<TimestampMs>,
    spacing_ms: i64,
    window_spacing_ms: i64,
    /// First row offered since the last restart.
    since: Option<TimestampMs>,
}

impl Sample {
    fn new(window_ms: i64) -> Self {
        let spacing_ms = (window_ms / ROWS_CAP as i64).max(1);
        Self {
            rows: Vec::new(),
            next_due: None,
            spacing_ms,
            window_spacing_ms: spacing_ms,
            since: None,
        }
    }

    fn offer(&mut self, row: &[f64], ts: TimestampMs) {
        self.since.get_or_insert(ts);
        if self.next_due.is_some_and(|d| ts < d) {
            return;
        }
        self.rows.extend(row.iter().map(|&v| v as f32));
        let w = row.len();
        if self.rows.len() == ROWS_CAP * w {
            self.rows = self.rows.chunks(w).step_by(2).flatten().copied().collect();
            self.spacing_ms *= 2;
        }
        self.next_due = Some(ts + self.spacing_ms);
    }

    /// Forgets every row: what follows is a new window.
    fn restart(&mut self) {
        self.rows = Vec::new();
        self.next_due = None;
        self.spacing_ms = self.window_spacing_ms;
        self.since = None;
    }

    fn len(&self, width: usize) -> usize {
        self.rows.len() / width.max(1)
    }

    fn matrix(&self, width: usize) -> Array2<f64> {
        Array2::from_shape_fn((self.len(width), width), |(i, j)| {
            f64::from(self.rows[i * width + j])
        })
    }
}

#[derive(Debug, Clone)]
enum Phase {
    Learning(Sample),
    Scoring {
        scorer: Box<JointScorer>,
        model: String,
        version: u32,
        last: Option<JointScore>,
        /// Each sensor's share of the distance, smoothed like the score: one row's shares are
        /// noisy, the drift that made the score is not.
        shares: Vec<f64>,
        /// Healthy rows since the last fit (or the last disturbance), for the next one.
        next: Sample,
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
    refit_ms: i64,
    /// Versions fitted so far: a relearn after a repair continues the numbering.
    fitted: u32,
}

impl AssetJoint {
    /// A new state for `width` sensors whose warm-up lasts about `warmup_ms`, refitted on every
    /// `refit_ms` of undisturbed healthy operation after that.
    pub fn new(width: usize, warmup_ms: i64, refit_ms: i64) -> Self {
        Self {
            phase: Phase::Learning(Sample::new(warmup_ms)),
            width,
            row: vec![0.0; width],
            row_ts: None,
            filled: 0,
            seen_in_row: vec![false; width],
            refit_ms,
            fitted: 0,
        }
    }

    /// Learns again from scratch over a warm-up of `warmup_ms` (the asset was repaired: its
    /// healthy joint behaviour is new). The next fit is the next version.
    pub fn relearn(&mut self, warmup_ms: i64) {
        self.phase = Phase::Learning(Sample::new(warmup_ms));
        self.row_ts = None;
        self.filled = 0;
        self.seen_in_row.fill(false);
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
            Phase::Learning(sample) => sample.offer(&self.row, ts),
            Phase::Scoring {
                scorer,
                last,
                shares,
                next,
                ..
            } => {
                let row = ArrayView1::from(&self.row);
                let first = last.is_none();
                let score = scorer.score(row);
                *last = Some(score);
                let alpha = if first {
                    1.0
                } else {
                    ScoreConfig::default().smoothing
                };
                for (s, c) in shares.iter_mut().zip(scorer.contributions(row)) {
                    *s += alpha * (c - *s);
                }
                // A refit learns only from rows the current model finds normal. An unusual row
                // is left out rather than restarting the period: the sensors' baselines judge
                // the asset's health (`disturb`), and a model that finds normal operation
                // unusual is the one that most needs refitting.
                if !score.anomalous {
                    next.offer(&self.row, ts);
                }
            }
            Phase::Unfit => {}
        }
        true
    }

    /// The asset is not healthy (a sensor deviates or misreads): the rows gathered for the next
    /// fit are dropped, so a refit never learns a developing fault as normal.
    pub fn disturb(&mut self) {
        if let Phase::Scoring { next, .. } = &mut self.phase {
            next.restart();
        }
    }

    /// Whether a refit is due at `now`: a whole refit period of undisturbed, normal rows.
    pub fn refit_due(&self, now: TimestampMs) -> bool {
        match &self.phase {
            Phase::Scoring { next, .. } => {
                next.since.is_some_and(|s| now - s >= self.refit_ms)
                    && next.len(self.width) >= (self.width + 2).max(10)
            }
            _ => false,
        }
    }

    /// Fits the model: at the end of the warm-up on the warm-up rows (called once every sensor's
    /// baseline is ready), later on the healthy rows of the last refit period. Returns the new
    /// version for persistence (`names`: the sensors in column order).
    pub fn fit(
        &mut self,
        now: TimestampMs,
        asset: &AssetId,
        names: &[SensorName],
    ) -> Option<FittedModel> {
        let version = self.fitted + 1;
        let sample = match &self.phase {
            Phase::Learning(sample) => sample,
            Phase::Scoring { next, .. } => next,
            Phase::Unfit => return None,
        };
        let n = sample.len(self.width);
        let fitted = JointScorer::fit(sample.matrix(self.width).view(), &ScoreConfig::default());
        let scorer = match fitted {
            Ok(scorer) => scorer,
            Err(e) => {
                tracing::debug!(error = %e, %asset, "joint model not fitted");
                match &mut self.phase {
                    Phase::Scoring { next, .. } => next.restart(),
                    _ => self.phase = Phase::Unfit,
                }
                return None;
            }
        };
        let (mean, scale, cholesky) = scorer.model().params();
        let record = FittedModel {
            asset: asset.clone(),
            version,
            method: JOINT_NAME.to_string(),
            fitted_at_ms: now,
            rows: n,
            sensors: scorer.columns().iter().map(|&c| names[c].clone()).collect(),
            mean,
            scale,
            cholesky,
            threshold: scorer.threshold(),
        };
        let model = record.label();
        self.fitted = version;
        match &mut self.phase {
            Phase::Scoring {
                scorer: current,
                model: label,
                version: v,
                next,
                ..
            } => {
                **current = scorer;
                *label = model;
                *v = version;
                next.restart();
            }
            _ => {
                self.phase = Phase::Scoring {
                    scorer: Box::new(scorer),
                    model,
                    version,
                    last: None,
                    shares: vec![0.0; self.width],
                    next: Sample::new(self.refit_ms),
                }
            }
        }
        Some(record)
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
        let asset = AssetId::new("p1").unwrap();
        let mut j = AssetJoint::new(3, 48, 1_000_000);
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
        let fitted = j.fit(1000, &asset, &names).unwrap();
        assert_eq!((fitted.version, fitted.sensors.len()), (1, 3));
        assert!((24..48).contains(&fitted.rows), "{}", fitted.rows);
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
    fn refits_on_undisturbed_healthy_rows_only() {
        let names: Vec<SensorName> = ["a", "b"].map(|n| SensorName::new(n).unwrap()).to_vec();
        let asset = AssetId::new("p1").unwrap();
        let mut j = AssetJoint::new(2, 100, 500);
        // Two correlated sensors, noise only: every row is healthy.
        let row = |j: &mut AssetJoint, i: i64| {
            let t = i as f64;
            let noise = |k: f64| ((t * 12.9898 + k * 78.233).sin() * 43_758.545).rem_euclid(1.0);
            let common = noise(1.0);
            j.observe(0, i, 1.0 + common + 0.3 * noise(2.0));
            j.observe(1, i, 2.0 - common + 0.3 * noise(3.0));
        };
        for i in 0..100 {
            row(&mut j, i);
        }
        assert_eq!(j.fit(100, &asset, &names).unwrap().version, 1);
        // Disturbed half-way through the period: the clock starts again.
        for i in 100..400 {
            row(&mut j, i);
        }
        j.disturb();
        for i in 400..700 {
            row(&mut j, i);
            assert!(!j.refit_due(i), "due at {i}");
        }
        for i in 700..1000 {
            row(&mut j, i);
        }
        assert!(j.refit_due(999));
        let v2 = j.fit(999, &asset, &names).unwrap();
        assert_eq!(v2.version, 2);
        assert_eq!(v2.cholesky.len(), 2);
        assert_eq!(v2.cholesky[1].len(), 2);
        assert!(!j.refit_due(1000), "a refit starts a new period");
        let e = j
            .evidence(&names.iter().collect::<Vec<_>>())
            .unwrap_or_else(|| {
                row(&mut j, 1000);
                j.evidence(&names.iter().collect::<Vec<_>>()).unwrap()
            });
        assert!(e.model.contains(" v2 fitted at 999 "), "{}", e.model);
    }

    #[test]
    fn a_partial_row_never_counts() {
        let mut j = AssetJoint::new(2, 48, 48);
        assert!(!j.observe(0, 1, 1.0));
        assert!(!j.observe(0, 2, 1.0)); // a new timestamp discards the partial row
        assert!(j.observe(1, 2, 1.0));
        assert!(!j.observe(5, 3, 1.0)); // an unknown column is ignored
    }
}
