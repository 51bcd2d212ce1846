//! Findings from outside — another detector, an operator, a phone call — and tickets opened by
//! hand. Both become an alert that takes the pipeline's own path to a ticket: one open ticket per
//! asset and failure mode (a second finding attaches to it), the mode's parts copied.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use chrono::DateTime;
use forewarn_domain::{Alert, AssetId, Finding, Severity};
use forewarn_maintenance::{Opened, Role};
use serde::{Deserialize, Serialize};

use crate::auth::Authenticated;
use crate::error::WriteErrors;
use crate::{ApiError, AppState};

/// Body of `POST /api/v1/findings`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalFinding {
    /// The asset (registered).
    pub asset_id: String,
    /// One of its type's failure modes.
    pub failure_mode: String,
    /// low, medium, high or critical.
    pub severity: String,
    /// The source's own score (any finite number; kept as evidence).
    pub score: f64,
    /// Who found it (`vibration-analyst`, `operator:jane`, `phone`).
    pub source: String,
    /// When it was observed: RFC 3339 or ms since the epoch (default: now).
    #[schema(value_type = Option<String>, example = "2026-11-24T08:15:00Z")]
    pub observed_at: Option<serde_json::Value>,
    /// Anything the source wants kept with it (a JSON object).
    #[schema(value_type = Option<Object>)]
    pub evidence: Option<serde_json::Value>,
    /// The asset has already failed (tripped, stopped): the ticket is corrective work.
    #[serde(default)]
    pub asset_failed: bool,
}

/// Body of `POST /api/v1/tickets`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualTicket {
    /// The asset (registered).
    pub asset_id: String,
    /// One of its type's failure modes.
    pub failure_mode: String,
    /// low, medium, high or critical (default medium).
    pub severity: Option<String>,
    /// What was seen.
    pub note: Option<String>,
    /// When the breakdown happened: RFC 3339 or ms since the epoch (default: the asset's newest
    /// reading, its own clock).
    #[schema(value_type = Option<String>, example = "2026-11-24T08:15:00Z")]
    pub observed_at: Option<serde_json::Value>,
}

/// What became of a finding.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    /// The ticket it opened or joined.
    pub ticket_id: i64,
    /// Whether the ticket is new (201) or was already open (200).
    pub new: bool,
}

/// `POST /api/v1/findings`: 201 with the new ticket, 200 when it joined the open one.
#[utoipa::path(post, path = "/api/v1/findings", request_body = ExternalFinding, responses((status = 201, description = "A new ticket", body = Outcome), (status = 200, description = "Joined the open ticket", body = Outcome), WriteErrors), security(("bearer" = [])))]
pub async fn post(
    State(s): State<AppState>,
    auth: Authenticated,
    body: Result<Json<ExternalFinding>, JsonRejection>,
) -> Result<(StatusCode, Json<Outcome>), ApiError> {
    auth.at_least(Role::Technician, "reporting a finding")?;
    let Json(f) = body.map_err(ApiError::from)?;
    if !f.score.is_finite() {
        return Err(ApiError::bad_request("score must be a finite number"));
    }
    let source = f.source.trim();
    if source.is_empty() || source.chars().count() > 100 {
        return Err(ApiError::bad_request("source must be 1 to 100 characters"));
    }
    let observed = observed_at(&s, &f.asset_id, f.observed_at.as_ref()).await?;
    let severity = Severity::parse(&f.severity)
        .ok_or_else(|| ApiError::bad_request("severity must be low, medium, high or critical"))?;
    let evidence = serde_json::json!({"source": source, "score": f.score, "evidence": f.evidence});
    open(
        &s,
        Raised {
            asset: &f.asset_id,
            mode: &f.failure_mode,
            severity,
            score: f.score,
            at_ms: observed,
            detector: format!("external/{source}"),
            evidence,
            corrective: f.asset_failed,
        },
    )
    .await
}

/// `POST /api/v1/tickets`: a ticket opened by hand for a breakdown — corrective work, a failure
/// the predictions missed — on the same path as a finding (so it joins the open ticket for the
/// asset and mode if there is one).
#[utoipa::path(post, path = "/api/v1/tickets", request_body = ManualTicket, responses((status = 201, description = "A new ticket", body = Outcome), (status = 200, description = "Joined the open ticket", body = Outcome), WriteErrors), security(("bearer" = [])))]
pub async fn manual(
    State(s): State<AppState>,
    auth: Authenticated,
    body: Result<Json<ManualTicket>, JsonRejection>,
) -> Result<(StatusCode, Json<Outcome>), ApiError> {
    let caller = auth.at_least(Role::Technician, "reporting a finding")?;
    let Json(t) = body.map_err(ApiError::from)?;
    let severity = match t.severity.as_deref() {
        None => Severity::Medium,
        Some(s) => Severity::parse(s).ok_or_else(|| {
            ApiError::bad_request("severity must be low, medium, high or critical")
        })?,
    };
    let evidence = serde_json::json!({"source": format!("manual:{}", caller.name), "note": t.note});
    let at_ms = observed_at(&s, &t.asset_id, t.observed_at.as_ref()).await?;
    open(
        &s,
        Raised {
            asset: &t.asset_id,
            mode: &t.failure_mode,
            severity,
            score: 0.0,
            at_ms,
            detector: format!("manual/{}", caller.name),
            evidence,
            // A ticket by hand reports a breakdown: the predictions did not open it.
            corrective: true,
        },
    )
    .await
}

struct Raised<'a> {
    asset: &'a str,
    mode: &'a str,
    severity: Severity,
    score: f64,
    at_ms: i64,
    detector: String,
    evidence: serde_json::Value,
    corrective: bool,
}

/// Checks the asset and mode against the registry and catalog, and opens (or joins) the ticket.
async fn open(s: &AppState, r: Raised<'_>) -> Result<(StatusCode, Json<Outcome>), ApiError> {
    let asset_id = AssetId::new(r.asset).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let asset_type = s
        .store
        .asset(&asset_id)
        .ok_or_else(|| ApiError::not_found(format!("no asset {asset_id}")))?
        .asset_type;
    let finding = Finding {
        asset: asset_id,
        asset_type,
        detected_at_ms: r.at_ms,
        deviations: Vec::new(),
        score: r.score,
        severity: r.severity,
        detector: r.detector,
        sensor_faults: Vec::new(),
        joint: None,
        health: None,
        evidence: Some(r.evidence),
    };
    let (opened, _) = open_for(s, finding, r.mode, r.corrective).await?;
    Ok(opened)
}

/// Opens (or joins) the ticket for `finding` as failure mode `mode` of its asset, checked
/// against the registry and catalog: the answer, and the ticket and what became of it.
pub(crate) async fn open_for(
    s: &AppState,
    finding: Finding,
    mode: &str,
    corrective: bool,
) -> Result<((StatusCode, Json<Outcome>), Opened), ApiError> {
    let asset = s
        .store
        .asset(&finding.asset)
        .ok_or_else(|| ApiError::not_found(format!("no asset {}", finding.asset)))?;
    let ty = s.catalog.asset_type(&asset.asset_type);
    let mode = ty
        .and_then(|ty| ty.failure_modes.iter().find(|m| m.id.as_str() == mode))
        .ok_or_else(|| {
            let accepted: Vec<&str> = ty
                .map(|ty| ty.failure_modes.iter().map(|m| m.id.as_str()).collect())
                .unwrap_or_default();
            ApiError::bad_request(format!(
                "failure_mode: {mode:?} is not a failure mode of {} (a {}); accepted: {}",
                asset.id,
                asset.asset_type,
                accepted.join(", ")
            ))
        })?;
    let alert = Alert {
        asset: finding.asset.clone(),
        failure_mode: mode.id.clone(),
        severity: finding.severity,
        raised_at_ms: finding.detected_at_ms,
        began_ms: finding.began_ms(),
        parts: mode.parts.clone(),
        skills: mode.required_skills(),
        corrective,
        finding,
    };
    let opened = forewarn_maintenance::open(
        &s.db,
        &s.metrics,
        &s.opened,
        &alert,
        &(&asset).into(),
        forewarn_domain::Classifier::Outside,
    )
    .await?;
    let answer = match &opened {
        Opened::New(t) => (
            StatusCode::CREATED,
            Json(Outcome {
                ticket_id: t.id,
                new: true,
            }),
        ),
        Opened::Existing(id) | Opened::CoolingDown(id) | Opened::BeforeRepair(id) => (
            StatusCode::OK,
            Json(Outcome {
                ticket_id: *id,
                new: false,
            }),
        ),
    };
    Ok((answer, opened))
}

/// RFC 3339 text or ms since the epoch; absent = the asset's newest reading (its own clock), or
/// now when it has none.
async fn observed_at(
    s: &AppState,
    asset: &str,
    v: Option<&serde_json::Value>,
) -> Result<i64, ApiError> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(crate::moves::newest_reading(s, asset)
            .await
            .unwrap_or_else(|| chrono::Utc::now().timestamp_millis())),
        Some(v) => instant(v, "observed_at"),
    }
}

/// A moment given as RFC 3339 text or ms since the epoch, from 2000 to an hour from now.
pub(crate) fn instant(v: &serde_json::Value, field: &str) -> Result<i64, ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "{field} must be RFC 3339 text or ms since the epoch"
        ))
    };
    let ms = match v {
        serde_json::Value::Number(n) => n.as_i64().ok_or_else(bad)?,
        serde_json::Value::String(t) => DateTime::parse_from_rfc3339(t)
            .map_err(|_| bad())?
            .timestamp_millis(),
        _ => return Err(bad()),
    };
    // Same rule as telemetry: nothing before 2000.
    if ms < 946_684_800_000 {
        return Err(ApiError::bad_request(format!("{field} is before 2000")));
    }
    // A little clock skew is tolerated; a moment in the future is an error.
    if ms > chrono::Utc::now().timestamp_millis() + 3_600_000 {
        return Err(ApiError::bad_request(format!("{field} is in the future")));
    }
    Ok(ms)
}
