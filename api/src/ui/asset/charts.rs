//! The asset page's sensor charts: one per sensor over the chosen window, raw points when the
//! window is short, the store's rollups when it is long, with the learnt normal, the
//! detection marks and the repairs drawn on each.

use std::collections::HashMap;

use forewarn_dashboards::chart::{Band, SeriesChart, series_svg};
use forewarn_dashboards::{ChartView, Tr};
use forewarn_domain::{AssetHealth, AssetId, AssetType, Finding, SensorName};
use forewarn_maintenance::Ticket;

use super::{CHART, RAW_UP_TO_MS};
use crate::{ApiError, AppState};

/// The time window the charts cover.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub from: i64,
    pub to: i64,
    /// Rollup bucket width (ms) when not raw.
    pub step: i64,
    /// Raw points rather than rollups.
    pub raw: bool,
}

impl Window {
    /// The `span` ending at `to`, split in about `buckets` rollups when too long for raw points.
    pub(super) fn ending(to: i64, span: i64, buckets: i64) -> Self {
        Self {
            from: to - span,
            to,
            step: (span / buckets).max(1000),
            raw: span <= RAW_UP_TO_MS,
        }
    }
}

/// What is drawn over each sensor's data: its learnt normal and the moments worth a look.
#[derive(Debug, Default)]
pub(super) struct Overlays<'a> {
    pub baselines: HashMap<&'a str, f64>,
    pub marks: HashMap<&'a str, Vec<i64>>,
    /// Repairs are events in the asset's timeline: every chart marks them.
    pub repairs: Vec<i64>,
}

/// Baselines and detection marks from the findings behind the tickets, then from the asset's
/// current health (every judged sensor's learnt normal, not only those a finding named).
pub(super) fn overlays<'a>(
    findings: &'a [(&Ticket, Finding)],
    health: Option<&'a AssetHealth>,
    tickets: &[Ticket],
) -> Overlays<'a> {
    let mut o = Overlays {
        repairs: tickets.iter().filter_map(|t| t.repaired_at_ms).collect(),
        ..Overlays::default()
    };
    for (t, f) in findings.iter().rev() {
        for d in &f.deviations {
            o.baselines.insert(d.sensor.as_str(), d.baseline);
            let m = o.marks.entry(d.sensor.as_str()).or_default();
            m.push(t.detected_at_ms);
            m.extend(d.change.map(|c| c.at_ms));
        }
        for x in &f.sensor_faults {
            o.marks
                .entry(x.sensor.as_str())
                .or_default()
                .push(x.since_ms);
        }
    }
    for x in health.iter().flat_map(|h| &h.sensors) {
        if let Some(c) = x.last_change {
            o.marks.entry(x.sensor.as_str()).or_default().push(c.at_ms);
        }
        if let Some(b) = x.baseline {
            o.baselines.insert(x.sensor.as_str(), b);
        }
    }
    o
}

/// One sensor's data over the window: raw points, or min–mean–max bands.
async fn series(
    s: &AppState,
    id: &AssetId,
    sensor: &SensorName,
    w: Window,
) -> Result<(Vec<(i64, f64)>, Vec<Band>), ApiError> {
    if w.raw {
        return Ok((s.store.range(id, sensor, w.from, w.to).await?, Vec::new()));
    }
    let buckets = s.store.downsample(id, sensor, w.from, w.to, w.step).await?;
    let bands = buckets
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

/// A chart per sensor that has data in the window.
pub(super) async fn sensor_charts(
    s: &AppState,
    tr: Tr,
    id: &AssetId,
    ty: Option<&AssetType>,
    sensors: &[SensorName],
    w: Window,
    over: &Overlays<'_>,
) -> Result<Vec<ChartView>, ApiError> {
    // The sensors' queries at once: each scans its own files on a blocking thread.
    let all =
        futures_util::future::try_join_all(sensors.iter().map(|x| series(s, id, x, w))).await?;
    let mut charts = Vec::new();
    for (sensor, (points, bands)) in sensors.iter().zip(all) {
        if points.is_empty() && bands.is_empty() {
            continue;
        }
        let marks = over.marks.get(sensor.as_str()).cloned().unwrap_or_default();
        let svg = series_svg(&SeriesChart {
            title: sensor.as_str(),
            from_ms: w.from,
            to_ms: w.to,
            points: &points,
            bands: &bands,
            step_ms: w.step,
            baseline: over.baselines.get(sensor.as_str()).copied(),
            marks: &marks,
            repairs: &over.repairs,
            // One legend above all charts (the template's), not one over each chart's data.
            legend: ("", ""),
            size: CHART,
        })
        .map_err(ApiError::unavailable)?;
        let caption = if w.raw {
            format!("{} {}", points.len(), tr.t("asset.raw_points"))
        } else {
            format!("{} {}", bands.len(), tr.t("asset.buckets"))
        };
        charts.push(ChartView {
            sensor: sensor.to_string(),
            unit: ty
                .and_then(|t| t.sensors.get(sensor))
                .map(|x| x.unit.clone())
                .unwrap_or_default(),
            svg,
            caption,
        });
    }
    Ok(charts)
}
