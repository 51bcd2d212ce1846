//! `GET /api/v1/assets/{id}/chart.svg`: a self-contained SVG chart of some of an asset's sensors
//! around a moment — what a ticket links to, so the planner sees the evidence at a glance
//! without a dashboard session. One panel per sensor: the min–max band and the mean of each
//! bucket, the baseline when given, and a line at the marked time (the detection).

use std::fmt::Write as _;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use forewarn_domain::{SensorName, TimestampMs};
use serde::Deserialize;

use crate::error::ReadErrors;
use crate::stock::query;
use crate::telemetry::{checked_asset, fetch, parse_time};
use crate::{ApiError, AppState};

/// What to draw.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChartQuery {
    /// Sensors, comma-separated (1 to 6).
    pub sensors: String,
    /// Start (RFC 3339 or ms); default 7 days before `to`.
    pub from: Option<String>,
    /// End (RFC 3339 or ms); default: the newest point.
    pub to: Option<String>,
    /// A moment to mark (RFC 3339 or ms), e.g. the detection.
    pub mark: Option<String>,
    /// Baselines to draw, comma-separated in the order of `sensors` (empty: none).
    pub baselines: Option<String>,
}

const W: f64 = 760.0;
const PANEL_H: f64 = 150.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
/// Buckets across the width: one every ~3 pixels.
const BUCKETS: i64 = 240;

/// `GET /api/v1/assets/{id}/chart.svg?sensors=a,b&from=..&to=..&mark=..&baselines=..`.
#[utoipa::path(get, path = "/api/v1/assets/{id}/chart.svg", params(("id" = String, Path, description = "Asset id"), ChartQuery), responses((status = 200, description = "An SVG chart", content_type = "image/svg+xml", body = String), ReadErrors))]
pub async fn get(
    State(s): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<ChartQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let sensors: Vec<SensorName> = q
        .sensors
        .split(',')
        .map(|n| SensorName::new(n.trim()).map_err(|e| ApiError::bad_request(e.to_string())))
        .collect::<Result<_, _>>()?;
    if sensors.is_empty() || sensors.len() > 6 {
        return Err(ApiError::bad_request("give 1 to 6 sensors"));
    }
    let baselines: Vec<Option<f64>> = match &q.baselines {
        None => vec![None; sensors.len()],
        Some(b) => b
            .split(',')
            .map(|x| x.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
            .collect(),
    };
    let asset = checked_asset(&s, &id, &sensors[0])?;
    for sensor in &sensors[1..] {
        checked_asset(&s, &id, sensor)?;
    }
    let newest = s.store.latest(&asset).await?.iter().map(|p| p.ts_ms).max();
    let to = match &q.to {
        Some(t) => parse_time("to", t)?,
        None => newest.map_or(1, |t| t + 1),
    };
    let from = match &q.from {
        Some(f) => parse_time("from", f)?,
        None => to - 7 * 86_400_000,
    };
    if from >= to {
        return Err(ApiError::bad_request("from must be before to"));
    }
    let mark = q
        .mark
        .as_deref()
        .map(|m| parse_time("mark", m))
        .transpose()?;
    let step = ((to - from) / BUCKETS).max(1000);
    let mut panels = Vec::with_capacity(sensors.len());
    for sensor in &sensors {
        let (_, buckets) = fetch(s.store.as_ref(), &asset, sensor, from, to, Some(step)).await?;
        let unit = s
            .store
            .asset(&asset)
            .and_then(|a| {
                s.catalog
                    .asset_type(&a.asset_type)
                    .and_then(|t| t.sensors.get(sensor).map(|x| x.unit.clone()))
            })
            .unwrap_or_default();
        panels.push((
            sensor.as_str().to_owned(),
            unit,
            buckets.unwrap_or_default(),
        ));
    }
    let svg = render(&id, from, to, mark, &panels, &baselines);
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A value with about four significant digits.
fn num(v: f64) -> String {
    let digits = (3 - v.abs().max(1e-9).log10().floor() as i32).clamp(0, 6) as usize;
    format!("{v:.digits$}")
}

fn label(ms: TimestampMs) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn render(
    asset: &str,
    from: TimestampMs,
    to: TimestampMs,
    mark: Option<TimestampMs>,
    panels: &[(String, String, Vec<crate::telemetry::Bucket>)],
    baselines: &[Option<f64>],
) -> String {
    let height = 40.0 + panels.len() as f64 * (PANEL_H + 44.0);
    let x = |t: TimestampMs| LEFT + (t - from) as f64 / (to - from) as f64 * (W - LEFT - RIGHT);
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" viewBox="0 0 {W} {height}" font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="#fff"/><text x="{LEFT}" y="18" font-size="13" font-weight="bold">{} — {} to {} UTC</text>"##,
        esc(asset),
        label(from),
        label(to)
    );
    for (i, (sensor, unit, buckets)) in panels.iter().enumerate() {
        let top = 30.0 + i as f64 * (PANEL_H + 44.0) + 16.0;
        let baseline = baselines.get(i).copied().flatten();
        let mut lo = buckets.iter().map(|b| b.min).fold(f64::INFINITY, f64::min);
        let mut hi = buckets
            .iter()
            .map(|b| b.max)
            .fold(f64::NEG_INFINITY, f64::max);
        if let Some(b) = baseline {
            lo = lo.min(b);
            hi = hi.max(b);
        }
        if !lo.is_finite() || !hi.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        if hi - lo < 1e-9 {
            (lo, hi) = (lo - 0.5, hi + 0.5);
        }
        let pad = (hi - lo) * 0.05;
        let (lo, hi) = (lo - pad, hi + pad);
        let y = |v: f64| top + (hi - v) / (hi - lo) * PANEL_H;
        let _ = write!(
            out,
            r##"<text x="{LEFT}" y="{}" font-weight="bold">{}{}</text><rect x="{LEFT}" y="{top}" width="{}" height="{PANEL_H}" fill="none" stroke="#bbb"/><text x="{}" y="{}" text-anchor="end">{}</text><text x="{}" y="{}" text-anchor="end">{}</text>"##,
            top - 4.0,
            esc(sensor),
            if unit.is_empty() {
                String::new()
            } else {
                format!(" ({})", esc(unit))
            },
            W - LEFT - RIGHT,
            LEFT - 4.0,
            top + 10.0,
            num(hi),
            LEFT - 4.0,
            top + PANEL_H,
            num(lo)
        );
        // Time ticks: five, with dates.
        for k in 0..5 {
            let t = from + (to - from) * k / 4;
            let anchor = ["start", "middle", "middle", "middle", "end"][k as usize];
            let _ = write!(
                out,
                r##"<text x="{:.1}" y="{}" fill="#666" text-anchor="{anchor}">{}</text>"##,
                x(t),
                top + PANEL_H + 13.0,
                label(t)
            );
        }
        if buckets.is_empty() {
            let _ = write!(
                out,
                r##"<text x="{}" y="{}" fill="#888">no data in this window</text>"##,
                LEFT + 8.0,
                top + PANEL_H / 2.0
            );
            continue;
        }
        // The min–max band, then the mean line.
        let mut band = String::new();
        for b in buckets {
            let _ = write!(band, "{:.1},{:.1} ", x(b.ts), y(b.max));
        }
        for b in buckets.iter().rev() {
            let _ = write!(band, "{:.1},{:.1} ", x(b.ts), y(b.min));
        }
        let mean: String = buckets
            .iter()
            .map(|b| format!("{:.1},{:.1} ", x(b.ts), y(b.mean)))
            .collect();
        let _ = write!(
            out,
            r##"<polygon points="{band}" fill="#9ecae1" fill-opacity="0.5" stroke="none"/><polyline points="{mean}" fill="none" stroke="#08519c" stroke-width="1.2"/>"##
        );
        if let Some(b) = baseline {
            let _ = write!(
                out,
                r##"<line x1="{LEFT}" x2="{}" y1="{:.1}" y2="{:.1}" stroke="#31a354" stroke-dasharray="4 3"/><text x="{}" y="{:.1}" fill="#31a354" text-anchor="end">baseline</text>"##,
                W - RIGHT,
                y(b),
                y(b),
                W - RIGHT - 2.0,
                y(b) - 3.0
            );
        }
        if let Some(m) = mark.filter(|m| (from..to).contains(m)) {
            let _ = write!(
                out,
                r##"<line x1="{:.1}" x2="{:.1}" y1="{top}" y2="{}" stroke="#de2d26" stroke-width="1.5"/><text x="{:.1}" y="{}" fill="#de2d26">detected</text>"##,
                x(m),
                x(m),
                top + PANEL_H,
                x(m) + 3.0,
                top + 12.0
            );
        }
    }
    out.push_str("</svg>");
    out
}
