//! `GET /ui/tickets/{id}`: the ticket — evidence, charts, parts, assignee and why, SLA
//! clocks, audit trail — and the actions the caller may take on it.

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::Utc;
use forewarn_dashboards::{AuditLine, CandidateOption, MoveButton, TicketFacts, TicketPage, Tr};
use forewarn_domain::AssetId;
use forewarn_maintenance::dispatch::Candidate;
use forewarn_maintenance::lifecycle::{allowed, permitted};
use forewarn_maintenance::notes::TicketNote;
use forewarn_maintenance::{NoteKind, Role, Ticket, TicketEvent, TicketStatus};

use super::Session;
use super::format::{clock_text, deviations, finding_of, mode_name, summary, when, when_ms};
use super::tickets::{assignee_text, prio};
use crate::{ApiError, AppState};

mod evidence;

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
    let moves = moves(tr, role, t.status);
    let can_resolve = moves.iter().any(|m| m.to == "resolved");
    let can_assign = role >= Role::Planner && t.status.is_open();
    let can_note = role >= Role::Technician;
    let finding = finding_of(&t);
    let charts = match &finding {
        Some(f) => evidence::evidence_charts(s, tr, &t, f).await?,
        None => Vec::new(),
    };
    let clock =
        |pick: fn(&forewarn_maintenance::SlaStatus) -> &forewarn_maintenance::sla::SlaClock| {
            t.sla
                .as_ref()
                .map(|x| clock_text(tr, pick(x), now))
                .unwrap_or_default()
        };
    Ok(TicketPage {
        chrome: session
            .chrome("tickets", &format!("#{} {}", t.id, t.asset_id))
            .live(0),
        status_label: tr.status(t.status.as_str()),
        site: t.site.clone().unwrap_or_else(|| "–".into()),
        sla_response: clock(|x| &x.response),
        sla_resolution: clock(|x| &x.resolution),
        assignee: assignee_text(tr, &t),
        dispatch_reason: t
            .dispatch
            .as_ref()
            .map(|d| super::dispatch_text::dispatch_reason(tr, d))
            .unwrap_or_else(|| "–".into()),
        resolution: resolution_text(tr, &t),
        can_act: !moves.is_empty() || can_assign || can_note,
        moves,
        can_resolve,
        can_assign: can_assign && !candidates.is_empty(),
        can_note,
        other_modes: other_modes(s, &t),
        candidates: candidate_options(tr, &t, &candidates),
        candidate_rows: candidate_rows(tr, &candidates),
        summary: finding.as_ref().map(|f| summary(tr, f)).unwrap_or_default(),
        deviations: finding
            .as_ref()
            .map(|f| deviations(tr, f))
            .unwrap_or_default(),
        charts,
        parts: evidence::part_lines(&t, &parts),
        audit: audit_lines(tr, &audit, &notes),
        t: facts(s, tr, &t),
    })
}

/// The moves the caller may make from `from`, as buttons.
fn moves(tr: Tr, role: Role, from: TicketStatus) -> Vec<MoveButton> {
    TicketStatus::ALL
        .into_iter()
        // Assigning names a technician: the assign form does it, not a bare status button.
        .filter(|&to| {
            to != TicketStatus::Assigned && allowed(from, to) && permitted(role, from, to)
        })
        .map(|to| MoveButton {
            to: to.as_str(),
            label: tr.t(&format!("move.{}", to.as_str())).to_owned(),
        })
        .collect()
}

/// The asset type's other failure modes: what a repair may say it really was.
pub(crate) fn other_modes(s: &AppState, t: &Ticket) -> Vec<String> {
    AssetId::new(&t.asset_id)
        .ok()
        .and_then(|a| s.store.asset(&a))
        .and_then(|a| s.catalog.asset_type(&a.asset_type).cloned())
        .map(|ty| {
            ty.failure_modes
                .iter()
                .map(|m| m.id.to_string())
                .filter(|m| *m != t.failure_mode)
                .collect()
        })
        .unwrap_or_default()
}

/// The assign form's choices, the assignee (else the proposed technician) selected.
fn candidate_options(tr: Tr, t: &Ticket, candidates: &[Candidate]) -> Vec<CandidateOption> {
    let proposed = t.dispatch.as_ref().and_then(|d| d.technician_id.clone());
    let chosen = t.assignee.clone().or(proposed);
    candidates
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
        .collect()
}

/// The ranking table: name, distance, wait, travel, load, within the response time.
fn candidate_rows(
    tr: Tr,
    candidates: &[Candidate],
) -> Vec<(String, String, String, String, i64, String)> {
    candidates
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
        .collect()
}

/// The status changes and the notes, in the order they happened.
fn audit_lines(tr: Tr, audit: &[TicketEvent], notes: &[TicketNote]) -> Vec<AuditLine> {
    let moved = audit.iter().map(|e| {
        let text = match e.from {
            None => tr.t("audit.opened").to_owned(),
            Some(from) => format!(
                "{} → {}",
                tr.status(from.as_str()),
                tr.status(e.to.as_str())
            ),
        };
        let line = AuditLine {
            at: when(&e.at),
            actor: e.actor.clone(),
            text,
            said: e.note.clone().unwrap_or_default(),
        };
        (e.at.clone(), line)
    });
    let noted = notes.iter().map(|n| {
        let (text, said) = match n.kind {
            NoteKind::Accepted => (tr.t("audit.accepted").to_owned(), String::new()),
            NoteKind::Note => (format!("{}:", tr.t("audit.note")), n.text.clone()),
        };
        let line = AuditLine {
            at: when(&n.at),
            actor: n.actor.clone(),
            text,
            said,
        };
        (n.at.clone(), line)
    });
    let mut lines: Vec<(String, AuditLine)> = moved.chain(noted).collect();
    // RFC 3339 in UTC with the same precision sorts as text.
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    lines.into_iter().map(|(_, l)| l).collect()
}

/// How the ticket was resolved, and when the repair took effect in the asset's own time.
fn resolution_text(tr: Tr, t: &Ticket) -> String {
    t.resolution
        .as_ref()
        .map(|r| match r {
            forewarn_maintenance::Resolution::OtherMode { failure_mode } => {
                format!("{}: {failure_mode}", tr.t("resolution.other_mode"))
            }
            r => tr.t(&format!("resolution.{}", r.code())).to_owned(),
        })
        .map(|text| match t.repaired_at_ms {
            Some(at) => format!("{text} · {} {}", tr.t("ticket.repaired"), when_ms(at)),
            None => text,
        })
        .unwrap_or_default()
}

/// The ticket's facts in the reader's language.
fn facts(s: &AppState, tr: Tr, t: &Ticket) -> TicketFacts {
    TicketFacts {
        id: t.id,
        // The stored title is English: the page writes its own.
        title: super::format::ticket_title(&s.catalog, tr, t),
        status: t.status.as_str().to_owned(),
        priority: prio(t.priority),
        red_alert: t.red_alert,
        asset_id: t.asset_id.clone(),
        failure_mode: mode_name(&s.catalog, tr, &t.failure_mode),
        severity: tr.t(&format!("severity.{}", t.severity)).to_owned(),
        detected_at: when(&t.detected_at),
        alert_count: t.alert_count,
    }
}
