//! `forewarn bench dashboards`: how long the pages take, served by the real service over HTTP
//! with a signed-in session, as a browser asks for them.
//!
//! The store is filled first — a seeded fleet of `--assets` assets sampled every minute for
//! `--days`, plus one pump sampled every second for `--week-days` — then flushed to Parquet (with
//! its rollups) as a running service would have done. The service then starts on that directory
//! (its start-up replay teaches the detectors every asset's history, so the fleet page shows
//! judged health), and each page is fetched `--runs` times: the fleet page, the 1 Hz pump's page
//! over 7 days (rollups) and over 1 hour (raw points), the ticket board and the inventory.
//! Figures are the median and the slowest run, in ms, and the page size; with `--browser`, the
//! fleet and week pages are also timed in headless Chromium up to their first painted frame.

use std::time::{Duration, Instant};

use anyhow::Context;
use forewarn_maintenance::Role;
use forewarn_simulators::{Fleet, FleetConfig};
use forewarn_store::{OpenMode, Store, StoreOptions};
use tokio_util::sync::CancellationToken;

use super::fill::fill;
use super::{DAY_MS, emit};
use crate::config::Config;
use crate::service::{self, ServiceSpec};

/// Settings of `forewarn bench dashboards`.
#[derive(Debug, clap::Args)]
pub struct DashboardBenchArgs {
    /// Assets on the fleet page (6 sensors each, one sample a minute).
    #[arg(long, default_value_t = 1000)]
    pub assets: usize,
    /// Days of the fleet's history.
    #[arg(long, default_value_t = 2)]
    pub days: i64,
    /// Days of the 1 Hz pump's history.
    #[arg(long, default_value_t = 7)]
    pub week_days: i64,
    /// Fetches of each page.
    #[arg(long, default_value_t = 10)]
    pub runs: usize,
    /// Also time the pages in this Chromium (headless): request to first frame after load.
    #[arg(long)]
    pub browser: Option<std::path::PathBuf>,
}

/// The 1 Hz pump's id.
const WEEK_ASSET: &str = "pump-1hz";
/// Median and slowest of `runs` fetches of `path`, and the page's size.
async fn time_page(
    addr: std::net::SocketAddr,
    cookie: &str,
    path: &str,
    runs: usize,
    name: &str,
) -> anyhow::Result<()> {
    let mut ms = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let (status, body) =
            crate::http1::request(addr, "GET", path, &[("Cookie", cookie)], "").await?;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(status == 200, "{path}: {status} {body}");
        bytes = body.len();
    }
    ms.sort_by(f64::total_cmp);
    emit(&format!("{name}_median"), ms[ms.len() / 2], "ms");
    emit(&format!("{name}_max"), ms[ms.len() - 1], "ms");
    emit(&format!("{name}_bytes"), bytes as f64, "bytes");
    Ok(())
}

/// Runs the dashboard benchmark.
pub async fn dashboards(args: DashboardBenchArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let now = crate::now_ms();
    let fleet = Fleet::new(FleetConfig::ending_at(
        11,
        args.assets,
        now,
        args.days * DAY_MS,
    ))
    .context("building the benchmark fleet")?;
    let mut week_cfg = FleetConfig::ending_at(12, 1, now, args.week_days * DAY_MS);
    week_cfg.interval_ms = 1000;
    let week = Fleet::new(week_cfg)?;
    let started = Instant::now();
    {
        // Flushes as the service would, so the week is in Parquet with its rollups.
        let opts = StoreOptions::default();
        let (store, _) = Store::open_with(dir.path(), OpenMode::ReadWrite, opts)?;
        let n = fill(&store, fleet, str::to_owned, "fleet")?;
        emit("fleet_readings", n as f64, "readings");
        let n = fill(&store, week, |_| WEEK_ASSET.to_owned(), "1 Hz pump")?;
        emit("week_asset_readings", n as f64, "readings");
        store.flush()?;
    }
    emit("fill_store", started.elapsed().as_secs_f64(), "s");

    let broker = std::net::SocketAddr::from(([127, 0, 0, 1], crate::mosquitto::free_port()?));
    tokio::task::spawn_blocking(move || forewarn_ingest::broker::start_embedded(broker)).await??;
    let mut config = Config::default();
    config.mqtt.port = broker.port();
    let shutdown = CancellationToken::new();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let started = Instant::now();
    let spec = ServiceSpec {
        config,
        data_dir: dir.path().to_path_buf(),
        http: "127.0.0.1:0".parse()?,
    };
    let service = tokio::spawn(service::run(spec, shutdown.clone(), Some(ready_tx)));
    let handle = ready_rx.await.context("the service did not start")?;
    let addr = handle.http_addr;
    let viewer = handle.db.create_token("bench-viewer", Role::Viewer).await?;
    let auth = format!("Bearer {viewer}");
    // The detectors answer once the start-up replay is done.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let path = format!("/api/v1/assets/{WEEK_ASSET}/health");
        let headers = [("Authorization", auth.as_str())];
        let (status, _) = crate::http1::request(addr, "GET", &path, &headers, "").await?;
        if status == 200 {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "analytics did not answer in 10 min"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    emit(
        "service_start_with_replay",
        started.elapsed().as_secs_f64(),
        "s",
    );
    let token = handle.db.create_token("bench", Role::Admin).await?;
    let (session, _) = handle
        .db
        .start_session(&token)
        .await?
        .context("the bench token was refused")?;
    let cookie = format!("forewarn_session={session}");
    let runs = args.runs;
    time_page(addr, &cookie, "/", runs, "fleet_page").await?;
    let week_path = format!("/ui/assets/{WEEK_ASSET}");
    time_page(
        addr,
        &cookie,
        &format!("{week_path}?range=7d"),
        runs,
        "asset_page_7d_1hz",
    )
    .await?;
    time_page(
        addr,
        &cookie,
        &format!("{week_path}?range=1h"),
        runs,
        "asset_page_1h_raw",
    )
    .await?;
    time_page(addr, &cookie, "/ui/tickets", runs, "board_page").await?;
    time_page(addr, &cookie, "/ui/inventory", runs, "inventory_page").await?;
    if let Some(chromium) = &args.browser {
        let pages = [
            ("fleet_page", "/".to_owned()),
            ("asset_page_7d_1hz", format!("{week_path}?range=7d")),
        ];
        let once = handle
            .db
            .signin_link(&token)
            .await?
            .context("no sign-in link")?;
        super::browser::page_times(chromium, &format!("http://{addr}"), &once, &pages, runs)
            .await?;
    }
    shutdown.cancel();
    service.await??;
    Ok(())
}
