//! `GET /ui/findings` (what the analytics saw, ticketed or not, with its evidence in words)
//! and `POST /ui/findings/{id}/ticket` (a planner opens a ticket from a finding no failure mode
//! matched, through the API's own path).

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use forewarn_dashboards::{FindingRow, FindingsPage, Tr};
use forewarn_domain::{AssetType, Finding, ModeKind};
use forewarn_maintenance::findings::Outcome;
use forewarn_maintenance::{FindingFilter, FindingRecord, Role};
use serde::Deserialize;

use super::Session;
use super::format::{mode_name, number, rul, versus_normal, when_ms};
use crate::auth::Authenticated;
use crate::{ApiError, AppState};

/// Most findings on the page (the API pages through the rest).
const SHOWN: u32 = 300;

/// Filters of the page.
#[derive(Debug, Deserialize)]
pub(crate) struct FindingsQuery {
    asset: Option<String>,
    untaken: Option<String>,
}

/// The mode a planner names.
#[derive(Debug, Deserialize)]
pub(crate) struct TicketForm {
    failure_mode: String,
}

/// `GET /ui/findings`.
pub(crate) async fn page(
    State(s): State<AppState>,
    session: Session,
    q: Result<Query<FindingsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let result = async {
        let Query(q) =
            q.map_err(|e| ApiError::bad_request(crate::error_text::plain(&e.body_text())))?;
        let asset = q.asset.unwrap_or_default().trim().to_owned();
        let untaken_only = q.untaken.is_some();
        let found =
            s.db.findings(&FindingFilter {
                asset: Some(asset.as_str()).filter(|a| !a.is_empty()),
                ticketed: untaken_only.then_some(false),
                limit: SHOWN,
                ..FindingFilter::default()
            })
            .await?;
        let may_open = session.caller.role >= Role::Planner;
        let rows = found
            .iter()
            .map(|f| row(&s, session.tr, f, may_open))
            .collect();
        Ok::<_, ApiError>(FindingsPage {
            chrome: session.chrome("findings", session.tr.t("findings.title")),
            rows,
            untaken_only,
            asset,
        })
    };
    session.respond(result.await)
}

/// `POST /ui/findings/{id}/ticket`: to the ticket opened or joined.
pub(crate) async fn ticket(
    State(s): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Path(id): Path<String>,
    f: Result<Form<TicketForm>, FormRejection>,
) -> Response {
    let result = async {
        super::actions::same_origin(&headers)?;
        let Form(f) =
            f.map_err(|e| ApiError::bad_request(crate::error_text::plain(&e.body_text())))?;
        let id: i64 = id
            .parse()
            .map_err(|_| ApiError::bad_request(format!("{id:?} is not a finding number")))?;
        Authenticated(session.caller.clone())
            .at_least(Role::Planner, "opening a ticket from a finding")?;
        let (_, axum::Json(outcome)) =
            crate::finding_list::open_from(&s, id, &f.failure_mode).await?;
        Ok::<_, ApiError>(outcome.ticket_id)
    };
    match result.await {
        Ok(ticket) => Redirect::to(&format!("/ui/tickets/{ticket}?done=opened")).into_response(),
        Err(e) => session.error(e),
    }
}

fn row(s: &AppState, tr: Tr, f: &FindingRecord, may_open: bool) -> FindingRow {
    let finding: Option<Finding> = serde_json::from_value(f.finding.clone()).ok();
    let ty = finding
        .as_ref()
        .and_then(|x| s.catalog.asset_type(&x.asset_type));
    let modes = match (may_open, f.outcome, ty) {
        (true, Outcome::Unmatched, Some(ty)) => ty
            .failure_modes
            .iter()
            .filter(|m| {
                // A misreading goes to instrumentation, a deviation to a machine mode.
                let instruments = f.kind == "instrumentation";
                (m.kind == ModeKind::Instrumentation) == instruments
            })
            .map(|m| (m.id.to_string(), mode_name(&s.catalog, tr, m.id.as_str())))
            .collect(),
        _ => Vec::new(),
    };
    FindingRow {
        id: f.id,
        when: when_ms(f.detected_at_ms),
        asset_id: f.asset_id.clone(),
        mode: f.failure_mode.as_deref().map_or_else(
            || tr.t("findings.no_mode").to_owned(),
            |m| mode_name(&s.catalog, tr, m),
        ),
        outcome: tr.t(&format!("outcome.{}", f.outcome.as_str())).to_owned(),
        outcome_key: f.outcome.as_str(),
        severity: tr.t(&format!("severity.{}", f.severity)).to_owned(),
        evidence: finding
            .as_ref()
            .map(|x| evidence(tr, ty, x))
            .unwrap_or_default(),
        ttf: f.time_to_failure_h.map(|t| rul(tr, &t)).unwrap_or_default(),
        ticket_id: f.ticket_id,
        modes,
    }
}

/// A finding's evidence in the sensors' own units: `flow 31.2 m³/h (−22 % vs normal 40.1)`,
/// or the misreading sensors, or who sent it.
fn evidence(tr: Tr, ty: Option<&AssetType>, f: &Finding) -> String {
    let unit = |sensor| {
        ty.and_then(|ty| ty.sensors.get(sensor))
            .map_or("", |spec| spec.unit.as_str())
    };
    let mut out: Vec<String> = f
        .deviations
        .iter()
        .map(|d| {
            format!(
                "{} {} {}{}",
                d.sensor,
                number(d.value),
                unit(&d.sensor),
                versus_normal(tr, d.value, d.baseline)
            )
        })
        .collect();
    out.extend(f.sensor_faults.iter().map(|x| {
        format!(
            "{} {}",
            x.sensor,
            tr.t(&format!("fault.{}", x.fault.as_str()))
        )
    }));
    if out.is_empty() {
        out.push(f.detector.clone());
    }
    out.join(", ")
}
