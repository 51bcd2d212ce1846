//! `forewarn bench lifecycle`: a fleet's simulated year — faults by hazard, repeat failures, a
//! crew working every ticket through the API, the service SIGKILLed and restarted along the way
//! — scored against the simulator's ground truth ([`crate::lifecycle::score`]).
//!
//! Everything runs as a user would run it: Mosquitto on a free port, `forewarn run --config C`
//! as a child process, `forewarn simulate --crew URL --crew-token-file F` as another, both from
//! the same binary. The suite's year test runs this at a small size.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use forewarn_simulators::SimReport;
use serde_json::Value;

use crate::lifecycle::{Figures, TicketRow};
use crate::mosquitto::{Mosquitto, free_port};

const DAY_MS: i64 = 86_400_000;

/// Settings of `forewarn bench lifecycle`.
#[derive(Debug, Clone, clap::Args)]
pub struct LifecycleArgs {
    /// Simulated assets.
    #[arg(long, default_value_t = 40)]
    pub assets: usize,
    /// Simulated days.
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    /// Seconds between two samples of an asset.
    #[arg(long, default_value_t = 300)]
    pub interval_s: u32,
    /// Seed of the fleet and its faults.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// SIGKILLs of the service, evenly spread over the simulated span.
    #[arg(long, default_value_t = 2)]
    pub restarts: u32,
    /// Hours of simulated time between two looks of the crew at the tickets.
    #[arg(long, default_value_t = 1)]
    pub crew_every_h: u32,
    /// The sensors' warm-up, hours (default: the service's). A warm-up longer than the span
    /// turns prediction off: every fault runs to failure and the crew reports it — reactive
    /// maintenance, for comparison.
    #[arg(long)]
    pub warmup_hours: Option<f64>,
    /// The `forewarn` binary to run (default: this one).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Keep the data here instead of a temporary folder.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Draw the year (faults, tickets, repairs per asset) into this SVG file.
    #[arg(long)]
    pub chart: Option<PathBuf>,
    /// Machines stop and start: mean run and mean standstill, `RUN/STOP` (`8h/2h`), and the mean
    /// time between speed set-point changes, `RUN/STOP/SET` (`8h/2h/2d`).
    #[arg(long)]
    pub duty: Option<String>,
}

/// What a year gave.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Scored against the ground truth.
    pub figures: Figures,
    /// The service's own KPIs at the end (`GET /api/v1/kpis`).
    pub kpis: Value,
    /// The simulator's report.
    pub report: SimReport,
    /// Every ticket.
    pub tickets: Vec<TicketRow>,
    /// SIGKILLs done.
    pub restarts: u32,
    /// Wall time of the whole run.
    pub wall_s: f64,
}

/// Runs the benchmark and prints the figures: a table on standard error, one JSON object per
/// figure on standard output.
pub async fn lifecycle(args: LifecycleArgs) -> anyhow::Result<()> {
    let out = run(&args).await?;
    eprintln!("{}", crate::lifecycle::table(&out.figures));
    for t in crate::lifecycle::false_ticket_rows(&out.report, &out.tickets) {
        let day = (t.detected_at_ms - out.report.sim_start_ms) as f64 / 86_400_000.0;
        eprintln!(
            "false ticket #{} {} {} (day {day:.1})",
            t.id, t.asset_id, t.failure_mode
        );
    }
    if let Some(path) = &args.chart {
        let svg =
            crate::lifecycle::chart::svg(&out.report, &out.tickets).map_err(anyhow::Error::msg)?;
        std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("chart: {}", path.display());
    }
    let f = serde_json::to_value(&out.figures)?;
    for (name, value) in f.as_object().into_iter().flatten() {
        if let Some(v) = value.as_f64() {
            super::emit(&format!("lifecycle_{name}"), v, "");
        }
    }
    super::emit("lifecycle_restarts", f64::from(out.restarts), "SIGKILLs");
    super::emit("lifecycle_wall", out.wall_s, "s");
    println!(
        "{}",
        serde_json::json!({"name": "lifecycle_kpis", "value": out.kpis})
    );
    Ok(())
}

/// Runs a year as set out in `args`.
pub async fn run(args: &LifecycleArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let temp = tempfile::tempdir()?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let bin = match &args.binary {
        Some(b) => b.clone(),
        None => std::env::current_exe()?,
    };
    let broker = Mosquitto::start()?;
    let http = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let config = config_text(broker.port, args.days, args.warmup_hours);
    let conf = dir.join("forewarn.toml");
    std::fs::write(&conf, config)?;
    let token_file = dir.join("crew.token");
    crate::token::create_quiet(
        &dir.join("data"),
        "sim-crew",
        forewarn_maintenance::Role::Admin,
    )
    .await
    .and_then(|t| Ok(std::fs::write(&token_file, t)?))?;
    let mut service = Service::start(&bin, &conf, &dir.join("data"), http)?;
    wait_subscribed(http, &token_file, Duration::from_secs(60)).await?;
    let mut sim = simulator(&bin, args, broker.port, http, &token_file)?;
    let (start_ms, span_ms) = (
        crate::now_ms() - i64::from(args.days) * DAY_MS,
        i64::from(args.days) * DAY_MS,
    );
    let bar = super::bar(u64::from(args.days), "sim days");
    let mut restarts = 0;
    while sim.try_wait()?.is_none() {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Some(clock) = newest_clock(http, &token_file).await else {
            continue;
        };
        bar.set_position(((clock - start_ms).max(0) / DAY_MS) as u64);
        let due = start_ms + span_ms * i64::from(restarts + 1) / i64::from(args.restarts + 1);
        if restarts < args.restarts && clock >= due {
            service.kill();
            service = Service::start(&bin, &conf, &dir.join("data"), http)?;
            restarts += 1;
            bar.println(format!(
                "service SIGKILLed and restarted at sim day {}",
                (clock - start_ms) / DAY_MS
            ));
        }
    }
    bar.finish_and_clear();
    let report = sim_report(sim)?;
    let tickets = all_tickets(http, &token_file).await?;
    let kpis = get_json(http, "/api/v1/kpis", &token_file).await?;
    service.terminate();
    Ok(Outcome {
        figures: crate::lifecycle::score(&report, &tickets),
        kpis,
        report,
        tickets,
        restarts,
        wall_s: started.elapsed().as_secs_f64(),
    })
}

/// The service's configuration: the broker, and raw history kept for the whole span so a
/// restart replays it (until detector checkpoints make that unnecessary).
fn config_text(broker_port: u16, days: u32, warmup_hours: Option<f64>) -> String {
    let mut c = format!(
        "[mqtt]\nport = {broker_port}\nclient_id = \"forewarn-lifecycle\"\n\n\
         [store]\nflush_points = 200000\nraw_retention_days = {}\n",
        days + 30
    );
    if let Some(h) = warmup_hours {
        c.push_str(&format!("\n[analytics]\nwarmup_hours = {h:?}\n"));
    }
    c
}

/// `forewarn run` as a child process.
pub(super) struct Service(Child);

impl Service {
    pub(super) fn start(
        bin: &Path,
        conf: &Path,
        data: &Path,
        http: SocketAddr,
    ) -> anyhow::Result<Self> {
        Self::start_with_env(bin, conf, data, http, &[])
    }

    /// As [`Service::start`], with `env` set for the child (a database URL).
    pub(super) fn start_with_env(
        bin: &Path,
        conf: &Path,
        data: &Path,
        http: SocketAddr,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let child = Command::new(bin)
            .args(["run", "--config"])
            .arg(conf)
            .arg("--data-dir")
            .arg(data)
            .args(["--http", &http.to_string()])
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .context("starting forewarn run")?;
        Ok(Self(child))
    }

    pub(super) fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    pub(super) fn terminate(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let _ = self.0.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The fleet a `forewarn simulate` child publishes.
pub(super) struct SimFleet {
    pub broker_port: u16,
    pub assets: usize,
    pub days: u32,
    pub interval_s: u64,
    pub seed: u64,
}

impl SimFleet {
    /// `forewarn simulate` for this fleet, quiet, its report on standard output; the caller adds
    /// the rest and spawns it.
    pub(super) fn command(&self, bin: &Path) -> Command {
        let mut c = Command::new(bin);
        c.arg("simulate")
            .args(["--broker", &format!("127.0.0.1:{}", self.broker_port)])
            .args(["--assets", &self.assets.to_string()])
            .args(["--duration", &format!("{}d", self.days)])
            .args(["--interval", &format!("{}s", self.interval_s)])
            .args(["--seed", &self.seed.to_string()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped());
        c
    }
}

/// `forewarn simulate --crew …` as a child process, its report on standard output.
fn simulator(
    bin: &Path,
    args: &LifecycleArgs,
    broker_port: u16,
    http: SocketAddr,
    token_file: &Path,
) -> anyhow::Result<Child> {
    let fleet = SimFleet {
        broker_port,
        assets: args.assets,
        days: args.days,
        interval_s: u64::from(args.interval_s),
        seed: args.seed,
    };
    fleet
        .command(bin)
        .args(["--crew", &format!("http://{http}")])
        .arg("--crew-token-file")
        .arg(token_file)
        .args(["--crew-every", &format!("{}h", args.crew_every_h)])
        .args(["--client-id", "forewarn-lifecycle-fleet"])
        .args(args.duty.iter().flat_map(|d| ["--duty", d.as_str()]))
        .spawn()
        .context("starting forewarn simulate")
}

pub(super) fn sim_report(sim: Child) -> anyhow::Result<SimReport> {
    let out = sim.wait_with_output()?;
    anyhow::ensure!(
        out.status.success(),
        "forewarn simulate failed: {}",
        out.status
    );
    let text = String::from_utf8(out.stdout)?;
    let line = text
        .lines()
        .last()
        .context("forewarn simulate printed no report")?;
    serde_json::from_str(line).context("reading the simulator's report")
}

pub(super) async fn get_json(
    http: SocketAddr,
    path: &str,
    token_file: &Path,
) -> anyhow::Result<Value> {
    let token = std::fs::read_to_string(token_file)?;
    let auth = format!("Bearer {}", token.trim());
    let (status, body) =
        crate::http1::request(http, "GET", path, &[("Authorization", auth.as_str())], "").await?;
    anyhow::ensure!(status == 200, "GET {path}: {status} {body}");
    Ok(serde_json::from_str(&body)?)
}

/// Every ticket, page by page.
pub(super) async fn all_tickets(
    http: SocketAddr,
    token_file: &Path,
) -> anyhow::Result<Vec<TicketRow>> {
    let mut all: Vec<TicketRow> = Vec::new();
    loop {
        let before = all
            .last()
            .map(|t| format!("&before={}", t.id))
            .unwrap_or_default();
        let page = get_json(
            http,
            &format!("/api/v1/tickets?status=all&limit=1000{before}"),
            token_file,
        )
        .await?;
        let page: Vec<TicketRow> = serde_json::from_value(page)?;
        let done = page.len() < 1000;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

/// The newest analysed reading of any asset, if the service answers.
pub(super) async fn newest_clock(http: SocketAddr, token_file: &Path) -> Option<i64> {
    let v = get_json(http, "/api/v1/pipeline", token_file).await.ok()?;
    v["analysed_through_ms"]
        .as_object()?
        .values()
        .filter_map(Value::as_i64)
        .max()
}

/// Waits until the service holds its MQTT subscription.
pub(super) async fn wait_subscribed(
    http: SocketAddr,
    token_file: &Path,
    timeout: Duration,
) -> anyhow::Result<()> {
    let auth = format!("Bearer {}", std::fs::read_to_string(token_file)?.trim());
    let headers = [("Authorization", auth.as_str())];
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok((200, body)) = crate::http1::request(http, "GET", "/metrics", &headers, "").await
            && body.lines().any(|l| l == "forewarn_mqtt_subscribed 1")
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!(
        "the service did not subscribe within {} s",
        timeout.as_secs()
    )
}
