//! The one way stock changes: a guarded UPDATE and its ledger entry, in the caller's
//! transaction, plus the low-stock alert when the change crosses the reorder point.

use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

use super::{StockAlert, StockError};
use crate::outbox::emit;
use crate::{Maintenance, MaintenanceError};

/// One movement of stock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LedgerEntry {
    /// Entry number (ledger order).
    pub id: i64,
    /// When (wall clock, RFC 3339).
    pub at: String,
    /// Who (a token's name, or `forewarn`).
    pub actor: String,
    /// Where.
    pub warehouse_id: String,
    /// Which part.
    pub part_number: String,
    /// `receive`, `reserve`, `release`, `issue`, `consume`, `return`, `transfer_out`,
    /// `transfer_in` or `adjust`.
    pub kind: String,
    /// Change of on-hand units.
    pub on_hand_delta: i64,
    /// Change of reserved units.
    pub reserved_delta: i64,
    /// On hand after the movement.
    pub on_hand_after: i64,
    /// Reserved after the movement.
    pub reserved_after: i64,
    /// The ticket it was for, if any.
    pub ticket_id: Option<i64>,
    /// Why, in free text.
    pub note: Option<String>,
}

/// A movement to apply.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Movement<'a> {
    pub at: &'a str,
    pub actor: &'a str,
    pub warehouse: &'a str,
    pub part: &'a str,
    pub kind: &'static str,
    pub on_hand: i64,
    pub reserved: i64,
    pub ticket: Option<i64>,
    pub note: Option<&'a str>,
}

/// Makes sure the warehouse and part exist and have a stock row (empty when new).
pub(crate) async fn ensure_row(
    tx: &mut AnyConnection,
    warehouse: &str,
    part: &str,
) -> Result<(), StockError> {
    let known: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM warehouses WHERE id = $1),
                (SELECT count(*) FROM parts WHERE part_number = $2)",
    )
    .bind(warehouse)
    .bind(part)
    .fetch_one(&mut *tx)
    .await?;
    if known.0 == 0 {
        return Err(StockError::NotFound(format!("no warehouse {warehouse}")));
    }
    if known.1 == 0 {
        return Err(StockError::NotFound(format!(
            "no part {part} in the catalog"
        )));
    }
    sqlx::query(
        "INSERT INTO stock (warehouse_id, part_number) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(warehouse)
    .bind(part)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Applies `m` if it leaves on-hand and reserved non-negative and reserved within on-hand;
/// writes its ledger entry and, when available falls below the reorder point by it, a low-stock
/// alert. Returns the units available after it, or `None` when the guard refused (nothing
/// written).
pub(crate) async fn apply(
    tx: &mut AnyConnection,
    m: Movement<'_>,
) -> Result<Option<i64>, MaintenanceError> {
    let row = sqlx::query(
        "UPDATE stock SET on_hand = on_hand + $1, reserved = reserved + $2
         WHERE warehouse_id = $3 AND part_number = $4
           AND on_hand + $1 >= 0 AND reserved + $2 >= 0 AND reserved + $2 <= on_hand + $1
           AND on_hand + $1 <= $5
         RETURNING on_hand, reserved, reorder_point",
    )
    .bind(m.on_hand)
    .bind(m.reserved)
    .bind(m.warehouse)
    .bind(m.part)
    .bind(super::MAX_STOCK)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (on_hand, reserved, reorder_point): (i64, i64, i64) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    sqlx::query(
        "INSERT INTO stock_ledger (at, actor, warehouse_id, part_number, kind, on_hand_delta,
             reserved_delta, on_hand_after, reserved_after, ticket_id, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(m.at)
    .bind(m.actor)
    .bind(m.warehouse)
    .bind(m.part)
    .bind(m.kind)
    .bind(m.on_hand)
    .bind(m.reserved)
    .bind(on_hand)
    .bind(reserved)
    .bind(m.ticket)
    .bind(m.note)
    .execute(&mut *tx)
    .await?;
    let available = on_hand - reserved;
    let before = available - (m.on_hand - m.reserved);
    if available < reorder_point && before >= reorder_point {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO stock_alerts (at, warehouse_id, part_number, available, reorder_point)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(m.at)
        .bind(m.warehouse)
        .bind(m.part)
        .bind(available)
        .bind(reorder_point)
        .fetch_one(&mut *tx)
        .await?;
        let alert = StockAlert {
            id,
            at: m.at.to_owned(),
            warehouse_id: m.warehouse.to_owned(),
            part_number: m.part.to_owned(),
            available,
            reorder_point,
        };
        tracing::info!(
            warehouse = m.warehouse,
            part = m.part,
            available,
            reorder_point,
            "low stock"
        );
        emit(tx, m.at, "parts.low_stock", None, &alert).await?;
    }
    Ok(Some(available))
}

/// Which ledger entries [`Maintenance::ledger`] returns.
#[derive(Debug, Clone, Default)]
pub struct LedgerFilter<'a> {
    /// Only this warehouse's.
    pub warehouse: Option<&'a str>,
    /// Only this part's.
    pub part: Option<&'a str>,
    /// Only this ticket's.
    pub ticket: Option<i64>,
    /// Only entries before this one (the next page).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

impl Maintenance {
    /// Ledger entries matching `f`, newest first.
    pub async fn ledger(&self, f: &LedgerFilter<'_>) -> Result<Vec<LedgerEntry>, MaintenanceError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, warehouse_id, part_number, kind, on_hand_delta, reserved_delta,
                    on_hand_after, reserved_after, ticket_id, note FROM stock_ledger
             WHERE ($1 IS NULL OR warehouse_id = $1) AND ($2 IS NULL OR part_number = $2)
               AND ($3 IS NULL OR ticket_id = $3) AND ($4 IS NULL OR id < $4)
             ORDER BY id DESC LIMIT $5",
        )
        .bind(f.warehouse)
        .bind(f.part)
        .bind(f.ticket)
        .bind(f.before)
        .bind(f.limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| LedgerEntry {
                id: r.get(0),
                at: r.get(1),
                actor: r.get(2),
                warehouse_id: r.get(3),
                part_number: r.get(4),
                kind: r.get(5),
                on_hand_delta: r.get(6),
                reserved_delta: r.get(7),
                on_hand_after: r.get(8),
                reserved_after: r.get(9),
                ticket_id: r.get(10),
                note: r.get(11),
            })
            .collect())
    }

    /// Low-stock alerts, newest first.
    pub async fn stock_alerts(&self, limit: u32) -> Result<Vec<StockAlert>, MaintenanceError> {
        let rows = sqlx::query(
            "SELECT id, at, warehouse_id, part_number, available, reorder_point FROM stock_alerts
             ORDER BY id DESC LIMIT $1",
        )
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| StockAlert {
                id: r.get(0),
                at: r.get(1),
                warehouse_id: r.get(2),
                part_number: r.get(3),
                available: r.get(4),
                reorder_point: r.get(5),
            })
            .collect())
    }
}
