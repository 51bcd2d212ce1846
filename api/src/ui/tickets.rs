//! `GET /ui/tickets` (the board by status, with SLA countdowns) and `GET /ui/tickets/{id}` (the
//! ticket: evidence, chart, parts, assignee and why, audit trail, the caller's actions).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::Utc;
use forewarn_dashboards::chart::{Band, SeriesChart, series_svg};
use forewarn_dashboards::{
    AuditLine, BoardCard, BoardColumn, BoardPage, CandidateOption, MoveButton, PartLine,
    TicketFacts, TicketPage, Tr,
};
use forewarn_domain::{AssetId, Catalog, SensorName};
use forewarn_maintenance::lifecycle::{allowed, permitted};
use forewarn_maintenance::{NoteKind, Priority, Role, Ticket, TicketFilter, TicketStatus};
use serde::Deserialize;

use super::Session;
use super::format::{
    clock_text, deviations, finding_of, mode_name, sla_now, summary, ttf_text, when, when_ms,
};
use crate::{ApiError, AppState};

/// Columns of the board, in the order work flows. `reopened` tickets join `new`.
const COLUMNS: [TicketStatus; 6] = [
    TicketStatus::New,
    TicketStatus::Assigned,
    TicketStatus::InProgress,
    TicketStatus::WaitingParts,
    TicketStatus::Resolved,
    TicketStatus::Closed,
];
/// The last column holds tickets closed or cancelled this recently (wall clock), newest first.
const RECENTLY_CLOSED_MS: i64 = 7 * 86_400_000;
/// At most this many of them.
const RECENTLY_CLOSED: usize = 20;
/// Most tickets per column: a board is for what is moving, the API pages through the rest.
const PER_COLUMN: u32 = 200;

/// Filters of the board.
#[derive(Debug, Deserialize)]
pub(crate) struct BoardQuery {
    priority: Option<String>,
    q: Option<String>,
}

/// `GET /ui/tickets`.
pub(crate) async fn board(
    State(s): State<AppState>,
    session: Session,
    q: Result<Query<BoardQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let result = async {
        let Query(q) =
            q.map_err(|e| ApiError::bad_request(crate::error_text::plain(&e.body_text())))?;
        build_board(&s, &session, q).await
    };
    session.respond(result.await)
}

async fn build_board(
    s: &AppState,
    session: &Session,
    q: BoardQuery,
) -> Result<BoardPage, ApiError> {
    let tr = session.tr;
    let priority = match q.priority.as_deref().filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => Some(
            Priority::parse(&p.to_ascii_lowercase())
                .ok_or_else(|| ApiError::bad_request("priority must be P1, P2, P3 or P4"))?,
        ),
    };
    let text = q.q.unwrap_or_default();
    let needle = text.trim().to_lowercase();
    let now = Utc::now().timestamp_millis();
    let mut columns = Vec::new();
    for status in COLUMNS {
        let mut tickets = Vec::new();
        let also = match status {
            TicketStatus::New => vec![TicketStatus::New, TicketStatus::Reopened],
            TicketStatus::Closed => vec![TicketStatus::Closed, TicketStatus::Cancelled],
            _ => vec![status],
        };
        for st in also {
            tickets.extend(
                s.db.find_tickets(&TicketFilter {
                    status: Some(st),
                    priority,
                    limit: PER_COLUMN,
                    ..TicketFilter::default()
                })
                .await?,
            );
        }
        tickets.retain(|t| {
            needle.is_empty()
                || t.asset_id.to_lowercase().contains(&needle)
                || t.failure_mode.to_lowercase().contains(&needle)
                || t.assignee
                    .as_deref()
                    .is_some_and(|a| a.to_lowercase().contains(&needle))
                || t.id.to_string() == needle.trim_start_matches('#')
        });
        // Most urgent first: red alerts, then the expected failure soonest (so the order follows
        // time to failure), then priority and the SLA clock nearest its end.
        let due = |t: &Ticket| {
            t.sla
                .map(|x| {
                    if x.response.stopped_at_ms.is_none() {
                        x.response.due_at_ms
                    } else {
                        x.resolution.due_at_ms
                    }
                })
                .unwrap_or(i64::MAX)
        };
        if status == TicketStatus::Closed {
            recently_closed(&mut tickets, now);
        } else {
            tickets.sort_by_key(|t| {
                (
                    !t.red_alert,
                    t.expected_failure_ms(),
                    t.priority,
                    due(t),
                    t.id,
                )
            });
        }
        columns.push(BoardColumn {
            status: status.as_str(),
            label: if status == TicketStatus::Closed {
                tr.t("board.recently_closed").to_owned()
            } else {
                tr.status(status.as_str())
            },
            cards: tickets
                .iter()
                .map(|t| card(tr, &s.catalog, t, now))
                .collect(),
        });
    }
    let chosen = priority.map(|p| p.as_str().to_uppercase());
    Ok(BoardPage {
        chrome: session.chrome("tickets", tr.t("board.title")).live(60),
        priorities: ["P1", "P2", "P3", "P4"]
            .iter()
            .map(|p| (p.to_string(), chosen.as_deref() == Some(*p)))
            .collect(),
        q: text,
        columns,
    })
}

/// Keeps the tickets finished within [`RECENTLY_CLOSED_MS`] of `now`, newest first, at most
/// [`RECENTLY_CLOSED`].
fn recently_closed(tickets: &mut Vec<Ticket>, now: i64) {
    let finished = |t: &Ticket| {
        chrono::DateTime::parse_from_rfc3339(&t.updated_at)
            .map(|d| d.timestamp_millis())
            .unwrap_or(0)
    };
    tickets.retain(|t| now - finished(t) <= RECENTLY_CLOSED_MS);
    tickets.sort_by_key(|t| std::cmp::Reverse((finished(t), t.id)));
    tickets.truncate(RECENTLY_CLOSED);
}

fn card(tr: Tr, catalog: &Catalog, t: &Ticket, now: i64) -> BoardCard {
    let (sla_state, sla) = sla_now(tr, t.sla.as_ref(), now);
    BoardCard {
        id: t.id,
        asset_id: t.asset_id.clone(),
        failure_mode: mode_name(catalog, tr, &t.failure_mode),
        ttf: if t.status.is_open() {
            t.estimate
                .as_ref()
                .map(|e| ttf_text(tr, e))
                .unwrap_or_default()
        } else {
            String::new()
        },
        priority: prio(t.priority),
        red_alert: t.red_alert,
        sla,
        sla_state,
        assignee: assignee_text(tr, t),
    }
}

/// `P1`…`P4` as people write it.
pub(crate) fn prio(p: Priority) -> String {
    p.as_str().to_uppercase()
}

/// The assignee, or who is proposed, or that nobody is.
pub(crate) fn assignee_text(tr: Tr, t: &Ticket) -> String {
    match (&t.assignee, &t.dispatch) {
        (Some(a), _) => a.clone(),
        (None, Some(d)) if d.technician_id.is_some() => format!(
            "{}: {}",
            tr.t("ticket.proposed"),
            d.technician_id.as_deref().unwrap_or_default()
        ),
        _ => tr.t("ticket.unassigned").to_owned(),
    }
}

/// `GET /ui/tickets/{id}`.
pub(crate) async fn page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    session.respond(build_page(&s, &session, &id).await)
}

async fn build_page(s: &AppState, session: &Session, id: &str) -> Result<TicketPage, ApiError> {
    let tr = session.tr;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{id:?} is not a ticket number")))?;
    let t =
        s.db.ticket(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no ticket {id}")))?;
    let (audit, notes, parts, candidates) = tokio::join!(
        s.db.audit(id),
        s.db.notes(id),
        s.db.ticket_parts(id),
        s.db.candidates(id)
    );
    let (audit, notes, parts) = (
        audit?.unwrap_or_default(),
        notes?.unwrap_or_default(),
        parts?.unwrap_or_default(),
    );
    let (candidates, _) = candidates?.unwrap_or_default();
    let now = Utc::now().timestamp_millis();
    let role = session.caller.role;
    let from = t.status;
    let moves: Vec<MoveButton> = TicketStatus::ALL
        .into_iter()
        // Assigning names a technician: the assign form does it, not a bare status button.
        .filter(|&to| {
            to != TicketStatus::Assigned && allowed(from, to) && permitted(role, from, to)
        })
        .map(|to| MoveButton {
            to: to.as_str(),
            label: tr.t(&format!("move.{}", to.as_str())).to_owned(),
        })
        .collect();
    let can_resolve = moves.iter().any(|m| m.to == "resolved");
    let can_assign = role >= Role::Planner && from.is_open();
    let can_note = role >= Role::Technician;
    let asset = AssetId::new(&t.asset_id)
        .ok()
        .and_then(|a| s.store.asset(&a));
    let other_modes: Vec<String> = asset
        .as_ref()
        .and_then(|a| s.catalog.asset_type(&a.asset_type))
        .map(|ty| {
            ty.failure_modes
                .iter()
                .map(|m| m.id.to_string())
                .filter(|m| *m != t.failure_mode)
                .collect()
        })
        .unwrap_or_default();
    let proposed = t.dispatch.as_ref().and_then(|d| d.technician_id.clone());
    let chosen = t.assignee.clone().or(proposed);
    let candidate_options = candidates
        .iter()
        .map(|c| CandidateOption {
            id: c.technician_id.clone(),
            label: format!(
                "{} · {} · {} {}",
                c.name,
                c.distance_km
                    .map(|d| format!("{d:.0} km"))
                    .unwrap_or_else(|| "? km".into()),
                tr.t("ticket.can_start_in"),
                tr.hours(c.wait_h + c.travel_h)
            ),
            selected: chosen.as_deref() == Some(c.technician_id.as_str()),
        })
        .collect();
    let candidate_rows = candidates
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.distance_km
                    .map(|d| format!("{d:.0}"))
                    .unwrap_or_else(|| "–".into()),
                format!("{:.1}", c.wait_h),
                format!("{:.1}", c.travel_h),
                c.load,
                tr.t(if c.meets_response { "yes" } else { "no" }).to_owned(),
            )
        })
        .collect();
    let finding = finding_of(&t);
    let charts = match &finding {
        Some(f) => evidence_charts(s, tr, &t, f).await?,
        None => Vec::new(),
    };
    let mut lines: Vec<(String, AuditLine)> = audit
        .iter()
        .map(|e| {
            let text = match e.from {
                None => tr.t("audit.opened").to_owned(),
                Some(from) => format!(
                    "{} → {}",
                    tr.status(from.as_str()),
                    tr.status(e.to.as_str())
                ),
            };
            (
                e.at.clone(),
                AuditLine {
                    at: when(&e.at),
                    actor: e.actor.clone(),
                    text,
                    said: e.note.clone().unwrap_or_default(),
                },
            )
        })
        .chain(notes.iter().map(|n| {
            let (text, said) = match n.kind {
                NoteKind::Accepted => (tr.t("audit.accepted").to_owned(), String::new()),
                NoteKind::Note => (format!("{}:", tr.t("audit.note")), n.text.clone()),
            };
            (
                n.at.clone(),
                AuditLine {
                    at: when(&n.at),
                    actor: n.actor.clone(),
                    text,
                    said,
                },
            )
        }))
        .collect();
    // RFC 3339 in UTC with the same precision sorts as text.
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    let part_lines = part_lines(&t, &parts);
    let sla_response = t
        .sla
        .map(|x| clock_text(tr, &x.response, now))
        .unwrap_or_default();
    let sla_resolution = t
        .sla
        .map(|x| clock_text(tr, &x.resolution, now))
        .unwrap_or_default();
    Ok(TicketPage {
        chrome: session
            .chrome("tickets", &format!("#{} {}", t.id, t.asset_id))
            .live(0),
        status_label: tr.status(t.status.as_str()),
        site: t.site.clone().unwrap_or_else(|| "–".into()),
        sla_response,
        sla_resolution,
        assignee: assignee_text(tr, &t),
        dispatch_reason: t
            .dispatch
            .as_ref()
            .map(|d| super::dispatch_text::dispatch_reason(tr, d))
            .unwrap_or_else(|| "–".into()),
        resolution: t
            .resolution
            .as_ref()
            .map(|r| match r {
                forewarn_maintenance::Resolution::OtherMode { failure_mode } => {
                    format!("{}: {failure_mode}", tr.t("resolution.other_mode"))
                }
                r => tr.t(&format!("resolution.{}", r.code())).to_owned(),
            })
            .map(|text| match t.repaired_at_ms {
                // When the repair took effect, in the asset's own time.
                Some(at) => format!("{text} · {} {}", tr.t("ticket.repaired"), when_ms(at)),
                None => text,
            })
            .unwrap_or_default(),
        can_act: !moves.is_empty() || can_assign || can_note,
        moves,
        can_resolve,
        can_assign: can_assign && !candidates.is_empty(),
        can_note,
        other_modes,
        candidates: candidate_options,
        candidate_rows,
        summary: finding.as_ref().map(|f| summary(tr, f)).unwrap_or_default(),
        deviations: finding
            .as_ref()
            .map(|f| deviations(tr, f))
            .unwrap_or_default(),
        charts,
        parts: part_lines,
        audit: lines.into_iter().map(|(_, l)| l).collect(),
        t: TicketFacts {
            id: t.id,
            // The stored title is English: the page writes its own.
            title: super::format::ticket_title(&s.catalog, tr, &t),
            status: t.status.as_str().to_owned(),
            priority: prio(t.priority),
            red_alert: t.red_alert,
            asset_id: t.asset_id.clone(),
            failure_mode: mode_name(&s.catalog, tr, &t.failure_mode),
            severity: tr.t(&format!("severity.{}", t.severity)).to_owned(),
            detected_at: when(&t.detected_at),
            alert_count: t.alert_count,
        },
    })
}

/// A ticket's parts: what the repair needs, where it is held and in what state, what is still
/// requisitioned.
fn part_lines(t: &Ticket, parts: &forewarn_maintenance::parts::TicketParts) -> Vec<PartLine> {
    let mut out = Vec::new();
    for p in &t.parts {
        let label = format!("{} {}", p.part_number, p.description);
        let outstanding: i64 = parts
            .requisitions
            .iter()
            .filter(|r| r.part_number == p.part_number && r.status == "open")
            .map(|r| r.outstanding)
            .sum();
        let held: Vec<_> = parts
            .reservations
            .iter()
            .filter(|r| r.part_number == p.part_number)
            .collect();
        if held.is_empty() {
            out.push(PartLine {
                part: label.clone(),
                needed: p.quantity.to_string(),
                place: "–".into(),
                reserved: 0,
                issued: 0,
                consumed: 0,
                outstanding,
            });
        }
        for (i, r) in held.iter().enumerate() {
            out.push(PartLine {
                part: label.clone(),
                needed: if i == 0 {
                    p.quantity.to_string()
                } else {
                    String::new()
                },
                place: r.warehouse_id.clone(),
                reserved: r.reserved,
                issued: r.issued,
                consumed: r.consumed,
                outstanding: if i == 0 { outstanding } else { 0 },
            });
        }
    }
    out
}

/// Charts of the finding's sensors around its detection: two days before to half a day after.
async fn evidence_charts(
    s: &AppState,
    tr: Tr,
    t: &Ticket,
    f: &forewarn_domain::Finding,
) -> Result<Vec<(String, String)>, ApiError> {
    let Ok(asset) = AssetId::new(&t.asset_id) else {
        return Ok(Vec::new());
    };
    let from = t.detected_at_ms - 48 * 3_600_000;
    let to = t.detected_at_ms + 12 * 3_600_000;
    let step = (to - from) / 480;
    let sensors: Vec<(SensorName, Option<f64>)> = f
        .deviations
        .iter()
        .map(|d| (d.sensor.clone(), Some(d.baseline)))
        .chain(f.sensor_faults.iter().map(|x| (x.sensor.clone(), None)))
        .take(6)
        .collect();
    let mut out = Vec::new();
    for (sensor, baseline) in sensors {
        let bands: Vec<Band> = s
            .store
            .downsample(&asset, &sensor, from, to, step)
            .await?
            .into_iter()
            .filter(|(_, a)| a.count > 0)
            .map(|(ts, a)| Band {
                ts,
                min: a.min,
                mean: a.sum / a.count as f64,
                max: a.max,
            })
            .collect();
        if bands.is_empty() {
            continue;
        }
        let marks = [t.detected_at_ms];
        out.push((
            sensor.to_string(),
            series_svg(&SeriesChart {
                title: sensor.as_str(),
                from_ms: from,
                to_ms: to,
                bands: &bands,
                step_ms: step,
                baseline,
                marks: &marks,
                legend: (tr.t("chart.baseline"), tr.t("chart.detected")),
                size: (640, 200),
                ..SeriesChart::default()
            })
            .map_err(ApiError::unavailable)?,
        ));
    }
    Ok(out)
}
