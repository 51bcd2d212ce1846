//! Webhooks to an https receiver whose certificate a private CA signed (made at test time):
//! with `[webhooks] ca_file` naming that CA the service delivers, signed; the same client
//! without it (the system's roots only) is refused by certificate verification.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use forewarn::mosquitto::Mosquitto;
use forewarn_domain::{Asset, AssetId, AssetTypeId, SiteId};
use forewarn_maintenance::Role;
use forewarn_tests::pki::Pki;
use forewarn_tests::*;

/// An https receiver on localhost that records each event's kind; returns its URL.
async fn receiver(pki: &Pki, seen: Arc<Mutex<Vec<String>>>) -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                seen.lock()
                    .unwrap()
                    .push(v["kind"].as_str().unwrap_or("").to_owned());
                StatusCode::NO_CONTENT
            }
        }),
    );
    let tls = forewarn::https::server_config(&pki.server_cert, &pki.server_key).unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let gate = forewarn::serve::Gate::new(64, Arc::new(forewarn_domain::Metrics::new()));
    let listener = forewarn::https::TlsListener::new(tcp, tls, gate);
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(forewarn::serve::serve(
        listener,
        app,
        Duration::from_secs(30),
        stop,
    ));
    format!("https://localhost:{port}/hook")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_an_https_receiver_signed_by_a_private_ca() {
    let pki = Pki::new();
    let seen: Arc<Mutex<Vec<String>>> = Default::default();
    let url = receiver(&pki, seen.clone()).await;
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(broker.port, "forewarn-webhooks-tls");
    c.webhooks.allow_private = true; // the receiver listens on loopback
    c.webhooks.ca_file = Some(pki.ca.clone());
    c.assets.push(Asset {
        id: AssetId::new("pump-0001").unwrap(),
        site: SiteId::new("site-a").unwrap(),
        asset_type: AssetTypeId::new("centrifugal_pump").unwrap(),
        model: String::new(),
        location: String::new(),
        criticality: Default::default(),
    });
    let svc = InProcess::start(c, dir.path()).await;
    let addr = svc.handle.http_addr;
    let admin = svc
        .handle
        .db
        .create_token("admin", Role::Admin)
        .await
        .unwrap();
    let body = serde_json::json!({ "url": url, "events": ["ticket.opened"] }).to_string();
    let (s, b) = http_send(addr, "POST", "/api/v1/webhooks", Some(&admin), &body).await;
    assert_eq!(s, 201, "{b}");
    let ticket = r#"{"asset_id":"pump-0001","failure_mode":"bearing_wear","note":"noisy"}"#;
    let (s, b) = http_send(addr, "POST", "/api/v1/tickets", Some(&admin), ticket).await;
    assert_eq!(s, 201, "{b}");
    let arrived = eventually(Duration::from_secs(20), async || {
        seen.lock().unwrap().iter().any(|k| k == "ticket.opened")
    })
    .await;
    assert!(arrived, "delivered over TLS: {:?}", seen.lock().unwrap());

    // The same receiver, trusted through the system's roots only: a failed handshake, said so.
    let plain =
        forewarn_maintenance::webhooks::guard::client(Duration::from_secs(5), true, None).unwrap();
    let e = plain
        .post(&url)
        .body("{}")
        .send()
        .await
        .expect_err("unknown CA");
    let chain = format!("{:?}", e);
    assert!(chain.contains("UnknownIssuer"), "{chain}");
    // And a CA file that is not one stops the deliverer at once with a clear reason.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let e =
        forewarn_maintenance::webhooks::guard::client(Duration::from_secs(5), true, Some(&junk))
            .expect_err("junk CA");
    assert!(e.to_string().contains("no PEM certificate"), "{e}");
    svc.stop().await.unwrap();
}
