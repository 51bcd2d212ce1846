//! An asset's health as the detectors see it now: what a planner's fleet view and asset page
//! show between findings.

use serde::{Deserialize, Serialize};

use crate::{
    AbruptChange, AssetId, HealthIndex, InstrumentFault, JointEvidence, SensorName, TimestampMs,
};

/// One sensor's state, worst first when ordered.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SensorState {
    /// Misreading (stuck, spiking, silent, out of range): its values are not judged.
    Faulty,
    /// A sustained deviation from its healthy baseline.
    Deviating,
    /// Judged and within normal.
    Ok,
    /// Still learning its normal.
    Warming,
}

/// One sensor's health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SensorHealth {
    /// The sensor.
    pub sensor: SensorName,
    /// Its state.
    pub state: SensorState,
    /// The last value seen.
    pub value: f64,
    /// Smoothed robust z-score against the healthy baseline (0 while warming).
    pub score: f64,
    /// The streaming change detector's score of the last reading, in [0, 1) (0.5 at its
    /// threshold).
    pub change_score: f64,
    /// The latest abrupt change it saw, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change: Option<AbruptChange>,
    /// What is wrong with it, when faulty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<InstrumentFault>,
}

/// An asset's health as of its last reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AssetHealth {
    /// The asset.
    pub asset: AssetId,
    /// Time of its newest reading.
    pub as_of_ms: Option<TimestampMs>,
    /// Its sensors, by name.
    pub sensors: Vec<SensorHealth>,
    /// Its joint model's view, once fitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joint: Option<JointEvidence>,
    /// Its health fused from its sensors, once they are judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthIndex>,
}
