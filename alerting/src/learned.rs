//! A failure-mode classifier learnt from labelled findings — resolved tickets in service,
//! simulator ground truth in tests — for the findings no catalog signature matches.
//!
//! Catalog rules come first: they are what engineers wrote and can read. A signature can be too
//! strict (a sensor that does not always move) or miss a mode's variant; then a multinomial
//! logistic regression (linfa) per asset type, over each sensor's signed deviation
//! (`sign · ln(1 + |score|)`, 0 when the sensor does not deviate), proposes the mode when it is
//! confident — and only for a finding whose every deviation (sensor and direction) was seen with
//! that mode in its history: a classifier forced to pick among known modes would otherwise name
//! one for a pattern it never saw (a falling temperature is no overheating) — and with as many
//! deviating sensors as the mode's signature names, up to two: one sensor alone never names a
//! mode its signature says takes more. Only machine modes are learnt: instrumentation is never
//! guessed.

use std::collections::HashMap;

use std::collections::HashSet;

use forewarn_domain::{
    AssetTypeId, Catalog, Direction, FailureMode, FailureModeId, Finding, ModeKind, SensorName,
};
use linfa::prelude::*;
use linfa_logistic::{MultiFittedLogisticRegression, MultiLogisticRegression};
use ndarray::{Array1, Array2};

/// Fewest labelled findings of an asset type, and of each of at least two of its modes, before a
/// model is learnt for it.
pub const MIN_EXAMPLES: usize = 5;
/// Lowest probability at which the model's mode is used.
pub const MIN_PROBABILITY: f64 = 0.8;
/// Name and version of the method.
pub const LEARNED_NAME: &str = "logistic-modes/1";

struct TypeModel {
    sensors: Vec<SensorName>,
    modes: Vec<FailureModeId>,
    /// Per mode, the deviations (sensor, direction) its labelled findings showed.
    seen: Vec<HashSet<(SensorName, Direction)>>,
    model: MultiFittedLogisticRegression<f64, usize>,
}

/// Learnt classifiers, one per asset type with enough labelled history.
#[derive(Default)]
pub struct LearnedModes {
    per_type: HashMap<AssetTypeId, TypeModel>,
    examples: usize,
}

impl std::fmt::Debug for LearnedModes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LearnedModes")
            .field("types", &self.per_type.keys().collect::<Vec<_>>())
            .field("examples", &self.examples)
            .finish()
    }
}

impl LearnedModes {
    /// Learns from `(finding, confirmed mode)` pairs; examples of unknown types or modes, and
    /// instrumentation findings, are ignored.
    pub fn train(catalog: &Catalog, examples: &[(Finding, FailureModeId)]) -> Self {
        let mut by_type: HashMap<&AssetTypeId, Vec<(&Finding, &FailureModeId)>> = HashMap::new();
        for (f, m) in examples {
            if !f.is_instrumentation() && !f.deviations.is_empty() {
                by_type.entry(&f.asset_type).or_default().push((f, m));
            }
        }
        let mut out = Self::default();
        for (ty_id, rows) in by_type {
            let Some(ty) = catalog.asset_type(ty_id) else {
                continue;
            };
            let modes: Vec<FailureModeId> = ty
                .failure_modes
                .iter()
                .filter(|m| m.kind == ModeKind::Machine)
                .map(|m| m.id.clone())
                .filter(|id| rows.iter().filter(|(_, m)| *m == id).count() >= MIN_EXAMPLES)
                .collect();
            if modes.len() < 2 {
                continue;
            }
            let sensors: Vec<_> = ty.sensors.keys().cloned().collect();
            let kept: Vec<_> = rows
                .iter()
                .filter_map(|(f, m)| Some((*f, modes.iter().position(|x| x == *m)?)))
                .collect();
            let x = Array2::from_shape_fn((kept.len(), sensors.len()), |(i, j)| {
                feature(kept[i].0, &sensors[j])
            });
            let y: Array1<usize> = kept.iter().map(|(_, k)| *k).collect();
            let mut seen = vec![HashSet::new(); modes.len()];
            for (f, k) in &kept {
                seen[*k].extend(f.deviations.iter().map(|d| (d.sensor.clone(), d.direction)));
            }
            let fitted = MultiLogisticRegression::default()
                .alpha(0.1)
                .max_iterations(200)
                .fit(&Dataset::new(x, y));
            match fitted {
                Ok(model) => {
                    out.examples += kept.len();
                    out.per_type.insert(
                        ty_id.clone(),
                        TypeModel {
                            sensors,
                            modes,
                            seen,
                            model,
                        },
                    );
                }
                Err(e) => {
                    tracing::warn!(asset_type = %ty_id, error = %e, "mode classifier not learnt")
                }
            }
        }
        out
    }

    /// Labelled findings it learnt from.
    pub fn examples(&self) -> usize {
        self.examples
    }

    /// Asset types it has a model for.
    pub fn types(&self) -> usize {
        self.per_type.len()
    }

    /// The most probable machine mode of a finding and its probability, when at least
    /// [`MIN_PROBABILITY`].
    pub fn predict<'c>(
        &self,
        catalog: &'c Catalog,
        finding: &Finding,
    ) -> Option<(&'c FailureMode, f64)> {
        if finding.is_instrumentation() || finding.deviations.is_empty() {
            return None;
        }
        let m = self.per_type.get(&finding.asset_type)?;
        let x = Array2::from_shape_fn((1, m.sensors.len()), |(_, j)| {
            feature(finding, &m.sensors[j])
        });
        let probs = m.model.predict_probabilities(&x);
        let (best, p) = probs
            .row(0)
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        let class = *m.model.classes().get(best)?;
        let familiar = |k: usize| {
            finding
                .deviations
                .iter()
                .all(|d| m.seen[k].contains(&(d.sensor.clone(), d.direction)))
        };
        if p < MIN_PROBABILITY || !familiar(class) {
            return None;
        }
        let id = m.modes.get(class)?;
        let mode = catalog.asset_type(&finding.asset_type)?.failure_mode(id)?;
        // A rescue for a signature that is wrong or too strict, not a licence to name a mode
        // from one sensor: a lone deviation is what a load change, a transient or a drifting
        // transmitter shows too (the 40-asset year's learnt false tickets were all lone ones).
        if finding.deviations.len() < mode.signature.len().clamp(1, 2) {
            return None;
        }
        Some((mode, p))
    }
}

fn feature(f: &Finding, sensor: &SensorName) -> f64 {
    f.deviations
        .iter()
        .find(|d| &d.sensor == sensor)
        .map_or(0.0, |d| d.score.signum() * d.score.abs().ln_1p())
}

#[cfg(test)]
mod tests;
