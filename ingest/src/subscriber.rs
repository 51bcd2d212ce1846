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
use forewarn_domain::{Batch, Metrics, RejectReason, Rejection, TimestampMs};
use rumqttc::Packet;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep, timeout_at};
use tokio_util::sync::CancellationToken;

use crate::decode::{Decoded, decode};
use crate::protocol::{Incoming, MAX_PACKET_BYTES, Message, MqttVersion, Skipped};
use crate::session::{self, ConnectError, Session};
use crate::{AssetRegistry, IngestConfig, IngestError};

/// Decoded messages waiting for the batcher.
const ITEM_CAPACITY: usize = 16 * 1024;
/// How long shutdown waits for the last acknowledgements.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

/// Which connection a message came in on, its packet id, and whether ingest rejected it (an
/// MQTT 5 PUBACK says so).
#[derive(Debug, Clone, Copy)]
struct Ack {
    connection: u64,
    pkid: u16,
    rejected: Option<RejectReason>,
}

/// The writing half of a new connection, handed from the poller to the acker.
struct Link {
    connection: u64,
    writer: session::Writer,
    /// Pings go at half this interval.
    keep_alive: Duration,
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
        cfg.protocol,
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
            discard: 0,
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
    /// Bytes of a skipped message still to drop as they arrive (this connection's).
    discard: usize,
}

/// What the poller does after handling what was buffered.
enum Flow {
    /// Read more from this connection.
    Read,
    /// Drop this connection and make a new one, for this reason.
    Reconnect(String),
}

async fn poll(
    mut p: Poller,
    writers: mpsc::Sender<Link>,
    items_tx: mpsc::Sender<Item>,
    mut acker_done: oneshot::Receiver<()>,
    shutdown: CancellationToken,
) -> Result<(), IngestError> {
    let mut items_tx = Some(items_tx);
    let mut drain_deadline: Option<Instant> = None;
    let mut connection = 0u64;
    'connect: loop {
        let Some(s) = p.connect(&shutdown).await? else {
            return Ok(());
        };
        let Session {
            mut reader,
            writer,
            mut buf,
            keep_alive,
            ..
        } = s;
        connection += 1;
        let silence = keep_alive + keep_alive / 2;
        let link = Link {
            connection,
            writer,
            keep_alive,
        };
        if writers.send(link).await.is_err() {
            return Ok(());
        }
        loop {
            if let Flow::Reconnect(why) = p.handle(&mut buf, connection, &mut items_tx).await? {
                p.lost(&why);
                continue 'connect;
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
                // The acker pings every half keep-alive: a broker silent for one and a half is
                // gone, though the connection looks open (a half-open TCP connection).
                r = tokio::time::timeout(
                    silence,
                    tokio::io::AsyncReadExt::read_buf(&mut reader, &mut buf),
                ) => r.unwrap_or_else(|_| Err(std::io::Error::other(format!(
                    "no packet from the broker in {:.1} s (no PINGRESP): the connection is half-open",
                    silence.as_secs_f64()
                )))),
            };
            match read {
                Ok(n) if n > 0 => {}
                _ if drain_deadline.is_some() => break 'connect,
                other => {
                    let why = other
                        .err()
                        .map_or("closed by the broker".into(), |e| e.to_string());
                    p.lost(&why);
                    continue 'connect;
                }
            }
        }
    }
    p.metrics.mqtt_subscribed.set(0);
    Ok(())
}

impl Poller {
    /// Connects, retrying with backoff while the broker cannot be reached; `None` on shutdown.
    async fn connect(
        &mut self,
        shutdown: &CancellationToken,
    ) -> Result<Option<Session>, IngestError> {
        let mut backoff = Duration::from_millis(100);
        loop {
            self.metrics.broker.connecting(&self.address());
            let attempt = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return Ok(None),
                s = session::connect(&self.cfg) => s,
            };
            let e = match attempt {
                Ok(s) => {
                    self.discard = 0;
                    tracing::info!(session_present = s.session_present, "connected to broker");
                    // A persistent session keeps the subscription; a new one waits for SUBACK.
                    if !s.subscribing {
                        self.subscribed();
                    }
                    return Ok(Some(s));
                }
                Err(ConnectError::Fatal(e)) => return Err(e),
                Err(ConnectError::Retry(e)) => e,
            };
            let address = self.address();
            self.metrics
                .broker
                .down(&format!("cannot reach the broker at {address}: {e}"));
            tracing::warn!(broker = %address, error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot reach the broker");
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(None),
                _ = sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }

    /// Handles every whole packet in `buf`: messages are decoded and forwarded (unless shutdown
    /// stopped forwarding), a SUBACK marks ingest subscribed — or stops it when refused.
    async fn handle(
        &mut self,
        buf: &mut BytesMut,
        connection: u64,
        items_tx: &mut Option<mpsc::Sender<Item>>,
    ) -> Result<Flow, IngestError> {
        loop {
            if self.discard > 0 {
                let n = self.discard.min(buf.len());
                let _ = buf.split_to(n);
                self.discard -= n;
                if self.discard > 0 {
                    return Ok(Flow::Read);
                }
            }
            let packet = match self.cfg.protocol.read(buf) {
                Ok(Some(packet)) => packet,
                Ok(None) => return Ok(Flow::Read),
                Err(e) => return Ok(Flow::Reconnect(e)),
            };
            match packet {
                Incoming::Publish(message) => {
                    let Some(tx) = &items_tx else { continue };
                    let item = self.decode(message, connection);
                    if tx.send(item).await.is_err() {
                        *items_tx = None;
                    }
                }
                Incoming::SubAck(Ok(qos)) => {
                    if qos == 0 {
                        tracing::warn!(
                            filter = %self.cfg.subscription,
                            "the broker granted QoS 0 only: messages in flight when Forewarn \
                             stops are lost"
                        );
                    }
                    session::record_subscription(&self.cfg);
                    self.subscribed();
                }
                Incoming::SubAck(Err(reason)) => {
                    let e = IngestError::SubscriptionRefused {
                        filter: self.cfg.subscription.clone(),
                        reason,
                    };
                    self.metrics.mqtt_subscribed.set(0);
                    self.metrics.broker.down(&e.to_string());
                    return Err(e);
                }
                Incoming::Skipped { message, discard } => {
                    self.discard = discard;
                    let item = self.skipped(message, connection);
                    if let Some(tx) = &items_tx
                        && tx.send(item).await.is_err()
                    {
                        *items_tx = None;
                    }
                }
                Incoming::Disconnect(why) => {
                    return Ok(Flow::Reconnect(format!(
                        "the broker disconnected us: {why}"
                    )));
                }
                Incoming::ConnAck(_) | Incoming::Other => {}
            }
        }
    }

    fn address(&self) -> String {
        format!("{}:{}", self.cfg.host, self.cfg.port)
    }

    fn subscribed(&self) {
        self.metrics.mqtt_subscribed.set(1);
        self.metrics.broker.up();
    }

    /// The connection is gone (or is being dropped): say so; the caller reconnects.
    fn lost(&self, why: &str) {
        let address = self.address();
        self.metrics.mqtt_subscribed.set(0);
        self.metrics.mqtt_connections_lost.inc();
        self.metrics
            .broker
            .lost(&format!("lost the connection to {address}: {why}"));
        tracing::warn!(broker = %address, error = %why, "broker connection lost");
    }

    /// A message skipped on the wire, as a rejection: dead-lettered, counted, acknowledged.
    fn skipped(&mut self, message: Skipped, connection: u64) -> Item {
        self.metrics.messages_received.inc();
        let rejection = Rejection {
            topic: message.topic,
            reason: message.reason,
            detail: message.detail,
            received_at_ms: now_ms(),
            payload_excerpt: String::new(),
        };
        self.metrics.reject(rejection.reason);
        self.rejections.note(&rejection, std::time::Instant::now());
        let ack = message.pkid.map(|pkid| Ack {
            connection,
            pkid,
            rejected: Some(rejection.reason),
        });
        Item {
            ack,
            decoded: Decoded::Rejected(rejection),
        }
    }

    fn decode(&mut self, message: Message, connection: u64) -> Item {
        self.metrics.messages_received.inc();
        let decoded = decode(
            &message.topic,
            &message.payload,
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
        let rejected = match &decoded {
            Decoded::Rejected(r) => Some(r.reason),
            _ => None,
        };
        let ack = message.needs_ack.then_some(Ack {
            connection,
            pkid: message.pkid,
            rejected,
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
    version: MqttVersion,
    mut writers: mpsc::Receiver<Link>,
    mut pending: mpsc::UnboundedReceiver<(u64, Vec<Ack>)>,
    mut durable: mpsc::Receiver<u64>,
    done: oneshot::Sender<()>,
) -> Result<(), IngestError> {
    let mut writer: Option<(u64, session::Writer)> = None;
    let mut writers_open = true;
    let mut ping = pings(Duration::from_secs(30));
    let mut out = BytesMut::new();
    loop {
        tokio::select! {
            // A new connection's writer is installed before any of its messages can be durable:
            // the poller sends it before reading from that connection.
            biased;
            w = writers.recv(), if writers_open => match w {
                Some(link) => {
                    ping = pings(link.keep_alive);
                    writer = Some((link.connection, link.writer));
                }
                None => writers_open = false,
            },
            _ = ping.tick() => {
                if writer.is_some() {
                    out.clear();
                    let _ = Packet::PingReq.write(&mut out, MAX_PACKET_BYTES);
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
                        version.puback(a.pkid, a.rejected, &mut out);
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
    // DISCONNECT is the same two bytes in 3.1.1 and 5 (reason "normal", no properties).
    let _ = Packet::Disconnect.write(&mut out, MAX_PACKET_BYTES);
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

/// Pings at half the keep-alive, so the broker hears from us well within it; the first tick
/// is one period away (a fresh connection needs no ping).
fn pings(keep_alive: Duration) -> tokio::time::Interval {
    let period = keep_alive.max(Duration::from_secs(2)) / 2;
    let mut ping = tokio::time::interval_at(Instant::now() + period, period);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping
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
