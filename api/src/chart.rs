//! `GET /api/v1/assets/{id}/chart.svg`: a self-contained SVG chart of some of an asset's sensors
//! around a moment — what a ticket links to, so the planner sees the evidence at a glance
//! without a dashboard session. One panel per sensor: the min–max band and the mean of each
//! bucket, the baseline when given, and a line at the marked time (the detection), drawn by the
//! dashboards' plotters charts.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use forewarn_dashboards::chart::{Band, SeriesChart, panels_svg};
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

/// Width of the chart and height of one sensor's panel, pixels.
const W: u32 = 760;
const PANEL_H: u32 = 190;
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
    let bands: Vec<Vec<Band>> = panels
        .iter()
        .map(|(_, _, buckets)| {
            buckets
                .iter()
                .map(|b| Band {
                    ts: b.ts,
                    min: b.min,
                    mean: b.mean,
                    max: b.max,
                })
                .collect()
        })
        .collect();
    let titles: Vec<String> = panels
        .iter()
        .map(|(sensor, unit, _)| {
            if unit.is_empty() {
                sensor.clone()
            } else {
                format!("{sensor} ({unit})")
            }
        })
        .collect();
    let marks: Vec<TimestampMs> = mark.into_iter().collect();
    let charts: Vec<SeriesChart<'_>> = (0..panels.len())
        .map(|i| SeriesChart {
            title: &titles[i],
            from_ms: from,
            to_ms: to,
            bands: &bands[i],
            step_ms: step,
            baseline: baselines.get(i).copied().flatten(),
            marks: &marks,
            legend: ("baseline", "detected"),
            size: (W, PANEL_H),
            ..SeriesChart::default()
        })
        .collect();
    let svg = panels_svg(&format!("{id}: {}", titles.join(", ")), &charts)
        .map_err(ApiError::unavailable)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}
