//! `GET /ui/tickets`: the board by status, each card with its time to failure and SLA
//! countdown, and the recently closed.

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::Utc;
use forewarn_dashboards::{BoardCard, BoardColumn, BoardPage, Tr};
use forewarn_domain::Catalog;
use forewarn_maintenance::{Priority, Ticket, TicketFilter, TicketStatus};
use serde::Deserialize;

use super::Session;
use super::format::{mode_name, sla_now, ttf_text};
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
        let mut tickets = column_tickets(s, status, priority).await?;
        tickets.retain(|t| matches(t, &needle));
        if status == TicketStatus::Closed {
            recently_closed(&mut tickets, now);
        } else {
            most_urgent_first(&mut tickets);
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

/// The tickets of a column: new ones with the reopened, closed ones with the cancelled.
async fn column_tickets(
    s: &AppState,
    status: TicketStatus,
    priority: Option<Priority>,
) -> Result<Vec<Ticket>, ApiError> {
    let also = match status {
        TicketStatus::New => vec![TicketStatus::New, TicketStatus::Reopened],
        TicketStatus::Closed => vec![TicketStatus::Closed, TicketStatus::Cancelled],
        _ => vec![status],
    };
    let mut tickets = Vec::new();
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
    Ok(tickets)
}

/// Whether the board's search text (lower case) names the ticket's asset, mode, assignee or
/// number.
fn matches(t: &Ticket, needle: &str) -> bool {
    needle.is_empty()
        || t.asset_id.to_lowercase().contains(needle)
        || t.failure_mode.to_lowercase().contains(needle)
        || t.assignee
            .as_deref()
            .is_some_and(|a| a.to_lowercase().contains(needle))
        || t.id.to_string() == needle.trim_start_matches('#')
}

/// Most urgent first: red alerts, then the expected failure soonest (so the order follows
/// time to failure), then priority and the SLA clock nearest its end.
fn most_urgent_first(tickets: &mut [Ticket]) {
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
