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

/// What alerting decided about one finding.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// It matched a failure mode: an alert, and what named the mode.
    Alert(Box<Alert>, Classifier),
    /// No failure mode matched it: kept for the planner to see, no ticket.
    Unmatched(Box<Finding>),
}

/// What named a finding's failure mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classifier {
    /// The mode's whole catalog signature.
    Signature,
    /// The model learnt from resolved tickets.
    Learnt,
    /// Whoever sent the finding through the API (another detector, a person).
    Outside,
}

impl Classifier {
    /// The snake_case name stored with the finding.
    pub fn as_str(self) -> &'static str {
        match self {
            Classifier::Signature => "signature",
            Classifier::Learnt => "learnt",
            Classifier::Outside => "outside",
        }
    }

    /// The classifier [`Classifier::as_str`] named.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Classifier::Signature,
            Classifier::Learnt,
            Classifier::Outside,
        ]
        .into_iter()
        .find(|c| c.as_str() == name)
    }
}
