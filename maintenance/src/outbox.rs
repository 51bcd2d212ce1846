//! The outbox: every event webhooks will tell of (ticket, SLA and parts events) is written here
//! in the same transaction as the change it describes, so an event exists exactly when its change
//! does — across crashes and restarts — and a deliverer can send them later, in order.

use serde::Serialize;
use sqlx::AnyConnection;

use crate::MaintenanceError;

/// One event as stored and delivered.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct OutboxEvent {
    /// Position in the outbox: events are delivered in this order (per ticket).
    pub id: i64,
    /// When it happened (wall clock, RFC 3339).
    pub at: String,
    /// What happened, e.g. `ticket.opened`, `parts.low_stock`.
    pub kind: String,
    /// The ticket it concerns, if any.
    pub ticket_id: Option<i64>,
    /// The details.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

/// Records an event inside the caller's transaction.
pub(crate) async fn emit(
    tx: &mut AnyConnection,
    at: &str,
    kind: &str,
    ticket_id: Option<i64>,
    payload: &impl Serialize,
) -> Result<(), MaintenanceError> {
    let payload = serde_json::to_string(payload).unwrap_or_else(|_| "{}".into());
    sqlx::query("INSERT INTO outbox (at, kind, ticket_id, payload) VALUES ($1, $2, $3, $4)")
        .bind(at)
        .bind(kind)
        .bind(ticket_id)
        .bind(payload)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
