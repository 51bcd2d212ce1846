//! A fitted model as it is persisted: whose, which version, and what it learnt — enough to
//! reproduce every score a finding quotes, and to see how an asset's normal moved between fits.

use serde::{Deserialize, Serialize};

use crate::{AssetId, SensorName, TimestampMs};

/// One version of an asset's joint model of healthy behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FittedModel {
    /// The asset.
    pub asset: AssetId,
    /// 1 for the model fitted at the end of the warm-up, then one more per refit.
    pub version: u32,
    /// Method and its version (`joint-mahalanobis/1`).
    pub method: String,
    /// Time of the reading that completed the fit (data time, not wall time).
    pub fitted_at_ms: TimestampMs,
    /// Healthy rows it was fitted on.
    pub rows: usize,
    /// Its columns, in order.
    pub sensors: Vec<SensorName>,
    /// Per column: the healthy mean.
    pub mean: Vec<f64>,
    /// Per column: the healthy standard deviation (floored for columns that never moved).
    pub scale: Vec<f64>,
    /// Lower-triangular Cholesky factor of the shrunk correlation of the standardised columns,
    /// row by row.
    pub cholesky: Vec<Vec<f64>>,
    /// Smoothed squared distance at which rows become anomalous.
    pub threshold: f64,
}

impl FittedModel {
    /// How findings name it: method, version, when and on how many rows.
    pub fn label(&self) -> String {
        format!(
            "{} v{} fitted at {} on {} rows",
            self.method, self.version, self.fitted_at_ms, self.rows
        )
    }
}
