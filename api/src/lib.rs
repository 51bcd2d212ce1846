//! The HTTP API (axum) and the dashboard routes.
//!
//! One module per resource: [`health`] (liveness and Prometheus metrics), [`assets`] (with their
//! live health and model versions), [`telemetry`] (raw or downsampled history of one sensor),
//! [`fleet_telemetry`] (one sensor across many assets), [`tickets`] (lifecycle, audit, KPIs,
//! ratings), [`ticket_parts`] (what a ticket holds and waits for; issue, consume, return),
//! [`chart`] (an SVG chart of an asset's sensors around a moment: what tickets link to),
//! [`import`] (CSV files of assets, parts, stock, technicians), [`webhooks`] (subscriptions, delivery logs, the outbox), [`dispatch`] (technicians, candidates, assignment), [`stock`] (sites, parts, warehouses, stock, ledger, requisitions), [`findings`] (findings from outside, tickets by hand), [`finding_list`] (every stored finding, a ticket's findings, a ticket opened from one), [`events`] (server-sent
//! events) and [`ui`] (the dashboards: pages and their forms); [`auth`] turns a bearer token into a
//! caller with a role, which every write needs; [`access`] checks the Host header, asks a caller
//! of every read and sets the security headers. Every error is an RFC 9457 problem details object
//! (`application/problem+json`: `type`, `title`, `status`, `detail`, and `error` = `detail`)
//! with a 4xx status when the request was at fault — unknown ids are 404, malformed ids and query
//! parameters 400 — so a bad request is never a 500.

mod access;
mod assets;
mod auth;
mod chart;
mod dispatch;
mod error;
mod error_text;
mod events;
mod finding_list;
mod findings;
mod fleet_telemetry;
mod health;
mod import;
mod moves;
mod notes;
mod openapi;
mod pipeline;
mod stock;
mod telemetry;
mod ticket_parts;
mod tickets;
mod ui;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use forewarn_domain::{Catalog, Metrics};
use forewarn_maintenance::Maintenance;
use forewarn_maintenance::Ticket;
use forewarn_store::Telemetry;
use tokio::sync::{broadcast, mpsc};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use access::Access;
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
    pub health: mpsc::Sender<forewarn_analytics::HealthQuery>,
    /// New tickets are announced here (as the pipeline's are).
    pub opened: broadcast::Sender<Ticket>,
    /// Tickets whose status changed through the API.
    pub changed: broadcast::Sender<Ticket>,
    /// Repairs recorded by resolutions, on their way to analytics.
    pub repairs: forewarn_domain::RepairFeed,
    /// Who may read, which host names are answered, whether served over HTTPS.
    pub access: Arc<Access>,
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    // Every handler is registered through `routes!`, which also puts its `#[utoipa::path]` into
    // the OpenAPI document: a route cannot exist without being documented.
    let (import, import_paths, import_route) = routes!(import::import);
    let (router, doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(assets::list))
        .routes(routes!(assets::get))
        .routes(routes!(telemetry::get))
        .routes(routes!(assets::models))
        .routes(routes!(assets::health))
        .routes(routes!(pipeline::get))
        .routes(routes!(chart::get))
        .routes(routes!(fleet_telemetry::get))
        .routes(routes!(tickets::list, findings::manual))
        .routes(routes!(finding_list::list, findings::post))
        .routes(routes!(finding_list::one))
        .routes(routes!(finding_list::ticket))
        .routes(routes!(finding_list::of_ticket))
        .routes(routes!(tickets::kpis))
        .routes(routes!(events::stream))
        .routes(routes!(tickets::get))
        .routes(routes!(tickets::transition))
        .routes(routes!(tickets::audit))
        .routes(routes!(tickets::rate))
        .routes(routes!(notes::list, notes::add))
        .routes(routes!(ticket_parts::get))
        .routes(routes!(dispatch::candidates))
        .routes(routes!(dispatch::assign))
        .routes(routes!(dispatch::list, dispatch::put))
        .routes(routes!(ticket_parts::reserve))
        .routes(routes!(ticket_parts::issue))
        .routes(routes!(ticket_parts::consume))
        .routes(routes!(ticket_parts::return_parts))
        .routes(routes!(stock::sites, stock::put_site))
        .routes(routes!(stock::parts, stock::put_part))
        .routes(routes!(stock::warehouses, stock::put_warehouse))
        .routes(routes!(stock::stock))
        .routes(routes!(stock::settings))
        .routes(routes!(stock::receive))
        .routes(routes!(stock::adjust))
        .routes(routes!(stock::transfer))
        .routes(routes!(stock::ledger))
        .routes(routes!(stock::alerts))
        .routes(routes!(stock::requisitions))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::set_active))
        .routes(routes!(webhooks::redeliver))
        .routes(routes!(webhooks::outbox))
        // Imports are files, not documents: their own, larger limit.
        .routes((
            import,
            import_paths,
            import_route.layer(axum::extract::DefaultBodyLimit::max(
                import::MAX_IMPORT_BYTES,
            )),
        ))
        .split_for_parts();
    let doc = Arc::new(doc);
    let router = router.merge(ui::routes()).route(
        "/api/v1/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc) }
        }),
    );
    guarded(router, state)
}

/// The layers every route goes through, outermost last: panics caught, body limit, timeout,
/// and the access guard (Host check, a caller for every read, security headers).
fn guarded(router: Router<AppState>, state: AppState) -> Router {
    router
        .fallback(error::not_found)
        // A bug must not take the connection down with it: a panic is a 500 problem document
        // (and logged), the service goes on.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            error::panicked,
        ))
        // Bodies are small JSON documents; anything larger is refused (413) before it is read.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A request that has not produced its response head in time is answered 408 (an SSE
        // stream has, at once, and is not cut).
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        // Outermost: the Host check, a caller for every read, the security headers.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::guard,
        ))
        .with_state(state)
}

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Longest a request may take to answer.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

#[cfg(test)]
#[path = "access_tests.rs"]
mod access_tests;
#[cfg(test)]
#[path = "api_parts_tests.rs"]
mod parts_tests;
#[cfg(test)]
#[path = "repair_tests.rs"]
mod repair_tests;
#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
#[cfg(test)]
#[path = "ui_tests.rs"]
mod ui_tests;
