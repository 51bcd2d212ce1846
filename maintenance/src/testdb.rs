//! The database the maintenance tests run on: SQLite in the test's directory, or, with
//! `FOREWARN_TEST_POSTGRES=1`, a database of its own on a PostgreSQL server this test process
//! starts on a free port (Debian's `initdb`/`postgres`; as the `postgres` user when run as root)
//! and a watchdog stops, with its files, when the process ends.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

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

/// The PostgreSQL binaries' directory.
fn bin_dir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        return PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed (scripts/test.sh installs it)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("postgres").exists())
        .collect();
    found.sort();
    found.pop().expect("no PostgreSQL server binaries")
}

/// `postgres://forewarn@127.0.0.1:PORT` of this process's server, started on first use.
fn server() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(start)
}

fn start() -> String {
    start_server("shared", &[], &[])
}

/// Starts a server of this test process named `name`, with `files` written into its directory
/// (owned by the server's user: keys must be) and `options` (`name=value`, read after the
/// files are there, so they may name them by path relative to the directory); its URL.
pub(crate) fn start_server(name: &str, files: &[(&str, String)], options: &[String]) -> String {
    let bin = bin_dir();
    let dir = std::env::temp_dir().join(format!("forewarn-pg-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("server directory");
    for (file, text) in files {
        let path = dir.join(file);
        std::fs::write(&path, text).expect("server file");
        set_private(&path);
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    // PostgreSQL refuses to run as root: its files and process belong to `postgres` then.
    let as_user = |program: &Path| -> Command {
        if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    };
    if root {
        let ok = Command::new("chown")
            .args(["-R", "postgres:"])
            .arg(&dir)
            .status();
        assert!(ok.is_ok_and(|s| s.success()), "chown the server directory");
    }
    let data = dir.join("data");
    let out = as_user(&bin.join("initdb"))
        .args([
            "-U",
            "forewarn",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "-D",
        ])
        .arg(&data)
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    // The watchdog: the server lives while this test process does.
    let extra: String = options
        .iter()
        .map(|o| format!(" -c {}", o.replace("{dir}", &dir.display().to_string())))
        .collect();
    let postgres = format!(
        "{} {}/postgres -D {} -p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200{extra}",
        if root { "runuser -u postgres --" } else { "" },
        bin.display(),
        data.display(),
        dir.display()
    );
    let script = format!(
        "{postgres} >{log} 2>&1 & pg=$!; while kill -0 {parent} 2>/dev/null; do sleep 1; done; \
         kill -INT $(head -n 1 {data}/postmaster.pid) $pg 2>/dev/null; wait $pg; rm -rf {dir}",
        data = data.display(),
        log = dir.join("log").display(),
        parent = std::process::id(),
        dir = dir.display()
    );
    // Its own stdio: it outlives the test process and must not hold its pipes open. Never
    // waited for, on purpose: it is meant to outlive us.
    #[allow(clippy::zombie_processes)]
    let _watchdog = Command::new("sh")
        .args(["-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the PostgreSQL watchdog");
    wait_until_ready(&bin, port, &dir);
    format!("postgres://forewarn@127.0.0.1:{port}")
}

/// Readable by its owner alone (PostgreSQL refuses a key others may read).
fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}

/// Waits (30 s at most) until the server on `port` accepts sessions.
fn wait_until_ready(bin: &Path, port: u16, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    // Accepting connections is not being ready: while it starts up the server refuses them
    // (57P03). `pg_isready` says when it accepts sessions.
    let ready = || {
        Command::new(bin.join("pg_isready"))
            .args([
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "forewarn",
            ])
            .status()
            .is_ok_and(|s| s.success())
    };
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "PostgreSQL did not start: {}",
            std::fs::read_to_string(dir.join("log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
