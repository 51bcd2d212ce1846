//! `forewarn bench chaos`: a simulated fortnight published to a real, persistent Mosquitto while
//! what goes wrong on a plant happens to a running `forewarn run` — it is SIGKILLed, the broker
//! restarts, PostgreSQL (its tickets database) restarts, its data directory's disk (a tmpfs)
//! fills and frees, and hostile messages arrive: an oversized one, malformed ones, a flood of
//! births. Then it checks that every reading the broker acknowledged is stored exactly once, no
//! fault got two tickets, the service is up and ready, and each fault shows in `/metrics`.
//!
//! Everything runs as a user would run it (child processes of the same binary, real Mosquitto
//! and PostgreSQL on free ports). Root is needed to mount the tmpfs. The suite runs it at a small
//! size (`tests/tests/chaos.rs`).

mod checks;
mod faults;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use super::lifecycle::{Service, SimFleet, newest_clock, sim_report, wait_subscribed};
use crate::mosquitto::{Mosquitto, free_port};
use crate::tmpfs::Tmpfs;
use faults::Fault;

const DAY_MS: i64 = 86_400_000;
/// `[store] min_free_mb` of the service under test.
const MIN_FREE_MB: u64 = 32;

/// Settings of `forewarn bench chaos`.
#[derive(Debug, Clone, clap::Args)]
pub struct ChaosArgs {
    /// Simulated assets.
    #[arg(long, default_value_t = 12)]
    pub assets: usize,
    /// Simulated days.
    #[arg(long, default_value_t = 14)]
    pub days: u32,
    /// Seconds between an asset's samples.
    #[arg(long, default_value_t = 300)]
    pub interval_s: u64,
    /// Simulator seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Wall-clock seconds the simulated days are published over (the faults fall inside).
    #[arg(long, default_value_t = 180)]
    pub wall_s: u64,
    /// The `forewarn` binary to run (default: this one).
    #[arg(long)]
    pub binary: Option<PathBuf>,
}

/// One fault as it was injected.
#[derive(Debug, Clone, Serialize)]
pub struct Injected {
    /// Which.
    pub fault: &'static str,
    /// When, in simulated days since the start (the service's newest analysed reading).
    pub sim_day: f64,
    /// When, in wall-clock seconds since the start.
    pub wall_s: f64,
    /// What happened, in words.
    pub detail: String,
}

/// One check at the end.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What is checked.
    pub name: &'static str,
    /// Whether it held.
    pub ok: bool,
    /// The figures behind it.
    pub detail: String,
}

/// What a run found.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The faults, in order.
    pub schedule: Vec<Injected>,
    /// The checks.
    pub checks: Vec<Check>,
    /// Wall-clock seconds.
    pub wall_s: f64,
}

/// Runs the bench, prints the schedule, every check and the figures; fails when a check failed.
pub async fn chaos(args: ChaosArgs) -> anyhow::Result<()> {
    let out = run(&args).await?;
    eprintln!("fault schedule:");
    for i in &out.schedule {
        eprintln!(
            "  sim day {:>5.2}  wall {:>6.1} s  {:<9} {}",
            i.sim_day, i.wall_s, i.fault, i.detail
        );
    }
    eprintln!("checks:");
    for c in &out.checks {
        let mark = if c.ok { "ok  " } else { "FAIL" };
        eprintln!("  {mark} {}: {}", c.name, c.detail);
    }
    for c in &out.checks {
        println!(
            "{}",
            serde_json::json!({"name": format!("chaos_{}", c.name), "value": c.ok, "detail": c.detail})
        );
    }
    super::emit("chaos_faults", out.schedule.len() as f64, "faults");
    super::emit("chaos_wall", out.wall_s, "s");
    let failed = out.checks.iter().filter(|c| !c.ok).count();
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} checks failed",
        out.checks.len()
    );
    Ok(())
}

/// Everything the faults act on.
pub(super) struct Rig {
    bin: PathBuf,
    conf: PathBuf,
    http: SocketAddr,
    token_file: PathBuf,
    broker: Mosquitto,
    pg: forewarn_maintenance::pgserver::PgServer,
    db_url: String,
    fs: Tmpfs,
    service: Service,
    started: Instant,
}

impl Rig {
    async fn start(args: &ChaosArgs, scratch: &Path) -> anyhow::Result<Rig> {
        let fs = Tmpfs::mount(tmpfs_mib(args))?;
        let broker = Mosquitto::start_persistent()?;
        let pg = forewarn_maintenance::pgserver::PgServer::start("chaos")?;
        let db_url = pg.database("forewarn").await?;
        let db = forewarn_maintenance::Maintenance::connect(&db_url).await?;
        let token = db
            .create_token("chaos", forewarn_maintenance::Role::Admin)
            .await?;
        db.close().await;
        let token_file = scratch.join("chaos.token");
        std::fs::write(&token_file, token)?;
        let conf = scratch.join("forewarn.toml");
        std::fs::write(&conf, config_text(broker.port, args))?;
        let bin = match &args.binary {
            Some(b) => b.clone(),
            None => std::env::current_exe()?,
        };
        let http = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let env = [("FOREWARN_DATABASE_URL", db_url.as_str())];
        let service = Service::start_with_env(&bin, &conf, &fs.data_dir(), http, &env)?;
        wait_subscribed(http, &token_file, Duration::from_secs(60)).await?;
        Ok(Rig {
            bin,
            conf,
            http,
            token_file,
            broker,
            pg,
            db_url,
            fs,
            service,
            started: Instant::now(),
        })
    }

    /// `forewarn run` again after a kill.
    fn restart_service(&mut self) -> anyhow::Result<()> {
        let env = [("FOREWARN_DATABASE_URL", self.db_url.as_str())];
        self.service =
            Service::start_with_env(&self.bin, &self.conf, &self.fs.data_dir(), self.http, &env)?;
        Ok(())
    }
}

/// The tmpfs for the data directory: 128 MiB plus a generous 64 bytes a reading (the WAL is
/// trimmed at every flush of 20,000 points; Parquet and rollups take a few bytes a reading), at
/// least 256 MiB. It lives in memory.
fn tmpfs_mib(args: &ChaosArgs) -> u64 {
    let samples = u64::from(args.days) * 86_400 / args.interval_s.max(1);
    let readings = args.assets as u64 * 6 * samples;
    ((readings * 64) >> 20).saturating_add(128).max(256)
}

/// The service's configuration: assets capped at the fleet (so a flood of births is refused), a
/// disk floor, small flushes (the disk fault meets them), raw history kept for the whole span.
fn config_text(broker_port: u16, args: &ChaosArgs) -> String {
    format!(
        "[mqtt]\nport = {broker_port}\nclient_id = \"forewarn-chaos\"\n\n\
         [ingest]\nmax_assets = {}\n\n\
         [store]\nflush_points = 20000\nraw_retention_days = {}\nmin_free_mb = {MIN_FREE_MB}\n",
        args.assets,
        args.days + 30
    )
}

/// `forewarn simulate` as a child process, paced to `wall_s`, its report on standard output.
fn simulator(bin: &Path, args: &ChaosArgs, broker_port: u16) -> anyhow::Result<Child> {
    let speed = f64::from(args.days) * 86_400.0 / args.wall_s.max(1) as f64;
    let fleet = SimFleet {
        broker_port,
        assets: args.assets,
        days: args.days,
        interval_s: args.interval_s,
        seed: args.seed,
    };
    fleet
        .command(bin)
        .args(["--speed", &format!("{speed:.0}")])
        .args(["--client-id", "forewarn-chaos-fleet"])
        .spawn()
        .context("starting forewarn simulate")
}

/// Runs the fortnight with its faults and checks the outcome.
pub async fn run(args: &ChaosArgs) -> anyhow::Result<Outcome> {
    let scratch = tempfile::tempdir()?;
    let mut rig = Rig::start(args, scratch.path()).await?;
    let mut sim = simulator(&rig.bin, args, rig.broker.port)?;
    let span_ms = i64::from(args.days) * DAY_MS;
    let start_ms = crate::now_ms() - span_ms;
    let bar = super::bar(u64::from(args.days), "sim days");
    let mut schedule = Vec::new();
    let mut next = 0;
    while sim.try_wait()?.is_none() {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Some(clock) = newest_clock(rig.http, &rig.token_file).await else {
            continue;
        };
        bar.set_position(((clock - start_ms).max(0) / DAY_MS) as u64);
        if let Some((at, fault)) = Fault::SCHEDULE.get(next)
            && clock >= start_ms + (span_ms as f64 * at) as i64
        {
            let day = (clock - start_ms) as f64 / DAY_MS as f64;
            let injected = fault.inject(&mut rig, day).await?;
            bar.println(format!(
                "sim day {day:.2}: {} — {}",
                injected.fault, injected.detail
            ));
            schedule.push(injected);
            next += 1;
        }
    }
    bar.finish_and_clear();
    // A simulation that ended first still meets every fault.
    for (_, fault) in Fault::SCHEDULE.iter().skip(next) {
        schedule.push(fault.inject(&mut rig, f64::from(args.days)).await?);
    }
    let report = sim_report(sim)?;
    let checks = checks::all(&mut rig, &report).await?;
    Ok(Outcome {
        schedule,
        checks,
        wall_s: rig.started.elapsed().as_secs_f64(),
    })
}
