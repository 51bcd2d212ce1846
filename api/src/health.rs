//! Liveness (`/healthz`: the process answers), readiness (`/readyz`: it takes data) and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ReadErrors;

/// `GET /healthz`.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Alive", body = Object), ReadErrors))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: 200 when the service takes data — connected and subscribed to its broker, its
/// database answering, its store writing, its detectors rebuilt from history — else 503, saying
/// which is not and why (`loading`: how many assets' history is replayed so far). What it runs
/// without meanwhile (the InfluxDB mirror, say) is listed under `degraded` either way.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "Ready", body = Object), (status = 503, description = "Not ready, with why", body = Object)))]
pub async fn readyz(State(s): State<AppState>) -> (StatusCode, Json<Value>) {
    let broker = s.metrics.broker.get();
    let database = s.db.ping().await.err().map(|e| e.to_string());
    let degraded = s.metrics.degradations.list();
    let blocking: Vec<_> = degraded
        .iter()
        .filter(|d| d.dependency.blocks_ingest())
        .collect();
    let loading = s.metrics.loading.get();
    let ready = broker.connected && database.is_none() && blocking.is_empty() && loading.is_none();
    let mut why = Vec::new();
    if let Some(l) = s.metrics.loading.describe() {
        why.push(format!("loading: {l}"));
    }
    if let Some(e) = &broker.error {
        why.push(format!("broker: {e}"));
    }
    if let Some(e) = &database {
        why.push(format!("database: {e}"));
    }
    for d in blocking {
        why.push(format!("{}: {}", d.dependency.as_str(), d.reason));
    }
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "broker": broker,
        "database": {"ok": database.is_none(), "error": database},
        "degraded": degraded,
        "findings_pending": s.metrics.findings_pending.get(),
        "loading": loading,
        "why": why,
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// `GET /metrics`: Prometheus text format.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String), ReadErrors))]
pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    s.metrics.assets.set(s.store.assets().len() as i64);
    // Tokens change in another process (`forewarn token`): counted from the database. A database
    // that does not answer leaves the last counts; the rest of the scrape still works.
    match s.db.token_counts().await {
        Ok(counts) => {
            let counts: Vec<_> = counts
                .into_iter()
                .map(|(role, state, n)| (role.as_str(), state, n))
                .collect();
            s.metrics.set_api_tokens(&counts);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count API tokens"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
}
