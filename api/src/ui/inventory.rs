//! `GET /ui/inventory`: low stock, open requisitions, what open tickets hold, and the stock of
//! every warehouse.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use forewarn_dashboards::{
    InventoryPage, LowRow, RequisitionRow, ReservationRow, StockRow, WarehouseStock,
};

use super::Session;
use super::format::when;
use crate::{ApiError, AppState};

/// Most reservation lines shown.
const MAX_HELD: u32 = 2000;

/// `GET /ui/inventory`.
pub(crate) async fn page(State(s): State<AppState>, session: Session) -> Response {
    session.respond(build(&s, &session).await)
}

async fn build(s: &AppState, session: &Session) -> Result<InventoryPage, ApiError> {
    let tr = session.tr;
    let (stock, warehouses, parts, requisitions, held) = tokio::join!(
        s.db.stock(None, None, false),
        s.db.warehouses(),
        s.db.parts(),
        s.db.requisitions(None, Some("open")),
        s.db.held_parts(MAX_HELD),
    );
    let (stock, warehouses, parts, requisitions, held) =
        (stock?, warehouses?, parts?, requisitions?, held?);
    let description: HashMap<&str, &str> = parts
        .iter()
        .map(|p| (p.part_number.as_str(), p.description.as_str()))
        .collect();
    let low = stock
        .iter()
        .filter(|l| l.low)
        .map(|l| LowRow {
            part: l.part_number.clone(),
            warehouse: l.warehouse_id.clone(),
            available: l.available,
            reorder_point: l.reorder_point,
        })
        .collect();
    let mut by_warehouse: Vec<WarehouseStock> = warehouses
        .iter()
        .map(|w| WarehouseStock {
            name: match &w.site {
                Some(site) => format!("{} · {} ({site})", w.id, w.name),
                None => format!("{} · {}", w.id, w.name),
            },
            rows: Vec::new(),
        })
        .collect();
    for l in &stock {
        let Some(i) = warehouses.iter().position(|w| w.id == l.warehouse_id) else {
            continue;
        };
        by_warehouse[i].rows.push(StockRow {
            part: l.part_number.clone(),
            description: description
                .get(l.part_number.as_str())
                .copied()
                .unwrap_or("")
                .to_owned(),
            on_hand: l.on_hand,
            reserved: l.reserved,
            available: l.available,
            reorder_point: l.reorder_point,
            bin: l.bin.clone(),
            low: l.low,
        });
    }
    by_warehouse.retain(|w| !w.rows.is_empty());
    Ok(InventoryPage {
        chrome: session.chrome("inventory", tr.t("inv.title")).live(0),
        low,
        requisitions: requisitions
            .iter()
            .map(|r| RequisitionRow {
                id: r.id,
                ticket_id: r.ticket_id,
                part: r.part_number.clone(),
                quantity: r.quantity,
                outstanding: r.outstanding,
                since: when(&r.created_at),
            })
            .collect(),
        reservations: held
            .iter()
            .map(|h| ReservationRow {
                ticket_id: h.ticket_id,
                part: h.part_number.clone(),
                warehouse: h.warehouse_id.clone(),
                reserved: h.reserved,
                issued: h.issued,
            })
            .collect(),
        stock_rows: stock.len(),
        warehouses: by_warehouse,
    })
}
