//! The InfluxDB backend and the InfluxDB mirror against a real InfluxDB (Debian's `influxd`, 1.x
//! API) and a real Mosquitto, each on free ports; InfluxDB is killed and restarted mid-stream.

use std::sync::Arc;
use std::time::Duration;

use forewarn::config::{Config, Engine, InfluxSection};
use forewarn::influxd::Influxd;
use forewarn_domain::{AssetId, Metrics, SensorName};
use forewarn_simulators::{Downstream, Fleet, FleetConfig, PublishConfig, SimReport, publish};
use forewarn_store::{Influx, InfluxConfig};
use forewarn_tests::*;
use tokio_util::sync::CancellationToken;

const DAY_MS: i64 = 86_400_000;

fn influx_config(broker: u16, client_id: &str, url: &str, db: &str, mirror: bool) -> Config {
    let mut c = config(broker, client_id);
    c.store.engine = if mirror {
        Engine::Embedded
    } else {
        Engine::Influxdb
    };
    c.store.influxdb = Some(InfluxSection {
        url: url.into(),
        database: db.into(),
        username: None,
        mirror,
        mirror_backlog_mb: 1024,
        ca_file: None,
    });
    c
}

/// Publishes a seeded fleet; with `metrics`, never runs more than 20,000 readings ahead of what
/// the service has stored, so an outage of the store is sure to fall inside the stream.
async fn run_fleet(
    broker: u16,
    seed: u64,
    assets: usize,
    days: i64,
    metrics: Option<Arc<Metrics>>,
) -> SimReport {
    let mut cfg = FleetConfig::ending_at(seed, assets, forewarn::now_ms(), days * DAY_MS);
    cfg.faults = 0;
    cfg.interval_ms = 5 * 60_000;
    let mut pc = PublishConfig::new("127.0.0.1", broker);
    pc.client_id = format!("influx-fleet-{seed}");
    pc.downstream = metrics.map(|m| Downstream {
        consumed: Arc::new(move || m.readings_stored.get()),
        max_lead: 20_000,
    });
    let fleet = Fleet::new(cfg).unwrap();
    let report = publish(fleet, pc, None, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.readings_acked, report.readings_published);
    report
}

/// Kills InfluxDB (if running), keeps it down for `down`, and brings it back on the same port
/// and data.
async fn outage(mut influx: Influxd, down: Duration) -> Influxd {
    tokio::task::spawn_blocking(move || {
        influx.stop();
        std::thread::sleep(down);
        influx.restart().expect("influxd restart");
        influx
    })
    .await
    .unwrap()
}

/// Distinct points in InfluxDB, asked directly (not through Forewarn).
async fn influx_points(url: &str, db: &str) -> u64 {
    influx_points_as(url, db, None).await
}

/// As [`influx_points`], signed in as `user` (name, password) when given.
async fn influx_points_as(url: &str, db: &str, user: Option<(&str, &str)>) -> u64 {
    let influx = Influx::new(
        &InfluxConfig {
            url: url.into(),
            database: db.into(),
            username: user.map(|u| u.0.to_owned()),
            password: user.map(|u| u.1.to_owned()),
            ..Default::default()
        },
        Arc::new(Metrics::new()),
    )
    .unwrap();
    let Ok(results) = influx.select("SELECT count(value) FROM telemetry").await else {
        return 0;
    };
    results
        .iter()
        .flat_map(|r| &r.series)
        .flat_map(|s| s.values.iter().filter_map(|row| row.get(1)?.as_u64()))
        .sum()
}

/// Every InfluxQL query of the shipped Grafana dashboard: panel targets and template variables.
fn grafana_queries() -> Vec<String> {
    // At run time: a build cache shared between checkouts may hold a test binary compiled in
    // another one.
    let dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let path = format!("{dir}/../dashboards/grafana/forewarn-influxdb.json");
    let dash: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for p in dash["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().unwrap() {
            out.push(t["query"].as_str().unwrap().to_string());
        }
    }
    for v in dash["templating"]["list"].as_array().unwrap() {
        out.push(v["query"].as_str().unwrap().to_string());
    }
    assert!(out.len() >= 6);
    out
}

/// Issue 3: `engine = "influxdb"` stores every acknowledged reading exactly once although InfluxDB
/// is killed and restarted mid-stream (ingest waits, nothing is dropped), serves reads through
/// InfluxQL, and finds its assets there again after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn influxdb_engine_loses_nothing_through_an_influxdb_restart() {
    let broker = Mosquitto::start().expect("mosquitto");
    let influx = Influxd::start().expect("influxd");
    let url = influx.url();
    let dir = tempfile::tempdir().unwrap();
    let cfg = influx_config(broker.port, "forewarn-influx", &url, "fw_engine", false);
    let svc = InProcess::start(cfg.clone(), dir.path()).await;
    assert_eq!(svc.handle.store.engine(), "influxdb");

    let m = svc.handle.metrics.clone();
    let fleet = tokio::spawn(run_fleet(broker.port, 31, 8, 10, Some(m.clone())));
    assert!(
        eventually(Duration::from_secs(60), async || m.readings_stored.get()
            > 10_000)
        .await
    );
    // Outage: SIGKILL InfluxDB, keep it down for two seconds, bring it back on the same port.
    let influx = outage(influx, Duration::from_secs(2)).await;
    let report = fleet.await.unwrap();
    assert!(m.influx_retries.get() > 0, "the outage was not noticed");

    let h = svc.handle.clone();
    let acked = report.readings_acked;
    assert!(
        eventually(Duration::from_secs(60), async || influx_points(
            &url,
            "fw_engine"
        )
        .await
            == acked)
        .await,
        "InfluxDB holds {} of {acked} acked readings",
        influx_points(&url, "fw_engine").await
    );
    let stats = h.store.stats().await.unwrap();
    assert_eq!((stats.points, stats.series, stats.assets), (acked, 48, 8));

    // Reads go through InfluxQL: latest, raw range and 1-hour buckets agree with each other.
    let asset = AssetId::new(h.store.assets()[0].id.as_str()).unwrap();
    let latest = h.store.latest(&asset).await.unwrap();
    assert_eq!(latest.len(), 6, "{latest:?}");
    let sensor: SensorName = latest[0].sensor.clone();
    let to = latest[0].ts_ms + 1;
    let points = h
        .store
        .range(&asset, &sensor, to - DAY_MS, to)
        .await
        .unwrap();
    assert_eq!(points.len(), 288, "one day at 5-minute intervals");
    assert!(points.windows(2).all(|w| w[0].0 < w[1].0));
    let from = (to - DAY_MS).div_euclid(3_600_000) * 3_600_000 + 3_600_000;
    let buckets = h
        .store
        .downsample(&asset, &sensor, from, to, 3_600_000)
        .await
        .unwrap();
    let in_range: Vec<_> = points.iter().filter(|p| p.0 >= from).collect();
    assert_eq!(
        buckets.iter().map(|(_, a)| a.count).sum::<u64>(),
        in_range.len() as u64
    );
    let sum: f64 = in_range.iter().map(|p| p.1).sum();
    let bucket_sum: f64 = buckets.iter().map(|(_, a)| a.sum).sum();
    assert!((sum - bucket_sum).abs() < 1e-6 * sum.abs().max(1.0));
    let fleet_latest = h.store.latest_all().await.unwrap();
    assert_eq!(fleet_latest.len(), 8);
    assert_eq!(fleet_latest[&asset], latest);
    let history = h.store.history(&asset).await.unwrap();
    assert_eq!(history.len() as u64, acked / 8);

    // The shipped Grafana dashboard's queries work on this schema and return data.
    let sensor_name = sensor.as_str().to_string();
    for q in grafana_queries() {
        let q = q
            .replace("$timeFilter", "time > now() - 3650d")
            .replace("$__interval", "1h")
            .replace("$asset", asset.as_str())
            .replace("$sensor", &sensor_name);
        let influx = Influx::new(
            &InfluxConfig {
                url: url.clone(),
                database: "fw_engine".into(),
                ..Default::default()
            },
            Arc::new(Metrics::new()),
        )
        .unwrap();
        let results = influx
            .select(&q)
            .await
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        assert!(
            results.iter().any(|r| !r.series.is_empty()),
            "no data for the dashboard query {q}"
        );
    }

    // A restart finds the assets (births live in InfluxDB) and replays history from there.
    drop(h);
    svc.stop().await.unwrap();
    let svc = InProcess::start(cfg, dir.path()).await;
    assert_eq!(svc.handle.store.assets().len(), 8);
    assert_eq!(svc.handle.metrics.readings_stored.get(), acked);
    svc.stop().await.unwrap();
    drop(influx);
}

/// Issue 3: the mirror keeps a persistent backlog while InfluxDB is down, across a restart of the
/// service, and ships all of it once InfluxDB is back; the embedded store is never held up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_backlog_survives_an_outage_and_a_service_restart() {
    let broker = Mosquitto::start().expect("mosquitto");
    let mut influx = Influxd::start().expect("influxd");
    let url = influx.url();
    influx.stop();
    let dir = tempfile::tempdir().unwrap();
    let cfg = influx_config(broker.port, "forewarn-mirror", &url, "fw_mirror", true);

    let svc = InProcess::start(cfg.clone(), dir.path()).await;
    assert_eq!(svc.handle.store.engine(), "embedded+influxdb");
    let report = run_fleet(broker.port, 32, 5, 6, None).await;
    let h = svc.handle.clone();
    let acked = report.readings_acked;
    assert_stored(&h, acked, Duration::from_secs(60)).await;
    assert_eq!(h.metrics.mirror_readings.get(), 0);
    assert!(h.metrics.mirror_backlog_bytes.get() > 0);
    drop(h);
    svc.stop().await.unwrap();

    let mut influx = outage(influx, Duration::ZERO).await;
    let svc = InProcess::start(cfg.clone(), dir.path()).await;
    assert!(
        eventually(Duration::from_secs(60), async || influx_points(
            &url,
            "fw_mirror"
        )
        .await
            == acked)
        .await,
        "InfluxDB holds {} of {acked} mirrored readings",
        influx_points(&url, "fw_mirror").await
    );
    let m = svc.handle.metrics.clone();
    assert!(
        eventually(Duration::from_secs(10), async || m
            .mirror_backlog_bytes
            .get()
            == 0)
        .await
    );
    assert_eq!(m.mirror_dropped_readings.get(), 0);

    // Live mirroring while both run, then a kill of InfluxDB mid-stream: still all of it.
    let fleet = tokio::spawn(run_fleet(broker.port, 33, 5, 4, None));
    tokio::time::sleep(Duration::from_millis(300)).await;
    influx = outage(influx, Duration::from_secs(2)).await;
    let more = fleet.await.unwrap().readings_acked;
    let total = acked + more;
    assert!(
        eventually(Duration::from_secs(60), async || influx_points(
            &url,
            "fw_mirror"
        )
        .await
            == total)
        .await,
        "InfluxDB holds {} of {total} mirrored readings",
        influx_points(&url, "fw_mirror").await
    );
    assert_eq!(svc.handle.store.stats().await.unwrap().points, total);
    svc.stop().await.unwrap();
    drop(influx);
}

/// InfluxDB refusing the mirror's credentials (issue 21: "an InfluxDB 401 after a token rotation"
/// stopped everything). Here the user the mirror signs in as does not exist yet: the mirror is
/// degraded and says so, the store of record takes and acknowledges every reading meanwhile, and
/// once the user exists the backlog ships in full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_refused_by_influxdb_no_longer_stops_the_service() {
    let influx = Influxd::start_with_auth().expect("influxd");
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let http = std::net::SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
    let config = format!(
        "[mqtt]\nport = {}\nclient_id = \"forewarn-mirror-auth\"\n\n\
         [store.influxdb]\nurl = \"{}\"\ndatabase = \"mirrored\"\nusername = \"forewarn\"\nmirror = true\n",
        broker.port,
        influx.url()
    );
    let password = [("FOREWARN_INFLUXDB_PASSWORD", "rotated-s3cret")];
    let svc = ServiceProcess::start_config(dir.path(), &config, &http.to_string(), &password);
    wait_for_api(http).await;
    let token = create_token(&dir.path().join("data"), "viewer", "watcher");
    let report = run_fleet(broker.port, 21, 3, 1, None).await;
    let stored = format!("forewarn_readings_stored_total {}", report.readings_acked);
    let metrics = async || http_send(http, "GET", "/metrics", Some(&token), "").await.1;
    assert!(
        eventually(Duration::from_secs(30), async || metrics()
            .await
            .contains(&stored))
        .await,
        "the store of record takes every reading while the mirror is refused"
    );
    let (status, ready) = http_get(http, "/readyz").await;
    assert_eq!(
        status, 200,
        "a refused mirror does not stop ingest: {ready}"
    );
    assert!(ready.contains("influxdb_mirror"), "{ready}");
    assert!(
        metrics()
            .await
            .contains("forewarn_degraded{dependency=\"influxdb_mirror\"} 1"),
        "degraded in /metrics"
    );

    // The credentials become valid (the first admin may be made without signing in).
    let create = "CREATE USER forewarn WITH PASSWORD 'rotated-s3cret' WITH ALL PRIVILEGES";
    let created = forewarn::http1::request(
        std::net::SocketAddr::from(([127, 0, 0, 1], influx.port)),
        "POST",
        &format!(
            "/query?q={}",
            create.replace(' ', "%20").replace('\'', "%27")
        ),
        &[],
        "",
    )
    .await
    .unwrap();
    assert_eq!(created.0, 200, "{created:?}");
    let user = Some(("forewarn", "rotated-s3cret"));
    let url = influx.url();
    assert!(
        eventually(Duration::from_secs(60), async || influx_points_as(
            &url, "mirrored", user
        )
        .await
            == report.readings_acked)
        .await,
        "the backlog ships once InfluxDB takes the credentials"
    );
    assert!(
        eventually(Duration::from_secs(30), async || !http_get(http, "/readyz")
            .await
            .1
            .contains("influxdb_mirror"))
        .await,
        "recovered"
    );
    assert!(svc.terminate(), "stops cleanly");
}
