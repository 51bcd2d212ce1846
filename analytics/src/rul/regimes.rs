//! Operating regimes: the same sensor reads differently at another altitude, speed or load, and a
//! model of wear must not mistake a change of regime for degradation.
//!
//! The operating settings (named with `--settings`) are standardised and grouped by leader
//! clustering — a row joins the first regime whose centre lies within [`RADIUS`] standard
//! deviations, or opens a new one — which decides how many regimes there are and where to start;
//! linfa's k-means then moves the centres to the means of their rows (the leaders are single
//! rows, wherever the first row of a regime happened to lie). Every sensor is then expressed per regime, as its distance from
//! the regime's mean in the regime's standard deviations. Plants run at a few set points, so a
//! handful of regimes is the rule; more than [`MAX_REGIMES`] distinct operating points are
//! refused rather than split into ever smaller bins.

use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_clustering::{KMeans, KMeansInit};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::{RulError, UnitHistory};

/// Distance (standardised settings) within which a row belongs to a regime.
const RADIUS: f64 = 1.0;
/// Most regimes: more means the settings vary continuously.
const MAX_REGIMES: usize = 32;

/// Learnt regimes and each sensor's level and spread in each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Regimes {
    mean: Vec<f64>,
    scale: Vec<f64>,
    centres: Vec<Vec<f64>>,
    /// Per regime, per sensor: (mean, standard deviation).
    stats: Vec<Vec<(f64, f64)>>,
}

impl Regimes {
    /// Learns the regimes of the rows of `units` (whose `settings` must be filled).
    pub fn fit(units: &[UnitHistory]) -> Result<Self, RulError> {
        let rows: Vec<Vec<f64>> = units.iter().flat_map(settings_rows).collect();
        let dims = rows.first().map_or(0, Vec::len);
        let n = rows.len().max(1) as f64;
        let mean: Vec<f64> = (0..dims)
            .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
            .collect();
        let scale: Vec<f64> = (0..dims)
            .map(|j| {
                let v = rows.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n;
                v.sqrt().max(1e-9 * (mean[j].abs() + 1.0))
            })
            .collect();
        let mut regimes = Self {
            mean,
            scale,
            centres: Vec::new(),
            stats: Vec::new(),
        };
        for r in &rows {
            let z = regimes.standardise(r);
            if !regimes.centres.iter().any(|c| distance(c, &z) <= RADIUS) {
                if regimes.centres.len() == MAX_REGIMES {
                    return Err(RulError::Regimes(MAX_REGIMES));
                }
                regimes.centres.push(z);
            }
        }
        regimes.refine(&rows);
        let sensors = units.first().map_or(0, |u| u.columns.len());
        let mut sums = vec![vec![(0.0, 0.0, 0usize); sensors]; regimes.centres.len()];
        for u in units {
            for (i, s) in settings_rows(u).iter().enumerate() {
                let k = regimes.nearest(s);
                for (acc, col) in sums[k].iter_mut().zip(&u.columns) {
                    acc.0 += col[i];
                    acc.1 += col[i] * col[i];
                    acc.2 += 1;
                }
            }
        }
        regimes.stats = sums
            .into_iter()
            .map(|per| {
                per.into_iter()
                    .map(|(s, ss, c)| {
                        let c = c.max(1) as f64;
                        let m = s / c;
                        let sd = (ss / c - m * m).max(0.0).sqrt();
                        (m, sd.max(1e-9 * (m.abs() + 1.0)))
                    })
                    .collect()
            })
            .collect();
        Ok(regimes)
    }

    /// Moves the leaders to the k-means centres of the standardised `rows` (linfa, started
    /// from the leaders: deterministic). Kept as they are should k-means fail.
    fn refine(&mut self, rows: &[Vec<f64>]) {
        let k = self.centres.len();
        let dims = self.mean.len();
        if k == 0 || rows.len() <= k {
            return;
        }
        let z: Vec<f64> = rows.iter().flat_map(|r| self.standardise(r)).collect();
        let leaders: Vec<f64> = self.centres.iter().flatten().copied().collect();
        let (Ok(data), Ok(init)) = (
            Array2::from_shape_vec((rows.len(), dims), z),
            Array2::from_shape_vec((k, dims), leaders),
        ) else {
            return;
        };
        let fitted = KMeans::params(k)
            .init_method(KMeansInit::Precomputed(init))
            .n_runs(1)
            .max_n_iterations(100)
            .tolerance(1e-6)
            .fit(&DatasetBase::from(data));
        if let Ok(model) = fitted {
            self.centres = model
                .centroids()
                .rows()
                .into_iter()
                .map(|c| c.to_vec())
                .collect();
        }
    }

    /// Number of regimes found.
    pub fn len(&self) -> usize {
        self.centres.len()
    }

    /// Whether none was found (no rows).
    pub fn is_empty(&self) -> bool {
        self.centres.is_empty()
    }

    /// The unit with every sensor expressed in its row's regime.
    pub fn normalise(&self, unit: &UnitHistory) -> UnitHistory {
        let regime: Vec<usize> = settings_rows(unit)
            .iter()
            .map(|s| self.nearest(s))
            .collect();
        let columns = unit
            .columns
            .iter()
            .enumerate()
            .map(|(j, col)| {
                col.iter()
                    .zip(&regime)
                    .map(|(v, &k)| {
                        let (m, sd) = self.stats[k][j];
                        (v - m) / sd
                    })
                    .collect()
            })
            .collect();
        UnitHistory {
            columns,
            ..unit.clone()
        }
    }

    fn standardise(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .zip(self.mean.iter().zip(&self.scale))
            .map(|(v, (m, s))| (v - m) / s)
            .collect()
    }

    fn nearest(&self, row: &[f64]) -> usize {
        let z = self.standardise(row);
        (0..self.centres.len())
            .min_by(|&a, &b| {
                distance(&self.centres[a], &z).total_cmp(&distance(&self.centres[b], &z))
            })
            .unwrap_or(0)
    }
}

/// The unit's settings row by row.
fn settings_rows(u: &UnitHistory) -> Vec<Vec<f64>> {
    (0..u.ages.len())
        .map(|i| u.settings.iter().map(|c| c[i]).collect())
        .collect()
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensors_are_read_per_operating_point() {
        // Two set points (altitude 0 or 10); the sensor reads 100 higher at altitude 10.
        let unit = |id: &str, phase: usize| {
            let n = 40;
            let alt: Vec<f64> = (0..n)
                .map(|i| {
                    if (i + phase).is_multiple_of(3) {
                        10.0
                    } else {
                        0.0
                    }
                })
                .collect();
            let noise: Vec<f64> = (0..n).map(|i| ((i * 7 + phase) % 5) as f64 * 0.1).collect();
            UnitHistory {
                id: id.into(),
                ages: (0..n).map(|i| i as f64).collect(),
                columns: vec![
                    alt.iter()
                        .zip(&noise)
                        .map(|(a, e)| 50.0 + 10.0 * a + e)
                        .collect(),
                ],
                settings: vec![alt.iter().map(|a| a + 0.001).collect()],
            }
        };
        let units = [unit("a", 0), unit("b", 1)];
        let r = Regimes::fit(&units).unwrap();
        assert_eq!(r.len(), 2);
        let z = r.normalise(&units[0]);
        // The altitude's 100-unit jump is gone: what is left is the noise, in its own units.
        assert!(
            z.columns[0].iter().all(|v| v.abs() < 3.0),
            "{:?}",
            z.columns[0]
        );
    }
}
