//! API tests through `Router::oneshot`: status codes, JSON errors, ticket and asset shapes.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use forewarn_domain::*;
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;

const CATALOG: &str = include_str!("../../config/catalog.toml");

pub(crate) async fn state(dir: &std::path::Path) -> AppState {
    let (store, _) = forewarn_store::Store::open(dir, forewarn_store::OpenMode::ReadWrite).unwrap();
    let asset = Asset {
        id: AssetId::new("pump-0001").unwrap(),
        site: SiteId::new("site-a").unwrap(),
        asset_type: AssetTypeId::new("centrifugal_pump").unwrap(),
        model: "CP-200".into(),
        location: "hall".into(),
        criticality: Default::default(),
    };
    let reading = Reading {
        asset: asset.id.clone(),
        sensor: SensorName::new("flow").unwrap(),
        ts_ms: 1_780_000_000_000,
        value: 150.0,
    };
    store
        .append(&[Batch {
            seq: 1,
            readings: vec![reading],
            births: vec![asset.clone()],
            messages: 2,
            ..Default::default()
        }])
        .unwrap();
    let db = Maintenance::open(dir).await.unwrap();
    let finding = Finding {
        asset: asset.id.clone(),
        asset_type: asset.asset_type.clone(),
        detected_at_ms: 1_780_000_000_000,
        deviations: vec![],
        score: 5.0,
        severity: Severity::Medium,
        detector: "t".into(),
        sensor_faults: vec![],
        joint: None,
        health: Some(forewarn_domain::HealthIndex {
            index: 0.4,
            limiting_sensor: SensorName::new("flow").unwrap(),
            time_to_failure_h: Some(forewarn_domain::TimeToFailure {
                hours: 40.0,
                low: 20.0,
                high: Some(90.0),
            }),
            levels: None,
        }),
        evidence: None,
    };
    db.open_ticket(
        &Alert {
            asset: asset.id.clone(),
            failure_mode: FailureModeId::new("bearing_wear").unwrap(),
            severity: Severity::Medium,
            raised_at_ms: 1_780_000_000_000,
            began_ms: 1_780_000_000_000,
            finding,
            parts: vec![PartRequirement {
                part_number: "BRG-6309-2RS".into(),
                description: "bearing".into(),
                quantity: 2,
            }],
            skills: vec!["mechanical".into()],
            corrective: false,
        },
        &Criticality::Medium.into(),
    )
    .await
    .unwrap();
    let model = FittedModel {
        asset: asset.id.clone(),
        version: 1,
        method: "joint-mahalanobis/1".into(),
        fitted_at_ms: 1_780_000_000_000,
        rows: 24,
        sensors: vec![SensorName::new("flow").unwrap()],
        mean: vec![150.0],
        scale: vec![2.0],
        cholesky: vec![vec![1.0]],
        threshold: 3.0,
    };
    assert!(db.record_model(&model).await.unwrap());
    assert!(
        !db.record_model(&model).await.unwrap(),
        "a replayed fit is kept once"
    );
    AppState {
        store: std::sync::Arc::new(forewarn_store::Embedded(std::sync::Arc::new(store))),
        db,
        metrics: Default::default(),
        catalog: std::sync::Arc::new(Catalog::from_toml(CATALOG).unwrap()),
        health: nothing_analysed_yet(),
        opened: tokio::sync::broadcast::channel(16).0,
        changed: tokio::sync::broadcast::channel(16).0,
        repairs: Default::default(),
        // The lab setting: these tests read anonymously; `access_tests.rs` closes the door.
        access: std::sync::Arc::new(crate::Access {
            anonymous_read: true,
            metrics_public: true,
            ..crate::Access::default()
        }),
    }
}

/// An analytics stage that has seen no reading: every health query is answered `None`.
fn nothing_analysed_yet() -> tokio::sync::mpsc::Sender<forewarn_analytics::HealthQuery> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        while let Some(q) = rx.recv().await {
            match q {
                forewarn_analytics::HealthQuery::Asset(_, reply) => {
                    let _ = reply.send(None);
                }
                forewarn_analytics::HealthQuery::Fleet(reply) => {
                    let _ = reply.send(Vec::new());
                }
                forewarn_analytics::HealthQuery::Clocks(reply) => {
                    let _ = reply.send(Vec::new());
                }
            }
        }
    });
    tx
}

pub(crate) async fn call(app: &Router, uri: &str) -> (StatusCode, String) {
    let res = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn serves_resources_and_refuses_bad_requests_with_json() {
    let dir = tempfile::tempdir().unwrap();
    let app = router(state(dir.path()).await);

    let (s, body) = call(&app, "/healthz").await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, r#"{"status":"ok"}"#));

    let (s, body) = call(&app, "/api/v1/tickets").await;
    assert_eq!(s, StatusCode::OK);
    let tickets: serde_json::Value = serde_json::from_str(&body).unwrap();
    let t = &tickets[0];
    for key in [
        "id",
        "asset_id",
        "failure_mode",
        "status",
        "created_at",
        "evidence",
        "parts",
    ] {
        assert!(t.get(key).is_some(), "ticket lacks {key}: {t}");
    }
    assert_eq!(t["parts"][0]["part_number"], "BRG-6309-2RS");
    assert_eq!(t["parts"][0]["quantity"], 2);

    let (s, body) = call(&app, "/api/v1/tickets/1").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = call(&app, "/api/v1/assets").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("\"open_tickets\":[1]"), "{body}");
    let (s, body) = call(&app, "/api/v1/assets/pump-0001").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("\"flow\""), "{body}");
    let (s, body) = call(&app, "/api/v1/assets/pump-0001/models").await;
    assert_eq!(s, StatusCode::OK);
    let models: Vec<FittedModel> = serde_json::from_str(&body).unwrap();
    assert_eq!(models.len(), 1);
    assert_eq!(
        models[0].label(),
        "joint-mahalanobis/1 v1 fitted at 1780000000000 on 24 rows"
    );
    // Known but not analysed yet: no sensors, not an error.
    let (s, body) = call(&app, "/api/v1/assets/pump-0001/health").await;
    assert_eq!(s, StatusCode::OK);
    let health: AssetHealth = serde_json::from_str(&body).unwrap();
    assert!(
        health.sensors.is_empty() && health.as_of_ms.is_none(),
        "{body}"
    );

    for (uri, want) in [
        ("/api/v1/tickets/999", StatusCode::NOT_FOUND),
        ("/api/v1/tickets/abc", StatusCode::BAD_REQUEST),
        ("/api/v1/tickets?status=maybe", StatusCode::BAD_REQUEST),
        ("/api/v1/tickets?limit=0", StatusCode::BAD_REQUEST),
        ("/api/v1/tickets?limit=x", StatusCode::BAD_REQUEST),
        ("/api/v1/tickets?colour=red", StatusCode::BAD_REQUEST),
        ("/api/v1/assets/nobody", StatusCode::NOT_FOUND),
        ("/api/v1/assets/nobody/models", StatusCode::NOT_FOUND),
        ("/api/v1/assets/nobody/health", StatusCode::NOT_FOUND),
        ("/api/v1/assets/bad%20id/health", StatusCode::BAD_REQUEST),
        ("/api/v1/assets/bad%20id", StatusCode::BAD_REQUEST),
        ("/api/v1/nothing", StatusCode::NOT_FOUND),
    ] {
        let (s, body) = call(&app, uri).await;
        assert_eq!(s, want, "{uri}: {body}");
        let v: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|_| panic!("{uri}: not JSON: {body}"));
        assert_eq!(
            v["status"].as_u64(),
            Some(u64::from(want.as_u16())),
            "{body}"
        );
        assert!(
            v["title"].is_string() && v["detail"] == v["error"],
            "{body}"
        );
        assert!(
            v["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{uri}: {body}"
        );
    }

    let (s, body) = call(&app, "/api/v1/assets/pump-0001/telemetry?sensor=flow").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("[1780000000000,150.0]"), "{body}");
    let (s, body) = call(&app, "/api/v1/assets/pump-0001/telemetry?sensor=flow&from=2026-05-28T00:00:00Z&to=1790000000000&step=1h").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("\"count\":1"), "{body}");
    for (uri, want) in [
        (
            "/api/v1/assets/pump-0001/telemetry",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/assets/pump-0001/telemetry?sensor=winding_temp",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/assets/pump-0001/telemetry?sensor=flow&from=yesterday",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/assets/pump-0001/telemetry?sensor=flow&from=10&to=5",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/assets/pump-0001/telemetry?sensor=flow&step=1ms",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/assets/pump-0001/telemetry?sensor=flow&step=often",
            StatusCode::BAD_REQUEST,
        ),
        // Raw points, or an export, over more than 31 days: refused before the store is read.
        (
            "/api/v1/assets/pump-0001/telemetry?sensor=flow&from=2025-01-01T00:00:00Z&to=2026-06-01T00:00:00Z",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/assets/pump-0001/telemetry?sensor=flow&format=parquet&from=2025-01-01T00:00:00Z&to=2026-06-01T00:00:00Z",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/assets/ghost/telemetry?sensor=flow",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (s, body) = call(&app, uri).await;
        assert_eq!(s, want, "{uri}: {body}");
        assert!(body.contains("\"error\""), "{uri}: {body}");
    }

    // Many assets at once: one series per asset asked, in order.
    let (s, body) = call(
        &app,
        "/api/v1/telemetry?assets=pump-0001,pump-0001&sensor=flow",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["series"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(v["series"][1]["points"][0][1], 150.0, "{body}");
    let (s, body) = call(
        &app,
        "/api/v1/telemetry?assets=pump-0001&sensor=flow&from=2026-05-28T00:00:00Z&to=1790000000000&step=1h",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("\"count\":1"), "{body}");
    for (uri, want) in [
        ("/api/v1/telemetry?sensor=flow", StatusCode::BAD_REQUEST),
        (
            "/api/v1/telemetry?assets=,&sensor=flow",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/telemetry?assets=pump-0001,ghost&sensor=flow",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/telemetry?assets=pump-0001&sensor=flow&step=1ms",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/telemetry?assets=a%2Fb&sensor=flow",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, body) = call(&app, uri).await;
        assert_eq!(s, want, "{uri}: {body}");
        assert!(body.contains("\"error\""), "{uri}: {body}");
    }

    let (s, body) = call(&app, "/metrics").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("forewarn_assets 1"), "{body}");
    // The dashboards need a session: a visitor without one is sent to sign in.
    let (s, _) = call(&app, "/").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
}

/// A request with an optional bearer token and JSON body; the status and body.
pub(crate) async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn ticket_moves_need_a_token_with_the_right_role_and_are_audited() {
    use forewarn_maintenance::Role;
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    let planner = state.db.create_token("pat", Role::Planner).await.unwrap();
    let tech = state
        .db
        .create_token("tom", Role::Technician)
        .await
        .unwrap();
    let viewer = state.db.create_token("vic", Role::Viewer).await.unwrap();
    let db = state.db.clone();
    let app = router(state);
    let uri = "/api/v1/tickets/1/transition";
    let post = |token: Option<&'static str>, body: &'static str| {
        let app = app.clone();
        async move { send(&app, "POST", uri, token, body).await }
    };
    let leak = |t: String| -> &'static str { Box::leak(t.into_boxed_str()) };
    let (planner, tech, viewer) = (leak(planner), leak(tech), leak(viewer));

    for (token, body, want) in [
        (None, r#"{"to":"assigned"}"#, StatusCode::UNAUTHORIZED),
        (
            Some("fw_nope"),
            r#"{"to":"assigned"}"#,
            StatusCode::UNAUTHORIZED,
        ),
        (Some(viewer), r#"{"to":"assigned"}"#, StatusCode::FORBIDDEN),
        (Some(tech), r#"{"to":"assigned"}"#, StatusCode::FORBIDDEN),
        (Some(planner), r#"{"to":"resolved"}"#, StatusCode::CONFLICT),
        (Some(planner), r#"{"to":"maybe"}"#, StatusCode::BAD_REQUEST),
        (
            Some(planner),
            r#"{"to":"assigned","colour":1}"#,
            StatusCode::BAD_REQUEST,
        ),
        (Some(planner), "not json", StatusCode::BAD_REQUEST),
    ] {
        let (s, body) = post(token, body).await;
        assert_eq!(s, want, "{token:?}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(v["error"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }
    let (s, body) = post(Some(planner), r#"{"to":"assigned","note":"Tom, please"}"#).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(r#""status":"assigned""#), "{body}");
    // Assigned to nobody yet: no technician may start it.
    let (s, body) = post(Some(tech), r#"{"to":"in_progress"}"#).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("assigned to nobody"), "{body}");
    db.put_technician(&crate::ui_tests::tech("tom"))
        .await
        .unwrap();
    db.assign(1, "pat", Some("tom"), Some("Tom, please"))
        .await
        .unwrap();
    // No bearing in stock: starting work puts the ticket on hold; the technician goes on anyway.
    let (s, body) = post(Some(tech), r#"{"to":"in_progress"}"#).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(r#""status":"waiting_parts""#), "{body}");
    assert_eq!(
        post(Some(tech), r#"{"to":"in_progress"}"#).await.0,
        StatusCode::OK
    );
    // Resolving needs a resolution, and another mode must be one of the asset type's.
    assert_eq!(
        post(Some(tech), r#"{"to":"resolved"}"#).await.0,
        StatusCode::BAD_REQUEST
    );
    let (s, body) = post(
        Some(tech),
        r#"{"to":"resolved","resolution":{"code":"other_mode","failure_mode":"warp_drive"}}"#,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (s, body) = post(
        Some(tech),
        r#"{"to":"resolved","resolution":{"code":"other_mode","failure_mode":"impeller_wear"}}"#,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(
        body.contains(r#""resolution":{"code":"other_mode","failure_mode":"impeller_wear"}"#),
        "{body}"
    );
    let rate = |token: &'static str, body: &'static str| {
        let app = app.clone();
        async move { send(&app, "POST", "/api/v1/tickets/1/rating", Some(token), body).await }
    };
    let (s, body) = rate(planner, r#"{"score":5}"#).await;
    assert_eq!(s, StatusCode::CONFLICT, "only after closing: {body}");
    assert_eq!(
        post(Some(tech), r#"{"to":"closed"}"#).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(Some(planner), r#"{"to":"closed"}"#).await.0,
        StatusCode::OK
    );
    assert_eq!(
        rate(viewer, r#"{"score":4}"#).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        rate(planner, r#"{"score":6}"#).await.0,
        StatusCode::BAD_REQUEST
    );
    let (s, body) = rate(planner, r#"{"score":4,"comment":"quick, clean"}"#).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        rate(planner, r#"{"score":1}"#).await.0,
        StatusCode::CONFLICT,
        "once"
    );
    let (_, body) = call(&app, "/api/v1/tickets/1").await;
    assert!(
        body.contains(r#""rating":{"score":4,"comment":"quick, clean","by":"pat""#),
        "{body}"
    );

    let (s, body) = call(&app, "/api/v1/tickets/1/audit").await;
    assert_eq!(s, StatusCode::OK);
    let log: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let steps: Vec<(&str, &str)> = log
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("forewarn", "new"),
            ("pat", "assigned"),
            // Naming Tom is an entry of its own.
            ("pat", "assigned"),
            ("tom", "in_progress"),
            ("forewarn", "waiting_parts"),
            ("tom", "in_progress"),
            ("tom", "resolved"),
            ("pat", "closed")
        ]
    );
    assert_eq!(log[1]["note"], "Tom, please");
    assert_eq!(
        call(&app, "/api/v1/tickets/9/audit").await.0,
        StatusCode::NOT_FOUND
    );
    let (s, body) = call(&app, "/api/v1/kpis").await;
    assert_eq!(s, StatusCode::OK);
    let k: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (
            k["resolved_tickets"].as_u64(),
            k["first_time_fix_rate"].as_f64()
        ),
        (Some(1), Some(1.0)),
        "{body}"
    );
    assert_eq!(k["false_alarm_rate"].as_f64(), Some(0.0), "{body}");
    assert_eq!(
        send(
            &app,
            "POST",
            "/api/v1/tickets/9/transition",
            Some(planner),
            r#"{"to":"assigned"}"#
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn outside_findings_take_the_pipelines_path_to_one_ticket() {
    use forewarn_maintenance::Role;
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    let planner = state.db.create_token("pat", Role::Planner).await.unwrap();
    let viewer = state.db.create_token("vic", Role::Viewer).await.unwrap();
    let db = state.db.clone();
    let app = router(state);
    let finding = |mode: &str, extra: &str| {
        format!(
            r#"{{"asset_id":"pump-0001","failure_mode":"{mode}","severity":"high","score":7.5,"source":"vibration-analyst"{extra}}}"#
        )
    };
    for (token, body, want) in [
        (None, finding("impeller_wear", ""), StatusCode::UNAUTHORIZED),
        (Some(viewer.as_str()), finding("impeller_wear", ""), StatusCode::FORBIDDEN),
        (Some(planner.as_str()), finding("warp_drive", ""), StatusCode::BAD_REQUEST),
        (Some(planner.as_str()), finding("impeller_wear", r#","observed_at":"yesterday""#), StatusCode::BAD_REQUEST),
        (Some(planner.as_str()), finding("impeller_wear", r#","observed_at":5"#), StatusCode::BAD_REQUEST),
        (Some(planner.as_str()), finding("impeller_wear", r#","colour":"red""#), StatusCode::BAD_REQUEST),
        (
            Some(planner.as_str()),
            r#"{"asset_id":"nobody","failure_mode":"impeller_wear","severity":"high","score":1,"source":"x"}"#.to_string(),
            StatusCode::NOT_FOUND,
        ),
        (
            Some(planner.as_str()),
            r#"{"asset_id":"pump-0001","failure_mode":"impeller_wear","severity":"dire","score":1,"source":"x"}"#.to_string(),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, body) = send(&app, "POST", "/api/v1/findings", token, &body).await;
        assert_eq!(s, want, "{body}");
        assert!(body.contains("\"error\""), "{body}");
    }
    let huge = finding(
        "impeller_wear",
        &format!(r#","evidence":"{}""#, "x".repeat(300_000)),
    );
    let (s, body) = send(&app, "POST", "/api/v1/findings", Some(&planner), &huge).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body.contains("\"detail\""), "a problem document: {body}");
    assert_eq!(
        db.count().await.unwrap(),
        1,
        "refused findings open nothing"
    );

    // 100 at once for one asset and mode: one ticket, the rest join it.
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (app, token) = (app.clone(), planner.clone());
            let body = finding(
                "impeller_wear",
                r#","observed_at":"2026-06-01T00:00:00Z","evidence":{"rms_mm_s":7.1}"#,
            );
            tokio::spawn(async move {
                send(&app, "POST", "/api/v1/findings", Some(&token), &body).await
            })
        })
        .collect();
    let (mut created, mut joined) = (0, 0);
    for t in tasks {
        let (s, body) = t.await.unwrap();
        match s {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => joined += 1,
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!((created, joined), (1, 99));
    let open = db.tickets(Some("pump-0001"), true, 10).await.unwrap();
    let t = open
        .iter()
        .find(|t| t.failure_mode == "impeller_wear")
        .unwrap();
    assert_eq!(t.alert_count, 100);
    assert_eq!(t.evidence["detector"], "external/vibration-analyst");
    assert_eq!(t.evidence["evidence"]["evidence"]["rms_mm_s"], 7.1);
    assert!(!t.parts.is_empty(), "the mode's parts are on it");

    // A ticket by hand joins the open one for the same asset and mode, or opens its own.
    let (s, body) = send(
        &app,
        "POST",
        "/api/v1/tickets",
        Some(&planner),
        r#"{"asset_id":"pump-0001","failure_mode":"impeller_wear","note":"noisy"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(&format!("\"ticket_id\":{}", t.id)), "{body}");
    assert_eq!(db.count().await.unwrap(), 2);

    // Pages and filters on the ticket list.
    let page = |uri: String| {
        let app = app.clone();
        async move {
            let res = app
                .oneshot(Request::get(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let link = res
                .headers()
                .get("link")
                .map(|l| l.to_str().unwrap().to_owned());
            let body = res.into_body().collect().await.unwrap().to_bytes();
            let ids: Vec<i64> = serde_json::from_slice::<Vec<serde_json::Value>>(&body)
                .unwrap()
                .iter()
                .map(|t| t["id"].as_i64().unwrap())
                .collect();
            (ids, link)
        }
    };
    let (ids, link) = page("/api/v1/tickets?status=all&limit=1".into()).await;
    assert_eq!(ids, [2]);
    let link = link.expect("a full page links the next");
    assert_eq!(
        link,
        r#"</api/v1/tickets?status=all&limit=1&before=2>; rel="next""#
    );
    let next = link[1..link.find('>').unwrap()].to_owned();
    assert_eq!(page(next).await.0, [1]);
    let (ids, link) = page("/api/v1/tickets?status=all&before=1".into()).await;
    assert!(ids.is_empty() && link.is_none());
    assert_eq!(
        page("/api/v1/tickets?failure_mode=impeller_wear".into())
            .await
            .0,
        [2]
    );
    assert_eq!(page("/api/v1/tickets?status=new".into()).await.0, [2, 1]);
    for bad in [
        "/api/v1/tickets?priority=p9",
        "/api/v1/tickets?status=done",
        "/api/v1/tickets?before=x",
    ] {
        assert_eq!(call(&app, bad).await.0, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn status_changes_and_new_tickets_stream_as_server_sent_events() {
    use forewarn_maintenance::Role;
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    let planner = state.db.create_token("pat", Role::Planner).await.unwrap();
    let app = router(state);
    let res = app
        .clone()
        .oneshot(Request::get("/api/v1/events").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.into_body();

    let (s, _) = send(
        &app,
        "POST",
        "/api/v1/tickets/1/transition",
        Some(&planner),
        r#"{"to":"assigned"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = send(
        &app,
        "POST",
        "/api/v1/tickets",
        Some(&planner),
        r#"{"asset_id":"pump-0001","failure_mode":"impeller_wear"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);

    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while !(seen.contains("event: ticket_changed") && seen.contains("event: ticket_opened")) {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .expect("events within 5 s")
            .unwrap()
            .unwrap();
        if let Ok(data) = frame.into_data() {
            seen.push_str(&String::from_utf8_lossy(&data));
        }
    }
    assert!(seen.contains(r#""status":"assigned""#), "{seen}");
    assert!(seen.contains(r#""failure_mode":"impeller_wear""#), "{seen}");
}
