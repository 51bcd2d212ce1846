//! The two MQTT versions ingest speaks — 3.1.1 and 5 — behind one small interface: the packets
//! ingest sends (CONNECT, SUBSCRIBE, PUBACK) are encoded, and the packets it receives are framed
//! into [`Incoming`], by rumqttc's codecs for the version in use.
//!
//! What MQTT 5 adds and ingest uses: a session expiry interval (a 3.1.1 persistent session lives as
//! long as the broker's configuration says; a 5 session lives as long as the client asks, and 0 —
//! the default — would drop it, and the messages queued in it, at every disconnect), reason codes
//! that say why a CONNECT or SUBSCRIBE was refused, the broker's own keep-alive, and PUBACK reason
//! codes: a message ingest rejected is acknowledged (it must not come back) with a code that says
//! it was not accepted, so a broker's trace tells stored from refused.

use std::time::Duration;

use bytes::BytesMut;
use forewarn_domain::RejectReason;
use rumqttc::v5::mqttbytes as v5b;
use rumqttc::v5::mqttbytes::v5;

use crate::IngestConfig;

/// Incoming packets can be far larger than any accepted payload: the payload limit is enforced by
/// `decode`, which rejects and acknowledges, instead of here, which would drop the connection.
pub(crate) const MAX_PACKET_BYTES: usize = 16 * 1024 * 1024;

/// The MQTT version of ingest's session with the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MqttVersion {
    /// MQTT 3.1.1 (protocol level 4): what every broker speaks.
    #[default]
    V311,
    /// MQTT 5, asking the broker to keep the session this long after a disconnect.
    V5 {
        /// The session expiry interval (at most about 136 years; `u32::MAX` seconds is "never").
        session_expiry: Duration,
    },
}

/// A PUBLISH as ingest needs it, whichever the version.
#[derive(Debug)]
pub(crate) struct Message {
    pub topic: String,
    pub payload: bytes::Bytes,
    /// Whether it needs a PUBACK (QoS 1; QoS 2 is never granted since ingest subscribes at 1).
    pub needs_ack: bool,
    pub pkid: u16,
}

/// What the broker sent, in the terms ingest acts on.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// The answer to CONNECT.
    ConnAck(ConnAckInfo),
    /// A message.
    Publish(Message),
    /// The answer to SUBSCRIBE: the QoS granted, or why the subscription was refused.
    SubAck(Result<u8, String>),
    /// An MQTT 5 broker closing the connection, and why.
    Disconnect(String),
    /// A PUBLISH ingest cannot take whole — over the packet limit, or undecodable — skipped on
    /// the wire; `discard` more of its bytes are still to come and must be dropped as they do.
    Skipped {
        /// What is known of it.
        message: Skipped,
        /// Bytes of it not yet received.
        discard: usize,
    },
    /// Anything ingest has nothing to do with (PINGRESP, …).
    Other,
}

/// A PUBLISH skipped on the wire: dead-lettered and, at QoS 1, acknowledged, so the broker does
/// not send it again and what follows it still arrives.
#[derive(Debug)]
pub(crate) struct Skipped {
    /// Its topic (empty when it could not be read).
    pub topic: String,
    /// Its packet id, when it needs a PUBACK.
    pub pkid: Option<u16>,
    /// Why it was skipped.
    pub reason: RejectReason,
    /// In words, with its size.
    pub detail: String,
}

/// Where a packet's frame starts and how long it is, from its fixed header.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// The first byte: packet type and flags.
    first: u8,
    /// Bytes of the fixed header.
    header: usize,
    /// Bytes of the whole packet.
    total: usize,
}

impl Frame {
    /// The fixed header at the start of `buf`; `None` until enough of it is there.
    fn peek(buf: &[u8]) -> Result<Option<Frame>, String> {
        let mut remaining = 0usize;
        for i in 0..4 {
            let Some(&b) = buf.get(1 + i) else {
                return Ok(None);
            };
            remaining |= ((b & 0x7f) as usize) << (7 * i);
            if b & 0x80 == 0 {
                let header = 2 + i;
                return Ok(Some(Frame {
                    first: buf[0],
                    header,
                    total: header + remaining,
                }));
            }
        }
        Err("malformed packet from the broker: a remaining length over 4 bytes".into())
    }

    fn is_publish(&self) -> bool {
        self.first >> 4 == 3
    }

    /// The topic's byte range and the packet id of a PUBLISH, once those bytes are in `buf`.
    fn publish_head(&self, buf: &[u8]) -> Option<(std::ops::Range<usize>, Option<u16>)> {
        let at = self.header;
        let len = u16::from_be_bytes([*buf.get(at)?, *buf.get(at + 1)?]) as usize;
        let topic = at + 2..at + 2 + len;
        if buf.len() < topic.end {
            return None;
        }
        let qos = (self.first >> 1) & 3;
        let pkid = match qos {
            0 => None,
            _ => Some(u16::from_be_bytes([
                *buf.get(topic.end)?,
                *buf.get(topic.end + 1)?,
            ])),
        };
        (topic.end + if qos > 0 { 2 } else { 0 } <= self.total).then_some((topic, pkid))
    }
}

/// The answer to CONNECT.
#[derive(Debug)]
pub(crate) struct ConnAckInfo {
    /// Whether the broker kept our session (and so our subscription).
    pub session_present: bool,
    /// Why the broker refused the connection, if it did.
    pub refused: Option<String>,
    /// The keep-alive an MQTT 5 broker imposes (the client must use it).
    pub keep_alive: Option<Duration>,
    /// The session expiry an MQTT 5 broker grants when it differs from the one asked for.
    pub session_expiry: Option<Duration>,
}

impl MqttVersion {
    /// CONNECT with a persistent session, credentials when configured.
    pub(crate) fn connect(self, cfg: &IngestConfig, out: &mut BytesMut) -> Result<(), String> {
        let keep_alive = cfg.keep_alive.as_secs().clamp(1, u16::MAX as u64) as u16;
        match self {
            MqttVersion::V311 => {
                let mut connect = rumqttc::Connect::new(cfg.client_id.clone());
                connect.keep_alive = keep_alive;
                connect.clean_session = false;
                if let Some((user, pass)) = &cfg.credentials {
                    connect.set_login(user.clone(), pass.clone());
                }
                write_v311(rumqttc::Packet::Connect(connect), out)
            }
            MqttVersion::V5 { session_expiry } => {
                let mut props = v5::ConnectProperties::new();
                props.session_expiry_interval = Some(expiry_secs(session_expiry));
                props.max_packet_size = Some(MAX_PACKET_BYTES as u32);
                let connect = v5::Connect {
                    keep_alive,
                    client_id: cfg.client_id.clone(),
                    clean_start: false,
                    properties: Some(props),
                };
                let login = cfg
                    .credentials
                    .as_ref()
                    .map(|(u, p)| v5::Login::new(u.clone(), p.clone()));
                write_v5(v5::Packet::Connect(connect, None, login), out)
            }
        }
    }

    /// SUBSCRIBE to `filter` at QoS 1 (packet id 1: it is the only one in flight).
    pub(crate) fn subscribe(self, filter: &str, out: &mut BytesMut) -> Result<(), String> {
        match self {
            MqttVersion::V311 => {
                let mut sub = rumqttc::Subscribe::new(filter, rumqttc::QoS::AtLeastOnce);
                sub.pkid = 1;
                write_v311(rumqttc::Packet::Subscribe(sub), out)
            }
            MqttVersion::V5 { .. } => {
                let mut sub =
                    v5::Subscribe::new(v5::Filter::new(filter, v5b::QoS::AtLeastOnce), None);
                sub.pkid = 1;
                write_v5(v5::Packet::Subscribe(sub), out)
            }
        }
    }

    /// UNSUBSCRIBE from `filter` (packet id 2), when the configured filter changed.
    pub(crate) fn unsubscribe(self, filter: &str, out: &mut BytesMut) -> Result<(), String> {
        match self {
            MqttVersion::V311 => {
                let mut unsub = rumqttc::Unsubscribe::new(filter);
                unsub.pkid = 2;
                write_v311(rumqttc::Packet::Unsubscribe(unsub), out)
            }
            MqttVersion::V5 { .. } => {
                let mut unsub = v5::Unsubscribe::new(filter, None);
                unsub.pkid = 2;
                write_v5(v5::Packet::Unsubscribe(unsub), out)
            }
        }
    }

    /// PUBACK of message `pkid`; with MQTT 5, a rejected message's says why it was not accepted.
    pub(crate) fn puback(self, pkid: u16, rejected: Option<RejectReason>, out: &mut BytesMut) {
        // Writing to a BytesMut cannot fail: the results are the codec's length bookkeeping.
        match self {
            MqttVersion::V311 => {
                let _ = rumqttc::PubAck::new(pkid).write(out);
            }
            MqttVersion::V5 { .. } => {
                let mut ack = v5::PubAck::new(pkid, None);
                ack.reason = rejected.map_or(v5::PubAckReason::Success, puback_reason);
                let _ = ack.write(out);
            }
        }
    }

    /// The next whole packet in `buf`, if there is one. A PUBLISH over the packet limit, or one
    /// the codec cannot read, comes out as [`Incoming::Skipped`] instead of stopping the session
    /// (the broker would send it again on every reconnect, and nothing after it).
    pub(crate) fn read(self, buf: &mut BytesMut) -> Result<Option<Incoming>, String> {
        let Some(frame) = Frame::peek(buf)? else {
            return Ok(None);
        };
        if frame.total > MAX_PACKET_BYTES {
            return skip_oversized(buf, frame);
        }
        if buf.len() < frame.total {
            buf.reserve(frame.total - buf.len());
            return Ok(None);
        }
        // Read before the codec consumes the frame: what a dead letter and a PUBACK need.
        let head = frame
            .is_publish()
            .then(|| frame.publish_head(buf))
            .flatten();
        let decoded = match self {
            MqttVersion::V311 => rumqttc::Packet::read(buf, MAX_PACKET_BYTES)
                .map(from_v311)
                .map_err(|e| format!("{e:?}")),
            MqttVersion::V5 { .. } => v5::Packet::read(buf, Some(MAX_PACKET_BYTES as u32))
                .map(from_v5)
                .map_err(|e| format!("{e:?}")),
        };
        match (decoded, head) {
            (Ok(p), _) => Ok(Some(p)),
            (Err(e), Some((_, pkid))) => Ok(Some(Incoming::Skipped {
                message: Skipped {
                    topic: String::new(),
                    pkid,
                    reason: RejectReason::InvalidTopic,
                    detail: format!("a PUBLISH that could not be decoded ({e}), skipped"),
                },
                discard: 0,
            })),
            (Err(e), None) => Err(format!("malformed packet from the broker: {e}")),
        }
    }
}

/// A PUBLISH over the packet limit: its head read, the rest dropped as it arrives.
fn skip_oversized(buf: &mut BytesMut, frame: Frame) -> Result<Option<Incoming>, String> {
    if !frame.is_publish() {
        return Err(format!(
            "a {}-byte packet of type {} from the broker, over the limit",
            frame.total,
            frame.first >> 4
        ));
    }
    let Some((topic, pkid)) = frame.publish_head(buf) else {
        // The head is at most 64 KiB in: wait for it.
        return Ok(None);
    };
    let topic = String::from_utf8_lossy(&buf[topic]).into_owned();
    let here = buf.len().min(frame.total);
    let _ = buf.split_to(here);
    Ok(Some(Incoming::Skipped {
        message: Skipped {
            topic,
            pkid,
            reason: RejectReason::PayloadTooLarge,
            detail: format!(
                "a {} byte message, over the {} MiB packet limit: skipped on the wire",
                frame.total,
                MAX_PACKET_BYTES >> 20
            ),
        },
        discard: frame.total - here,
    }))
}

/// Encodes a 3.1.1 packet into `out`.
fn write_v311(packet: rumqttc::Packet, out: &mut BytesMut) -> Result<(), String> {
    packet
        .write(out, MAX_PACKET_BYTES)
        .map(drop)
        .map_err(|e| format!("{e:?}"))
}

/// Encodes an MQTT 5 packet into `out`.
fn write_v5(packet: v5::Packet, out: &mut BytesMut) -> Result<(), String> {
    packet
        .write(out, None)
        .map(drop)
        .map_err(|e| format!("{e:?}"))
}

/// Seconds for the session expiry property, saturating at "never".
fn expiry_secs(d: Duration) -> u32 {
    d.as_secs().min(u32::MAX as u64) as u32
}

fn from_v311(p: rumqttc::Packet) -> Incoming {
    use rumqttc::{ConnectReturnCode as C, Packet, SubscribeReasonCode as S};
    match p {
        Packet::Publish(p) => Incoming::Publish(Message {
            topic: p.topic,
            payload: p.payload,
            needs_ack: p.qos != rumqttc::QoS::AtMostOnce,
            pkid: p.pkid,
        }),
        Packet::ConnAck(a) => Incoming::ConnAck(ConnAckInfo {
            session_present: a.session_present,
            refused: (a.code != C::Success).then(|| {
                let why = match a.code {
                    C::BadUserNamePassword => "bad user name or password",
                    C::NotAuthorized => "not authorized",
                    C::BadClientId => "client id rejected",
                    C::RefusedProtocolVersion => "MQTT 3.1.1 not supported",
                    _ => "server unavailable",
                };
                format!("{why} ({:#04x})", a.code as u8)
            }),
            keep_alive: None,
            session_expiry: None,
        }),
        Packet::SubAck(s) => Incoming::SubAck(match s.return_codes.first() {
            Some(S::Success(qos)) => Ok(*qos as u8),
            Some(S::Failure) => Err("refused (0x80)".into()),
            None => Err("a SUBACK without a return code".into()),
        }),
        _ => Incoming::Other,
    }
}

fn from_v5(p: v5::Packet) -> Incoming {
    match p {
        v5::Packet::Publish(p) => Incoming::Publish(Message {
            // MQTT requires UTF-8 topics; a broken one is rejected by decode as an invalid topic.
            topic: String::from_utf8_lossy(&p.topic).into_owned(),
            payload: p.payload,
            needs_ack: p.qos != v5b::QoS::AtMostOnce,
            pkid: p.pkid,
        }),
        v5::Packet::ConnAck(a) => {
            let props = a.properties.as_ref();
            let secs = |s: u32| Duration::from_secs(s as u64);
            Incoming::ConnAck(ConnAckInfo {
                session_present: a.session_present,
                refused: (a.code != v5::ConnectReturnCode::Success).then(|| {
                    let reason = props.and_then(|p| p.reason_string.as_deref());
                    with_reason(words(&format!("{:?}", a.code)), reason)
                }),
                keep_alive: props
                    .and_then(|p| p.server_keep_alive)
                    .map(|s| secs(s as u32)),
                session_expiry: props.and_then(|p| p.session_expiry_interval).map(secs),
            })
        }
        v5::Packet::SubAck(s) => Incoming::SubAck(match s.return_codes.first() {
            Some(v5::SubscribeReasonCode::Success(qos)) => Ok(*qos as u8),
            Some(code) => Err(with_reason(
                words(&format!("{code:?}")),
                s.properties
                    .as_ref()
                    .and_then(|p| p.reason_string.as_deref()),
            )),
            None => Err("a SUBACK without a reason code".into()),
        }),
        v5::Packet::Disconnect(d) => Incoming::Disconnect(with_reason(
            words(&format!("{:?}", d.reason_code)),
            d.properties
                .as_ref()
                .and_then(|p| p.reason_string.as_deref()),
        )),
        _ => Incoming::Other,
    }
}

/// A reason code's name, with the broker's own words when it sent some.
fn with_reason(code: String, reason: Option<&str>) -> String {
    match reason {
        Some(r) if !r.is_empty() => format!("{code}: {r}"),
        _ => code,
    }
}

/// A reason code's name in words: `BadUserNamePassword` → "bad user name password".
fn words(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The PUBACK reason code for a message ingest did not accept.
fn puback_reason(r: RejectReason) -> v5::PubAckReason {
    match r {
        RejectReason::InvalidTopic => v5::PubAckReason::TopicNameInvalid,
        RejectReason::UnknownAsset
        | RejectReason::UnknownAssetType
        | RejectReason::AssetConflict
        | RejectReason::TooManyAssets
        | RejectReason::SiteMismatch => v5::PubAckReason::NotAuthorized,
        RejectReason::PayloadTooLarge => v5::PubAckReason::QuotaExceeded,
        _ => v5::PubAckReason::PayloadFormatInvalid,
    }
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
