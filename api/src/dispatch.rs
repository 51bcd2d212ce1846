//! Technicians and assignment: `/api/v1/technicians` (with their current load),
//! `/api/v1/tickets/{id}/candidates` (the ranking now) and `/api/v1/tickets/{id}/assign`
//! (the best candidate, or a planner's own choice).

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use forewarn_maintenance::Role;
use forewarn_maintenance::Ticket;
use forewarn_maintenance::dispatch::{AssignError, Candidate, Technician};
use serde::{Deserialize, Serialize};

use crate::auth::Authenticated;
use crate::error::{ReadErrors, WriteErrors};
use crate::stock::{body, note};
use crate::tickets::ticket_id;
use crate::{ApiError, AppState};

/// A technician and the open tickets assigned to them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TechnicianLoad {
    /// The technician (nested: its own schema refuses unknown fields, so it cannot be
    /// flattened beside `load` in the OpenAPI document).
    pub technician: Technician,
    /// Open tickets assigned to them.
    pub load: i64,
}

/// `GET /api/v1/technicians`.
#[utoipa::path(get, path = "/api/v1/technicians", responses((status = 200, body = [TechnicianLoad]), ReadErrors))]
pub async fn list(State(s): State<AppState>) -> Result<Json<Vec<TechnicianLoad>>, ApiError> {
    Ok(Json(
        s.db.technicians()
            .await?
            .into_iter()
            .map(|(technician, load)| TechnicianLoad { technician, load })
            .collect(),
    ))
}

/// `POST /api/v1/technicians`: creates or replaces a technician (planner).
#[utoipa::path(post, path = "/api/v1/technicians", request_body = Technician, responses((status = 200, body = Technician), WriteErrors), security(("bearer" = [])))]
pub async fn put(
    State(s): State<AppState>,
    auth: Authenticated,
    b: Result<Json<Technician>, JsonRejection>,
) -> Result<Json<Technician>, ApiError> {
    auth.at_least(Role::Planner, "editing technicians")?;
    let t = body(b)?;
    s.db.put_technician(&t).await?;
    Ok(Json(t))
}

/// The ranking for a ticket.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ranking {
    /// Best first.
    pub candidates: Vec<Candidate>,
    /// Active technicians without the skills.
    pub lacking_skills: usize,
}

/// `GET /api/v1/tickets/{id}/candidates`: who could take it now, best first, and why.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/candidates", params(("id" = i64, Path, description = "Ticket id")), responses((status = 200, body = Ranking), ReadErrors))]
pub async fn candidates(
    State(s): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Ranking>, ApiError> {
    let id = ticket_id(id)?;
    let (candidates, lacking_skills) =
        s.db.candidates(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no ticket {id}")))?;
    Ok(Json(Ranking {
        candidates,
        lacking_skills,
    }))
}

/// Body of an assignment.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The planner's choice; left out: the best candidate.
    pub technician_id: Option<String>,
    /// Why (kept with the decision).
    pub note: Option<String>,
}

/// `POST /api/v1/tickets/{id}/assign` (planner): assigns the best candidate or the one named;
/// a new or reopened ticket becomes assigned. 409 when the ticket is finished or nobody can take
/// it, 404 for an unknown technician, 400 for an inactive one.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/assign", params(("id" = i64, Path, description = "Ticket id")), request_body = AssignRequest, responses((status = 200, body = Ticket), WriteErrors), security(("bearer" = [])))]
pub async fn assign(
    State(s): State<AppState>,
    auth: Authenticated,
    id: Result<Path<i64>, PathRejection>,
    b: Result<Json<AssignRequest>, JsonRejection>,
) -> Result<Json<Ticket>, ApiError> {
    let caller = auth.at_least(Role::Planner, "assigning tickets")?;
    let id = ticket_id(id)?;
    let r = body(b)?;
    let t =
        s.db.assign(id, &caller.name, r.technician_id.as_deref(), note(&r.note)?)
            .await
            .map_err(assign_error)?;
    let _ = s.changed.send(t.clone());
    Ok(Json(t))
}

/// A refused or failed assignment as an HTTP error.
pub(crate) fn assign_error(e: AssignError) -> ApiError {
    match e {
        AssignError::NotFound(m) => ApiError::not_found(m),
        AssignError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
        AssignError::Invalid(m) => ApiError::bad_request(m),
        AssignError::Db(e) => ApiError::from(e),
    }
}
