//! The year as a picture: one row per asset, each fault a bar from its onset to its repair (or
//! its failure), the part of it the machine spent stopped in vermilion, and the tickets the
//! service opened as marks — a dot for a prediction, a cross for corrective work.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::RGBColor;

use super::TicketRow;
use forewarn_simulators::SimReport;

const DAY_MS: f64 = 86_400_000.0;
/// Okabe–Ito: blue, orange, reddish purple per failure mode; vermilion for a stopped machine.
const MODES: [(&str, RGBColor); 3] = [
    ("bearing_wear", RGBColor(0x00, 0x72, 0xb2)),
    ("impeller_wear", RGBColor(0xe6, 0x9f, 0x00)),
    ("winding_overheating", RGBColor(0xcc, 0x79, 0xa7)),
];
const STOPPED: RGBColor = RGBColor(0xd5, 0x5e, 0x00);
const SENSOR: RGBColor = RGBColor(0x99, 0x99, 0x99);
const PREDICTED: RGBColor = RGBColor(0x00, 0x9e, 0x73);

/// Draws the year as an SVG document.
pub fn svg(report: &SimReport, tickets: &[TicketRow]) -> Result<String, String> {
    let mut assets: Vec<&str> = report
        .ground_truth
        .iter()
        .map(|g| g.asset.as_str())
        .chain(tickets.iter().map(|t| t.asset_id.as_str()))
        .collect();
    assets.sort();
    assets.dedup();
    let row = |a: &str| assets.iter().position(|x| *x == a).unwrap_or(0) as f64;
    let day = |t: i64| (t - report.sim_start_ms) as f64 / DAY_MS;
    let span = day(report.sim_end_ms).max(1.0);
    let size = (1000, 110 + 22 * assets.len().max(1) as u32);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "{} of {} assets (those with faults or tickets) over {span:.0} days",
                    assets.len(),
                    report.assets
                ),
                ("sans-serif", 16),
            )
            .margin(10)
            .margin_bottom(34)
            .x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d(0.0..span, -0.7..assets.len() as f64 - 0.3)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("simulated day")
            .y_labels(assets.len().max(1))
            .y_label_formatter(&|y| {
                assets
                    .get(y.round().max(0.0) as usize)
                    .map(|a| a.to_string())
                    .unwrap_or_default()
            })
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(|e| e.to_string())?;
        draw_year(&mut chart, report, tickets, &row, &day)?;
        let key = "bars: a fault from onset to repair — blue bearing, orange impeller, purple \
                   winding, vermilion stopped, grey sensor · dot: ticket from a prediction · \
                   cross: corrective ticket";
        root.draw_text(
            key,
            &("sans-serif", 12).into_text_style(&root),
            (100, size.1 as i32 - 16),
        )
        .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The faults (running, then stopped), the sensor faults and the tickets, on their rows.
fn draw_year(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    report: &SimReport,
    tickets: &[TicketRow],
    row: &dyn Fn(&str) -> f64,
    day: &dyn Fn(i64) -> f64,
) -> Result<(), String> {
    let end = report.sim_end_ms;
    let bars = report.ground_truth.iter().flat_map(|g| {
        let colour = MODES
            .iter()
            .find(|m| m.0 == g.failure_mode)
            .map_or(SENSOR, |m| m.1);
        let until = g.repaired_ms.unwrap_or(end);
        let y = row(&g.asset);
        let running = (day(g.onset_ms), day(until.min(g.failure_ms)), colour);
        let stopped = (g.failure_ms < until).then(|| (day(g.failure_ms), day(until), STOPPED));
        std::iter::once(running)
            .chain(stopped)
            .map(move |(a, b, c)| Rectangle::new([(a, y - 0.3), (b, y + 0.3)], c.filled()))
    });
    chart.draw_series(bars).map_err(|e| e.to_string())?;
    let sensors = report.sensor_faults.iter().map(|s| {
        let y = row(&s.asset);
        let until = day(s.repaired_ms.unwrap_or(end));
        Rectangle::new(
            [(day(s.onset_ms), y - 0.12), (until, y + 0.12)],
            SENSOR.filled(),
        )
    });
    chart.draw_series(sensors).map_err(|e| e.to_string())?;
    let marks = tickets.iter().map(|t| {
        (
            day(t.detected_at_ms),
            row(&t.asset_id),
            t.kind == "corrective",
        )
    });
    chart
        .draw_series(
            marks
                .clone()
                .filter(|m| !m.2)
                .map(|(x, y, _)| Circle::new((x, y - 0.42), 3, PREDICTED.filled())),
        )
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(
            marks
                .filter(|m| m.2)
                .map(|(x, y, _)| Cross::new((x, y - 0.42), 4, BLACK.stroke_width(2))),
        )
        .map_err(|e| e.to_string())?;
    Ok(())
}
