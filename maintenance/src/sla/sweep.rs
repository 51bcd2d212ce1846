//! The SLA sweeper: every open ticket's clocks at a given time; each warning and breach newly
//! reached is recorded once (`sla_events`) with its outbox event, and a breach escalates the
//! ticket's priority one step — in one transaction per ticket.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{ClockState, SlaStatus, Step, evaluate};
use crate::db::rows_for_ids;
use crate::outbox::emit;
use crate::{Maintenance, MaintenanceError, Priority, TicketStatus};

/// A warning or breach the sweeper raised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaEvent {
    /// The ticket.
    pub ticket_id: i64,
    /// `response` or `resolution`.
    pub clock: String,
    /// `warning` or `breach`.
    pub kind: String,
    /// The clock's due time, ms since the epoch.
    pub due_at_ms: i64,
    /// The priority after the event (raised one step by a breach).
    pub priority: Priority,
}

/// Milliseconds of an RFC 3339 time.
pub(crate) fn ms(rfc3339: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// RFC 3339 of a time in ms.
pub(crate) fn rfc3339(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Maintenance {
    /// The service level of tickets `ids` as of `now_ms` (tickets that are not found are left
    /// out): from each one's opening time, SLA priority and audit log.
    pub async fn sla_of(
        &self,
        ids: &[i64],
        now_ms: i64,
    ) -> Result<Vec<(i64, SlaStatus)>, MaintenanceError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let tickets = rows_for_ids(
            &self.pool,
            "SELECT id, created_at, coalesce(sla_priority, priority) FROM tickets WHERE id IN",
            "ORDER BY id",
            ids,
        )
        .await?;
        let events = rows_for_ids(
            &self.pool,
            "SELECT ticket_id, at, to_status FROM ticket_events WHERE ticket_id IN",
            "ORDER BY ticket_id, id",
            ids,
        )
        .await?;
        let mut out = Vec::with_capacity(tickets.len());
        for t in tickets {
            let id: i64 = t.get(0);
            let invalid = |field| MaintenanceError::Invalid { id, field };
            let opened = ms(&t.get::<String, _>(1)).ok_or(invalid("created_at"))?;
            let priority =
                Priority::parse(&t.get::<String, _>(2)).ok_or(invalid("sla_priority"))?;
            let steps: Vec<Step> = events
                .iter()
                .filter(|e| e.get::<i64, _>(0) == id)
                .filter_map(|e| {
                    Some(Step {
                        at_ms: ms(&e.get::<String, _>(1))?,
                        to: TicketStatus::parse(&e.get::<String, _>(2))?,
                    })
                })
                .collect();
            out.push((id, evaluate(&self.sla, priority, opened, &steps, now_ms)));
        }
        Ok(out)
    }

    /// Looks at every open ticket at `now_ms` and raises what is newly due: a warning past the
    /// policy's share of a clock, a breach past its due time (which also raises the ticket's
    /// priority one step). Each is raised once per ticket and clock.
    pub async fn sweep_sla(&self, now_ms: i64) -> Result<Vec<SlaEvent>, MaintenanceError> {
        let open: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM tickets WHERE status NOT IN ('resolved', 'closed', 'cancelled') ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut raised = Vec::new();
        for (id, status) in self.sla_of(&open, now_ms).await? {
            for (clock, c) in [
                ("response", status.response),
                ("resolution", status.resolution),
            ] {
                let kinds: &[&str] = match c.state {
                    ClockState::Breached => &["warning", "breach"],
                    ClockState::Warning => &["warning"],
                    _ => &[],
                };
                for kind in kinds {
                    if let Some(e) = self.raise(id, clock, kind, c.due_at_ms, now_ms).await? {
                        raised.push(e);
                    }
                }
            }
        }
        Ok(raised)
    }

    /// Records one warning or breach unless it was raised before.
    async fn raise(
        &self,
        id: i64,
        clock: &str,
        kind: &str,
        due_at_ms: i64,
        now_ms: i64,
    ) -> Result<Option<SlaEvent>, MaintenanceError> {
        let at = rfc3339(now_ms);
        let mut tx = self.begin_write().await?;
        let new = sqlx::query(
            "INSERT INTO sla_events (ticket_id, clock, kind, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(clock)
        .bind(kind)
        .bind(&at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !new {
            return Ok(None);
        }
        let current: String = sqlx::query_scalar("SELECT priority FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let mut priority = Priority::parse(&current).ok_or(MaintenanceError::Invalid {
            id,
            field: "priority",
        })?;
        if kind == "breach" {
            priority = priority.escalated();
            sqlx::query("UPDATE tickets SET priority = $1, updated_at = $2 WHERE id = $3")
                .bind(priority.as_str())
                .bind(&at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let event = SlaEvent {
            ticket_id: id,
            clock: clock.to_owned(),
            kind: kind.to_owned(),
            due_at_ms,
            priority,
        };
        let name = if kind == "breach" {
            "sla.breached"
        } else {
            "sla.warning"
        };
        emit(&mut tx, &at, name, Some(id), &event).await?;
        tx.commit().await?;
        tracing::info!(
            ticket = id,
            clock,
            kind,
            priority = priority.as_str(),
            "service level"
        );
        Ok(Some(event))
    }
}

/// What time it is, ms since the epoch: the wall clock in the service, a controlled clock in
/// tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Sweeps every `every` until `stop` resolves.
pub async fn run(
    db: Maintenance,
    every: Duration,
    clock: Clock,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), MaintenanceError> {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return Ok(()),
            _ = tick.tick() => {
                if let Err(e) = db.sweep_sla(clock()).await {
                    crate::failure::survive("SLA sweep", e)?;
                }
            }
        }
    }
}
