//! What analytics concludes about an asset.

use serde::{Deserialize, Serialize};

use crate::{AssetId, AssetTypeId, Direction, SensorName, TimestampMs};

/// How bad a deviation is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth watching.
    Low,
    /// Plan a repair.
    Medium,
    /// Repair soon.
    High,
    /// Act now.
    Critical,
}

impl Severity {
    /// The lowercase name used in JSON and SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "low" => Some(Self::Low),
            "medium" => Some(Self::Medium),
            "high" => Some(Self::High),
            "critical" => Some(Self::Critical),
            _ => None,
        }
    }
}

/// One sensor's departure from its learned normal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorDeviation {
    /// The sensor.
    pub sensor: SensorName,
    /// Above or below normal.
    pub direction: Direction,
    /// Smoothed robust z-score (signed): how many robust standard deviations from the baseline.
    pub score: f64,
    /// The latest value.
    pub value: f64,
    /// The baseline (median of the warm-up window).
    pub baseline: f64,
    /// Since when the deviation has been sustained.
    pub since_ms: TimestampMs,
    /// Hours until this deviation reaches the failure level of the modes it belongs to, when its
    /// trend and that level are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_failure_h: Option<TimeToFailure>,
    /// The abrupt change that began the deviation, when the streaming change detector saw one;
    /// absent for a gradual one (wear rather than an event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<AbruptChange>,
}

/// What kind of abrupt change a streaming detector saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// One value far from its forecast.
    Spike,
    /// The level moved and stayed.
    Shift,
}

impl ChangeKind {
    /// The snake_case name used in JSON and CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Spike => "spike",
            ChangeKind::Shift => "shift",
        }
    }
}

/// An abrupt change on one sensor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AbruptChange {
    /// Spike or shift.
    pub kind: ChangeKind,
    /// When it began.
    pub at_ms: TimestampMs,
    /// Its highest score in [0, 1) (0.5 at the detector's threshold).
    pub peak: f64,
}

/// Remaining useful life from a deviation's trend, in hours, with a 90 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimeToFailure {
    /// Estimate.
    pub hours: f64,
    /// 5th percentile.
    pub low: f64,
    /// 95th percentile; `null` in JSON when the deviation may not be growing at all.
    pub high: Option<f64>,
}

/// How a sensor misreads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstrumentFault {
    /// The value has not changed for far longer than it ever stays still.
    Stuck,
    /// Isolated one-reading jumps that return at once, repeatedly.
    Spikes,
    /// The sensor fell silent while its asset kept reporting.
    Dropout,
    /// Readings outside the sensor's physical range (catalog `min`..`max`).
    OutOfRange,
}

impl InstrumentFault {
    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stuck => "stuck",
            Self::Spikes => "spikes",
            Self::Dropout => "dropout",
            Self::OutOfRange => "out_of_range",
        }
    }
}

/// One sensor's instrumentation fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorFault {
    /// The sensor.
    pub sensor: SensorName,
    /// What is wrong with it.
    pub fault: InstrumentFault,
    /// Since when.
    pub since_ms: TimestampMs,
    /// The last value it reported.
    pub value: f64,
}

/// The asset's joint model on the reading that completed a finding: how far the sensors together
/// are from their healthy joint behaviour, and which sensors account for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JointEvidence {
    /// Smoothed joint score in [0, 1): 0.5 at the model's threshold.
    pub score: f64,
    /// Beyond the threshold.
    pub anomalous: bool,
    /// The sensors with the largest share of the squared distance, largest first, with their
    /// share (the shares of all sensors sum to 1).
    pub drivers: Vec<(SensorName, f64)>,
    /// Which model: method, version and when it was fitted on how many healthy rows.
    pub model: String,
}

/// A sustained deviation of an asset from its normal behaviour, with the sensors that explain it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The asset.
    pub asset: AssetId,
    /// Its type, so alerting can classify without another lookup.
    pub asset_type: AssetTypeId,
    /// Time of the reading that completed the finding.
    pub detected_at_ms: TimestampMs,
    /// The deviating sensors, strongest first.
    pub deviations: Vec<SensorDeviation>,
    /// The largest absolute score among the deviations.
    pub score: f64,
    /// Severity derived from the score.
    pub severity: Severity,
    /// Which detector produced it (name and version), recorded for audit.
    pub detector: String,
    /// Sensors that misread. A finding has either deviations (the machine) or sensor faults (its
    /// instruments), never both: a faulty sensor's readings are kept out of the machine's scores.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensor_faults: Vec<SensorFault>,
    /// The asset's joint model, once fitted (machine findings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joint: Option<JointEvidence>,
    /// The asset's health fused from its sensors (machine findings on assets whose failure
    /// modes give failure levels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthIndex>,
    /// What an outside source sent with its finding (another detector's scores, an operator's
    /// words), kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<serde_json::Value>,
}

/// An asset's health from all its sensors: how far the furthest-gone sensor is along the way
/// from its healthy baseline to the level its failure modes fail at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HealthIndex {
    /// 1 when every sensor is at its baseline, 0 when one has reached its failure level.
    pub index: f64,
    /// The sensor that sets it.
    pub limiting_sensor: SensorName,
    /// The asset's remaining life: the soonest estimate among its deviating sensors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_failure_h: Option<TimeToFailure>,
    /// The failure levels the estimate extrapolates to: the catalog's (version 0) or as
    /// re-learnt from the fleet's repairs since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<LevelsVersion>,
}

/// A version of an asset type's failure levels: the catalog's `failure_scores` (version 0),
/// re-estimated at each repair that found one of its modes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LevelsVersion {
    /// 0 for the catalog's; one more for every repair that taught something.
    pub version: u32,
    /// Repairs of machines that had failed, among them.
    pub failures: u32,
    /// Repairs before failure, among them.
    pub repairs: u32,
}

impl Finding {
    /// When what it reports began, device time: the earliest start among its deviations and
    /// misreading sensors, or its detection when it names none (a finding from outside).
    pub fn began_ms(&self) -> TimestampMs {
        self.deviations
            .iter()
            .map(|d| d.since_ms)
            .chain(self.sensor_faults.iter().map(|f| f.since_ms))
            .min()
            .unwrap_or(self.detected_at_ms)
            .min(self.detected_at_ms)
    }

    /// Whether this is about instruments rather than the machine.
    pub fn is_instrumentation(&self) -> bool {
        self.deviations.is_empty() && !self.sensor_faults.is_empty()
    }
}
