//! Fitted models, every version kept: what a finding's `model` label points to.

use forewarn_domain::{AssetId, FittedModel};
use sqlx::Row;

use crate::{Maintenance, MaintenanceError};

impl Maintenance {
    /// Stores one fitted model. A model already stored (same asset and fit time: the replay at
    /// start refits what it fitted before) is left as it is; returns whether it was new.
    pub async fn record_model(&self, m: &FittedModel) -> Result<bool, MaintenanceError> {
        let json = serde_json::to_string(m).unwrap_or_else(|_| "{}".into());
        let done = sqlx::query(
            "INSERT INTO models (asset_id, fitted_at_ms, version, method, model)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(m.asset.as_str())
        .bind(m.fitted_at_ms)
        .bind(i64::from(m.version))
        .bind(&m.method)
        .bind(json)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every stored version of an asset's models, oldest first. A row that no longer parses (an
    /// older format) is skipped.
    pub async fn models(&self, asset: &AssetId) -> Result<Vec<FittedModel>, MaintenanceError> {
        let rows =
            sqlx::query("SELECT model FROM models WHERE asset_id = $1 ORDER BY fitted_at_ms")
                .bind(asset.as_str())
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .iter()
            .filter_map(|r| serde_json::from_str(r.get::<&str, _>(0)).ok())
            .collect())
    }
}
