//! Dispatch against the database: proposals at opening, load and distance weighed, skills
//! required, red alerts assigned at once, planners' overrides; the ranking at chosen times.

use forewarn_domain::{Criticality, Severity};

use super::*;
use crate::db::tests::alert;
use crate::parts::Site;
use crate::{AssetContext, Maintenance, Opened, TicketStatus};

/// Always on shift, so the tests do not depend on the time they run at.
pub(crate) fn tech(id: &str, skills: &[&str], site: Option<&str>, lat: f64) -> Technician {
    Technician {
        id: id.into(),
        name: format!("Tech {id}"),
        skills: skills.iter().map(|s| s.to_string()).collect(),
        site: site.map(Into::into),
        lat: Some(lat),
        lon: Some(10.0),
        shift_start: "00:00".into(),
        shift_end: "24:00".into(),
        work_days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .map(String::from)
            .to_vec(),
        utc_offset_minutes: 0,
        active: true,
    }
}

async fn crew() -> (tempfile::TempDir, Maintenance) {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    db.put_site(&Site {
        id: "s1".into(),
        name: String::new(),
        lat: Some(50.0),
        lon: Some(10.0),
    })
    .await
    .unwrap();
    // `near` at the site, `far` 200 km away, `sparky` at the site without mechanical skills.
    db.put_technician(&tech("near", &["mechanical"], Some("s1"), 50.0))
        .await
        .unwrap();
    db.put_technician(&tech("far", &["mechanical", "electrical"], None, 51.8))
        .await
        .unwrap();
    db.put_technician(&tech("sparky", &["electrical"], Some("s1"), 50.0))
        .await
        .unwrap();
    (dir, db)
}

async fn open(db: &Maintenance, asset: &str, severity: Severity, criticality: Criticality) -> i64 {
    let ctx = AssetContext {
        criticality,
        site: Some("s1".into()),
    };
    match db
        .open_ticket(&alert(asset, "bearing_wear", severity), &ctx)
        .await
        .unwrap()
    {
        Opened::New(t) => t.id,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_new_ticket_gets_a_proposal_with_its_reasons() {
    let (_d, db) = crew().await;
    let id = open(&db, "p-1", Severity::Medium, Criticality::Medium).await;
    let t = db.ticket(id).await.unwrap().unwrap();
    assert_eq!(
        t.status,
        TicketStatus::New,
        "a proposal waits for a planner"
    );
    assert_eq!(t.assignee, None);
    assert_eq!(t.skills, ["mechanical"]);
    let d = t.dispatch.unwrap();
    assert_eq!(
        (d.kind.as_str(), d.technician_id.as_deref()),
        ("proposed", Some("near"))
    );
    assert_eq!(d.lacking_skills, 1, "sparky");
    let ids: Vec<&str> = d
        .candidates
        .iter()
        .map(|c| c.technician_id.as_str())
        .collect();
    assert_eq!(ids, ["near", "far"]);
    assert_eq!(d.candidates[0].distance_km, Some(0.0));
    assert!((d.candidates[1].distance_km.unwrap() - 200.2).abs() < 1.0);
    assert!(
        d.reason
            .starts_with("near (Tech near): 0 km away, on shift, 0 open job(s)"),
        "{}",
        d.reason
    );
    let sla = t.sla.unwrap();
    assert_eq!(sla.priority, t.priority);
}

#[tokio::test]
async fn load_weighs_against_distance_and_planners_assign_or_override() {
    let (_d, db) = crew().await;
    // One job for `near` (4 h of queue) makes `far` (3.3 h away) the better choice.
    for i in 0..1 {
        let id = open(
            &db,
            &format!("p-{i}"),
            Severity::Medium,
            Criticality::Medium,
        )
        .await;
        let t = db.assign(id, "pat", None, None).await.unwrap();
        assert_eq!(
            (t.status, t.assignee.as_deref()),
            (TicketStatus::Assigned, Some("near"))
        );
    }
    let (techs, _) = (db.technicians().await.unwrap(), ());
    assert_eq!(techs.iter().find(|(t, _)| t.id == "near").unwrap().1, 1);
    let id = open(&db, "p-9", Severity::Medium, Criticality::Medium).await;
    let (ranking, lacking) = db.candidates(id).await.unwrap().unwrap();
    assert_eq!((ranking[0].technician_id.as_str(), lacking), ("far", 1));
    let t = db.assign(id, "pat", None, None).await.unwrap();
    assert_eq!(t.assignee.as_deref(), Some("far"));
    assert_eq!(t.dispatch.as_ref().unwrap().kind, "auto");
    // The planner knows better: sparky, although the catalog asks for mechanical skills.
    let t = db
        .assign(id, "pat", Some("sparky"), Some("he knows this pump"))
        .await
        .unwrap();
    let d = t.dispatch.unwrap();
    assert_eq!(
        (d.kind.as_str(), t.assignee.as_deref()),
        ("override", Some("sparky"))
    );
    assert!(
        d.reason.contains("lacks the skills") && d.reason.contains("he knows this pump"),
        "{}",
        d.reason
    );
    let audit = db.audit(id).await.unwrap().unwrap();
    let last = audit.last().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.from, last.to),
        ("pat", Some(TicketStatus::Assigned), TicketStatus::Assigned)
    );
    // Refusals.
    assert!(matches!(
        db.assign(id, "pat", Some("nobody"), None).await,
        Err(AssignError::NotFound(_))
    ));
    assert!(matches!(
        db.assign(999, "pat", None, None).await,
        Err(AssignError::NotFound(_))
    ));
    let mut retired = tech("old", &["*"], None, 50.0);
    retired.active = false;
    db.put_technician(&retired).await.unwrap();
    assert!(matches!(
        db.assign(id, "pat", Some("old"), None).await,
        Err(AssignError::Invalid(_))
    ));
}

/// Seen in the dashboards' audit trail: a planner assigning the proposed technician was logged
/// as `forewarn` moving the ticket, then as the planner "overriding" the ranking's best with
/// that same technician.
#[tokio::test]
async fn naming_the_rankings_best_is_one_move_by_the_planner_not_an_override() {
    let (_d, db) = crew().await;
    let id = open(&db, "p-1", Severity::Medium, Criticality::Medium).await;
    let t = db.ticket(id).await.unwrap().unwrap();
    assert_eq!(t.status, TicketStatus::New);
    let proposed = t.dispatch.unwrap().technician_id.unwrap();
    let t = db
        .assign(id, "pat", Some(&proposed), Some("as proposed"))
        .await
        .unwrap();
    let d = t.dispatch.unwrap();
    assert_eq!(
        (d.kind.as_str(), t.assignee.as_deref()),
        ("auto", Some(proposed.as_str()))
    );
    assert!(
        !d.reason.contains("over the ranking")
            && d.reason.ends_with("confirmed by pat: as proposed"),
        "{}",
        d.reason
    );
    let audit = db.audit(id).await.unwrap().unwrap();
    let steps: Vec<(&str, Option<TicketStatus>, TicketStatus)> = audit
        .iter()
        .map(|e| (e.actor.as_str(), e.from, e.to))
        .collect();
    assert_eq!(
        steps,
        [
            ("forewarn", None, TicketStatus::New),
            ("pat", Some(TicketStatus::New), TicketStatus::Assigned)
        ]
    );
}

#[tokio::test]
async fn red_alerts_are_assigned_at_once_and_announced() {
    let (_d, db) = crew().await;
    let id = open(&db, "p-1", Severity::Critical, Criticality::High).await;
    let t = db.ticket(id).await.unwrap().unwrap();
    assert!(t.red_alert);
    assert_eq!(
        (t.status, t.assignee.as_deref()),
        (TicketStatus::Assigned, Some("near"))
    );
    let audit = db.audit(id).await.unwrap().unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[1].actor, "forewarn");
    assert!(
        audit[1].note.as_deref().unwrap().contains("red alert"),
        "{:?}",
        audit[1].note
    );
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM outbox WHERE ticket_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        kinds,
        [
            "ticket.opened",
            "parts.requisition_opened",
            "parts.requisition_opened",
            "ticket.status_changed",
            "ticket.assigned",
            "ticket.red_alert"
        ]
    );
}

#[tokio::test]
async fn nobody_with_the_skills_means_no_proposal_and_a_clear_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testdb::open(dir.path()).await;
    db.put_technician(&tech("sparky", &["electrical"], None, 50.0))
        .await
        .unwrap();
    let id = open(&db, "p-1", Severity::Critical, Criticality::High).await;
    let t = db.ticket(id).await.unwrap().unwrap();
    assert_eq!(
        t.status,
        TicketStatus::New,
        "a red alert nobody can take stays new"
    );
    assert_eq!(t.dispatch.unwrap().technician_id, None);
    let err = db.assign(id, "pat", None, None).await.unwrap_err();
    assert!(
        matches!(err, AssignError::Conflict(_)) && err.to_string().contains("skills"),
        "{err}"
    );
}

#[test]
fn off_shift_technicians_rank_behind_those_who_can_respond_in_time() {
    use chrono::TimeZone;
    // Wednesday 2026-11-25 20:00 UTC; the response is due in 2 h (a P1).
    let now = chrono::Utc
        .with_ymd_and_hms(2026, 11, 25, 20, 0, 0)
        .unwrap()
        .timestamp_millis();
    let mut day = tech("day", &["mechanical"], Some("s1"), 50.0);
    day.shift_start = "07:00".into();
    day.shift_end = "16:00".into();
    let night = tech("night", &["mechanical"], None, 50.9); // 100 km: 1.7 h away
    let job = Job {
        failure_mode: "bearing_wear",
        skills: &["mechanical".into()],
        site: Some("s1"),
        at: Some(LatLon {
            lat: 50.0,
            lon: 10.0,
        }),
        response_due_ms: now + 2 * 3_600_000,
    };
    let (r, _) = rank(&job, &[(day, 0), (night, 0)], now);
    assert_eq!(r[0].technician_id, "night");
    assert!(r[0].meets_response && !r[1].meets_response);
    assert_eq!(r[1].wait_h, 11.0, "on shift at 07:00 tomorrow");
    assert!(reason(r.first(), 0).contains("within the response time"));
}
