//! The equipment catalog: asset types, their sensors, their failure modes and the parts each needs.
//!
//! The catalog is configuration (a TOML file shipped in `config/catalog.toml`). It is parsed and
//! cross-checked once; afterwards every lookup is infallible in the sense that ids in the catalog
//! are known to be consistent (a failure-mode signature only names sensors of its asset type).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{AssetTypeId, FailureModeId, SensorName};

/// Which way a sensor moves away from normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Above its baseline.
    Up,
    /// Below its baseline.
    Down,
}

/// One sensor of an asset type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorSpec {
    /// Engineering unit, for display.
    pub unit: String,
    /// Lowest physically meaningful value (display and plausibility).
    pub min: f64,
    /// Highest physically meaningful value.
    pub max: f64,
}

/// A spare part a repair needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartRequirement {
    /// The part number in the parts catalog / ERP.
    pub part_number: String,
    /// What it is.
    #[serde(default)]
    pub description: String,
    /// How many a repair uses.
    pub quantity: u32,
}

/// Whether a failure mode is the machine's or its instruments'.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModeKind {
    /// The equipment itself degrades (a bearing, an impeller, a winding).
    #[default]
    Machine,
    /// A sensor or transmitter misreads (stuck, spiking, silent, out of range): a job for
    /// instrumentation, never a reason to open the machine.
    Instrumentation,
}

/// A way an asset type fails, how it shows in the sensors, and what fixing it takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureMode {
    /// The failure mode's id.
    pub id: FailureModeId,
    /// Human-readable name.
    pub name: String,
    /// The name in other languages, by language code (`zh = "轴承磨损"`); pages in a language
    /// without one show `name`.
    #[serde(default)]
    pub names: BTreeMap<String, String>,
    /// Machine or instrumentation (default machine).
    #[serde(default)]
    pub kind: ModeKind,
    /// The deviations that identify this mode: every listed sensor must deviate in its direction.
    /// Empty for an instrumentation mode, which sensor faults identify instead.
    #[serde(default)]
    pub signature: BTreeMap<SensorName, Direction>,
    /// Spare parts a repair needs.
    #[serde(default)]
    pub parts: Vec<PartRequirement>,
    /// What a technician needs for the job, every one of them (empty: the mode's id).
    #[serde(default)]
    pub skills: Vec<String>,
    /// How far (smoothed robust σ) each signature sensor has deviated when this mode fails,
    /// learnt from run-to-failure history: the level a deviation's trend is extrapolated to for
    /// the remaining useful life. A sensor without one gets no time to failure.
    #[serde(default)]
    pub failure_scores: BTreeMap<SensorName, f64>,
    /// How much that level varies between machines, per signature sensor: the standard
    /// deviation of its natural logarithm (0.15: one machine in three fails more than ±15 % from
    /// the level). It widens the remaining-life interval; without one, 0.35.
    #[serde(default)]
    pub failure_spread: BTreeMap<SensorName, f64>,
}

impl FailureMode {
    /// The skills a technician needs for this mode's repair: those the catalog lists, or else
    /// the mode's id itself.
    pub fn required_skills(&self) -> Vec<String> {
        if self.skills.is_empty() {
            vec![self.id.as_str().to_owned()]
        } else {
            self.skills.clone()
        }
    }
}

/// A kind of equipment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetType {
    /// Human-readable description.
    #[serde(default)]
    pub description: String,
    /// Its sensors by name.
    pub sensors: BTreeMap<SensorName, SensorSpec>,
    /// Its failure modes.
    #[serde(default)]
    pub failure_modes: Vec<FailureMode>,
}

impl AssetType {
    /// The failure mode with this id, if the type has it.
    pub fn failure_mode(&self, id: &FailureModeId) -> Option<&FailureMode> {
        self.failure_modes.iter().find(|m| &m.id == id)
    }

    /// How far (smoothed robust σ) each sensor may go in each direction before some failure
    /// mode of this type fails: the smallest of the modes' `failure_scores` for a sensor of
    /// their signature in that direction. The scale of the health index.
    pub fn failure_levels(&self) -> FailureLevels {
        let mut levels = FailureLevels::new();
        for mode in &self.failure_modes {
            for (sensor, dir) in &mode.signature {
                let Some(&level) = mode.failure_scores.get(sensor) else {
                    continue;
                };
                let l = levels.entry((sensor.clone(), *dir)).or_insert(level);
                *l = l.min(level);
            }
        }
        levels
    }
}

/// A sensor's failure level per direction (see [`AssetType::failure_levels`]).
pub type FailureLevels = std::collections::HashMap<(SensorName, Direction), f64>;

/// Why a catalog was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Not valid TOML or not the catalog's shape.
    #[error("catalog is not valid: {0}")]
    Parse(#[from] toml::de::Error),
    /// A failure mode's signature names a sensor its asset type does not have.
    #[error("failure mode {mode} of {asset_type} names unknown sensor {sensor}")]
    UnknownSignatureSensor {
        /// The asset type.
        asset_type: AssetTypeId,
        /// The failure mode.
        mode: FailureModeId,
        /// The sensor it names.
        sensor: SensorName,
    },
    /// A failure score for a sensor outside the mode's signature, or not a positive number.
    #[error(
        "failure mode {mode} of {asset_type}: failure score of {sensor} must be a positive number for a signature sensor"
    )]
    BadFailureScore {
        /// The asset type.
        asset_type: AssetTypeId,
        /// The failure mode.
        mode: FailureModeId,
        /// The sensor.
        sensor: SensorName,
    },
    /// A failure mode has an empty signature and could never be recognised.
    #[error("failure mode {mode} of {asset_type} has an empty signature")]
    EmptySignature {
        /// The asset type.
        asset_type: AssetTypeId,
        /// The failure mode.
        mode: FailureModeId,
    },
    /// Two failure modes of one type share an id.
    #[error("asset type {asset_type} defines failure mode {mode} twice")]
    DuplicateMode {
        /// The asset type.
        asset_type: AssetTypeId,
        /// The repeated failure mode.
        mode: FailureModeId,
    },
    /// A sensor's range is empty or not finite.
    #[error("sensor {sensor} of {asset_type} has an invalid range")]
    BadRange {
        /// The asset type.
        asset_type: AssetTypeId,
        /// The sensor.
        sensor: SensorName,
    },
    /// A part requirement asks for zero units.
    #[error("failure mode {mode} of {asset_type} needs zero of part {part_number}")]
    ZeroQuantity {
        /// The asset type.
        asset_type: AssetTypeId,
        /// The failure mode.
        mode: FailureModeId,
        /// The part.
        part_number: String,
    },
}

/// All asset types Forewarn knows.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Asset types by id.
    pub asset_types: BTreeMap<AssetTypeId, AssetType>,
}

impl Catalog {
    /// Parses a catalog from TOML and checks it is self-consistent.
    pub fn from_toml(text: &str) -> Result<Self, CatalogError> {
        let catalog: Catalog = toml::from_str(text)?;
        catalog.validate()?;
        Ok(catalog)
    }

    /// The asset type with this id.
    pub fn asset_type(&self, id: &AssetTypeId) -> Option<&AssetType> {
        self.asset_types.get(id)
    }

    /// Every part the bills of materials name: (part number, description), as often as named.
    pub fn bill_of_materials(&self) -> Vec<(&str, &str)> {
        self.asset_types
            .values()
            .flat_map(|t| &t.failure_modes)
            .flat_map(|m| &m.parts)
            .map(|p| (p.part_number.as_str(), p.description.as_str()))
            .collect()
    }

    /// The catalog's name of failure mode `id` in language `lang` (`en`, `zh`), else its
    /// `name` (as the first asset type having it names it): pages show names, not ids.
    pub fn mode_name(&self, id: &str, lang: &str) -> Option<&str> {
        let mode = self
            .asset_types
            .values()
            .flat_map(|t| &t.failure_modes)
            .find(|m| m.id.as_str() == id)?;
        mode.names
            .get(lang)
            .map(String::as_str)
            .or(Some(mode.name.as_str()))
            .filter(|n| !n.is_empty())
    }

    fn validate(&self) -> Result<(), CatalogError> {
        for (type_id, ty) in &self.asset_types {
            for (sensor, spec) in &ty.sensors {
                if !(spec.min.is_finite() && spec.max.is_finite() && spec.min < spec.max) {
                    return Err(CatalogError::BadRange {
                        asset_type: type_id.clone(),
                        sensor: sensor.clone(),
                    });
                }
            }
            for (i, mode) in ty.failure_modes.iter().enumerate() {
                if ty.failure_modes[..i].iter().any(|m| m.id == mode.id) {
                    return Err(CatalogError::DuplicateMode {
                        asset_type: type_id.clone(),
                        mode: mode.id.clone(),
                    });
                }
                if mode.signature.is_empty() && mode.kind == ModeKind::Machine {
                    return Err(CatalogError::EmptySignature {
                        asset_type: type_id.clone(),
                        mode: mode.id.clone(),
                    });
                }
                if let Some(sensor) = mode.signature.keys().find(|s| !ty.sensors.contains_key(*s)) {
                    return Err(CatalogError::UnknownSignatureSensor {
                        asset_type: type_id.clone(),
                        mode: mode.id.clone(),
                        sensor: sensor.clone(),
                    });
                }
                if let Some((sensor, _)) = mode
                    .failure_scores
                    .iter()
                    .chain(&mode.failure_spread)
                    .find(|(s, v)| !(mode.signature.contains_key(*s) && v.is_finite() && **v > 0.0))
                {
                    return Err(CatalogError::BadFailureScore {
                        asset_type: type_id.clone(),
                        mode: mode.id.clone(),
                        sensor: sensor.clone(),
                    });
                }
                if let Some(part) = mode.parts.iter().find(|p| p.quantity == 0) {
                    return Err(CatalogError::ZeroQuantity {
                        asset_type: type_id.clone(),
                        mode: mode.id.clone(),
                        part_number: part.part_number.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
        [asset_types.pump]
        description = "a pump"
        sensors.vib = { unit = "mm/s", min = 0.0, max = 50.0 }
        sensors.temp = { unit = "C", min = -20.0, max = 150.0 }
        [[asset_types.pump.failure_modes]]
        id = "bearing_wear"
        name = "Bearing wear"
        signature = { vib = "up", temp = "up" }
        parts = [{ part_number = "BRG-1", quantity = 2 }]
    "#;

    #[test]
    fn parses_and_looks_up() {
        let c = Catalog::from_toml(SMALL).unwrap();
        let ty = c.asset_type(&AssetTypeId::new("pump").unwrap()).unwrap();
        let mode = ty
            .failure_mode(&FailureModeId::new("bearing_wear").unwrap())
            .unwrap();
        assert_eq!(mode.signature.len(), 2);
        assert_eq!(mode.parts[0].quantity, 2);
    }

    #[test]
    fn rejects_signature_on_unknown_sensor() {
        let bad = SMALL.replace("vib = \"up\"", "flow = \"down\"");
        assert!(matches!(
            Catalog::from_toml(&bad),
            Err(CatalogError::UnknownSignatureSensor { .. })
        ));
    }

    #[test]
    fn failure_scores_belong_to_signature_sensors_and_are_positive() {
        let sig = "signature = { vib = \"up\", temp = \"up\" }";
        assert!(SMALL.contains(sig));
        let with = |scores: &str| SMALL.replace(sig, &format!("{sig}\nfailure_scores = {scores}"));
        let ok = Catalog::from_toml(&with("{ vib = 60.0 }")).unwrap();
        let ty = ok.asset_types.values().next().unwrap();
        assert_eq!(ty.failure_modes[0].failure_scores.len(), 1);
        for bad in ["{ flow = 3.0 }", "{ vib = -1.0 }", "{ vib = 0.0 }"] {
            assert!(
                matches!(
                    Catalog::from_toml(&with(bad)),
                    Err(CatalogError::BadFailureScore { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_unknown_fields_and_bad_ranges() {
        let bad = SMALL.replace("description = \"a pump\"", "descr = \"a pump\"");
        assert!(matches!(
            Catalog::from_toml(&bad),
            Err(CatalogError::Parse(_))
        ));
        let bad = SMALL.replace("min = 0.0, max = 50.0", "min = 5.0, max = 1.0");
        assert!(matches!(
            Catalog::from_toml(&bad),
            Err(CatalogError::BadRange { .. })
        ));
        let bad = SMALL.replace("quantity = 2", "quantity = 0");
        assert!(matches!(
            Catalog::from_toml(&bad),
            Err(CatalogError::ZeroQuantity { .. })
        ));
    }
}
