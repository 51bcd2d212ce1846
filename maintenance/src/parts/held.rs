//! What open tickets hold: reservations and issued units across the whole stock (the inventory
//! page's view; a ticket's own is `ticket_parts`).

use sqlx::Row;

use crate::{Maintenance, MaintenanceError};

/// Parts one open ticket holds at one warehouse.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Held {
    /// The ticket.
    pub ticket_id: i64,
    /// Where.
    pub warehouse_id: String,
    /// Which part.
    pub part_number: String,
    /// Units on the shelf, promised to the ticket.
    pub reserved: i64,
    /// Units handed to the technician and neither used nor returned.
    pub issued: i64,
}

impl Maintenance {
    /// Every open ticket's reserved or issued parts, by ticket then warehouse and part.
    pub async fn held_parts(&self, limit: u32) -> Result<Vec<Held>, MaintenanceError> {
        let rows = sqlx::query(
            "SELECT r.ticket_id, r.warehouse_id, r.part_number, r.reserved,
                    r.issued - r.consumed - r.returned
             FROM reservations r JOIN tickets t ON t.id = r.ticket_id
             WHERE t.status NOT IN ('resolved', 'closed', 'cancelled')
               AND (r.reserved > 0 OR r.issued - r.consumed - r.returned > 0)
             ORDER BY r.ticket_id, r.warehouse_id, r.part_number LIMIT $1",
        )
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Held {
                ticket_id: r.get(0),
                warehouse_id: r.get(1),
                part_number: r.get(2),
                reserved: r.get(3),
                issued: r.get(4),
            })
            .collect())
    }
}
