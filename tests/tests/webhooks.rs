//! Webhooks across a crash: the service is SIGKILLed while it delivers, restarted, and the
//! receiver ends up with every event at least once, the first arrivals in order per ticket.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use forewarn::mosquitto::{Mosquitto, free_port};
use forewarn_tests::*;

/// Arrivals at the receiver: (event id, ticket id), in order.
type Seen = Arc<Mutex<Vec<(i64, Option<i64>)>>>;

/// A slow receiver (150 ms an answer, so a kill lands mid-delivery) that refuses the first
/// attempt of every fourth event.
async fn receiver(seen: Seen) -> String {
    let tries: Arc<Mutex<Vec<i64>>> = Default::default();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |_: HeaderMap, body: axum::body::Bytes| {
            let (seen, tries) = (seen.clone(), tries.clone());
            async move {
                tokio::time::sleep(Duration::from_millis(150)).await;
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let id = v["id"].as_i64().unwrap();
                let first = {
                    let mut t = tries.lock().unwrap();
                    let first = !t.contains(&id);
                    t.push(id);
                    first
                };
                if first && id % 4 == 0 {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                seen.lock().unwrap().push((id, v["ticket_id"].as_i64()));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/hook")
}

fn config(broker: u16) -> String {
    let mut c = format!(
        "[mqtt]\nport = {broker}\nclient_id = \"forewarn-webhook-test\"\n\n[sla]\ncheck_every_secs = 3600\n\n\
         # The receiver listens on loopback.\n[webhooks]\nallow_private = true\n"
    );
    for i in 1..=8 {
        c.push_str(&format!(
            "\n[[assets]]\nid = \"pump-{i:04}\"\nsite = \"site-a\"\nasset_type = \"centrifugal_pump\"\n"
        ));
    }
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_at_least_once_in_order_per_ticket_across_a_kill() {
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let token = create_token(&dir.path().join("data"), "admin", "ops");
    let http = format!("127.0.0.1:{}", free_port().unwrap());
    let addr: std::net::SocketAddr = http.parse().unwrap();
    let seen: Seen = Default::default();
    let url = receiver(seen.clone()).await;

    let svc = ServiceProcess::start_config(dir.path(), &config(broker.port), &http, &[]);
    wait_for_api(addr).await;
    let hook = format!(r#"{{"url":"{url}","events":["*"]}}"#);
    let (s, body) = http_send(addr, "POST", "/api/v1/webhooks", Some(&token), &hook).await;
    assert_eq!(s, 201, "{body}");
    // Eight tickets, each opened (its parts requisitioned: no stock), assigned, started (so
    // waiting for parts) and cancelled: about eight events a ticket.
    for i in 1..=8 {
        let finding = format!(
            r#"{{"asset_id":"pump-{i:04}","failure_mode":"bearing_wear","severity":"high","score":7.5,"source":"vibration-analyst"}}"#
        );
        let (s, body) = http_send(addr, "POST", "/api/v1/findings", Some(&token), &finding).await;
        assert_eq!(s, 201, "{body}");
        let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["ticket_id"]
            .as_i64()
            .unwrap();
        for to in ["assigned", "in_progress", "cancelled"] {
            let path = format!("/api/v1/tickets/{id}/transition");
            let (s, body) = http_send(
                addr,
                "POST",
                &path,
                Some(&token),
                &format!(r#"{{"to":"{to}"}}"#),
            )
            .await;
            assert_eq!(s, 200, "{to}: {body}");
        }
    }
    // Kill it in the middle of delivering.
    let started = eventually(Duration::from_secs(30), async || {
        seen.lock().unwrap().len() >= 10
    })
    .await;
    assert!(started, "deliveries began");
    svc.kill();
    let before = seen.lock().unwrap().len();

    let svc = ServiceProcess::start_config(dir.path(), &config(broker.port), &http, &[]);
    wait_for_api(addr).await;
    let (_, body) = http_send(addr, "GET", "/api/v1/outbox?limit=1000", Some(&token), "").await;
    let outbox: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert!(outbox.len() >= 60, "{}", outbox.len());
    assert!(
        before < outbox.len(),
        "the kill came before the end ({before} of {})",
        outbox.len()
    );
    let all = eventually(Duration::from_secs(60), async || {
        let s = seen.lock().unwrap();
        outbox
            .iter()
            .all(|e| s.iter().any(|(id, _)| Some(*id) == e["id"].as_i64()))
    })
    .await;
    let (_, hooks) = http_send(addr, "GET", "/api/v1/webhooks", Some(&token), "").await;
    assert!(all, "not every event arrived: {hooks}");
    assert!(svc.terminate(), "graceful stop");

    // First arrivals in order per ticket; repeats (a kill between answer and record) allowed.
    let seen = seen.lock().unwrap().clone();
    let mut firsts: BTreeMap<Option<i64>, Vec<i64>> = BTreeMap::new();
    let mut counted = std::collections::HashSet::new();
    for (id, ticket) in &seen {
        if counted.insert(*id) {
            firsts.entry(*ticket).or_default().push(*id);
        }
    }
    for (ticket, ids) in &firsts {
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ticket {ticket:?}: {ids:?}"
        );
    }
    assert_eq!(firsts.len(), 8 + usize::from(firsts.contains_key(&None)));
    println!(
        "{} events, {} arrivals ({} repeats), {} before the kill",
        outbox.len(),
        seen.len(),
        seen.len() - counted.len(),
        before
    );
}
