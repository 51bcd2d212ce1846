//! The faults `bench chaos` injects, in the order they come: the kill first, so the counters the
//! final process reports in `/metrics` have seen every later fault.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use super::{Injected, MIN_FREE_MB, Rig};
use crate::bench::lifecycle::wait_subscribed;

/// Messages of each hostile kind.
pub(super) const MALFORMED: usize = 100;
/// Births of assets past `[ingest] max_assets`.
pub(super) const BIRTH_FLOOD: usize = 200;
/// How long the database stays down and the disk stays full.
const OUTAGE: Duration = Duration::from_secs(8);

/// A fault.
#[derive(Debug, Clone, Copy)]
pub(super) enum Fault {
    /// SIGKILL the service and start it again.
    Kill,
    /// Restart Mosquitto (SIGTERM; it keeps its sessions).
    Broker,
    /// Stop PostgreSQL, wait, start it again.
    Database,
    /// Fill the data directory's filesystem below the floor, wait, free it.
    Disk,
    /// An oversized message, malformed ones and a flood of births.
    Hostile,
}

impl Fault {
    /// Each fault and the share of the simulated span after which it comes.
    pub(super) const SCHEDULE: [(f64, Fault); 5] = [
        (0.15, Fault::Kill),
        (0.30, Fault::Broker),
        (0.45, Fault::Database),
        (0.60, Fault::Disk),
        (0.75, Fault::Hostile),
    ];

    fn name(self) -> &'static str {
        match self {
            Fault::Kill => "sigkill",
            Fault::Broker => "broker",
            Fault::Database => "database",
            Fault::Disk => "disk",
            Fault::Hostile => "hostile",
        }
    }

    /// Injects the fault (and waits out its duration); what happened.
    pub(super) async fn inject(self, rig: &mut Rig, sim_day: f64) -> anyhow::Result<Injected> {
        let wall_s = rig.started.elapsed().as_secs_f64();
        let detail = match self {
            Fault::Kill => {
                rig.service.kill();
                rig.restart_service()?;
                wait_subscribed(rig.http, &rig.token_file, Duration::from_secs(120)).await?;
                "SIGKILLed, restarted, subscribed again".to_string()
            }
            Fault::Broker => {
                rig.broker.restart_graceful()?;
                wait_subscribed(rig.http, &rig.token_file, Duration::from_secs(60)).await?;
                "Mosquitto restarted on its port, the service subscribed again".to_string()
            }
            Fault::Database => {
                rig.pg.stop()?;
                tokio::time::sleep(OUTAGE).await;
                rig.pg.restart()?;
                format!(
                    "PostgreSQL stopped for {} s and started again",
                    OUTAGE.as_secs()
                )
            }
            Fault::Disk => disk(rig).await?,
            Fault::Hostile => hostile(rig.broker.port).await?,
        };
        Ok(Injected {
            fault: self.name(),
            sim_day,
            wall_s,
            detail,
        })
    }
}

/// Fills the tmpfs to 8 MiB under the floor for a while, then frees it.
async fn disk(rig: &mut Rig) -> anyhow::Result<String> {
    let leave = (MIN_FREE_MB - 8) << 20;
    rig.fs.fill(leave)?;
    let left = rig.fs.available()? >> 20;
    tokio::time::sleep(OUTAGE).await;
    rig.fs.free()?;
    Ok(format!(
        "filled to {left} MiB free (floor {MIN_FREE_MB} MiB) for {} s, then freed",
        OUTAGE.as_secs()
    ))
}

/// Publishes a 20 MiB message, malformed ones and births past the asset cap, each acknowledged
/// by the broker.
async fn hostile(port: u16) -> anyhow::Result<String> {
    let mut opts = MqttOptions::new("chaos-hostile", "127.0.0.1", port);
    opts.set_max_packet_size(64 << 20, 64 << 20);
    let (client, mut eventloop) = AsyncClient::new(opts, 512);
    let big = format!("{{\"metrics\":{{\"x\":\"{}\"}}}}", "a".repeat(20 << 20));
    let telemetry = "forewarn/site-a/pump-0001/telemetry";
    client
        .publish(telemetry, QoS::AtLeastOnce, false, big)
        .await?;
    for i in 0..MALFORMED {
        client
            .publish(
                telemetry,
                QoS::AtLeastOnce,
                false,
                format!("{{not json {i}"),
            )
            .await?;
    }
    for i in 0..BIRTH_FLOOD {
        let topic = format!("forewarn/site-a/flood-{i:04}/birth");
        let birth = r#"{"type": "centrifugal_pump", "model": "X", "location": "nowhere"}"#;
        client
            .publish(topic, QoS::AtLeastOnce, false, birth)
            .await?;
    }
    let want = 1 + MALFORMED + BIRTH_FLOOD;
    let mut acked = 0;
    while acked < want {
        let event = tokio::time::timeout(Duration::from_secs(60), eventloop.poll()).await??;
        if let Event::Incoming(Packet::PubAck(_)) = event {
            acked += 1;
        }
    }
    let _ = client.disconnect().await;
    Ok(format!(
        "one 20 MiB message, {MALFORMED} malformed, {BIRTH_FLOOD} births past max_assets: all acknowledged by the broker"
    ))
}
