//! What `bench chaos` checks once the simulation and every fault are over.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use forewarn_simulators::SimReport;

use super::faults::{BIRTH_FLOOD, MALFORMED};
use super::{Check, Rig};
use crate::bench::lifecycle::all_tickets;

/// Every check, in order; the service is stopped at the end (the store is then read directly).
pub(super) async fn all(rig: &mut Rig, report: &SimReport) -> anyhow::Result<Vec<Check>> {
    let mut checks = vec![Check {
        name: "broker_acknowledged_everything",
        ok: report.readings_acked == report.readings_published,
        detail: format!(
            "{} of {} readings acknowledged to the simulator",
            report.readings_acked, report.readings_published
        ),
    }];
    let stored =
        wait_for_metric(rig, "forewarn_readings_stored_total", report.readings_acked).await;
    let (ready_status, ready_body) = wait_ready(rig).await;
    checks.push(Check {
        name: "ready_at_end",
        ok: ready_status == 200,
        detail: format!("/readyz {ready_status}: {ready_body}"),
    });
    let metrics = get(rig, "/metrics").await.1;
    checks.extend(faults_counted(&metrics));
    checks.push(tickets(rig, report).await?);
    rig.service.terminate();
    let on_disk = stored_points(rig)?;
    checks.push(Check {
        name: "acked_stored_exactly_once",
        ok: on_disk == report.readings_acked && stored == Some(report.readings_acked),
        detail: format!(
            "{} acknowledged to the simulator, {on_disk} distinct points in the store, {} counted stored by the service",
            report.readings_acked,
            stored.map_or("?".into(), |s| s.to_string())
        ),
    });
    Ok(checks)
}

/// Each fault as `/metrics` counts it in the final process.
fn faults_counted(metrics: &str) -> Vec<Check> {
    let at_least = |name: &'static str, series: &str, min: f64| {
        let v = metric(metrics, series);
        Check {
            name,
            ok: v.is_some_and(|v| v >= min),
            detail: format!(
                "{series} = {}",
                v.map_or("missing".into(), |v| v.to_string())
            ),
        }
    };
    vec![
        at_least(
            "broker_restart_counted",
            "forewarn_mqtt_connections_lost_total",
            1.0,
        ),
        at_least(
            "database_outage_counted",
            "forewarn_dependency_failures_total{dependency=\"tickets_database\"}",
            1.0,
        ),
        at_least(
            "full_disk_counted",
            "forewarn_dependency_failures_total{dependency=\"disk_space\"}",
            1.0,
        ),
        at_least(
            "oversized_counted",
            "forewarn_messages_rejected_total{reason=\"payload_too_large\"}",
            1.0,
        ),
        at_least(
            "malformed_counted",
            "forewarn_messages_rejected_total{reason=\"malformed_json\"}",
            MALFORMED as f64,
        ),
        at_least(
            "birth_flood_counted",
            "forewarn_messages_rejected_total{reason=\"too_many_assets\"}",
            BIRTH_FLOOD as f64,
        ),
        Check {
            name: "no_finding_left_waiting",
            ok: metric(metrics, "forewarn_findings_pending") == Some(0.0),
            detail: format!(
                "forewarn_findings_pending = {:?}",
                metric(metrics, "forewarn_findings_pending")
            ),
        },
    ]
}

/// Every fault the simulator injected has at most one ticket of its mode, and no asset and
/// mode has two (the fleet has no crew: nothing is closed, so a second ticket could only be a
/// duplicate — of a replay after the kill, of a finding queued during the database outage).
async fn tickets(rig: &Rig, report: &SimReport) -> anyhow::Result<Check> {
    let tickets = all_tickets(rig.http, &rig.token_file).await?;
    let mut per: HashMap<(&str, &str), usize> = HashMap::new();
    for t in &tickets {
        *per.entry((&t.asset_id, &t.failure_mode)).or_default() += 1;
    }
    let duplicated: Vec<_> = per.iter().filter(|(_, n)| **n > 1).collect();
    let faults = &report.ground_truth;
    let ticketed = faults
        .iter()
        .filter(|f| per.contains_key(&(f.asset.as_str(), f.failure_mode.as_str())))
        .count();
    let on_faulty = tickets
        .iter()
        .filter(|t| faults.iter().any(|f| f.asset == t.asset_id))
        .count();
    Ok(Check {
        name: "one_ticket_per_fault",
        ok: duplicated.is_empty(),
        detail: format!(
            "{} faults injected, {ticketed} with a ticket of their mode; {} tickets ({on_faulty} on faulty assets); duplicated: {duplicated:?}",
            faults.len(),
            tickets.len(),
        ),
    })
}

/// A series' value in Prometheus text.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

async fn get(rig: &Rig, path: &str) -> (u16, String) {
    let token = std::fs::read_to_string(&rig.token_file).unwrap_or_default();
    let auth = format!("Bearer {}", token.trim());
    crate::http1::request(
        rig.http,
        "GET",
        path,
        &[("Authorization", auth.as_str())],
        "",
    )
    .await
    .unwrap_or((0, String::new()))
}

/// Waits (3 minutes at most: the broker hands over what it queued) until `series` reaches
/// `want`; its last value.
async fn wait_for_metric(rig: &Rig, series: &str, want: u64) -> Option<u64> {
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut last = None;
    while Instant::now() < deadline {
        last = metric(&get(rig, "/metrics").await.1, series).map(|v| v as u64);
        if last == Some(want) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    last
}

/// `/readyz` once it is 200, or its last answer after a minute.
async fn wait_ready(rig: &Rig) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = get(rig, "/readyz").await;
        if answer.0 == 200 || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Distinct points in the stopped service's store.
fn stored_points(rig: &Rig) -> anyhow::Result<u64> {
    let (store, _) =
        forewarn_store::Store::open(&rig.fs.data_dir(), forewarn_store::OpenMode::ReadOnly)?;
    Ok(store.stats().points)
}
