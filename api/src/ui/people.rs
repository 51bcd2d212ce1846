//! `GET /ui/technicians` (who works where, and how loaded), `GET /ui/technicians/{id}` (one
//! technician's jobs, sized for a phone) and `GET /ui/me` (the signed-in technician's own).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use forewarn_dashboards::{Job, TechnicianPage, TechnicianRow, TechniciansPage, Tr};
use forewarn_maintenance::dispatch::Technician;
use forewarn_maintenance::lifecycle::permitted;
use forewarn_maintenance::parts::TicketParts;
use forewarn_maintenance::{Role, Ticket, TicketFilter, TicketStatus};

use super::format::sla_now;
use super::ticket_page::other_modes;
use super::tickets::prio;
use super::{Session, render};
use crate::{ApiError, AppState};

fn shift(t: &Technician) -> String {
    let off = t.utc_offset_minutes;
    format!(
        "{}–{} UTC{}{:02}:{:02} · {}",
        t.shift_start,
        t.shift_end,
        if off < 0 { '-' } else { '+' },
        off.abs() / 60,
        off.abs() % 60,
        t.work_days.join(" ")
    )
}

/// `GET /ui/technicians`.
pub(crate) async fn list(State(s): State<AppState>, session: Session) -> Response {
    let tr = session.tr;
    match s.db.technicians().await {
        Ok(all) => render(&TechniciansPage {
            chrome: session.chrome("technicians", tr.t("nav.technicians")),
            rows: all
                .iter()
                .filter(|(t, _)| t.active)
                .map(|(t, load)| TechnicianRow {
                    id: t.id.clone(),
                    name: t.name.clone(),
                    site: t.site.clone().unwrap_or_else(|| "–".into()),
                    skills: t.skills.join(", "),
                    shift: shift(t),
                    load: *load,
                })
                .collect(),
        }),
        Err(e) => session.error(e.into()),
    }
}

/// `GET /ui/me`: a technician's own jobs (their token's name is their technician id).
pub(crate) async fn me(session: Session) -> Response {
    let to = format!(
        "/ui/technicians/{}",
        forewarn_dashboards::encode(&session.caller.name)
    );
    Redirect::to(&to).into_response()
}

/// `GET /ui/technicians/{id}`.
pub(crate) async fn jobs(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    session.respond(build(&s, &session, &id).await)
}

async fn build(s: &AppState, session: &Session, id: &str) -> Result<TechnicianPage, ApiError> {
    let tr = session.tr;
    let all = s.db.technicians().await?;
    let (tech, _) = all
        .iter()
        .find(|(t, _)| t.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no technician {id}")))?;
    let mut tickets =
        s.db.find_tickets(&TicketFilter {
            assignee: Some(id),
            open_only: true,
            limit: 200,
            ..TicketFilter::default()
        })
        .await?;
    tickets.sort_by_key(|t| (t.priority, t.id));
    let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
    let accepted = s.db.accepted(&ids).await?;
    let role = session.caller.role;
    // Planners act on anyone's jobs; a technician on their own.
    let can_act = role >= Role::Planner || (role == Role::Technician && session.caller.name == id);
    let now = Utc::now().timestamp_millis();
    let mut jobs = Vec::new();
    for t in &tickets {
        let held = s.db.ticket_parts(t.id).await?.unwrap_or_default();
        let who = Who {
            role,
            can_act,
            is_self: session.caller.name == id,
        };
        jobs.push(job(s, tr, t, &held, accepted.contains(&t.id), who, now));
    }
    Ok(TechnicianPage {
        chrome: session.chrome("technicians", &tech.name).live(60),
        name: tech.name.clone(),
        shift: shift(tech),
        jobs,
        can_act,
        back_path: format!("/ui/technicians/{id}"),
    })
}

/// Who looks at a technician's jobs, for what they may do.
#[derive(Debug, Clone, Copy)]
struct Who {
    role: Role,
    /// A planner, or the technician themselves.
    can_act: bool,
    /// The signed-in technician is the one whose jobs these are.
    is_self: bool,
}

/// One job card: the ticket, its SLA clock, its parts and the buttons the caller may use.
fn job(
    s: &AppState,
    tr: Tr,
    t: &Ticket,
    held: &TicketParts,
    is_accepted: bool,
    who: Who,
    now: i64,
) -> Job {
    let (sla_state, sla) = sla_now(tr, t.sla.as_ref(), now);
    let may = |to| permitted(who.role.max(Role::Technician), t.status, to) && who.can_act;
    let working = matches!(
        t.status,
        TicketStatus::InProgress | TicketStatus::WaitingParts
    );
    Job {
        id: t.id,
        asset_id: t.asset_id.clone(),
        site: t.site.clone().unwrap_or_default(),
        failure_mode: super::format::mode_name(&s.catalog, tr, &t.failure_mode),
        priority: prio(t.priority),
        status: t.status.as_str().to_owned(),
        status_label: tr.status(t.status.as_str()),
        sla,
        sla_state,
        accepted: is_accepted,
        parts: part_texts(tr, t, held),
        can_accept: who.can_act
            && t.status == TicketStatus::Assigned
            && !is_accepted
            && who.is_self,
        can_start: t.status == TicketStatus::Assigned && may(TicketStatus::InProgress),
        can_resolve: matches!(t.status, TicketStatus::InProgress) && may(TicketStatus::Resolved),
        consumable: if working {
            consumable(held)
        } else {
            Vec::new()
        },
        other_modes: other_modes(s, t),
    }
}

/// Each part the job needs, with how many are reserved, issued and consumed.
fn part_texts(tr: Tr, t: &Ticket, held: &TicketParts) -> Vec<String> {
    t.parts
        .iter()
        .map(|p| {
            let (reserved, issued, consumed) = held
                .reservations
                .iter()
                .filter(|r| r.part_number == p.part_number)
                .fold((0, 0, 0), |(a, b, c), r| {
                    (a + r.reserved, b + r.issued, c + r.consumed)
                });
            format!(
                "{} × {} {} — {} {reserved}, {} {issued}, {} {consumed}",
                p.quantity,
                p.part_number,
                p.description,
                tr.t("col.reserved"),
                tr.t("col.issued"),
                tr.t("col.consumed")
            )
        })
        .collect()
}

/// The parts the technician may mark consumed (reserved or in hand), once per part number.
fn consumable(held: &TicketParts) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for r in &held.reservations {
        let n = r.reserved + in_hand(r);
        if n > 0 && !out.iter().any(|u| u.0 == r.part_number) {
            out.push((r.part_number.clone(), format!("{} ({n})", r.part_number)));
        }
    }
    out
}

/// Units issued to the technician and neither used nor returned.
pub(crate) fn in_hand(r: &forewarn_maintenance::parts::Reservation) -> i64 {
    r.issued - r.consumed - r.returned
}
