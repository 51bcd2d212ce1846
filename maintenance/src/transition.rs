//! Moving a ticket through its lifecycle, with the audit log written in the same transaction.

use chrono::{SecondsFormat, Utc};
use sqlx::Row;

use serde::Serialize;
use sqlx::AnyConnection;

use crate::lifecycle::{self, Refusal, Resolution, Role};
use crate::outbox::emit;
use crate::parts::allocate;
use crate::{Maintenance, MaintenanceError, Ticket, TicketEvent, TicketStatus};

/// A requested status change.
#[derive(Debug, Clone)]
pub struct Move<'a> {
    /// Who asks (a token's name).
    pub actor: &'a str,
    /// With which role.
    pub role: Role,
    /// The status wanted.
    pub to: TicketStatus,
    /// Why, in free text.
    pub note: Option<&'a str>,
    /// How it was resolved (only with `to = resolved`).
    pub resolution: Option<&'a Resolution>,
    /// When, in the asset's own time (ms since the epoch), the move takes effect: an explicit
    /// repair time, or the asset's newest reading. `None`: the newest alert the ticket absorbed.
    /// A resolution that found a fault records it as the repair's time.
    pub device_ms: Option<i64>,
}

/// Why a move did not happen.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    /// No such ticket.
    #[error("no ticket {0}")]
    NotFound(i64),
    /// The lifecycle or the role refuses it.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Reopening would make a second open ticket for the asset and failure mode.
    #[error("ticket {0} is already open for this asset and failure mode")]
    AlreadyOpen(i64),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] MaintenanceError),
}

impl From<sqlx::Error> for MoveError {
    fn from(e: sqlx::Error) -> Self {
        MoveError::Db(e.into())
    }
}

/// The payload of a `ticket.status_changed` event.
#[derive(Debug, Serialize)]
pub(crate) struct StatusChange<'a> {
    pub from: Option<TicketStatus>,
    pub to: TicketStatus,
    pub actor: &'a str,
    pub note: Option<&'a str>,
}

/// A move the service makes by itself (parts missing or arrived), inside the caller's
/// transaction: only if the ticket is still in `from`, with its audit entry and event.
pub(crate) async fn system_move(
    tx: &mut AnyConnection,
    at: &str,
    id: i64,
    from: TicketStatus,
    to: TicketStatus,
    note: &str,
) -> Result<bool, MaintenanceError> {
    move_by(tx, at, id, (from, to), "forewarn", note).await
}

/// A move that follows from another change in the caller's transaction (an assignment, parts),
/// made by `actor`: only if the ticket is still in `from`, with its audit entry and event. The
/// lifecycle's role checks are the caller's.
pub(crate) async fn move_by(
    tx: &mut AnyConnection,
    at: &str,
    id: i64,
    (from, to): (TicketStatus, TicketStatus),
    actor: &str,
    note: &str,
) -> Result<bool, MaintenanceError> {
    let done = sqlx::query(
        "UPDATE tickets SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
    )
    .bind(to.as_str())
    .bind(at)
    .bind(id)
    .bind(from.as_str())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO ticket_events (ticket_id, at, actor, from_status, to_status, note)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(at)
    .bind(actor)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(note)
    .execute(&mut *tx)
    .await?;
    let change = StatusChange {
        from: Some(from),
        to,
        actor,
        note: Some(note),
    };
    emit(tx, at, "ticket.status_changed", Some(id), &change).await?;
    Ok(true)
}

/// A ticket's place in its asset's timeline.
struct Timeline {
    finished_ms: Option<i64>,
    repaired_at_ms: Option<i64>,
    found_mode: Option<String>,
}

impl Timeline {
    /// After the move `m` from `from` at `device_ms`: finishing records when; a resolution that
    /// found a fault records the repair and the mode found; reopening forgets both (the repair
    /// did not hold).
    fn after(self, from: TicketStatus, m: &Move<'_>, predicted: &str, device_ms: i64) -> Self {
        if !from.is_open() && m.to.is_open() {
            return Self {
                finished_ms: None,
                repaired_at_ms: None,
                found_mode: None,
            };
        }
        let finishing = from.is_open() && !m.to.is_open();
        if !finishing {
            return self;
        }
        let found = m.resolution.and_then(|r| r.actual_mode(predicted));
        Self {
            finished_ms: Some(device_ms),
            repaired_at_ms: found.map(|_| device_ms),
            found_mode: found.map(str::to_owned),
        }
    }
}

impl Maintenance {
    /// Moves ticket `id` as asked, if the lifecycle and the caller's role allow it; the audit log
    /// gets the entry in the same transaction, so no change goes unrecorded.
    pub async fn transition(&self, id: i64, m: &Move<'_>) -> Result<Ticket, MoveError> {
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        // IMMEDIATE: the write lock before the read, so the status read is the one updated.
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT status, asset_id, failure_mode, detected_at_ms, last_alert_ms, finished_ms, repaired_at_ms, found_mode, assignee
             FROM tickets WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(MoveError::NotFound(id))?;
        let status: String = row.get(0);
        let from = TicketStatus::parse(&status).ok_or(MaintenanceError::Invalid {
            id,
            field: "status",
        })?;
        lifecycle::check(m.role, from, m.to, m.resolution)?;
        lifecycle::check_owner(
            m.role,
            m.actor,
            id,
            row.get::<Option<String>, _>(8).as_deref(),
        )?;
        if !from.is_open() && m.to.is_open() {
            let other: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM tickets WHERE asset_id = $1 AND failure_mode = $2
                 AND status NOT IN ('resolved', 'closed', 'cancelled') AND id != $3",
            )
            .bind(row.get::<String, _>(1))
            .bind(row.get::<String, _>(2))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(other) = other {
                return Err(MoveError::AlreadyOpen(other));
            }
        }
        let resolution = m
            .resolution
            .map(|r| serde_json::to_string(r).unwrap_or_default());
        let device_ms = crate::episode::device_time(m.device_ms, row.get(3), row.get(4));
        let timeline = Timeline {
            finished_ms: row.get(5),
            repaired_at_ms: row.get(6),
            found_mode: row.get(7),
        }
        .after(from, m, &row.get::<String, _>(2), device_ms);
        // The status read above is the condition: a concurrent move loses instead of
        // overwriting (SQLite serialises writers; the check keeps PostgreSQL honest too).
        let done = sqlx::query(
            "UPDATE tickets SET status = $1, updated_at = $2,
             resolution = CASE WHEN $3 IS NULL THEN resolution ELSE $4 END,
             finished_ms = $7, repaired_at_ms = $8, found_mode = $9
             WHERE id = $5 AND status = $6",
        )
        .bind(m.to.as_str())
        .bind(&now)
        .bind(&resolution)
        .bind(&resolution)
        .bind(id)
        .bind(from.as_str())
        .bind(timeline.finished_ms)
        .bind(timeline.repaired_at_ms)
        .bind(timeline.found_mode)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(Refusal::NotAllowed(from, m.to).into());
        }
        sqlx::query(
            "INSERT INTO ticket_events (ticket_id, at, actor, from_status, to_status, note, device_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(&now)
        .bind(m.actor)
        .bind(from.as_str())
        .bind(m.to.as_str())
        .bind(m.note)
        .bind(device_ms)
        .execute(&mut *tx)
        .await?;
        let change = StatusChange {
            from: Some(from),
            to: m.to,
            actor: m.actor,
            note: m.note,
        };
        emit(&mut tx, &now, "ticket.status_changed", Some(id), &change).await?;
        if from.is_open() && !m.to.is_open() {
            // Finished: what it still holds on the shelf goes back to stock.
            allocate::release(&mut tx, &now, m.actor, id).await?;
        }
        if from == TicketStatus::Assigned && m.to == TicketStatus::InProgress {
            // Work starts without its parts: the ticket waits for them.
            allocate::hold_if_missing(&mut tx, &now, id).await?;
        }
        tx.commit().await?;
        self.ticket(id).await?.ok_or(MoveError::NotFound(id))
    }

    /// A ticket's audit log, oldest first (`None`: no such ticket).
    pub async fn audit(&self, id: i64) -> Result<Option<Vec<TicketEvent>>, MaintenanceError> {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT id, at, actor, from_status, to_status, note, device_ms FROM ticket_events
             WHERE ticket_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let status = |s: Option<String>| {
                    s.map(|s| {
                        TicketStatus::parse(&s).ok_or(MaintenanceError::Invalid {
                            id,
                            field: "audit status",
                        })
                    })
                    .transpose()
                };
                Ok(TicketEvent {
                    id: r.get(0),
                    ticket_id: id,
                    at: r.get(1),
                    actor: r.get(2),
                    from: status(r.get(3))?,
                    to: status(Some(r.get(4)))?.unwrap_or(TicketStatus::New),
                    note: r.get(5),
                    device_ms: r.get(6),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

#[cfg(test)]
#[path = "transition_tests.rs"]
mod tests;
