//! Spare parts: the catalog, warehouses, stock per warehouse, the ledger of every movement, and
//! what tickets hold (reservations) or wait for (requisitions).
//!
//! Stock has two numbers per warehouse and part: `on_hand` (on the shelf) and `reserved` (of
//! those, held for tickets); `available` is their difference. Every change goes through one
//! guarded UPDATE ([`ledger::apply`]) that refuses to make either negative or to reserve more
//! than is held, and writes its ledger entry in the same transaction — so stock never goes
//! negative and no unit is promised twice, whatever runs concurrently (the table's CHECKs are the
//! second line of defence). Operations that touch stock start with `BEGIN IMMEDIATE`, taking
//! SQLite's write lock before they read.
//!
//! A ticket's bill of materials is reserved when it opens ([`allocate`]): nearest warehouse with
//! stock first, split across warehouses when one is not enough; the rest becomes a requisition.
//! Stock that arrives later (received, returned, released, transferred in) serves open
//! requisitions, highest priority first; a ticket waiting for parts goes back to work when its
//! last requisition is served.

pub(crate) mod allocate;
mod catalog;
mod held;
pub(crate) mod ledger;
mod moves;

use serde::{Deserialize, Serialize};

use crate::MaintenanceError;

pub use catalog::{Part, Site, StockLevel, Warehouse};
pub(crate) use catalog::{check_id, upsert_part};
pub use held::Held;
pub use ledger::{LedgerEntry, LedgerFilter};
pub use moves::Actor;

/// Most units one movement may move: a typing error's guard.
pub const MAX_QUANTITY: i64 = 1_000_000_000;
/// Most units of one part one warehouse may hold (far below where integers overflow).
pub const MAX_STOCK: i64 = 1_000_000_000_000;

/// Parts a ticket holds at one warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reservation {
    /// Where they are (or came from).
    pub warehouse_id: String,
    /// Which part.
    pub part_number: String,
    /// Still on the shelf, held for the ticket.
    pub reserved: i64,
    /// Handed to the technician.
    pub issued: i64,
    /// Of those issued, used in the repair.
    pub consumed: i64,
    /// Of those issued, brought back to stock.
    pub returned: i64,
}

/// Parts no warehouse had when they were asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Requisition {
    /// Requisition number.
    pub id: i64,
    /// For which ticket.
    pub ticket_id: i64,
    /// Which part.
    pub part_number: String,
    /// How many were missing.
    pub quantity: i64,
    /// How many are still missing.
    pub outstanding: i64,
    /// `open`, `fulfilled` or `cancelled` (its ticket finished first).
    pub status: String,
    /// When it was raised (wall clock, RFC 3339).
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
}

/// A ticket's parts: what it holds and what it waits for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketParts {
    /// Held, issued, used or returned, per warehouse.
    pub reservations: Vec<Reservation>,
    /// Asked for and not (yet) found.
    pub requisitions: Vec<Requisition>,
}

/// Available fell below the reorder point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StockAlert {
    /// Alert number.
    pub id: i64,
    /// When (wall clock, RFC 3339).
    pub at: String,
    /// Where.
    pub warehouse_id: String,
    /// Which part.
    pub part_number: String,
    /// Available just after the movement.
    pub available: i64,
    /// The reorder point it fell below.
    pub reorder_point: i64,
}

/// Why a stock operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum StockError {
    /// An id names nothing.
    #[error("{0}")]
    NotFound(String),
    /// Not enough of something (stock, reserved or issued parts) for the operation.
    #[error("{0}")]
    Insufficient(String),
    /// The request itself is wrong (a quantity of zero, a transfer to the same warehouse, a
    /// finished ticket).
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] MaintenanceError),
}

impl From<sqlx::Error> for StockError {
    fn from(e: sqlx::Error) -> Self {
        StockError::Db(e.into())
    }
}

#[cfg(test)]
#[path = "parts/tests.rs"]
pub(crate) mod tests;
