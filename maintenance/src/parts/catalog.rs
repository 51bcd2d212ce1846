//! Master data of the parts side: sites (where assets stand), the parts catalog, warehouses, and
//! the stock settings per warehouse and part (reorder point, bin). Upserts, so an import or an
//! API call can be repeated.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::StockError;
use crate::{Maintenance, MaintenanceError};

/// A site and where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The id assets name in their `site`.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Latitude in degrees, when known.
    #[serde(default)]
    pub lat: Option<f64>,
    /// Longitude in degrees, when known.
    #[serde(default)]
    pub lon: Option<f64>,
}

/// A part in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Part {
    /// The part number (as in the ERP and the bills of materials).
    pub part_number: String,
    /// What it is.
    #[serde(default)]
    pub description: String,
    /// What one unit is (`pcs`, `l`, `m`...).
    #[serde(default = "pcs")]
    pub unit: String,
    /// Cost of one unit, if known.
    #[serde(default)]
    pub unit_cost: Option<f64>,
}

fn pcs() -> String {
    "pcs".into()
}

/// A warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Warehouse {
    /// Its id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// The site it stands at, if any (its stock is nearest for that site's assets).
    #[serde(default)]
    pub site: Option<String>,
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

/// Stock of one part at one warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StockLevel {
    /// Where.
    pub warehouse_id: String,
    /// Which part.
    pub part_number: String,
    /// On the shelf.
    pub on_hand: i64,
    /// Of those, held for tickets.
    pub reserved: i64,
    /// Free to reserve: `on_hand - reserved`.
    pub available: i64,
    /// Below this many available, a low-stock alert is raised.
    pub reorder_point: i64,
    /// Shelf location inside the warehouse.
    pub bin: String,
    /// Whether available is below the reorder point.
    pub low: bool,
}

/// Checks an id or part number: 1–64 printable characters without spaces at either end.
pub(crate) fn check_id(what: &str, id: &str) -> Result<(), StockError> {
    if id.is_empty() || id.len() > 64 || id.trim() != id || id.chars().any(char::is_control) {
        return Err(StockError::Invalid(format!(
            "{what} {id:?} must be 1 to 64 printable characters without surrounding spaces"
        )));
    }
    Ok(())
}

fn check_coordinates(lat: Option<f64>, lon: Option<f64>) -> Result<(), StockError> {
    if lat.is_some() != lon.is_some() {
        return Err(StockError::Invalid(
            "give both lat and lon, or neither".into(),
        ));
    }
    if lat.is_some_and(|l| !(-90.0..=90.0).contains(&l)) {
        return Err(StockError::Invalid("lat must be within -90 to 90".into()));
    }
    if lon.is_some_and(|l| !(-180.0..=180.0).contains(&l)) {
        return Err(StockError::Invalid("lon must be within -180 to 180".into()));
    }
    Ok(())
}

impl Site {
    /// Checks the fields before they are stored.
    pub fn validate(&self) -> Result<(), StockError> {
        check_id("site id", &self.id)?;
        check_coordinates(self.lat, self.lon)
    }
}

impl Part {
    /// Checks the fields before they are stored.
    pub fn validate(&self) -> Result<(), StockError> {
        check_id("part number", &self.part_number)?;
        if self.unit.trim().is_empty() {
            return Err(StockError::Invalid("unit must not be empty".into()));
        }
        if self.unit_cost.is_some_and(|c| !(c >= 0.0 && c.is_finite())) {
            return Err(StockError::Invalid(
                "unit_cost must be a non-negative number".into(),
            ));
        }
        Ok(())
    }
}

impl Warehouse {
    /// Checks the fields before they are stored.
    pub fn validate(&self) -> Result<(), StockError> {
        check_id("warehouse id", &self.id)?;
        if let Some(site) = &self.site {
            check_id("site id", site)?;
        }
        check_coordinates(Some(self.lat), Some(self.lon))
    }
}

impl Maintenance {
    /// Creates or replaces a site.
    pub async fn put_site(&self, site: &Site) -> Result<(), StockError> {
        site.validate()?;
        sqlx::query(
            "INSERT INTO sites (id, name, lat, lon) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, lat = excluded.lat, lon = excluded.lon",
        )
        .bind(&site.id)
        .bind(&site.name)
        .bind(site.lat)
        .bind(site.lon)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every site, by id.
    pub async fn sites(&self) -> Result<Vec<Site>, MaintenanceError> {
        let rows = sqlx::query("SELECT id, name, lat, lon FROM sites ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| Site {
                id: r.get(0),
                name: r.get(1),
                lat: r.get(2),
                lon: r.get(3),
            })
            .collect())
    }

    /// Creates or replaces a catalog part.
    pub async fn put_part(&self, part: &Part) -> Result<(), StockError> {
        part.validate()?;
        let mut conn = self.pool.acquire().await?;
        upsert_part(&mut conn, part).await
    }

    /// Adds the parts the equipment catalog's bills of materials name, keeping those already
    /// known (their descriptions may have been edited since).
    pub async fn add_catalog_parts(
        &self,
        parts: impl IntoIterator<Item = (&str, &str)>,
    ) -> Result<(), MaintenanceError> {
        let mut tx = self.pool.begin().await?;
        for (number, description) in parts {
            sqlx::query(
                "INSERT INTO parts (part_number, description) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(number)
            .bind(description)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The parts catalog, by part number.
    pub async fn parts(&self) -> Result<Vec<Part>, MaintenanceError> {
        let rows = sqlx::query(
            "SELECT part_number, description, unit, unit_cost FROM parts ORDER BY part_number",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Part {
                part_number: r.get(0),
                description: r.get(1),
                unit: r.get(2),
                unit_cost: r.get(3),
            })
            .collect())
    }

    /// Creates or replaces a warehouse.
    pub async fn put_warehouse(&self, w: &Warehouse) -> Result<(), StockError> {
        w.validate()?;
        sqlx::query(
            "INSERT INTO warehouses (id, name, site, lat, lon) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, site = excluded.site,
                 lat = excluded.lat, lon = excluded.lon",
        )
        .bind(&w.id)
        .bind(&w.name)
        .bind(&w.site)
        .bind(w.lat)
        .bind(w.lon)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every warehouse, by id.
    pub async fn warehouses(&self) -> Result<Vec<Warehouse>, MaintenanceError> {
        let rows = sqlx::query("SELECT id, name, site, lat, lon FROM warehouses ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| Warehouse {
                id: r.get(0),
                name: r.get(1),
                site: r.get(2),
                lat: r.get(3),
                lon: r.get(4),
            })
            .collect())
    }

    /// Sets the reorder point and bin of a part at a warehouse (creating its stock row, empty).
    pub async fn set_stock_settings(
        &self,
        warehouse: &str,
        part: &str,
        reorder_point: i64,
        bin: &str,
    ) -> Result<StockLevel, StockError> {
        if !(0..=super::MAX_STOCK).contains(&reorder_point) {
            return Err(StockError::Invalid(format!(
                "reorder_point must be 0 to {}",
                super::MAX_STOCK
            )));
        }
        let mut tx = self.begin_write().await?;
        super::ledger::ensure_row(&mut tx, warehouse, part).await?;
        sqlx::query(
            "UPDATE stock SET reorder_point = $1, bin = $2 WHERE warehouse_id = $3 AND part_number = $4",
        )
        .bind(reorder_point)
        .bind(bin)
        .bind(warehouse)
        .bind(part)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut level = self.stock(Some(warehouse), Some(part), false).await?;
        level
            .pop()
            .ok_or_else(|| StockError::NotFound(format!("no stock of {part} at {warehouse}")))
    }

    /// Stock levels, optionally of one warehouse or part, optionally only those below their
    /// reorder point; by warehouse and part.
    pub async fn stock(
        &self,
        warehouse: Option<&str>,
        part: Option<&str>,
        low_only: bool,
    ) -> Result<Vec<StockLevel>, MaintenanceError> {
        let rows = sqlx::query(
            "SELECT warehouse_id, part_number, on_hand, reserved, reorder_point, bin FROM stock
             WHERE ($1 IS NULL OR warehouse_id = $1) AND ($2 IS NULL OR part_number = $2)
               AND ($3 = 0 OR on_hand - reserved < reorder_point)
             ORDER BY warehouse_id, part_number",
        )
        .bind(warehouse)
        .bind(part)
        .bind(i64::from(low_only))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let (on_hand, reserved, reorder_point): (i64, i64, i64) =
                    (r.get(2), r.get(3), r.get(4));
                StockLevel {
                    warehouse_id: r.get(0),
                    part_number: r.get(1),
                    on_hand,
                    reserved,
                    available: on_hand - reserved,
                    reorder_point,
                    bin: r.get(5),
                    low: on_hand - reserved < reorder_point,
                }
            })
            .collect())
    }
}

/// Creates or replaces a (validated) part on `conn`.
pub(crate) async fn upsert_part(
    conn: &mut sqlx::AnyConnection,
    part: &Part,
) -> Result<(), StockError> {
    sqlx::query(
        "INSERT INTO parts (part_number, description, unit, unit_cost) VALUES ($1, $2, $3, $4)
         ON CONFLICT (part_number) DO UPDATE SET description = excluded.description,
             unit = excluded.unit, unit_cost = excluded.unit_cost",
    )
    .bind(&part.part_number)
    .bind(&part.description)
    .bind(&part.unit)
    .bind(part.unit_cost)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
