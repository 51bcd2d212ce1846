//! What alerting asks maintenance to act on.

use serde::{Deserialize, Serialize};

use crate::{AssetId, FailureModeId, Finding, PartRequirement, Severity, TimestampMs};

/// A finding classified as a failure mode of the asset: the input that opens (at most) one ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The asset.
    pub asset: AssetId,
    /// The failure mode the finding matched.
    pub failure_mode: FailureModeId,
    /// Severity.
    pub severity: Severity,
    /// When the alert was raised (the finding's detection time).
    pub raised_at_ms: TimestampMs,
    /// When the deviation behind it began (device time): a deviation that began before a
    /// repair of the asset belongs to the ticket that repair finished.
    #[serde(default)]
    pub began_ms: TimestampMs,
    /// The evidence.
    pub finding: Finding,
    /// Spare parts the repair needs, from the catalog.
    pub parts: Vec<PartRequirement>,
    /// Skills the repair needs (every one), from the catalog.
    #[serde(default)]
    pub skills: Vec<String>,
    /// The asset has already failed (a breakdown reported by hand): the ticket is corrective
    /// work, and counts as a failure the predictions missed.
    #[serde(default)]
    pub corrective: bool,
}
