//! A full disk (issue 21: "a full disk fails the flush and stops the service, API included").
//! The data directory is a small tmpfs the test mounts (root is needed to mount; the suite runs
//! as root in CI). Against a real Mosquitto:
//!
//! - below `[store] min_free_mb` ingest stops storing and acknowledging (the broker keeps the
//!   messages), `/readyz` says why, the API keeps answering — and it all resumes by itself once
//!   the space is back, every acknowledged reading stored;
//! - with no floor, the disk really fills: a write that fails half-way (ENOSPC) is cut back and
//!   tried again, nothing is lost or stored twice, and a restart finds an undamaged log.

use std::time::Duration;

use forewarn::tmpfs::Tmpfs;
use forewarn_domain::Dependency;
use forewarn_simulators::{Fleet, FleetConfig, PublishConfig, SimReport, publish};
use forewarn_tests::*;
use tokio_util::sync::CancellationToken;

/// A tmpfs for the data directory, or `None` (said) when this process may not mount: the test
/// needs root, as in CI.
fn tmpfs(mib: u64) -> Option<Tmpfs> {
    match Tmpfs::mount(mib) {
        Ok(fs) => Some(fs),
        Err(e) => {
            eprintln!("skipped: {e}");
            None
        }
    }
}

/// A day of a three-asset fleet, ending `end_ms`, published with QoS 1 (waiting for every ack).
fn fleet_day(
    port: u16,
    seed: u64,
    end_ms: i64,
    client: &str,
) -> tokio::task::JoinHandle<SimReport> {
    let mut cfg = FleetConfig::ending_at(seed, 3, end_ms, 86_400_000);
    cfg.faults = 0;
    cfg.interval_ms = 5 * 60_000;
    let mut pc = PublishConfig::new("127.0.0.1", port);
    pc.client_id = client.into();
    tokio::spawn(async move {
        publish(Fleet::new(cfg).unwrap(), pc, None, CancellationToken::new())
            .await
            .unwrap()
    })
}

fn service_config(port: u16, min_free_mb: u64) -> forewarn::config::Config {
    let mut c = config(port, "forewarn-full-disk");
    c.store.min_free_mb = min_free_mb;
    // Flushes during the test, so a full disk meets them too.
    c.store.flush_points = 2_000;
    c
}

async fn stored(svc: &InProcess) -> u64 {
    svc.handle.store.stats().await.map_or(0, |s| s.points)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_no_longer_stops_the_service_it_pauses_acknowledgements() {
    let Some(fs) = tmpfs(64) else { return };
    let broker = Mosquitto::start().expect("mosquitto");
    let svc = InProcess::start(service_config(broker.port, 16), &fs.data_dir()).await;
    let day = 86_400_000;
    let first = fleet_day(broker.port, 7, forewarn::now_ms() - day, "fleet-1")
        .await
        .unwrap();
    assert_stored(&svc.handle, first.readings_acked, Duration::from_secs(30)).await;

    fs.fill(8 << 20).unwrap();
    let second = fleet_day(broker.port, 8, forewarn::now_ms(), "fleet-2");
    let m = svc.handle.metrics.clone();
    assert!(
        eventually(Duration::from_secs(20), async || m
            .degradations
            .is_down(Dependency::DiskSpace))
        .await,
        "the floor is noticed"
    );
    let held = stored(&svc).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Nothing stored, so nothing acknowledged: the broker keeps the fleet's messages (it has
    // acknowledged them to the simulator, which does not wait for the service).
    assert_eq!(stored(&svc).await, held, "nothing stored below the floor");
    let addr = svc.handle.http_addr;
    let (status, body) = http_get(addr, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("disk_space") && body.contains("min_free_mb"),
        "{body}"
    );
    assert_eq!(
        http_get(addr, "/healthz").await.0,
        200,
        "the API keeps serving"
    );
    let metrics = http_get(addr, "/metrics").await;
    assert!(metrics.0 == 200 || metrics.0 == 401, "{metrics:?}");

    fs.free().unwrap();
    let second = tokio::time::timeout(Duration::from_secs(60), second)
        .await
        .expect("acknowledged once there is room")
        .unwrap();
    assert_eq!(second.readings_acked, second.readings_published);
    let want = first.readings_acked + second.readings_acked;
    assert_stored(&svc.handle, want, Duration::from_secs(30)).await;
    assert!(
        !m.degradations.is_down(Dependency::DiskSpace),
        "resumed by itself"
    );
    assert_eq!(m.outages(Dependency::DiskSpace), 1);
    svc.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_failing_on_a_full_disk_is_retried_and_loses_nothing() {
    let Some(fs) = tmpfs(64) else { return };
    let broker = Mosquitto::start().expect("mosquitto");
    let svc = InProcess::start(service_config(broker.port, 0), &fs.data_dir()).await;
    fs.fill(64 << 10).unwrap();
    let day = fleet_day(broker.port, 9, forewarn::now_ms(), "fleet-full");
    let m = svc.handle.metrics.clone();
    assert!(
        eventually(Duration::from_secs(30), async || m
            .degradations
            .is_down(Dependency::TelemetryStore))
        .await,
        "the failed write is reported, not fatal"
    );
    fs.free().unwrap();
    let day = tokio::time::timeout(Duration::from_secs(90), day)
        .await
        .expect("acknowledged once there is room")
        .unwrap();
    assert_eq!(day.readings_acked, day.readings_published);
    assert_stored(&svc.handle, day.readings_acked, Duration::from_secs(30)).await;
    assert!(m.outages(Dependency::TelemetryStore) >= 1);
    svc.stop().await.unwrap();
    // The log a failed write was cut back in opens cleanly and holds each reading once.
    let again = InProcess::listening(service_config(broker.port, 0), &fs.data_dir()).await;
    assert_eq!(stored(&again).await, day.readings_acked);
    again.stop().await.unwrap();
}
