//! Planners' web pages, rendered on the server and embedded in the binary.
//!
//! Pages are askama templates (`templates/`, compiled into the binary, no files at run time) over
//! small view models that the API fills from the store and the tickets database. No CDN, no
//! JavaScript build step: v0 is one fleet page that refreshes itself.

use askama::Template;
use serde::Serialize;

/// One sensor's latest value, for display.
#[derive(Debug, Clone, Serialize)]
pub struct SensorCell {
    /// Sensor name.
    pub sensor: String,
    /// Latest value, formatted.
    pub value: String,
    /// Unit.
    pub unit: String,
}

/// One asset row of the fleet page.
#[derive(Debug, Clone, Serialize)]
pub struct AssetRow {
    /// Asset id.
    pub id: String,
    /// Site.
    pub site: String,
    /// Catalog type.
    pub asset_type: String,
    /// `ok`, `watch` (no recent data) or `act` (an open ticket).
    pub state: String,
    /// When it last reported (RFC 3339), or empty.
    pub last_seen: String,
    /// Latest values.
    pub sensors: Vec<SensorCell>,
}

/// One open ticket on the fleet page.
#[derive(Debug, Clone, Serialize)]
pub struct TicketRow {
    /// Ticket number.
    pub id: i64,
    /// Asset id.
    pub asset_id: String,
    /// Failure mode.
    pub failure_mode: String,
    /// Severity.
    pub severity: String,
    /// Status.
    pub status: String,
    /// When the finding was detected (RFC 3339).
    pub detected_at: String,
    /// Parts, e.g. `2 × BRG-6309-2RS`.
    pub parts: Vec<String>,
    /// Sensors that explain it, e.g. `vibration_rms ↑ 6.1σ`.
    pub evidence: Vec<String>,
}

/// The fleet page.
#[derive(Debug, Clone, Template)]
#[template(path = "fleet.html")]
pub struct FleetPage {
    /// When the page was rendered (RFC 3339).
    pub generated_at: String,
    /// Assets, by site then id.
    pub assets: Vec<AssetRow>,
    /// Open tickets, newest first.
    pub tickets: Vec<TicketRow>,
    /// Seconds between automatic refreshes.
    pub refresh_seconds: u32,
}

impl FleetPage {
    /// Renders the page to HTML.
    pub fn to_html(&self) -> Result<String, askama::Error> {
        self.render()
    }

    /// Count of assets in a state, for the summary line.
    pub fn count(&self, state: &str) -> usize {
        self.assets.iter().filter(|a| a.state == state).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_escapes() {
        let page = FleetPage {
            generated_at: "2026-01-01T00:00:00Z".into(),
            assets: vec![AssetRow {
                id: "pump-0001".into(),
                site: "site-a".into(),
                asset_type: "centrifugal_pump".into(),
                state: "act".into(),
                last_seen: "2026-01-01T00:00:00Z".into(),
                sensors: vec![SensorCell {
                    sensor: "flow".into(),
                    value: "12.5".into(),
                    unit: "m³/h".into(),
                }],
            }],
            tickets: vec![TicketRow {
                id: 7,
                asset_id: "pump-0001".into(),
                failure_mode: "bearing_wear".into(),
                severity: "high".into(),
                status: "new".into(),
                detected_at: "2026-01-01T00:00:00Z".into(),
                parts: vec!["2 × <BRG>".into()],
                evidence: vec!["vibration_rms ↑ 6.1σ".into()],
            }],
            refresh_seconds: 5,
        };
        let html = page.to_html().unwrap();
        assert!(html.contains("pump-0001"));
        assert!(html.contains("#7"));
        assert!(
            html.contains("2 × &#60;BRG&#62;") || html.contains("2 × &lt;BRG&gt;"),
            "{html}"
        );
        assert!(!html.contains("<BRG>"));
    }
}
