//! `/api/v1/tickets/{id}/notes`: what technicians and planners write down on a ticket, and a
//! technician accepting the job assigned to them (`kind: accepted`).

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use forewarn_maintenance::{NoteError, NoteKind, Role, TicketNote};
use serde::Deserialize;

use crate::auth::Authenticated;
use crate::error::{ReadErrors, WriteErrors};
use crate::stock::body;
use crate::tickets::ticket_id;
use crate::{ApiError, AppState};

/// A note to add.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// `note` (default) or `accepted` (the assignee accepting an assigned job, once).
    #[serde(default)]
    pub kind: NoteKind,
    /// The text (required for a note; at most 4000 characters).
    #[serde(default)]
    pub text: String,
}

/// `GET /api/v1/tickets/{id}/notes`: oldest first.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/notes", params(("id" = i64, Path, description = "Ticket id")), responses((status = 200, body = [TicketNote]), ReadErrors))]
pub async fn list(
    State(s): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Vec<TicketNote>>, ApiError> {
    let id = ticket_id(id)?;
    s.db.notes(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no ticket {id}")))
}

/// `POST /api/v1/tickets/{id}/notes`: a technician's token or higher; accepting is for the
/// assignee of an assigned ticket.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/notes", params(("id" = i64, Path, description = "Ticket id")), request_body = NoteRequest, responses((status = 201, body = TicketNote), WriteErrors), security(("bearer" = [])))]
pub async fn add(
    State(s): State<AppState>,
    auth: Authenticated,
    id: Result<Path<i64>, PathRejection>,
    b: Result<Json<NoteRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<TicketNote>), ApiError> {
    let caller = auth.at_least(Role::Technician, "adding notes")?.clone();
    let id = ticket_id(id)?;
    let r = body(b)?;
    let note =
        s.db.add_note(id, &caller, r.kind, &r.text)
            .await
            .map_err(note_error)?;
    if let Some(t) = s.db.ticket(id).await? {
        let _ = s.changed.send(t);
    }
    Ok((StatusCode::CREATED, Json(note)))
}

/// A refused note as an HTTP error: 404, 403 (role, not the assignee), 400, 409.
pub(crate) fn note_error(e: NoteError) -> ApiError {
    match e {
        NoteError::NotFound(_) => ApiError::not_found(e.to_string()),
        NoteError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
        NoteError::Refused(m) => ApiError::bad_request(m),
        NoteError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
        NoteError::Db(e) => ApiError::from(e),
    }
}
