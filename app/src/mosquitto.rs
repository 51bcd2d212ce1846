//! A Mosquitto broker on a free port, for the tests and `forewarn bench ingest`.
//!
//! Configured for at-least-once work: a large in-flight window and no limit on messages queued for
//! an offline persistent session (Mosquitto's default of 1000 drops the rest).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// A free TCP port on 127.0.0.1 (bound and released; good enough on one machine).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running Mosquitto, stopped on drop.
pub struct Mosquitto {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its TLS listener's port, when started with one.
    pub tls_port: Option<u16>,
    child: Child,
    dir: tempfile::TempDir,
    extra: String,
}

impl Mosquitto {
    /// Starts a broker on a free port and waits until it listens.
    pub fn start() -> anyhow::Result<Mosquitto> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let child = spawn(dir.path(), port, "")?;
        Ok(Mosquitto {
            port,
            tls_port: None,
            child,
            dir,
            extra: String::new(),
        })
    }

    /// Starts a broker on a free port with `extra` appended to its configuration (a plugin, an
    /// authentication setting).
    pub fn start_with(extra: &str) -> anyhow::Result<Mosquitto> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let child = spawn(dir.path(), port, extra)?;
        Ok(Mosquitto {
            port,
            tls_port: None,
            child,
            dir,
            extra: extra.to_string(),
        })
    }

    /// Starts a broker with, besides the plain listener, a TLS listener that presents `cert`
    /// and `key` and requires a client certificate signed by the CA in `ca`.
    pub fn start_tls(ca: &Path, cert: &Path, key: &Path) -> anyhow::Result<Mosquitto> {
        let dir = tempfile::tempdir()?;
        let (port, tls_port) = (free_port()?, free_port()?);
        // `user root`: the key files are the test's, readable by it alone.
        let extra = format!(
            "user root\nlistener {tls_port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\n\
             require_certificate true\n",
            ca.display(),
            cert.display(),
            key.display()
        );
        let child = spawn(dir.path(), port, &extra)?;
        Ok(Mosquitto {
            port,
            tls_port: Some(tls_port),
            child,
            dir,
            extra,
        })
    }

    /// Starts a broker that keeps its sessions and queued messages across a graceful restart
    /// (written to its directory at shutdown and every second), as a plant's broker does.
    pub fn start_persistent() -> anyhow::Result<Mosquitto> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let extra = format!(
            "user root\npersistence true\npersistence_location {}/\nautosave_interval 1\n",
            dir.path().display()
        );
        let child = spawn(dir.path(), port, &extra)?;
        Ok(Mosquitto {
            port,
            tls_port: None,
            child,
            dir,
            extra,
        })
    }

    /// Stops the broker as an operator does (SIGTERM: a persistent broker saves its sessions)
    /// and starts it again on the same port.
    pub fn restart_graceful(&mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        self.child = spawn(self.dir.path(), self.port, &self.extra)?;
        Ok(())
    }

    /// Kills the broker (its sessions and queued messages go with it: persistence is off) and
    /// starts a fresh one on the same port.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(self.dir.path(), self.port, &self.extra)?;
        Ok(())
    }
}

/// Writes the configuration, starts Mosquitto and waits until it listens.
fn spawn(dir: &Path, port: u16, extra: &str) -> anyhow::Result<Child> {
    let bin = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .context(
            "mosquitto is not installed: run scripts/test.sh once, or apt-get install mosquitto",
        )?;
    let conf = dir.join("mosquitto.conf");
    // Persistence is off unless `extra` turns it on (an option given twice is refused).
    let persistence = if extra.contains("persistence true") {
        ""
    } else {
        "persistence false\n"
    };
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\n{persistence}max_inflight_messages 1000\n\
             max_queued_messages 0\nmax_queued_bytes 0\nlog_dest stderr\nlog_type error\n{extra}"
        ),
    )?;
    let mut child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .spawn()
        .context("starting mosquitto")?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(100),
    )
    .is_err()
    {
        if Instant::now() > deadline || child.try_wait()?.is_some() {
            let _ = child.kill();
            anyhow::bail!("mosquitto did not listen on port {port}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(child)
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
