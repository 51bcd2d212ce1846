//! The findings page: what the analytics saw, ticketed or not.

use askama::Template;

use super::Chrome;

/// One finding.
#[derive(Debug, Clone)]
pub struct FindingRow {
    /// Finding id.
    pub id: i64,
    /// Device time, formatted.
    pub when: String,
    /// Asset id.
    pub asset_id: String,
    /// The failure mode by its catalog name, or that none matched.
    pub mode: String,
    /// What became of it, translated.
    pub outcome: String,
    /// `opened`, `joined`, `unmatched`, … (CSS and filters).
    pub outcome_key: &'static str,
    /// Severity, translated.
    pub severity: String,
    /// The evidence in words: sensors, their values and normals, or misreadings.
    pub evidence: String,
    /// Remaining life it estimated, or empty.
    pub ttf: String,
    /// The ticket it opened, joined or was counted on.
    pub ticket_id: Option<i64>,
    /// Modes a planner may open a ticket as (id, name): the asset type's; empty when the
    /// caller may not or the finding already has one.
    pub modes: Vec<(String, String)>,
}

/// `GET /ui/findings`.
#[derive(Debug, Clone, Template)]
#[template(path = "findings.html")]
pub struct FindingsPage {
    /// Frame.
    pub chrome: Chrome,
    /// Newest first.
    pub rows: Vec<FindingRow>,
    /// Only those no ticket took.
    pub untaken_only: bool,
    /// The asset filter, as typed.
    pub asset: String,
}
