//! Repairs through the API: resolutions record when the repair took effect in the asset's own
//! time and hand it to analytics; tickets by hand are corrective; the pipeline's progress.

use axum::http::StatusCode;
use forewarn_maintenance::Role;

use super::*;
use crate::tests::{call, send, state};

/// The state's one reading of pump-0001 and ticket 1's detection.
const T0: i64 = 1_780_000_000_000;

async fn work(app: &axum::Router, token: &str, id: i64) {
    for to in ["assigned", "in_progress"] {
        let (s, body) = send(
            app,
            "POST",
            &format!("/api/v1/tickets/{id}/transition"),
            Some(token),
            &format!(r#"{{"to":"{to}"}}"#),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        if body.contains(r#""status":"waiting_parts""#) {
            // No stock here: the technician goes on without the parts.
            let (s, _) = send(
                app,
                "POST",
                &format!("/api/v1/tickets/{id}/transition"),
                Some(token),
                r#"{"to":"in_progress"}"#,
            )
            .await;
            assert_eq!(s, StatusCode::OK);
        }
    }
}

async fn resolve(app: &axum::Router, token: &str, id: i64, extra: &str) -> (StatusCode, String) {
    send(
        app,
        "POST",
        &format!("/api/v1/tickets/{id}/transition"),
        Some(token),
        &format!(r#"{{"to":"resolved","resolution":{{"code":"confirmed"}}{extra}}}"#),
    )
    .await
}

#[tokio::test]
async fn a_resolution_records_the_repair_in_device_time_and_hands_it_to_analytics() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    let planner = state.db.create_token("pat", Role::Planner).await.unwrap();
    let repairs = state.repairs.clone();
    let app = router(state);
    work(&app, &planner, 1).await;
    for (bad, why) in [
        (T0 - 1, "before the ticket's finding"),
        (4_102_444_800_000, "in the future"),
    ] {
        let (s, body) = resolve(&app, &planner, 1, &format!(r#","repaired_at":{bad}"#)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{why}: {body}");
    }
    let (s, body) = send(
        &app,
        "POST",
        "/api/v1/tickets/1/transition",
        Some(&planner),
        r#"{"to":"resolved","resolution":{"code":"no_fault_found"},"repaired_at":1780000000000}"#,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "no fault, no repair: {body}");
    assert!(repairs.take().is_empty(), "nothing was repaired yet");
    let (s, body) = resolve(
        &app,
        &planner,
        1,
        r#","repaired_at":"2026-05-28T20:30:00Z""#,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let t: serde_json::Value = serde_json::from_str(&body).unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2026-05-28T20:30:00Z")
        .unwrap()
        .timestamp_millis();
    assert_eq!(t["repaired_at_ms"], at);
    assert_eq!(t["found_mode"], "bearing_wear");
    let handed = repairs.take();
    assert_eq!(handed.len(), 1);
    assert_eq!(
        (
            handed[0].asset.as_str(),
            handed[0].at_ms,
            handed[0].ticket_id
        ),
        ("pump-0001", at, 1)
    );
}

#[tokio::test]
async fn without_a_repair_time_the_assets_newest_reading_is_the_moment() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    let planner = state.db.create_token("pat", Role::Planner).await.unwrap();
    let app = router(state);
    work(&app, &planner, 1).await;
    let (s, body) = resolve(&app, &planner, 1, "").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let t: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        t["repaired_at_ms"], T0,
        "the asset's clock, not the wall clock"
    );
    let (_, audit) = call(&app, "/api/v1/tickets/1/audit").await;
    let audit: serde_json::Value = serde_json::from_str(&audit).unwrap();
    assert_eq!(audit.as_array().unwrap().last().unwrap()["device_ms"], T0);
}

#[tokio::test]
async fn a_ticket_by_hand_is_corrective_and_counts_as_a_missed_prediction() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    let planner = state.db.create_token("pat", Role::Planner).await.unwrap();
    let app = router(state);
    let (s, body) = send(
        &app,
        "POST",
        "/api/v1/tickets",
        Some(&planner),
        r#"{"asset_id":"pump-0001","failure_mode":"impeller_wear","note":"stopped","observed_at":1780000000000}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (_, t) = call(&app, "/api/v1/tickets/2").await;
    let t: serde_json::Value = serde_json::from_str(&t).unwrap();
    assert_eq!(
        (t["kind"].as_str(), t["detected_at_ms"].as_i64()),
        (Some("corrective"), Some(T0))
    );
    for id in [1, 2] {
        work(&app, &planner, id).await;
        assert_eq!(resolve(&app, &planner, id, "").await.0, StatusCode::OK);
    }
    let (_, k) = call(&app, "/api/v1/kpis").await;
    let k: serde_json::Value = serde_json::from_str(&k).unwrap();
    assert_eq!(
        (k["failures"].as_u64(), k["corrective"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(k["prediction_recall"], 0.5);
    let pump = &k["by_asset_type"][0];
    assert_eq!(
        (pump["asset_type"].as_str(), pump["predicted"].as_u64()),
        (Some("centrifugal_pump"), Some(1))
    );
}

#[tokio::test]
async fn the_pipeline_says_how_far_it_got() {
    let dir = tempfile::tempdir().unwrap();
    let app = router(state(dir.path()).await);
    let (s, body) = call(&app, "/api/v1/pipeline").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let p: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(p["findings_pending"], 0);
    assert!(p["analysed_through_ms"].as_object().unwrap().is_empty());
}
