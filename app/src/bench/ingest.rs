//! `forewarn bench ingest`: the whole ingest path against a real Mosquitto, next to the broker's own
//! drain rate measured with `mosquitto_sub` on the same stream in the same run.
//!
//! Both consumers get a persistent QoS 1 session before anything is published; the load is then
//! published once (QoS 1, as fast as the broker acknowledges) and queued for both. Each consumer
//! is timed draining its queue: `mosquitto_sub` discarding the output, Forewarn storing durably
//! with analytics on. The ratio is Forewarn's share of what the broker can deliver here.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::emit;
use crate::config::Config;
use crate::mosquitto::Mosquitto;
use crate::service::{self, ServiceSpec};

/// Settings of `forewarn bench ingest`.
#[derive(Debug, clap::Args)]
pub struct IngestBenchArgs {
    /// Assets publishing.
    #[arg(long, default_value_t = 1000)]
    pub assets: usize,
    /// Sensors per asset (one message carries all of them).
    #[arg(long, default_value_t = 10)]
    pub sensors: usize,
    /// Messages per asset.
    #[arg(long, default_value_t = 200)]
    pub messages: usize,
    /// Ingest batch delay in ms (`[ingest] batch_max_delay_ms`), to compare batching policies.
    #[arg(long)]
    pub batch_delay_ms: Option<u64>,
    /// Store in a local InfluxDB (Debian's `influxd`, started on a free port) instead of the
    /// embedded engine: acks then wait for InfluxDB.
    #[arg(long)]
    pub influxdb: bool,
    /// Both consumers speak MQTT 5 (`[mqtt] protocol = 5`, `mosquitto_sub -V 5`) instead of 3.1.1.
    #[arg(long)]
    pub mqtt5: bool,
}

/// Runs the ingest benchmark.
pub async fn ingest(args: IngestBenchArgs) -> anyhow::Result<()> {
    let broker = Mosquitto::start()?;
    let dir = tempfile::tempdir()?;
    let total_msgs = (args.assets * args.messages) as u64;
    let total_readings = total_msgs * args.sensors as u64;

    let (config, sensors, _influxd) = bench_config(&args, broker.port, dir.path())?;

    // Sessions first, so the broker queues the whole load for both consumers.
    let port = broker.port.to_string();
    let version = if args.mqtt5 { "5" } else { "311" };
    let sub = move |extra: &[&str]| {
        let mut c = Command::new("mosquitto_sub");
        c.args([
            "-h",
            "127.0.0.1",
            "-p",
            port.as_str(),
            "-q",
            "1",
            "-c",
            "-i",
            "bench-peer",
            "-t",
            "forewarn/#",
            "-V",
            version,
        ]);
        c.args(extra).stdout(Stdio::null());
        c
    };
    anyhow::ensure!(
        sub(&["-E"])
            .status()
            .context("running mosquitto_sub (Debian package mosquitto-clients)")?
            .success(),
        "mosquitto_sub failed"
    );
    create_session(broker.port, "forewarn-bench")
        .await
        .context("creating Forewarn's session")?;

    let started = Instant::now();
    publish_load(broker.port, &args, &sensors)
        .await
        .context("publishing the load")?;
    emit(
        "bench_publish_rate",
        total_msgs as f64 * args.sensors as f64 / started.elapsed().as_secs_f64(),
        "readings/s",
    );

    // The broker's own limit: mosquitto_sub draining its queue, output discarded.
    let started = Instant::now();
    let status =
        tokio::task::spawn_blocking(move || sub(&["-C", &total_msgs.to_string()]).status())
            .await??;
    anyhow::ensure!(
        status.success(),
        "mosquitto_sub did not receive every message"
    );
    let peer_rate = total_readings as f64 / started.elapsed().as_secs_f64();
    emit("mosquitto_sub_drain", peer_rate, "readings/s");

    // Forewarn draining the same stream: durable storage and analytics on.
    drain(config, dir.path(), &args, total_readings, peer_rate).await
}

/// The service's configuration for the load: a catalog with one asset type of N sensors, the
/// assets declared, and a local InfluxDB (kept alive by the caller) when asked for.
fn bench_config(
    args: &IngestBenchArgs,
    broker_port: u16,
    dir: &std::path::Path,
) -> anyhow::Result<(Config, Vec<String>, Option<crate::influxd::Influxd>)> {
    // A catalog with one asset type of N sensors, and the assets declared in the config.
    let sensors: Vec<String> = (0..args.sensors).map(|i| format!("s{i:02}")).collect();
    let mut catalog = String::from(
        "[asset_types.bench_machine]\ndescription = \"benchmark load\"\n[asset_types.bench_machine.sensors]\n",
    );
    for s in &sensors {
        catalog.push_str(&format!(
            "{s} = {{ unit = \"u\", min = -1000.0, max = 1000.0 }}\n"
        ));
    }
    let catalog_path = dir.join("catalog.toml");
    std::fs::write(&catalog_path, catalog)?;
    let mut config = Config::default();
    config.mqtt.port = broker_port;
    config.mqtt.client_id = Some("forewarn-bench".into());
    if args.mqtt5 {
        config.mqtt.protocol = 5;
    }
    config.catalog.path = Some(catalog_path);
    if let Some(ms) = args.batch_delay_ms {
        config.ingest.batch_max_delay_ms = ms;
    }
    let influxd = if args.influxdb {
        let server = crate::influxd::Influxd::start()?;
        config.store.engine = crate::config::Engine::Influxdb;
        config.store.influxdb = Some(crate::config::InfluxSection {
            url: server.url(),
            database: "forewarn_bench".into(),
            username: None,
            mirror: false,
            mirror_backlog_mb: 1024,
            ca_file: None,
        });
        Some(server)
    } else {
        None
    };
    for a in 0..args.assets {
        config.assets.push(forewarn_domain::Asset {
            id: forewarn_domain::AssetId::new(&format!("m{a:05}"))?,
            site: forewarn_domain::SiteId::new("bench")?,
            asset_type: forewarn_domain::AssetTypeId::new("bench_machine")?,
            model: String::new(),
            location: String::new(),
            criticality: Default::default(),
        });
    }

    Ok((config, sensors, influxd))
}

/// Starts the service on the queued load, times it storing everything, and reports the rate
/// beside `peer_rate` and the memory it took.
async fn drain(
    config: Config,
    dir: &std::path::Path,
    args: &IngestBenchArgs,
    total_readings: u64,
    peer_rate: f64,
) -> anyhow::Result<()> {
    let rss_before = rss_kib("VmRSS");
    let shutdown = CancellationToken::new();
    let (tx, rx) = oneshot::channel();
    let spec = ServiceSpec {
        config,
        data_dir: dir.join("data"),
        http: "127.0.0.1:0".parse()?,
    };
    let started = Instant::now();
    let svc = tokio::spawn(service::run(spec, shutdown.clone(), Some(tx)));
    let handle = rx.await.context("the service did not start")?;
    let deadline = Instant::now() + Duration::from_secs(600);
    // Memory with a full buffer between flushes: the last sample taken while no flush ran. A
    // flush's transient memory (the frozen buffer, the files being built) is bounded by
    // `flush_points` whatever the number of series, so it is in `peak_rss`, not per series.
    let mut quiet_rss = rss_before;
    // The same when the first half of the assets is stored, the second not yet started.
    let first_half = (args.assets / 2 * args.messages * args.sensors) as u64;
    let mut half_rss = None;
    loop {
        let flushing = handle.store.flushing();
        let rss = rss_kib("VmRSS");
        let stored = handle.metrics.readings_stored.get();
        if !flushing && !handle.store.flushing() {
            quiet_rss = rss;
            if stored >= first_half && half_rss.is_none() {
                half_rss = Some(rss);
            }
        }
        if stored >= total_readings {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "stored {stored} of {total_readings}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = total_readings as f64 / started.elapsed().as_secs_f64();
    emit("forewarn_ingest_drain", rate, "readings/s");
    emit("forewarn_vs_mosquitto_sub", 100.0 * rate / peer_rate, "%");
    let series = (args.assets * args.sensors) as f64;
    emit("peak_rss", rss_kib("VmHWM") as f64 / 1024.0, "MiB");
    // What one more active series costs: the growth while the second half of the series
    // arrived (the pipeline's buffers and threads already exist, so they cancel out).
    let second_half = (args.assets - args.assets / 2) as f64 * args.sensors as f64;
    let half_rss = half_rss.unwrap_or(rss_before);
    emit(
        "rss_per_active_series",
        quiet_rss.saturating_sub(half_rss) as f64 * 1024.0 / second_half,
        "bytes",
    );
    // Everything the process grew by over the whole load, fixed costs included.
    let growth = quiet_rss.saturating_sub(rss_before) as f64 * 1024.0;
    emit(
        "rss_growth_per_series_all_included",
        growth / series,
        "bytes",
    );
    let buffered = handle.store.stats().await?.buffered_points as f64;
    emit("buffered_points_per_series", buffered / series, "points");
    drop(handle);
    shutdown.cancel();
    svc.await??;
    Ok(())
}

async fn create_session(port: u16, client_id: &str) -> anyhow::Result<()> {
    let mut opts = MqttOptions::new(client_id, "127.0.0.1", port);
    opts.set_clean_session(false);
    let (client, mut eventloop) = AsyncClient::new(opts, 10);
    client.subscribe("forewarn/#", QoS::AtLeastOnce).await?;
    loop {
        if let Event::Incoming(Packet::SubAck(_)) =
            tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await??
        {
            break;
        }
    }
    client.disconnect().await?;
    let _ = tokio::time::timeout(Duration::from_secs(2), eventloop.poll()).await;
    Ok(())
}

async fn publish_load(port: u16, args: &IngestBenchArgs, sensors: &[String]) -> anyhow::Result<()> {
    let mut opts = MqttOptions::new("bench-load", "127.0.0.1", port);
    opts.set_inflight(500).set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(opts, 4096);
    let total = args.assets * args.messages;
    let poller = tokio::spawn(async move {
        let mut acked = 0;
        while acked < total {
            match eventloop.poll().await? {
                Event::Incoming(Packet::PubAck(_)) => acked += 1,
                Event::Outgoing(Outgoing::Disconnect) => break,
                _ => {}
            }
        }
        anyhow::Ok(())
    });
    let t0 = crate::now_ms() - (args.messages as i64) * 1000;
    // The first half of the assets sends its whole load before the second half starts, so the
    // memory an added series costs can be read off the difference between the halves.
    let half = args.assets / 2;
    let order = (0..args.messages)
        .flat_map(|m| (0..half).map(move |a| (m, a)))
        .chain((0..args.messages).flat_map(|m| (half..args.assets).map(move |a| (m, a))));
    for (m, a) in order {
        {
            let mut payload = format!("{{\"ts\":{},\"metrics\":{{", t0 + m as i64 * 1000);
            for (i, s) in sensors.iter().enumerate() {
                let sep = if i == 0 { "" } else { "," };
                payload.push_str(&format!(
                    "{sep}\"{s}\":{}",
                    ((m * 31 + a * 7 + i) % 1000) as f64 / 10.0
                ));
            }
            payload.push_str("}}");
            if client
                .publish(
                    format!("forewarn/bench/m{a:05}/telemetry"),
                    QoS::AtLeastOnce,
                    false,
                    payload,
                )
                .await
                .is_err()
            {
                // The event loop ended: its error says why.
                return match poller.await? {
                    Err(e) => Err(e.context("load generator connection")),
                    Ok(()) => Err(anyhow::anyhow!("load generator stopped early")),
                };
            }
        }
    }
    // Every PUBACK is in; the event loop has ended, so there is no connection left to close.
    poller.await??;
    Ok(())
}

/// A memory figure of this process from /proc (KiB), 0 where unavailable.
pub(super) fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
