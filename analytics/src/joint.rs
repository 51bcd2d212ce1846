//! A model of an asset's healthy joint behaviour: the mean and covariance of its sensors over a
//! baseline window, scoring every later row by its squared Mahalanobis distance (Hotelling's T²
//! over all components), with each sensor's share of that distance so a finding explains itself.
//!
//! Columns are standardised by the baseline first, so the covariance is a correlation matrix and
//! one shrinkage constant suits every unit and scale. A column that never moved in the baseline
//! gets a unit floor relative to its level instead of a zero variance.

use linfa_linalg::cholesky::Cholesky;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

/// Weight of the identity in the shrunk correlation matrix: keeps nearly collinear sensors (two
/// accelerometers on one housing) invertible without changing well-conditioned models.
const SHRINKAGE: f64 = 1e-3;

/// Why a model could not be fitted.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FitError {
    /// Fewer baseline rows than a covariance needs.
    #[error("a baseline needs at least {needed} rows, got {got}")]
    TooFewRows {
        /// Rows needed.
        needed: usize,
        /// Rows given.
        got: usize,
    },
    /// A baseline value was NaN or infinite.
    #[error("the baseline holds a value that is not a finite number (column {0})")]
    NotFinite(usize),
    /// The covariance could not be factorised (should not happen after shrinkage).
    #[error("the baseline covariance is not positive definite")]
    Singular,
    /// linfa's PCA could not be fitted.
    #[error("principal components: {0}")]
    Pca(String),
}

/// Mean, scale and the Cholesky factor of the shrunk correlation of a baseline.
#[derive(Debug, Clone)]
pub struct JointModel {
    mean: Array1<f64>,
    scale: Array1<f64>,
    /// Lower-triangular `L` with `L Lᵀ` = the shrunk correlation matrix.
    chol: Array2<f64>,
    /// Diagonal of the inverse correlation, for reconstruction-based contributions.
    inv_diag: Array1<f64>,
}

impl JointModel {
    /// Fits the model on baseline rows (one column a sensor).
    pub fn fit(rows: ArrayView2<f64>) -> Result<Self, FitError> {
        let (n, p) = rows.dim();
        let needed = (p + 2).max(10);
        if n < needed {
            return Err(FitError::TooFewRows { needed, got: n });
        }
        if let Some((_, j)) = rows
            .indexed_iter()
            .find(|(_, v)| !v.is_finite())
            .map(|(i, _)| i)
        {
            return Err(FitError::NotFinite(j));
        }
        let mean = rows.mean_axis(Axis(0)).ok_or(FitError::Singular)?;
        let scale = rows
            .std_axis(Axis(0), 1.0)
            .iter()
            .zip(&mean)
            .map(|(&s, &m)| s.max(1e-6 * (m.abs() + 1.0)))
            .collect::<Array1<f64>>();
        let z = (&rows - &mean) / &scale;
        let mut corr = z.t().dot(&z) / (n as f64 - 1.0);
        corr *= 1.0 - SHRINKAGE;
        for j in 0..p {
            corr[[j, j]] += SHRINKAGE;
        }
        let chol = corr.cholesky().map_err(|_| FitError::Singular)?;
        let mut model = Self {
            mean,
            scale,
            chol,
            inv_diag: Array1::zeros(p),
        };
        // (C⁻¹)_jj = ‖L⁻¹ e_j‖².
        for j in 0..p {
            let mut e = vec![0.0; p];
            e[j] = 1.0;
            model.inv_diag[j] = model.forward(&e).iter().map(|v| v * v).sum();
        }
        Ok(model)
    }

    /// What it learnt, for persistence: per-column mean and scale, and the Cholesky factor's
    /// rows (lower triangle).
    pub fn params(&self) -> (Vec<f64>, Vec<f64>, Vec<Vec<f64>>) {
        let chol = self
            .chol
            .rows()
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.iter().take(i + 1).copied().collect())
            .collect();
        (self.mean.to_vec(), self.scale.to_vec(), chol)
    }

    /// Number of sensors.
    pub fn dims(&self) -> usize {
        self.mean.len()
    }

    /// Squared Mahalanobis distance of one row from the baseline.
    pub fn distance2(&self, row: ArrayView1<f64>) -> f64 {
        let w = self.whiten(row);
        w.iter().map(|v| v * v).sum()
    }

    /// Each sensor's share of [`Self::distance2`]: `z_j · (C⁻¹ z)_j`, which sums to the distance.
    /// A share can be negative (a sensor that moved the way its correlated partners predict).
    pub fn contributions(&self, row: ArrayView1<f64>) -> Vec<f64> {
        let z = self.standardise(row);
        let u = self.precision_times(row);
        z.iter().zip(&u).map(|(a, b)| a * b).collect()
    }

    /// Reconstruction-based contribution of each sensor (Alcala & Qin): how much the squared
    /// distance falls when that sensor alone is replaced by the value its partners predict,
    /// `(C⁻¹ z)_j² / (C⁻¹)_jj`. Never negative, and for a fault in one sensor that sensor has
    /// the largest — unlike [`Self::contributions`], which strongly correlated partners of a
    /// faulty sensor can outweigh.
    pub fn reconstruction(&self, row: ArrayView1<f64>) -> Vec<f64> {
        let u = self.precision_times(row);
        u.iter()
            .zip(&self.inv_diag)
            .map(|(u, d)| u * u / d.max(f64::EPSILON))
            .collect()
    }

    /// `C⁻¹ z = L⁻ᵀ (L⁻¹ z)`: back substitution on the whitened row.
    fn precision_times(&self, row: ArrayView1<f64>) -> Vec<f64> {
        let w = self.whiten(row);
        let p = self.dims();
        let mut u = vec![0.0; p];
        for i in (0..p).rev() {
            let s: f64 = ((i + 1)..p).map(|k| self.chol[[k, i]] * u[k]).sum();
            u[i] = (w[i] - s) / self.chol[[i, i]];
        }
        u
    }

    fn standardise(&self, row: ArrayView1<f64>) -> Array1<f64> {
        (&row - &self.mean) / &self.scale
    }

    /// `L⁻¹ z` by forward substitution.
    fn whiten(&self, row: ArrayView1<f64>) -> Vec<f64> {
        self.forward(self.standardise(row).as_slice().unwrap_or_default())
    }

    fn forward(&self, z: &[f64]) -> Vec<f64> {
        let p = self.dims();
        let mut w = vec![0.0; p];
        for i in 0..p {
            let s: f64 = (0..i).map(|k| self.chol[[i, k]] * w[k]).sum();
            w[i] = (z[i] - s) / self.chol[[i, i]];
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, array};

    use super::*;

    fn baseline() -> Array2<f64> {
        // Two correlated sensors and an independent one, deterministic.
        Array2::from_shape_fn((200, 3), |(i, j)| {
            let t = i as f64;
            let a = (t * 0.37).sin();
            match j {
                0 => 10.0 + a,
                1 => 5.0 + 2.0 * a + 0.05 * (t * 1.3).cos(),
                _ => 100.0 + 3.0 * (t * 0.11).cos(),
            }
        })
    }

    #[test]
    fn broken_correlation_scores_high_and_names_its_sensors() {
        let m = JointModel::fit(baseline().view()).unwrap();
        let typical = m.distance2(array![10.5, 6.0, 100.0].view());
        // Each value inside its own range, but sensor 1 no longer follows sensor 0.
        let broken = array![10.9, 3.2, 100.0];
        let d = m.distance2(broken.view());
        assert!(d > 50.0 * typical.max(1.0), "{d} vs {typical}");
        let c = m.contributions(broken.view());
        assert!((c.iter().sum::<f64>() - d).abs() < 1e-6 * d);
        assert!(
            c[2].abs() < 0.01 * d,
            "the independent sensor is not blamed: {c:?}"
        );
    }

    #[test]
    fn flat_sensors_and_short_baselines() {
        let mut rows = baseline();
        rows.column_mut(2).fill(7.0);
        let m = JointModel::fit(rows.view()).unwrap();
        assert!(m.distance2(array![10.0, 5.0, 7.0].view()).is_finite());
        assert!(m.distance2(array![10.0, 5.0, 8.0].view()) > 1e6);
        assert_eq!(
            JointModel::fit(rows.slice_axis(Axis(0), ndarray::Slice::from(..5))).unwrap_err(),
            FitError::TooFewRows { needed: 10, got: 5 }
        );
        rows[[3, 1]] = f64::NAN;
        assert_eq!(
            JointModel::fit(rows.view()).unwrap_err(),
            FitError::NotFinite(1)
        );
    }
}
