//! `[starter]` in the configuration: sites, warehouses with their opening stock, and a crew,
//! put into an empty database on the first start so the first ticket gets a technician and
//! reserved parts instead of "no active technician" and requisitions only. Afterwards they are
//! the database's, managed through the API, the pages and the CSV imports: the file does not
//! overwrite what people changed since.

use forewarn_maintenance::Maintenance;
use forewarn_maintenance::dispatch::Technician;
use forewarn_maintenance::parts::{Actor, Site, Warehouse};
use serde::Deserialize;

/// `[starter]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Starter {
    /// Sites with their coordinates (what distances are measured from).
    #[serde(default)]
    pub sites: Vec<Site>,
    /// Warehouses.
    #[serde(default)]
    pub warehouses: Vec<Warehouse>,
    /// Opening stock.
    #[serde(default)]
    pub stock: Vec<StockLine>,
    /// Technicians.
    #[serde(default)]
    pub technicians: Vec<Technician>,
}

/// One part's opening stock in one warehouse.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockLine {
    /// The warehouse.
    pub warehouse: String,
    /// The part (from the catalog's bills of materials or imported).
    pub part_number: String,
    /// How many are on the shelf.
    pub quantity: i64,
    /// Below this many available, a low-stock alert (default 0: none).
    #[serde(default)]
    pub reorder_point: i64,
    /// Where on the shelves.
    #[serde(default)]
    pub bin: String,
}

impl Starter {
    /// Puts everything into `db` when it has neither a warehouse nor a technician yet; returns
    /// whether it did.
    pub async fn seed(&self, db: &Maintenance) -> anyhow::Result<bool> {
        let empty = db.warehouses().await?.is_empty() && db.technicians().await?.is_empty();
        if !empty || (self.warehouses.is_empty() && self.technicians.is_empty()) {
            return Ok(false);
        }
        for s in &self.sites {
            db.put_site(s).await?;
        }
        for w in &self.warehouses {
            db.put_warehouse(w).await?;
        }
        let who = Actor {
            name: "forewarn",
            note: Some("opening stock from [starter] in the configuration"),
        };
        for l in &self.stock {
            if l.quantity > 0 {
                db.receive(who, &l.warehouse, &l.part_number, l.quantity)
                    .await?;
            }
            db.set_stock_settings(&l.warehouse, &l.part_number, l.reorder_point, &l.bin)
                .await?;
        }
        for t in &self.technicians {
            db.put_technician(t).await?;
        }
        tracing::info!(
            sites = self.sites.len(),
            warehouses = self.warehouses.len(),
            stock_lines = self.stock.len(),
            technicians = self.technicians.len(),
            "first start: the configuration's starter crew and stores are in the database"
        );
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, EXAMPLE_CONFIG};

    #[tokio::test]
    async fn the_example_config_gives_an_empty_database_a_crew_and_stock_once() {
        let cfg = Config::parse(EXAMPLE_CONFIG).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let db = forewarn_maintenance::Maintenance::open(dir.path())
            .await
            .unwrap();
        let catalog = cfg.catalog().unwrap();
        db.add_catalog_parts(catalog.bill_of_materials())
            .await
            .unwrap();
        assert!(cfg.starter.seed(&db).await.unwrap());
        let crew = db.technicians().await.unwrap();
        assert_eq!(crew.len(), 3);
        // Every catalog part is stocked somewhere: a first ticket of any mode reserves.
        let stock = db.stock(None, None, false).await.unwrap();
        for (part, _) in catalog.bill_of_materials() {
            assert!(
                stock
                    .iter()
                    .any(|s| s.part_number == part && s.available > 0),
                "{part} is not stocked"
            );
        }
        // A second start leaves the database as people left it.
        db.receive(
            forewarn_maintenance::parts::Actor {
                name: "t",
                note: None,
            },
            "main",
            "BRG-6309-2RS",
            1,
        )
        .await
        .unwrap();
        assert!(!cfg.starter.seed(&db).await.unwrap());
        let again = db
            .stock(Some("main"), Some("BRG-6309-2RS"), false)
            .await
            .unwrap();
        assert_eq!(again[0].available, 5);
    }
}
