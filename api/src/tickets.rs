//! `/api/v1/tickets`.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use forewarn_maintenance::Ticket;
use serde::Deserialize;

use crate::{ApiError, AppState};

/// Filters of the ticket list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `open` (default) or `all`.
    pub status: Option<String>,
    /// Only this asset's tickets.
    pub asset: Option<String>,
    /// At most this many (1–1000, default 100).
    pub limit: Option<u32>,
}

/// `GET /api/v1/tickets?status=open|all&asset=ID&limit=N`, newest first.
pub async fn list(
    State(s): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<Ticket>>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let open_only = match q.status.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "status must be open or all, not {other:?}"
            )));
        }
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    Ok(Json(
        s.db.tickets(q.asset.as_deref(), open_only, limit).await?,
    ))
}

/// `GET /api/v1/tickets/{id}`.
pub async fn get(
    State(s): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Ticket>, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::bad_request("ticket id must be a number"))?;
    s.db.ticket(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no ticket {id}")))
}
