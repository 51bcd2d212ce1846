//! The lifecycle against the database: moves, refusals, the audit log, resolutions as labels,
//! concurrent moves, tokens.

use forewarn_domain::{Criticality, Severity};

use super::*;
use crate::db::tests::alert;
use crate::{Opened, Resolution, Role};

fn mv<'a>(role: Role, to: TicketStatus, resolution: Option<&'a Resolution>) -> Move<'a> {
    Move {
        actor: "alice",
        role,
        to,
        note: Some("on it"),
        resolution,
        device_ms: None,
    }
}

async fn open(db: &Maintenance, asset: &str) -> i64 {
    match db
        .open_ticket(
            &alert(asset, "bearing_wear", Severity::Medium),
            &Criticality::Medium.into(),
        )
        .await
        .unwrap()
    {
        Opened::New(t) => t.id,
        Opened::Existing(id) | Opened::CoolingDown(id) | Opened::BeforeRepair(id) => id,
    }
}

#[tokio::test]
async fn a_ticket_goes_through_its_life_and_every_step_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    // No cooldown: the second ticket below must open.
    let db = crate::testdb::open(dir.path())
        .await
        .with_cooldown(std::time::Duration::ZERO);
    // Parts in stock: starting work does not wait for them.
    crate::parts::tests::stock_all(&db, 10).await;
    let id = open(&db, "p-1").await;
    use TicketStatus::*;
    for to in [Assigned, InProgress, WaitingParts, InProgress] {
        assert_eq!(
            db.transition(id, &mv(Role::Planner, to, None))
                .await
                .unwrap()
                .status,
            to
        );
    }
    let other = Resolution::OtherMode {
        failure_mode: "seal_leak".into(),
    };
    // A technician acts only on their own tickets: Alice's once assigned to her.
    assert!(matches!(
        db.transition(id, &mv(Role::Technician, Resolved, Some(&other)))
            .await,
        Err(MoveError::Refused(crate::lifecycle::Refusal::NotYours {
            id: 1,
            assignee: None
        }))
    ));
    sqlx::query("UPDATE tickets SET assignee = 'alice' WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let t = db
        .transition(id, &mv(Role::Technician, Resolved, Some(&other)))
        .await
        .unwrap();
    assert_eq!(t.resolution, Some(other));
    db.transition(id, &mv(Role::Planner, Closed, None))
        .await
        .unwrap();

    let log = db.audit(id).await.unwrap().unwrap();
    let steps: Vec<(Option<TicketStatus>, TicketStatus)> =
        log.iter().map(|e| (e.from, e.to)).collect();
    assert_eq!(
        steps,
        [
            (None, New),
            (Some(New), Assigned),
            (Some(Assigned), InProgress),
            (Some(InProgress), WaitingParts),
            (Some(WaitingParts), InProgress),
            (Some(InProgress), Resolved),
            (Some(Resolved), Closed),
        ]
    );
    assert_eq!(log[1].actor, "alice");
    assert_eq!(log[0].actor, "forewarn");
    assert!(db.audit(999).await.unwrap().is_none());

    // The resolution is the label: the classifier learns "seal_leak", not the prediction.
    let examples = db.resolved_examples().await.unwrap();
    assert_eq!(examples.len(), 1);
    assert_eq!(examples[0].1.as_str(), "seal_leak");

    // Refusals change nothing and log nothing.
    let err = db
        .transition(id, &mv(Role::Planner, InProgress, None))
        .await
        .unwrap_err();
    assert!(matches!(err, MoveError::Refused(_)), "{err}");
    assert!(matches!(
        db.transition(777, &mv(Role::Planner, Assigned, None))
            .await
            .unwrap_err(),
        MoveError::NotFound(777)
    ));
    assert_eq!(db.audit(id).await.unwrap().unwrap().len(), 7);

    // The database itself refuses to rewrite history.
    let rewrite = sqlx::query("UPDATE ticket_events SET actor = 'mallory'")
        .execute(&db.pool)
        .await;
    assert!(rewrite.unwrap_err().to_string().contains("append-only"));

    // Reopening while another ticket is open for the same asset and mode is refused. (The
    // second is a new deviation, weeks after the first's repair in the asset's time.)
    let mut later = alert("p-1", "bearing_wear", Severity::Medium);
    later.raised_at_ms += 30 * 86_400_000;
    later.began_ms = later.raised_at_ms;
    let Opened::New(second) = db
        .open_ticket(&later, &Criticality::Medium.into())
        .await
        .unwrap()
    else {
        panic!("a new deviation after the repair opens a new ticket")
    };
    let second = second.id;
    assert_ne!(second, id);
    assert!(matches!(
        db.transition(id, &mv(Role::Planner, Reopened, None)).await.unwrap_err(),
        MoveError::AlreadyOpen(s) if s == second
    ));
    db.transition(second, &mv(Role::Planner, Cancelled, None))
        .await
        .unwrap();
    assert_eq!(
        db.transition(id, &mv(Role::Planner, Reopened, None))
            .await
            .unwrap()
            .status,
        Reopened
    );
    // A reopened ticket is open: a new alert attaches to it.
    assert!(matches!(
        db.open_ticket(&alert("p-1", "bearing_wear", Severity::High), &Criticality::Medium.into()).await.unwrap(),
        Opened::Existing(i) if i == id
    ));
}

#[tokio::test]
async fn concurrent_moves_of_one_ticket_apply_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    let id = open(&db, "p-2").await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                db.transition(id, &mv(Role::Planner, TicketStatus::Assigned, None))
                    .await
                    .is_ok()
            })
        })
        .collect();
    let mut moved = 0;
    for t in tasks {
        moved += usize::from(t.await.unwrap());
    }
    assert_eq!(moved, 1);
    assert_eq!(db.audit(id).await.unwrap().unwrap().len(), 2);
}

#[tokio::test]
async fn tokens_are_shown_once_and_stored_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    let token = db.create_token("planner-1", Role::Planner).await.unwrap();
    assert!(token.starts_with("fw_") && token.len() == 67, "{token}");
    let caller = db.authenticate(&token).await.unwrap().unwrap();
    assert_eq!(
        (caller.name.as_str(), caller.role),
        ("planner-1", Role::Planner)
    );
    assert!(db.authenticate("fw_wrong").await.unwrap().is_none());
    let stored: Vec<String> = sqlx::query_scalar("SELECT hash FROM api_tokens")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].contains(&token[3..]),
        "the token itself is never stored"
    );
    assert!(
        db.create_token("planner-1", Role::Admin).await.is_err(),
        "names are unique"
    );
}

#[tokio::test]
async fn kpis_come_from_resolutions_and_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    let empty = db.kpis().await.unwrap();
    assert_eq!(
        (empty.open_tickets, empty.mttr_h, empty.false_alarm_rate),
        (0, None, None)
    );

    // Asset a fails twice, 100 h apart (device time); asset b was a false alarm; c is open.
    let a1 = open(&db, "a").await;
    let at = |h: i64| format!("2026-06-01T{h:02}:00:00.000Z");
    let resolve = async |id: i64, resolution: &str, detected_ms: i64, events: &[(&str, String)]| {
        sqlx::query(
            "UPDATE tickets SET status = 'closed', resolution = $1, detected_at_ms = $2 WHERE id = $3",
        )
        .bind(resolution)
        .bind(detected_ms)
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
        for (to, when) in events {
            sqlx::query(
                "INSERT INTO ticket_events (ticket_id, at, actor, to_status) VALUES ($1, $2, 't', $3)",
            )
            .bind(id)
            .bind(when)
            .bind(to)
            .execute(&db.pool)
            .await
            .unwrap();
        }
    };
    resolve(
        a1,
        r#"{"code":"confirmed"}"#,
        0,
        &[("in_progress", at(1)), ("resolved", at(3))],
    )
    .await;
    let a2 = open(&db, "a").await;
    resolve(
        a2,
        r#"{"code":"other_mode","failure_mode":"seal_leak"}"#,
        100 * 3_600_000,
        &[
            ("in_progress", at(4)),
            ("resolved", at(8)),
            ("reopened", at(9)),
        ],
    )
    .await;
    let b = open(&db, "b").await;
    resolve(
        b,
        r#"{"code":"no_fault_found"}"#,
        0,
        &[("in_progress", at(1)), ("resolved", at(1))],
    )
    .await;
    open(&db, "c").await;

    let k = db.kpis().await.unwrap();
    assert_eq!((k.open_tickets, k.resolved_tickets), (1, 3));
    assert_eq!(k.mttr_h, Some(2.0), "(2 + 4 + 0) / 3 hours");
    assert_eq!(k.mtbf_h, Some(100.0));
    assert_eq!(k.first_time_fix_rate, Some(0.5), "a2 was reopened");
    assert_eq!(k.false_alarm_rate, Some(0.333));
}

#[tokio::test]
async fn a_finished_ticket_absorbs_alerts_during_its_cooldown_in_device_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    let id = open(&db, "p-3").await;
    db.transition(id, &mv(Role::Planner, TicketStatus::Cancelled, None))
        .await
        .unwrap();
    let t0 = 1_780_000_000_000;
    let later = |h: i64| {
        let mut a = alert("p-3", "bearing_wear", Severity::High);
        a.raised_at_ms = t0 + h * 3_600_000;
        a.began_ms = a.raised_at_ms;
        a
    };
    for h in 1..=5 {
        assert_eq!(
            db.open_ticket(&later(h), &Criticality::Medium.into())
                .await
                .unwrap(),
            Opened::CoolingDown(id)
        );
    }
    let t = db.ticket(id).await.unwrap().unwrap();
    assert_eq!((t.status, t.alert_count), (TicketStatus::Cancelled, 6));
    // Once a day of the asset's own time has passed, the next alert opens a new ticket —
    // however little wall time went by.
    assert!(matches!(
        db.open_ticket(&later(25), &Criticality::Medium.into())
            .await
            .unwrap(),
        Opened::New(_)
    ));
}

#[tokio::test]
async fn priority_escalates_with_worse_findings_and_never_falls() {
    use crate::Priority;
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    let Opened::New(t) = db
        .open_ticket(
            &alert("p-9", "bearing_wear", Severity::Medium),
            &Criticality::High.into(),
        )
        .await
        .unwrap()
    else {
        panic!("a new ticket")
    };
    assert_eq!((t.priority, t.red_alert), (Priority::P3, false));
    db.open_ticket(
        &alert("p-9", "bearing_wear", Severity::Critical),
        &Criticality::High.into(),
    )
    .await
    .unwrap();
    let t = db.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(
        (t.priority, t.red_alert, t.severity.as_str()),
        (Priority::P1, true, "critical")
    );
    db.open_ticket(
        &alert("p-9", "bearing_wear", Severity::Low),
        &Criticality::High.into(),
    )
    .await
    .unwrap();
    let t = db.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(
        (t.priority, t.red_alert),
        (Priority::P1, true),
        "never lowered"
    );
}
