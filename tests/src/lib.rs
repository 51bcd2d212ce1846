//! End-to-end test harness: real Mosquitto on a free port, the Forewarn service in-process or as
//! a child process, and the seeded simulator.
//!
//! Mosquitto must be installed (the README's test command installs it from Debian's packages).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use forewarn::config::Config;
use forewarn::service::{self, Handle, ServiceSpec};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

pub use forewarn::mosquitto::{Mosquitto, free_port};

pub mod pki;
pub mod replay;

/// A service configuration for a broker port and client id.
pub fn config(port: u16, client_id: &str) -> Config {
    let mut c = Config::default();
    c.mqtt.port = port;
    c.mqtt.client_id = Some(client_id.into());
    // Small enough that every test run flushes to Parquet many times.
    c.store.flush_points = 50_000;
    c
}

/// The service running in-process.
pub struct InProcess {
    /// What it exposes.
    pub handle: Handle,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl InProcess {
    /// Starts the service on `data_dir` and waits until it listens and holds its MQTT
    /// subscription.
    pub async fn start(config: Config, data_dir: &Path) -> InProcess {
        let svc = Self::listening(config, data_dir).await;
        // Ready means listening; wait for the MQTT subscription too, or early messages would be missed.
        let m = svc.handle.metrics.clone();
        assert!(
            eventually(Duration::from_secs(15), async || m.mqtt_subscribed.get()
                == 1)
            .await,
            "service never subscribed"
        );
        svc
    }

    /// Starts the service on `data_dir` and waits until it listens (not for the broker).
    pub async fn listening(config: Config, data_dir: &Path) -> InProcess {
        let shutdown = CancellationToken::new();
        let (tx, rx) = oneshot::channel();
        let spec = ServiceSpec {
            config,
            data_dir: data_dir.to_path_buf(),
            http: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let task = tokio::spawn(service::run(spec, shutdown.clone(), Some(tx)));
        let handle = match rx.await {
            Ok(h) => h,
            Err(_) => panic!("service failed to start: {:?}", task.await),
        };
        InProcess {
            handle,
            shutdown,
            task,
        }
    }

    /// Waits up to `timeout` for the service to stop by itself (a failed stage); its result, or
    /// `None` when it kept running (it is then stopped).
    pub async fn finished(self, timeout: Duration) -> Option<anyhow::Result<()>> {
        let mut task = self.task;
        match tokio::time::timeout(timeout, &mut task).await {
            Ok(joined) => Some(joined.unwrap_or_else(|e| Err(e.into()))),
            Err(_) => {
                self.shutdown.cancel();
                let _ = task.await;
                None
            }
        }
    }

    /// Stops the service gracefully and returns its result.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await?
    }
}

/// Polls `f` until it returns true or `timeout` passes; returns whether it became true.
pub async fn eventually(timeout: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits up to `timeout` until the service's store holds exactly `want` distinct points, and
/// fails the test with the count it reached otherwise.
pub async fn assert_stored(h: &Handle, want: u64, timeout: Duration) {
    let reached = eventually(timeout, async || {
        h.store.stats().await.is_ok_and(|s| s.points == want)
    })
    .await;
    let points = h.store.stats().await.map(|s| s.points);
    assert!(reached, "stored {points:?} of {want} readings");
}

/// The `forewarn` binary built beside this test binary (`cargo build --bin forewarn` first, as the
/// test command does), or `FOREWARN_BIN`.
pub fn forewarn_bin() -> PathBuf {
    if let Ok(p) = std::env::var("FOREWARN_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("forewarn");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --bin forewarn` before the tests (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// Creates the persistent MQTT session `client_id` with a QoS 1 subscription to `filter`, so the
/// broker queues every message for it even before the service first connects. A connection the
/// broker resets (it can, right after it started or while it is busy) is retried a few times.
pub async fn create_session(port: u16, client_id: &str, filter: &str) {
    let mut last = String::new();
    for attempt in 0..5 {
        match try_create_session(port, client_id, filter).await {
            Ok(()) => return,
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(200 * (attempt + 1))).await;
    }
    panic!("creating the session failed five times, last: {last}");
}

async fn try_create_session(port: u16, client_id: &str, filter: &str) -> Result<(), String> {
    let mut opts = rumqttc::MqttOptions::new(client_id, "127.0.0.1", port);
    opts.set_clean_session(false);
    let (client, mut eventloop) = rumqttc::AsyncClient::new(opts, 10);
    client
        .subscribe(filter, rumqttc::QoS::AtLeastOnce)
        .await
        .map_err(|e| e.to_string())?;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await {
            Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_)))) => break,
            Ok(Ok(_)) => {}
            other => return Err(format!("{other:?}")),
        }
    }
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(2), eventloop.poll()).await;
    Ok(())
}

/// The service as a child process (`forewarn run`), for tests that kill it.
pub struct ServiceProcess {
    child: Child,
}

impl ServiceProcess {
    /// Starts `forewarn run` with a config file written into `dir` and data in `dir/data`.
    pub fn start(dir: &Path, broker_port: u16) -> ServiceProcess {
        Self::start_with_env(dir, broker_port, &[])
    }

    /// As [`ServiceProcess::start`], with extra environment variables (crash points).
    pub fn start_with_env(dir: &Path, broker_port: u16, env: &[(&str, &str)]) -> ServiceProcess {
        let config = format!(
            "[mqtt]\nport = {broker_port}\nclient_id = \"forewarn-crash-test\"\n\n\
             # Small, so the kills also land during flushes to Parquet.\n[store]\nflush_points = 20000\n"
        );
        Self::start_config(dir, &config, "127.0.0.1:0", env)
    }

    /// `forewarn run` with the configuration `config` (written to `dir/forewarn.toml`), data in
    /// `dir/data`, the API on `http`.
    pub fn start_config(
        dir: &Path,
        config: &str,
        http: &str,
        env: &[(&str, &str)],
    ) -> ServiceProcess {
        let conf = dir.join("forewarn.toml");
        std::fs::write(&conf, config).expect("write config");
        let child = Command::new(forewarn_bin())
            .args(["run", "--config"])
            .arg(&conf)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(["--http", http])
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn forewarn");
        ServiceProcess { child }
    }

    /// Waits up to `timeout` for the process to exit by itself; its status if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for the graceful exit; returns whether it exited successfully.
    pub fn terminate(mut self) -> bool {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A GET over plain HTTP/1.1 to the service's API: the status code and the body.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    http_send(addr, "GET", path, None, "").await
}

/// A request with an optional bearer token and JSON body over plain HTTP/1.1: the status code
/// and the body.
pub async fn http_send(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    forewarn::http1::request(addr, method, path, &headers, body)
        .await
        .expect("talk to the API")
}

/// `forewarn token create --role ROLE --name NAME --data-dir DATA`, as an administrator runs it:
/// the token printed.
pub fn create_token(data: &Path, role: &str, name: &str) -> String {
    let out = Command::new(forewarn_bin())
        .args([
            "token",
            "create",
            "--role",
            role,
            "--name",
            name,
            "--data-dir",
        ])
        .arg(data)
        .output()
        .expect("run forewarn token create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("a token is text")
        .trim()
        .to_owned()
}

/// Waits up to 30 s for a service's API to answer `/healthz`.
pub async fn wait_for_api(addr: std::net::SocketAddr) {
    let up = eventually(Duration::from_secs(30), async || {
        tokio::net::TcpStream::connect(addr).await.is_ok()
            && http_get(addr, "/healthz").await.0 == 200
    })
    .await;
    assert!(up, "the API on {addr} did not come up");
}
