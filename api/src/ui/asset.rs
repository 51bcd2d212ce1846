//! `GET /ui/assets/{id}?range=24h`: every sensor over a chosen range — raw points when the
//! range is short, the store's rollups (min–max band and mean) when it is long — with anomaly
//! marks and baselines, the health forecast, the findings and their explanation.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use forewarn_dashboards::{AssetPage, FindingView, RangeLink, Tr};
use forewarn_domain::{AssetId, AssetType, Finding, SensorName};
use forewarn_maintenance::Ticket;
use serde::Deserialize;

use super::Session;
use super::format::{deviations, finding_of, operating, rul, summary, when, when_ms};
use crate::assets::ask_health;
use crate::{ApiError, AppState};

mod charts;
mod history;
mod now;

use charts::Window;

/// The health chart covers the chosen range, but never less than this: a trend needs days.
const HEALTH_HISTORY_MIN_MS: i64 = 48 * 3_600_000;

/// The ranges offered: label, length in ms.
const RANGES: [(&str, i64); 5] = [
    ("1h", 3_600_000),
    ("6h", 6 * 3_600_000),
    ("24h", 24 * 3_600_000),
    ("7d", 7 * 24 * 3_600_000),
    ("30d", 30 * 24 * 3_600_000),
];
/// Ranges up to this long are drawn from raw points.
const RAW_UP_TO_MS: i64 = 2 * 3_600_000;
/// Buckets across a chart drawn from rollups: about one per pixel pair.
const BUCKETS: i64 = 600;
/// Chart size in pixels (scaled by the browser).
const CHART: (u32, u32) = (640, 220);

/// Query of the asset page.
#[derive(Debug, Deserialize)]
pub(crate) struct AssetQuery {
    range: Option<String>,
}

/// `GET /ui/assets/{id}`.
pub(crate) async fn page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    q: Result<Query<AssetQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let result = async {
        let Query(q) =
            q.map_err(|e| ApiError::bad_request(crate::error_text::plain(&e.body_text())))?;
        build(&s, &session, &id, q.range.as_deref()).await
    };
    session.respond(result.await)
}

/// The range asked for, by label: its length in ms.
fn span_of(label: &str) -> Result<i64, ApiError> {
    RANGES
        .iter()
        .find(|(l, _)| *l == label)
        .map(|(_, ms)| *ms)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "range must be one of {}",
                RANGES.map(|r| r.0).join(", ")
            ))
        })
}

/// The catalog's sensors of the type, then any other the device sends.
fn sensor_names(ty: Option<&AssetType>, latest: &[forewarn_store::SeriesPoint]) -> Vec<SensorName> {
    let mut sensors: Vec<SensorName> = ty
        .map(|t| t.sensors.keys().cloned().collect())
        .unwrap_or_default();
    for p in latest {
        if !sensors.contains(&p.sensor) {
            sensors.push(p.sensor.clone());
        }
    }
    sensors
}

async fn build(
    s: &AppState,
    session: &Session,
    id: &str,
    range: Option<&str>,
) -> Result<AssetPage, ApiError> {
    let tr = session.tr;
    let id = AssetId::new(id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let asset = s
        .store
        .asset(&id)
        .ok_or_else(|| ApiError::not_found(format!("no asset {id}")))?;
    let range_label = range.unwrap_or("24h");
    let span = span_of(range_label)?;
    let (latest, tickets) = tokio::join!(
        s.store.latest(&id),
        s.db.tickets(Some(id.as_str()), false, 50)
    );
    let (latest, tickets) = (latest?, tickets?);
    let health = ask_health(s, &id).await.ok().flatten();
    let ty = s.catalog.asset_type(&asset.asset_type);
    let last = latest.iter().map(|p| p.ts_ms).max();
    let window = Window::ending(last.map(|t| t + 1).unwrap_or(0), span, BUCKETS);
    let findings: Vec<_> = tickets
        .iter()
        .filter_map(|t| finding_of(t).map(|f| (t, f)))
        .collect();
    let over = charts::overlays(&findings, health.as_ref(), &tickets);
    let charts = match last {
        Some(_) => {
            let sensors = sensor_names(ty, &latest);
            charts::sensor_charts(s, tr, &id, ty, &sensors, window, &over).await?
        }
        None => Vec::new(),
    };
    let index = health.as_ref().and_then(|h| h.health.as_ref());
    let open: Vec<_> = tickets.iter().filter(|t| t.status.is_open()).collect();
    let state = now::judge(health.as_ref(), &open);
    let health_chart = match (&health, index) {
        (Some(h), Some(i)) => {
            Some(now::health_chart(s, tr, &id, ty, (h, i), window.to, span).await?)
        }
        _ => None,
    };
    let ttf = index.and_then(|i| i.time_to_failure_h.as_ref());
    let path = format!("/ui/assets/{id}");
    Ok(AssetPage {
        chrome: session.chrome("fleet", id.as_str()),
        id: id.to_string(),
        site: asset.site.to_string(),
        asset_type: asset.asset_type.to_string(),
        state: state.as_str(),
        state_label: tr.state(state.as_str()),
        health: index
            .map(|i| format!("{:.0} %", i.index * 100.0))
            .unwrap_or_else(|| "–".into()),
        rul: ttf.map(|t| rul(tr, t)).unwrap_or_else(|| "–".into()),
        limiting: index
            .map(|i| i.limiting_sensor.to_string())
            .unwrap_or_else(|| "–".into()),
        last_seen: last.map(when_ms).unwrap_or_else(|| "–".into()),
        operating: health
            .as_ref()
            .map(|h| operating(tr, h))
            .unwrap_or_default(),
        forecast: health_chart.is_some() && ttf.is_some(),
        health_chart,
        sensors: now::sensors_now(tr, ty, health.as_ref()),
        ranges: range_links(tr, &path, range_label),
        resolution_note: if window.raw {
            tr.t("asset.raw_note").to_owned()
        } else {
            format!("{} {}", tr.t("asset.rollup_note"), tr.span_ms(window.step))
        },
        charts,
        findings: finding_views(s, tr, &findings),
    })
}

/// The links to the other ranges, the current one marked.
fn range_links(tr: Tr, path: &str, current: &str) -> Vec<RangeLink> {
    RANGES
        .iter()
        .map(|(l, _)| RangeLink {
            label: tr.t(&format!("range.{l}")).to_owned(),
            href: format!("{path}?range={l}"),
            current: *l == current,
        })
        .collect()
}

/// The findings behind the asset's tickets, newest first.
fn finding_views(s: &AppState, tr: Tr, findings: &[(&Ticket, Finding)]) -> Vec<FindingView> {
    findings
        .iter()
        .map(|(t, f)| FindingView {
            ticket_id: t.id,
            title: super::format::ticket_title(&s.catalog, tr, t),
            priority: super::tickets::prio(t.priority),
            status: tr.status(t.status.as_str()),
            detected: when(&t.detected_at),
            summary: summary(tr, f),
            deviations: deviations(tr, f),
        })
        .collect()
}
