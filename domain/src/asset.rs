//! Assets: what the fleet is made of.

use serde::{Deserialize, Serialize};

use crate::{AssetId, AssetTypeId, SiteId};

/// A registered piece of equipment. Assets register themselves with a retained birth message or
/// are listed in the config; either way they name an asset type of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}
