//! Spare parts master data and stock: `/api/v1/sites`, `/parts`, `/warehouses`, `/stock`
//! (levels, settings, receive, adjust, transfer, ledger, low-stock alerts) and
//! `/requisitions`. Reads are open; master data and stock movements need a planner token.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use forewarn_maintenance::Role;
use forewarn_maintenance::parts::{
    Actor, LedgerEntry, LedgerFilter, Part, Requisition, Site, StockAlert, StockError, StockLevel,
    Warehouse,
};
use serde::Deserialize;

use crate::auth::Authenticated;
use crate::error::{ReadErrors, WriteErrors};
use crate::{ApiError, AppState};

impl From<StockError> for ApiError {
    fn from(e: StockError) -> Self {
        match e {
            StockError::NotFound(m) => ApiError::not_found(m),
            StockError::Insufficient(m) => ApiError::new(StatusCode::CONFLICT, m),
            StockError::Invalid(m) => ApiError::bad_request(m),
            StockError::Db(e) => ApiError::from(e),
        }
    }
}

/// The body, or 400/413/415.
pub(crate) fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(t)| t).map_err(ApiError::from)
}

/// The query, or 400.
pub(crate) fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t)
        .map_err(|e| ApiError::bad_request(crate::error_text::plain(&e.body_text())))
}

/// A list limit between 1 and 1000 (default 100).
pub(crate) fn limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(100);
    if (1..=1000).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::bad_request("limit must be between 1 and 1000"))
    }
}

/// A note for the ledger: at most 2000 characters.
pub(crate) fn note(note: &Option<String>) -> Result<Option<&str>, ApiError> {
    match note {
        Some(n) if n.chars().count() > 2000 => {
            Err(ApiError::bad_request("a note is at most 2000 characters"))
        }
        n => Ok(n.as_deref()),
    }
}

/// `GET /api/v1/sites`.
#[utoipa::path(get, path = "/api/v1/sites", responses((status = 200, body = [Site]), ReadErrors))]
pub async fn sites(State(s): State<AppState>) -> Result<Json<Vec<Site>>, ApiError> {
    Ok(Json(s.db.sites().await?))
}

/// `POST /api/v1/sites`: creates or replaces a site (planner).
#[utoipa::path(post, path = "/api/v1/sites", request_body = Site, responses((status = 200, body = Site), WriteErrors), security(("bearer" = [])))]
pub async fn put_site(
    State(s): State<AppState>,
    auth: Authenticated,
    b: Result<Json<Site>, JsonRejection>,
) -> Result<Json<Site>, ApiError> {
    auth.at_least(Role::Planner, "editing sites")?;
    let site = body(b)?;
    s.db.put_site(&site).await?;
    Ok(Json(site))
}

/// `GET /api/v1/parts`: the parts catalog.
#[utoipa::path(get, path = "/api/v1/parts", responses((status = 200, body = [Part]), ReadErrors))]
pub async fn parts(State(s): State<AppState>) -> Result<Json<Vec<Part>>, ApiError> {
    Ok(Json(s.db.parts().await?))
}

/// `POST /api/v1/parts`: creates or replaces a catalog part (planner).
#[utoipa::path(post, path = "/api/v1/parts", request_body = Part, responses((status = 200, body = Part), WriteErrors), security(("bearer" = [])))]
pub async fn put_part(
    State(s): State<AppState>,
    auth: Authenticated,
    b: Result<Json<Part>, JsonRejection>,
) -> Result<Json<Part>, ApiError> {
    auth.at_least(Role::Planner, "editing the parts catalog")?;
    let part = body(b)?;
    s.db.put_part(&part).await?;
    Ok(Json(part))
}

/// `GET /api/v1/warehouses`.
#[utoipa::path(get, path = "/api/v1/warehouses", responses((status = 200, body = [Warehouse]), ReadErrors))]
pub async fn warehouses(State(s): State<AppState>) -> Result<Json<Vec<Warehouse>>, ApiError> {
    Ok(Json(s.db.warehouses().await?))
}

/// `POST /api/v1/warehouses`: creates or replaces a warehouse (planner).
#[utoipa::path(post, path = "/api/v1/warehouses", request_body = Warehouse, responses((status = 200, body = Warehouse), WriteErrors), security(("bearer" = [])))]
pub async fn put_warehouse(
    State(s): State<AppState>,
    auth: Authenticated,
    b: Result<Json<Warehouse>, JsonRejection>,
) -> Result<Json<Warehouse>, ApiError> {
    auth.at_least(Role::Planner, "editing warehouses")?;
    let w = body(b)?;
    s.db.put_warehouse(&w).await?;
    Ok(Json(w))
}

/// Filters of the stock list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StockQuery {
    /// Only this warehouse.
    pub warehouse: Option<String>,
    /// Only this part.
    pub part: Option<String>,
    /// Only levels below their reorder point.
    #[serde(default)]
    pub low: bool,
}

/// `GET /api/v1/stock?warehouse=W&part=P&low=true`.
#[utoipa::path(get, path = "/api/v1/stock", params(StockQuery), responses((status = 200, body = [StockLevel]), ReadErrors))]
pub async fn stock(
    State(s): State<AppState>,
    q: Result<Query<StockQuery>, QueryRejection>,
) -> Result<Json<Vec<StockLevel>>, ApiError> {
    let q = query(q)?;
    Ok(Json(
        s.db.stock(q.warehouse.as_deref(), q.part.as_deref(), q.low)
            .await?,
    ))
}

/// Body of a stock settings change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsRequest {
    /// Below this many available units, a low-stock alert is raised.
    pub reorder_point: i64,
    /// Shelf location.
    #[serde(default)]
    pub bin: String,
}

/// `PUT /api/v1/stock/{warehouse}/{part}`: reorder point and bin (planner).
#[utoipa::path(put, path = "/api/v1/stock/{warehouse}/{part}", params(("warehouse" = String, Path), ("part" = String, Path)), request_body = SettingsRequest, responses((status = 200, body = StockLevel), WriteErrors), security(("bearer" = [])))]
pub async fn settings(
    State(s): State<AppState>,
    auth: Authenticated,
    p: Result<Path<(String, String)>, PathRejection>,
    b: Result<Json<SettingsRequest>, JsonRejection>,
) -> Result<Json<StockLevel>, ApiError> {
    auth.at_least(Role::Planner, "stock settings")?;
    let Path((warehouse, part)) =
        p.map_err(|e| ApiError::bad_request(crate::error_text::plain(&e.body_text())))?;
    let req = body(b)?;
    Ok(Json(
        s.db.set_stock_settings(&warehouse, &part, req.reorder_point, &req.bin)
            .await?,
    ))
}

/// Body of a delivery or a count.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// Where.
    pub warehouse_id: String,
    /// Which part.
    pub part_number: String,
    /// Units received (receive) or counted on the shelf (adjust).
    pub quantity: i64,
    /// Why, for the ledger.
    pub note: Option<String>,
}

/// `POST /api/v1/stock/receive`: books a delivery; it first serves open requisitions (planner).
#[utoipa::path(post, path = "/api/v1/stock/receive", request_body = MoveRequest, responses((status = 200, body = StockLevel), WriteErrors), security(("bearer" = [])))]
pub async fn receive(
    State(s): State<AppState>,
    auth: Authenticated,
    b: Result<Json<MoveRequest>, JsonRejection>,
) -> Result<Json<StockLevel>, ApiError> {
    let caller = auth.at_least(Role::Planner, "receiving stock")?;
    let r = body(b)?;
    let who = Actor {
        name: &caller.name,
        note: note(&r.note)?,
    };
    Ok(Json(
        s.db.receive(who, &r.warehouse_id, &r.part_number, r.quantity)
            .await?,
    ))
}

/// `POST /api/v1/stock/adjust`: a stock take; `quantity` is the count (planner).
#[utoipa::path(post, path = "/api/v1/stock/adjust", request_body = MoveRequest, responses((status = 200, body = StockLevel), WriteErrors), security(("bearer" = [])))]
pub async fn adjust(
    State(s): State<AppState>,
    auth: Authenticated,
    b: Result<Json<MoveRequest>, JsonRejection>,
) -> Result<Json<StockLevel>, ApiError> {
    let caller = auth.at_least(Role::Planner, "counting stock")?;
    let r = body(b)?;
    let who = Actor {
        name: &caller.name,
        note: note(&r.note)?,
    };
    Ok(Json(
        s.db.adjust(who, &r.warehouse_id, &r.part_number, r.quantity)
            .await?,
    ))
}

/// Body of a transfer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// From this warehouse.
    pub from: String,
    /// To this one.
    pub to: String,
    /// Which part.
    pub part_number: String,
    /// How many available units.
    pub quantity: i64,
    /// Why, for the ledger.
    pub note: Option<String>,
}

/// `POST /api/v1/stock/transfer`: moves available units between warehouses (planner); 409 when
/// the source has fewer available.
#[utoipa::path(post, path = "/api/v1/stock/transfer", request_body = TransferRequest, responses((status = 200, description = "The source and the destination after the move", body = [StockLevel]), WriteErrors), security(("bearer" = [])))]
pub async fn transfer(
    State(s): State<AppState>,
    auth: Authenticated,
    b: Result<Json<TransferRequest>, JsonRejection>,
) -> Result<Json<[StockLevel; 2]>, ApiError> {
    let caller = auth.at_least(Role::Planner, "transferring stock")?;
    let r = body(b)?;
    let who = Actor {
        name: &caller.name,
        note: note(&r.note)?,
    };
    let (from, to) =
        s.db.transfer(who, &r.from, &r.to, &r.part_number, r.quantity)
            .await?;
    Ok(Json([from, to]))
}

/// Filters of the ledger.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    /// Only this warehouse.
    pub warehouse: Option<String>,
    /// Only this part.
    pub part: Option<String>,
    /// Only this ticket's movements.
    pub ticket: Option<i64>,
    /// The next page: entries older than this id.
    pub before: Option<i64>,
    /// At most this many (1–1000, default 100).
    pub limit: Option<u32>,
}

/// `GET /api/v1/stock/ledger?warehouse=W&part=P&ticket=T&before=ID&limit=N`, newest first.
#[utoipa::path(get, path = "/api/v1/stock/ledger", params(LedgerQuery), responses((status = 200, body = [LedgerEntry]), ReadErrors))]
pub async fn ledger(
    State(s): State<AppState>,
    q: Result<Query<LedgerQuery>, QueryRejection>,
) -> Result<Json<Vec<LedgerEntry>>, ApiError> {
    let q = query(q)?;
    let f = LedgerFilter {
        warehouse: q.warehouse.as_deref(),
        part: q.part.as_deref(),
        ticket: q.ticket,
        before: q.before,
        limit: limit(q.limit)?,
    };
    Ok(Json(s.db.ledger(&f).await?))
}

/// Paging of simple lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LimitQuery {
    /// At most this many (1–1000, default 100).
    pub limit: Option<u32>,
}

/// `GET /api/v1/stock/alerts?limit=N`: low-stock alerts, newest first.
#[utoipa::path(get, path = "/api/v1/stock/alerts", params(LimitQuery), responses((status = 200, body = [StockAlert]), ReadErrors))]
pub async fn alerts(
    State(s): State<AppState>,
    q: Result<Query<LimitQuery>, QueryRejection>,
) -> Result<Json<Vec<StockAlert>>, ApiError> {
    let q = query(q)?;
    Ok(Json(s.db.stock_alerts(limit(q.limit)?).await?))
}

/// Filters of the requisition list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RequisitionQuery {
    /// `open`, `fulfilled` or `cancelled`.
    pub status: Option<String>,
    /// Only this ticket's.
    pub ticket: Option<i64>,
}

/// `GET /api/v1/requisitions?status=open&ticket=T`, oldest first: what to buy.
#[utoipa::path(get, path = "/api/v1/requisitions", params(RequisitionQuery), responses((status = 200, body = [Requisition]), ReadErrors))]
pub async fn requisitions(
    State(s): State<AppState>,
    q: Result<Query<RequisitionQuery>, QueryRejection>,
) -> Result<Json<Vec<Requisition>>, ApiError> {
    let q = query(q)?;
    if let Some(st) = q.status.as_deref()
        && !["open", "fulfilled", "cancelled"].contains(&st)
    {
        return Err(ApiError::bad_request(format!(
            "status must be open, fulfilled or cancelled, not {st:?}"
        )));
    }
    Ok(Json(
        s.db.requisitions(q.ticket, q.status.as_deref()).await?,
    ))
}
