//! The asset page: every sensor's chart over a chosen range, the health forecast, the findings
//! with their explanation, the asset's tickets.

use askama::Template;

use super::Chrome;

/// One choice of time range.
#[derive(Debug, Clone)]
pub struct RangeLink {
    /// Label (`1 h`, `7 d`, …).
    pub label: String,
    /// Link.
    pub href: String,
    /// The range shown.
    pub current: bool,
}

/// One sensor now.
#[derive(Debug, Clone)]
pub struct SensorNow {
    /// Sensor.
    pub sensor: String,
    /// State name for CSS (`ok`, `watch`, `fault`).
    pub state: &'static str,
    /// State, translated.
    pub state_label: String,
    /// Last value with unit.
    pub value: String,
    /// Smoothed distance from its baseline, in robust σ.
    pub score: String,
    /// What is wrong, if anything.
    pub note: String,
}

/// One sensor's chart.
#[derive(Debug, Clone)]
pub struct ChartView {
    /// Sensor.
    pub sensor: String,
    /// Unit.
    pub unit: String,
    /// The SVG.
    pub svg: String,
    /// What is drawn.
    pub caption: String,
}

/// One deviating sensor of a finding.
#[derive(Debug, Clone)]
pub struct DeviationView {
    /// Sensor.
    pub sensor: String,
    /// Distance from normal, e.g. `↑ 6.1 σ`.
    pub distance: String,
    /// Value then.
    pub value: String,
    /// Its baseline.
    pub baseline: String,
    /// Remaining life from this sensor's trend.
    pub rul: String,
}

/// A finding (the evidence of a ticket).
#[derive(Debug, Clone)]
pub struct FindingView {
    /// Its ticket.
    pub ticket_id: i64,
    /// Ticket title.
    pub title: String,
    /// Priority.
    pub priority: String,
    /// Status, translated.
    pub status: String,
    /// When it was detected.
    pub detected: String,
    /// One sentence: which sensors, how far, the joint model's view.
    pub summary: String,
    /// Its sensors.
    pub deviations: Vec<DeviationView>,
}

/// The asset page.
#[derive(Debug, Clone, Template)]
#[template(path = "asset.html")]
pub struct AssetPage {
    /// Frame.
    pub chrome: Chrome,
    /// Asset id.
    pub id: String,
    /// Site.
    pub site: String,
    /// Catalog type.
    pub asset_type: String,
    /// State name.
    pub state: &'static str,
    /// State, translated.
    pub state_label: String,
    /// Health index.
    pub health: String,
    /// Remaining life.
    pub rul: String,
    /// The sensor that limits the health index.
    pub limiting: String,
    /// Last reading.
    pub last_seen: String,
    /// Running, stopped since …, starting since … (empty before its sensors have said).
    pub operating: String,
    /// Health chart (its history and, when a sensor trends towards failure, the forecast),
    /// once the asset has a health index.
    pub health_chart: Option<String>,
    /// Whether the health chart includes a remaining-life forecast.
    pub forecast: bool,
    /// Each sensor now.
    pub sensors: Vec<SensorNow>,
    /// Range choices.
    pub ranges: Vec<RangeLink>,
    /// Raw points or rollups, and their resolution.
    pub resolution_note: String,
    /// Charts.
    pub charts: Vec<ChartView>,
    /// Findings, newest first.
    pub findings: Vec<FindingView>,
}
