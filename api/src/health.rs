//! Liveness and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ReadErrors;

/// `GET /healthz`.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Alive", body = Object), ReadErrors))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /metrics`: Prometheus text format.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String), ReadErrors))]
pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    s.metrics.assets.set(s.store.assets().len() as i64);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
}
