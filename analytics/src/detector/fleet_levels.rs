//! The failure levels the detector extrapolates to, learnt from the fleet's repairs.
//!
//! Each machine mode's catalog `failure_scores` are the priors. When a repair that found a
//! mode takes effect on an asset (at its first reading after the repair, live and in a replay
//! alike), each of the mode's signature sensors tells what it had reached — its smoothed score
//! in the mode's direction, on the very scale the levels are compared against — and whether the
//! machine had failed (a corrective ticket) or was repaired short of failing. The mode's level
//! per sensor is re-estimated by [`crate::levels::learn`]; a sensor and direction's level is the
//! lowest over the type's modes, as in the catalog. Every change is a new version of the asset
//! type's levels, named on each finding's health.
//!
//! The evidence lives in memory and is rebuilt by the start-up replay, which applies the stored
//! repairs at the same moments of the same history: a restart arrives at the same version.

use std::collections::HashMap;

use forewarn_domain::{
    AssetTypeId, Catalog, Direction, FailureLevels, FailureModeId, LevelsVersion, ModeKind,
    SensorName,
};

use crate::levels::{LOG_SPREAD, LevelEvidence, learn, predictive_spread};

/// One signature sensor of one mode: its prior and what repairs have shown.
#[derive(Debug, Clone)]
struct ModeLevel {
    mode: FailureModeId,
    sensor: SensorName,
    direction: Direction,
    prior: f64,
    /// Between machines, log scale (the catalog's `failure_spread`, else the default).
    spread: f64,
    evidence: Vec<LevelEvidence>,
    level: f64,
}

impl ModeLevel {
    /// Where one more machine's level may lie around the learnt one (log scale).
    fn predictive_spread(&self) -> f64 {
        let failures = self.evidence.iter().filter(|e| e.failed).count();
        predictive_spread(self.spread, failures)
    }
}

/// A failure level in use: the level and how much it varies between machines (log scale).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LevelInUse {
    pub level: f64,
    pub spread: f64,
}

/// Failure levels per asset type.
#[derive(Debug, Default)]
pub(crate) struct FleetLevels {
    modes: HashMap<AssetTypeId, Vec<ModeLevel>>,
    /// In use: per sensor and direction, the lowest of the modes' levels.
    current: HashMap<AssetTypeId, FailureLevels>,
    /// The spread of the level in use, per sensor and direction.
    spreads: HashMap<AssetTypeId, HashMap<(SensorName, Direction), f64>>,
    versions: HashMap<AssetTypeId, LevelsVersion>,
}

impl FleetLevels {
    /// The catalog's levels, version 0 of every type.
    pub fn from_catalog(catalog: &Catalog) -> Self {
        let mut out = Self::default();
        for (id, ty) in &catalog.asset_types {
            let mut modes = Vec::new();
            for mode in ty
                .failure_modes
                .iter()
                .filter(|m| m.kind == ModeKind::Machine)
            {
                for (sensor, direction) in &mode.signature {
                    if let Some(&prior) = mode.failure_scores.get(sensor) {
                        modes.push(ModeLevel {
                            mode: mode.id.clone(),
                            sensor: sensor.clone(),
                            direction: *direction,
                            prior,
                            spread: mode
                                .failure_spread
                                .get(sensor)
                                .copied()
                                .unwrap_or(LOG_SPREAD),
                            evidence: Vec::new(),
                            level: prior,
                        });
                    }
                }
            }
            out.current.insert(id.clone(), ty.failure_levels());
            out.spreads.insert(id.clone(), spreads(&modes));
            out.versions.insert(id.clone(), LevelsVersion::default());
            out.modes.insert(id.clone(), modes);
        }
        out
    }

    /// The levels in use for `ty`.
    pub fn levels(&self, ty: &AssetTypeId) -> Option<&FailureLevels> {
        self.current.get(ty)
    }

    /// The level in use for `sensor` deviating in `direction` on `ty`, with its spread.
    pub fn level(
        &self,
        ty: &AssetTypeId,
        sensor: &SensorName,
        direction: Direction,
    ) -> Option<LevelInUse> {
        let key = (sensor.clone(), direction);
        let level = *self.current.get(ty)?.get(&key)?;
        let spread = self
            .spreads
            .get(ty)
            .and_then(|s| s.get(&key))
            .copied()
            .unwrap_or(LOG_SPREAD);
        Some(LevelInUse { level, spread })
    }

    /// The signature sensors of `ty`'s machine modes that have a level: (mode, sensor,
    /// direction).
    pub fn signatures(
        &self,
        ty: &AssetTypeId,
    ) -> impl Iterator<Item = (&FailureModeId, &SensorName, Direction)> {
        self.modes
            .get(ty)
            .into_iter()
            .flatten()
            .map(|m| (&m.mode, &m.sensor, m.direction))
    }

    /// Which version of `ty`'s levels is in use.
    pub fn version(&self, ty: &AssetTypeId) -> Option<LevelsVersion> {
        self.versions.get(ty).copied()
    }

    /// A repair that found `mode` on an asset of type `ty` took effect; `scores` are its
    /// sensors' smoothed scores just before (signed), `failed` whether the machine had failed.
    pub fn learn(
        &mut self,
        ty: &AssetTypeId,
        mode: &FailureModeId,
        failed: bool,
        scores: &[(SensorName, f64)],
    ) {
        let Some(modes) = self.modes.get_mut(ty) else {
            return;
        };
        let mut learnt = false;
        for m in modes.iter_mut().filter(|m| &m.mode == mode) {
            let Some(&(_, score)) = scores.iter().find(|(s, _)| s == &m.sensor) else {
                continue;
            };
            let toward = match m.direction {
                Direction::Up => score,
                Direction::Down => -score,
            };
            // A sensor that had not moved the mode's way says nothing about where it fails.
            if !(toward.is_finite() && toward > 0.0) {
                continue;
            }
            m.evidence.push(LevelEvidence {
                score: toward,
                failed,
            });
            m.level = learn(m.prior, m.spread, &m.evidence).level;
            learnt = true;
        }
        if !learnt {
            return;
        }
        let mut levels = FailureLevels::new();
        for m in modes.iter() {
            let l = levels
                .entry((m.sensor.clone(), m.direction))
                .or_insert(m.level);
            *l = l.min(m.level);
        }
        self.current.insert(ty.clone(), levels);
        self.spreads.insert(ty.clone(), spreads(modes));
        let v = self.versions.entry(ty.clone()).or_default();
        v.version += 1;
        v.failures += u32::from(failed);
        v.repairs += u32::from(!failed);
    }
}

/// Per sensor and direction, the predictive spread of the mode whose level is in use (the
/// lowest).
fn spreads(modes: &[ModeLevel]) -> HashMap<(SensorName, Direction), f64> {
    let mut lowest: HashMap<(SensorName, Direction), &ModeLevel> = HashMap::new();
    for m in modes {
        let e = lowest.entry((m.sensor.clone(), m.direction)).or_insert(m);
        if m.level < e.level {
            *e = m;
        }
    }
    lowest
        .into_iter()
        .map(|(k, m)| (k, m.predictive_spread()))
        .collect()
}
