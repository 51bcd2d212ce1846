//! The delivery queue: new outbox events copied to each subscription that wants them, and the
//! events that may go now (due, and first in line for their ticket).

use sqlx::Row;

use super::wants;
use crate::{Maintenance, MaintenanceError};

/// An event ready to send to one subscription.
#[derive(Debug, Clone)]
pub(crate) struct Ready {
    pub webhook_id: i64,
    pub url: String,
    pub secret: String,
    pub outbox_id: i64,
    pub attempts: i64,
    pub kind: String,
    pub at: String,
    pub ticket_id: Option<i64>,
    pub payload: String,
}

impl Maintenance {
    /// Copies outbox events past each active subscription's cursor into its queue (those it
    /// wants), advancing the cursor in the same transaction.
    pub(crate) async fn enqueue(&self) -> Result<u64, MaintenanceError> {
        let mut tx = self.begin_write().await?;
        let hooks = sqlx::query("SELECT id, events, cursor FROM webhooks WHERE active = 1")
            .fetch_all(&mut *tx)
            .await?;
        let mut queued = 0;
        for h in hooks {
            let (id, cursor): (i64, i64) = (h.get(0), h.get(2));
            let patterns: Vec<String> =
                serde_json::from_str(&h.get::<String, _>(1)).unwrap_or_default();
            let events = sqlx::query(
                "SELECT id, kind, ticket_id FROM outbox WHERE id > $1 ORDER BY id LIMIT 1000",
            )
            .bind(cursor)
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = events.last().map(|e| e.get::<i64, _>(0)) else {
                continue;
            };
            for e in events
                .iter()
                .filter(|e| wants(&patterns, e.get::<&str, _>(1)))
            {
                sqlx::query(
                    "INSERT INTO webhook_queue (webhook_id, outbox_id, ticket_id) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(e.get::<i64, _>(0))
                .bind(e.get::<Option<i64>, _>(2))
                .execute(&mut *tx)
                .await?;
                queued += 1;
            }
            sqlx::query("UPDATE webhooks SET cursor = $1 WHERE id = $2")
                .bind(last)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(queued)
    }

    /// Claims up to `limit` pending events due by `now_ms` with no earlier pending event of the
    /// same ticket (or, for events of no ticket, of no ticket) for the same subscription: at most
    /// one per line, so the order per ticket holds however many are sent at once. A claimed event
    /// is not due again for `lease_ms`: another instance sharing the database does not send it
    /// meanwhile, and if this one dies before recording the attempt, the lease runs out and the
    /// event goes again (at least once).
    pub(crate) async fn claim(
        &self,
        now_ms: i64,
        limit: u32,
        lease_ms: i64,
    ) -> Result<Vec<Ready>, MaintenanceError> {
        // The write lock first: two instances must not read the same due rows.
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(
            "SELECT q.webhook_id, w.url, w.secret, q.outbox_id, q.attempts, o.kind, o.at, o.ticket_id, o.payload
             FROM webhook_queue q
             JOIN webhooks w ON w.id = q.webhook_id
             JOIN outbox o ON o.id = q.outbox_id
             WHERE q.state = 'pending' AND q.next_at_ms <= $1 AND w.active = 1
               AND NOT EXISTS (SELECT 1 FROM webhook_queue e
                               WHERE e.webhook_id = q.webhook_id AND e.state = 'pending'
                                 AND e.outbox_id < q.outbox_id AND e.ticket_id IS NOT DISTINCT FROM q.ticket_id)
             ORDER BY q.outbox_id LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit as i64)
        .fetch_all(&mut *tx)
        .await?;
        let ready: Vec<Ready> = rows
            .iter()
            .map(|r| Ready {
                webhook_id: r.get(0),
                url: r.get(1),
                secret: r.get(2),
                outbox_id: r.get(3),
                attempts: r.get(4),
                kind: r.get(5),
                at: r.get(6),
                ticket_id: r.get(7),
                payload: r.get(8),
            })
            .collect();
        for r in &ready {
            sqlx::query(
                "UPDATE webhook_queue SET next_at_ms = $1 WHERE webhook_id = $2 AND outbox_id = $3",
            )
            .bind(now_ms + lease_ms)
            .bind(r.webhook_id)
            .bind(r.outbox_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(ready)
    }

    /// Records one attempt's outcome: delivered, retried at `retry_at_ms`, or given up.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn attempted(
        &self,
        r: &Ready,
        at: &str,
        status: Option<u16>,
        error: Option<&str>,
        duration_ms: i64,
        state: &str,
        retry_at_ms: i64,
    ) -> Result<(), MaintenanceError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO webhook_deliveries (webhook_id, outbox_id, attempt, at, status, error, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(r.webhook_id)
        .bind(r.outbox_id)
        .bind(r.attempts + 1)
        .bind(at)
        .bind(status.map(i64::from))
        .bind(error)
        .bind(duration_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE webhook_queue SET state = $1, attempts = attempts + 1, next_at_ms = $2
             WHERE webhook_id = $3 AND outbox_id = $4",
        )
        .bind(state)
        .bind(retry_at_ms)
        .bind(r.webhook_id)
        .bind(r.outbox_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
