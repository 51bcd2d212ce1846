//! MQTT 5 against a real Mosquitto: ingest stores and acknowledges, its session (with the expiry
//! it asks for) keeps what was published while it was stopped, a short expiry really is short,
//! and a broker that refuses the subscription or the connection stops the service with the
//! broker's reason instead of leaving it "subscribed" to nothing — in 3.1.1 as well.

use std::time::Duration;

use forewarn::mosquitto::Mosquitto;
use forewarn_simulators::{Fleet, FleetConfig, PublishConfig, SimReport, publish};
use forewarn_tests::*;
use tokio_util::sync::CancellationToken;

fn mqtt5(port: u16, id: &str, session_expiry_hours: f64) -> forewarn::config::Config {
    let mut c = config(port, id);
    c.mqtt.protocol = 5;
    c.mqtt.session_expiry_hours = session_expiry_hours;
    c
}

/// A day of one fleet (seeded), published at QoS 1 and acknowledged by the broker.
async fn publish_fleet(port: u16, seed: u64, end_ms: i64) -> SimReport {
    let mut cfg = FleetConfig::ending_at(seed, 3, end_ms, 86_400_000);
    cfg.faults = 0;
    cfg.interval_ms = 10 * 60_000;
    let mut pc = PublishConfig::new("127.0.0.1", port);
    pc.client_id = format!("fleet-{seed}");
    let report = publish(Fleet::new(cfg).unwrap(), pc, None, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.readings_acked, report.readings_published);
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mqtt5_session_keeps_what_was_published_while_stopped() {
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let now = forewarn::now_ms();
    let svc = InProcess::start(mqtt5(broker.port, "forewarn-v5", 168.0), dir.path()).await;
    let first = publish_fleet(broker.port, 11, now - 2 * 86_400_000).await;
    assert_stored(&svc.handle, first.readings_acked, Duration::from_secs(30)).await;
    svc.stop().await.unwrap();
    // Stopped: the broker queues the next day for the session it keeps for a week.
    let second = publish_fleet(broker.port, 12, now - 86_400_000).await;
    let svc = InProcess::start(mqtt5(broker.port, "forewarn-v5", 168.0), dir.path()).await;
    let total = first.readings_acked + second.readings_acked;
    assert_stored(&svc.handle, total, Duration::from_secs(30)).await;
    svc.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_session_expiry_is_honoured() {
    // The control for the test above: the expiry asked for is what the broker applies.
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let now = forewarn::now_ms();
    let one_second = 1.0 / 3600.0;
    let svc = InProcess::start(mqtt5(broker.port, "forewarn-short", one_second), dir.path()).await;
    let first = publish_fleet(broker.port, 21, now - 2 * 86_400_000).await;
    assert_stored(&svc.handle, first.readings_acked, Duration::from_secs(30)).await;
    svc.stop().await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The session expired: nobody is subscribed, and the broker keeps nothing of this day.
    publish_fleet(broker.port, 22, now - 86_400_000).await;
    let svc = InProcess::start(mqtt5(broker.port, "forewarn-short", one_second), dir.path()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stored = svc.handle.store.stats().await.unwrap().points;
    assert_eq!(
        stored, first.readings_acked,
        "the expired session queued nothing"
    );
    svc.stop().await.unwrap();
}

/// Starts the service against `broker` and waits for it to stop by itself; its error.
async fn fails_on_its_own(broker: &Mosquitto, protocol: u8) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut c = mqtt5(broker.port, &format!("refused-v{protocol}"), 1.0);
    c.mqtt.protocol = protocol;
    let svc = InProcess::listening(c, dir.path()).await;
    let result = svc
        .finished(Duration::from_secs(30))
        .await
        .expect("the service stopped by itself");
    format!("{:#}", result.expect_err("the service failed"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_subscription_stops_the_service_with_the_reason() {
    // Mosquitto's dynamic-security plugin: anonymous clients may connect but not subscribe.
    let acl = tempfile::tempdir().unwrap();
    let dynsec = acl.path().join("dynamic-security.json");
    std::fs::write(
        &dynsec,
        r#"{"defaultACLAccess":{"publishClientSend":true,"publishClientReceive":true,
            "subscribe":false,"unsubscribe":true},"clients":[],"groups":[],"roles":[]}"#,
    )
    .unwrap();
    let plugin = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";
    let broker = Mosquitto::start_with(&format!(
        "plugin {plugin}\nplugin_opt_config_file {}\n",
        dynsec.display()
    ))
    .expect("mosquitto with dynamic security");
    for (protocol, reason) in [(5, "not authorized"), (3, "refused (0x80)")] {
        let error = fails_on_its_own(&broker, protocol).await;
        println!("MQTT {protocol}: {error}");
        assert!(error.contains("refused the subscription"), "{error}");
        assert!(error.contains(reason), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_stops_the_service_with_the_reason() {
    let broker = Mosquitto::start_with("allow_anonymous false\n").expect("mosquitto");
    for (protocol, reason) in [(5, "not authorized"), (3, "not authorized (0x05)")] {
        let error = fails_on_its_own(&broker, protocol).await;
        println!("MQTT {protocol}: {error}");
        assert!(error.contains("refused the connection"), "{error}");
        assert!(error.contains(reason), "{error}");
    }
}
