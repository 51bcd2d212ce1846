//! Assigning tickets: the proposal made when a ticket opens (or the assignment itself, for a red
//! alert), a planner's "assign the best" or override, and the ranking on demand.

use chrono::{SecondsFormat, Utc};
use sqlx::{AnyConnection, Row};

use super::technicians::all;
use super::{Candidate, Dispatch, Job, rank, reason};
use crate::geo::LatLon;
use crate::outbox::emit;
use crate::sla::sweep::ms;
use crate::transition::move_by;
use crate::{Maintenance, MaintenanceError, Priority, Ticket, TicketStatus};

/// Why an assignment did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    /// No such ticket or technician.
    #[error("{0}")]
    NotFound(String),
    /// The ticket is finished, or nobody can take it.
    #[error("{0}")]
    Conflict(String),
    /// The technician named is inactive.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] MaintenanceError),
}

impl From<sqlx::Error> for AssignError {
    fn from(e: sqlx::Error) -> Self {
        AssignError::Db(e.into())
    }
}

/// A ticket as dispatch sees it.
struct Facts {
    status: TicketStatus,
    failure_mode: String,
    skills: Vec<String>,
    site: Option<String>,
    at: Option<LatLon>,
    response_due_ms: i64,
}

async fn facts(
    tx: &mut AnyConnection,
    sla: &crate::SlaPolicy,
    id: i64,
) -> Result<Option<Facts>, MaintenanceError> {
    let Some(r) = sqlx::query(
        "SELECT t.status, t.failure_mode, t.skills, t.site, t.created_at,
                coalesce(t.sla_priority, t.priority), s.lat, s.lon
         FROM tickets t LEFT JOIN sites s ON s.id = t.site WHERE t.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let invalid = |field| MaintenanceError::Invalid { id, field };
    let status = TicketStatus::parse(&r.get::<String, _>(0)).ok_or(invalid("status"))?;
    let opened = ms(&r.get::<String, _>(4)).ok_or(invalid("created_at"))?;
    let priority = Priority::parse(&r.get::<String, _>(5)).ok_or(invalid("priority"))?;
    let skills: String = r.get(2);
    Ok(Some(Facts {
        status,
        failure_mode: r.get(1),
        skills: serde_json::from_str(&skills).unwrap_or_default(),
        site: r.get(3),
        at: LatLon::from_pair(r.get(6), r.get(7)),
        response_due_ms: opened + sla.of(priority).response.as_millis() as i64,
    }))
}

async fn ranking(
    tx: &mut AnyConnection,
    f: &Facts,
    now_ms: i64,
) -> Result<(Vec<Candidate>, usize), MaintenanceError> {
    let techs = all(tx).await?;
    let job = Job {
        failure_mode: &f.failure_mode,
        skills: &f.skills,
        site: f.site.as_deref(),
        at: f.at,
        response_due_ms: f.response_due_ms,
    };
    Ok(rank(&job, &techs, now_ms))
}

/// Stores `d` on ticket `id` (and its technician when it is an assignment), moves a new or
/// reopened ticket to assigned, logs it, and tells the outbox.
async fn record(
    tx: &mut AnyConnection,
    id: i64,
    status: TicketStatus,
    d: &Dispatch,
) -> Result<(), MaintenanceError> {
    let json = serde_json::to_string(d).unwrap_or_else(|_| "{}".into());
    let assigning = d.kind != "proposed";
    sqlx::query(
        "UPDATE tickets SET dispatch = $1, assignee = CASE WHEN $2 = 1 THEN $3 ELSE assignee END, updated_at = $4 WHERE id = $5",
    )
    .bind(&json)
    .bind(i64::from(assigning))
    .bind(&d.technician_id)
    .bind(&d.at)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if !assigning {
        return Ok(());
    }
    let note = format!("assigned to {}", d.reason);
    if matches!(status, TicketStatus::New | TicketStatus::Reopened) {
        // Whoever decided makes the move: the planner's name, or `forewarn` for a red alert.
        move_by(
            tx,
            &d.at,
            id,
            (status, TicketStatus::Assigned),
            &d.by,
            &note,
        )
        .await?;
    } else {
        sqlx::query(
            "INSERT INTO ticket_events (ticket_id, at, actor, from_status, to_status, note)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(&d.at)
        .bind(&d.by)
        .bind(status.as_str())
        .bind(status.as_str())
        .bind(format!("re{note}"))
        .execute(&mut *tx)
        .await?;
    }
    emit(tx, &d.at, "ticket.assigned", Some(id), d).await
}

/// At opening: proposes the best technician, or — for a red alert — assigns them at once and
/// raises the red-alert event.
pub(crate) async fn on_open(
    tx: &mut AnyConnection,
    sla: &crate::SlaPolicy,
    id: i64,
    red_alert: bool,
    at: &str,
) -> Result<(), MaintenanceError> {
    let Some(f) = facts(tx, sla, id).await? else {
        return Ok(());
    };
    let now_ms = ms(at).unwrap_or_else(|| Utc::now().timestamp_millis());
    let (candidates, lacking) = ranking(tx, &f, now_ms).await?;
    let best = candidates.first();
    let assign = red_alert && best.is_some();
    let d = Dispatch {
        kind: if assign { "auto" } else { "proposed" }.into(),
        technician_id: best.map(|c| c.technician_id.clone()),
        by: "forewarn".into(),
        at: at.to_owned(),
        reason: if red_alert && assign {
            format!("{} (red alert: assigned at once)", reason(best, lacking))
        } else {
            reason(best, lacking)
        },
        candidates: candidates.into_iter().take(5).collect(),
        lacking_skills: lacking,
    };
    record(tx, id, f.status, &d).await?;
    if red_alert {
        emit(tx, at, "ticket.red_alert", Some(id), &d).await?;
    }
    Ok(())
}

impl Maintenance {
    /// Assigns ticket `id` on a planner's word: to `technician` (an override, recorded with the
    /// ranking it overrode, unless it names the ranking's best) or, without one, to the best
    /// candidate now. The move to `assigned` is audited under the planner's name.
    pub async fn assign(
        &self,
        id: i64,
        by: &str,
        technician: Option<&str>,
        note: Option<&str>,
    ) -> Result<Ticket, AssignError> {
        let at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut tx = self.begin_write().await?;
        let f = facts(&mut tx, &self.sla, id)
            .await?
            .ok_or_else(|| AssignError::NotFound(format!("no ticket {id}")))?;
        if !f.status.is_open() {
            return Err(AssignError::Conflict(format!(
                "ticket {id} is {}; only open tickets are assigned",
                f.status.as_str()
            )));
        }
        let (candidates, lacking) = ranking(&mut tx, &f, ms(&at).unwrap_or_default()).await?;
        let best = candidates.first().map(|c| c.technician_id.as_str());
        // A planner who names the ranking's best confirms it: no override to explain.
        let technician = technician.filter(|t| Some(*t) != best);
        let (kind, chosen, why) = match technician {
            Some(t) => {
                let techs = all(&mut tx).await?;
                let (tech, _) = techs
                    .iter()
                    .find(|(x, _)| x.id == t)
                    .ok_or_else(|| AssignError::NotFound(format!("no technician {t}")))?;
                if !tech.active {
                    return Err(AssignError::Invalid(format!("technician {t} is inactive")));
                }
                let skills = if tech.covers(&f.skills, &f.failure_mode) {
                    ""
                } else {
                    " (lacks the skills the catalog asks for)"
                };
                let best = best.unwrap_or("nobody");
                let why = format!(
                    "{t} ({}){skills}, chosen by {by} over the ranking's best, {best}{}",
                    tech.name,
                    note.map(|n| format!(": {n}")).unwrap_or_default()
                );
                ("override", t.to_owned(), why)
            }
            None => {
                let best = candidates.first().ok_or_else(|| {
                    AssignError::Conflict(format!(
                        "nobody can take ticket {id}: {}",
                        reason(None, lacking)
                    ))
                })?;
                let why = format!(
                    "{}; confirmed by {by}{}",
                    reason(Some(best), lacking),
                    note.map(|n| format!(": {n}")).unwrap_or_default()
                );
                ("auto", best.technician_id.clone(), why)
            }
        };
        let d = Dispatch {
            kind: kind.into(),
            technician_id: Some(chosen),
            by: by.to_owned(),
            at: at.clone(),
            reason: why,
            candidates: candidates.into_iter().take(5).collect(),
            lacking_skills: lacking,
        };
        record(&mut tx, id, f.status, &d).await?;
        tx.commit().await?;
        self.ticket(id)
            .await?
            .ok_or_else(|| AssignError::NotFound(format!("no ticket {id}")))
    }

    /// The ranking for ticket `id` now, best first, and how many lacked the skills (`None`: no
    /// such ticket).
    pub async fn candidates(
        &self,
        id: i64,
    ) -> Result<Option<(Vec<Candidate>, usize)>, MaintenanceError> {
        let mut conn = self.pool.acquire().await?;
        let Some(f) = facts(&mut conn, &self.sla, id).await? else {
            return Ok(None);
        };
        Ok(Some(
            ranking(&mut conn, &f, Utc::now().timestamp_millis()).await?,
        ))
    }
}
