//! `GET /ui/assets/{id}?range=24h`: every sensor over a chosen range — raw points when the
//! range is short, the store's rollups (min–max band and mean) when it is long — with anomaly
//! marks and baselines, the health forecast, the findings and their explanation.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use forewarn_dashboards::chart::{Band, Eta, Forecast, SeriesChart, forecast_svg, series_svg};
use forewarn_dashboards::{
    AssetPage, ChartView, FindingView, HealthInputs, HealthState, RangeLink, SensorNow,
};
use forewarn_domain::{AssetId, SensorName, SensorState};
use forewarn_maintenance::Priority;
use serde::Deserialize;

use super::Session;
use super::format::{deviations, finding_of, operating, rul, summary, when, when_ms};
use crate::assets::ask_health;
use crate::{ApiError, AppState};

mod history;

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
    let span = RANGES
        .iter()
        .find(|(l, _)| *l == range_label)
        .map(|(_, ms)| *ms)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "range must be one of {}",
                RANGES.map(|r| r.0).join(", ")
            ))
        })?;
    let (latest, tickets) = tokio::join!(
        s.store.latest(&id),
        s.db.tickets(Some(id.as_str()), false, 50)
    );
    let (latest, tickets) = (latest?, tickets?);
    let health = ask_health(s, &id).await.ok().flatten();
    let ty = s.catalog.asset_type(&asset.asset_type);
    let last = latest.iter().map(|p| p.ts_ms).max();
    let to = last.map(|t| t + 1).unwrap_or(0);
    let from = to - span;

    // Sensors: the catalog's, then any other the device sends.
    let mut sensors: Vec<SensorName> = ty
        .map(|t| t.sensors.keys().cloned().collect())
        .unwrap_or_default();
    for p in &latest {
        if !sensors.contains(&p.sensor) {
            sensors.push(p.sensor.clone());
        }
    }
    // Baselines and detection marks from the findings behind the tickets.
    let findings: Vec<_> = tickets
        .iter()
        .filter_map(|t| finding_of(t).map(|f| (t, f)))
        .collect();
    let mut baselines: HashMap<&str, f64> = HashMap::new();
    let mut marks: HashMap<&str, Vec<i64>> = HashMap::new();
    for (t, f) in findings.iter().rev() {
        for d in &f.deviations {
            baselines.insert(d.sensor.as_str(), d.baseline);
            let m = marks.entry(d.sensor.as_str()).or_default();
            m.push(t.detected_at_ms);
            m.extend(d.change.map(|c| c.at_ms));
        }
        for x in &f.sensor_faults {
            marks.entry(x.sensor.as_str()).or_default().push(x.since_ms);
        }
    }
    if let Some(h) = &health {
        for x in &h.sensors {
            if let Some(c) = x.last_change {
                marks.entry(x.sensor.as_str()).or_default().push(c.at_ms);
            }
            // Every judged sensor's learnt normal, not only those a finding named.
            if let Some(b) = x.baseline {
                baselines.insert(x.sensor.as_str(), b);
            }
        }
    }

    // Repairs are events in the asset's timeline: every chart marks them.
    let repairs: Vec<i64> = tickets.iter().filter_map(|t| t.repaired_at_ms).collect();
    let raw = span <= RAW_UP_TO_MS;
    let step = (span / BUCKETS).max(1000);
    let mut charts = Vec::new();
    if last.is_some() {
        // The sensors' queries at once: each scans its own files on a blocking thread.
        let series = futures_util::future::try_join_all(sensors.iter().map(|sensor| {
            let id = &id;
            async move {
                if raw {
                    let points = s.store.range(id, sensor, from, to).await?;
                    Ok::<_, ApiError>((points, Vec::new()))
                } else {
                    let buckets = s.store.downsample(id, sensor, from, to, step).await?;
                    let bands: Vec<Band> = buckets
                        .iter()
                        .filter(|(_, a)| a.count > 0)
                        .map(|(ts, a)| Band {
                            ts: *ts,
                            min: a.min,
                            mean: a.sum / a.count as f64,
                            max: a.max,
                        })
                        .collect();
                    Ok((Vec::new(), bands))
                }
            }
        }))
        .await?;
        for (sensor, (points, bands)) in sensors.iter().zip(series) {
            let unit = ty
                .and_then(|t| t.sensors.get(sensor))
                .map(|x| x.unit.clone())
                .unwrap_or_default();
            if points.is_empty() && bands.is_empty() {
                continue;
            }
            let sensor_marks = marks.get(sensor.as_str()).cloned().unwrap_or_default();
            let svg = series_svg(&SeriesChart {
                title: sensor.as_str(),
                from_ms: from,
                to_ms: to,
                points: &points,
                bands: &bands,
                step_ms: step,
                baseline: baselines.get(sensor.as_str()).copied(),
                marks: &sensor_marks,
                repairs: &repairs,
                // One legend above all charts (the template's), not one over each chart's data.
                legend: ("", ""),
                size: CHART,
            })
            .map_err(ApiError::unavailable)?;
            let caption = if raw {
                format!("{} {}", points.len(), tr.t("asset.raw_points"))
            } else {
                format!("{} {}", bands.len(), tr.t("asset.buckets"))
            };
            charts.push(ChartView {
                sensor: sensor.to_string(),
                unit,
                svg,
                caption,
            });
        }
    }

    let index = health.as_ref().and_then(|h| h.health.as_ref());
    let ttf = index.and_then(|i| i.time_to_failure_h.as_ref());
    let open: Vec<_> = tickets.iter().filter(|t| t.status.is_open()).collect();
    let count = |st: SensorState| {
        health
            .as_ref()
            .map(|h| h.sensors.iter().filter(|x| x.state == st).count())
            .unwrap_or(0)
    };
    let state = HealthState::judge(&HealthInputs {
        faulty_sensors: count(SensorState::Faulty),
        deviating_sensors: count(SensorState::Deviating),
        index: index.map(|i| i.index),
        hours_to_failure: ttf.map(|t| t.hours),
        urgent_ticket: open
            .iter()
            .any(|t| t.red_alert || matches!(t.priority, Priority::P1 | Priority::P2)),
        open_ticket: !open.is_empty(),
        instrument_ticket: false,
        stale: false,
    });
    let levels = ty.map(|t| t.failure_levels()).unwrap_or_default();
    let health_chart = match (&health, index) {
        (Some(h), Some(i)) => {
            let span = span.max(HEALTH_HISTORY_MIN_MS);
            let past = history::health_history(s, &id, &levels, h, to, span).await?;
            Some(
                forecast_svg(&Forecast {
                    title: tr.t("asset.health_chart"),
                    index: i.index,
                    past: &past,
                    eta: ttf.map(|t| Eta {
                        hours: t.hours,
                        low: t.low,
                        high: t.high,
                    }),
                    hours_label: tr.t("asset.hours_from_now"),
                    size: (480, 220),
                })
                .map_err(ApiError::unavailable)?,
            )
        }
        _ => None,
    };
    let sensors_now = health
        .as_ref()
        .map(|h| {
            h.sensors
                .iter()
                .map(|x| {
                    let (css, key) = match x.state {
                        SensorState::Faulty => ("fault", "state.faulty"),
                        SensorState::Deviating => ("watch", "state.deviating"),
                        SensorState::Ok => ("ok", "state.ok"),
                        SensorState::Warming => ("ok", "state.warming"),
                    };
                    let unit = ty
                        .and_then(|t| t.sensors.get(&x.sensor))
                        .map(|u| u.unit.as_str())
                        .unwrap_or("");
                    SensorNow {
                        sensor: x.sensor.to_string(),
                        state: css,
                        state_label: tr.t(key).to_owned(),
                        value: format!("{:.2} {unit}", x.value),
                        score: format!("{:+.1} σ", x.score),
                        note: x
                            .fault
                            .map(|f| tr.t(&format!("fault.{}", f.as_str())).to_owned())
                            .or_else(|| {
                                x.last_change.map(|c| {
                                    format!(
                                        "{} {}",
                                        tr.t(&format!("change.{}", c.kind.as_str())),
                                        when_ms(c.at_ms)
                                    )
                                })
                            })
                            .unwrap_or_default(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let finding_views = findings
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
        .collect();
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
        sensors: sensors_now,
        ranges: RANGES
            .iter()
            .map(|(l, _)| RangeLink {
                label: tr.t(&format!("range.{l}")).to_owned(),
                href: format!("{path}?range={l}"),
                current: *l == range_label,
            })
            .collect(),
        resolution_note: if raw {
            tr.t("asset.raw_note").to_owned()
        } else {
            format!("{} {}", tr.t("asset.rollup_note"), tr.span_ms(step))
        },
        charts,
        findings: finding_views,
    })
}
