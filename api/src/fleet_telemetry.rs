//! `/api/v1/telemetry`: one sensor's history for many assets at once (fleet comparisons).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use forewarn_domain::{SensorName, TimestampMs};
use serde::{Deserialize, Serialize};

use crate::error::ReadErrors;
use crate::telemetry::{
    Bucket, MAX_POINTS, check_raw_span, checked_asset, fetch, parse_step, parse_time,
};
use crate::{ApiError, AppState};

/// Most assets in one request.
const MAX_ASSETS: usize = 200;

/// Query parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FleetQuery {
    /// Comma-separated asset ids.
    pub assets: String,
    /// The sensor.
    pub sensor: String,
    /// Start, inclusive: epoch ms or RFC 3339 (default: 24 h before `to`).
    pub from: Option<String>,
    /// End, exclusive: epoch ms or RFC 3339 (default: just after the newest point of any of them).
    pub to: Option<String>,
    /// Bucket width (`1m`, `1h`); raw points when absent.
    pub step: Option<String>,
}

/// One asset's part of the answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssetSeries {
    /// Asset id.
    pub asset: String,
    /// Raw points `[ts, value]`, when not downsampled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<Vec<(TimestampMs, f64)>>,
    /// Buckets, when downsampled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buckets: Option<Vec<Bucket>>,
}

/// The response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FleetTelemetry {
    /// Sensor.
    pub sensor: String,
    /// Range start (ms).
    pub from: TimestampMs,
    /// Range end (ms, exclusive).
    pub to: TimestampMs,
    /// Bucket width in ms, when downsampled.
    pub step_ms: Option<i64>,
    /// One entry per asset, in the order asked.
    pub series: Vec<AssetSeries>,
}

/// `GET /api/v1/telemetry?assets=A,B&sensor=S&from=..&to=..&step=..`.
#[utoipa::path(get, path = "/api/v1/telemetry", params(FleetQuery), responses((status = 200, body = FleetTelemetry), ReadErrors))]
pub async fn get(
    State(s): State<AppState>,
    q: Result<Query<FleetQuery>, QueryRejection>,
) -> Result<Json<FleetTelemetry>, ApiError> {
    let Query(q) =
        q.map_err(|e| ApiError::bad_request(crate::error_text::plain(&e.body_text())))?;
    let sensor = SensorName::new(&q.sensor).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let ids: Vec<&str> = q.assets.split(',').map(str::trim).collect();
    if ids.iter().any(|i| i.is_empty()) {
        return Err(ApiError::bad_request(
            "assets must be a comma-separated list of asset ids",
        ));
    }
    if ids.len() > MAX_ASSETS {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_ASSETS} assets per request"
        )));
    }
    let assets = ids
        .iter()
        .map(|id| checked_asset(&s, id, &sensor))
        .collect::<Result<Vec<_>, _>>()?;
    let to = match &q.to {
        Some(t) => parse_time("to", t)?,
        None => {
            let mut newest = 0;
            for a in &assets {
                let latest = s.store.latest(a).await?;
                if let Some(p) = latest.iter().find(|p| p.sensor == sensor) {
                    newest = newest.max(p.ts_ms + 1);
                }
            }
            newest
        }
    };
    let from = match &q.from {
        Some(f) => parse_time("from", f)?,
        None => to - 86_400_000,
    };
    if from >= to {
        return Err(ApiError::bad_request("from must be before to"));
    }
    let step_ms = parse_step(q.step.as_deref(), from, to)?;
    check_raw_span(step_ms, from, to)?;
    let mut series = Vec::with_capacity(assets.len());
    let mut total = 0usize;
    for a in &assets {
        let (points, buckets) = fetch(s.store.as_ref(), a, &sensor, from, to, step_ms).await?;
        total += points.as_ref().map_or(0, Vec::len) + buckets.as_ref().map_or(0, Vec::len);
        if total > MAX_POINTS {
            return Err(ApiError::bad_request(format!(
                "more than {MAX_POINTS} points or buckets in all: narrow the range, widen the step or ask for fewer assets"
            )));
        }
        series.push(AssetSeries {
            asset: a.to_string(),
            points,
            buckets,
        });
    }
    Ok(Json(FleetTelemetry {
        sensor: q.sensor,
        from,
        to,
        step_ms,
        series,
    }))
}
