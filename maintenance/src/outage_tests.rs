//! The tickets database going away while findings arrive (issue 21: "any database error stops
//! everything"). On PostgreSQL the test's own server is stopped and started again; on SQLite
//! another connection holds the write lock past the busy timeout. Either way the stage keeps
//! running, the findings wait in the durable queue — across a restart of the stage too — and
//! their tickets open once the database is back.

use std::sync::Arc;
use std::time::Duration;

use forewarn_domain::{AssetId, Classifier, Decision, Dependency, Metrics, Severity};
use sqlx::Connection;
use tokio::sync::{broadcast, mpsc};

use crate::Maintenance;
use crate::db::tests::alert;
use crate::pending::Pending;
use crate::pgserver::PgServer;

/// How the test takes the database away.
enum Outage {
    Postgres(PgServer),
    /// A connection of its own, holding `BEGIN EXCLUSIVE` during the outage.
    Sqlite(sqlx::SqliteConnection),
}

impl Outage {
    async fn begin(&mut self) {
        match self {
            Outage::Postgres(server) => server.stop().unwrap(),
            Outage::Sqlite(conn) => {
                sqlx::query("BEGIN EXCLUSIVE")
                    .execute(&mut *conn)
                    .await
                    .unwrap();
            }
        }
    }

    async fn end(&mut self) {
        match self {
            Outage::Postgres(server) => server.restart().unwrap(),
            Outage::Sqlite(conn) => {
                sqlx::query("COMMIT").execute(&mut *conn).await.unwrap();
            }
        }
    }
}

async fn database(dir: &std::path::Path) -> (Maintenance, Outage) {
    if crate::testdb::postgres() {
        let server = PgServer::start("outage").unwrap();
        let url = server.database("t").await.unwrap();
        let db = Maintenance::connect(&url).await.unwrap();
        return (db, Outage::Postgres(server));
    }
    let db = Maintenance::open(dir).await.unwrap();
    let url = format!("sqlite://{}", dir.join("forewarn.db").display());
    let conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    (db, Outage::Sqlite(conn))
}

fn spawn_stage(
    db: &Maintenance,
    metrics: &Arc<Metrics>,
    dir: &std::path::Path,
) -> (
    mpsc::Sender<Decision>,
    tokio::task::JoinHandle<Result<(), crate::MaintenanceError>>,
) {
    let (tx, rx) = mpsc::channel(16);
    let pending = Pending::open(dir, 100).unwrap();
    let stage = tokio::spawn(crate::run(
        db.clone(),
        metrics.clone(),
        rx,
        broadcast::channel(16).0,
        Arc::new(|_: &AssetId| Default::default()),
        pending,
    ));
    (tx, stage)
}

fn decision(asset: &str) -> Decision {
    Decision::Alert(
        Box::new(alert(asset, "bearing_wear", Severity::High)),
        Classifier::Signature,
    )
}

/// Waits (2 minutes at most) until `done` holds.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_database_error_no_longer_stops_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (db, mut outage) = database(dir.path()).await;
    let metrics = Arc::new(Metrics::new());
    let (tx, stage) = spawn_stage(&db, &metrics, dir.path());
    tx.send(decision("p-0")).await.unwrap();
    until("the first ticket", || metrics.findings_settled.get() == 1).await;

    outage.begin().await;
    tx.send(decision("p-1")).await.unwrap();
    tx.send(decision("p-2")).await.unwrap();
    let unmatched = alert("p-3", "bearing_wear", Severity::Low).finding;
    tx.send(Decision::Unmatched(Box::new(unmatched)))
        .await
        .unwrap();
    until("three findings queued", || {
        metrics.findings_pending.get() == 3
    })
    .await;
    assert_eq!(metrics.outages(Dependency::TicketsDatabase), 1);
    assert!(metrics.degradations.is_down(Dependency::TicketsDatabase));
    assert!(!stage.is_finished(), "the stage keeps running");
    let file = std::fs::read_to_string(dir.path().join(crate::pending::FILE)).unwrap();
    assert_eq!(file.lines().count(), 3, "queued durably");

    // The service stops during the outage: the queue stays on disk for the next start.
    drop(tx);
    stage.await.unwrap().unwrap();
    outage.end().await;
    let (tx, stage) = spawn_stage(&db, &metrics, dir.path());
    until("the queue settled after the outage", || {
        metrics.findings_settled.get() == 4
    })
    .await;
    assert_eq!(metrics.findings_pending.get(), 0);
    assert!(!metrics.degradations.is_down(Dependency::TicketsDatabase));
    let tickets = db.tickets(None, false, 100).await.unwrap();
    let mut assets: Vec<_> = tickets.iter().map(|t| t.asset_id.as_str()).collect();
    assets.sort();
    assert_eq!(
        assets,
        ["p-0", "p-1", "p-2"],
        "one ticket per finding, none lost"
    );
    assert_eq!(
        std::fs::metadata(dir.path().join(crate::pending::FILE))
            .unwrap()
            .len(),
        0
    );
    drop(tx);
    stage.await.unwrap().unwrap();
}
