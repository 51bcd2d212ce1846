//! `/api/v1/pipeline`: how far the pipeline has got, in each asset's own time.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use forewarn_analytics::HealthQuery;
use serde::Serialize;

use crate::error::ReadErrors;
use crate::{ApiError, AppState};

/// How far the pipeline has got.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Progress {
    /// Per asset, the time of its newest reading the detectors have analysed (ms since the
    /// epoch, device time).
    pub analysed_through_ms: BTreeMap<String, i64>,
    /// Findings the detectors produced that have not yet been decided on (a ticket opened,
    /// joined or absorbed, or matched no failure mode).
    pub findings_pending: u64,
}

/// `GET /api/v1/pipeline`: each asset's newest reading analysed and the findings still on their
/// way to tickets. When every asset's clock has reached a moment and nothing is pending, every
/// ticket that what was published up to that moment opens is open: a client that publishes
/// (a simulator, a replay tool) can wait for it, whatever the machine's speed. 503 while the
/// detectors replay history at start.
#[utoipa::path(get, path = "/api/v1/pipeline", responses((status = 200, body = Progress), ReadErrors))]
pub async fn get(State(s): State<AppState>) -> Result<Json<Progress>, ApiError> {
    // Settled is read before the clocks: what the clocks cover was sent on before they were
    // answered, so a finding counted later is still counted as pending, never missed.
    let settled = s.metrics.findings_settled.get();
    let clocks = crate::assets::ask(&s, HealthQuery::Clocks).await?;
    let produced = s.metrics.findings.get();
    Ok(Json(Progress {
        analysed_through_ms: clocks
            .into_iter()
            .map(|(a, t)| (a.as_str().to_owned(), t))
            .collect(),
        findings_pending: produced.saturating_sub(settled),
    }))
}
