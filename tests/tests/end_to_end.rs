//! End-to-end tests on real parts: Mosquitto, the service, the seeded simulator.

use std::time::Duration;

use forewarn_domain::{Catalog, RejectReason};
use forewarn_simulators::{Fleet, FleetConfig, PublishConfig, publish};
use forewarn_tests::*;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio_util::sync::CancellationToken;

const DAY_MS: i64 = 86_400_000;

fn fleet(seed: u64, assets: usize, faults: usize, days: i64, interval_ms: i64) -> Fleet {
    let mut cfg = FleetConfig::ending_at(seed, assets, forewarn::now_ms(), days * DAY_MS);
    cfg.faults = faults;
    // Misreading sensors on two healthy assets where the fleet is big enough.
    cfg.sensor_faults = 2.min(assets.saturating_sub(faults));
    cfg.interval_ms = interval_ms;
    Fleet::new(cfg).unwrap()
}

/// Issue 2: every injected fault gives exactly one ticket of the right mode, with its parts, before
/// the failure; healthy assets get none; the store holds exactly the readings the broker acked.
/// Issue 4: a misreading sensor on a healthy asset gives one instrumentation ticket, never a
/// machine ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_become_exactly_one_ticket_each_and_nothing_is_lost() {
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let svc = InProcess::start(config(broker.port, "forewarn-e2e"), dir.path()).await;

    let fleet = fleet(2026, 20, 3, 14, 5 * 60_000);
    let mut pc = PublishConfig::new("127.0.0.1", broker.port);
    pc.client_id = "e2e-fleet".into();
    let report = publish(fleet, pc, None, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        report.readings_acked, report.readings_published,
        "the broker acked every reading"
    );
    assert!(report.ground_truth.len() >= 2);

    let h = svc.handle.clone();
    let viewer =
        h.db.create_token("reader", forewarn_maintenance::Role::Viewer)
            .await
            .unwrap();
    assert_stored(&h, report.readings_acked, Duration::from_secs(60)).await;
    assert_eq!(report.sensor_faults.len(), 2);
    let want = report.ground_truth.len() + report.sensor_faults.len();
    eventually(Duration::from_secs(30), async || {
        h.db.count().await.unwrap() as usize >= want
    })
    .await;
    // Give analytics a moment to emit anything else it would (a false or duplicate ticket).
    tokio::time::sleep(Duration::from_secs(1)).await;

    let catalog = Catalog::from_toml(forewarn::config::BUILTIN_CATALOG).unwrap();
    let tickets = h.db.tickets(None, false, 1000).await.unwrap();
    for g in &report.ground_truth {
        let mine: Vec<_> = tickets.iter().filter(|t| t.asset_id == g.asset).collect();
        assert_eq!(mine.len(), 1, "fault {g:?}: tickets {mine:#?}");
        let t = mine[0];
        assert_eq!(t.failure_mode, g.failure_mode, "{g:?}");
        assert!(
            t.detected_at_ms > g.onset_ms && t.detected_at_ms < g.failure_ms,
            "{g:?} detected at {}",
            t.detected_at_ms
        );
        let ty = catalog.asset_type(&g.asset_type.parse().unwrap()).unwrap();
        let mode = ty.failure_mode(&g.failure_mode.parse().unwrap()).unwrap();
        let want_parts: Vec<_> = mode
            .parts
            .iter()
            .map(|p| (p.part_number.clone(), p.quantity))
            .collect();
        let mut got_parts: Vec<_> = t
            .parts
            .iter()
            .map(|p| (p.part_number.clone(), p.quantity))
            .collect();
        got_parts.sort();
        let mut want_sorted = want_parts.clone();
        want_sorted.sort();
        assert_eq!(got_parts, want_sorted);
        assert!(!t.evidence["deviations"].as_array().unwrap().is_empty());
        // The asset's joint model explains it too, led by the sensors of the mode's signature.
        let joint = &t.evidence["joint"];
        assert!(
            joint["model"]
                .as_str()
                .unwrap()
                .starts_with("joint-mahalanobis/1"),
            "{joint}"
        );
        // Not "the top driver is in the signature": at detection the fault is young and the
        // shares of a 24-to-48-row model can tie within a thousandth (a CI run once gave
        // bearing_temp 0.280 against flow and discharge_pressure 0.279 each for impeller wear,
        // on a fleet whose ambient cycle depends on the wall clock). What the planner reads must
        // hold: the mode's sensors together carry more of the distance than any other sensor.
        let drivers: Vec<(&str, f64)> = joint["drivers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d[0].as_str().unwrap(), d[1].as_f64().unwrap()))
            .collect();
        let in_signature = |s: &str| mode.signature.keys().any(|k| k.as_str() == s);
        let signature_share: f64 = drivers
            .iter()
            .filter(|(s, _)| in_signature(s))
            .map(|(_, v)| v)
            .sum();
        let other_share = drivers
            .iter()
            .filter(|(s, _)| !in_signature(s))
            .map(|(_, v)| *v)
            .fold(0.0, f64::max);
        assert!(
            signature_share > other_share,
            "{g:?}: the signature's sensors do not lead: {joint}"
        );
        // Its health, live: a sensor of the mode's signature deviates now.
        let path = format!("/api/v1/assets/{}/health", g.asset);
        let (status, body) = http_send(h.http_addr, "GET", &path, Some(&viewer), "").await;
        assert_eq!(status, 200, "{body}");
        let health: forewarn_domain::AssetHealth = serde_json::from_str(&body).unwrap();
        assert!(
            health
                .sensors
                .iter()
                .any(|s| s.state == forewarn_domain::SensorState::Deviating
                    && mode.signature.contains_key(&s.sensor)),
            "{g:?}: {body}"
        );
        assert!(
            health
                .sensors
                .iter()
                .all(|s| (0.0..1.0).contains(&s.change_score))
        );
        // The version it names is stored, with what it learnt.
        let models = h.db.models(&g.asset.parse().unwrap()).await.unwrap();
        let named = models
            .iter()
            .find(|m| joint["model"].as_str() == Some(m.label().as_str()));
        assert!(
            named.is_some_and(|m| m.sensors.len() == m.mean.len() && m.threshold > 0.0),
            "{joint} not among {:?}",
            models.iter().map(|m| m.label()).collect::<Vec<_>>()
        );
    }
    for g in &report.sensor_faults {
        let mine: Vec<_> = tickets.iter().filter(|t| t.asset_id == g.asset).collect();
        assert_eq!(mine.len(), 1, "sensor fault {g:?}: tickets {mine:#?}");
        assert_eq!(mine[0].failure_mode, "sensor_fault", "{g:?}");
        let faults = mine[0].evidence["sensor_faults"].as_array().unwrap();
        assert!(
            faults.iter().any(|f| f["sensor"] == g.sensor.as_str()),
            "{g:?}: {faults:?}"
        );
    }
    let healthy: Vec<_> = tickets
        .iter()
        .filter(|t| !report.ground_truth.iter().any(|g| g.asset == t.asset_id))
        .filter(|t| !report.sensor_faults.iter().any(|g| g.asset == t.asset_id))
        .collect();
    assert!(
        healthy.is_empty(),
        "tickets for healthy assets: {healthy:#?}"
    );
    assert_eq!(h.metrics.rejected(RejectReason::UnknownAsset), 0);
    svc.stop().await.unwrap();

    // The same answer from disk, with the service stopped.
    let stats = forewarn::stats::collect(dir.path()).await.unwrap();
    assert_eq!(stats["points"], report.readings_acked);
    assert_eq!(stats["tickets"], want as u64);
    assert!(
        stats["partitions"].as_u64().unwrap() > 5,
        "the run flushed to Parquet: {stats}"
    );
    assert_eq!(stats["rejected"], 0);
}

/// Issue 2: every kind of bad input is counted, dead-lettered with topic and reason, and acked, and
/// the service keeps taking good data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_counted_dead_lettered_and_acked() {
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let svc = InProcess::start(config(broker.port, "forewarn-bad-input"), dir.path()).await;
    let now = forewarn::now_ms();
    let t = "forewarn/s1/pump-1/telemetry";
    let big = format!(
        r#"{{"metrics": {{"flow": 1}}, "pad": "{}"}}"#,
        "x".repeat(70_000)
    );
    let cases: Vec<(String, String, Option<RejectReason>)> = vec![
        (
            "forewarn/s1/pump-1/birth".into(),
            r#"{"type": "centrifugal_pump"}"#.into(),
            None,
        ),
        (t.into(), "{oops".into(), Some(RejectReason::MalformedJson)),
        (
            t.into(),
            r#"{"metrics": {"flow": "fast"}}"#.into(),
            Some(RejectReason::WrongType),
        ),
        (
            t.into(),
            r#"{"metrics": {"flow": NaN}}"#.into(),
            Some(RejectReason::NonFiniteValue),
        ),
        (
            "forewarn/s1/bad id/telemetry".into(),
            r#"{"metrics": {"flow": 1}}"#.into(),
            Some(RejectReason::InvalidTopic),
        ),
        (
            "forewarn/s1/ghost/telemetry".into(),
            r#"{"metrics": {"flow": 1}}"#.into(),
            Some(RejectReason::UnknownAsset),
        ),
        (
            "forewarn/s1/x-1/birth".into(),
            r#"{"type": "turbine"}"#.into(),
            Some(RejectReason::UnknownAssetType),
        ),
        (
            t.into(),
            r#"{"metrics": {"winding_temp": 80}}"#.into(),
            Some(RejectReason::UnknownSensor),
        ),
        (
            t.into(),
            r#"{"ts": "soon", "metrics": {"flow": 1}}"#.into(),
            Some(RejectReason::BadTimestamp),
        ),
        (
            t.into(),
            format!(
                r#"{{"ts": {}, "metrics": {{"flow": 1}}}}"#,
                now + 86_400_000
            ),
            Some(RejectReason::FutureTimestamp),
        ),
        (t.into(), big, Some(RejectReason::PayloadTooLarge)),
        (
            t.into(),
            r#"{"metrics": {}}"#.into(),
            Some(RejectReason::Empty),
        ),
        (
            t.into(),
            format!(r#"{{"ts": {now}, "metrics": {{"flow": 12.5, "speed": 2950}}}}"#),
            None,
        ),
    ];

    let mut opts = MqttOptions::new("bad-publisher", "127.0.0.1", broker.port);
    opts.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(opts, 64);
    for (topic, payload, _) in &cases {
        client
            .publish(topic.clone(), QoS::AtLeastOnce, false, payload.clone())
            .await
            .unwrap();
    }
    let mut acked = 0;
    while acked < cases.len() {
        if let Event::Incoming(Packet::PubAck(_)) =
            tokio::time::timeout(Duration::from_secs(10), eventloop.poll())
                .await
                .unwrap()
                .unwrap()
        {
            acked += 1;
        }
    }

    let h = svc.handle.clone();
    let rejected_total = cases.iter().filter(|c| c.2.is_some()).count() as u64;
    assert!(
        eventually(Duration::from_secs(10), async || h
            .store
            .stats()
            .await
            .unwrap()
            .rejected
            == rejected_total
            && h.store.stats().await.unwrap().points == 2)
        .await
    );
    for (_, _, reason) in &cases {
        if let Some(r) = reason {
            assert_eq!(h.metrics.rejected(*r), 1, "{r:?}");
        }
    }
    let log = std::fs::read_to_string(dir.path().join("deadletter.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, rejected_total);
    for (line, (topic, _, reason)) in lines.iter().zip(cases.iter().filter(|c| c.2.is_some())) {
        assert_eq!(line["topic"], topic.as_str());
        assert_eq!(line["reason"], reason.unwrap().as_str());
        assert!(!line["detail"].as_str().unwrap().is_empty());
    }
    // The data directory is locked while anything holds the store.
    drop(h);
    svc.stop().await.unwrap();

    // The service, restarted, still knows the asset registered by the birth message and the counts.
    let svc = InProcess::start(config(broker.port, "forewarn-bad-input"), dir.path()).await;
    assert_eq!(svc.handle.store.stats().await.unwrap().assets, 1);
    assert_eq!(
        svc.handle.store.stats().await.unwrap().rejected,
        rejected_total
    );
    svc.stop().await.unwrap();
}

/// Issue 3: the broker restarts and forgets every session; ingest notices, reconnects, subscribes
/// again and stores what is published afterwards, and nothing acknowledged before is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_reconnects_and_resubscribes_after_a_broker_restart() {
    let mut broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let svc = InProcess::start(config(broker.port, "forewarn-reconnect"), dir.path()).await;
    let publish_fleet = |seed: u64, end_ms: i64, port: u16| async move {
        let mut cfg = FleetConfig::ending_at(seed, 5, end_ms, DAY_MS);
        cfg.faults = 0;
        cfg.interval_ms = 5 * 60_000;
        let mut pc = PublishConfig::new("127.0.0.1", port);
        pc.client_id = format!("reconnect-fleet-{seed}");
        let report = publish(Fleet::new(cfg).unwrap(), pc, None, CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(report.readings_acked, report.readings_published);
        report.readings_acked
    };
    let now = forewarn::now_ms();
    let before = publish_fleet(41, now - 3 * DAY_MS, broker.port).await;
    let h = svc.handle.clone();
    assert_stored(&h, before, Duration::from_secs(30)).await;

    let broker = tokio::task::spawn_blocking(move || {
        broker.restart().expect("mosquitto restart");
        broker
    })
    .await
    .unwrap();
    // The new broker has no session for us: the service must subscribe again before anything
    // published is kept for it (reconnects back off from 100 ms).
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.metrics.mqtt_subscribed.get(), 1, "resubscribed");
    let after = publish_fleet(42, now, broker.port).await;
    assert_stored(&h, before + after, Duration::from_secs(30)).await;
    drop(h);
    svc.stop().await.unwrap();
    drop(broker);
}

/// Issue 19: `forewarn run` introduces itself — its first line on standard output is where the
/// dashboards and the API answer, and that address answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_prints_where_it_answers() {
    use std::io::BufRead;
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("forewarn.toml");
    std::fs::write(
        &conf,
        format!(
            "[mqtt]\nport = {}\nclient_id = \"forewarn-intro\"\n",
            broker.port
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(forewarn_bin())
        .args(["run", "--config"])
        .arg(&conf)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--http", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // The introduction, then (an empty database) the one-time admin sign-in.
    let lines = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .take(5)
            .collect::<Result<Vec<String>, _>>()
    })
    .await
    .unwrap()
    .unwrap();
    let line = &lines[0];
    assert!(line.contains("dashboards at http://127.0.0.1:"), "{line}");
    let port: u16 = line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line}"));
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let line_after = |label: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label:?} line in {lines:?}"))
            .trim()
            .to_owned()
    };
    let token = line_after("Token:");
    let sign_in = line_after("Sign in:");
    assert!(
        sign_in.starts_with(&format!("http://127.0.0.1:{port}/ui/signin")),
        "{sign_in}"
    );
    // A token in a URL signs nobody in; the form does (a redirect with a session cookie that is
    // not the token), and the cookie opens the pages.
    let (status, _) = http_get(addr, &format!("/ui/signin?token={token}")).await;
    assert_eq!(status, 200, "the form, not a session");
    let form = format!("token={token}&next=%2F");
    let form_type = ("Content-Type", "application/x-www-form-urlencoded");
    let a = forewarn::http1::exchange(addr, "POST", "/ui/signin", &[form_type], &form)
        .await
        .unwrap();
    assert_eq!(a.status, 303, "{a:?}");
    let set = a.header("set-cookie").expect("a session cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_owned();
    assert!(
        !cookie.contains(&token),
        "the cookie holds a session id, not the token"
    );
    let (status, page) = forewarn::http1::request(addr, "GET", "/", &[("Cookie", &cookie)], "")
        .await
        .unwrap();
    assert_eq!(status, 200, "{page}");
    // An admin's token: listing webhooks needs that role.
    let (status, body) = http_send(addr, "GET", "/api/v1/webhooks", Some(&token), "").await;
    assert_eq!(status, 200, "{body}");
    // Ready once connected; not ready, saying why, when the broker goes away.
    let ready = eventually(Duration::from_secs(15), async || {
        http_get(addr, "/readyz").await.0 == 200
    })
    .await;
    assert!(ready, "{:?}", http_get(addr, "/readyz").await);
    let broker_port = broker.port;
    drop(broker);
    let down = eventually(Duration::from_secs(15), async || {
        http_get(addr, "/readyz").await.0 == 503
    })
    .await;
    let (status, body) = http_get(addr, "/readyz").await;
    let (healthz, _) = http_get(addr, "/healthz").await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(down, "{status} {body}");
    assert!(body.contains(&format!("127.0.0.1:{broker_port}")), "{body}");
    assert_eq!(healthz, 200, "alive, though not ready");
}
