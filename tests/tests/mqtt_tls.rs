//! MQTT over TLS against a real Mosquitto whose TLS listener requires a client certificate,
//! with certificates made at test time: the right CA and client certificate subscribe, ingest
//! and acknowledge every reading; trusting another CA, or presenting no client certificate, never
//! gets a session — and readiness says why.

use std::time::Duration;

use forewarn::config::MqttTlsSection;
use forewarn::mosquitto::Mosquitto;
use forewarn_simulators::{Fleet, FleetConfig, PublishConfig, publish};
use forewarn_tests::pki::Pki;
use forewarn_tests::*;
use tokio_util::sync::CancellationToken;

fn tls_config(port: u16, id: &str, tls: MqttTlsSection) -> forewarn::config::Config {
    let mut c = config(port, id);
    c.mqtt.host = "localhost".into();
    c.mqtt.tls = Some(tls);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_over_tls_with_a_client_certificate() {
    let pki = Pki::new();
    let broker =
        Mosquitto::start_tls(&pki.ca, &pki.server_cert, &pki.server_key).expect("mosquitto");
    let tls_port = broker.tls_port.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tls = MqttTlsSection {
        ca_file: pki.ca.clone(),
        cert_file: Some(pki.client_cert.clone()),
        key_file: Some(pki.client_key.clone()),
        server_name: None,
    };
    let svc = InProcess::start(tls_config(tls_port, "forewarn-tls", tls), dir.path()).await;
    let h = svc.handle.clone();
    let up = eventually(Duration::from_secs(20), async || {
        h.metrics.mqtt_subscribed.get() == 1
    })
    .await;
    assert!(up, "subscribed over TLS: {:?}", h.metrics.broker.get());
    // A fleet publishes over TLS with its own client certificate; the service receives over
    // TLS and acks.
    let mut cfg = FleetConfig::ending_at(7, 3, forewarn::now_ms(), 86_400_000);
    cfg.faults = 0;
    cfg.interval_ms = 10 * 60_000;
    let mut pc = PublishConfig::new("localhost", tls_port);
    pc.client_id = "tls-fleet".into();
    pc.tls = Some(std::sync::Arc::new(
        forewarn::https::client_config(&pki.ca, Some((&pki.client_cert, &pki.client_key))).unwrap(),
    ));
    let report = publish(Fleet::new(cfg).unwrap(), pc, None, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.readings_acked, report.readings_published);
    assert_stored(&h, report.readings_acked, Duration::from_secs(30)).await;
    drop(h);
    svc.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ca_or_no_client_certificate_gets_no_session() {
    let pki = Pki::new();
    let broker =
        Mosquitto::start_tls(&pki.ca, &pki.server_cert, &pki.server_key).expect("mosquitto");
    let tls_port = broker.tls_port.unwrap();
    let cases = [
        (
            "wrong-ca",
            MqttTlsSection {
                ca_file: pki.other_ca.clone(),
                cert_file: Some(pki.client_cert.clone()),
                key_file: Some(pki.client_key.clone()),
                server_name: None,
            },
            "TLS handshake failed",
        ),
        (
            "no-client-cert",
            MqttTlsSection {
                ca_file: pki.ca.clone(),
                cert_file: None,
                key_file: None,
                server_name: None,
            },
            "",
        ),
    ];
    for (id, tls, why) in cases {
        let dir = tempfile::tempdir().unwrap();
        let svc = InProcess::listening(tls_config(tls_port, id, tls), dir.path()).await;
        let h = svc.handle.clone();
        let refused = eventually(Duration::from_secs(15), async || {
            h.metrics
                .broker
                .get()
                .error
                .is_some_and(|e| e != "connecting")
        })
        .await;
        let state = h.metrics.broker.get();
        assert!(refused, "{id}: {state:?}");
        assert_eq!(h.metrics.mqtt_subscribed.get(), 0, "{id}: never subscribed");
        assert!(!state.connected, "{id}");
        let error = state.error.unwrap_or_default();
        println!("{id}: readiness says {error:?}");
        assert!(error.contains(why), "{id}: {error}");
        drop(h);
        svc.stop().await.unwrap();
    }
}
