//! The database the maintenance tests run on: SQLite in the test's directory, or, with
//! `FOREWARN_TEST_POSTGRES=1`, a database of its own on a PostgreSQL server this test process
//! starts on a free port (Debian's `initdb`/`postgres`; as the `postgres` user when run as root)
//! and a watchdog stops, with its files, when the process ends.

use std::path::Path;
use std::sync::OnceLock;

use sqlx::Connection;

use crate::Maintenance;

/// Whether the tests run on PostgreSQL.
pub(crate) fn postgres() -> bool {
    std::env::var("FOREWARN_TEST_POSTGRES").is_ok_and(|v| v == "1")
}

/// The maintenance database of the test using `dir`; opening the same `dir` again reaches the
/// same database (a restart).
pub(crate) async fn open(dir: &Path) -> Maintenance {
    if !postgres() {
        return Maintenance::open(dir).await.expect("open SQLite");
    }
    let base = server();
    // One database per test directory: its name from the directory's path.
    let name = format!("t_{:016x}", fnv(dir.to_string_lossy().as_bytes()));
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .expect("connect to the test server");
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut admin)
        .await
        .expect("look up the test database");
    if exists.is_none() {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create the test database");
    }
    admin.close().await.ok();
    Maintenance::connect(&format!("{base}/{name}"))
        .await
        .expect("connect to the test database")
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

/// `postgres://forewarn@127.0.0.1:PORT` of this process's server, started on first use.
fn server() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(start)
}

fn start() -> String {
    crate::pgserver::start_server("shared", &[], &[]).expect("start the test PostgreSQL server")
}
