//! Stored findings through the API: listing with filters, a ticket's findings, and a ticket
//! opened by a planner from a finding no mode matched.

use axum::http::StatusCode;
use forewarn_domain::{AssetId, Finding, Severity};
use forewarn_maintenance::Role;
use forewarn_maintenance::findings::Outcome;
use serde_json::Value;

use crate::router;
use crate::tests::{call, send, state};

#[tokio::test]
async fn findings_are_listed_and_a_planner_opens_a_ticket_from_one() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path()).await;
    let planner = st.db.create_token("pat", Role::Planner).await.unwrap();
    let viewer = st.db.create_token("vic", Role::Viewer).await.unwrap();
    let pump = st.store.assets()[0].clone();
    let finding = Finding {
        asset: AssetId::new(pump.id.as_str()).unwrap(),
        asset_type: pump.asset_type.clone(),
        detected_at_ms: 1_780_000_360_000,
        deviations: vec![],
        score: 4.2,
        severity: Severity::Medium,
        detector: "t".into(),
        sensor_faults: vec![],
        joint: None,
        health: None,
        evidence: None,
    };
    st.db
        .record_finding(&finding, None, Outcome::Unmatched, None)
        .await
        .unwrap();
    let app = router(st);
    let (s, body) = call(&app, "/api/v1/findings?classified=false").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let list: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(list.len(), 1, "{body}");
    assert_eq!(list[0]["outcome"], "unmatched");
    let id = list[0]["id"].as_i64().unwrap();
    let (s, body) = call(&app, "/api/v1/findings?limit=lots").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("limit: must be a whole number"), "{body}");
    let uri = format!("/api/v1/findings/{id}/ticket");
    for (token, mode, want) in [
        (
            Some(viewer.as_str()),
            "impeller_wear",
            StatusCode::FORBIDDEN,
        ),
        (
            Some(planner.as_str()),
            "warp_drive",
            StatusCode::BAD_REQUEST,
        ),
        // The fixture's pump has a bearing ticket open: impeller wear is new, then joined.
        (Some(planner.as_str()), "impeller_wear", StatusCode::CREATED),
        (Some(planner.as_str()), "impeller_wear", StatusCode::OK),
    ] {
        let body = format!(r#"{{"failure_mode":"{mode}"}}"#);
        let (s, answer) = send(&app, "POST", &uri, token, &body).await;
        assert_eq!(s, want, "{mode}: {answer}");
        if mode == "warp_drive" {
            assert!(
                answer.contains("accepted: ") && answer.contains("bearing_wear"),
                "{answer}"
            );
        }
    }
    let (_, body) = call(&app, &format!("/api/v1/findings/{id}")).await;
    let f: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(f["failure_mode"], "impeller_wear", "{body}");
    let ticket = f["ticket_id"].as_i64().expect("linked to its ticket");
    let (_, body) = call(&app, &format!("/api/v1/tickets/{ticket}/findings")).await;
    let of: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert!(!of.is_empty(), "{body}");
    let (s, _) = call(&app, "/api/v1/findings/999999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
