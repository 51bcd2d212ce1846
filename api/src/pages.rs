//! Dashboard routes.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Html;
use chrono::{SecondsFormat, TimeZone, Utc};
use forewarn_dashboards::{AssetRow, FleetPage, SensorCell, TicketRow};

use crate::error::ReadErrors;
use crate::{ApiError, AppState};

/// An asset that has not reported for this long (in its own time, relative to the fleet's newest
/// reading) is shown as `watch`.
const STALE_MS: i64 = 3 * 3_600_000;

/// `GET /`: the fleet page.
#[utoipa::path(get, path = "/", responses((status = 200, description = "The fleet dashboard", content_type = "text/html", body = String), ReadErrors))]
pub async fn fleet(State(s): State<AppState>) -> Result<Html<String>, ApiError> {
    let tickets = s.db.tickets(None, true, 500).await?;
    let mut open: HashMap<&str, usize> = HashMap::new();
    for t in &tickets {
        *open.entry(t.asset_id.as_str()).or_default() += 1;
    }
    let mut all = s.store.latest_all().await?;
    let latest: Vec<_> = s
        .store
        .assets()
        .into_iter()
        .map(|a| {
            let l = all.remove(&a.id).unwrap_or_default();
            (a, l)
        })
        .collect();
    // The simulator may run on a fast-forwarded clock: judge staleness against the fleet's own newest time.
    let newest = latest
        .iter()
        .flat_map(|(_, l)| l.iter().map(|p| p.ts_ms))
        .max()
        .unwrap_or(0);
    let mut assets: Vec<AssetRow> = latest
        .into_iter()
        .map(|(a, points)| {
            let ty = s.catalog.asset_type(&a.asset_type);
            let last = points.iter().map(|p| p.ts_ms).max();
            let state = if open.contains_key(a.id.as_str()) {
                "act"
            } else if last.is_none_or(|t| newest - t > STALE_MS) {
                "watch"
            } else {
                "ok"
            };
            AssetRow {
                id: a.id.to_string(),
                site: a.site.to_string(),
                asset_type: a.asset_type.to_string(),
                state: state.into(),
                last_seen: last.map(rfc3339).unwrap_or_default(),
                sensors: points
                    .iter()
                    .map(|p| SensorCell {
                        sensor: p.sensor.to_string(),
                        value: format!("{:.2}", p.value),
                        unit: ty
                            .and_then(|t| t.sensors.get(&p.sensor))
                            .map(|s| s.unit.clone())
                            .unwrap_or_default(),
                    })
                    .collect(),
            }
        })
        .collect();
    assets.sort_by(|a, b| (&a.site, &a.id).cmp(&(&b.site, &b.id)));
    let tickets = tickets
        .into_iter()
        .map(|t| TicketRow {
            evidence: t.evidence["deviations"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| {
                    let arrow = if d["direction"] == "up" { "↑" } else { "↓" };
                    format!(
                        "{} {arrow} {:.1}σ",
                        d["sensor"].as_str().unwrap_or("?"),
                        d["score"].as_f64().unwrap_or(0.0).abs()
                    )
                })
                .collect(),
            parts: t
                .parts
                .iter()
                .map(|p| format!("{} × {} {}", p.quantity, p.part_number, p.description))
                .collect(),
            id: t.id,
            asset_id: t.asset_id,
            failure_mode: t.failure_mode,
            severity: t.severity,
            status: t.status.as_str().into(),
            detected_at: t.detected_at,
        })
        .collect();
    let page = FleetPage {
        generated_at: rfc3339(Utc::now().timestamp_millis()),
        assets,
        tickets,
        refresh_seconds: 5,
    };
    page.to_html().map(Html).map_err(ApiError::unavailable)
}

fn rfc3339(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}
