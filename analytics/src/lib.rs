//! Analytics: from readings to findings.
//!
//! v1 is a per-sensor streaming baseline ([`baseline`]): each sensor learns its normal level and
//! spread from a warm-up window with robust statistics (median and MAD, so a spike in the warm-up
//! does not poison it), then scores every reading as a robust z-score, smooths the score over time,
//! and calls a deviation *sustained* when the smoothed score stays beyond a threshold for a while.
//! The [`Detector`] combines an asset's sensors and emits a [`Finding`] naming every deviating
//! sensor whenever that set grows. Everything is deterministic, time comes from the readings, and
//! nothing is tuned per asset: constants are in units of robust standard deviations and hours.
//!
//! The multivariate side ([`joint`]) models an asset's healthy joint behaviour over a baseline
//! window (mean and shrunk correlation, Mahalanobis distance with each sensor's share of it);
//! [`backtest`] runs it over a history table, as `forewarn backtest` does.
//!
//! [`rul`] learns remaining useful life from run-to-failure histories: trailing-window features
//! per sensor, gradient-boosted trees, a cross-validation grouped by unit whose residuals give
//! each prediction its interval.
//!
//! [`Finding`]: forewarn_domain::Finding

pub mod asset_joint;
pub mod backtest;
pub mod baseline;
mod detector;
pub mod evaluation;
pub mod instrument;
pub mod joint;
pub mod levels;
pub mod pca;
pub mod rul;
mod stage;
pub mod stream;
pub mod trend;

pub use baseline::{BaselineConfig, SensorBaseline};
pub use detector::{Detector, REPEAT_MS};
pub use stage::{HealthQuery, run};

/// Errors of the analytics stage.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// The next stage went away.
    #[error("pipeline closed")]
    PipelineClosed,
}
