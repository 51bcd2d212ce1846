//! Webhooks: subscriptions to the outbox's events, delivered signed and in order per ticket,
//! retried with exponential backoff, logged.
//!
//! Each subscription has a cursor into the outbox; [`queue`] copies the events it wants into
//! its delivery queue (one row per subscription and event, in the database), and the deliverer
//! ([`deliver`]) sends every queued event whose earlier events for the same ticket are done.
//! A delivery is marked done only after a 2xx answer, so a crash or restart at any point sends
//! an event again rather than never: at least once, in order per ticket. Receivers deduplicate
//! by the `X-Forewarn-Delivery` header (the outbox id).
//!
//! Every request is signed: `X-Forewarn-Signature: sha256=HEX` is the HMAC-SHA256, keyed with
//! the subscription's secret, of `TIMESTAMP.BODY`, where `TIMESTAMP` is the
//! `X-Forewarn-Timestamp` header (seconds since the epoch) — so a receiver can refuse replays.

pub mod deliver;
pub mod guard;
pub(crate) mod queue;

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::parts::StockError;
use crate::{Maintenance, MaintenanceError};

/// A subscription as listed (the secret is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Webhook {
    /// Its id.
    pub id: i64,
    /// Where events are POSTed.
    pub url: String,
    /// Which events: exact kinds (`ticket.opened`), prefixes (`sla.*`) or `*`.
    pub events: Vec<String>,
    /// Whether it receives events.
    pub active: bool,
    /// When it was created (wall clock, RFC 3339).
    pub created_at: String,
    /// Events waiting (pending) and given up (failed) for it.
    pub pending: i64,
    /// Events given up after the last retry.
    pub failed: i64,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delivery {
    /// Attempt number in the log.
    pub id: i64,
    /// The outbox event.
    pub event_id: i64,
    /// 1 for the first try.
    pub attempt: i64,
    /// When (wall clock, RFC 3339).
    pub at: String,
    /// The HTTP status, when the receiver answered.
    pub status: Option<i64>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
}

/// Whether `kind` matches a subscription's `patterns`.
pub fn wants(patterns: &[String], kind: &str) -> bool {
    patterns.iter().any(|p| {
        p == "*"
            || p == kind
            || p.strip_suffix('*')
                .is_some_and(|prefix| kind.starts_with(prefix))
    })
}

fn check(url: &str, events: &[String]) -> Result<(), StockError> {
    let ok_scheme = url.starts_with("http://") || url.starts_with("https://");
    if !ok_scheme || reqwest::Url::parse(url).is_err() || url.len() > 2000 {
        return Err(StockError::Invalid(format!(
            "{url:?} is not an http(s) URL"
        )));
    }
    if events.is_empty() || events.iter().any(|e| e.trim().is_empty() || e.len() > 100) {
        return Err(StockError::Invalid(
            "events must list kinds (ticket.opened), prefixes (sla.*) or *".into(),
        ));
    }
    Ok(())
}

impl Maintenance {
    /// Subscribes `url` to `events` from now on; returns the subscription and its signing
    /// secret (shown only here).
    pub async fn create_webhook(
        &self,
        url: &str,
        events: &[String],
    ) -> Result<(Webhook, String), StockError> {
        check(url, events)?;
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| MaintenanceError::Random(e.to_string()))?;
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let secret = format!("whsec_{secret}");
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO webhooks (url, secret, events, created_at, cursor)
             VALUES ($1, $2, $3, $4, (SELECT coalesce(max(id), 0) FROM outbox)) RETURNING id",
        )
        .bind(url)
        .bind(&secret)
        .bind(serde_json::to_string(events).unwrap_or_else(|_| "[\"*\"]".into()))
        .bind(&now)
        .fetch_one(&self.pool)
        .await?;
        let hook = self
            .webhooks()
            .await?
            .into_iter()
            .find(|w| w.id == id)
            .ok_or(MaintenanceError::Invalid {
                id,
                field: "webhook",
            })?;
        Ok((hook, secret))
    }

    /// Every subscription.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, MaintenanceError> {
        let rows = sqlx::query(
            "SELECT id, url, events, active, created_at,
                (SELECT count(*) FROM webhook_queue q WHERE q.webhook_id = webhooks.id AND q.state = 'pending'),
                (SELECT count(*) FROM webhook_queue q WHERE q.webhook_id = webhooks.id AND q.state = 'failed')
             FROM webhooks ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Webhook {
                id: r.get(0),
                url: r.get(1),
                events: serde_json::from_str(&r.get::<String, _>(2)).unwrap_or_default(),
                active: r.get::<i64, _>(3) != 0,
                created_at: r.get(4),
                pending: r.get(5),
                failed: r.get(6),
            })
            .collect())
    }

    /// Stops (or resumes) deliveries to a subscription; what is queued waits meanwhile. False
    /// when there is no such subscription.
    pub async fn set_webhook_active(
        &self,
        id: i64,
        active: bool,
    ) -> Result<bool, MaintenanceError> {
        Ok(sqlx::query("UPDATE webhooks SET active = $1 WHERE id = $2")
            .bind(i64::from(active))
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1)
    }

    /// Queues a subscription's given-up events again, from the first attempt. Returns how many.
    pub async fn redeliver_failed(&self, id: i64) -> Result<u64, MaintenanceError> {
        Ok(sqlx::query(
            "UPDATE webhook_queue SET state = 'pending', attempts = 0, next_at_ms = 0
             WHERE webhook_id = $1 AND state = 'failed'",
        )
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// A subscription's delivery log, newest first (`None`: no such subscription).
    pub async fn deliveries(
        &self,
        id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Option<Vec<Delivery>>, MaintenanceError> {
        if !self.webhooks().await?.iter().any(|w| w.id == id) {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT id, outbox_id, attempt, at, status, error, duration_ms FROM webhook_deliveries
             WHERE webhook_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(id)
        .bind(before)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(
            rows.iter()
                .map(|r| Delivery {
                    id: r.get(0),
                    event_id: r.get(1),
                    attempt: r.get(2),
                    at: r.get(3),
                    status: r.get(4),
                    error: r.get(5),
                    duration_ms: r.get(6),
                })
                .collect(),
        ))
    }

    /// Outbox events after `after`, oldest first (for audits and for receivers catching up).
    pub async fn outbox(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<crate::OutboxEvent>, MaintenanceError> {
        let rows = sqlx::query(
            "SELECT id, at, kind, ticket_id, payload FROM outbox WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| crate::OutboxEvent {
                id: r.get(0),
                at: r.get(1),
                kind: r.get(2),
                ticket_id: r.get(3),
                payload: serde_json::from_str(&r.get::<String, _>(4))
                    .unwrap_or(serde_json::Value::Null),
            })
            .collect())
    }
}

#[cfg(test)]
#[path = "webhooks/tests.rs"]
mod tests;
