//! Hostile input on the wire, against a real Mosquitto: a QoS 1 message over ingest's 16 MiB
//! packet limit (Mosquitto takes up to 256 MB) used to drop the session on every redelivery and
//! wedge ingest for ever. Now it is skipped on the wire, dead-lettered with its size and
//! acknowledged (3.1.1), or never sent by the broker, which knows the limit (MQTT 5) — and what
//! is published after it is stored.

use std::time::Duration;

use forewarn::mosquitto::Mosquitto;
use forewarn_domain::RejectReason;
use forewarn_simulators::{Fleet, FleetConfig, PublishConfig, publish};
use forewarn_tests::*;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio_util::sync::CancellationToken;

/// Publishes one QoS 1 message of `bytes` and waits for the broker's PUBACK.
async fn publish_big(port: u16, topic: &str, bytes: usize) {
    let mut opts = MqttOptions::new("big-publisher", "127.0.0.1", port);
    opts.set_max_packet_size(64 << 20, 64 << 20);
    let (client, mut eventloop) = AsyncClient::new(opts, 4);
    let payload = format!("{{\"metrics\":{{\"x\":\"{}\"}}}}", "a".repeat(bytes));
    client
        .publish(topic, QoS::AtLeastOnce, false, payload)
        .await
        .unwrap();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), eventloop.poll())
            .await
            .expect("PUBACK in time")
            .expect("publisher connection");
        if let Event::Incoming(Packet::PubAck(_)) = event {
            break;
        }
    }
    let _ = client.disconnect().await;
}

async fn oversized_then_a_fleet(protocol: u8) {
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(broker.port, &format!("forewarn-big-{protocol}"));
    c.mqtt.protocol = protocol;
    let svc = InProcess::start(c, dir.path()).await;
    publish_big(broker.port, "forewarn/site-a/pump-0001/telemetry", 20 << 20).await;
    let mut cfg = FleetConfig::ending_at(41, 3, forewarn::now_ms(), 86_400_000);
    cfg.faults = 0;
    cfg.interval_ms = 10 * 60_000;
    let mut pc = PublishConfig::new("127.0.0.1", broker.port);
    pc.client_id = format!("fleet-after-big-{protocol}");
    let report = publish(Fleet::new(cfg).unwrap(), pc, None, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.readings_acked, report.readings_published);
    assert_stored(&svc.handle, report.readings_acked, Duration::from_secs(30)).await;
    let too_large = svc.handle.metrics.rejected(RejectReason::PayloadTooLarge);
    if protocol == 3 {
        assert_eq!(too_large, 1, "skipped, dead-lettered and counted once");
        let dead = std::fs::read_to_string(dir.path().join("deadletter.jsonl")).unwrap();
        assert!(dead.contains("payload_too_large"), "{dead}");
        assert!(dead.contains("over the 16 MiB packet limit"), "{dead}");
        assert!(dead.contains("pump-0001"), "{dead}");
    } else {
        // MQTT 5: the broker knows our maximum packet size and does not send it.
        assert_eq!(too_large, 0);
    }
    assert_eq!(svc.handle.metrics.mqtt_subscribed.get(), 1, "never dropped");
    svc.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_oversized_message_no_longer_wedges_ingest() {
    oversized_then_a_fleet(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_oversized_message_is_kept_away_by_an_mqtt5_broker() {
    oversized_then_a_fleet(5).await;
}
