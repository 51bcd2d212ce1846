//! `forewarn demo`: embedded broker, simulated fleet, service, API and dashboard in one command.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use forewarn_maintenance::Role;
use forewarn_simulators::{Downstream, Fleet, FleetConfig, PublishConfig, SimProgress, publish};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::cli::DemoArgs;
use crate::config::Config;
use crate::service::{self, Handle, ServiceSpec};

const HOUR_MS: f64 = 3_600_000.0;

/// Runs the demo until Ctrl-C (or until the simulation ends with `--exit-when-done`).
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    // rumqttd logs every client disconnect as an error; the demo shows its own progress instead.
    crate::cli::init_tracing("warn,rumqttd=off");
    let data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => tempfile::Builder::new()
            .prefix("forewarn-demo-")
            .tempdir()?
            .keep(),
    };
    println!("data directory: {}", data_dir.display());
    let broker_addr = SocketAddr::from(([127, 0, 0, 1], args.mqtt_port));
    tokio::task::spawn_blocking(move || forewarn_ingest::broker::start_embedded(broker_addr))
        .await?
        .with_context(|| format!("starting the embedded MQTT broker on {broker_addr} (is the port free? try --mqtt-port)"))?;
    println!("embedded MQTT broker: mqtt://{broker_addr}");

    let mut config = Config::default();
    config.mqtt.port = args.mqtt_port;
    config.mqtt.client_id = Some("forewarn-demo".into());
    let shutdown = CancellationToken::new();
    crate::cli::stop_on_signal(shutdown.clone());
    let (ready_tx, ready_rx) = oneshot::channel();
    let spec = ServiceSpec {
        config,
        data_dir: data_dir.clone(),
        http: args.http,
    };
    let mut service = tokio::spawn(service::run(spec, shutdown.clone(), Some(ready_tx)));
    let handle = match ready_rx.await {
        Ok(h) => h,
        Err(_) => return service.await?.context("the service did not start"),
    };
    // The fleet must not publish before the service's subscription exists, or the broker drops it.
    let deadline = Instant::now() + Duration::from_secs(15);
    while handle.metrics.mqtt_subscribed.get() != 1 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the service did not subscribe to the embedded broker within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "dashboard: http://{0}/   API: http://{0}/api/v1/tickets   metrics: http://{0}/metrics",
        handle.http_addr
    );
    let token = admin_token(&handle.db, &data_dir).await?;
    println!("admin token (every API call: Authorization: Bearer …): {token}");
    // The demo only: a link that signs in once, within minutes (the form takes the token).
    let once = handle
        .db
        .signin_link(&token)
        .await?
        .context("the demo's admin token was not accepted")?;
    println!(
        "sign in to the dashboards (this link works once): http://{}/ui/signin?once={once}",
        handle.http_addr
    );

    crate::demo_seed::stores(&handle.db).await?;

    let duration_ms = args.duration.as_millis() as i64;
    let fleet = Fleet::new(FleetConfig::ending_at(
        args.seed,
        args.assets,
        crate::now_ms(),
        duration_ms,
    ))?;
    let truth = fleet.ground_truth();
    println!(
        "simulating {} assets over {:.0} days at {}x ({} faults and {} sensor faults injected); Ctrl-C to stop",
        args.assets,
        duration_ms as f64 / 24.0 / HOUR_MS,
        args.speed,
        truth.len(),
        fleet.sensor_fault_truth().len()
    );
    let start_ms = fleet.config.start_ms;
    let mut pub_cfg = PublishConfig::new("127.0.0.1", args.mqtt_port);
    pub_cfg.client_id = "forewarn-demo-fleet".into();
    pub_cfg.speed = Some(args.speed);
    // rumqttd drops the oldest messages when a subscriber falls far behind; at high --speed the
    // fleet would outrun the service, so it waits whenever it is more than a few seconds ahead.
    let stored = handle.metrics.readings_stored.clone();
    let already = stored.get();
    pub_cfg.downstream = Some(Downstream {
        consumed: Arc::new(move || stored.get() - already),
        max_lead: 200_000,
    });
    let (progress_tx, progress_rx) = watch::channel(SimProgress::default());
    let sim_cancel = shutdown.child_token();
    let mut sim = tokio::spawn(publish(fleet, pub_cfg, Some(progress_tx), sim_cancel));

    let bar = ProgressBar::new(duration_ms as u64 / HOUR_MS as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:28} {pos}/{len} sim h | {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let wall_start = Instant::now();
    let mut opened = handle.opened.subscribe();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let (mut last_stored, mut last_at) = (handle.metrics.readings_stored.get(), Instant::now());
    let mut last_plain = Instant::now();
    let report = loop {
        tokio::select! {
            r = &mut sim => break r??,
            r = &mut service => {
                bar.abandon();
                return r?.context("the service stopped");
            }
            t = opened.recv() => if let Ok(t) = t {
                let parts: Vec<String> = t.parts.iter().map(|p| format!("{}×{}", p.quantity, p.part_number)).collect();
                let sim_h = (t.detected_at_ms - start_ms) as f64 / HOUR_MS;
                let line = format!("[{:>5.1} s] ticket #{} {} on {} ({}) at sim hour {sim_h:.0}; parts {}", wall_start.elapsed().as_secs_f64(), t.id, t.failure_mode, t.asset_id, t.severity, parts.join(", "));
                // indicatif drops println when the bar is hidden (output not a terminal): print plainly then.
                if bar.is_hidden() { println!("{line}") } else { bar.println(line) }
            },
            _ = tick.tick() => {
                let p = *progress_rx.borrow();
                let stored = handle.metrics.readings_stored.get();
                let rate = (stored - last_stored) as f64 / last_at.elapsed().as_secs_f64();
                (last_stored, last_at) = (stored, Instant::now());
                bar.set_position(((p.sim_ms - start_ms).max(0) as f64 / HOUR_MS) as u64);
                let msg = format!("{rate:>7.0} readings/s stored | {stored} total | {} findings | {} tickets",
                    handle.metrics.findings.get(), handle.metrics.tickets_opened.get());
                if bar.is_hidden() && last_plain.elapsed() >= Duration::from_secs(10) {
                    last_plain = Instant::now();
                    println!("[{:>5.1} s] sim hour {} | {msg}", wall_start.elapsed().as_secs_f64(), (p.sim_ms - start_ms).max(0) / HOUR_MS as i64);
                }
                bar.set_message(msg);
            }
        }
    };
    bar.finish();
    // Let the last batches reach the store before summarising.
    let deadline = Instant::now() + Duration::from_secs(60);
    while handle.metrics.readings_stored.get() < report.readings_acked && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    summarise(&handle, &report, wall_start.elapsed()).await?;
    if args.exit_when_done {
        shutdown.cancel();
    } else {
        println!(
            "simulation finished; still serving http://{}/ — Ctrl-C to stop",
            handle.http_addr
        );
    }
    service.await?
}

async fn summarise(
    h: &Handle,
    report: &forewarn_simulators::SimReport,
    wall: Duration,
) -> anyhow::Result<()> {
    let stored = h.store.stats().await?.points;
    println!(
        "readings acked by the broker: {}, stored: {}, ingest rate: {:.0} readings/s over {:.1} s",
        report.readings_acked,
        stored,
        stored as f64 / wall.as_secs_f64(),
        wall.as_secs_f64()
    );
    let tickets = h.db.tickets(None, false, 10_000).await?;
    for g in &report.ground_truth {
        let t = tickets
            .iter()
            .find(|t| t.asset_id == g.asset && t.failure_mode == g.failure_mode);
        match t {
            Some(t) => println!(
                "fault {} on {}: ticket #{} {:.1} h after onset, {:.1} h before failure; {}",
                g.failure_mode,
                g.asset,
                t.id,
                (t.detected_at_ms - g.onset_ms) as f64 / HOUR_MS,
                (g.failure_ms - t.detected_at_ms) as f64 / HOUR_MS,
                predicted_vs_actual(h, t, g.failure_ms).await?
            ),
            None if g.onset_ms > report.sim_end_ms => println!(
                "fault {} on {}: starts after the simulated span",
                g.failure_mode, g.asset
            ),
            None => println!("fault {} on {}: no ticket yet", g.failure_mode, g.asset),
        }
    }
    for g in &report.sensor_faults {
        let t = tickets
            .iter()
            .find(|t| t.asset_id == g.asset && t.failure_mode == "sensor_fault");
        match t {
            Some(t) => println!(
                "sensor fault ({:?}) on {} {}: instrumentation ticket #{} {:.1} h after onset",
                g.kind,
                g.asset,
                g.sensor,
                t.id,
                (t.detected_at_ms - g.onset_ms) as f64 / HOUR_MS
            ),
            None => println!(
                "sensor fault ({:?}) on {} {}: no ticket yet",
                g.kind, g.asset, g.sensor
            ),
        }
    }
    let false_tickets = tickets
        .iter()
        .filter(|t| !report.ground_truth.iter().any(|g| g.asset == t.asset_id))
        .filter(|t| {
            t.failure_mode != "sensor_fault"
                || !report.sensor_faults.iter().any(|g| g.asset == t.asset_id)
        })
        .count();
    println!(
        "tickets: {} in all, {false_tickets} on assets without an injected fault",
        tickets.len()
    );
    Ok(())
}

/// A ticket's remaining-life estimates — at opening and the newest — against the simulator's
/// failure time: `predicted 51.0 h (30.2–90.1 h) at opening, actual 48.3 h: inside; newest
/// …`.
async fn predicted_vs_actual(
    h: &Handle,
    t: &forewarn_maintenance::Ticket,
    failure_ms: i64,
) -> anyhow::Result<String> {
    let history = h.db.findings_of_ticket(t.id).await?;
    let judged = |at_ms: i64, e: forewarn_domain::TimeToFailure| {
        let actual = (failure_ms - at_ms) as f64 / HOUR_MS;
        let inside = e.low <= actual && e.high.is_none_or(|hi| actual <= hi);
        format!(
            "predicted {:.1} h ({:.1}–{} h), actual {actual:.1} h: {}",
            e.hours,
            e.low,
            e.high.map_or("∞".into(), |hi| format!("{hi:.1}")),
            if inside { "inside" } else { "OUTSIDE" }
        )
    };
    let mut with = history
        .iter()
        .filter_map(|f| f.time_to_failure_h.map(|e| (f.detected_at_ms, e)));
    let Some((first_ms, first)) = with.next() else {
        return Ok("no remaining-life estimate".into());
    };
    let mut line = format!("at opening {}", judged(first_ms, first));
    if let Some((last_ms, last)) = with.next_back() {
        line.push_str(&format!("; newest {}", judged(last_ms, last)));
    }
    Ok(line)
}

/// The demo's admin token: kept in the data directory (readable by its owner only) so a demo
/// run again on the same directory prints a link that still signs in; created when missing.
async fn admin_token(
    db: &forewarn_maintenance::Maintenance,
    data_dir: &std::path::Path,
) -> anyhow::Result<String> {
    let file = data_dir.join("demo-admin.token");
    if let Ok(saved) = std::fs::read_to_string(&file)
        && db.authenticate(saved.trim()).await?.is_some()
    {
        return Ok(saved.trim().to_owned());
    }
    // A directory from before the file existed has the name taken: a new name then.
    let mut name = "demo-admin".to_owned();
    while db.token_name_taken(&name).await? {
        name = format!("demo-admin-{}", crate::now_ms());
    }
    let token = db.create_token(&name, Role::Admin).await?;
    write_private(&file, &token).with_context(|| format!("writing {}", file.display()))?;
    Ok(token)
}

/// Writes a secret readable by its owner only.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(text.as_bytes())
}
