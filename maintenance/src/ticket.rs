//! The ticket as the API shows it.

use serde::{Deserialize, Serialize};

/// Where a ticket is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Opened, nobody assigned yet.
    New,
    /// A technician is assigned.
    Assigned,
    /// Work started.
    InProgress,
    /// Waiting for spare parts.
    WaitingParts,
    /// Fixed, awaiting confirmation.
    Resolved,
    /// Done.
    Closed,
    /// Not needed.
    Cancelled,
    /// Resolved, closed or cancelled, then found to need work after all; awaits assignment.
    Reopened,
}

impl TicketStatus {
    /// The name stored in SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Assigned => "assigned",
            Self::InProgress => "in_progress",
            Self::WaitingParts => "waiting_parts",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
            Self::Cancelled => "cancelled",
            Self::Reopened => "reopened",
        }
    }

    /// Every status.
    pub const ALL: [TicketStatus; 8] = [
        Self::New,
        Self::Assigned,
        Self::InProgress,
        Self::WaitingParts,
        Self::Resolved,
        Self::Closed,
        Self::Cancelled,
        Self::Reopened,
    ];

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether the ticket still needs work (and so blocks another for the same asset and mode).
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Resolved | Self::Closed | Self::Cancelled)
    }
}

/// Why a ticket exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    /// Opened from a finding before the asset failed: a prediction.
    #[default]
    Predictive,
    /// Opened for an asset that had already failed: a failure the predictions missed.
    Corrective,
}

impl TicketKind {
    /// The name stored in SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Predictive => "predictive",
            Self::Corrective => "corrective",
        }
    }
}

/// A spare part a ticket needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketPart {
    /// Part number.
    pub part_number: String,
    /// What it is.
    pub description: String,
    /// How many.
    pub quantity: u32,
}

/// A remaining-life estimate as of a moment of the asset's own time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Estimate {
    /// Hours to failure from `at_ms`.
    pub hours: f64,
    /// 5th percentile.
    pub low: f64,
    /// 95th percentile; `null` when the deviation may not be growing.
    pub high: Option<f64>,
    /// Device time of the finding that gave it (ms since the epoch).
    pub at_ms: i64,
}

impl Estimate {
    /// The predicted moment of failure, in device time (ms since the epoch): what orders
    /// tickets by urgency whatever the age of their estimates.
    pub fn failure_at_ms(&self) -> i64 {
        self.at_ms + (self.hours * 3.6e6) as i64
    }
}

/// A maintenance ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ticket {
    /// Ticket number.
    pub id: i64,
    /// The asset to repair.
    pub asset_id: String,
    /// The predicted failure mode.
    pub failure_mode: String,
    /// Lifecycle state.
    pub status: TicketStatus,
    /// Severity of the finding (raised when later findings are worse).
    pub severity: String,
    /// From severity, predicted time to failure and the asset's criticality (raised, never
    /// lowered, by later findings).
    pub priority: crate::Priority,
    /// A critical asset failing within a day (or with a critical finding): skips approval.
    pub red_alert: bool,
    /// The asset's site when the ticket opened.
    #[serde(default)]
    pub site: Option<String>,
    /// Requisitions still open: parts no warehouse had yet (0: every part is reserved).
    #[serde(default)]
    pub open_requisitions: i64,
    /// Skills the repair needs (from the catalog).
    #[serde(default)]
    pub skills: Vec<String>,
    /// The technician assigned, if any.
    #[serde(default)]
    pub assignee: Option<String>,
    /// The latest dispatch decision (proposal or assignment) and its reasons.
    #[serde(default)]
    pub dispatch: Option<crate::dispatch::Dispatch>,
    /// Service level now: response and resolution due times and states.
    #[serde(default)]
    pub sla: Option<crate::SlaStatus>,
    /// Where to look: the asset, and a chart of the sensors the finding names around its time.
    pub links: TicketLinks,
    /// One-line summary.
    pub title: String,
    /// When the ticket was opened (wall clock, RFC 3339).
    pub created_at: String,
    /// When it last changed (wall clock, RFC 3339).
    pub updated_at: String,
    /// Device time of the finding that opened it (RFC 3339).
    pub detected_at: String,
    /// The same, in ms since the epoch.
    pub detected_at_ms: i64,
    /// How many alerts for this asset and mode it has absorbed.
    pub alert_count: i64,
    /// Predictive (opened from a finding) or corrective (the asset had already failed).
    #[serde(default)]
    pub kind: TicketKind,
    /// Device time at which the deviation behind it began (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub began_ms: Option<i64>,
    /// Device time at which it left the open statuses (resolved or cancelled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_ms: Option<i64>,
    /// Device time at which its repair took effect (resolved as confirmed or other_mode): a
    /// deviation that began before it belongs to this ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repaired_at_ms: Option<i64>,
    /// The remaining-life estimate of its newest finding that gave one (updated by every
    /// finding that joins it; the history is `GET /api/v1/tickets/{id}/findings`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Estimate>,
    /// The failure mode its repair found (the predicted one when confirmed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_mode: Option<String>,
    /// The finding that opened it: sensors, scores, baselines, times, detector version.
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    /// Spare parts the repair needs.
    pub parts: Vec<TicketPart>,
    /// How it was resolved, once it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<crate::Resolution>,
    /// Satisfaction with the work, once closed and rated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<crate::Rating>,
}

impl Ticket {
    /// When the asset is expected to fail, in its own time (ms since the epoch): the estimate's
    /// moment; for a breakdown, when it was reported; without an estimate, the time its
    /// priority allows from detection (P1 now, P2 a day, P3 three days, P4 a week). The board
    /// and the fleet order by it, so their order follows time to failure.
    pub fn expected_failure_ms(&self) -> i64 {
        if let Some(e) = &self.estimate {
            return e.failure_at_ms();
        }
        if self.kind == TicketKind::Corrective {
            return self.detected_at_ms;
        }
        let hours = match self.priority {
            crate::Priority::P1 => 0,
            crate::Priority::P2 => 24,
            crate::Priority::P3 => 72,
            crate::Priority::P4 => 168,
        };
        self.detected_at_ms + hours * 3_600_000
    }
}

/// One entry of a ticket's audit log: a change of status, who made it and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketEvent {
    /// Order of the entry (increasing across all tickets).
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// When (wall clock, RFC 3339).
    pub at: String,
    /// Who: a token's name, or `forewarn` for the service itself.
    pub actor: String,
    /// Status before (`None` when the ticket was opened).
    pub from: Option<TicketStatus>,
    /// Status after.
    pub to: TicketStatus,
    /// Free text.
    pub note: Option<String>,
    /// The asset's own time of the change (ms since the epoch), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_ms: Option<i64>,
}

/// Links from a ticket to its evidence, relative to the API's origin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketLinks {
    /// The asset (`/api/v1/assets/{id}`).
    pub asset: String,
    /// An SVG chart of the finding's sensors from a week before detection to two days after,
    /// with their baselines and the detection marked (`None`: the finding names no sensor).
    pub chart: Option<String>,
}

impl TicketLinks {
    /// The links of a ticket on `asset` detected at `detected_ms` with `evidence` (a finding).
    pub fn new(asset: &str, detected_ms: i64, evidence: &serde_json::Value) -> Self {
        let mut sensors: Vec<(String, Option<f64>)> = Vec::new();
        let named = evidence["deviations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| (d["sensor"].as_str(), d["baseline"].as_f64()))
            .chain(
                evidence["sensor_faults"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|f| (f["sensor"].as_str(), None)),
            );
        for (sensor, baseline) in named {
            if let Some(sensor) = sensor
                && !sensors.iter().any(|(s, _)| s == sensor)
                && sensors.len() < 6
            {
                sensors.push((sensor.to_owned(), baseline));
            }
        }
        const DAY: i64 = 86_400_000;
        let chart = (!sensors.is_empty()).then(|| {
            let names: Vec<&str> = sensors.iter().map(|(s, _)| s.as_str()).collect();
            let baselines: Vec<String> = sensors
                .iter()
                .map(|(_, b)| {
                    // Baselines are f32 at heart: four decimals say all they know.
                    b.map(|b| format!("{}", (b * 1e4).round() / 1e4))
                        .unwrap_or_default()
                })
                .collect();
            format!(
                "/api/v1/assets/{asset}/chart.svg?sensors={}&from={}&to={}&mark={detected_ms}&baselines={}",
                names.join(","),
                detected_ms.saturating_sub(7 * DAY),
                detected_ms.saturating_add(2 * DAY),
                baselines.join(",")
            )
        });
        Self {
            asset: format!("/api/v1/assets/{asset}"),
            chart,
        }
    }
}
