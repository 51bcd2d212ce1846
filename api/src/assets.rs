//! `/api/v1/assets`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use forewarn_analytics::HealthQuery;
use forewarn_domain::{Asset, AssetHealth, AssetId, FittedModel};
use forewarn_store::SeriesPoint;
use serde::Serialize;

use crate::error::ReadErrors;
use crate::{ApiError, AppState};

/// An asset with its latest values and open tickets.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssetView {
    /// The registration.
    #[serde(flatten)]
    pub asset: Asset,
    /// The newest value of each sensor.
    pub latest: Vec<SeriesPoint>,
    /// Ids of its open tickets.
    pub open_tickets: Vec<i64>,
}

/// `GET /api/v1/assets`.
#[utoipa::path(get, path = "/api/v1/assets", responses((status = 200, body = [AssetView]), ReadErrors))]
pub async fn list(State(s): State<AppState>) -> Result<Json<Vec<AssetView>>, ApiError> {
    let mut open: HashMap<String, Vec<i64>> = HashMap::new();
    for t in s.db.tickets(None, true, 10_000).await? {
        open.entry(t.asset_id).or_default().push(t.id);
    }
    let mut latest = s.store.latest_all().await?;
    Ok(Json(
        s.store
            .assets()
            .into_iter()
            .map(|asset| AssetView {
                latest: latest.remove(&asset.id).unwrap_or_default(),
                open_tickets: open.remove(asset.id.as_str()).unwrap_or_default(),
                asset,
            })
            .collect(),
    ))
}

/// How long a health query may wait for the analytics stage (busy with a batch, or replaying
/// history at start).
const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// `GET /api/v1/assets/{id}/health`: each sensor's state (warming, ok, deviating, faulty), its
/// baseline score, the streaming change score of its last reading and its latest abrupt change,
/// and the joint model's view. An asset with no reading analysed yet has no sensors.
#[utoipa::path(get, path = "/api/v1/assets/{id}/health", params(("id" = String, Path, description = "Asset id")), responses((status = 200, body = AssetHealth), ReadErrors))]
pub async fn health(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<AssetHealth>, ApiError> {
    let id = AssetId::new(&id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    s.store
        .asset(&id)
        .ok_or_else(|| ApiError::not_found(format!("no asset {id}")))?;
    let health = ask_health(&s, &id).await?;
    Ok(Json(health.unwrap_or(AssetHealth {
        asset: id,
        as_of_ms: None,
        sensors: Vec::new(),
        joint: None,
        health: None,
        operating: None,
        operating_point: None,
    })))
}

/// `GET /api/v1/assets/{id}/models`: every version of the asset's fitted joint model, oldest
/// first — what each finding's `joint.model` label names.
#[utoipa::path(get, path = "/api/v1/assets/{id}/models", params(("id" = String, Path, description = "Asset id")), responses((status = 200, body = [FittedModel]), ReadErrors))]
pub async fn models(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<FittedModel>>, ApiError> {
    let id = AssetId::new(&id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    s.store
        .asset(&id)
        .ok_or_else(|| ApiError::not_found(format!("no asset {id}")))?;
    Ok(Json(s.db.models(&id).await?))
}

/// `GET /api/v1/assets/{id}`.
#[utoipa::path(get, path = "/api/v1/assets/{id}", params(("id" = String, Path, description = "Asset id")), responses((status = 200, body = AssetView), ReadErrors))]
pub async fn get(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<AssetView>, ApiError> {
    let id = AssetId::new(&id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let asset = s
        .store
        .asset(&id)
        .ok_or_else(|| ApiError::not_found(format!("no asset {id}")))?;
    let open_tickets =
        s.db.tickets(Some(id.as_str()), true, 1000)
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect();
    Ok(Json(AssetView {
        latest: s.store.latest(&id).await?,
        open_tickets,
        asset,
    }))
}

/// Asks the analytics stage, which holds the detectors, what it answers on a channel; 503 when
/// it does not answer in time (busy, stopping) or is still being rebuilt from history at start.
pub(crate) async fn ask<T>(
    s: &AppState,
    query: impl FnOnce(tokio::sync::oneshot::Sender<T>) -> HealthQuery,
) -> Result<T, ApiError> {
    // While the start-up replays history the detectors cannot answer: say so at once.
    // Nothing failed and nothing secret: the words go to the caller, not to the error log.
    if let Some(why) = s.metrics.loading.describe() {
        return Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            why,
        ));
    }
    let (reply, answer) = tokio::sync::oneshot::channel();
    let unavailable = || ApiError::unavailable("analytics is not answering (busy or stopping)");
    let asked = async {
        s.health.send(query(reply)).await.ok()?;
        answer.await.ok()
    };
    tokio::time::timeout(HEALTH_TIMEOUT, asked)
        .await
        .ok()
        .flatten()
        .ok_or_else(unavailable)
}

/// One asset's live health (`None`: the detectors have not seen it).
pub(crate) async fn ask_health(
    s: &AppState,
    id: &AssetId,
) -> Result<Option<AssetHealth>, ApiError> {
    ask(s, |reply| HealthQuery::Asset(id.clone(), reply)).await
}

/// Every asset's live health, in one question.
pub(crate) async fn ask_fleet_health(s: &AppState) -> Result<Vec<AssetHealth>, ApiError> {
    ask(s, HealthQuery::Fleet).await
}
