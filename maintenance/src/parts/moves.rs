//! Stock operations people make: receiving deliveries, transferring between warehouses,
//! correcting counts, and the parts of a ticket — reserving more, issuing them to the
//! technician, recording what was used and returning the rest.

use chrono::{SecondsFormat, Utc};
use sqlx::{AnyConnection, Row};

use super::allocate::{self, Allocated, fulfil};
use super::catalog::check_id;
use super::ledger::{Movement, apply, ensure_row};
use super::{
    MAX_QUANTITY, MAX_STOCK, Requisition, Reservation, StockError, StockLevel, TicketParts,
};
use crate::outbox::emit;
use crate::{Maintenance, MaintenanceError, TicketStatus};

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn positive(quantity: i64) -> Result<(), StockError> {
    if !(1..=MAX_QUANTITY).contains(&quantity) {
        return Err(StockError::Invalid(format!(
            "quantity must be 1 to {MAX_QUANTITY}"
        )));
    }
    Ok(())
}

/// The stock guard refused a movement that only adds: it would pass [`MAX_STOCK`].
fn too_much(warehouse: &str, part: &str) -> StockError {
    StockError::Invalid(format!(
        "{part} at {warehouse} would hold more than {MAX_STOCK} units"
    ))
}

/// Who does it and why.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// A token's name.
    pub name: &'a str,
    /// Free text for the ledger.
    pub note: Option<&'a str>,
}

impl Maintenance {
    /// Books a delivery of `quantity` units into `warehouse`; the units first serve open
    /// requisitions for the part.
    pub async fn receive(
        &self,
        who: Actor<'_>,
        warehouse: &str,
        part: &str,
        quantity: i64,
    ) -> Result<StockLevel, StockError> {
        positive(quantity)?;
        let at = now();
        let mut tx = self.begin_write().await?;
        ensure_row(&mut tx, warehouse, part).await?;
        let m = Movement {
            at: &at,
            actor: who.name,
            warehouse,
            part,
            kind: "receive",
            on_hand: quantity,
            reserved: 0,
            ticket: None,
            note: who.note,
        };
        apply(&mut tx, m)
            .await?
            .ok_or_else(|| too_much(warehouse, part))?;
        fulfil(&mut tx, &at, who.name, warehouse, part).await?;
        tx.commit().await?;
        self.level(warehouse, part).await
    }

    /// Sets the counted on-hand units of a part at a warehouse (a stock take); refused below
    /// what is reserved there. Extra units serve open requisitions.
    pub async fn adjust(
        &self,
        who: Actor<'_>,
        warehouse: &str,
        part: &str,
        counted: i64,
    ) -> Result<StockLevel, StockError> {
        if !(0..=MAX_STOCK).contains(&counted) {
            return Err(StockError::Invalid(format!("a count is 0 to {MAX_STOCK}")));
        }
        let at = now();
        let mut tx = self.begin_write().await?;
        ensure_row(&mut tx, warehouse, part).await?;
        let (on_hand, reserved): (i64, i64) = sqlx::query_as(
            "SELECT on_hand, reserved FROM stock WHERE warehouse_id = $1 AND part_number = $2",
        )
        .bind(warehouse)
        .bind(part)
        .fetch_one(&mut *tx)
        .await?;
        if counted < reserved {
            return Err(StockError::Insufficient(format!(
                "{reserved} units of {part} at {warehouse} are reserved for tickets; release them before counting {counted}"
            )));
        }
        if counted != on_hand {
            let m = Movement {
                at: &at,
                actor: who.name,
                warehouse,
                part,
                kind: "adjust",
                on_hand: counted - on_hand,
                reserved: 0,
                ticket: None,
                note: who.note,
            };
            apply(&mut tx, m)
                .await?
                .ok_or_else(|| too_much(warehouse, part))?;
            fulfil(&mut tx, &at, who.name, warehouse, part).await?;
        }
        tx.commit().await?;
        self.level(warehouse, part).await
    }

    /// Moves `quantity` available units from one warehouse to another (both ledger entries in
    /// one transaction); they serve requisitions at the destination.
    pub async fn transfer(
        &self,
        who: Actor<'_>,
        from: &str,
        to: &str,
        part: &str,
        quantity: i64,
    ) -> Result<(StockLevel, StockLevel), StockError> {
        positive(quantity)?;
        if from == to {
            return Err(StockError::Invalid(
                "a transfer needs two different warehouses".into(),
            ));
        }
        let at = now();
        let mut tx = self.begin_write().await?;
        ensure_row(&mut tx, from, part).await?;
        ensure_row(&mut tx, to, part).await?;
        let out = Movement {
            at: &at,
            actor: who.name,
            warehouse: from,
            part,
            kind: "transfer_out",
            on_hand: -quantity,
            reserved: 0,
            ticket: None,
            note: who.note,
        };
        if apply(&mut tx, out).await?.is_none() {
            let available = available(&mut tx, from, part).await?;
            return Err(StockError::Insufficient(format!(
                "{from} has {available} units of {part} available, not {quantity}"
            )));
        }
        let into = Movement {
            warehouse: to,
            kind: "transfer_in",
            on_hand: quantity,
            ..out
        };
        apply(&mut tx, into)
            .await?
            .ok_or_else(|| too_much(to, part))?;
        fulfil(&mut tx, &at, who.name, to, part).await?;
        tx.commit().await?;
        Ok((self.level(from, part).await?, self.level(to, part).await?))
    }

    /// Reserves `quantity` more of `part` for an open ticket (nearest stock first, the rest
    /// requisitioned), e.g. for a reopened ticket or a part the diagnosis added.
    pub async fn reserve_for(
        &self,
        who: Actor<'_>,
        ticket: i64,
        part: &str,
        quantity: i64,
    ) -> Result<TicketParts, StockError> {
        positive(quantity)?;
        check_id("part number", part)?;
        let at = now();
        let mut tx = self.begin_write().await?;
        let (status, site) = open_ticket(&mut tx, ticket).await?;
        let Allocated { requisitioned, .. } = allocate::allocate(
            &mut tx,
            &at,
            who.name,
            ticket,
            site.as_deref(),
            part,
            "",
            quantity,
        )
        .await?;
        if requisitioned > 0 && status == TicketStatus::InProgress {
            allocate::hold_if_missing(&mut tx, &at, ticket).await?;
        }
        tx.commit().await?;
        self.require_ticket_parts(ticket).await
    }

    /// Hands reserved parts of a ticket to its technician: `quantity` of `part`, or everything
    /// reserved when `part` is `None`.
    pub async fn issue(
        &self,
        who: Actor<'_>,
        ticket: i64,
        part: Option<&str>,
        quantity: Option<i64>,
    ) -> Result<TicketParts, StockError> {
        if let Some(q) = quantity {
            positive(q)?;
        }
        let at = now();
        let mut tx = self.begin_write().await?;
        open_ticket(&mut tx, ticket).await?;
        let rows = held(&mut tx, ticket, part, "reserved").await?;
        let total: i64 = rows.iter().map(|r| r.1).sum();
        let mut want = quantity.unwrap_or(total);
        if want > total || total == 0 {
            return Err(StockError::Insufficient(format!(
                "ticket {ticket} has {total} reserved unit(s){} to issue, not {want}",
                part.map(|p| format!(" of {p}")).unwrap_or_default()
            )));
        }
        for (warehouse, reserved, part) in rows {
            let take = want.min(reserved);
            if take == 0 {
                break;
            }
            let m = Movement {
                at: &at,
                actor: who.name,
                warehouse: &warehouse,
                part: &part,
                kind: "issue",
                on_hand: -take,
                reserved: -take,
                ticket: Some(ticket),
                note: who.note,
            };
            apply(&mut tx, m).await?.ok_or(MaintenanceError::Invalid {
                id: ticket,
                field: "reservation",
            })?;
            bump(
                &mut tx, ticket, &warehouse, &part, "reserved", -take, "issued", take,
            )
            .await?;
            want -= take;
        }
        emit_parts(&mut tx, &at, "parts.issued", ticket, part).await?;
        tx.commit().await?;
        self.require_ticket_parts(ticket).await
    }

    /// Records that `quantity` issued units of `part` were used in the repair.
    pub async fn consume(
        &self,
        who: Actor<'_>,
        ticket: i64,
        part: &str,
        quantity: i64,
    ) -> Result<TicketParts, StockError> {
        self.settle(who, ticket, part, quantity, "consume").await
    }

    /// Brings `quantity` issued, unused units of `part` back to the shelf they came from; they
    /// serve open requisitions there.
    pub async fn return_parts(
        &self,
        who: Actor<'_>,
        ticket: i64,
        part: &str,
        quantity: i64,
    ) -> Result<TicketParts, StockError> {
        self.settle(who, ticket, part, quantity, "return").await
    }

    /// Consumes or returns issued units (a finished ticket may still return what it did not use).
    async fn settle(
        &self,
        who: Actor<'_>,
        ticket: i64,
        part: &str,
        quantity: i64,
        kind: &'static str,
    ) -> Result<TicketParts, StockError> {
        positive(quantity)?;
        let at = now();
        let mut tx = self.begin_write().await?;
        ticket_exists(&mut tx, ticket).await?;
        let rows = held(&mut tx, ticket, Some(part), "issued - consumed - returned").await?;
        let total: i64 = rows.iter().map(|r| r.1).sum();
        if quantity > total {
            return Err(StockError::Insufficient(format!(
                "ticket {ticket} has {total} issued unit(s) of {part} not yet used or returned, not {quantity}"
            )));
        }
        let mut want = quantity;
        for (warehouse, out, _) in rows {
            let take = want.min(out);
            if take == 0 {
                break;
            }
            let back = if kind == "return" { take } else { 0 };
            let m = Movement {
                at: &at,
                actor: who.name,
                warehouse: &warehouse,
                part,
                kind,
                on_hand: back,
                reserved: 0,
                ticket: Some(ticket),
                note: who.note,
            };
            apply(&mut tx, m).await?.ok_or(MaintenanceError::Invalid {
                id: ticket,
                field: "reservation",
            })?;
            let column = if kind == "return" {
                "returned"
            } else {
                "consumed"
            };
            bump(
                &mut tx, ticket, &warehouse, part, column, take, "reserved", 0,
            )
            .await?;
            if back > 0 {
                fulfil(&mut tx, &at, who.name, &warehouse, part).await?;
            }
            want -= take;
        }
        let event = if kind == "return" {
            "parts.returned"
        } else {
            "parts.consumed"
        };
        emit_parts(&mut tx, &at, event, ticket, Some(part)).await?;
        tx.commit().await?;
        self.require_ticket_parts(ticket).await
    }

    /// What a ticket holds and waits for (`None`: no such ticket).
    pub async fn ticket_parts(&self, ticket: i64) -> Result<Option<TicketParts>, MaintenanceError> {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM tickets WHERE id = $1")
            .bind(ticket)
            .fetch_optional(&self.pool)
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
        let reservations = sqlx::query(
            "SELECT warehouse_id, part_number, reserved, issued, consumed, returned FROM reservations
             WHERE ticket_id = $1 ORDER BY part_number, warehouse_id",
        )
        .bind(ticket)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Reservation {
            warehouse_id: r.get(0),
            part_number: r.get(1),
            reserved: r.get(2),
            issued: r.get(3),
            consumed: r.get(4),
            returned: r.get(5),
        })
        .collect();
        let requisitions = self.requisitions(Some(ticket), None).await?;
        Ok(Some(TicketParts {
            reservations,
            requisitions,
        }))
    }

    /// Requisitions, optionally of one ticket or in one status; oldest first.
    pub async fn requisitions(
        &self,
        ticket: Option<i64>,
        status: Option<&str>,
    ) -> Result<Vec<Requisition>, MaintenanceError> {
        let rows = sqlx::query(
            "SELECT id, ticket_id, part_number, quantity, outstanding, status, created_at, updated_at
             FROM requisitions WHERE ($1 IS NULL OR ticket_id = $1) AND ($2 IS NULL OR status = $2)
             ORDER BY id",
        )
        .bind(ticket)
        .bind(status)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Requisition {
                id: r.get(0),
                ticket_id: r.get(1),
                part_number: r.get(2),
                quantity: r.get(3),
                outstanding: r.get(4),
                status: r.get(5),
                created_at: r.get(6),
                updated_at: r.get(7),
            })
            .collect())
    }

    async fn require_ticket_parts(&self, ticket: i64) -> Result<TicketParts, StockError> {
        self.ticket_parts(ticket)
            .await?
            .ok_or_else(|| StockError::NotFound(format!("no ticket {ticket}")))
    }

    async fn level(&self, warehouse: &str, part: &str) -> Result<StockLevel, StockError> {
        self.stock(Some(warehouse), Some(part), false)
            .await?
            .pop()
            .ok_or_else(|| StockError::NotFound(format!("no stock of {part} at {warehouse}")))
    }
}

async fn available(
    tx: &mut AnyConnection,
    warehouse: &str,
    part: &str,
) -> Result<i64, MaintenanceError> {
    Ok(sqlx::query_scalar(
        "SELECT on_hand - reserved FROM stock WHERE warehouse_id = $1 AND part_number = $2",
    )
    .bind(warehouse)
    .bind(part)
    .fetch_optional(&mut *tx)
    .await?
    .unwrap_or(0))
}

async fn ticket_exists(tx: &mut AnyConnection, ticket: i64) -> Result<String, StockError> {
    sqlx::query_scalar("SELECT status FROM tickets WHERE id = $1")
        .bind(ticket)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StockError::NotFound(format!("no ticket {ticket}")))
}

/// The status and site of a ticket that still needs work; refused when it is finished.
async fn open_ticket(
    tx: &mut AnyConnection,
    ticket: i64,
) -> Result<(TicketStatus, Option<String>), StockError> {
    let status = ticket_exists(tx, ticket).await?;
    let status = TicketStatus::parse(&status).ok_or(MaintenanceError::Invalid {
        id: ticket,
        field: "status",
    })?;
    if !status.is_open() {
        return Err(StockError::Invalid(format!(
            "ticket {ticket} is {}; parts go only to open tickets",
            status.as_str()
        )));
    }
    let site: Option<String> = sqlx::query_scalar("SELECT site FROM tickets WHERE id = $1")
        .bind(ticket)
        .fetch_one(&mut *tx)
        .await?;
    Ok((status, site))
}

/// A ticket's reservation rows with `amount` (a column expression) > 0: (warehouse, amount,
/// part), by part and warehouse.
async fn held(
    tx: &mut AnyConnection,
    ticket: i64,
    part: Option<&str>,
    amount: &'static str,
) -> Result<Vec<(String, i64, String)>, MaintenanceError> {
    let sql = match amount {
        "reserved" => {
            "SELECT warehouse_id, reserved, part_number FROM reservations
             WHERE ticket_id = $1 AND ($2 IS NULL OR part_number = $2) AND reserved > 0
             ORDER BY part_number, warehouse_id"
        }
        _ => {
            "SELECT warehouse_id, issued - consumed - returned, part_number FROM reservations
             WHERE ticket_id = $1 AND ($2 IS NULL OR part_number = $2) AND issued - consumed - returned > 0
             ORDER BY part_number, warehouse_id"
        }
    };
    let rows = sqlx::query(sql)
        .bind(ticket)
        .bind(part)
        .fetch_all(&mut *tx)
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Adds `a` to column `col_a` and `b` to `col_b` of one reservation row.
#[allow(clippy::too_many_arguments)]
async fn bump(
    tx: &mut AnyConnection,
    ticket: i64,
    warehouse: &str,
    part: &str,
    col_a: &'static str,
    a: i64,
    col_b: &'static str,
    b: i64,
) -> Result<(), MaintenanceError> {
    // Column names come from this module's constants only; sqlx takes the statement as built.
    let sql = format!(
        "UPDATE reservations SET {col_a} = {col_a} + $1, {col_b} = {col_b} + $2
         WHERE ticket_id = $3 AND warehouse_id = $4 AND part_number = $5"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(a)
        .bind(b)
        .bind(ticket)
        .bind(warehouse)
        .bind(part)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn emit_parts(
    tx: &mut AnyConnection,
    at: &str,
    kind: &str,
    ticket: i64,
    part: Option<&str>,
) -> Result<(), MaintenanceError> {
    emit(
        tx,
        at,
        kind,
        Some(ticket),
        &serde_json::json!({ "part_number": part }),
    )
    .await
}
