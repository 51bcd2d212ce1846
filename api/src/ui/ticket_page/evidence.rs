//! A ticket page's evidence: the parts its repair needs and where they stand, and charts of
//! the finding's sensors around its detection.

use forewarn_dashboards::PartLine;
use forewarn_dashboards::Tr;
use forewarn_dashboards::chart::{Band, SeriesChart, series_svg};
use forewarn_domain::{AssetId, SensorName};
use forewarn_maintenance::Ticket;

use crate::{ApiError, AppState};

/// A ticket's parts: what the repair needs, where it is held and in what state, what is still
/// requisitioned.
pub(super) fn part_lines(
    t: &Ticket,
    parts: &forewarn_maintenance::parts::TicketParts,
) -> Vec<PartLine> {
    let mut out = Vec::new();
    for p in &t.parts {
        let label = format!("{} {}", p.part_number, p.description);
        let outstanding: i64 = parts
            .requisitions
            .iter()
            .filter(|r| r.part_number == p.part_number && r.status == "open")
            .map(|r| r.outstanding)
            .sum();
        let held: Vec<_> = parts
            .reservations
            .iter()
            .filter(|r| r.part_number == p.part_number)
            .collect();
        if held.is_empty() {
            out.push(PartLine {
                part: label.clone(),
                needed: p.quantity.to_string(),
                place: "–".into(),
                reserved: 0,
                issued: 0,
                consumed: 0,
                outstanding,
            });
        }
        for (i, r) in held.iter().enumerate() {
            out.push(PartLine {
                part: label.clone(),
                needed: if i == 0 {
                    p.quantity.to_string()
                } else {
                    String::new()
                },
                place: r.warehouse_id.clone(),
                reserved: r.reserved,
                issued: r.issued,
                consumed: r.consumed,
                outstanding: if i == 0 { outstanding } else { 0 },
            });
        }
    }
    out
}

/// Charts of the finding's sensors around its detection: two days before to half a day after.
pub(super) async fn evidence_charts(
    s: &AppState,
    tr: Tr,
    t: &Ticket,
    f: &forewarn_domain::Finding,
) -> Result<Vec<(String, String)>, ApiError> {
    let Ok(asset) = AssetId::new(&t.asset_id) else {
        return Ok(Vec::new());
    };
    let from = t.detected_at_ms - 48 * 3_600_000;
    let to = t.detected_at_ms + 12 * 3_600_000;
    let step = (to - from) / 480;
    let sensors: Vec<(SensorName, Option<f64>)> = f
        .deviations
        .iter()
        .map(|d| (d.sensor.clone(), Some(d.baseline)))
        .chain(f.sensor_faults.iter().map(|x| (x.sensor.clone(), None)))
        .take(6)
        .collect();
    let mut out = Vec::new();
    for (sensor, baseline) in sensors {
        let bands: Vec<Band> = s
            .store
            .downsample(&asset, &sensor, from, to, step)
            .await?
            .into_iter()
            .filter(|(_, a)| a.count > 0)
            .map(|(ts, a)| Band {
                ts,
                min: a.min,
                mean: a.sum / a.count as f64,
                max: a.max,
            })
            .collect();
        if bands.is_empty() {
            continue;
        }
        let marks = [t.detected_at_ms];
        out.push((
            sensor.to_string(),
            series_svg(&SeriesChart {
                title: sensor.as_str(),
                from_ms: from,
                to_ms: to,
                bands: &bands,
                step_ms: step,
                baseline,
                marks: &marks,
                legend: (tr.t("chart.baseline"), tr.t("chart.detected")),
                size: (640, 200),
                ..SeriesChart::default()
            })
            .map_err(ApiError::unavailable)?,
        ));
    }
    Ok(out)
}
