//! Reserving parts for tickets: nearest stock first, split across warehouses, the rest
//! requisitioned; serving requisitions when stock arrives; giving back what a finished ticket
//! still holds.

use sqlx::{AnyConnection, Row};

use crate::geo::{LatLon, distance_km, nearest_first};
use crate::outbox::emit;
use crate::parts::ledger::{Movement, apply};
use crate::{MaintenanceError, TicketStatus};

/// What one part's allocation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Allocated {
    /// Units reserved.
    pub reserved: i64,
    /// Units requisitioned.
    pub requisitioned: i64,
}

/// Reserves `quantity` of `part` for ticket `ticket` at the warehouses nearest `site` (those at
/// the site itself first, then by distance, unknown distances last), splitting across warehouses;
/// what none has becomes a requisition. Adds the part to the catalog when a bill of materials
/// names one it lacks. Runs in the caller's (write) transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn allocate(
    tx: &mut AnyConnection,
    at: &str,
    actor: &str,
    ticket: i64,
    site: Option<&str>,
    part: &str,
    description: &str,
    quantity: i64,
) -> Result<Allocated, MaintenanceError> {
    sqlx::query(
        "INSERT INTO parts (part_number, description) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(part)
    .bind(description)
    .execute(&mut *tx)
    .await?;
    let here = match site {
        Some(site) => sqlx::query("SELECT lat, lon FROM sites WHERE id = $1")
            .bind(site)
            .fetch_optional(&mut *tx)
            .await?
            .and_then(|r| LatLon::from_pair(r.get(0), r.get(1))),
        None => None,
    };
    let rows = sqlx::query(
        "SELECT s.warehouse_id, w.site, w.lat, w.lon FROM stock s JOIN warehouses w ON w.id = s.warehouse_id
         WHERE s.part_number = $1 AND s.on_hand - s.reserved > 0 ORDER BY s.warehouse_id",
    )
    .bind(part)
    .fetch_all(&mut *tx)
    .await?;
    let mut candidates: Vec<(String, Option<f64>)> = rows
        .iter()
        .map(|r| {
            let w_site: Option<String> = r.get(1);
            let w_at = LatLon::from_pair(r.get(2), r.get(3));
            (r.get(0), distance_km(site, here, w_site.as_deref(), w_at))
        })
        .collect();
    // Stable: equal distances keep warehouse-id order, so the choice is reproducible.
    candidates.sort_by(|a, b| nearest_first(a.1, b.1));
    let mut need = quantity;
    let mut done = Allocated::default();
    for (warehouse, _) in candidates {
        if need == 0 {
            break;
        }
        let available: i64 = sqlx::query_scalar(
            "SELECT on_hand - reserved FROM stock WHERE warehouse_id = $1 AND part_number = $2",
        )
        .bind(&warehouse)
        .bind(part)
        .fetch_one(&mut *tx)
        .await?;
        let take = need.min(available);
        if take > 0 && reserve(tx, at, actor, ticket, &warehouse, part, take).await? {
            need -= take;
            done.reserved += take;
        }
    }
    if need > 0 {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO requisitions (ticket_id, part_number, quantity, outstanding, status, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'open', $5, $6) RETURNING id",
        )
        .bind(ticket)
        .bind(part)
        .bind(need)
        .bind(need)
        .bind(at)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        let payload = serde_json::json!({"requisition": id, "part_number": part, "quantity": need});
        emit(tx, at, "parts.requisition_opened", Some(ticket), &payload).await?;
        done.requisitioned = need;
    }
    Ok(done)
}

/// Reserves `quantity` of `part` at `warehouse` for `ticket` (ledger + reservation row); false
/// when the stock guard refused (not that many available).
async fn reserve(
    tx: &mut AnyConnection,
    at: &str,
    actor: &str,
    ticket: i64,
    warehouse: &str,
    part: &str,
    quantity: i64,
) -> Result<bool, MaintenanceError> {
    let movement = Movement {
        at,
        actor,
        warehouse,
        part,
        kind: "reserve",
        on_hand: 0,
        reserved: quantity,
        ticket: Some(ticket),
        note: None,
    };
    if apply(tx, movement).await?.is_none() {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO reservations (ticket_id, warehouse_id, part_number, reserved) VALUES ($1, $2, $3, $4)
         ON CONFLICT (ticket_id, warehouse_id, part_number) DO UPDATE SET reserved = reservations.reserved + excluded.reserved",
    )
    .bind(ticket)
    .bind(warehouse)
    .bind(part)
    .bind(quantity)
    .execute(&mut *tx)
    .await?;
    Ok(true)
}

/// Serves open requisitions for `part` from what is available at `warehouse`: the most urgent
/// ticket first (priority, then oldest requisition). A ticket waiting for parts whose last
/// requisition is served goes back to work.
pub(crate) async fn fulfil(
    tx: &mut AnyConnection,
    at: &str,
    actor: &str,
    warehouse: &str,
    part: &str,
) -> Result<(), MaintenanceError> {
    let open = sqlx::query(
        "SELECT r.id, r.ticket_id, r.outstanding FROM requisitions r JOIN tickets t ON t.id = r.ticket_id
         WHERE r.part_number = $1 AND r.status = 'open' ORDER BY t.priority, r.id",
    )
    .bind(part)
    .fetch_all(&mut *tx)
    .await?;
    for r in open {
        let (id, ticket, outstanding): (i64, i64, i64) = (r.get(0), r.get(1), r.get(2));
        let available: i64 = sqlx::query_scalar(
            "SELECT on_hand - reserved FROM stock WHERE warehouse_id = $1 AND part_number = $2",
        )
        .bind(warehouse)
        .bind(part)
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or(0);
        let take = outstanding.min(available);
        if take <= 0 {
            break;
        }
        if !reserve(tx, at, actor, ticket, warehouse, part, take).await? {
            break;
        }
        let left = outstanding - take;
        sqlx::query(
            "UPDATE requisitions SET outstanding = $1, status = CASE WHEN $2 = 0 THEN 'fulfilled' ELSE 'open' END,
             updated_at = $3 WHERE id = $4",
        )
        .bind(left)
        .bind(left)
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if left == 0 {
            let payload = serde_json::json!({"requisition": id, "part_number": part, "warehouse_id": warehouse});
            emit(
                tx,
                at,
                "parts.requisition_fulfilled",
                Some(ticket),
                &payload,
            )
            .await?;
            resume_if_ready(tx, at, ticket).await?;
        }
    }
    Ok(())
}

/// Gives back what a finished ticket still holds on the shelf and cancels what it still waits
/// for; the released units then serve other tickets' requisitions.
pub(crate) async fn release(
    tx: &mut AnyConnection,
    at: &str,
    actor: &str,
    ticket: i64,
) -> Result<(), MaintenanceError> {
    let held = sqlx::query(
        "SELECT warehouse_id, part_number, reserved FROM reservations WHERE ticket_id = $1 AND reserved > 0
         ORDER BY warehouse_id, part_number",
    )
    .bind(ticket)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE requisitions SET status = 'cancelled', updated_at = $1 WHERE ticket_id = $2 AND status = 'open'",
    )
    .bind(at)
    .bind(ticket)
    .execute(&mut *tx)
    .await?;
    for r in held {
        let (warehouse, part, quantity): (String, String, i64) = (r.get(0), r.get(1), r.get(2));
        let movement = Movement {
            at,
            actor,
            warehouse: &warehouse,
            part: &part,
            kind: "release",
            on_hand: 0,
            reserved: -quantity,
            ticket: Some(ticket),
            note: Some("ticket finished"),
        };
        if apply(tx, movement).await?.is_none() {
            return Err(MaintenanceError::Invalid {
                id: ticket,
                field: "reservation",
            });
        }
        sqlx::query(
            "UPDATE reservations SET reserved = 0 WHERE ticket_id = $1 AND warehouse_id = $2 AND part_number = $3",
        )
        .bind(ticket)
        .bind(&warehouse)
        .bind(&part)
        .execute(&mut *tx)
        .await?;
        fulfil(tx, at, actor, &warehouse, &part).await?;
    }
    Ok(())
}

/// How many requisitions of `ticket` are still open.
pub(crate) async fn open_requisitions(
    tx: &mut AnyConnection,
    ticket: i64,
) -> Result<i64, MaintenanceError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM requisitions WHERE ticket_id = $1 AND status = 'open'",
    )
    .bind(ticket)
    .fetch_one(&mut *tx)
    .await?)
}

/// Puts a ticket in progress on hold while it waits for parts.
pub(crate) async fn hold_if_missing(
    tx: &mut AnyConnection,
    at: &str,
    ticket: i64,
) -> Result<(), MaintenanceError> {
    let missing = open_requisitions(tx, ticket).await?;
    if missing > 0 {
        let note = format!("waiting for parts: {missing} open requisition(s)");
        crate::transition::system_move(
            tx,
            at,
            ticket,
            TicketStatus::InProgress,
            TicketStatus::WaitingParts,
            &note,
        )
        .await?;
    }
    Ok(())
}

/// Resumes a ticket waiting for parts once none is missing.
async fn resume_if_ready(
    tx: &mut AnyConnection,
    at: &str,
    ticket: i64,
) -> Result<(), MaintenanceError> {
    if open_requisitions(tx, ticket).await? == 0 {
        crate::transition::system_move(
            tx,
            at,
            ticket,
            TicketStatus::WaitingParts,
            TicketStatus::InProgress,
            "parts reserved: work can go on",
        )
        .await?;
    }
    Ok(())
}
