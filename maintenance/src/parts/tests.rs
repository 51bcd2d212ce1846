//! Parts against the database: nearest stock, splitting, requisitions, the ticket waiting for
//! parts and resuming, issue/consume/return/transfer, releases, low stock, and no unit promised
//! twice under concurrent tickets.

use forewarn_domain::{Criticality, PartRequirement, Severity};

use super::*;
use crate::db::tests::alert;
use crate::lifecycle::Role;
use crate::{AssetContext, Maintenance, Move, Opened, TicketStatus};

const ME: Actor<'static> = Actor {
    name: "stores",
    note: None,
};

/// A database with three sites and three warehouses: `near` at site `s1`, `mid` 60 km away,
/// `far` 400 km away.
async fn depot() -> (tempfile::TempDir, Maintenance) {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path())
        .await
        .with_cooldown(std::time::Duration::ZERO);
    let site = |id: &str, lat: f64| Site {
        id: id.into(),
        name: id.into(),
        lat: Some(lat),
        lon: Some(10.0),
    };
    db.put_site(&site("s1", 50.0)).await.unwrap();
    db.put_site(&site("s2", 53.6)).await.unwrap();
    for (id, lat, site) in [
        ("near", 50.0, Some("s1")),
        ("mid", 50.54, None),
        ("far", 53.6, Some("s2")),
    ] {
        db.put_warehouse(&Warehouse {
            id: id.into(),
            name: id.into(),
            site: site.map(Into::into),
            lat,
            lon: 10.0,
        })
        .await
        .unwrap();
    }
    for p in ["BRG-1", "SEAL-1"] {
        db.put_part(&Part {
            part_number: p.into(),
            description: p.into(),
            unit: "pcs".into(),
            unit_cost: Some(12.5),
        })
        .await
        .unwrap();
    }
    (dir, db)
}

/// One warehouse holding `n` of every part the test alerts need.
pub(crate) async fn stock_all(db: &Maintenance, n: i64) {
    let w = Warehouse {
        id: "main".into(),
        name: String::new(),
        site: None,
        lat: 0.0,
        lon: 0.0,
    };
    db.put_warehouse(&w).await.unwrap();
    for p in ["BRG-1", "SEAL-1"] {
        let part = Part {
            part_number: p.into(),
            description: p.into(),
            unit: "pcs".into(),
            unit_cost: None,
        };
        db.put_part(&part).await.unwrap();
        db.receive(ME, "main", p, n).await.unwrap();
    }
}

fn at(site: &str) -> AssetContext {
    AssetContext {
        criticality: Criticality::Medium,
        site: Some(site.into()),
    }
}

async fn open(db: &Maintenance, asset: &str, site: &str) -> i64 {
    match db
        .open_ticket(&alert(asset, "bearing_wear", Severity::Medium), &at(site))
        .await
        .unwrap()
    {
        Opened::New(t) => t.id,
        other => panic!("{other:?}"),
    }
}

fn level(levels: &[StockLevel], warehouse: &str, part: &str) -> (i64, i64) {
    levels
        .iter()
        .find(|l| l.warehouse_id == warehouse && l.part_number == part)
        .map(|l| (l.on_hand, l.reserved))
        .unwrap_or((0, 0))
}

/// The ledger's deltas add up to every stock row: nothing moved without an entry.
async fn ledger_balances(db: &Maintenance) {
    let entries = db
        .ledger(&LedgerFilter {
            limit: 100_000,
            ..Default::default()
        })
        .await
        .unwrap();
    for l in db.stock(None, None, false).await.unwrap() {
        let mine = entries
            .iter()
            .filter(|e| e.warehouse_id == l.warehouse_id && e.part_number == l.part_number);
        let (on_hand, reserved) = mine.fold((0, 0), |(o, r), e| {
            (o + e.on_hand_delta, r + e.reserved_delta)
        });
        assert_eq!((on_hand, reserved), (l.on_hand, l.reserved), "{l:?}");
        assert!(l.on_hand >= 0 && l.reserved >= 0 && l.reserved <= l.on_hand);
    }
}

fn mv(to: TicketStatus) -> Move<'static> {
    Move {
        actor: "alice",
        role: Role::Planner,
        to,
        note: None,
        resolution: None,
        device_ms: None,
    }
}

#[tokio::test]
async fn nearest_warehouse_first_split_and_the_rest_requisitioned() {
    let (_d, db) = depot().await;
    db.receive(ME, "far", "BRG-1", 5).await.unwrap();
    db.receive(ME, "mid", "BRG-1", 1).await.unwrap();
    db.receive(ME, "far", "SEAL-1", 1).await.unwrap();
    // The asset is at s1: `near` has no bearings, `mid` one, `far` the rest; seals only far.
    let t = open(&db, "p-1", "s1").await;
    let parts = db.ticket_parts(t).await.unwrap().unwrap();
    let got: Vec<_> = parts
        .reservations
        .iter()
        .map(|r| (r.warehouse_id.as_str(), r.part_number.as_str(), r.reserved))
        .collect();
    assert_eq!(
        got,
        [
            ("far", "BRG-1", 1),
            ("mid", "BRG-1", 1),
            ("far", "SEAL-1", 1)
        ]
    );
    assert!(parts.requisitions.is_empty());
    // A second ticket at s2 finds `far` nearest: 3 bearings left there, the seal is gone.
    let t2 = open(&db, "p-2", "s2").await;
    let parts = db.ticket_parts(t2).await.unwrap().unwrap();
    assert_eq!(parts.reservations.len(), 1);
    assert_eq!(parts.reservations[0].warehouse_id, "far");
    assert_eq!(parts.requisitions.len(), 1);
    let r = &parts.requisitions[0];
    assert_eq!(
        (r.part_number.as_str(), r.quantity, r.status.as_str()),
        ("SEAL-1", 1, "open")
    );
    let ticket = db.ticket(t2).await.unwrap().unwrap();
    assert_eq!(ticket.open_requisitions, 1);
    assert_eq!(ticket.site.as_deref(), Some("s2"));
    let stock = db.stock(None, None, false).await.unwrap();
    assert_eq!(level(&stock, "far", "BRG-1"), (5, 3));
    assert_eq!(level(&stock, "far", "SEAL-1"), (1, 1));
    ledger_balances(&db).await;
}

#[tokio::test]
async fn fifty_concurrent_tickets_for_ten_units_reserve_exactly_ten() {
    let (_d, db) = depot().await;
    db.receive(ME, "near", "BRG-1", 10).await.unwrap();
    db.receive(ME, "near", "SEAL-1", 1000).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut a = alert(&format!("p-{i}"), "bearing_wear", Severity::Medium);
            a.parts = vec![PartRequirement {
                part_number: "BRG-1".into(),
                description: "bearing".into(),
                quantity: 1,
            }];
            db.open_ticket(&a, &at("s1")).await.unwrap()
        }));
    }
    for t in tasks {
        assert!(matches!(t.await.unwrap(), Opened::New(_)));
    }
    let stock = db.stock(None, None, false).await.unwrap();
    assert_eq!(level(&stock, "near", "BRG-1"), (10, 10));
    let open = db.requisitions(None, Some("open")).await.unwrap();
    assert_eq!(open.len(), 40);
    assert!(open.iter().all(|r| r.outstanding == 1));
    let tickets = db.tickets(None, true, 100).await.unwrap();
    assert_eq!(
        tickets.iter().filter(|t| t.open_requisitions == 0).count(),
        10
    );
    ledger_balances(&db).await;

    // Deliveries, transfers and cancellations racing each other: still consistent.
    let mut tasks = Vec::new();
    for i in 0..20i64 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            match i % 3 {
                0 => drop(db.receive(ME, "far", "BRG-1", 1).await.unwrap()),
                1 => drop(db.transfer(ME, "far", "mid", "BRG-1", 1).await),
                _ => drop(
                    db.transition(i + 1, &mv(TicketStatus::Cancelled))
                        .await
                        .unwrap(),
                ),
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    ledger_balances(&db).await;
    let stock = db.stock(None, Some("BRG-1"), false).await.unwrap();
    let on_hand: i64 = stock.iter().map(|l| l.on_hand).sum();
    let reserved: i64 = stock.iter().map(|l| l.reserved).sum();
    assert_eq!(on_hand, 10 + 7, "seven deliveries");
    // Every unit free while a requisition waits would be a unit not served.
    let waiting: i64 = db
        .requisitions(None, Some("open"))
        .await
        .unwrap()
        .iter()
        .map(|r| r.outstanding)
        .sum();
    assert!(waiting > 0);
    assert_eq!(reserved, on_hand, "free units serve the open requisitions");
}

#[tokio::test]
async fn a_ticket_waits_for_parts_and_resumes_when_they_arrive() {
    let (_d, db) = depot().await;
    db.receive(ME, "near", "SEAL-1", 1).await.unwrap();
    let t = open(&db, "p-1", "s1").await;
    db.transition(t, &mv(TicketStatus::Assigned)).await.unwrap();
    // Starting work without the bearings puts it on hold, by the service, in the audit log.
    let ticket = db
        .transition(t, &mv(TicketStatus::InProgress))
        .await
        .unwrap();
    assert_eq!(ticket.status, TicketStatus::WaitingParts);
    let audit = db.audit(t).await.unwrap().unwrap();
    let last = audit.last().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.to),
        ("forewarn", TicketStatus::WaitingParts)
    );
    // One bearing arrives: still waiting; the second one: back to work.
    db.receive(ME, "far", "BRG-1", 1).await.unwrap();
    assert_eq!(
        db.ticket(t).await.unwrap().unwrap().status,
        TicketStatus::WaitingParts
    );
    db.receive(ME, "mid", "BRG-1", 3).await.unwrap();
    let ticket = db.ticket(t).await.unwrap().unwrap();
    assert_eq!(ticket.status, TicketStatus::InProgress);
    assert_eq!(ticket.open_requisitions, 0);
    let reqs = db.requisitions(Some(t), None).await.unwrap();
    assert_eq!(
        (reqs[0].status.as_str(), reqs[0].outstanding),
        ("fulfilled", 0)
    );
    let stock = db.stock(None, None, false).await.unwrap();
    assert_eq!(level(&stock, "mid", "BRG-1"), (3, 1));
    ledger_balances(&db).await;
}

#[tokio::test]
async fn issue_consume_return_and_release() {
    let (_d, db) = depot().await;
    db.receive(ME, "near", "BRG-1", 2).await.unwrap();
    db.receive(ME, "near", "SEAL-1", 1).await.unwrap();
    let t = open(&db, "p-1", "s1").await;
    let other = open(&db, "p-2", "s1").await; // waits for everything
    assert_eq!(
        db.requisitions(Some(other), Some("open"))
            .await
            .unwrap()
            .len(),
        2
    );
    // Issuing more than is reserved is refused and changes nothing.
    let err = db.issue(ME, t, Some("BRG-1"), Some(3)).await.unwrap_err();
    assert!(matches!(err, StockError::Insufficient(_)), "{err}");
    let parts = db.issue(ME, t, None, None).await.unwrap();
    assert!(
        parts
            .reservations
            .iter()
            .all(|r| r.reserved == 0 && r.issued > 0)
    );
    assert_eq!(
        level(&db.stock(None, None, false).await.unwrap(), "near", "BRG-1"),
        (0, 0)
    );
    // One bearing used, one brought back: it goes to the other ticket at once.
    db.consume(ME, t, "BRG-1", 1).await.unwrap();
    let err = db.consume(ME, t, "BRG-1", 2).await.unwrap_err();
    assert!(matches!(err, StockError::Insufficient(_)));
    let parts = db.return_parts(ME, t, "BRG-1", 1).await.unwrap();
    let bearing = parts
        .reservations
        .iter()
        .find(|r| r.part_number == "BRG-1")
        .unwrap();
    assert_eq!(
        (bearing.issued, bearing.consumed, bearing.returned),
        (2, 1, 1)
    );
    let theirs = db.ticket_parts(other).await.unwrap().unwrap();
    assert_eq!(theirs.reservations[0].reserved, 1);
    assert_eq!(
        theirs
            .requisitions
            .iter()
            .find(|r| r.part_number == "BRG-1")
            .unwrap()
            .outstanding,
        1
    );
    // Cancelling the other ticket gives its bearing back and cancels its requisitions.
    db.transition(other, &mv(TicketStatus::Cancelled))
        .await
        .unwrap();
    assert_eq!(
        level(&db.stock(None, None, false).await.unwrap(), "near", "BRG-1"),
        (1, 0)
    );
    assert!(
        db.requisitions(None, Some("open"))
            .await
            .unwrap()
            .is_empty()
    );
    // Parts go only to open tickets.
    let err = db.reserve_for(ME, other, "BRG-1", 1).await.unwrap_err();
    assert!(matches!(err, StockError::Invalid(_)), "{err}");
    let kinds: Vec<String> = db
        .ledger(&LedgerFilter {
            ticket: Some(t),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        ["reserve", "reserve", "issue", "issue", "consume", "return"]
    );
    ledger_balances(&db).await;
}

#[tokio::test]
async fn transfers_adjustments_and_low_stock_alerts() {
    let (_d, db) = depot().await;
    db.set_stock_settings("near", "BRG-1", 3, "A-01-02")
        .await
        .unwrap();
    db.receive(ME, "far", "BRG-1", 4).await.unwrap();
    // Moving more than is available is refused whole.
    let err = db
        .transfer(ME, "far", "near", "BRG-1", 5)
        .await
        .unwrap_err();
    assert!(matches!(err, StockError::Insufficient(_)), "{err}");
    let err = db.transfer(ME, "far", "far", "BRG-1", 1).await.unwrap_err();
    assert!(matches!(err, StockError::Invalid(_)));
    let err = db
        .transfer(ME, "far", "nowhere", "BRG-1", 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StockError::NotFound(_)));
    let (from, to) = db.transfer(ME, "far", "near", "BRG-1", 4).await.unwrap();
    assert_eq!(
        (from.on_hand, to.on_hand, to.bin.as_str()),
        (0, 4, "A-01-02")
    );
    assert!(db.stock_alerts(10).await.unwrap().is_empty());
    // A ticket takes two: available 2 < reorder point 3, one alert; the next take adds none.
    open(&db, "p-1", "s1").await;
    let alerts = db.stock_alerts(10).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (
            alerts[0].warehouse_id.as_str(),
            alerts[0].available,
            alerts[0].reorder_point
        ),
        ("near", 2, 3)
    );
    assert_eq!(db.stock(None, None, true).await.unwrap().len(), 1);
    db.adjust(ME, "near", "BRG-1", 3).await.unwrap();
    assert_eq!(db.stock_alerts(10).await.unwrap().len(), 1);
    // A count below what is reserved is refused.
    let err = db.adjust(ME, "near", "BRG-1", 1).await.unwrap_err();
    assert!(matches!(err, StockError::Insufficient(_)), "{err}");
    // Bad master data is refused before it reaches SQL.
    let bad = Warehouse {
        id: "w".into(),
        name: String::new(),
        site: None,
        lat: 91.0,
        lon: 0.0,
    };
    assert!(matches!(
        db.put_warehouse(&bad).await,
        Err(StockError::Invalid(_))
    ));
    let bad = Site {
        id: " s".into(),
        name: String::new(),
        lat: None,
        lon: None,
    };
    assert!(matches!(
        db.put_site(&bad).await,
        Err(StockError::Invalid(_))
    ));
    assert!(matches!(
        db.receive(ME, "near", "BRG-1", 0).await,
        Err(StockError::Invalid(_))
    ));
    assert!(matches!(
        db.receive(ME, "near", "NOPE", 1).await,
        Err(StockError::NotFound(_))
    ));
    // The ledger cannot be rewritten.
    let refused = sqlx::query("DELETE FROM stock_ledger")
        .execute(&db.pool)
        .await;
    assert!(refused.is_err());
    ledger_balances(&db).await;
}
