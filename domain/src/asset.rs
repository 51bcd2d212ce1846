//! Assets: what the fleet is made of.

use serde::{Deserialize, Serialize};

use crate::{AssetId, AssetTypeId, SiteId};

/// A registered piece of equipment. Assets register themselves with a retained birth message or
/// are listed in the config; either way they name an asset type of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Asset {
    /// The asset's id.
    pub id: AssetId,
    /// The site it belongs to.
    pub site: SiteId,
    /// Its type in the catalog, which fixes its sensors and failure modes.
    pub asset_type: AssetTypeId,
    /// Manufacturer model, free text.
    #[serde(default)]
    pub model: String,
    /// Where it stands, free text.
    #[serde(default)]
    pub location: String,
    /// How much its failure costs (production stops, safety): weighs its tickets' priority.
    #[serde(default)]
    pub criticality: Criticality,
}

/// How much an asset's failure costs.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Criticality {
    /// Redundant or non-essential.
    Low,
    /// The default.
    #[default]
    Medium,
    /// Its failure stops production or endangers people.
    High,
}

impl Criticality {
    /// Parses `low`, `medium` or `high`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "low" => Some(Self::Low),
            "medium" => Some(Self::Medium),
            "high" => Some(Self::High),
            _ => None,
        }
    }
}
