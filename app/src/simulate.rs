//! `forewarn simulate`: the fleet simulator against any broker, optionally with a crew working a
//! running service's tickets.

use forewarn_simulators::{CrewConfig, Fleet, FleetConfig, Lifecycle, PublishConfig, publish};
use tokio_util::sync::CancellationToken;

use crate::cli::SimulateArgs;

/// Publishes the simulated fleet and prints the report as one JSON object.
pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let mut fleet_cfg = FleetConfig::ending_at(
        args.seed,
        args.assets,
        crate::now_ms(),
        args.duration.as_millis() as i64,
    );
    fleet_cfg.interval_ms = args.interval.as_millis() as i64;
    if let Some(f) = args.faults {
        fleet_cfg.faults = f;
    }
    if let Some(f) = args.sensor_faults {
        fleet_cfg.sensor_faults = f;
    }
    fleet_cfg.duty = args.duty;
    let mut cfg = PublishConfig::new(args.broker.0.clone(), args.broker.1);
    if let (Some(url), Some(file)) = (&args.crew, &args.crew_token_file) {
        let token = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("reading the crew token from {}: {e}", file.display()))?;
        let mut crew = CrewConfig::new(url.clone(), token.trim());
        crew.look_every_ms = args.crew_every.as_millis() as i64;
        cfg.crew = Some(crew);
        fleet_cfg.lifecycle = Some(Lifecycle {
            mode_mtbf_ms: args.mode_mtbf.as_millis() as i64,
            sensor_mtbf_ms: args.sensor_mtbf.as_millis() as i64,
            ..Lifecycle::default()
        });
    }
    let fleet = Fleet::new(fleet_cfg)?;
    if let Some(ca) = &args.tls_ca {
        let identity = args.tls_cert.as_deref().zip(args.tls_key.as_deref());
        cfg.tls = Some(std::sync::Arc::new(crate::https::client_config(
            ca, identity,
        )?));
    }
    cfg.client_id = args.client_id;
    cfg.topic_prefix = args.topic_prefix;
    cfg.speed = args.speed;
    let cancel = CancellationToken::new();
    crate::cli::stop_on_signal(cancel.clone());
    let (progress_tx, progress_rx) = tokio::sync::watch::channel(Default::default());
    let bar = sim_bar(progress_rx, args.duration.as_millis() as i64);
    let report = publish(fleet, cfg, Some(progress_tx), cancel).await;
    bar.abort();
    let report = report?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// A progress bar on standard error (hidden when it is not a terminal) following the simulated
/// clock: a year with a crew takes minutes.
fn sim_bar(
    progress: tokio::sync::watch::Receiver<forewarn_simulators::SimProgress>,
    span_ms: i64,
) -> tokio::task::JoinHandle<()> {
    const HOUR_MS: i64 = 3_600_000;
    let bar = indicatif::ProgressBar::new((span_ms / HOUR_MS).max(1) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:28} {pos}/{len} sim h | {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    tokio::spawn(async move {
        let mut start = None;
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
        loop {
            tick.tick().await;
            let p = *progress.borrow();
            if p.sim_ms == 0 {
                continue;
            }
            let start = *start.get_or_insert(p.sim_ms);
            bar.set_position(((p.sim_ms - start) / HOUR_MS) as u64);
            bar.set_message(format!("{} readings acknowledged", p.readings_acked));
        }
    })
}
