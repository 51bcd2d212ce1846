//! Webhook deliveries to a real HTTP receiver: signed, at least once, in order per ticket
//! through failures and backoff, given up after the last attempt and redeliverable.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use forewarn_domain::{Criticality, Severity};

use super::deliver::{DeliveryConfig, run, signature};
use super::*;
use crate::db::tests::alert;

/// What the receiver saw: (event id, ticket, kind, signature valid), in arrival order.
type Seen = Arc<Mutex<Vec<(i64, Option<i64>, String, bool)>>>;

/// A receiver on a free port that refuses an event's first `fail_first` attempts when `fails`
/// says so; returns its URL.
async fn receiver(
    secret: Arc<Mutex<String>>,
    seen: Seen,
    fails: fn(i64, Option<i64>) -> bool,
) -> String {
    let tries: Arc<Mutex<Vec<i64>>> = Default::default();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let (secret, seen, tries) = (secret.clone(), seen.clone(), tries.clone());
            async move {
                let h = |k: &str| {
                    headers
                        .get(k)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned()
                };
                let ts: i64 = h("x-forewarn-timestamp").parse().unwrap_or(0);
                let valid = Some(h("x-forewarn-signature"))
                    == signature(&secret.lock().unwrap(), ts, &body);
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let id = v["id"].as_i64().unwrap();
                assert_eq!(h("x-forewarn-delivery"), id.to_string());
                assert_eq!(h("x-forewarn-event"), v["kind"].as_str().unwrap());
                let ticket = v["ticket_id"].as_i64();
                let first = {
                    let mut t = tries.lock().unwrap();
                    let first = !t.contains(&id);
                    t.push(id);
                    first
                };
                if first && fails(id, ticket) {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                seen.lock().unwrap().push((
                    id,
                    ticket,
                    v["kind"].as_str().unwrap().to_owned(),
                    valid,
                ));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/hook")
}

fn fast() -> DeliveryConfig {
    DeliveryConfig {
        poll: Duration::from_millis(10),
        first_retry: Duration::from_millis(20),
        max_retry: Duration::from_millis(200),
        // The receivers here listen on loopback.
        allow_private: true,
        ..DeliveryConfig::default()
    }
}

#[tokio::test]
async fn events_arrive_signed_once_each_and_in_order_per_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    let secret: Arc<Mutex<String>> = Default::default();
    let seen: Seen = Default::default();
    // Ticket 2's events and the low-stock ones fail their first attempt.
    let url = receiver(secret.clone(), seen.clone(), |_, t| {
        t == Some(2) || t.is_none()
    })
    .await;
    let (hook, key) = db.create_webhook(&url, &["*".into()]).await.unwrap();
    *secret.lock().unwrap() = key;
    for asset in ["p-1", "p-2", "p-3"] {
        db.open_ticket(
            &alert(asset, "bearing_wear", Severity::Critical),
            &Criticality::High.into(),
        )
        .await
        .unwrap();
    }
    // Every event is waiting when deliveries start, so whether ticket 3's go before ticket 2's
    // retry does not depend on how fast the database opened the tickets (it did on PostgreSQL).
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let deliverer = tokio::spawn(run(db.clone(), fast(), async move {
        let _ = stop_rx.await;
    }));
    let expected = db.outbox(0, 1000).await.unwrap();
    assert!(expected.len() >= 9, "{expected:?}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while seen.lock().unwrap().len() < expected.len() {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            seen.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_tx.send(()).unwrap();
    deliverer.await.unwrap().unwrap();

    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().all(|s| s.3), "every signature verifies");
    let mut ids: Vec<i64> = seen.iter().map(|s| s.0).collect();
    ids.sort();
    assert_eq!(
        ids,
        expected.iter().map(|e| e.id).collect::<Vec<_>>(),
        "each once"
    );
    for ticket in [Some(1), Some(2), Some(3), None] {
        let order: Vec<i64> = seen.iter().filter(|s| s.1 == ticket).map(|s| s.0).collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "{ticket:?}: {order:?}"
        );
    }
    // Ticket 2's events came after ticket 3's first ones: one slow line does not hold others.
    let pos = |id: i64| seen.iter().position(|s| s.0 == id).unwrap();
    let first_of = |t: i64| expected.iter().find(|e| e.ticket_id == Some(t)).unwrap().id;
    assert!(pos(first_of(2)) > pos(first_of(3)));
    let log = db.deliveries(hook.id, None, 1000).await.unwrap().unwrap();
    assert!(log.iter().any(|d| d.status == Some(500) && d.attempt == 1));
    assert!(log.iter().any(|d| d.status == Some(204) && d.attempt == 2));
    let hooks = db.webhooks().await.unwrap();
    assert_eq!((hooks[0].pending, hooks[0].failed), (0, 0));
}

#[tokio::test]
async fn an_unreachable_receiver_is_retried_then_given_up_and_redeliverable() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    // Nothing listens on a port that was just free.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (hook, _) = db
        .create_webhook(
            &format!("http://127.0.0.1:{port}/x"),
            &["ticket.opened".into()],
        )
        .await
        .unwrap();
    db.open_ticket(
        &alert("p-1", "bearing_wear", Severity::Medium),
        &Criticality::Medium.into(),
    )
    .await
    .unwrap();
    let cfg = DeliveryConfig {
        max_attempts: 4,
        ..fast()
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let deliverer = tokio::spawn(run(db.clone(), cfg.clone(), async move {
        let _ = stop_rx.await;
    }));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while db.webhooks().await.unwrap()[0].failed == 0 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_tx.send(()).unwrap();
    deliverer.await.unwrap().unwrap();
    let log = db.deliveries(hook.id, None, 100).await.unwrap().unwrap();
    assert_eq!(log.len(), 4, "only ticket.opened, four attempts");
    assert!(log.iter().all(|d| d.status.is_none() && d.error.is_some()));
    // Backoff doubles: 20, 40, 80 ms … capped.
    assert_eq!(cfg.backoff(1), Duration::from_millis(20));
    assert_eq!(cfg.backoff(3), Duration::from_millis(80));
    assert_eq!(cfg.backoff(30), Duration::from_millis(200));
    assert_eq!(db.redeliver_failed(hook.id).await.unwrap(), 1);
    assert_eq!(db.webhooks().await.unwrap()[0].pending, 1);
    // Bad subscriptions are refused.
    assert!(db.create_webhook("ftp://x", &["*".into()]).await.is_err());
    assert!(db.create_webhook("http://x", &[]).await.is_err());
    assert!(wants(&["sla.*".into()], "sla.breached") && !wants(&["sla.*".into()], "ticket.opened"));
}

/// Delivers `hook`'s first event with `cfg` until it is given up; the delivery log.
async fn give_up(db: &Maintenance, hook: i64, cfg: DeliveryConfig) -> Vec<Delivery> {
    db.open_ticket(
        &alert("p-1", "bearing_wear", Severity::Medium),
        &Criticality::Medium.into(),
    )
    .await
    .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let deliverer = tokio::spawn(run(db.clone(), cfg, async move {
        let _ = stop_rx.await;
    }));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while db.webhooks().await.unwrap()[0].failed == 0 {
        assert!(std::time::Instant::now() < deadline, "never given up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_tx.send(()).unwrap();
    deliverer.await.unwrap().unwrap();
    db.deliveries(hook, None, 100).await.unwrap().unwrap()
}

#[tokio::test]
async fn redirects_are_not_followed_and_private_receivers_need_a_setting() {
    // The redirect's target counts whatever reaches it.
    let hits = Arc::new(Mutex::new(0));
    let target = {
        let hits = hits.clone();
        let app = axum::Router::new().route(
            "/elsewhere",
            axum::routing::post(move || {
                *hits.lock().unwrap() += 1;
                async { StatusCode::NO_CONTENT }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await });
        format!("http://{addr}/elsewhere")
    };
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let to = target.clone();
            async move { (StatusCode::TEMPORARY_REDIRECT, [("location", to)]) }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });

    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    let url = format!("http://{addr}/hook");
    let (hook, _) = db
        .create_webhook(&url, &["ticket.opened".into()])
        .await
        .unwrap();
    let cfg = DeliveryConfig {
        max_attempts: 2,
        ..fast()
    };
    let log = give_up(&db, hook.id, cfg.clone()).await;
    assert_eq!(
        *hits.lock().unwrap(),
        0,
        "the signed POST went nowhere else"
    );
    assert!(log.iter().all(|d| d.status == Some(307)), "{log:?}");
    assert!(
        log[0]
            .error
            .as_deref()
            .unwrap()
            .contains("redirects are not followed")
    );

    // The same loopback receiver without `allow_private`: refused before any connection.
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    let (hook, _) = db
        .create_webhook(&url, &["ticket.opened".into()])
        .await
        .unwrap();
    let strict = DeliveryConfig {
        allow_private: false,
        ..cfg
    };
    let log = give_up(&db, hook.id, strict).await;
    assert!(log.iter().all(|d| d.status.is_none()), "{log:?}");
    assert!(
        log[0]
            .error
            .as_deref()
            .unwrap()
            .contains("not a public address"),
        "{log:?}"
    );
}

/// Two instances sharing one database each run the deliverer (issue 22: several instances): every
/// event reaches the receiver once, in order per ticket — a claimed event is leased to the
/// instance that took it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_deliver_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    let secret: Arc<Mutex<String>> = Default::default();
    let seen: Seen = Default::default();
    let url = receiver(secret.clone(), seen.clone(), |_, _| false).await;
    let (_, key) = db.create_webhook(&url, &["*".into()]).await.unwrap();
    *secret.lock().unwrap() = key;
    for i in 0..12 {
        db.open_ticket(
            &alert(&format!("p-{i}"), "bearing_wear", Severity::Critical),
            &Criticality::High.into(),
        )
        .await
        .unwrap();
    }
    let expected = db.outbox(0, 1000).await.unwrap();
    let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let instances: Vec<_> = (0..2)
        .map(|_| {
            let mut stop = stop_tx.subscribe();
            tokio::spawn(run(db.clone(), fast(), async move {
                let _ = stop.recv().await;
            }))
        })
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while seen.lock().unwrap().len() < expected.len() {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            seen.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Anything sent twice would arrive within a few polls.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_tx.send(()).unwrap();
    for i in instances {
        i.await.unwrap().unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    let mut ids: Vec<i64> = seen.iter().map(|s| s.0).collect();
    ids.sort();
    assert_eq!(
        ids,
        expected.iter().map(|e| e.id).collect::<Vec<_>>(),
        "each event once across both instances"
    );
    for t in 1..=12 {
        let order: Vec<i64> = seen
            .iter()
            .filter(|s| s.1 == Some(t))
            .map(|s| s.0)
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{t}: {order:?}");
    }
}
