//! Which assets exist and what type each is.

use std::collections::HashMap;
use std::sync::Arc;

use forewarn_domain::{Asset, AssetId, AssetType, Catalog};

/// The assets ingest accepts telemetry from, with the catalog that gives each its sensors.
/// Seeded from config and from the store (births persisted earlier); updated by birth messages.
#[derive(Debug, Clone)]
pub struct AssetRegistry {
    catalog: Arc<Catalog>,
    assets: HashMap<AssetId, Asset>,
}

impl AssetRegistry {
    /// An empty registry over a catalog.
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Self {
            catalog,
            assets: HashMap::new(),
        }
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Adds or replaces an asset.
    pub fn register(&mut self, asset: Asset) {
        self.assets.insert(asset.id.clone(), asset);
    }

    /// The asset with this id.
    pub fn get(&self, id: &AssetId) -> Option<&Asset> {
        self.assets.get(id)
    }

    /// The asset and its catalog type.
    pub fn lookup(&self, id: &AssetId) -> Option<(&Asset, Option<&AssetType>)> {
        self.assets
            .get(id)
            .map(|a| (a, self.catalog.asset_type(&a.asset_type)))
    }

    /// How many assets are registered.
    pub fn len(&self) -> usize {
        self.assets.len()
    }

    /// Whether no asset is registered.
    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }
}
