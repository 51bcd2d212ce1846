//! `/api/v1/tickets`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use forewarn_domain::AssetId;
use forewarn_maintenance::lifecycle::Refusal;
use forewarn_maintenance::{
    Kpis, Move, MoveError, Priority, Rating, RatingError, Resolution, Role, Ticket, TicketEvent,
    TicketFilter, TicketStatus,
};
use serde::Deserialize;

use crate::auth::Authenticated;
use crate::error::{ReadErrors, WriteErrors};
use crate::{ApiError, AppState};

/// Filters of the ticket list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `open` (default), `all`, or one status (`new`, `assigned`, …).
    pub status: Option<String>,
    /// Only this asset's tickets.
    pub asset: Option<String>,
    /// Only this failure mode's.
    pub failure_mode: Option<String>,
    /// Only this priority's (`p1`–`p4`).
    pub priority: Option<String>,
    /// Only those assigned to this technician.
    pub assignee: Option<String>,
    /// The next page: tickets older than this id (the `Link: rel="next"` header gives it).
    pub before: Option<i64>,
    /// At most this many (1–1000, default 100).
    pub limit: Option<u32>,
}

/// `GET /api/v1/tickets?status=open|all|STATUS&asset=ID&failure_mode=M&priority=P&assignee=T&before=ID&limit=N`,
/// newest first. A full page carries `Link: <…&before=ID>; rel="next"`.
#[utoipa::path(get, path = "/api/v1/tickets", params(ListQuery), responses((status = 200, body = [Ticket]), ReadErrors))]
pub async fn list(
    State(s): State<AppState>,
    uri: axum::http::Uri,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    let Query(q) =
        q.map_err(|e| ApiError::bad_request(crate::error_text::plain(&e.body_text())))?;
    let (open_only, status) = match q.status.as_deref() {
        None | Some("open") => (true, None),
        Some("all") => (false, None),
        Some(other) => match TicketStatus::parse(other) {
            Some(st) => (false, Some(st)),
            None => {
                return Err(ApiError::bad_request(format!(
                    "status must be open, all or a ticket status, not {other:?}"
                )));
            }
        },
    };
    let priority = match q.priority.as_deref() {
        None => None,
        Some(p) => Some(Priority::parse(p).ok_or_else(|| {
            ApiError::bad_request(format!("priority must be p1, p2, p3 or p4, not {p:?}"))
        })?),
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let tickets =
        s.db.find_tickets(&TicketFilter {
            asset: q.asset.as_deref(),
            open_only,
            status,
            failure_mode: q.failure_mode.as_deref(),
            priority,
            before: q.before,
            assignee: q.assignee.as_deref(),
            limit,
        })
        .await?;
    // The next page: the same query, before the last id of this one.
    let next = match tickets.last() {
        Some(last) if tickets.len() == limit as usize => {
            let kept: Vec<&str> = uri
                .query()
                .unwrap_or("")
                .split('&')
                .filter(|kv| !kv.is_empty() && !kv.starts_with("before="))
                .collect();
            let mut query = kept.join("&");
            if !query.is_empty() {
                query.push('&');
            }
            Some(format!(
                "<{}?{query}before={}>; rel=\"next\"",
                uri.path(),
                last.id
            ))
        }
        _ => None,
    };
    let mut res = axum::response::IntoResponse::into_response(Json(tickets));
    if let Some(link) = next.and_then(|l| axum::http::HeaderValue::from_str(&l).ok()) {
        res.headers_mut().insert(axum::http::header::LINK, link);
    }
    Ok(res)
}

/// `GET /api/v1/tickets/{id}`.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", params(("id" = i64, Path, description = "Ticket id")), responses((status = 200, body = Ticket), ReadErrors))]
pub async fn get(
    State(s): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Ticket>, ApiError> {
    let id = ticket_id(id)?;
    s.db.ticket(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no ticket {id}")))
}

/// Body of a status change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// The status wanted.
    pub to: TicketStatus,
    /// Why, in free text (at most 2000 characters).
    pub note: Option<String>,
    /// With `to = resolved`: `{"code": "confirmed" | "no_fault_found"}` or
    /// `{"code": "other_mode", "failure_mode": "..."}`.
    pub resolution: Option<Resolution>,
    /// With a resolution that found a fault: when the repair took effect, in the asset's own
    /// time (RFC 3339 or ms since the epoch). Default: the asset's newest stored reading.
    #[schema(value_type = Option<String>, example = "2026-11-24T08:15:00Z")]
    pub repaired_at: Option<serde_json::Value>,
}

/// `POST /api/v1/tickets/{id}/transition`: moves a ticket through its lifecycle. 409 when the
/// lifecycle has no such step (or reopening would duplicate an open ticket), 403 when the
/// caller's role may not make it, 401 without a valid token.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/transition", params(("id" = i64, Path, description = "Ticket id")), request_body = TransitionRequest, responses((status = 200, body = Ticket), WriteErrors), security(("bearer" = [])))]
pub async fn transition(
    State(s): State<AppState>,
    auth: Authenticated,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<TransitionRequest>, JsonRejection>,
) -> Result<Json<Ticket>, ApiError> {
    // Viewers are refused before anything else is looked at; the lifecycle then says which
    // moves the other roles may make.
    let caller = auth.at_least(Role::Technician, "moving tickets")?;
    let id = ticket_id(id)?;
    let Json(req) = body.map_err(ApiError::from)?;
    if req.note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(ApiError::bad_request("a note is at most 2000 characters"));
    }
    if let Some(Resolution::OtherMode { failure_mode }) = &req.resolution {
        check_mode(&s, id, failure_mode).await?;
    }
    let repaired_at = req
        .repaired_at
        .as_ref()
        .map(|v| crate::findings::instant(v, "repaired_at"))
        .transpose()?;
    let m = Move {
        actor: &caller.name,
        role: caller.role,
        to: req.to,
        note: req.note.as_deref(),
        resolution: req.resolution.as_ref(),
        device_ms: None,
    };
    crate::moves::make(&s, id, m, repaired_at).await.map(Json)
}

/// A refused or failed move as an HTTP error: 404, 403, 400 or 409.
pub(crate) fn move_error(e: MoveError) -> ApiError {
    match e {
        MoveError::NotFound(_) => ApiError::not_found(e.to_string()),
        MoveError::Refused(Refusal::Forbidden(..) | Refusal::NotYours { .. }) => {
            ApiError::new(StatusCode::FORBIDDEN, e.to_string())
        }
        MoveError::Refused(Refusal::Resolution(_)) => ApiError::bad_request(e.to_string()),
        MoveError::Refused(Refusal::NotAllowed(..)) | MoveError::AlreadyOpen(_) => {
            ApiError::new(StatusCode::CONFLICT, e.to_string())
        }
        MoveError::Db(e) => ApiError::from(e),
    }
}

/// The mode a repair found must be one of the asset type's.
pub(crate) async fn check_mode(s: &AppState, id: i64, mode: &str) -> Result<(), ApiError> {
    let ticket =
        s.db.ticket(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no ticket {id}")))?;
    let known = AssetId::new(&ticket.asset_id)
        .ok()
        .and_then(|a| s.store.asset(&a))
        .and_then(|a| {
            let ty = s.catalog.asset_type(&a.asset_type)?;
            Some(ty.failure_modes.iter().any(|m| m.id.as_str() == mode))
        })
        .unwrap_or(true);
    if known {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{mode:?} is not a failure mode of this asset's type"
        )))
    }
}

/// `GET /api/v1/tickets/{id}/audit`: every status change, oldest first.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/audit", params(("id" = i64, Path, description = "Ticket id")), responses((status = 200, body = [TicketEvent]), ReadErrors))]
pub async fn audit(
    State(s): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Vec<TicketEvent>>, ApiError> {
    let id = ticket_id(id)?;
    s.db.audit(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no ticket {id}")))
}

/// `GET /api/v1/kpis`: MTTR, MTBF, first-time-fix rate, false-alarm rate, prediction lead time,
/// open and resolved tickets, failures and prediction recall, overall and per asset type
/// (definitions on [`Kpis`]).
#[utoipa::path(get, path = "/api/v1/kpis", responses((status = 200, body = Kpis), ReadErrors))]
pub async fn kpis(State(s): State<AppState>) -> Result<Json<Kpis>, ApiError> {
    let types: std::collections::HashMap<String, String> = s
        .store
        .assets()
        .into_iter()
        .map(|a| (a.id.as_str().to_owned(), a.asset_type.as_str().to_owned()))
        .collect();
    Ok(Json(
        s.db.kpis_by_type(&|asset| types.get(asset).cloned())
            .await?,
    ))
}

/// Body of a rating.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// 1 to 5.
    pub score: u8,
    /// Free text (at most 2000 characters).
    pub comment: Option<String>,
}

/// `POST /api/v1/tickets/{id}/rating`: satisfaction with a closed ticket's work, once (409 before
/// closing or when rated already).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/rating", params(("id" = i64, Path, description = "Ticket id")), request_body = RatingRequest, responses((status = 200, body = Rating), WriteErrors), security(("bearer" = [])))]
pub async fn rate(
    State(s): State<AppState>,
    auth: Authenticated,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<RatingRequest>, JsonRejection>,
) -> Result<Json<Rating>, ApiError> {
    let caller = auth.at_least(Role::Technician, "rating")?;
    let id = ticket_id(id)?;
    let Json(r) = body.map_err(ApiError::from)?;
    if r.comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
        return Err(ApiError::bad_request(
            "a comment is at most 2000 characters",
        ));
    }
    s.db.rate(id, &caller.name, r.score, r.comment.as_deref())
        .await
        .map(Json)
        .map_err(|e| match e {
            RatingError::NotFound(_) => ApiError::not_found(e.to_string()),
            RatingError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            RatingError::Score => ApiError::bad_request(e.to_string()),
            RatingError::Db(e) => ApiError::from(e),
        })
}

/// The ticket id of the path, or 400.
pub(crate) fn ticket_id(id: Result<Path<i64>, PathRejection>) -> Result<i64, ApiError> {
    id.map(|Path(id)| id)
        .map_err(|_| ApiError::bad_request("ticket id must be a number"))
}
