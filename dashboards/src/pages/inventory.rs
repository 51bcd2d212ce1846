//! The inventory page: stock per warehouse, reservations, requisitions, low stock.

use askama::Template;

use super::Chrome;

/// A low-stock line.
#[derive(Debug, Clone)]
pub struct LowRow {
    /// Part.
    pub part: String,
    /// Warehouse.
    pub warehouse: String,
    /// Available.
    pub available: i64,
    /// Reorder point.
    pub reorder_point: i64,
}

/// An open requisition.
#[derive(Debug, Clone)]
pub struct RequisitionRow {
    /// Number.
    pub id: i64,
    /// Ticket.
    pub ticket_id: i64,
    /// Part.
    pub part: String,
    /// Units asked.
    pub quantity: i64,
    /// Units still missing.
    pub outstanding: i64,
    /// Opened.
    pub since: String,
}

/// Parts held for an open ticket.
#[derive(Debug, Clone)]
pub struct ReservationRow {
    /// Ticket.
    pub ticket_id: i64,
    /// Part.
    pub part: String,
    /// Warehouse.
    pub warehouse: String,
    /// Units reserved on the shelf.
    pub reserved: i64,
    /// Units handed out.
    pub issued: i64,
}

/// One stock line.
#[derive(Debug, Clone)]
pub struct StockRow {
    /// Part number.
    pub part: String,
    /// Description.
    pub description: String,
    /// On hand.
    pub on_hand: i64,
    /// Reserved.
    pub reserved: i64,
    /// Available.
    pub available: i64,
    /// Reorder point.
    pub reorder_point: i64,
    /// Bin.
    pub bin: String,
    /// At or below the reorder point.
    pub low: bool,
}

/// One warehouse's stock.
#[derive(Debug, Clone)]
pub struct WarehouseStock {
    /// Name (and site).
    pub name: String,
    /// Lines.
    pub rows: Vec<StockRow>,
}

/// The inventory page.
#[derive(Debug, Clone, Template)]
#[template(path = "inventory.html")]
pub struct InventoryPage {
    /// Frame.
    pub chrome: Chrome,
    /// Low stock.
    pub low: Vec<LowRow>,
    /// Open requisitions.
    pub requisitions: Vec<RequisitionRow>,
    /// Reservations of open tickets.
    pub reservations: Vec<ReservationRow>,
    /// Stock by warehouse.
    pub warehouses: Vec<WarehouseStock>,
    /// Stock lines in all.
    pub stock_rows: usize,
}
