//! What analytics concludes about an asset.

use serde::{Deserialize, Serialize};

use crate::{AssetId, AssetTypeId, Direction, SensorName, TimestampMs};

/// How bad a deviation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
}
