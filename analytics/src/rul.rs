//! Remaining useful life learned from run-to-failure histories.
//!
//! Every training unit ends at failure, so each of its rows is labelled with the time left
//! (`last age − age`, optionally capped: early in life nothing distinguishes 300 cycles left from
//! 200). Rows become [`features`] from their own past only, and a [`boost::Booster`] learns the
//! label. Training first runs a cross-validation grouped by unit (no unit is ever split across
//! training and validation) — its error is the honest figure reported with the model, and its
//! out-of-fold residuals give the prediction interval — then fits the final model on every unit.

pub mod boost;
pub mod cut;
pub mod features;
pub mod regimes;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

pub use boost::{BoostParams, Booster};
pub use regimes::Regimes;

/// Version of the persisted model format.
pub const FORMAT: u32 = 2;

/// One unit's history, oldest row first.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitHistory {
    /// The unit's name in the input.
    pub id: String,
    /// Age (time column) per row, increasing.
    pub ages: Vec<f64>,
    /// Sensor columns, each as long as `ages`, in the order of the sensor names.
    pub columns: Vec<Vec<f64>>,
    /// Operating-setting columns (empty when the data has a single regime), each as long as
    /// `ages`: sensors are then read relative to their regime ([`Regimes`]).
    pub settings: Vec<Vec<f64>>,
}

/// How training goes.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Labels above this are this (the usual C-MAPSS convention is 125 cycles).
    pub cap: Option<f64>,
    /// Cross-validation folds, grouped by unit.
    pub folds: usize,
    /// The booster.
    pub boost: BoostParams,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            cap: None,
            folds: 5,
            boost: BoostParams::default(),
        }
    }
}

/// Cross-validated quality of a model: over every row of every held-out unit, and by the
/// benchmark's protocol — each held-out unit cut at a random cycle and predicted at its last row
/// ([`cut::score`]), over several seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvReport {
    /// Folds.
    pub folds: usize,
    /// Units and rows evaluated.
    pub units: usize,
    /// Rows evaluated.
    pub rows: usize,
    /// Root mean squared error, in time-column units.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Held-out units cut at random: RMSE of the prediction at each cut, mean over seeds.
    #[serde(default)]
    pub cut_rmse: f64,
    /// Its standard deviation over the seeds.
    #[serde(default)]
    pub cut_rmse_sd: f64,
    /// Seeds (cuts of every unit) the cut RMSE is averaged over.
    #[serde(default)]
    pub cut_seeds: usize,
}

/// Residual quantiles (truth − prediction) for predictions up to `upto`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Band {
    upto: f64,
    low: f64,
    high: f64,
}

/// A trained model, as persisted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulModel {
    /// [`FORMAT`] when written.
    pub format: u32,
    /// Sensor columns, in the order predictions must supply them.
    pub sensors: Vec<String>,
    /// The label cap used in training.
    pub cap: Option<f64>,
    /// Cross-validated error.
    pub cv: CvReport,
    booster: Booster,
    /// Operating regimes, when trained with settings.
    #[serde(default)]
    pub regimes: Option<Regimes>,
    /// 10 % – 90 % residual band per range of predictions, from the cross-validation.
    bands: Vec<Band>,
}

/// A predicted remaining life with its 80 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// Point estimate.
    pub rul: f64,
    /// 10th percentile.
    pub low: f64,
    /// 90th percentile.
    pub high: f64,
}

/// Why a model cannot be trained or used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RulError {
    /// Cross-validation needs at least one unit per fold, and training two.
    #[error("{units} units: at least {needed} run-to-failure units are needed")]
    TooFewUnits {
        /// Units given.
        units: usize,
        /// Units needed.
        needed: usize,
    },
    /// A unit has a different number of columns than the sensor list.
    #[error("unit {0}: expected {1} sensor columns")]
    Shape(String, usize),
    /// The settings describe more distinct operating points than regimes can hold.
    #[error("the settings have more than {0} distinct operating points")]
    Regimes(usize),
    /// The model was written by another version.
    #[error("model format {0} is not {FORMAT}; retrain it")]
    Format(u32),
    /// polars could not compute a unit's features.
    #[error("features: {0}")]
    Features(String),
}

/// Trains on run-to-failure `units` with sensors `sensors`; `on_round` ticks once per tree
/// (`(folds + 1) × rounds` in all).
pub fn train(
    units: &[UnitHistory],
    sensors: Vec<String>,
    cfg: &TrainConfig,
    mut on_round: impl FnMut(),
) -> Result<RulModel, RulError> {
    let folds = cfg.folds.max(2);
    if units.len() < folds {
        return Err(RulError::TooFewUnits {
            units: units.len(),
            needed: folds,
        });
    }
    let settings = units.first().map_or(0, |u| u.settings.len());
    for u in units {
        if u.columns.len() != sensors.len()
            || u.settings.len() != settings
            || u.columns
                .iter()
                .chain(&u.settings)
                .any(|c| c.len() != u.ages.len())
        {
            return Err(RulError::Shape(u.id.clone(), sensors.len()));
        }
    }
    // Regimes are unsupervised (no label is used), so learning them on every unit before the
    // cross-validation does not leak remaining life into the held-out folds.
    let regimes = (settings > 0).then(|| Regimes::fit(units)).transpose()?;
    let normalised: Vec<UnitHistory>;
    let units = match &regimes {
        Some(r) => {
            normalised = units.iter().map(|u| r.normalise(u)).collect();
            &normalised[..]
        }
        None => units,
    };
    let rows = labelled_rows(units, cfg.cap)?;
    let width = 1 + features::PER_SENSOR * sensors.len();
    let fit = |keep: &dyn Fn(usize) -> bool, on_round: &mut dyn FnMut()| {
        let picked: Vec<&(usize, Vec<f64>, f64)> = rows.iter().filter(|r| keep(r.0)).collect();
        let x = Array2::from_shape_fn((picked.len(), width), |(i, j)| picked[i].1[j]);
        let y: Vec<f64> = picked.iter().map(|r| r.2).collect();
        Booster::fit(x.view(), &y, &cfg.boost, on_round)
    };
    // Units go to folds round-robin in input order: deterministic, and every fold gets units of
    // every part of the file.
    let mut oof: Vec<(f64, f64)> = Vec::with_capacity(rows.len());
    let mut per_unit: Vec<Vec<(f64, f64)>> = vec![Vec::new(); units.len()];
    for fold in 0..folds {
        let model = fit(&|k| k % folds != fold, &mut on_round);
        for (k, f, y) in rows.iter().filter(|r| r.0 % folds == fold) {
            let pair = (clamp(model.predict(f), cfg.cap), *y);
            oof.push(pair);
            per_unit[*k].push(pair);
        }
    }
    let n = oof.len().max(1) as f64;
    let (cut_rmse, cut_rmse_sd) = cut::score(&per_unit, cut::SEEDS);
    let cv = CvReport {
        folds,
        units: units.len(),
        rows: oof.len(),
        rmse: (oof.iter().map(|(p, y)| (p - y).powi(2)).sum::<f64>() / n).sqrt(),
        mae: oof.iter().map(|(p, y)| (p - y).abs()).sum::<f64>() / n,
        cut_rmse,
        cut_rmse_sd,
        cut_seeds: cut::SEEDS,
    };
    let booster = fit(&|_| true, &mut on_round);
    Ok(RulModel {
        format: FORMAT,
        sensors,
        cap: cfg.cap,
        cv,
        booster,
        regimes,
        bands: bands(oof),
    })
}

impl RulModel {
    /// Checks a model read from disk.
    pub fn validate(&self) -> Result<(), RulError> {
        if self.format == FORMAT {
            Ok(())
        } else {
            Err(RulError::Format(self.format))
        }
    }

    /// Remaining life after the last row of `unit`, whose columns follow [`RulModel::sensors`].
    pub fn predict(&self, unit: &UnitHistory) -> Result<Option<Prediction>, RulError> {
        Ok(self
            .predict_all(std::slice::from_ref(unit))?
            .pop()
            .flatten())
    }

    /// [`RulModel::predict`] for every unit, with one features query for all.
    pub fn predict_all(&self, units: &[UnitHistory]) -> Result<Vec<Option<Prediction>>, RulError> {
        for unit in units {
            let with_settings = self.regimes.is_some() != unit.settings.is_empty();
            if unit.columns.len() != self.sensors.len() || !with_settings {
                return Err(RulError::Shape(unit.id.clone(), self.sensors.len()));
            }
        }
        let normalised: Vec<UnitHistory>;
        let units = match &self.regimes {
            Some(r) => {
                normalised = units.iter().map(|u| r.normalise(u)).collect();
                &normalised[..]
            }
            None => units,
        };
        let features = features::features(units).map_err(|e| RulError::Features(e.to_string()))?;
        Ok(features
            .into_iter()
            .map(|mut rows| rows.pop().map(|last| self.predict_row(&last)))
            .collect())
    }

    /// The prediction for one row of features, with its band.
    fn predict_row(&self, row: &[f64]) -> Prediction {
        let rul = clamp(self.booster.predict(row), self.cap);
        let band = self
            .bands
            .iter()
            .find(|b| rul <= b.upto)
            .or(self.bands.last());
        let (low, high) = band.map_or((rul, rul), |b| {
            (
                clamp(rul + b.low, self.cap).min(rul),
                clamp(rul + b.high, self.cap).max(rul),
            )
        });
        Prediction { rul, low, high }
    }
}

/// Every row of every unit as (unit index, features, remaining life capped at `limit`).
fn labelled_rows(
    units: &[UnitHistory],
    limit: Option<f64>,
) -> Result<Vec<(usize, Vec<f64>, f64)>, RulError> {
    let features = features::features(units).map_err(|e| RulError::Features(e.to_string()))?;
    let mut rows = Vec::new();
    for (k, (u, unit_rows)) in units.iter().zip(features).enumerate() {
        let last = u.ages.last().copied().unwrap_or(0.0);
        let labels = u.ages.iter().map(|a| cap(last - a, limit));
        rows.extend(unit_rows.into_iter().zip(labels).map(|(f, y)| (k, f, y)));
    }
    Ok(rows)
}

fn cap(v: f64, cap: Option<f64>) -> f64 {
    cap.map_or(v, |c| v.min(c))
}

/// Predictions are never negative nor beyond the cap.
fn clamp(v: f64, c: Option<f64>) -> f64 {
    cap(v.max(0.0), c)
}

/// Five bands of equally many out-of-fold predictions, with the 10th and 90th percentile of
/// their residuals: errors grow with the distance to failure, so one band for all would be
/// too wide near the end and too narrow far from it.
fn bands(mut oof: Vec<(f64, f64)>) -> Vec<Band> {
    const BANDS: usize = 5;
    oof.sort_by(|a, b| a.0.total_cmp(&b.0));
    let per = oof.len().div_ceil(BANDS).max(1);
    oof.chunks(per)
        .map(|chunk| {
            let mut res: Vec<f64> = chunk.iter().map(|(p, y)| y - p).collect();
            res.sort_by(f64::total_cmp);
            let q = |p: f64| res[((res.len() - 1) as f64 * p).round() as usize];
            Band {
                upto: chunk.last().map_or(f64::INFINITY, |c| c.0),
                low: q(0.1),
                high: q(0.9),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
