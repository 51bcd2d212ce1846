//! MQTT session handling against real and hostile brokers: a changed `subscription` takes
//! effect although the broker kept the session (the old filter is unsubscribed), and a broker
//! that stops answering without closing the connection (half-open) is noticed within one and a
//! half keep-alives, not after the operating system's TCP timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use forewarn::mosquitto::Mosquitto;
use forewarn_domain::{Asset, AssetId, AssetTypeId, SiteId};
use forewarn_tests::*;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn pump(id: &str, site: &str) -> Asset {
    Asset {
        id: AssetId::new(id).unwrap(),
        site: SiteId::new(site).unwrap(),
        asset_type: AssetTypeId::new("centrifugal_pump").unwrap(),
        model: String::new(),
        location: String::new(),
        criticality: Default::default(),
    }
}

fn site_config(port: u16, filter: &str) -> forewarn::config::Config {
    let mut c = config(port, "forewarn-session");
    c.mqtt.subscription = Some(filter.into());
    c.assets = vec![pump("pump-a", "site-a"), pump("pump-b", "site-b")];
    c
}

/// One reading from each site, QoS 1, acknowledged by the broker.
async fn one_reading_per_site(port: u16) {
    let (client, mut eventloop) = AsyncClient::new(MqttOptions::new("sites", "127.0.0.1", port), 8);
    let ts = forewarn::now_ms() - 60_000;
    for (site, asset) in [("site-a", "pump-a"), ("site-b", "pump-b")] {
        let body = format!("{{\"ts\":{ts},\"metrics\":{{\"vibration_rms\":2.5}}}}");
        client
            .publish(
                format!("forewarn/{site}/{asset}/telemetry"),
                QoS::AtLeastOnce,
                false,
                body,
            )
            .await
            .unwrap();
    }
    let mut acked = 0;
    while acked < 2 {
        if let Event::Incoming(Packet::PubAck(_)) = eventloop.poll().await.unwrap() {
            acked += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_subscription_takes_effect_on_a_kept_session() {
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let svc = InProcess::start(site_config(broker.port, "forewarn/site-a/#"), dir.path()).await;
    svc.stop().await.unwrap();
    // The broker keeps the session (and its site-a filter); the operator moves this instance to
    // site B.
    let svc = InProcess::start(site_config(broker.port, "forewarn/site-b/#"), dir.path()).await;
    one_reading_per_site(broker.port).await;
    assert_stored(&svc.handle, 1, Duration::from_secs(15)).await;
    let b = AssetId::new("pump-b").unwrap();
    let latest = svc.handle.store.latest(&b).await.unwrap();
    assert!(!latest.is_empty(), "site B's reading is the one stored");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        svc.handle.store.stats().await.unwrap().points,
        1,
        "site A's never arrives"
    );
    let record = std::fs::read_to_string(dir.path().join("mqtt-subscription")).unwrap();
    assert_eq!(record.trim(), "forewarn/site-b/#");
    svc.stop().await.unwrap();
}

/// A broker that accepts, answers CONNECT and SUBSCRIBE, then never says another word while
/// keeping the connection open; counts connections.
async fn silent_broker() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = socket.read(&mut buf).await; // CONNECT
                let _ = socket.write_all(&[0x20, 0x02, 0x00, 0x00]).await;
                let _ = socket.read(&mut buf).await; // SUBSCRIBE
                let _ = socket.write_all(&[0x90, 0x03, 0x00, 0x01, 0x01]).await;
                // PINGREQs go unanswered; the socket stays open.
                while socket.read(&mut buf).await.is_ok_and(|n| n > 0) {}
            });
        }
    });
    (port, connections)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_open_broker_connection_is_noticed_within_a_keep_alive_and_a_half() {
    let (port, connections) = silent_broker().await;
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(port, "forewarn-silent");
    c.mqtt.keep_alive_secs = 5;
    let svc = InProcess::start(c, dir.path()).await;
    let h = svc.handle.clone();
    let started = std::time::Instant::now();
    let noticed = eventually(Duration::from_secs(15), async || {
        h.metrics.mqtt_connections_lost.get() >= 1
    })
    .await;
    let after = started.elapsed();
    let state = h.metrics.broker.get();
    assert!(noticed, "{state:?}");
    println!("noticed after {after:?}: {:?}", state.last_lost);
    assert!(
        state
            .last_lost
            .as_deref()
            .is_some_and(|e| e.contains("half-open")),
        "{state:?}"
    );
    assert!(
        after >= Duration::from_secs(6),
        "not before the deadline: {after:?}"
    );
    let reconnected = eventually(Duration::from_secs(5), async || {
        connections.load(Ordering::SeqCst) >= 2
    })
    .await;
    assert!(reconnected, "and it reconnects");
    drop(h);
    svc.stop().await.unwrap();
}
