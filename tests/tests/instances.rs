//! Several instances (issue 22): two `forewarn run` processes, each subscribed to its own site,
//! sharing one Mosquitto and one PostgreSQL, while a seeded fleet of both sites publishes. Every
//! acknowledged reading is stored once (by the instance of its site), every fault gets exactly
//! one ticket of its mode, either instance's API shows the whole fleet's tickets, and every
//! webhook event reaches the receiver once although both instances run the deliverer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use forewarn_maintenance::pgserver::PgServer;
use forewarn_maintenance::{Maintenance, Role};
use forewarn_simulators::{Fleet, FleetConfig, PublishConfig, publish};
use forewarn_tests::*;
use tokio_util::sync::CancellationToken;

const DAY_MS: i64 = 86_400_000;

/// A webhook receiver on a free port; the event ids it was sent, in arrival order.
async fn receiver() -> (String, Arc<Mutex<Vec<i64>>>) {
    let seen: Arc<Mutex<Vec<i64>>> = Default::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let log = log.clone();
            async move {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                log.lock().unwrap().push(v["id"].as_i64().unwrap());
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), seen)
}

/// `forewarn run` for `site`, on the shared database; its API address.
fn instance(
    dir: &std::path::Path,
    site: &str,
    broker: u16,
    db_url: &str,
) -> (ServiceProcess, SocketAddr) {
    let http = SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
    let own = dir.join(site);
    std::fs::create_dir_all(&own).unwrap();
    let config = format!(
        "[mqtt]\nport = {broker}\nclient_id = \"forewarn-{site}\"\nsubscription = \"forewarn/{site}/#\"\n\n\
         [webhooks]\nallow_private = true\n"
    );
    let env = [("FOREWARN_DATABASE_URL", db_url)];
    let svc = ServiceProcess::start_config(&own, &config, &http.to_string(), &env);
    (svc, http)
}

async fn get(http: SocketAddr, path: &str, token: &str) -> String {
    let (status, body) = http_send(http, "GET", path, Some(token), "").await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn metric(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgresql_split_the_fleet_by_site() {
    let pg = PgServer::start("instances").unwrap();
    let db_url = pg.database("forewarn").await.unwrap();
    let db = Maintenance::connect(&db_url).await.unwrap();
    let token = db.create_token("test", Role::Admin).await.unwrap();
    let (hook, seen) = receiver().await;
    db.create_webhook(&hook, &["*".into()]).await.unwrap();
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let mut running = Vec::new();
    for site in ["site-a", "site-b"] {
        let (svc, http) = instance(dir.path(), site, broker.port, &db_url);
        wait_for_api(http).await;
        let ready = eventually(Duration::from_secs(60), async || {
            http_get(http, "/readyz").await.0 == 200
        })
        .await;
        assert!(ready, "{site} ready");
        running.push((svc, http));
    }

    let mut cfg = FleetConfig::ending_at(2026, 20, forewarn::now_ms(), 14 * DAY_MS);
    cfg.faults = 3;
    cfg.interval_ms = 5 * 60_000;
    let mut pc = PublishConfig::new("127.0.0.1", broker.port);
    pc.client_id = "instances-fleet".into();
    let report = publish(Fleet::new(cfg).unwrap(), pc, None, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.readings_acked, report.readings_published);

    // Stored once, by the instance of each reading's site.
    let stored = async || {
        let mut per = Vec::new();
        for (_, http) in &running {
            let m = get(*http, "/metrics", &token).await;
            per.push(metric(&m, "forewarn_readings_stored_total"));
        }
        per
    };
    let all_stored = eventually(Duration::from_secs(90), async || {
        stored().await.iter().sum::<u64>() == report.readings_acked
    })
    .await;
    let per = stored().await;
    assert!(all_stored, "stored {per:?} of {}", report.readings_acked);
    assert!(
        per.iter().all(|n| *n > 0),
        "both sites' instances stored: {per:?}"
    );

    // One ticket per fault, seen alike by both instances.
    let want = report.ground_truth.len();
    assert!(want >= 2);
    eventually(Duration::from_secs(60), async || {
        db.count().await.unwrap() as usize >= want
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let tickets = db.tickets(None, false, 1000).await.unwrap();
    for g in &report.ground_truth {
        let mine: Vec<_> = tickets
            .iter()
            .filter(|t| t.asset_id == g.asset && t.failure_mode == g.failure_mode)
            .collect();
        assert_eq!(mine.len(), 1, "fault {g:?}: {mine:#?}");
    }
    let mut listed = Vec::new();
    for (_, http) in &running {
        let body = get(*http, "/api/v1/tickets?status=all&limit=1000", &token).await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        listed.push(v.as_array().map_or(0, |a| a.len()));
    }
    assert_eq!(
        listed,
        [tickets.len(), tickets.len()],
        "either instance shows every ticket"
    );

    // Every event once, although both instances deliver.
    let events = db.outbox(0, 10_000).await.unwrap();
    let delivered = eventually(Duration::from_secs(60), async || {
        seen.lock().unwrap().len() >= events.len()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for id in seen.lock().unwrap().iter() {
        *counts.entry(*id).or_default() += 1;
    }
    assert!(
        delivered,
        "{} of {} events delivered",
        counts.len(),
        events.len()
    );
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(counts.len(), events.len());
    for (svc, _) in running {
        assert!(svc.terminate());
    }
}
