//! The ingest stage: subscribe, decode, batch, and acknowledge only what the store made durable.
//!
//! Three tasks cooperate:
//! - the **poller** owns the reading half of the connection: it (re)connects, frames packets,
//!   decodes each publish and forwards it;
//! - the **batcher** (this function's own task) groups messages into [`Batch`]es for the store;
//! - the **acker** owns the writing half: once the store reports batch `n` durable it writes the
//!   PUBACKs of every message up to `n`, in receipt order as MQTT requires, in one write; it also
//!   sends the keep-alive pings.
//!
//! A PUBACK belongs to the connection its PUBLISH came in on: after a reconnect, acks of the old
//! connection are dropped and the broker redelivers those messages (the store deduplicates them).
//! On shutdown the poller stops forwarding (undelivered messages stay with the broker's persistent
//! session), the batcher flushes what it holds, and the acker acknowledges what became durable,
//! then says DISCONNECT.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use forewarn_domain::{Batch, Metrics, TimestampMs};
use rumqttc::{Packet, PubAck, Publish, QoS};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep, timeout_at};
use tokio_util::sync::CancellationToken;

use crate::decode::{Decoded, decode};
use crate::session::{self, ConnectError};
use crate::{AssetRegistry, IngestConfig, IngestError};

/// Decoded messages waiting for the batcher.
const ITEM_CAPACITY: usize = 16 * 1024;
/// How long shutdown waits for the last acknowledgements.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

/// Which connection a message came in on, and its packet id.
#[derive(Debug, Clone, Copy)]
struct Ack {
    connection: u64,
    pkid: u16,
}

struct Item {
    /// `None` for QoS 0 messages, which need no acknowledgement.
    ack: Option<Ack>,
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
    let (items_tx, items_rx) = mpsc::channel(ITEM_CAPACITY);
    let (pending_tx, pending_rx) = mpsc::unbounded_channel();
    let (writers_tx, writers_rx) = mpsc::channel(4);
    let (acker_done_tx, acker_done_rx) = oneshot::channel();

    let acker = tokio::spawn(ack_in_order(
        cfg.keep_alive,
        writers_rx,
        pending_rx,
        durable,
        acker_done_tx,
    ));
    let poller = tokio::spawn(poll(
        Poller {
            registry,
            metrics: metrics.clone(),
            cfg: cfg.clone(),
            rejections: Default::default(),
        },
        writers_tx,
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
    registry: AssetRegistry,
    metrics: Arc<Metrics>,
    cfg: IngestConfig,
    rejections: crate::reject_log::RejectLog,
}

async fn poll(
    mut p: Poller,
    writers: mpsc::Sender<(u64, session::Writer)>,
    items_tx: mpsc::Sender<Item>,
    mut acker_done: oneshot::Receiver<()>,
    shutdown: CancellationToken,
) -> Result<(), IngestError> {
    let mut items_tx = Some(items_tx);
    let mut drain_deadline: Option<Instant> = None;
    let mut backoff = Duration::from_millis(100);
    let mut connection = 0u64;
    let address = format!("{}:{}", p.cfg.host, p.cfg.port);
    'connect: loop {
        p.metrics.broker.connecting(&address);
        let attempt = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return Ok(()),
            s = session::connect(&p.cfg) => s,
        };
        let mut s = match attempt {
            Ok(s) => s,
            Err(ConnectError::Fatal(e)) => return Err(e),
            Err(ConnectError::Retry(e)) => {
                p.metrics
                    .broker
                    .down(&format!("cannot reach the broker at {address}: {e}"));
                tracing::warn!(broker = %address, error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot reach the broker");
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(()),
                    _ = sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        connection += 1;
        tracing::info!(session_present = s.session_present, "connected to broker");
        // A persistent session keeps the subscription; a new one subscribed and waits for SUBACK.
        if s.session_present {
            p.metrics.mqtt_subscribed.set(1);
            p.metrics.broker.up();
        }
        if writers.send((connection, s.writer)).await.is_err() {
            return Ok(());
        }
        loop {
            loop {
                let packet = match session::framed(&mut s.buf) {
                    Ok(Some(packet)) => packet,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(broker = %address, error = %e, "dropping the connection");
                        p.metrics.mqtt_subscribed.set(0);
                        p.metrics
                            .broker
                            .down(&format!("dropped the connection to {address}: {e}"));
                        continue 'connect;
                    }
                };
                match packet {
                    Packet::Publish(publish) => {
                        let Some(tx) = &items_tx else { continue };
                        let item = p.decode(publish, connection);
                        if tx.send(item).await.is_err() {
                            items_tx = None;
                        }
                    }
                    Packet::SubAck(_) => {
                        p.metrics.mqtt_subscribed.set(1);
                        p.metrics.broker.up();
                    }
                    _ => {}
                }
            }
            let read = tokio::select! {
                biased;
                _ = &mut acker_done, if drain_deadline.is_some() => break 'connect,
                _ = sleep_until_opt(drain_deadline), if drain_deadline.is_some() => {
                    tracing::warn!("shutdown: gave up waiting for the last acknowledgements");
                    break 'connect;
                }
                _ = shutdown.cancelled(), if drain_deadline.is_none() => {
                    // Stop forwarding; the batcher flushes and the acker finishes what became durable.
                    items_tx = None;
                    drain_deadline = Some(Instant::now() + DRAIN_TIMEOUT);
                    continue;
                }
                r = tokio::io::AsyncReadExt::read_buf(&mut s.reader, &mut s.buf) => r,
            };
            match read {
                Ok(n) if n > 0 => {}
                other => {
                    p.metrics.mqtt_subscribed.set(0);
                    if drain_deadline.is_some() {
                        break 'connect;
                    }
                    let error = other
                        .err()
                        .map_or("closed by the broker".into(), |e| e.to_string());
                    p.metrics
                        .broker
                        .down(&format!("lost the connection to {address}: {error}"));
                    tracing::warn!(broker = %address, error = %error, "broker connection lost");
                    continue 'connect;
                }
            }
        }
    }
    Ok(())
}

impl Poller {
    fn decode(&mut self, publish: Publish, connection: u64) -> Item {
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
                self.rejections.note(r, std::time::Instant::now());
            }
        }
        let ack = (publish.qos != QoS::AtMostOnce).then_some(Ack {
            connection,
            pkid: publish.pkid,
        });
        Item { ack, decoded }
    }
}

async fn batch(
    cfg: &IngestConfig,
    mut items: mpsc::Receiver<Item>,
    pending: mpsc::UnboundedSender<(u64, Vec<Ack>)>,
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

fn add(batch: &mut Batch, acks: &mut Vec<Ack>, item: Item) {
    batch.messages += 1;
    match item.decoded {
        Decoded::Telemetry(r) => batch.readings.extend(r),
        Decoded::Birth(a) => batch.births.push(a),
        Decoded::Rejected(r) => batch.rejections.push(r),
    }
    acks.extend(item.ack);
}

async fn ack_in_order(
    keep_alive: Duration,
    mut writers: mpsc::Receiver<(u64, session::Writer)>,
    mut pending: mpsc::UnboundedReceiver<(u64, Vec<Ack>)>,
    mut durable: mpsc::Receiver<u64>,
    done: oneshot::Sender<()>,
) -> Result<(), IngestError> {
    let mut writer: Option<(u64, session::Writer)> = None;
    let mut writers_open = true;
    let mut ping = tokio::time::interval(keep_alive.max(Duration::from_secs(2)) / 2);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut out = BytesMut::new();
    loop {
        tokio::select! {
            // A new connection's writer is installed before any of its messages can be durable:
            // the poller sends it before reading from that connection.
            biased;
            w = writers.recv(), if writers_open => match w {
                Some(w) => writer = Some(w),
                None => writers_open = false,
            },
            _ = ping.tick() => {
                if writer.is_some() {
                    out.clear();
                    let _ = Packet::PingReq.write(&mut out, session::MAX_PACKET_BYTES);
                    send(&mut writer, &out).await;
                }
            }
            d = durable.recv() => {
                let Some(durable_seq) = d else { break };
                out.clear();
                loop {
                    let Some((seq, acks)) = pending.recv().await else {
                        return Err(IngestError::PipelineClosed(0));
                    };
                    let current = writer.as_ref().map(|(c, _)| *c);
                    for a in acks.iter().filter(|a| Some(a.connection) == current) {
                        let _ = PubAck::new(a.pkid).write(&mut out);
                    }
                    if seq >= durable_seq {
                        break;
                    }
                }
                send(&mut writer, &out).await;
            }
        }
    }
    // Everything durable is acknowledged: leave, keeping the session.
    out.clear();
    let _ = Packet::Disconnect.write(&mut out, session::MAX_PACKET_BYTES);
    send(&mut writer, &out).await;
    if let Some((_, mut w)) = writer {
        let _ = w.shutdown().await;
    }
    let _ = done.send(());
    Ok(())
}

/// Writes to the current connection; a failed write forgets it (the poller reconnects, and the
/// broker redelivers whatever was not acknowledged).
async fn send(writer: &mut Option<(u64, session::Writer)>, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    if let Some((_, w)) = writer
        && w.write_all(bytes).await.is_err()
    {
        *writer = None;
    }
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
