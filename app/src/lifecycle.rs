//! How a fleet's simulated life went: the simulator's ground truth (faults, repairs, failures)
//! against the tickets the service opened.
//!
//! Shared by `forewarn bench lifecycle` and the suite's year test, so the figures the README
//! reports are the ones the test holds the service to.

use forewarn_simulators::SimReport;
use serde::{Deserialize, Serialize};

pub mod chart;

const HOUR_MS: f64 = 3_600_000.0;
const DAY_MS: i64 = 86_400_000;
/// An average month, for rates per asset-month.
const MONTH_MS: f64 = 30.44 * 86_400_000.0;
/// The catalog's instrumentation mode.
const INSTRUMENTATION: &str = "sensor_fault";

/// A ticket as the scoring needs it (the API's JSON, fields it does not need ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct TicketRow {
    /// Ticket id.
    pub id: i64,
    /// Asset.
    pub asset_id: String,
    /// Predicted mode.
    pub failure_mode: String,
    /// Lifecycle status.
    pub status: String,
    /// `predictive` or `corrective`.
    #[serde(default)]
    pub kind: String,
    /// Device time of the finding that opened it.
    pub detected_at_ms: i64,
    /// Device time its deviation began.
    #[serde(default)]
    pub began_ms: Option<i64>,
    /// Device time it was finished.
    #[serde(default)]
    pub finished_ms: Option<i64>,
    /// How it was resolved.
    #[serde(default)]
    pub resolution: Option<serde_json::Value>,
}

impl TicketRow {
    fn code(&self) -> Option<&str> {
        self.resolution.as_ref()?["code"].as_str()
    }

    fn predictive(&self) -> bool {
        self.kind != "corrective"
    }
}

/// The year's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Figures {
    /// Machine faults that ran their course within the span (failed or repaired).
    pub faults: usize,
    /// Of those, repeats: an asset's second or later fault.
    pub repeat_faults: usize,
    /// Faults with a predictive ticket of the right mode opened after onset, before failure.
    pub ticketed_before_failure: usize,
    /// `ticketed_before_failure / faults`.
    pub detection_rate: f64,
    /// The same for repeat faults alone.
    pub repeat_detection_rate: Option<f64>,
    /// Median hours from the ticket's opening (device time) to the failure the fault would
    /// have ended in.
    pub median_lead_h: Option<f64>,
    /// Faults that ran to failure (the asset stopped until a corrective repair).
    pub failed: usize,
    /// Predictive tickets that found no fault (resolved `no_fault_found`, or open at the end on
    /// an asset with nothing wrong).
    pub false_tickets: usize,
    /// False tickets per 100 asset-months.
    pub false_per_100_asset_months: f64,
    /// Tickets opened after a repair for a deviation that began before it.
    pub tickets_for_repaired_faults: usize,
    /// Pairs of tickets for one asset and mode open at the same time.
    pub overlapping_open_tickets: usize,
    /// Sensor faults that began a day or more before the end.
    pub sensor_faults: usize,
    /// Of those, with an instrumentation ticket opened while the sensor misread.
    pub sensor_faults_ticketed: usize,
    /// Corrective tickets (failures the predictions missed, reported by hand).
    pub corrective_tickets: usize,
    /// Tickets in all.
    pub tickets: usize,
    /// Asset-months simulated.
    pub asset_months: f64,
}

/// Scores `report` (with its crew's ground truth) against every ticket of the service.
pub fn score(report: &SimReport, tickets: &[TicketRow]) -> Figures {
    let end = report.sim_end_ms;
    let faults: Vec<_> = report
        .ground_truth
        .iter()
        .filter(|g| g.repaired_ms.is_some() || g.failure_ms <= end)
        .collect();
    let mut f = Figures {
        faults: faults.len(),
        tickets: tickets.len(),
        asset_months: report.assets as f64 * (end - report.sim_start_ms) as f64 / MONTH_MS,
        corrective_tickets: tickets.iter().filter(|t| !t.predictive()).count(),
        failed: faults.iter().filter(|g| g.failed).count(),
        ..Figures::default()
    };
    let mut leads = Vec::new();
    let (mut repeats, mut repeats_found) = (0, 0);
    for g in &faults {
        let repeat = report
            .ground_truth
            .iter()
            .any(|o| o.asset == g.asset && o.onset_ms < g.onset_ms);
        let first = tickets
            .iter()
            .filter(|t| t.predictive() && t.asset_id == g.asset && t.failure_mode == g.failure_mode)
            .filter(|t| t.detected_at_ms >= g.onset_ms && t.detected_at_ms < g.failure_ms)
            .map(|t| t.detected_at_ms)
            .min();
        repeats += usize::from(repeat);
        if let Some(at) = first {
            f.ticketed_before_failure += 1;
            repeats_found += usize::from(repeat);
            leads.push((g.failure_ms - at) as f64 / HOUR_MS);
        }
    }
    f.repeat_faults = repeats;
    f.detection_rate = ratio(f.ticketed_before_failure, f.faults).unwrap_or(1.0);
    f.repeat_detection_rate = ratio(repeats_found, repeats);
    leads.sort_by(f64::total_cmp);
    f.median_lead_h = leads
        .get(leads.len() / 2)
        .map(|h| (h * 10.0).round() / 10.0);
    f.false_tickets = false_tickets(report, tickets);
    f.false_per_100_asset_months =
        (f.false_tickets as f64 / f.asset_months.max(1e-9) * 1000.0).round() / 10.0;
    f.tickets_for_repaired_faults = reticketed(report, tickets);
    f.overlapping_open_tickets = overlapping(tickets);
    let sensors: Vec<_> = report
        .sensor_faults
        .iter()
        .filter(|s| s.onset_ms <= end - DAY_MS)
        .collect();
    f.sensor_faults = sensors.len();
    f.sensor_faults_ticketed = sensors
        .iter()
        .filter(|s| {
            let until = s.repaired_ms.unwrap_or(end);
            tickets.iter().any(|t| {
                t.asset_id == s.asset
                    && t.failure_mode == INSTRUMENTATION
                    && t.detected_at_ms >= s.onset_ms
                    && t.detected_at_ms <= until
            })
        })
        .count();
    f
}

fn ratio(n: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| (n as f64 / of as f64 * 1000.0).round() / 1000.0)
}

/// Predictive tickets that found nothing: resolved so, or still open on an asset with no fault.
fn false_tickets(report: &SimReport, tickets: &[TicketRow]) -> usize {
    false_ticket_rows(report, tickets).len()
}

/// The false tickets themselves (see [`false_tickets`]), for a reader to look into.
pub fn false_ticket_rows<'a>(report: &SimReport, tickets: &'a [TicketRow]) -> Vec<&'a TicketRow> {
    let active = |asset: &str| {
        report
            .ground_truth
            .iter()
            .any(|g| g.asset == asset && g.repaired_ms.is_none())
            || report
                .sensor_faults
                .iter()
                .any(|s| s.asset == asset && s.repaired_ms.is_none())
    };
    tickets
        .iter()
        .filter(|t| t.predictive())
        .filter(|t| match t.code() {
            Some(code) => code == "no_fault_found",
            None => t.finished_ms.is_none() && !active(&t.asset_id),
        })
        .collect()
}

/// Tickets opened after a repair of their asset whose deviation began before that repair.
fn reticketed(report: &SimReport, tickets: &[TicketRow]) -> usize {
    let repairs: Vec<(&str, i64, Option<i64>)> = report
        .ground_truth
        .iter()
        .filter_map(|g| Some((g.asset.as_str(), g.repaired_ms?, g.ticket_id)))
        .chain(
            report
                .sensor_faults
                .iter()
                .filter_map(|s| Some((s.asset.as_str(), s.repaired_ms?, s.ticket_id))),
        )
        .collect();
    tickets
        .iter()
        .filter(|t| {
            let began = t.began_ms.unwrap_or(t.detected_at_ms);
            repairs.iter().any(|(asset, at, by)| {
                *asset == t.asset_id && *by != Some(t.id) && began < *at && t.detected_at_ms > *at
            })
        })
        .count()
}

/// Tickets of one asset and mode whose open spans (device time) overlap.
fn overlapping(tickets: &[TicketRow]) -> usize {
    let mut sorted: Vec<&TicketRow> = tickets.iter().collect();
    sorted.sort_by_key(|t| (&t.asset_id, &t.failure_mode, t.id));
    sorted
        .windows(2)
        .filter(|w| w[0].asset_id == w[1].asset_id && w[0].failure_mode == w[1].failure_mode)
        .filter(|w| w[0].finished_ms.is_none_or(|f| f > w[1].detected_at_ms))
        .count()
}

/// The figures as a short table for a terminal.
pub fn table(f: &Figures) -> String {
    let pct = |x: f64| format!("{:.1} %", 100.0 * x);
    [
        format!("machine faults (ran their course)   {}", f.faults),
        format!("  of which repeats                   {}", f.repeat_faults),
        format!(
            "ticketed, right mode, before failure {} ({})",
            f.ticketed_before_failure,
            pct(f.detection_rate)
        ),
        format!(
            "  repeats                            {}",
            f.repeat_detection_rate.map_or("–".into(), pct)
        ),
        format!(
            "median lead                          {} h",
            f.median_lead_h.map_or("–".into(), |h| format!("{h:.1}"))
        ),
        format!("ran to failure                       {}", f.failed),
        format!(
            "false tickets                        {} ({:.1} per 100 asset-months)",
            f.false_tickets, f.false_per_100_asset_months
        ),
        format!(
            "tickets for repaired faults          {}",
            f.tickets_for_repaired_faults
        ),
        format!(
            "overlapping open tickets             {}",
            f.overlapping_open_tickets
        ),
        format!(
            "sensor faults ticketed               {} of {}",
            f.sensor_faults_ticketed, f.sensor_faults
        ),
        format!(
            "corrective tickets                   {}",
            f.corrective_tickets
        ),
        format!(
            "tickets                              {} over {:.0} asset-months",
            f.tickets, f.asset_months
        ),
    ]
    .join("\n")
}
