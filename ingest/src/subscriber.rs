//! The ingest stage: subscribe, decode, batch, and acknowledge only what the store made durable.
//!
//! Three tasks cooperate, so that nothing ever awaits the MQTT client inside the task that polls its
//! event loop (which deadlocks once the request channel fills):
//! - the **poller** drives the event loop, decodes each publish and forwards it;
//! - the **batcher** (this function's own task) groups messages into [`Batch`]es for the store;
//! - the **acker** acknowledges every message of batch `n` once the store reports `n` durable,
//!   in receipt order, as MQTT requires.
//!
//! On shutdown the poller stops forwarding (undelivered messages stay with the broker's persistent
//! session), the batcher flushes what it holds, and the poller keeps the connection alive until the
//! acker has acknowledged everything the store made durable.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use forewarn_domain::{Batch, Metrics, TimestampMs};
use rumqttc::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, Packet, Publish, QoS};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep, timeout_at};
use tokio_util::sync::CancellationToken;

use crate::decode::{Decoded, decode};
use crate::{AssetRegistry, IngestConfig, IngestError};

/// Incoming packets can be far larger than rumqttc's 10 KiB default; the payload limit is enforced
/// by `decode`, which rejects and acknowledges, instead of by the client, which would drop the connection.
const MAX_PACKET_BYTES: usize = 16 * 1024 * 1024;
/// Capacity of the client's request channel (acks, subscribes).
const REQUEST_CAPACITY: usize = 16 * 1024;
/// Decoded messages waiting for the batcher.
const ITEM_CAPACITY: usize = 16 * 1024;
/// How long shutdown waits for the last acknowledgements.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

struct Item {
    /// `None` for QoS 0 messages, which need no acknowledgement.
    publish: Option<Publish>,
    decoded: Decoded,
}

/// Runs ingest until `shutdown` fires or a stage fails.
///
/// Batches go to `output`; the store (through the app's wiring) sends back on `durable` the `seq` of
/// each batch once it is durable, in order, and only then are its messages acknowledged.
pub async fn run(
    cfg: IngestConfig,
    registry: AssetRegistry,
    metrics: Arc<Metrics>,
    output: mpsc::Sender<Batch>,
    durable: mpsc::Receiver<u64>,
    shutdown: CancellationToken,
) -> Result<(), IngestError> {
    let mut opts = MqttOptions::new(cfg.client_id.clone(), cfg.host.clone(), cfg.port);
    opts.set_keep_alive(cfg.keep_alive)
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES)
        .set_request_channel_capacity(REQUEST_CAPACITY);
    if let Some((user, pass)) = &cfg.credentials {
        opts.set_credentials(user.clone(), pass.clone());
    }
    let (client, eventloop) = AsyncClient::new(opts, REQUEST_CAPACITY);
    let (items_tx, items_rx) = mpsc::channel(ITEM_CAPACITY);
    let (pending_tx, pending_rx) = mpsc::unbounded_channel();
    let (acker_done_tx, acker_done_rx) = oneshot::channel();

    let acker = tokio::spawn(ack_in_order(
        client.clone(),
        pending_rx,
        durable,
        acker_done_tx,
    ));
    let poller = tokio::spawn(poll(
        Poller {
            client,
            registry,
            metrics: metrics.clone(),
            cfg: cfg.clone(),
        },
        eventloop,
        items_tx,
        acker_done_rx,
        shutdown.clone(),
    ));

    let batched = batch(&cfg, items_rx, pending_tx, output).await;
    if batched.is_err() {
        // The store is gone: nothing more can become durable, so stop the poller as well.
        shutdown.cancel();
    }
    let acked = acker
        .await
        .unwrap_or_else(|e| Err(IngestError::Broker(format!("acker task: {e}"))));
    let polled = poller
        .await
        .unwrap_or_else(|e| Err(IngestError::Broker(format!("poller task: {e}"))));
    batched.and(acked).and(polled)
}

struct Poller {
    client: AsyncClient,
    registry: AssetRegistry,
    metrics: Arc<Metrics>,
    cfg: IngestConfig,
}

async fn poll(
    mut p: Poller,
    mut eventloop: EventLoop,
    items_tx: mpsc::Sender<Item>,
    mut acker_done: oneshot::Receiver<()>,
    shutdown: CancellationToken,
) -> Result<(), IngestError> {
    let mut items_tx = Some(items_tx);
    let mut drain_deadline: Option<Instant> = None;
    let mut backoff = Duration::from_millis(100);
    loop {
        let event = tokio::select! {
            biased;
            _ = &mut acker_done, if drain_deadline.is_some() => break,
            _ = sleep_until_opt(drain_deadline), if drain_deadline.is_some() => {
                tracing::warn!("shutdown: gave up waiting for the last acknowledgements");
                break;
            }
            _ = shutdown.cancelled(), if drain_deadline.is_none() => {
                // Stop forwarding; the batcher flushes and the acker finishes what became durable.
                items_tx = None;
                drain_deadline = Some(Instant::now() + DRAIN_TIMEOUT);
                continue;
            }
            event = eventloop.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                backoff = Duration::from_millis(100);
                tracing::info!(session_present = ack.session_present, "connected to broker");
                // A persistent session keeps the subscription; a new one needs it again.
                if ack.session_present {
                    p.metrics.mqtt_subscribed.set(1);
                } else {
                    p.client
                        .try_subscribe(p.cfg.subscription.clone(), QoS::AtLeastOnce)?;
                }
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                p.metrics.mqtt_subscribed.set(1);
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                let Some(tx) = &items_tx else { continue };
                let item = p.decode(publish);
                if tx.send(item).await.is_err() {
                    items_tx = None;
                }
            }
            Ok(_) => {}
            Err(ConnectionError::ConnectionRefused(code)) => {
                return Err(IngestError::Refused(code));
            }
            Err(e) => {
                p.metrics.mqtt_subscribed.set(0);
                if drain_deadline.is_some() {
                    break;
                }
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "broker connection lost");
                sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
    // Best effort: a clean disconnect keeps the session but tells the broker we left on purpose.
    if p.client.try_disconnect().is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while !matches!(
                eventloop.poll().await,
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_)
            ) {}
        })
        .await;
    }
    Ok(())
}

impl Poller {
    fn decode(&mut self, publish: Publish) -> Item {
        self.metrics.messages_received.inc();
        let decoded = decode(
            &publish.topic,
            &publish.payload,
            now_ms(),
            &self.registry,
            &self.cfg.limits,
        );
        match &decoded {
            Decoded::Telemetry(r) => {
                self.metrics.readings_received.inc_by(r.len() as u64);
            }
            Decoded::Birth(asset) => {
                // Registered at once: telemetry right behind the birth must already be accepted.
                self.registry.register(asset.clone());
                self.metrics.assets.set(self.registry.len() as i64);
            }
            Decoded::Rejected(r) => {
                self.metrics.reject(r.reason);
                tracing::debug!(topic = %r.topic, reason = r.reason.as_str(), "message rejected");
            }
        }
        let publish = (publish.qos != QoS::AtMostOnce).then_some(publish);
        Item { publish, decoded }
    }
}

async fn batch(
    cfg: &IngestConfig,
    mut items: mpsc::Receiver<Item>,
    pending: mpsc::UnboundedSender<(u64, Vec<Publish>)>,
    output: mpsc::Sender<Batch>,
) -> Result<(), IngestError> {
    let mut seq = 0u64;
    while let Some(first) = items.recv().await {
        let deadline = Instant::now() + cfg.batch_max_delay;
        let mut batch = Batch::default();
        let mut acks = Vec::new();
        let mut next = Some(first);
        while let Some(item) = next.take() {
            add(&mut batch, &mut acks, item);
            if batch.messages >= cfg.batch_max_messages {
                break;
            }
            next = match items.try_recv() {
                Ok(item) => Some(item),
                Err(_) => timeout_at(deadline, items.recv()).await.ok().flatten(),
            };
        }
        seq += 1;
        batch.seq = seq;
        pending
            .send((seq, acks))
            .map_err(|_| IngestError::PipelineClosed(1))?;
        output
            .send(batch)
            .await
            .map_err(|_| IngestError::PipelineClosed(1))?;
    }
    Ok(())
}

fn add(batch: &mut Batch, acks: &mut Vec<Publish>, item: Item) {
    batch.messages += 1;
    match item.decoded {
        Decoded::Telemetry(r) => batch.readings.extend(r),
        Decoded::Birth(a) => batch.births.push(a),
        Decoded::Rejected(r) => batch.rejections.push(r),
    }
    acks.extend(item.publish);
}

async fn ack_in_order(
    client: AsyncClient,
    mut pending: mpsc::UnboundedReceiver<(u64, Vec<Publish>)>,
    mut durable: mpsc::Receiver<u64>,
    done: oneshot::Sender<()>,
) -> Result<(), IngestError> {
    while let Some(durable_seq) = durable.recv().await {
        loop {
            let Some((seq, publishes)) = pending.recv().await else {
                return Err(IngestError::PipelineClosed(0));
            };
            for p in &publishes {
                client.ack(p).await?;
            }
            if seq >= durable_seq {
                break;
            }
        }
    }
    let _ = done.send(());
    Ok(())
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn now_ms() -> TimestampMs {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
