//! Writers racing on one row, each outcome checked exactly, not only the ledger's balance. Run on
//! SQLite and, in the suite's PostgreSQL pass, on PostgreSQL — where READ COMMITTED alone lets a
//! transaction act on what it read before another committed (issue 21's four findings).
//!
//! Each race repeats for 30 rounds with both sides on tasks of their own on a multi-threaded
//! runtime, so either may win; whichever does, the result must be one of the serial outcomes.

use forewarn_domain::Severity;

use crate::db::tests::alert;
use crate::lifecycle::Role;
use crate::notes::{NoteError, NoteKind};
use crate::parts::{Actor, Part, Warehouse};
use crate::{AssetContext, Caller, Maintenance, Move, Opened, TicketStatus};

const ROUNDS: usize = 30;

const STORES: Actor<'static> = Actor {
    name: "stores",
    note: None,
};

/// Runs `a` and `b` on tasks of their own, so they really run at once on the runtime's threads.
async fn both<A, B>(a: A, b: B) -> (A::Output, B::Output)
where
    A: Future + Send + 'static,
    B: Future + Send + 'static,
    A::Output: Send + 'static,
    B::Output: Send + 'static,
{
    let (a, b) = tokio::join!(tokio::spawn(a), tokio::spawn(b));
    (a.unwrap(), b.unwrap())
}

async fn depot(dir: &std::path::Path) -> Maintenance {
    let db = crate::testdb::open(dir)
        .await
        .with_cooldown(std::time::Duration::ZERO);
    db.put_warehouse(&Warehouse {
        id: "main".into(),
        name: "main".into(),
        site: None,
        lat: 0.0,
        lon: 0.0,
    })
    .await
    .unwrap();
    for p in ["BRG-1", "SEAL-1"] {
        db.put_part(&Part {
            part_number: p.into(),
            description: p.into(),
            unit: "pcs".into(),
            unit_cost: None,
        })
        .await
        .unwrap();
    }
    db
}

async fn open(db: &Maintenance, asset: &str) -> i64 {
    match db
        .open_ticket(
            &alert(asset, "bearing_wear", Severity::Medium),
            &AssetContext::default(),
        )
        .await
        .unwrap()
    {
        Opened::New(t) => t.id,
        other => panic!("{other:?}"),
    }
}

/// A stock count records what was counted: its ledger entry leaves exactly the counted units on
/// hand, whether the delivery landed before it (and was counted) or after it (and adds to it).
/// A count computing its delta from a read taken before the delivery committed would leave the
/// count plus the delivery behind an entry that claims the count.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stock_count_racing_a_delivery_leaves_what_was_counted() {
    let dir = tempfile::tempdir().unwrap();
    let db = depot(dir.path()).await;
    db.receive(STORES, "main", "BRG-1", 10).await.unwrap();
    for round in 0..ROUNDS as i64 {
        let before = db.stock(Some("main"), Some("BRG-1"), false).await.unwrap()[0].on_hand;
        let counted = 7 + round;
        let (a, b) = (db.clone(), db.clone());
        let (count, delivery) = both(
            async move { a.adjust(STORES, "main", "BRG-1", counted).await },
            async move { b.receive(STORES, "main", "BRG-1", 5).await },
        )
        .await;
        count.unwrap();
        delivery.unwrap();
        let ledger = db
            .ledger(&crate::parts::LedgerFilter {
                part: Some("BRG-1"),
                limit: 2,
                ..Default::default()
            })
            .await
            .unwrap();
        let now = db.stock(Some("main"), Some("BRG-1"), false).await.unwrap()[0].on_hand;
        // Newest first: which of the two was serialised last decides the level.
        let (last, first) = (&ledger[0], &ledger[1]);
        match last.kind.as_str() {
            "receive" => {
                assert_eq!(now, counted + 5, "round {round}: count, then delivery");
                assert_eq!(first.on_hand_after, counted);
            }
            // A count equal to the level writes no entry; then only the delivery is newest.
            "adjust" => assert_eq!(now, counted, "round {round}: delivery, then count"),
            other => panic!("round {round}: unexpected {other} (before: {before})"),
        }
        assert_eq!(last.on_hand_after, now);
    }
}

/// Two deliveries serving one open requisition serve it once: the ticket holds what it asked
/// for, no more, and the rest stays available. The deliveries go to two warehouses — two stock
/// rows, so no row lock orders them — and both read the same open requisition.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_deliveries_serve_one_requisition_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = depot(dir.path()).await;
    db.put_warehouse(&Warehouse {
        id: "second".into(),
        name: "second".into(),
        site: None,
        lat: 0.0,
        lon: 0.0,
    })
    .await
    .unwrap();
    for round in 0..ROUNDS {
        // Nothing in stock: the ticket's two bearings and one seal are requisitioned.
        let id = open(&db, &format!("p-{round}")).await;
        let (x, y) = (db.clone(), db.clone());
        let (a, b) = both(
            async move { x.receive(STORES, "main", "BRG-1", 2).await },
            async move { y.receive(STORES, "second", "BRG-1", 2).await },
        )
        .await;
        a.unwrap();
        b.unwrap();
        let parts = db.ticket_parts(id).await.unwrap().unwrap();
        let held: i64 = parts
            .reservations
            .iter()
            .filter(|r| r.part_number == "BRG-1")
            .map(|r| r.reserved)
            .sum();
        assert_eq!(held, 2, "round {round}: the ticket asked for two bearings");
        let req = parts
            .requisitions
            .iter()
            .find(|r| r.part_number == "BRG-1")
            .unwrap();
        assert_eq!((req.outstanding, req.status.as_str()), (0, "fulfilled"));
        let levels = db.stock(None, Some("BRG-1"), false).await.unwrap();
        let on_hand: i64 = levels.iter().map(|l| l.on_hand).sum();
        let reserved: i64 = levels.iter().map(|l| l.reserved).sum();
        assert_eq!(
            (on_hand, reserved),
            (4, 2),
            "round {round}: the ticket holds two, the other delivery stays available"
        );
        // The next round's ticket must find the shelves empty again.
        db.transition(id, &planner(TicketStatus::Cancelled))
            .await
            .unwrap();
        for w in ["main", "second"] {
            db.adjust(STORES, w, "BRG-1", 0).await.unwrap();
        }
    }
}

fn planner(to: TicketStatus) -> Move<'static> {
    Move {
        actor: "planner",
        role: Role::Planner,
        to,
        note: None,
        resolution: None,
        device_ms: None,
    }
}

async fn technician(db: &Maintenance, id: &str) {
    let t = crate::dispatch::tests::tech(id, &["mechanical"], None, 50.0);
    db.put_technician(&t).await.unwrap();
}

/// An assignment racing a cancellation never lands on the cancelled ticket: either it came first
/// (and the cancellation followed it) or it is refused as a conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_assignment_racing_a_cancel_never_lands_on_a_cancelled_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let db = depot(dir.path()).await;
    technician(&db, "tech-1").await;
    for round in 0..ROUNDS {
        let id = open(&db, &format!("p-{round}")).await;
        let (x, y) = (db.clone(), db.clone());
        let (assigned, cancelled) = both(
            async move { x.assign(id, "planner", Some("tech-1"), None).await },
            async move { y.transition(id, &planner(TicketStatus::Cancelled)).await },
        )
        .await;
        cancelled.unwrap();
        let audit = db.audit(id).await.unwrap().unwrap();
        let last = audit.last().unwrap();
        assert_eq!(last.to, TicketStatus::Cancelled, "round {round}: {audit:?}");
        match assigned {
            Ok(_) => assert!(
                audit.iter().any(|e| e.to == TicketStatus::Assigned),
                "round {round}: an accepted assignment is in the log before the cancel"
            ),
            Err(e) => {
                assert!(e.to_string().contains("cancelled"), "round {round}: {e}");
                assert!(!audit.iter().any(|e| e.to == TicketStatus::Assigned));
            }
        }
        let t = db.ticket(id).await.unwrap().unwrap();
        assert_eq!(t.status, TicketStatus::Cancelled);
    }
}

/// The assignee tapping "accept" twice at once accepts the job once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_acceptances_at_once_accept_the_job_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = depot(dir.path()).await;
    technician(&db, "tech-1").await;
    let me = Caller {
        name: "tech-1".into(),
        role: Role::Technician,
    };
    for round in 0..ROUNDS {
        let id = open(&db, &format!("p-{round}")).await;
        db.assign(id, "planner", Some("tech-1"), None)
            .await
            .unwrap();
        let (x, y, m1, m2) = (db.clone(), db.clone(), me.clone(), me.clone());
        let (a, b) = both(
            async move { x.add_note(id, &m1, NoteKind::Accepted, "").await },
            async move { y.add_note(id, &m2, NoteKind::Accepted, "").await },
        )
        .await;
        let refused = [&a, &b]
            .iter()
            .filter(|r| matches!(r, Err(NoteError::Conflict(_))))
            .count();
        assert_eq!(
            (a.is_ok() as usize + b.is_ok() as usize, refused),
            (1, 1),
            "round {round}: {a:?} {b:?}"
        );
        let notes = db.notes(id).await.unwrap().unwrap();
        assert_eq!(
            notes
                .iter()
                .filter(|n| n.kind == NoteKind::Accepted)
                .count(),
            1
        );
    }
}
