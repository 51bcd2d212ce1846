//! A fleet's whole life, end to end: a simulated year of a small fleet whose faults arrive by a
//! hazard (repeat failures on the same asset included), a crew working every ticket through the
//! API in simulated time, and the service SIGKILLed twice along the way — all as a user runs it
//! (`forewarn run`, `forewarn simulate --crew`), fast-forwarded. Scored against the simulator's
//! ground truth by the same code as `forewarn bench lifecycle`.

use forewarn::bench::LifecycleArgs;
use forewarn_tests::forewarn_bin;

/// A seed no threshold was tuned on.
const SEED: u64 = 20_261_206;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_with_a_crew_and_two_sigkills_tickets_every_fault_once() {
    let args = LifecycleArgs {
        assets: 6,
        days: 365,
        interval_s: 600,
        seed: SEED,
        restarts: 2,
        crew_every_h: 2,
        warmup_hours: None,
        binary: Some(forewarn_bin()),
        dir: None,
        chart: None,
        // Pumps and motors stop and start: a stopped machine is neither failing nor misreading.
        duty: Some("8h/2h/2d".into()),
    };
    let out = forewarn::bench::lifecycle::run(&args).await.unwrap();
    let f = &out.figures;
    eprintln!(
        "{}\nrestarts {} | wall {:.0} s\nkpis {}",
        forewarn::lifecycle::table(f),
        out.restarts,
        out.wall_s,
        out.kpis
    );
    assert_eq!(out.restarts, 2, "the service was killed twice");
    assert!(f.faults >= 12, "a year of faults: {}", f.faults);
    assert!(f.repeat_faults >= 4, "repeat failures: {}", f.repeat_faults);
    assert!(
        f.detection_rate >= 0.95,
        "{} of {} faults ticketed with the right mode before failure",
        f.ticketed_before_failure,
        f.faults
    );
    assert!(
        f.median_lead_h.is_some_and(|h| h >= 48.0),
        "median lead {:?} h",
        f.median_lead_h
    );
    assert!(
        f.false_per_100_asset_months <= 1.0,
        "{} false tickets in {:.0} asset-months",
        f.false_tickets,
        f.asset_months
    );
    assert_eq!(
        f.tickets_for_repaired_faults, 0,
        "tickets for repaired faults"
    );
    assert_eq!(
        f.overlapping_open_tickets, 0,
        "two open tickets for one asset and mode"
    );
    assert!(f.sensor_faults >= 1, "sensor faults over the year");
    assert_eq!(
        f.sensor_faults_ticketed, f.sensor_faults,
        "every sensor fault an instrumentation ticket"
    );
    // The service's own KPIs see the same year: failures, and how many were predicted.
    assert!(out.kpis["failures"].as_u64().unwrap_or(0) >= f.ticketed_before_failure as u64);
    assert!(out.kpis["prediction_recall"].as_f64().is_some());
}

/// Without predictions (a warm-up longer than the span), every machine fault runs to failure:
/// the crew reports each stopped machine by hand, the service files it as corrective work, the
/// repair brings the machine back, and the KPIs count every failure as missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_predictions_every_failure_is_corrective_work() {
    let args = LifecycleArgs {
        assets: 4,
        days: 150,
        interval_s: 600,
        seed: SEED + 1,
        restarts: 0,
        crew_every_h: 2,
        warmup_hours: Some(24.0 * 1000.0),
        binary: Some(forewarn_bin()),
        dir: None,
        chart: None,
        duty: None,
    };
    let out = forewarn::bench::lifecycle::run(&args).await.unwrap();
    let f = &out.figures;
    eprintln!("{}\nkpis {}", forewarn::lifecycle::table(f), out.kpis);
    assert!(f.faults >= 2, "faults: {}", f.faults);
    assert_eq!(f.ticketed_before_failure, 0, "nothing predicted");
    assert_eq!(f.failed, f.faults, "every fault ran to failure");
    // A machine that failed more than a day before the end was back by then.
    let end = out.report.sim_end_ms - 86_400_000;
    assert!(
        out.report
            .ground_truth
            .iter()
            .filter(|g| g.failed && g.failure_ms < end)
            .all(|g| g.ticket_id.is_some() && g.repaired_ms.is_some_and(|r| r > g.failure_ms)),
        "every failed machine was repaired under its corrective ticket: {:?}",
        out.report.ground_truth
    );
    // Each failure reported once (one in the last day may not have been yet).
    let late = out
        .report
        .ground_truth
        .iter()
        .filter(|g| g.failed && g.failure_ms >= end)
        .count();
    assert!(
        (f.failed - late..=f.failed).contains(&f.corrective_tickets),
        "{} corrective tickets for {} failures",
        f.corrective_tickets,
        f.failed
    );
    assert_eq!(
        out.kpis["corrective"].as_u64(),
        Some(f.corrective_tickets as u64)
    );
    assert_eq!(f.tickets_for_repaired_faults, 0);
    assert_eq!(f.overlapping_open_tickets, 0);
}
