//! Stored findings and the ticket's estimate kept current.

use forewarn_domain::{Classifier, HealthIndex, SensorName, Severity, TimeToFailure};

use crate::db::tests::alert;
use crate::findings::{FindingFilter, Outcome};
use crate::stage::open;

/// An alert whose finding at `at_ms` estimates `hours` (±50 %) to failure.
fn estimating(at_ms: i64, hours: f64) -> forewarn_domain::Alert {
    let mut a = alert("p-1", "bearing_wear", Severity::High);
    a.raised_at_ms = at_ms;
    a.finding.detected_at_ms = at_ms;
    a.finding.health = Some(HealthIndex {
        index: 0.5,
        limiting_sensor: SensorName::new("vib").unwrap(),
        time_to_failure_h: Some(TimeToFailure {
            hours,
            low: hours / 2.0,
            high: Some(hours * 1.5),
        }),
        levels: None,
    });
    a
}

#[tokio::test]
async fn every_finding_is_kept_and_the_ticket_estimate_follows_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    let metrics = forewarn_domain::Metrics::new();
    let opened = tokio::sync::broadcast::channel(4).0;
    let t0 = 1_780_000_000_000;
    let hour = 3_600_000;
    let ctx = Default::default();
    let first = open(
        &db,
        &metrics,
        &opened,
        &estimating(t0, 60.0),
        &ctx,
        Classifier::Signature,
    )
    .await
    .unwrap();
    let (outcome, id) = Outcome::of(&first);
    assert_eq!(outcome, Outcome::Opened);
    let later = estimating(t0 + 12 * hour, 30.0);
    open(&db, &metrics, &opened, &later, &ctx, Classifier::Signature)
        .await
        .unwrap();
    let t = db.ticket(id).await.unwrap().unwrap();
    let e = t.estimate.unwrap();
    assert_eq!(
        (e.hours, e.at_ms),
        (30.0, t0 + 12 * hour),
        "updated by the newer finding"
    );
    // An older finding (a restart's replay) does not take the estimate back; the same one
    // again is stored once.
    open(
        &db,
        &metrics,
        &opened,
        &estimating(t0 + 6 * hour, 45.0),
        &ctx,
        Classifier::Signature,
    )
    .await
    .unwrap();
    open(&db, &metrics, &opened, &later, &ctx, Classifier::Signature)
        .await
        .unwrap();
    let t = db.ticket(id).await.unwrap().unwrap();
    assert_eq!(t.estimate.unwrap().hours, 30.0);
    let history: Vec<f64> = db
        .findings_of_ticket(id)
        .await
        .unwrap()
        .iter()
        .filter_map(|f| f.time_to_failure_h.map(|t| t.hours))
        .collect();
    assert_eq!(history, vec![60.0, 45.0, 30.0], "oldest first, each once");
    // A finding no mode matched is kept, without a ticket; the filters tell them apart.
    let mut unmatched = estimating(t0 + 13 * hour, 20.0).finding;
    unmatched.asset = forewarn_domain::AssetId::new("p-2").unwrap();
    db.record_finding(&unmatched, None, Outcome::Unmatched, None)
        .await
        .unwrap();
    let all = |classified, ticketed| FindingFilter {
        classified,
        ticketed,
        limit: 100,
        ..FindingFilter::default()
    };
    assert_eq!(db.findings(&all(None, None)).await.unwrap().len(), 4);
    let loose = db.findings(&all(Some(false), None)).await.unwrap();
    assert_eq!(loose.len(), 1);
    assert_eq!(loose[0].outcome, Outcome::Unmatched);
    assert_eq!(db.findings(&all(None, Some(true))).await.unwrap().len(), 3);
    let since = FindingFilter {
        from_ms: Some(t0 + 12 * hour),
        limit: 100,
        ..FindingFilter::default()
    };
    assert_eq!(db.findings(&since).await.unwrap().len(), 2);
    // A planner opens a ticket from it.
    let f = &loose[0];
    db.link_finding(f.id, "bearing_wear", Outcome::Opened, id)
        .await
        .unwrap();
    let f = db.finding(f.id).await.unwrap().unwrap();
    assert_eq!(
        (f.ticket_id, f.classified_by.as_deref()),
        (Some(id), Some("outside"))
    );
}
