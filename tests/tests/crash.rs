//! Process-level crash tests over real Mosquitto: SIGKILL at random moments of sustained ingest,
//! and an abort at every step of a flush to Parquet. After the restarts, every reading the broker
//! acknowledged is stored exactly once.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use forewarn_simulators::{Fleet, FleetConfig, PublishConfig, SimError, SimReport, publish};
use forewarn_store::crashpoint::FLUSH_POINTS;
use forewarn_tests::*;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const DAY_MS: i64 = 86_400_000;

/// Publishes 20 assets × 3 days at one reading per minute and sensor (518,400 readings) over
/// about `seconds` of wall time, so that crashes land mid-stream.
fn slow_fleet(port: u16, seed: u64, seconds: f64) -> JoinHandle<Result<SimReport, SimError>> {
    let mut cfg = FleetConfig::ending_at(seed, 20, forewarn::now_ms(), 3 * DAY_MS);
    cfg.faults = 2;
    cfg.interval_ms = 60_000;
    let fleet = Fleet::new(cfg).unwrap();
    let mut pc = PublishConfig::new("127.0.0.1", port);
    pc.client_id = format!("crash-fleet-{seed}");
    pc.speed = Some(3.0 * DAY_MS as f64 / 1000.0 / seconds);
    tokio::spawn(publish(fleet, pc, None, CancellationToken::new()))
}

/// Waits for the stream to end and the service to store all of it, stops the service gracefully
/// and checks the store holds every acknowledged reading once.
async fn check_exactly_once(
    svc: ServiceProcess,
    sim: JoinHandle<Result<SimReport, SimError>>,
    dir: &std::path::Path,
    context: &str,
) {
    let report = sim.await.unwrap().unwrap();
    assert_eq!(report.readings_acked, report.readings_published);
    let data = dir.join("data");
    let ok = eventually(Duration::from_secs(60), async || {
        forewarn::stats::collect(&data)
            .await
            .map(|s| s["points"] == report.readings_acked)
            .unwrap_or(false)
    })
    .await;
    assert!(
        svc.terminate(),
        "graceful stop after the crashes ({context})"
    );
    let stats = forewarn::stats::collect(&data).await.unwrap();
    assert!(
        ok,
        "stored {} of {} acked readings ({context})",
        stats["points"], report.readings_acked
    );
    assert_eq!(stats["points"], report.readings_acked, "{context}");
    assert!(
        stats["partitions"].as_u64().unwrap() > 5,
        "the run flushed to Parquet: {stats} ({context})"
    );
}

/// Issue 3: twelve SIGKILLs at random moments (pauses and down-times drawn from a seed that is
/// printed, and can be replayed with `FOREWARN_CRASH_SEED`). With a flush every 20,000 points, a
/// few per second here, kills land in every phase: appends, fsyncs, flushes, WAL trimming, start-up
/// replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let seed = std::env::var("FOREWARN_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| forewarn::now_ms() as u64);
    println!("FOREWARN_CRASH_SEED={seed}");
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    create_session(broker.port, "forewarn-crash-test", "forewarn/#").await;
    let sim = slow_fleet(broker.port, 7, 14.0);
    let mut svc = ServiceProcess::start(dir.path(), broker.port);
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_millis(100 + next(1200))).await;
        svc.kill();
        tokio::time::sleep(Duration::from_millis(next(400))).await;
        svc = ServiceProcess::start(dir.path(), broker.port);
    }
    check_exactly_once(svc, sim, dir.path(), &format!("seed {seed}")).await;
}

/// Issue 3: an abort at each step of a flush — after the WAL rotated, after the raw partition
/// files, after the rollup files, after the manifest commit, after the WAL trim — and a restart
/// each time: orphan files are cleaned up, covered WAL segments are skipped, nothing is lost or
/// counted twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_at_every_step_of_a_flush_loses_and_duplicates_nothing() {
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    create_session(broker.port, "forewarn-crash-test", "forewarn/#").await;
    let sim = slow_fleet(broker.port, 8, 12.0);
    for point in FLUSH_POINTS {
        let mut svc = ServiceProcess::start_with_env(
            dir.path(),
            broker.port,
            &[("FOREWARN_CRASH_POINT", point)],
        );
        let status = tokio::task::spawn_blocking(move || svc.wait_exit(Duration::from_secs(30)))
            .await
            .unwrap();
        let status = status.unwrap_or_else(|| panic!("never reached crash point {point}"));
        assert_eq!(
            status.signal(),
            Some(6),
            "{point}: {status:?} is not the abort"
        );
    }
    let svc = ServiceProcess::start(dir.path(), broker.port);
    check_exactly_once(svc, sim, dir.path(), "after a crash at every flush step").await;
}
