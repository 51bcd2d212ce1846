//! `forewarn simulate`: the fleet simulator against any broker.

use forewarn_simulators::{Fleet, FleetConfig, PublishConfig, publish};
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
    let fleet = Fleet::new(fleet_cfg)?;
    let mut cfg = PublishConfig::new(args.broker.0, args.broker.1);
    cfg.client_id = args.client_id;
    cfg.topic_prefix = args.topic_prefix;
    cfg.speed = args.speed;
    let cancel = CancellationToken::new();
    crate::cli::stop_on_signal(cancel.clone());
    let report = publish(fleet, cfg, None, cancel).await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
