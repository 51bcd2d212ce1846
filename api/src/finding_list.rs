//! What the analytics saw: every stored finding — ticketed, counted on a finished ticket, or
//! matching no failure mode — with filters, one finding, a ticket's findings (the history of its
//! remaining-life estimate), and a ticket opened from a finding no mode matched.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use forewarn_domain::Finding;
use forewarn_maintenance::findings::Outcome as FindingOutcome;
use forewarn_maintenance::{FindingFilter, FindingRecord, Role};
use serde::Deserialize;

use crate::auth::Authenticated;
use crate::error::{ReadErrors, WriteErrors};
use crate::findings::{Outcome, open_for};
use crate::telemetry::parse_time;
use crate::{ApiError, AppState};

/// Query of `GET /api/v1/findings`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FindingQuery {
    /// Only this asset's findings.
    pub asset: Option<String>,
    /// `true`: only those a failure mode matched; `false`: only those none matched.
    pub classified: Option<bool>,
    /// `true`: only those counted on a ticket; `false`: only those on none.
    pub ticketed: Option<bool>,
    /// Detected at or after (device time: RFC 3339 or ms since the epoch).
    pub from: Option<String>,
    /// Detected before (device time: RFC 3339 or ms since the epoch).
    pub to: Option<String>,
    /// Only findings older than this id (the next page).
    pub before: Option<i64>,
    /// At most this many, 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

/// Body of `POST /api/v1/findings/{id}/ticket`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketFromFinding {
    /// One of the asset type's failure modes: what the planner judges the finding to be.
    pub failure_mode: String,
}

/// `GET /api/v1/findings`: stored findings, newest first.
#[utoipa::path(get, path = "/api/v1/findings", params(FindingQuery), responses((status = 200, body = [FindingRecord]), ReadErrors))]
pub async fn list(
    State(s): State<AppState>,
    q: Result<Query<FindingQuery>, QueryRejection>,
) -> Result<Json<Vec<FindingRecord>>, ApiError> {
    let Query(q) =
        q.map_err(|e| ApiError::bad_request(crate::error_text::plain(&e.body_text())))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit: {limit} is out of range; accepted: 1 to 1000"
        )));
    }
    let filter = FindingFilter {
        asset: q.asset.as_deref(),
        classified: q.classified,
        ticketed: q.ticketed,
        from_ms: q
            .from
            .as_deref()
            .map(|t| parse_time("from", t))
            .transpose()?,
        to_ms: q.to.as_deref().map(|t| parse_time("to", t)).transpose()?,
        before: q.before,
        limit,
    };
    Ok(Json(s.db.findings(&filter).await?))
}

/// `GET /api/v1/findings/{id}`: one stored finding.
#[utoipa::path(get, path = "/api/v1/findings/{id}", params(("id" = i64, Path, description = "Finding id")), responses((status = 200, body = FindingRecord), ReadErrors))]
pub async fn one(
    State(s): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<FindingRecord>, ApiError> {
    let id = finding_id(id)?;
    s.db.finding(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no finding {id}")))
}

/// `GET /api/v1/tickets/{id}/findings`: the findings counted on a ticket, oldest first — how
/// its remaining-life estimate moved.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/findings", params(("id" = i64, Path, description = "Ticket id")), responses((status = 200, body = [FindingRecord]), ReadErrors))]
pub async fn of_ticket(
    State(s): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Vec<FindingRecord>>, ApiError> {
    let id = crate::tickets::ticket_id(id)?;
    if s.db.ticket(id).await?.is_none() {
        return Err(ApiError::not_found(format!("no ticket {id}")));
    }
    Ok(Json(s.db.findings_of_ticket(id).await?))
}

/// `POST /api/v1/findings/{id}/ticket`: opens (or joins) the ticket for a stored finding as the
/// failure mode the planner names — for what no mode matched, or another reading of it.
#[utoipa::path(post, path = "/api/v1/findings/{id}/ticket", params(("id" = i64, Path, description = "Finding id")), request_body = TicketFromFinding, responses((status = 201, description = "A new ticket", body = Outcome), (status = 200, description = "Joined the open ticket", body = Outcome), WriteErrors), security(("bearer" = [])))]
pub async fn ticket(
    State(s): State<AppState>,
    auth: Authenticated,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<TicketFromFinding>, JsonRejection>,
) -> Result<(StatusCode, Json<Outcome>), ApiError> {
    auth.at_least(Role::Planner, "opening a ticket from a finding")?;
    let id = finding_id(id)?;
    let Json(b) = body.map_err(ApiError::from)?;
    open_from(&s, id, &b.failure_mode).await
}

/// Opens the ticket for stored finding `id` as `mode` and links the finding to it (the pages
/// call this too).
pub(crate) async fn open_from(
    s: &AppState,
    id: i64,
    mode: &str,
) -> Result<(StatusCode, Json<Outcome>), ApiError> {
    let record =
        s.db.finding(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no finding {id}")))?;
    let finding: Finding = serde_json::from_value(record.finding).map_err(|e| {
        ApiError::new(
            StatusCode::CONFLICT,
            format!("finding {id} cannot be read back ({e}): open a ticket by hand"),
        )
    })?;
    let (answer, opened) = open_for(s, finding, mode, false).await?;
    let (outcome, ticket) = FindingOutcome::of(&opened);
    s.db.link_finding(id, mode, outcome, ticket).await?;
    Ok(answer)
}

fn finding_id(id: Result<Path<i64>, PathRejection>) -> Result<i64, ApiError> {
    id.map(|Path(id)| id).map_err(|_| {
        ApiError::bad_request(
            "id: a finding id is a whole number (as listed by GET /api/v1/findings)",
        )
    })
}

#[cfg(test)]
#[path = "finding_list_tests.rs"]
mod tests;
