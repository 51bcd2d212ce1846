//! InfluxDB over https with a private CA (certificates made at test time): the InfluxDB engine
//! stores and reads back through TLS when `[store.influxdb] ca_file` names the CA; trusting
//! another CA, or only the system's roots, never gets a connection.

use std::sync::Arc;
use std::time::Duration;

use forewarn::config::{Engine, InfluxSection};
use forewarn::influxd::Influxd;
use forewarn_domain::Metrics;
use forewarn_simulators::{Fleet, FleetConfig, PublishConfig, publish};
use forewarn_store::{Influx, InfluxConfig};
use forewarn_tests::pki::Pki;
use forewarn_tests::*;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_influxdb_engine_works_over_https_with_a_private_ca() {
    let pki = Pki::new();
    let influx = Influxd::start_tls(&pki.server_cert, &pki.server_key).expect("influxd");
    assert!(influx.url().starts_with("https://"));
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(broker.port, "forewarn-influx-tls");
    c.store.engine = Engine::Influxdb;
    c.store.influxdb = Some(InfluxSection {
        url: influx.url(),
        database: "fw_tls".into(),
        username: None,
        mirror: false,
        mirror_backlog_mb: 1024,
        ca_file: Some(pki.ca.clone()),
    });
    let svc = InProcess::start(c, dir.path()).await;
    let mut cfg = FleetConfig::ending_at(31, 3, forewarn::now_ms(), 86_400_000);
    cfg.faults = 0;
    cfg.interval_ms = 10 * 60_000;
    let mut pc = PublishConfig::new("127.0.0.1", broker.port);
    pc.client_id = "influx-tls-fleet".into();
    let report = publish(Fleet::new(cfg).unwrap(), pc, None, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.readings_acked, report.readings_published);
    // Stored in InfluxDB and read back from it, both over TLS.
    assert_stored(&svc.handle, report.readings_acked, Duration::from_secs(60)).await;
    svc.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ca_or_the_system_roots_get_no_connection() {
    let pki = Pki::new();
    let influx = Influxd::start_tls(&pki.server_cert, &pki.server_key).expect("influxd");
    for (name, ca_file) in [
        ("wrong CA", Some(pki.other_ca.clone())),
        ("system roots", None),
    ] {
        let client = Influx::new(
            &InfluxConfig {
                url: influx.url(),
                database: "fw_tls".into(),
                ca_file,
                ..Default::default()
            },
            Arc::new(Metrics::new()),
        )
        .unwrap();
        let e = client
            .connect(Duration::from_millis(100))
            .await
            .expect_err(name);
        println!("{name}: {e}");
        assert!(e.to_string().contains("UnknownIssuer"), "{name}: {e}");
    }
    // A CA file that is not PEM is a clear error at once, not a failed handshake later.
    let junk = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(junk.path(), "not a certificate").unwrap();
    let e = Influx::new(
        &InfluxConfig {
            url: influx.url(),
            ca_file: Some(junk.path().to_path_buf()),
            ..Default::default()
        },
        Arc::new(Metrics::new()),
    )
    .expect_err("junk CA");
    assert!(e.to_string().contains("certificate"), "{e}");
}
