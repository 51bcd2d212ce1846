//! An InfluxDB 1.x server (Debian's `influxd`) on free ports, for the tests and benchmarks.
//!
//! The server keeps its data in a temporary directory that outlives [`Influxd::stop`], so a test
//! can stop and restart it mid-stream on the same port and find its data again.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::mosquitto::free_port;

/// A running (or stopped) InfluxDB; killed on drop.
pub struct Influxd {
    /// HTTP port on 127.0.0.1.
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// Certificate and key of its HTTPS listener, when it serves https.
    tls: Option<(PathBuf, PathBuf)>,
    /// Whether requests must sign in (users made with `CREATE USER`; the first admin may be
    /// made without signing in).
    auth: bool,
}

fn binary() -> anyhow::Result<&'static str> {
    ["/usr/bin/influxd", "/usr/sbin/influxd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .context("influxd is not installed: run scripts/test.sh once, or apt-get install influxdb")
}

impl Influxd {
    /// Starts a server on a free port and waits until it answers.
    pub fn start() -> anyhow::Result<Influxd> {
        Self::start_with(None)
    }

    /// Starts a server that serves https only, with the certificate `cert` (for `localhost`) and
    /// its key.
    pub fn start_tls(cert: &Path, key: &Path) -> anyhow::Result<Influxd> {
        Self::start_with(Some((cert.to_path_buf(), key.to_path_buf())))
    }

    /// Starts a server that requires signing in and has no user yet.
    pub fn start_with_auth() -> anyhow::Result<Influxd> {
        Self::start_with_options(None, true)
    }

    fn start_with(tls: Option<(PathBuf, PathBuf)>) -> anyhow::Result<Influxd> {
        Self::start_with_options(tls, false)
    }

    fn start_with_options(tls: Option<(PathBuf, PathBuf)>, auth: bool) -> anyhow::Result<Influxd> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let mut s = Influxd {
            port,
            child: None,
            dir,
            tls,
            auth,
        };
        s.restart()?;
        Ok(s)
    }

    /// The base URL (`https://localhost:…` when it serves https: the name its certificate
    /// carries).
    pub fn url(&self) -> String {
        match self.tls {
            Some(_) => format!("https://localhost:{}", self.port),
            None => format!("http://127.0.0.1:{}", self.port),
        }
    }

    /// Stops the server (SIGKILL: the harshest outage; InfluxDB's own WAL keeps what it accepted).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// (Re)starts the server on the same port and data, and waits until it answers.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        let d = self.dir.path();
        // The RPC port is only for backups; it must still be free.
        let rpc = free_port()?;
        let conf = d.join("influxdb.conf");
        let https = match &self.tls {
            Some((cert, key)) => format!(
                "  https-enabled = true\n  https-certificate = \"{}\"\n  https-private-key = \"{}\"\n",
                cert.display(),
                key.display()
            ),
            None => String::new(),
        };
        let auth = if self.auth {
            "  auth-enabled = true\n"
        } else {
            ""
        };
        std::fs::write(
            &conf,
            format!(
                "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
                 [meta]\n  dir = \"{0}/meta\"\n\
                 [data]\n  dir = \"{0}/data\"\n  wal-dir = \"{0}/wal\"\n  query-log-enabled = false\n\
                 [http]\n  bind-address = \"127.0.0.1:{1}\"\n  log-enabled = false\n{https}{auth}\
                 [monitor]\n  store-enabled = false\n\
                 [continuous_queries]\n  enabled = false\n",
                d.display(),
                self.port
            ),
        )?;
        let log = std::fs::File::create(d.join("influxd.log"))?;
        let child = Command::new(binary()?)
            .arg("run")
            .arg("-config")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting influxd")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            let exited = match self.child.as_mut() {
                Some(c) => c.try_wait()?.is_some(),
                None => true,
            };
            if Instant::now() > deadline || exited {
                let log = std::fs::read_to_string(d.join("influxd.log")).unwrap_or_default();
                anyhow::bail!("influxd did not listen on port {}: {log}", self.port);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for Influxd {
    fn drop(&mut self) {
        self.stop();
    }
}
