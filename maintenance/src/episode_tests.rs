//! Episodes in device time: repairs, repeat failures, cooldowns and restarts.

use std::time::Duration;

use forewarn_domain::{Criticality, Severity};

use crate::db::tests::alert;
use crate::{Maintenance, Move, Opened, Resolution, Role, TicketStatus};

const T0: i64 = 1_780_000_000_000;
const HOUR: i64 = 3_600_000;

/// An alert whose deviation began at `began` (hours after T0), raised at `raised`.
fn at(asset: &str, mode: &str, began: i64, raised: i64) -> forewarn_domain::Alert {
    let mut a = alert(asset, mode, Severity::High);
    a.began_ms = T0 + began * HOUR;
    a.raised_at_ms = T0 + raised * HOUR;
    a.finding.detected_at_ms = a.raised_at_ms;
    a
}

async fn raise(db: &Maintenance, a: &forewarn_domain::Alert) -> Opened {
    db.open_ticket(a, &Criticality::Medium.into())
        .await
        .unwrap()
}

fn new_id(o: Opened) -> i64 {
    match o {
        Opened::New(t) => t.id,
        other => panic!("expected a new ticket, got {other:?}"),
    }
}

/// Works ticket `id` to `resolved` with `resolution`, the repair at `repaired` hours.
async fn repair(db: &Maintenance, id: i64, resolution: &Resolution, repaired: i64) {
    for to in [TicketStatus::Assigned, TicketStatus::InProgress] {
        db.transition(id, &mv(to, None, None)).await.unwrap();
    }
    let t = db
        .transition(
            id,
            &mv(
                TicketStatus::Resolved,
                Some(resolution),
                Some(T0 + repaired * HOUR),
            ),
        )
        .await
        .unwrap();
    assert_eq!(t.finished_ms, Some(T0 + repaired * HOUR));
}

fn mv<'a>(to: TicketStatus, resolution: Option<&'a Resolution>, device: Option<i64>) -> Move<'a> {
    Move {
        actor: "alice",
        role: Role::Planner,
        to,
        note: None,
        resolution,
        device_ms: device,
    }
}

/// Regression: the second bearing fault of an asset opened no ticket (alerting remembered the
/// first for ever). From the database, a deviation that begins after the repair is a new
/// episode and opens a new ticket.
#[tokio::test]
async fn second_failure_of_an_asset_opens_a_second_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    crate::parts::tests::stock_all(&db, 10).await;
    let first = new_id(raise(&db, &at("p-1", "bearing_wear", 0, 2)).await);
    repair(&db, first, &Resolution::Confirmed, 30).await;
    let t = db.ticket(first).await.unwrap().unwrap();
    assert_eq!(
        (t.repaired_at_ms, t.found_mode.as_deref()),
        (Some(T0 + 30 * HOUR), Some("bearing_wear"))
    );
    // Weeks later the bearing wears again.
    let second = new_id(raise(&db, &at("p-1", "bearing_wear", 900, 902)).await);
    assert_ne!(first, second);
    assert_eq!(
        raise(&db, &at("p-1", "bearing_wear", 900, 914)).await,
        Opened::Existing(second)
    );
}

/// Regression: a restart replays history, and the replayed findings of a repaired fault
/// reached maintenance after the (wall-clock) cooldown and opened a ticket for a fixed machine.
/// Whatever the cooldown — none at all here — a deviation that began before the repair belongs
/// to the finished ticket.
#[tokio::test]
async fn restart_with_the_cooldown_at_zero_opens_nothing_for_repaired_faults() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path())
        .await
        .with_cooldown(Duration::ZERO);
    crate::parts::tests::stock_all(&db, 10).await;
    let id = new_id(raise(&db, &at("p-2", "impeller_wear", 0, 3)).await);
    repair(&db, id, &Resolution::Confirmed, 40).await;
    db.close().await;
    // The restarted service replays the whole episode, months of wall time later.
    let db = crate::testdb::open(dir.path())
        .await
        .with_cooldown(Duration::ZERO);
    for raised in [3, 15, 27, 39, 45] {
        assert_eq!(
            raise(&db, &at("p-2", "impeller_wear", 0, raised)).await,
            Opened::BeforeRepair(id),
            "raised at {raised} h"
        );
    }
    let t = db.ticket(id).await.unwrap().unwrap();
    assert_eq!(
        t.alert_count, 2,
        "replayed alerts are not counted again; 45 h is new"
    );
    assert_eq!(db.count().await.unwrap(), 1);
}

/// Regression: with the default cooldown, a restart long after a repair re-raised the fault.
#[tokio::test]
async fn restart_after_a_repair_opens_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    crate::parts::tests::stock_all(&db, 10).await;
    let id = new_id(raise(&db, &at("p-3", "bearing_wear", 0, 5)).await);
    repair(&db, id, &Resolution::Confirmed, 20).await;
    db.close().await;
    let db = crate::testdb::open(dir.path()).await;
    // Late findings of the old deviation, days of device time after the repair.
    for raised in [5, 17, 200] {
        assert_eq!(
            raise(&db, &at("p-3", "bearing_wear", 1, raised)).await,
            Opened::BeforeRepair(id)
        );
    }
    assert_eq!(db.count().await.unwrap(), 1);
    let repairs = db.repairs().await.unwrap();
    assert_eq!(repairs.len(), 1);
    assert_eq!(
        (
            repairs[0].asset.as_str(),
            repairs[0].at_ms,
            repairs[0].ticket_id
        ),
        ("p-3", T0 + 20 * HOUR, id)
    );
}

/// A repair that found another mode finishes the deviation for that mode too, and a
/// reopened ticket's repair no longer counts.
#[tokio::test]
async fn other_mode_repairs_cover_the_mode_found_and_reopening_forgets_the_repair() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path())
        .await
        .with_cooldown(Duration::ZERO);
    crate::parts::tests::stock_all(&db, 10).await;
    let id = new_id(raise(&db, &at("p-4", "bearing_wear", 0, 2)).await);
    let other = Resolution::OtherMode {
        failure_mode: "impeller_wear".into(),
    };
    repair(&db, id, &other, 10).await;
    assert_eq!(
        raise(&db, &at("p-4", "impeller_wear", 1, 12)).await,
        Opened::BeforeRepair(id)
    );
    assert_eq!(
        db.repairs().await.unwrap()[0].failure_mode.as_str(),
        "impeller_wear"
    );
    let t = db
        .transition(id, &mv(TicketStatus::Reopened, None, None))
        .await
        .unwrap();
    assert_eq!((t.repaired_at_ms, t.finished_ms), (None, None));
    assert!(db.repairs().await.unwrap().is_empty());
    // A no-fault-found resolution records no repair, only when it was finished.
    db.transition(id, &mv(TicketStatus::Assigned, None, None))
        .await
        .unwrap();
    db.transition(id, &mv(TicketStatus::InProgress, None, None))
        .await
        .unwrap();
    let t = db
        .transition(
            id,
            &mv(
                TicketStatus::Resolved,
                Some(&Resolution::NoFaultFound),
                Some(T0 + 50 * HOUR),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        (t.repaired_at_ms, t.finished_ms),
        (None, Some(T0 + 50 * HOUR))
    );
    let audit = db.audit(id).await.unwrap().unwrap();
    assert_eq!(audit.last().unwrap().device_ms, Some(T0 + 50 * HOUR));
}

#[test]
fn device_time_is_never_before_detection() {
    use super::device_time;
    assert_eq!(device_time(Some(5), 10, 20), 10);
    assert_eq!(device_time(None, 10, 20), 20);
    assert_eq!(device_time(Some(30), 10, 20), 30);
}
