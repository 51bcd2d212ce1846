//! Ticket database tests: one open ticket per (asset, mode), under concurrency and across reopen.

use forewarn_domain::{
    AssetId, AssetTypeId, Criticality, FailureModeId, Finding, PartRequirement, Severity,
};

use super::*;

pub(crate) fn alert(asset: &str, mode: &str, severity: Severity) -> Alert {
    Alert {
        asset: AssetId::new(asset).unwrap(),
        failure_mode: FailureModeId::new(mode).unwrap(),
        severity,
        raised_at_ms: 1_780_000_000_000,
        began_ms: 1_780_000_000_000,
        finding: Finding {
            asset: AssetId::new(asset).unwrap(),
            asset_type: AssetTypeId::new("pump").unwrap(),
            detected_at_ms: 1_780_000_000_000,
            deviations: vec![],
            score: 5.0,
            severity,
            detector: "test".into(),
            sensor_faults: vec![],
            joint: None,
            health: None,
            evidence: None,
        },
        parts: vec![
            PartRequirement {
                part_number: "BRG-1".into(),
                description: "bearing".into(),
                quantity: 2,
            },
            PartRequirement {
                part_number: "SEAL-1".into(),
                description: "seal".into(),
                quantity: 1,
            },
        ],
        skills: vec!["mechanical".into()],
        corrective: false,
    }
}

#[tokio::test]
async fn concurrent_alerts_open_one_ticket_with_its_parts() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let db = db.clone();
        let sev = if i == 39 {
            Severity::Critical
        } else {
            Severity::Medium
        };
        tasks.push(tokio::spawn(async move {
            db.open_ticket(
                &alert("p-1", "bearing_wear", sev),
                &Criticality::Medium.into(),
            )
            .await
            .unwrap()
        }));
    }
    let mut new = 0;
    for t in tasks {
        if matches!(t.await.unwrap(), Opened::New(_)) {
            new += 1;
        }
    }
    assert_eq!(new, 1);
    let tickets = db.tickets(None, true, 100).await.unwrap();
    assert_eq!(tickets.len(), 1);
    let t = &tickets[0];
    assert_eq!(
        (t.asset_id.as_str(), t.failure_mode.as_str(), t.status),
        ("p-1", "bearing_wear", TicketStatus::New)
    );
    assert_eq!(t.alert_count, 40);
    assert_eq!(t.severity, "critical");
    assert_eq!(
        t.parts
            .iter()
            .map(|p| (p.part_number.as_str(), p.quantity))
            .collect::<Vec<_>>(),
        vec![("BRG-1", 2), ("SEAL-1", 1)]
    );
    // Another mode or another asset is another ticket.
    assert!(matches!(
        db.open_ticket(
            &alert("p-1", "impeller_wear", Severity::Low),
            &Criticality::Medium.into()
        )
        .await
        .unwrap(),
        Opened::New(_)
    ));
    assert!(matches!(
        db.open_ticket(
            &alert("p-2", "bearing_wear", Severity::Low),
            &Criticality::Medium.into()
        )
        .await
        .unwrap(),
        Opened::New(_)
    ));
    db.close().await;

    // The rule holds after a restart, and stats can read while stopped.
    let db = crate::testdb::open(dir.path()).await;
    assert!(matches!(
        db.open_ticket(
            &alert("p-1", "bearing_wear", Severity::Low),
            &Criticality::Medium.into()
        )
        .await
        .unwrap(),
        Opened::Existing(_)
    ));
    assert_eq!(db.count().await.unwrap(), 3);
    db.close().await;
    if crate::testdb::postgres() {
        return; // Reading while stopped is the SQLite file's feature.
    }
    let ro = Maintenance::open_read_only(dir.path())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ro.count().await.unwrap(), 3);
    assert_eq!(ro.tickets(Some("p-2"), false, 10).await.unwrap().len(), 1);
    assert!(ro.ticket(999).await.unwrap().is_none());
}

#[tokio::test]
async fn a_missing_database_reads_as_none() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        Maintenance::open_read_only(dir.path())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn resolved_tickets_are_labelled_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    db.open_ticket(
        &alert("p-1", "bearing_wear", Severity::High),
        &Criticality::Medium.into(),
    )
    .await
    .unwrap();
    db.open_ticket(
        &alert("p-2", "impeller_wear", Severity::High),
        &Criticality::Medium.into(),
    )
    .await
    .unwrap();
    assert!(
        db.resolved_examples().await.unwrap().is_empty(),
        "open tickets are not labels"
    );
    sqlx::query("UPDATE tickets SET status = 'resolved' WHERE asset_id = 'p-2'")
        .execute(&db.pool)
        .await
        .unwrap();
    let examples = db.resolved_examples().await.unwrap();
    assert_eq!(examples.len(), 1);
    assert_eq!(examples[0].0.asset.as_str(), "p-2");
    assert_eq!(examples[0].1.as_str(), "impeller_wear");
}

#[test]
fn ticket_links_chart_the_findings_sensors_around_detection() {
    let evidence = serde_json::json!({
        "deviations": [
            {"sensor": "vibration_rms", "baseline": 2.5},
            {"sensor": "bearing_temp", "baseline": 61.0}
        ],
        "sensor_faults": [{"sensor": "flow"}]
    });
    let links = crate::TicketLinks::new("p-1", 1_780_000_000_000, &evidence);
    assert_eq!(links.asset, "/api/v1/assets/p-1");
    assert_eq!(
        links.chart.as_deref(),
        Some(
            "/api/v1/assets/p-1/chart.svg?sensors=vibration_rms,bearing_temp,flow&from=1779395200000&to=1780172800000&mark=1780000000000&baselines=2.5,61,"
        )
    );
    let none = crate::TicketLinks::new("p-1", 0, &serde_json::json!({"source": "phone"}));
    assert_eq!(none.chart, None);
}

/// Alerts with and without a remaining-life estimate, for a ticket already open: the attach
/// statement updates the estimate (the pipeline's common case from the second finding on). On
/// PostgreSQL this failed with "incorrect binary data format in bind parameter 12" once the same
/// connection had bound an estimate as NULL — found by the chaos soak.
#[tokio::test]
async fn an_alert_with_an_estimate_attaches_to_its_open_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    let with_estimate = |raised: i64, hours: f64, high: Option<f64>| {
        let mut a = alert("m-1", "winding_overheating", Severity::Medium);
        a.raised_at_ms = raised;
        a.finding.detected_at_ms = raised;
        // A negative `hours` stands for a finding without an estimate (all three bound NULL).
        a.finding.health = (hours >= 0.0).then(|| forewarn_domain::HealthIndex {
            index: 0.5,
            limiting_sensor: forewarn_domain::SensorName::new("current").unwrap(),
            time_to_failure_h: Some(forewarn_domain::TimeToFailure {
                hours,
                low: 0.1,
                high,
            }),
            levels: None,
        });
        a
    };
    let ctx = AssetContext::default();
    let first = db
        .open_ticket(&with_estimate(1_780_000_000_000, 40.0, Some(90.0)), &ctx)
        .await
        .unwrap();
    let Opened::New(t) = first else {
        panic!("{first:?}")
    };
    // NULLs first: a statement prepared with them must still take numbers after (sqlx's Any
    // driver sends a NULL double as a 4-byte float, which fixed the parameter's type).
    let attaches = [(-1.0, None), (20.0, None), (14.9, Some(43.55))];
    for (i, (hours, high)) in attaches.into_iter().enumerate() {
        let later = with_estimate(1_780_000_000_000 + (i as i64 + 1) * 3_600_000, hours, high);
        let again = db.open_ticket(&later, &ctx).await.unwrap();
        assert_eq!(again, Opened::Existing(t.id));
        crate::stage::open(
            &db,
            &forewarn_domain::Metrics::new(),
            &tokio::sync::broadcast::channel(1).0,
            &later,
            &ctx,
            forewarn_domain::Classifier::Signature,
        )
        .await
        .unwrap();
    }
    let t = db.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(t.estimate.map(|e| e.hours), Some(14.9));
}
