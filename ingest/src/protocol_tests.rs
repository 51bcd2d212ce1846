//! The packets ingest writes, read back by the codec a broker would use, and the packets a broker
//! sends, read by ingest: the MQTT 5 properties and reason codes survive the round trip.

use std::time::Duration;

use bytes::BytesMut;
use forewarn_domain::RejectReason;
use rumqttc::v5::mqttbytes as v5b;
use rumqttc::v5::mqttbytes::v5;

use super::*;

fn v5() -> MqttVersion {
    MqttVersion::V5 {
        session_expiry: Duration::from_secs(7 * 86_400),
    }
}

fn cfg() -> IngestConfig {
    let mut c = IngestConfig::new("localhost", 1883);
    c.client_id = "ingest-a".into();
    c.credentials = Some(("plant".into(), "secret".into()));
    c
}

#[test]
fn an_mqtt5_connect_asks_for_a_lasting_session() {
    let mut out = BytesMut::new();
    v5().connect(&cfg(), &mut out).unwrap();
    let v5::Packet::Connect(connect, will, login) = v5::Packet::read(&mut out, None).unwrap()
    else {
        panic!("not a CONNECT");
    };
    assert!(
        !connect.clean_start,
        "the session and its queue survive a restart"
    );
    assert_eq!(connect.client_id, "ingest-a");
    assert_eq!(connect.keep_alive, 30);
    let props = connect.properties.expect("properties");
    assert_eq!(props.session_expiry_interval, Some(7 * 86_400));
    assert_eq!(props.max_packet_size, Some(MAX_PACKET_BYTES as u32));
    assert!(will.is_none());
    let login = login.expect("credentials");
    assert_eq!(
        (login.username.as_str(), login.password.as_str()),
        ("plant", "secret")
    );
}

#[test]
fn a_session_expiry_past_the_field_means_never() {
    assert_eq!(expiry_secs(Duration::from_secs(u64::MAX)), u32::MAX);
    assert_eq!(expiry_secs(Duration::from_secs(3600)), 3600);
}

#[test]
fn a_311_connect_is_a_persistent_session() {
    let mut out = BytesMut::new();
    MqttVersion::V311.connect(&cfg(), &mut out).unwrap();
    let rumqttc::Packet::Connect(c) = rumqttc::Packet::read(&mut out, 1024).unwrap() else {
        panic!("not a CONNECT");
    };
    assert!(!c.clean_session);
    assert_eq!(c.login.unwrap().username, "plant");
}

#[test]
fn subscribe_asks_for_qos_1_in_either_version() {
    let mut out = BytesMut::new();
    v5().subscribe("forewarn/#", &mut out).unwrap();
    let v5::Packet::Subscribe(s) = v5::Packet::read(&mut out, None).unwrap() else {
        panic!("not a SUBSCRIBE");
    };
    assert_eq!(s.filters[0].path, "forewarn/#");
    assert_eq!(s.filters[0].qos, v5b::QoS::AtLeastOnce);
    MqttVersion::V311.subscribe("forewarn/#", &mut out).unwrap();
    let rumqttc::Packet::Subscribe(s) = rumqttc::Packet::read(&mut out, 1024).unwrap() else {
        panic!("not a SUBSCRIBE");
    };
    assert_eq!(s.filters[0].qos, rumqttc::QoS::AtLeastOnce);
}

#[test]
fn an_mqtt5_puback_says_why_a_message_was_not_accepted() {
    let cases = [
        (None, v5::PubAckReason::Success),
        (
            Some(RejectReason::MalformedJson),
            v5::PubAckReason::PayloadFormatInvalid,
        ),
        (
            Some(RejectReason::InvalidTopic),
            v5::PubAckReason::TopicNameInvalid,
        ),
        (
            Some(RejectReason::UnknownAsset),
            v5::PubAckReason::NotAuthorized,
        ),
        (
            Some(RejectReason::PayloadTooLarge),
            v5::PubAckReason::QuotaExceeded,
        ),
    ];
    for (rejected, reason) in cases {
        let mut out = BytesMut::new();
        v5().puback(42, rejected, &mut out);
        let v5::Packet::PubAck(ack) = v5::Packet::read(&mut out, None).unwrap() else {
            panic!("not a PUBACK");
        };
        assert_eq!((ack.pkid, ack.reason), (42, reason), "{rejected:?}");
    }
    // 3.1.1 has no reason codes: every PUBACK is the same four bytes.
    let mut out = BytesMut::new();
    MqttVersion::V311.puback(42, Some(RejectReason::MalformedJson), &mut out);
    assert_eq!(&out[..], &[0x40, 2, 0, 42]);
}

fn suback_v5(code: v5::SubscribeReasonCode, reason: Option<&str>) -> BytesMut {
    let props = reason.map(|r| v5::SubAckProperties {
        reason_string: Some(r.into()),
        user_properties: vec![],
    });
    let mut out = BytesMut::new();
    v5::SubAck {
        pkid: 1,
        return_codes: vec![code],
        properties: props,
    }
    .write(&mut out)
    .unwrap();
    out
}

#[test]
fn a_refused_subscription_is_read_with_its_reason() {
    let mut buf = suback_v5(v5::SubscribeReasonCode::NotAuthorized, Some("acl"));
    let Some(Incoming::SubAck(r)) = v5().read(&mut buf).unwrap() else {
        panic!("not a SUBACK");
    };
    assert_eq!(r, Err("not authorized: acl".to_string()));
    let mut buf = suback_v5(
        v5::SubscribeReasonCode::Success(v5b::QoS::AtLeastOnce),
        None,
    );
    let Some(Incoming::SubAck(r)) = v5().read(&mut buf).unwrap() else {
        panic!("not a SUBACK");
    };
    assert_eq!(r, Ok(1));
    // 3.1.1: return code 0x80.
    let mut buf = BytesMut::from(&[0x90, 3, 0, 1, 0x80][..]);
    let Some(Incoming::SubAck(r)) = MqttVersion::V311.read(&mut buf).unwrap() else {
        panic!("not a SUBACK");
    };
    assert_eq!(r, Err("refused (0x80)".to_string()));
}

#[test]
fn a_refused_connection_is_read_with_its_reason() {
    let mut out = BytesMut::new();
    v5::ConnAck {
        session_present: false,
        code: v5::ConnectReturnCode::BadUserNamePassword,
        properties: None,
    }
    .write(&mut out)
    .unwrap();
    let Some(Incoming::ConnAck(a)) = v5().read(&mut out).unwrap() else {
        panic!("not a CONNACK");
    };
    assert_eq!(a.refused.as_deref(), Some("bad user name password"));
    // 3.1.1: return code 4.
    let mut buf = BytesMut::from(&[0x20, 2, 0, 4][..]);
    let Some(Incoming::ConnAck(a)) = MqttVersion::V311.read(&mut buf).unwrap() else {
        panic!("not a CONNACK");
    };
    assert_eq!(
        a.refused.as_deref(),
        Some("bad user name or password (0x04)")
    );
}

#[test]
fn a_partial_packet_waits_for_the_rest() {
    let mut out = BytesMut::new();
    let mut publish = v5::Publish::new("forewarn/a/b/telemetry", v5b::QoS::AtLeastOnce, "{}", None);
    publish.pkid = 7;
    publish.write(&mut out).unwrap();
    let whole = out.clone();
    let mut half = BytesMut::from(&whole[..whole.len() - 1]);
    assert!(v5().read(&mut half).unwrap().is_none());
    half.extend_from_slice(&whole[whole.len() - 1..]);
    let Some(Incoming::Publish(m)) = v5().read(&mut half).unwrap() else {
        panic!("not a PUBLISH");
    };
    assert_eq!(m.topic, "forewarn/a/b/telemetry");
    assert!(m.needs_ack);
    assert_eq!(m.pkid, 7);
}

/// A QoS 1 PUBLISH's fixed and variable header claiming `remaining` bytes after the fixed header.
fn publish_head(topic: &[u8], pkid: u16, remaining: usize) -> BytesMut {
    let mut out = BytesMut::new();
    out.extend_from_slice(&[0x32]);
    let mut n = remaining;
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.extend_from_slice(&[b]);
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    out.extend_from_slice(topic);
    out.extend_from_slice(&pkid.to_be_bytes());
    out
}

#[test]
fn a_message_over_the_packet_limit_is_skipped_not_fatal() {
    for version in [MqttVersion::V311, v5()] {
        let topic = b"forewarn/site-a/pump-1/telemetry";
        let remaining = 20 << 20;
        let mut buf = publish_head(topic, 9, remaining);
        let header = buf.len() - topic.len() - 4;
        buf.extend_from_slice(&[b'x'; 100]);
        let arrived = buf.len();
        let Some(Incoming::Skipped { message, discard }) = version.read(&mut buf).unwrap() else {
            panic!("not skipped");
        };
        assert_eq!(message.topic, "forewarn/site-a/pump-1/telemetry");
        assert_eq!(message.pkid, Some(9), "acknowledged, so never sent again");
        assert_eq!(message.reason, RejectReason::PayloadTooLarge);
        assert!(message.detail.contains("20971"), "{}", message.detail);
        assert_eq!(discard, header + remaining - arrived);
        assert!(buf.is_empty(), "what arrived of it is dropped");
    }
}

#[test]
fn an_undecodable_publish_is_skipped_and_what_follows_is_read() {
    // A topic that is not UTF-8: the codec refuses the packet; the next one is still read.
    let topic = [0xff, 0xfe, b'/', b'x'];
    let mut buf = publish_head(&topic, 5, 2 + topic.len() + 2 + 2);
    buf.extend_from_slice(b"{}");
    buf.extend_from_slice(&[0xd0, 0x00]); // PINGRESP
    let Some(Incoming::Skipped { message, discard }) = MqttVersion::V311.read(&mut buf).unwrap()
    else {
        panic!("not skipped");
    };
    assert_eq!((message.pkid, discard), (Some(5), 0));
    assert!(
        message.detail.contains("could not be decoded"),
        "{}",
        message.detail
    );
    assert!(matches!(
        MqttVersion::V311.read(&mut buf).unwrap(),
        Some(Incoming::Other)
    ));
}

#[test]
fn a_partial_fixed_header_waits() {
    let mut buf = BytesMut::from(&[0x32, 0x80][..]);
    assert!(MqttVersion::V311.read(&mut buf).unwrap().is_none());
    let mut bad = BytesMut::from(&[0x32, 0xff, 0xff, 0xff, 0xff, 0x01][..]);
    assert!(MqttVersion::V311.read(&mut bad).is_err());
}
