//! Publishing a fleet over MQTT, counting exactly what the broker acknowledged.
//!
//! Every asset first publishes its retained birth message, then one telemetry message per sample
//! time, QoS 1. The event-loop task matches each PUBACK to the message it acknowledges (by packet
//! id, recorded when the packet is first sent; resends after a reconnect keep their id), so the
//! report's `readings_acked` is exact: the number of readings the broker took responsibility for.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::{Fleet, GroundTruth, SensorFaultTruth, SimError};

/// How to publish.
#[derive(Debug, Clone)]
pub struct PublishConfig {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// MQTT client id.
    pub client_id: String,
    /// Topic prefix (`{prefix}/{site}/{asset}/telemetry`).
    pub topic_prefix: String,
    /// Simulated seconds per wall-clock second; `None` publishes as fast as the broker acknowledges.
    pub speed: Option<f64>,
    /// Messages in flight without a PUBACK.
    pub inflight: u16,
    /// Flow control for brokers that drop data when a subscriber falls behind (the embedded
    /// rumqttd discards its oldest log segments): a count of readings the consumer has taken, and
    /// how far publishing may run ahead of it.
    pub downstream: Option<Downstream>,
    /// A crew that works the service's tickets in simulated time (a fleet's whole life).
    pub crew: Option<crate::CrewConfig>,
    /// TLS to the broker (its certificate verified against the configuration's roots; a client
    /// certificate when it holds one). The broker's name is `host`.
    pub tls: Option<Arc<rumqttc::tokio_rustls::rustls::ClientConfig>>,
}

/// A consumer's progress, for [`PublishConfig::downstream`].
#[derive(Clone)]
pub struct Downstream {
    /// Readings consumed so far.
    pub consumed: Arc<dyn Fn() -> u64 + Send + Sync>,
    /// Most readings published but not yet consumed.
    pub max_lead: u64,
}

impl std::fmt::Debug for Downstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Downstream")
            .field("max_lead", &self.max_lead)
            .finish_non_exhaustive()
    }
}

impl PublishConfig {
    /// Defaults for a broker at `host:port`.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            client_id: "forewarn-simulator".into(),
            topic_prefix: "forewarn".into(),
            speed: None,
            inflight: 200,
            downstream: None,
            crew: None,
            tls: None,
        }
    }
}

/// Where the simulation is, for progress displays.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SimProgress {
    /// Simulated time reached (ms since epoch).
    pub sim_ms: i64,
    /// Messages published so far.
    pub messages: u64,
    /// Readings acknowledged by the broker so far.
    pub readings_acked: u64,
}

/// The outcome of a simulation run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimReport {
    /// Readings whose PUBACK arrived.
    pub readings_acked: u64,
    /// Readings published (acknowledged or not).
    pub readings_published: u64,
    /// Telemetry and birth messages published.
    pub messages_published: u64,
    /// Messages whose PUBACK arrived.
    pub messages_acked: u64,
    /// Number of simulated assets.
    pub assets: usize,
    /// Simulated start (ms since epoch).
    pub sim_start_ms: i64,
    /// Simulated time reached (ms since epoch).
    pub sim_end_ms: i64,
    /// Wall-clock duration.
    pub wall_seconds: f64,
    /// The injected faults.
    pub ground_truth: Vec<GroundTruth>,
    /// The injected sensor faults.
    pub sensor_faults: Vec<SensorFaultTruth>,
    /// What the crew did, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crew: Option<crate::crew::CrewStats>,
}

#[derive(Default)]
struct Acks {
    /// Readings per message, in publish order, until the packet gets its id.
    queued: VecDeque<u64>,
    /// Readings per packet id, until its PUBACK.
    awaiting: HashMap<u16, u64>,
    messages: u64,
    readings: u64,
}

/// Publishes the fleet until its span ends or `cancel` fires, then waits for the outstanding PUBACKs.
pub async fn publish(
    mut fleet: Fleet,
    cfg: PublishConfig,
    progress: Option<watch::Sender<SimProgress>>,
    cancel: CancellationToken,
) -> Result<SimReport, SimError> {
    let started = Instant::now();
    let mut opts = MqttOptions::new(cfg.client_id.clone(), cfg.host.clone(), cfg.port);
    opts.set_keep_alive(Duration::from_secs(30))
        .set_clean_session(false)
        .set_inflight(cfg.inflight)
        .set_max_packet_size(1024 * 1024, 1024 * 1024);
    if let Some(tls) = &cfg.tls {
        opts.set_transport(rumqttc::Transport::tls_with_config(
            rumqttc::TlsConfiguration::Rustls(tls.clone()),
        ));
    }
    let (client, mut eventloop) = AsyncClient::new(opts, 1024);
    let acks = Arc::new(Mutex::new(Acks::default()));
    let failure = Arc::new(Mutex::new(None::<String>));
    let poller = {
        let (acks, failure) = (acks.clone(), failure.clone());
        tokio::spawn(async move {
            let mut failing_since: Option<Instant> = None;
            loop {
                match eventloop.poll().await {
                    Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                        let mut a = acks.lock().unwrap_or_else(|p| p.into_inner());
                        if !a.awaiting.contains_key(&pkid) {
                            let n = a.queued.pop_front().unwrap_or(0);
                            a.awaiting.insert(pkid, n);
                        }
                    }
                    Ok(Event::Incoming(Packet::PubAck(ack))) => {
                        let mut a = acks.lock().unwrap_or_else(|p| p.into_inner());
                        if let Some(n) = a.awaiting.remove(&ack.pkid) {
                            a.messages += 1;
                            a.readings += n;
                        }
                    }
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
                    Ok(_) => failing_since = None,
                    Err(e) => {
                        let since = *failing_since.get_or_insert_with(Instant::now);
                        if since.elapsed() > Duration::from_secs(30) {
                            *failure.lock().unwrap_or_else(|p| p.into_inner()) =
                                Some(e.to_string());
                            return;
                        }
                        tracing::warn!(error = %e, "simulator lost the broker; retrying");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        })
    };

    let prefix = cfg.topic_prefix.clone();
    let mut messages = 0u64;
    let mut readings = 0u64;
    let send = |topic: String, payload: String, retain: bool, n: u64| {
        acks.lock()
            .unwrap_or_else(|p| p.into_inner())
            .queued
            .push_back(n);
        client.publish(topic, QoS::AtLeastOnce, retain, payload)
    };
    for a in &fleet.assets {
        let topic = format!("{prefix}/{}/{}/birth", a.site, a.id);
        let payload =
            serde_json::json!({"type": a.kind.type_id(), "model": a.model, "location": a.location, "criticality": a.criticality})
                .to_string();
        send(topic, payload, true, 0).await?;
        messages += 1;
    }
    let start_ms = fleet.config.start_ms;
    let ticks: Vec<i64> = fleet.ticks().collect();
    let mut sim_ms = start_ms;
    let mut crew = cfg.crew.clone().map(crate::Crew::new).transpose()?;
    // Each asset's newest reading published, for the crew to wait on.
    let mut sent: HashMap<String, i64> = HashMap::new();
    for t in ticks {
        if cancel.is_cancelled() || failure.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
            break;
        }
        if let Some(crew) = crew.as_mut().filter(|c| c.due(t)) {
            // The crew looks only at what the service has made of everything published so far.
            wait_acked(&acks, messages, &poller, &cancel).await;
            crew.sync(&sent).await?;
            crew.look(&mut fleet, t).await?;
        }
        if let Some(d) = &cfg.downstream {
            while readings.saturating_sub((d.consumed)()) > d.max_lead && !cancel.is_cancelled() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        if let Some(speed) = cfg.speed {
            let due = started + Duration::from_secs_f64((t - start_ms) as f64 / 1000.0 / speed);
            tokio::time::sleep_until(due.into()).await;
        }
        for a in &mut fleet.assets {
            let Some(values) = a.sample(t) else { continue };
            let mut payload = format!("{{\"ts\":{t},\"metrics\":{{");
            let mut count = 0u64;
            // A dropped-out sensor (NaN) is left out of the payload, as a gateway would.
            for (name, v) in a.kind.sensors().iter().zip(values) {
                if v.is_finite() {
                    let sep = if count == 0 { "" } else { "," };
                    payload.push_str(&format!("{sep}\"{name}\":{v}"));
                    count += 1;
                }
            }
            payload.push_str("}}");
            let topic = format!("{prefix}/{}/{}/telemetry", a.site, a.id);
            send(topic, payload, false, count).await?;
            messages += 1;
            readings += count;
            if crew.is_some() {
                sent.insert(a.id.clone(), t);
            }
        }
        sim_ms = t;
        if let Some(p) = &progress {
            let acked = acks.lock().unwrap_or_else(|p| p.into_inner()).readings;
            p.send_replace(SimProgress {
                sim_ms,
                messages,
                readings_acked: acked,
            });
        }
    }

    // Wait for the broker to acknowledge everything still in flight.
    wait_acked(&acks, messages, &poller, &CancellationToken::new()).await;
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(2), poller).await;
    if let Some(e) = failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(SimError::Connection(e));
    }
    let a = acks.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = &progress {
        p.send_replace(SimProgress {
            sim_ms,
            messages,
            readings_acked: a.readings,
        });
    }
    Ok(SimReport {
        readings_acked: a.readings,
        readings_published: readings,
        messages_published: messages,
        messages_acked: a.messages,
        assets: fleet.assets.len(),
        sim_start_ms: start_ms,
        sim_end_ms: sim_ms,
        wall_seconds: started.elapsed().as_secs_f64(),
        ground_truth: fleet.ground_truth_at(sim_ms),
        sensor_faults: fleet.sensor_fault_truth(),
        crew: crew.map(|c| c.stats().clone()),
    })
}

/// Waits (a minute at most) until the broker has acknowledged `messages` messages.
async fn wait_acked(
    acks: &Mutex<Acks>,
    messages: u64,
    poller: &tokio::task::JoinHandle<()>,
    cancel: &CancellationToken,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = acks.lock().unwrap_or_else(|p| p.into_inner()).messages >= messages;
        if done || Instant::now() > deadline || poller.is_finished() || cancel.is_cancelled() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
