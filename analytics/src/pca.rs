//! The joint model as principal components (linfa's PCA), with Hotelling's T² and the squared
//! prediction error (SPE): the textbook alternative to [`crate::joint::JointModel`]'s
//! shrunk-correlation Mahalanobis distance, selectable in `forewarn backtest --joint pca` so the
//! two are measured on the same files (figures in ARCHITECTURE.md).
//!
//! Columns are standardised on the baseline; the components kept explain [`VARIANCE`] of it.
//! T² sums each kept score squared over its variance (σᵢ²/(n − 1) from linfa's singular
//! values: its `explained_variance` divides by the component count); SPE is what the kept
//! components do not reconstruct. Their limits are the baseline's own 99th percentiles, and a
//! row's distance is `T²/limit + SPE/limit` (2 on the baseline's 99th percentile of both).

use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_reduction::Pca;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::joint::FitError;

/// Share of the baseline's variance the kept components explain.
const VARIANCE: f64 = 0.9;
/// Percentile of the baseline's T² and SPE taken as their limits.
const LIMIT_QUANTILE: f64 = 0.99;

/// A fitted PCA model.
#[derive(Debug, Clone)]
pub struct PcaModel {
    mean: Array1<f64>,
    scale: Array1<f64>,
    /// Kept components, one per row.
    components: Array2<f64>,
    /// Variance of each kept component's scores.
    variance: Array1<f64>,
    t2_limit: f64,
    spe_limit: f64,
}

impl PcaModel {
    /// Fits on healthy `baseline` rows (finite values).
    pub fn fit(baseline: ArrayView2<f64>) -> Result<Self, FitError> {
        let (n, p) = baseline.dim();
        if n < 2 * p.max(2) {
            return Err(FitError::TooFewRows {
                needed: 2 * p.max(2),
                got: n,
            });
        }
        let mean = baseline
            .mean_axis(Axis(0))
            .ok_or(FitError::TooFewRows { needed: 2, got: n })?;
        let scale = baseline.std_axis(Axis(0), 1.0).mapv(|s| s.max(1e-9));
        let z = (&baseline - &mean) / &scale;
        let pca = Pca::params(p)
            .fit(&DatasetBase::from(z.clone()))
            .map_err(|e| FitError::Pca(e.to_string()))?;
        let variance = pca
            .singular_values()
            .mapv(|s| (s * s / (n as f64 - 1.0)).max(1e-12));
        let total = variance.sum();
        let mut kept = 0;
        let mut explained = 0.0;
        while kept < variance.len() && explained < VARIANCE * total {
            explained += variance[kept];
            kept += 1;
        }
        let components = pca
            .components()
            .slice_axis(Axis(0), ndarray::Slice::from(..kept))
            .to_owned();
        let variance = variance
            .slice_axis(Axis(0), ndarray::Slice::from(..kept))
            .to_owned();
        let mut model = Self {
            mean,
            scale,
            components,
            variance,
            t2_limit: 1.0,
            spe_limit: 1.0,
        };
        let (mut t2, mut spe): (Vec<f64>, Vec<f64>) =
            z.rows().into_iter().map(|r| model.statistics(r)).unzip();
        model.t2_limit = quantile(&mut t2, LIMIT_QUANTILE).max(1e-9);
        model.spe_limit = quantile(&mut spe, LIMIT_QUANTILE).max(1e-9);
        Ok(model)
    }

    /// Components kept.
    pub fn kept(&self) -> usize {
        self.components.nrows()
    }

    /// A row's distance: T² and SPE, each over its limit, summed.
    pub fn distance2(&self, row: ArrayView1<f64>) -> f64 {
        let (t2, spe) = self.statistics(self.standardise(row).view());
        t2 / self.t2_limit + spe / self.spe_limit
    }

    /// Each column's share of the row's squared reconstruction error.
    pub fn reconstruction(&self, row: ArrayView1<f64>) -> Vec<f64> {
        let z = self.standardise(row);
        let residual = &z - &self.components.t().dot(&self.components.dot(&z));
        let total: f64 = residual.iter().map(|r| r * r).sum::<f64>().max(1e-12);
        residual.iter().map(|r| r * r / total).collect()
    }

    fn standardise(&self, row: ArrayView1<f64>) -> Array1<f64> {
        (&row - &self.mean) / &self.scale
    }

    /// (T², SPE) of a standardised row.
    fn statistics(&self, z: ArrayView1<f64>) -> (f64, f64) {
        let scores = self.components.dot(&z);
        let t2 = scores
            .iter()
            .zip(&self.variance)
            .map(|(t, v)| t * t / v)
            .sum();
        let reconstructed = self.components.t().dot(&scores);
        let spe = z
            .iter()
            .zip(&reconstructed)
            .map(|(a, b)| (a - b).powi(2))
            .sum();
        (t2, spe)
    }
}

fn quantile(xs: &mut [f64], q: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    let i = ((xs.len() as f64 - 1.0) * q).round() as usize;
    xs.get(i).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two correlated columns and a third of noise.
    fn table(n: usize, broken_from: Option<usize>) -> Array2<f64> {
        Array2::from_shape_fn((n, 3), |(i, j)| {
            let a = (i as f64 * 0.37).sin();
            let noise = ((i * 7 + j * 13) % 11) as f64 / 11.0 - 0.5;
            let broken = broken_from.is_some_and(|b| i >= b && j == 1);
            match j {
                0 => a + 0.1 * noise,
                1 if broken => -a + 0.1 * noise,
                1 => a + 0.1 * noise,
                _ => noise,
            }
        })
    }

    #[test]
    fn a_broken_correlation_is_far_and_the_column_that_broke_it_is_named() {
        let t = table(400, Some(300));
        let m = PcaModel::fit(t.slice_axis(Axis(0), ndarray::Slice::from(..300))).unwrap();
        assert!(m.kept() >= 1 && m.kept() <= 3);
        let normal: f64 = (0..300).map(|i| m.distance2(t.row(i))).sum::<f64>() / 300.0;
        let broken: f64 = (300..400).map(|i| m.distance2(t.row(i))).sum::<f64>() / 100.0;
        assert!(
            normal < 2.0 && broken > 5.0 * normal,
            "{normal} vs {broken}"
        );
        let c = m.reconstruction(t.row(310));
        assert!(c[1] >= c[2], "{c:?}");
        assert!(PcaModel::fit(t.slice_axis(Axis(0), ndarray::Slice::from(..3))).is_err());
    }
}
