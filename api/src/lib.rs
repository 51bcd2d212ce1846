//! The HTTP API (axum) and the dashboard routes.
//!
//! One module per resource: [`health`] (liveness and Prometheus metrics), [`assets`] (with their
//! live health and model versions), [`telemetry`] (raw or downsampled history of one sensor),
//! [`fleet_telemetry`] (one sensor across many assets), [`tickets`] (lifecycle, audit, KPIs,
//! ratings), [`ticket_parts`] (what a ticket holds and waits for; issue, consume, return),
//! [`import`] (CSV files of assets, parts, stock, technicians), [`webhooks`] (subscriptions, delivery logs, the outbox), [`dispatch`] (technicians, candidates, assignment), [`stock`] (sites, parts, warehouses, stock, ledger, requisitions), [`findings`] (findings from outside, tickets by hand), [`events`] (server-sent
//! events) and [`pages`] (the server-rendered dashboard); [`auth`] turns a bearer token into a
//! caller with a role, which every write needs. Every error is an RFC 9457 problem details object
//! (`application/problem+json`: `type`, `title`, `status`, `detail`, and `error` = `detail`)
//! with a 4xx status when the request was at fault — unknown ids are 404, malformed ids and query
//! parameters 400 — so a bad request is never a 500.

mod assets;
mod auth;
mod dispatch;
mod error;
mod events;
mod findings;
mod fleet_telemetry;
mod health;
mod import;
mod pages;
mod stock;
mod telemetry;
mod ticket_parts;
mod tickets;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post, put};
use forewarn_domain::{AssetHealth, AssetId, Catalog, Metrics};
use forewarn_maintenance::Maintenance;
use forewarn_maintenance::Ticket;
use forewarn_store::Telemetry;
use tokio::sync::{broadcast, mpsc, oneshot};

pub use error::ApiError;

/// What the handlers read.
#[derive(Clone)]
pub struct AppState {
    /// Telemetry and registered assets.
    pub store: Arc<dyn Telemetry>,
    /// Tickets.
    pub db: Maintenance,
    /// Pipeline counters.
    pub metrics: Arc<Metrics>,
    /// The equipment catalog (units, failure modes).
    pub catalog: Arc<Catalog>,
    /// Health queries to the analytics stage, which holds the detectors' state: an asset, and
    /// where to send its health (`None`: never seen).
    pub health: mpsc::Sender<(AssetId, oneshot::Sender<Option<AssetHealth>>)>,
    /// New tickets are announced here (as the pipeline's are).
    pub opened: broadcast::Sender<Ticket>,
    /// Tickets whose status changed through the API.
    pub changed: broadcast::Sender<Ticket>,
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::fleet))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .route("/api/v1/assets", get(assets::list))
        .route("/api/v1/assets/{id}", get(assets::get))
        .route("/api/v1/assets/{id}/telemetry", get(telemetry::get))
        .route("/api/v1/assets/{id}/models", get(assets::models))
        .route("/api/v1/assets/{id}/health", get(assets::health))
        .route("/api/v1/telemetry", get(fleet_telemetry::get))
        .route("/api/v1/tickets", get(tickets::list).post(findings::manual))
        .route("/api/v1/findings", post(findings::post))
        .route("/api/v1/kpis", get(tickets::kpis))
        .route("/api/v1/events", get(events::stream))
        .route("/api/v1/tickets/{id}", get(tickets::get))
        .route("/api/v1/tickets/{id}/transition", post(tickets::transition))
        .route("/api/v1/tickets/{id}/audit", get(tickets::audit))
        .route("/api/v1/tickets/{id}/rating", post(tickets::rate))
        .route("/api/v1/tickets/{id}/parts", get(ticket_parts::get))
        .route("/api/v1/tickets/{id}/candidates", get(dispatch::candidates))
        .route("/api/v1/tickets/{id}/assign", post(dispatch::assign))
        .route(
            "/api/v1/technicians",
            get(dispatch::list).post(dispatch::put),
        )
        .route(
            "/api/v1/tickets/{id}/parts/reserve",
            post(ticket_parts::reserve),
        )
        .route(
            "/api/v1/tickets/{id}/parts/issue",
            post(ticket_parts::issue),
        )
        .route(
            "/api/v1/tickets/{id}/parts/consume",
            post(ticket_parts::consume),
        )
        .route(
            "/api/v1/tickets/{id}/parts/return",
            post(ticket_parts::return_parts),
        )
        .route("/api/v1/sites", get(stock::sites).post(stock::put_site))
        .route("/api/v1/parts", get(stock::parts).post(stock::put_part))
        .route(
            "/api/v1/warehouses",
            get(stock::warehouses).post(stock::put_warehouse),
        )
        .route("/api/v1/stock", get(stock::stock))
        .route("/api/v1/stock/{warehouse}/{part}", put(stock::settings))
        .route("/api/v1/stock/receive", post(stock::receive))
        .route("/api/v1/stock/adjust", post(stock::adjust))
        .route("/api/v1/stock/transfer", post(stock::transfer))
        .route("/api/v1/stock/ledger", get(stock::ledger))
        .route("/api/v1/stock/alerts", get(stock::alerts))
        .route("/api/v1/requisitions", get(stock::requisitions))
        .route(
            "/api/v1/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/api/v1/webhooks/{id}/deliveries",
            get(webhooks::deliveries),
        )
        .route("/api/v1/webhooks/{id}/active", post(webhooks::set_active))
        .route("/api/v1/webhooks/{id}/redeliver", post(webhooks::redeliver))
        .route("/api/v1/outbox", get(webhooks::outbox))
        .route(
            "/api/v1/import/{kind}",
            // Imports are files, not documents: their own, larger limit.
            post(import::import).layer(axum::extract::DefaultBodyLimit::max(
                import::MAX_IMPORT_BYTES,
            )),
        )
        .fallback(error::not_found)
        // Bodies are small JSON documents; anything larger is refused (413) before it is read.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A request that has not produced its response head in time is answered 408 (an SSE
        // stream has, at once, and is not cut).
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(state)
}

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Longest a request may take to answer.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

#[cfg(test)]
#[path = "api_parts_tests.rs"]
mod parts_tests;
#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
