//! A PostgreSQL server of this process, for the tests and `forewarn bench chaos`: Debian's
//! `initdb`/`postgres` on a free port (as the `postgres` user when run as root), trust
//! authentication on loopback, a watchdog that stops it and removes its files when the process
//! ends, and — for outages — stop and restart on the same port and files.

use std::io::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::Connection;

/// The PostgreSQL binaries' directory.
pub fn bin_dir() -> Result<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        return Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    let missing = || Error::other("PostgreSQL is not installed (scripts/test.sh installs it)");
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| missing())?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("postgres").exists())
        .collect();
    found.sort();
    found.pop().ok_or_else(missing)
}

/// Runs `c`, failing with its standard error when it fails.
fn run(what: &str, c: &mut Command) -> Result<()> {
    let out = c.output()?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::other(format!(
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// The directory of this process's server `name`.
fn server_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("forewarn-pg-{}-{name}", std::process::id()))
}

/// Starts a server of this process named `name`, with `files` written into its directory
/// (owned by the server's user: keys must be) and `options` (`name=value`, read after the
/// files are there, so they may name them by path relative to the directory); its URL.
pub fn start_server(name: &str, files: &[(&str, String)], options: &[String]) -> Result<String> {
    let bin = bin_dir()?;
    let dir = server_dir(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    for (file, text) in files {
        let path = dir.join(file);
        std::fs::write(&path, text)?;
        set_private(&path)?;
    }
    let root = is_root();
    if root {
        run(
            "chown the server directory",
            Command::new("chown").args(["-R", "postgres:"]).arg(&dir),
        )?;
    }
    let data = dir.join("data");
    run(
        "initdb",
        as_user(&bin.join("initdb"))
            .args([
                "-U",
                "forewarn",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data),
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
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
    watchdog(&postgres, &data, &dir)?;
    wait_until_ready(&bin, port, &dir)?;
    Ok(format!("postgres://forewarn@127.0.0.1:{port}"))
}

/// Runs `postgres` under a shell that stops the server (whichever process holds its pid file
/// then: a restarted one too) and removes `dir` once this process is gone.
fn watchdog(postgres: &str, data: &Path, dir: &Path) -> Result<()> {
    let script = format!(
        "{postgres} >{log} 2>&1 & pg=$!; while kill -0 {parent} 2>/dev/null; do sleep 1; done; \
         kill -INT $(head -n 1 {data}/postmaster.pid) $pg 2>/dev/null; wait $pg; rm -rf {dir}",
        data = data.display(),
        log = dir.join("log").display(),
        parent = std::process::id(),
        dir = dir.display()
    );
    // Its own stdio: it outlives this process and must not hold its pipes open. Never waited
    // for, on purpose: it is meant to outlive us.
    #[allow(clippy::zombie_processes)]
    let _watchdog = Command::new("sh")
        .args(["-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false)
}

/// `program` as the server's user: PostgreSQL refuses to run as root, so its files and process
/// belong to `postgres` then.
fn as_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A server of its own that its user stops and starts again (a database outage).
pub struct PgServer {
    /// `postgres://forewarn@127.0.0.1:PORT`.
    pub url: String,
    dir: PathBuf,
    port: u16,
}

impl PgServer {
    /// Starts the server `name` of this process.
    pub fn start(name: &str) -> Result<Self> {
        let url = start_server(name, &[], &[])?;
        let port = url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| Error::other(format!("no port in {url}")))?;
        Ok(Self {
            url,
            dir: server_dir(name),
            port,
        })
    }

    /// The URL of its database `name` (letters, digits and `_`), created on first use.
    pub async fn database(&self, name: &str) -> std::result::Result<String, sqlx::Error> {
        let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", self.url)).await?;
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(name)
                .fetch_optional(&mut admin)
                .await?;
        if exists.is_none() {
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await?;
        }
        admin.close().await.ok();
        Ok(format!("{}/{name}", self.url))
    }

    /// Stops it (fast: sessions are cut, as in a crash or failover).
    pub fn stop(&self) -> Result<()> {
        self.pg_ctl(&["stop", "-m", "fast", "-w"])
    }

    /// Starts it again on the same port and files.
    pub fn restart(&self) -> Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        // `log` belongs to the watchdog (root, when run as root); the server writes its own.
        let log = self.dir.join("restarted.log").display().to_string();
        self.pg_ctl(&["start", "-w", "-l", &log, "-o", &options])?;
        wait_until_ready(&bin_dir()?, self.port, &self.dir)
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<()> {
        let data = self.dir.join("data");
        run(
            &format!("pg_ctl {args:?}"),
            as_user(&bin_dir()?.join("pg_ctl"))
                .arg("-D")
                .arg(&data)
                .args(args),
        )
    }
}

/// Readable by its owner alone (PostgreSQL refuses a key others may read).
fn set_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// Waits (30 s at most) until the server on `port` accepts sessions.
fn wait_until_ready(bin: &Path, port: u16, dir: &Path) -> Result<()> {
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
        if Instant::now() > deadline {
            return Err(Error::other(format!(
                "PostgreSQL did not start: {}",
                std::fs::read_to_string(dir.join("log")).unwrap_or_default()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
