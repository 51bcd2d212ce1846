//! A start on months of history (issue 22, "serve at once"): the start-up replays every stored
//! reading through the detectors, and during it the HTTP socket used to accept connections that
//! hung. Now `forewarn run` answers from before the replay: `/healthz` 200, `/readyz` 503 saying
//! how many assets' history is replayed, reads that need the detectors 503 "catching up" at once,
//! other reads served — then ready once the replay is done.

use std::time::{Duration, Instant};

use forewarn_simulators::{Fleet, FleetConfig};
use forewarn_store::{OpenMode, Store};
use forewarn_tests::*;

const DAY_MS: i64 = 86_400_000;

/// A week of 30 assets at one sample a minute, stored directly (about 1.8 M readings).
fn history(data: &std::path::Path) -> u64 {
    let mut cfg = FleetConfig::ending_at(5, 30, forewarn::now_ms(), 7 * DAY_MS);
    cfg.faults = 0;
    let (store, _) = Store::open(data, OpenMode::ReadWrite).unwrap();
    let n = forewarn::bench::fill::fill(&store, Fleet::new(cfg).unwrap(), str::to_owned, "history")
        .unwrap();
    store.flush().unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_answers_during_the_replay_and_readiness_says_how_far_it_is() {
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let readings = history(&data);
    let token = create_token(&data, "viewer", "watcher");
    let http = std::net::SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
    let config = format!(
        "[mqtt]\nport = {}\nclient_id = \"forewarn-serve-at-once\"\n\n[store]\nraw_retention_days = 30\n",
        broker.port
    );
    let started = Instant::now();
    let svc = ServiceProcess::start_config(dir.path(), &config, &http.to_string(), &[]);
    wait_for_api(http).await;
    let answering = started.elapsed();

    // Still replaying: not ready, and it says how far along it is.
    let (status, ready) = http_get(http, "/readyz").await;
    assert_eq!(status, 503, "{ready}");
    assert!(ready.contains("\"loading\":{\"done\""), "{ready}");
    assert!(ready.contains("catching up"), "{ready}");
    let get = async |path: &str| http_send(http, "GET", path, Some(&token), "").await;
    // Reads that need the detectors say so at once, reads of the store are served.
    let t = Instant::now();
    let (status, body) = get("/api/v1/assets/pump-0001/health").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("catching up"), "{body}");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "answered at once, not after a timeout"
    );
    let (status, body) = get("/api/v1/assets/pump-0001").await;
    assert_eq!(status, 200, "{body}");

    let ready_in = eventually(Duration::from_secs(300), async || {
        http_get(http, "/readyz").await.0 == 200
    })
    .await;
    assert!(ready_in, "ready once the replay is done");
    let (status, _) = get("/api/v1/assets/pump-0001/health").await;
    assert_eq!(status, 200);
    eprintln!(
        "{readings} readings stored; HTTP answered after {answering:?}, ready after {:?}",
        started.elapsed()
    );
    assert!(svc.terminate());
}
