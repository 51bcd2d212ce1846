//! The sweeper at chosen times: a ticket's response warning and breach are raised once each, at
//! the right moments, and the breach escalates the priority; the KPIs count compliance.

use std::sync::Arc;
use std::time::Duration;

use forewarn_domain::{Criticality, Severity};

use crate::db::tests::alert;
use crate::{Maintenance, Opened, Priority};

const H: u64 = 3600;

async fn kinds(db: &Maintenance) -> Vec<String> {
    sqlx::query_scalar("SELECT kind FROM outbox WHERE kind LIKE 'sla.%' ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn warnings_and_breaches_come_once_on_time_and_escalate() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    // Medium severity on a medium asset: P3, respond within 24 h, resolve within 72 h.
    let id = match db
        .open_ticket(
            &alert("p-1", "bearing_wear", Severity::Medium),
            &Criticality::Medium.into(),
        )
        .await
        .unwrap()
    {
        Opened::New(t) => {
            assert_eq!(t.priority, Priority::P3);
            t.id
        }
        other => panic!("{other:?}"),
    };
    // Time is the sweeper's argument: tokio's paused time would also pause (and time out) the
    // database pool's own timers, so the tests choose the instants instead.
    let base = chrono::Utc::now().timestamp_millis();
    let at = |h: f64| base + (h * H as f64 * 1000.0) as i64;
    db.sweep_sla(at(18.0)).await.unwrap();
    assert!(kinds(&db).await.is_empty(), "18 h of 24: nothing yet");
    let raised = db.sweep_sla(at(19.3)).await.unwrap();
    assert_eq!(raised.len(), 1);
    assert_eq!(
        (raised[0].clock.as_str(), raised[0].kind.as_str()),
        ("response", "warning")
    );
    assert_eq!(
        kinds(&db).await,
        ["sla.warning"],
        "past 80 % of the response time"
    );
    assert!(db.sweep_sla(at(23.0)).await.unwrap().is_empty(), "once");
    db.sweep_sla(at(24.1)).await.unwrap();
    assert_eq!(kinds(&db).await, ["sla.warning", "sla.breached"]);
    let t = db.ticket(id).await.unwrap().unwrap();
    assert_eq!(
        t.priority,
        Priority::P2,
        "a breach raises the priority one step"
    );
    db.sweep_sla(at(57.0)).await.unwrap();
    db.sweep_sla(at(58.0)).await.unwrap();
    // The resolution clock warns at 57.6 h.
    assert_eq!(
        kinds(&db).await,
        ["sla.warning", "sla.breached", "sla.warning"]
    );
    let clocks: Vec<(String, String)> =
        sqlx::query_as("SELECT clock, kind FROM sla_events ORDER BY at")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let clocks: Vec<String> = clocks.iter().map(|(c, k)| format!("{c}:{k}")).collect();
    assert_eq!(
        clocks,
        ["response:warning", "response:breach", "resolution:warning"]
    );
    // The due times did not move with the escalation: the SLA follows the opening priority.
    let sla = db.sla_of(&[id], at(60.0)).await.unwrap()[0].1;
    assert_eq!(sla.priority, Priority::P3);
    assert_eq!(
        sla.response.due_at_ms,
        sla.resolution.due_at_ms - 48 * 3_600_000
    );
    assert_eq!(
        db.kpis().await.unwrap().sla_breached_open,
        0,
        "by the wall clock, barely opened"
    );
}

#[tokio::test]
async fn the_sweeper_runs_on_its_clock_until_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    db.open_ticket(
        &alert("p-1", "bearing_wear", Severity::Medium),
        &Criticality::Medium.into(),
    )
    .await
    .unwrap();
    // A clock three days ahead: both clocks of the P3 ticket are past due.
    let ahead = chrono::Utc::now().timestamp_millis() + 73 * H as i64 * 1000;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let sweeper = tokio::spawn(crate::run_sla(
        db.clone(),
        Duration::from_millis(10),
        Arc::new(move || ahead),
        async move {
            let _ = stop_rx.await;
        },
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while kinds(&db).await.len() < 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            kinds(&db).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        kinds(&db).await.len(),
        4,
        "each raised once however often it sweeps"
    );
    stop_tx.send(()).unwrap();
    sweeper.await.unwrap().unwrap();
}

/// Two instances sharing one database sweep at the same moments (issue 22: several instances):
/// each warning and breach is raised once, and a breach escalates the priority once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_sweeping_raise_each_warning_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        match db
            .open_ticket(
                &alert(&format!("p-{i}"), "bearing_wear", Severity::Medium),
                &Criticality::Medium.into(),
            )
            .await
            .unwrap()
        {
            Opened::New(t) => ids.push(t.id),
            other => panic!("{other:?}"),
        }
    }
    let base = chrono::Utc::now().timestamp_millis();
    for h in [19.3, 24.1, 24.2] {
        let now = base + (h * H as f64 * 1000.0) as i64;
        let (a, b) = (db.clone(), db.clone());
        let (x, y) = tokio::join!(
            tokio::spawn(async move { a.sweep_sla(now).await }),
            tokio::spawn(async move { b.sweep_sla(now).await })
        );
        x.unwrap().unwrap();
        y.unwrap().unwrap();
    }
    let kinds = kinds(&db).await;
    let count = |k: &str| kinds.iter().filter(|x| *x == k).count();
    assert_eq!(
        (count("sla.warning"), count("sla.breached")),
        (6, 6),
        "{kinds:?}"
    );
    for id in ids {
        let t = db.ticket(id).await.unwrap().unwrap();
        assert_eq!(t.priority, Priority::P2, "escalated once, from P3");
    }
}
