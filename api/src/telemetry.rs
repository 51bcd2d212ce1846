//! `/api/v1/assets/{id}/telemetry`: a sensor's history, raw or downsampled.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use forewarn_domain::{AssetId, SensorName, TimestampMs};
use serde::{Deserialize, Serialize};

use crate::error::ReadErrors;
use crate::{ApiError, AppState};

/// Most raw points one response carries; ask for a `step` beyond that.
pub(crate) const MAX_POINTS: usize = 200_000;

/// Longest range of raw points (a response or a Parquet export), refused before anything is
/// read: a year of a 1 Hz sensor is 31 M points, which no request should make the store scan.
pub(crate) const MAX_RAW_SPAN_MS: i64 = 31 * 86_400_000;

/// Query parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TelemetryQuery {
    /// The sensor.
    pub sensor: String,
    /// Start, inclusive: epoch ms or RFC 3339 (default: 24 h before `to`).
    pub from: Option<String>,
    /// End, exclusive: epoch ms or RFC 3339 (default: just after the newest point).
    pub to: Option<String>,
    /// Bucket width (`1m`, `1h`, `30s`); raw points when absent.
    pub step: Option<String>,
    /// `json` (default), `csv`, or `parquet` (raw points only).
    pub format: Option<String>,
}

/// One downsampled bucket (from the store's rollups when the step allows).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Bucket {
    /// Bucket start (ms).
    pub ts: TimestampMs,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean value.
    pub mean: f64,
    /// Points in the bucket.
    pub count: u64,
    /// Newest value.
    pub last: f64,
}

/// The response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Telemetry {
    /// Asset id.
    pub asset: String,
    /// Sensor.
    pub sensor: String,
    /// Range start (ms).
    pub from: TimestampMs,
    /// Range end (ms, exclusive).
    pub to: TimestampMs,
    /// Bucket width in ms, when downsampled.
    pub step_ms: Option<i64>,
    /// Raw points `[ts, value]`, when not downsampled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<Vec<(TimestampMs, f64)>>,
    /// Buckets, when downsampled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buckets: Option<Vec<Bucket>>,
}

/// `GET /api/v1/assets/{id}/telemetry?sensor=S&from=..&to=..&step=..`.
#[utoipa::path(get, path = "/api/v1/assets/{id}/telemetry", params(("id" = String, Path, description = "Asset id"), TelemetryQuery), responses((status = 200, description = "Points or buckets, as JSON, CSV or Parquet", content((Telemetry = "application/json"), (String = "text/csv"), (Vec<u8> = "application/vnd.apache.parquet"))), ReadErrors))]
pub async fn get(
    State(s): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<TelemetryQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) =
        q.map_err(|e| ApiError::bad_request(crate::error_text::plain(&e.body_text())))?;
    let format = q.format.clone().unwrap_or_else(|| "json".into());
    if !matches!(format.as_str(), "json" | "csv" | "parquet") {
        return Err(ApiError::bad_request(format!(
            "format must be json, csv or parquet, not {format:?}"
        )));
    }
    if format == "parquet" && q.step.is_some() {
        return Err(ApiError::bad_request(
            "parquet export carries raw points: leave out step",
        ));
    }
    let sensor = SensorName::new(&q.sensor).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let asset_id = checked_asset(&s, &id, &sensor)?;
    let newest = s
        .store
        .latest(&asset_id)
        .await?
        .iter()
        .find(|p| p.sensor == sensor)
        .map(|p| p.ts_ms);
    let to = match &q.to {
        Some(t) => parse_time("to", t)?,
        None => newest.map_or(0, |t| t + 1),
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
    let (store, a, sn) = (&s.store, &asset_id, &sensor);
    if format == "parquet" {
        let bytes = store.export_parquet(a, sn, from, to).await?;
        return Ok(parquet_attachment(&id, &q.sensor, bytes));
    }
    let (points, buckets) = fetch(store.as_ref(), a, sn, from, to, step_ms).await?;
    if points.as_ref().is_some_and(|p| p.len() > MAX_POINTS) {
        return Err(ApiError::bad_request(format!(
            "more than {MAX_POINTS} points in range: narrow it or give a step"
        )));
    }
    let t = Telemetry {
        asset: id,
        sensor: q.sensor,
        from,
        to,
        step_ms,
        points,
        buckets,
    };
    if format == "csv" {
        let name = format!("attachment; filename=\"{}-{}.csv\"", t.asset, t.sensor);
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, name),
            ],
            to_csv(&t),
        )
            .into_response());
    }
    Ok(Json(t).into_response())
}

/// CSV with a header: `ts,value` for raw points, `ts,min,max,mean,count,last` for buckets; `ts` in
/// RFC 3339 so spreadsheets read it as a time.
fn to_csv(t: &Telemetry) -> String {
    let time = |ms: TimestampMs| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    };
    let mut out = String::new();
    if let Some(points) = &t.points {
        out.push_str("ts,value\n");
        for (ts, v) in points {
            out.push_str(&format!("{},{v}\n", time(*ts)));
        }
    }
    if let Some(buckets) = &t.buckets {
        out.push_str("ts,min,max,mean,count,last\n");
        for b in buckets {
            out.push_str(&format!(
                "{},{},{},{},{},{}\n",
                time(b.ts),
                b.min,
                b.max,
                b.mean,
                b.count,
                b.last
            ));
        }
    }
    out
}

/// A registered asset that has `sensor`: 400 for a malformed id, 404 for an unknown one.
pub(crate) fn checked_asset(
    s: &AppState,
    id: &str,
    sensor: &SensorName,
) -> Result<AssetId, ApiError> {
    let asset_id = AssetId::new(id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let asset = s
        .store
        .asset(&asset_id)
        .ok_or_else(|| ApiError::not_found(format!("no asset {id}")))?;
    let known = s
        .catalog
        .asset_type(&asset.asset_type)
        .is_some_and(|t| t.sensors.contains_key(sensor));
    if !known {
        return Err(ApiError::not_found(format!(
            "asset {id} has no sensor {sensor}"
        )));
    }
    Ok(asset_id)
}

/// A Parquet export as a download named after its asset and sensor.
fn parquet_attachment(id: &str, sensor: &str, bytes: Vec<u8>) -> Response {
    let name = format!("attachment; filename=\"{id}-{sensor}.parquet\"");
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.apache.parquet".to_string(),
            ),
            (header::CONTENT_DISPOSITION, name),
        ],
        bytes,
    )
        .into_response()
}

/// Refuses raw points (no `step`) over more than [`MAX_RAW_SPAN_MS`], before anything is read.
pub(crate) fn check_raw_span(step_ms: Option<i64>, from: i64, to: i64) -> Result<(), ApiError> {
    if step_ms.is_none() && to - from > MAX_RAW_SPAN_MS {
        return Err(ApiError::bad_request(format!(
            "raw points are served {} days at a time: narrow the range, give a step, or export in pieces",
            MAX_RAW_SPAN_MS / 86_400_000
        )));
    }
    Ok(())
}

/// `step` as ms (at least 1 s, at most [`MAX_POINTS`] buckets over the range), or raw (`None`).
pub(crate) fn parse_step(
    step: Option<&str>,
    from: TimestampMs,
    to: TimestampMs,
) -> Result<Option<i64>, ApiError> {
    let Some(step) = step else { return Ok(None) };
    let d = humantime::parse_duration(step)
        .map_err(|e| ApiError::bad_request(format!("step {step:?}: {e}")))?;
    let ms = d.as_millis() as i64;
    if ms < 1000 {
        return Err(ApiError::bad_request("step must be at least 1s"));
    }
    if (to - from) / ms > MAX_POINTS as i64 {
        return Err(ApiError::bad_request(format!(
            "more than {MAX_POINTS} buckets: widen the step"
        )));
    }
    Ok(Some(ms))
}

/// Raw points, or buckets when `step_ms` is given.
pub(crate) async fn fetch(
    store: &dyn forewarn_store::Telemetry,
    asset: &AssetId,
    sensor: &SensorName,
    from: TimestampMs,
    to: TimestampMs,
    step_ms: Option<i64>,
) -> Result<(Option<Vec<(TimestampMs, f64)>>, Option<Vec<Bucket>>), ApiError> {
    let Some(ms) = step_ms else {
        return Ok((Some(store.range(asset, sensor, from, to).await?), None));
    };
    // Rollups are aligned to the epoch, so the range starts on a bucket boundary.
    let buckets = store
        .downsample(asset, sensor, from.div_euclid(ms) * ms, to, ms)
        .await?
        .into_iter()
        .map(|(ts, a)| Bucket {
            ts,
            min: a.min,
            max: a.max,
            mean: a.mean(),
            count: a.count,
            last: a.last,
        })
        .collect();
    Ok((None, Some(buckets)))
}

pub(crate) fn parse_time(name: &str, s: &str) -> Result<TimestampMs, ApiError> {
    // Years 0 to 9999: any difference of two times stays far from overflowing.
    const RANGE: std::ops::RangeInclusive<i64> = -62_167_219_200_000..=253_402_300_799_999;
    let ms = match s.parse::<i64>() {
        Ok(ms) => ms,
        Err(_) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .map_err(|_| {
                ApiError::bad_request(format!("{name} must be epoch ms or RFC 3339, not {s:?}"))
            })?,
    };
    if !RANGE.contains(&ms) {
        return Err(ApiError::bad_request(format!(
            "{name} must lie within the years 0 to 9999"
        )));
    }
    Ok(ms)
}
