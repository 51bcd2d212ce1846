//! A ticket's parts: `/api/v1/tickets/{id}/parts` (what it holds and waits for) and the moves a
//! job makes — reserve more (planner), issue, consume and return (technician).

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use forewarn_maintenance::Role;
use forewarn_maintenance::parts::{Actor, TicketParts};
use serde::Deserialize;

use crate::auth::Authenticated;
use crate::error::{ReadErrors, WriteErrors};
use crate::stock::{body, note};
use crate::tickets::ticket_id;
use crate::{ApiError, AppState};

/// `GET /api/v1/tickets/{id}/parts`.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/parts", params(("id" = i64, Path, description = "Ticket id")), responses((status = 200, body = TicketParts), ReadErrors))]
pub async fn get(
    State(s): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<TicketParts>, ApiError> {
    let id = ticket_id(id)?;
    s.db.ticket_parts(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no ticket {id}")))
}

/// Body of a part move on a ticket.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartRequest {
    /// Which part (issue: all reserved parts when left out).
    pub part_number: Option<String>,
    /// How many (issue: everything reserved of the part when left out).
    pub quantity: Option<i64>,
    /// Why, for the ledger.
    pub note: Option<String>,
}

impl PartRequest {
    fn part(&self) -> Result<&str, ApiError> {
        self.part_number
            .as_deref()
            .ok_or_else(|| ApiError::bad_request("part_number is required"))
    }

    fn quantity(&self) -> Result<i64, ApiError> {
        self.quantity
            .ok_or_else(|| ApiError::bad_request("quantity is required"))
    }
}

/// `POST /api/v1/tickets/{id}/parts/reserve`: reserves more parts, nearest stock first, the
/// rest requisitioned (planner).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/parts/reserve", params(("id" = i64, Path, description = "Ticket id")), request_body = PartRequest, responses((status = 200, body = TicketParts), WriteErrors), security(("bearer" = [])))]
pub async fn reserve(
    State(s): State<AppState>,
    auth: Authenticated,
    id: Result<Path<i64>, PathRejection>,
    b: Result<Json<PartRequest>, JsonRejection>,
) -> Result<Json<TicketParts>, ApiError> {
    let caller = auth.at_least(Role::Planner, "reserving parts")?;
    let id = ticket_id(id)?;
    let r = body(b)?;
    let who = Actor {
        name: &caller.name,
        note: note(&r.note)?,
    };
    Ok(Json(
        s.db.reserve_for(who, id, r.part()?, r.quantity()?).await?,
    ))
}

/// `POST /api/v1/tickets/{id}/parts/issue`: hands reserved parts to the technician (all of
/// them, or `quantity` of `part_number`); 409 when fewer are reserved.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/parts/issue", params(("id" = i64, Path, description = "Ticket id")), request_body = PartRequest, responses((status = 200, body = TicketParts), WriteErrors), security(("bearer" = [])))]
pub async fn issue(
    State(s): State<AppState>,
    auth: Authenticated,
    id: Result<Path<i64>, PathRejection>,
    b: Result<Json<PartRequest>, JsonRejection>,
) -> Result<Json<TicketParts>, ApiError> {
    let caller = auth.at_least(Role::Technician, "issuing parts")?;
    let id = ticket_id(id)?;
    crate::auth::own_ticket(&s, caller, id).await?;
    let r = body(b)?;
    let who = Actor {
        name: &caller.name,
        note: note(&r.note)?,
    };
    Ok(Json(
        s.db.issue(who, id, r.part_number.as_deref(), r.quantity)
            .await?,
    ))
}

/// `POST /api/v1/tickets/{id}/parts/consume`: issued parts used in the repair.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/parts/consume", params(("id" = i64, Path, description = "Ticket id")), request_body = PartRequest, responses((status = 200, body = TicketParts), WriteErrors), security(("bearer" = [])))]
pub async fn consume(
    State(s): State<AppState>,
    auth: Authenticated,
    id: Result<Path<i64>, PathRejection>,
    b: Result<Json<PartRequest>, JsonRejection>,
) -> Result<Json<TicketParts>, ApiError> {
    settle(s, auth, id, b, false).await
}

/// `POST /api/v1/tickets/{id}/parts/return`: issued, unused parts back to their shelf.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/parts/return", params(("id" = i64, Path, description = "Ticket id")), request_body = PartRequest, responses((status = 200, body = TicketParts), WriteErrors), security(("bearer" = [])))]
pub async fn return_parts(
    State(s): State<AppState>,
    auth: Authenticated,
    id: Result<Path<i64>, PathRejection>,
    b: Result<Json<PartRequest>, JsonRejection>,
) -> Result<Json<TicketParts>, ApiError> {
    settle(s, auth, id, b, true).await
}

/// Issued parts used (`returning` false) or brought back (true).
async fn settle(
    s: AppState,
    auth: Authenticated,
    id: Result<Path<i64>, PathRejection>,
    b: Result<Json<PartRequest>, JsonRejection>,
    returning: bool,
) -> Result<Json<TicketParts>, ApiError> {
    let action = if returning {
        "returning parts"
    } else {
        "consuming parts"
    };
    let caller = auth.at_least(Role::Technician, action)?;
    let id = ticket_id(id)?;
    crate::auth::own_ticket(&s, caller, id).await?;
    let r = body(b)?;
    let who = Actor {
        name: &caller.name,
        note: note(&r.note)?,
    };
    let (part, quantity) = (r.part()?, r.quantity()?);
    Ok(Json(if returning {
        s.db.return_parts(who, id, part, quantity).await?
    } else {
        s.db.consume(who, id, part, quantity).await?
    }))
}
