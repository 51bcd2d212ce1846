//! SVG charts drawn by plotters: a sensor over time (raw points, or min–max bands with the mean
//! when the range is far), its baseline and anomaly marks; and an asset's health with its
//! remaining-life forecast and confidence band. Colours are from the Okabe–Ito palette, and
//! marks differ by dash as well as colour.

use chrono::{TimeZone, Utc};
use plotters::prelude::*;

/// Axis and legend text size in SVG units. Charts are drawn 480–760 units wide and shown about
/// 500 px wide on a desktop, so 14 units read as 11–12 px (12 came out near 9 px: too small).
const LABEL_PX: u32 = 14;

/// One downsampled bucket: start, smallest, mean, largest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    /// Bucket start, ms.
    pub ts: i64,
    /// Smallest value.
    pub min: f64,
    /// Mean value.
    pub mean: f64,
    /// Largest value.
    pub max: f64,
}

/// A sensor's data over a range.
#[derive(Debug, Clone, Default)]
pub struct SeriesChart<'a> {
    /// Accessible name of the chart (the sensor, what is shown).
    pub title: &'a str,
    /// Range start, ms.
    pub from_ms: i64,
    /// Range end, ms.
    pub to_ms: i64,
    /// Raw points (drawn as a line), when the range is close.
    pub points: &'a [(i64, f64)],
    /// Buckets (band + mean line), when the range is far.
    pub bands: &'a [Band],
    /// Width of a bucket, ms (gaps longer than three buckets break the band).
    pub step_ms: i64,
    /// The healthy baseline, drawn dashed.
    pub baseline: Option<f64>,
    /// Moments to mark (detections, abrupt changes), drawn as vertical lines.
    pub marks: &'a [i64],
    /// Repairs of the asset (device time), drawn as solid vertical lines: from there on the
    /// sensor has a new normal.
    pub repairs: &'a [i64],
    /// Legend of the baseline and of the marks (empty: no legend).
    pub legend: (&'a str, &'a str),
    /// Pixel size.
    pub size: (u32, u32),
}

/// The health chart: how the index has gone (`past`), where it is now, and — when a sensor is
/// trending towards its failure level — when it reaches 0, with the interval as a band.
#[derive(Debug, Clone, Copy)]
pub struct Forecast<'a> {
    /// Accessible name of the chart.
    pub title: &'a str,
    /// Health index now, 0 (failure level) to 1 (at baseline).
    pub index: f64,
    /// Earlier values: hours relative to now (negative), index. Gaps of more than three
    /// times the typical spacing are drawn as gaps.
    pub past: &'a [(f64, f64)],
    /// When the index reaches 0, if it is heading there.
    pub eta: Option<Eta>,
    /// Axis label of the hours axis.
    pub hours_label: &'a str,
    /// Pixel size.
    pub size: (u32, u32),
}

/// Hours until the health index reaches 0, with a 90 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Eta {
    /// Estimate.
    pub hours: f64,
    /// Early end of the interval.
    pub low: f64,
    /// Late end of the interval (none: open-ended).
    pub high: Option<f64>,
}

/// A chart that could not be drawn (a plotters error, as text).
#[derive(Debug, thiserror::Error)]
#[error("chart: {0}")]
pub struct ChartError(String);

fn err<E: std::fmt::Debug>(e: E) -> ChartError {
    ChartError(format!("{e:?}"))
}

/// The charts' colours (Okabe–Ito), checked for contrast and colour-blind separation in
/// `colour_tests.rs`.
pub(crate) mod colours {
    use plotters::style::RGBColor;
    /// The mean line, or the raw line when close.
    pub const MEAN: RGBColor = RGBColor(0x00, 0x72, 0xb2);
    /// The min–max band behind the mean.
    pub const BAND: RGBColor = RGBColor(0x56, 0xb4, 0xe9);
    /// The sensor's learnt baseline.
    pub const BASELINE: RGBColor = RGBColor(0x00, 0x9e, 0x73);
    /// Detections and anomaly marks.
    pub const MARK: RGBColor = RGBColor(0xd5, 0x5e, 0x00);
    /// Repairs (solid, where marks are dotted).
    pub const REPAIR: RGBColor = RGBColor(0x22, 0x22, 0x22);
    /// Grid lines.
    pub const GRID: RGBColor = RGBColor(0xee, 0xf0, 0xf3);
}
use colours::{BAND, BASELINE, GRID, MARK, MEAN, REPAIR};

/// Draws a sensor chart as an SVG document.
pub fn series_svg(c: &SeriesChart<'_>) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, c.size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw_series(&root, c, None)?;
        root.present().map_err(err)?;
    }
    Ok(titled(svg, c.title))
}

/// Draws several sensor charts stacked in one SVG document, each captioned with its title:
/// what a ticket links to, so its evidence is one image.
pub fn panels_svg(title: &str, panels: &[SeriesChart<'_>]) -> Result<String, ChartError> {
    let width = panels.iter().map(|p| p.size.0).max().unwrap_or(640);
    let height: u32 = panels.iter().map(|p| p.size.1).sum::<u32>().max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut rest = root.clone();
        for p in panels {
            let (area, below) = rest.split_vertically(p.size.1);
            draw_series(&area, p, Some(p.title))?;
            rest = below;
        }
        root.present().map_err(err)?;
    }
    Ok(titled(svg, title))
}

fn draw_series(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    c: &SeriesChart<'_>,
    caption: Option<&str>,
) -> Result<(), ChartError> {
    let (lo, hi) = y_range(c);
    let span = (c.to_ms - c.from_ms).max(1);
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(6)
        .x_label_area_size(28)
        .y_label_area_size(60);
    if let Some(text) = caption {
        builder.caption(text, ("sans-serif", LABEL_PX));
    }
    let mut chart = builder
        .build_cartesian_2d(c.from_ms..c.to_ms.max(c.from_ms + 1), lo..hi)
        .map_err(err)?;
    let time = |t: &i64| time_label(*t, span);
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&time)
        .y_label_formatter(&|v| short_number(*v))
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .label_style(("sans-serif", LABEL_PX))
        .draw()
        .map_err(err)?;
    for run in runs(c.bands, c.step_ms) {
        let mut outline: Vec<(i64, f64)> = run.iter().map(|b| (b.ts, b.max)).collect();
        outline.extend(run.iter().rev().map(|b| (b.ts, b.min)));
        chart
            .draw_series(std::iter::once(Polygon::new(
                outline,
                BAND.mix(0.35).filled(),
            )))
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                run.iter().map(|b| (b.ts, b.mean)),
                MEAN.stroke_width(2),
            ))
            .map_err(err)?;
    }
    if !c.points.is_empty() {
        chart
            .draw_series(LineSeries::new(
                c.points.iter().copied(),
                MEAN.stroke_width(2),
            ))
            .map_err(err)?;
    }
    let mut legend = false;
    if let Some(b) = c.baseline {
        let series = chart
            .draw_series(DashedLineSeries::new(
                [(c.from_ms, b), (c.to_ms, b)],
                6,
                4,
                BASELINE.stroke_width(2),
            ))
            .map_err(err)?;
        if !c.legend.0.is_empty() {
            series
                .label(c.legend.0)
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BASELINE.stroke_width(2)));
            legend = true;
        }
    }
    let marks: Vec<i64> = c
        .marks
        .iter()
        .copied()
        .filter(|m| (c.from_ms..=c.to_ms).contains(m))
        .collect();
    for (i, &m) in marks.iter().enumerate() {
        let series = chart
            .draw_series(DashedLineSeries::new(
                [(m, lo), (m, hi)],
                3,
                3,
                MARK.stroke_width(2),
            ))
            .map_err(err)?;
        if i == 0 && !c.legend.1.is_empty() {
            series.label(c.legend.1).legend(|(x, y)| {
                PathElement::new([(x + 8, y - 6), (x + 8, y + 6)], MARK.stroke_width(2))
            });
            legend = true;
        }
    }
    for &r in c
        .repairs
        .iter()
        .filter(|r| (c.from_ms..=c.to_ms).contains(*r))
    {
        chart
            .draw_series(LineSeries::new([(r, lo), (r, hi)], REPAIR.stroke_width(2)))
            .map_err(err)?;
    }
    if legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(GRID)
            .label_font(("sans-serif", LABEL_PX))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// Draws the health forecast: the index now, the estimated path to 0 and the interval.
pub fn forecast_svg(f: &Forecast<'_>) -> Result<String, ChartError> {
    let index = f.index.clamp(0.0, 1.0);
    let start = f.past.iter().map(|p| p.0).fold(0.0_f64, f64::min);
    // The future gets at least a fifth of the width, so "now" is never on the right edge.
    let end = match f.eta {
        Some(e) => e.high.unwrap_or(e.hours * 2.0).max(e.hours).max(1.0) * 1.1,
        None => 0.0,
    }
    .max(-start * 0.25)
    .max(1.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, f.size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(6)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(start..end, 0.0..1.05)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .y_labels(5)
            .x_desc(f.hours_label)
            .x_label_formatter(&|h| format!("{h:.0}"))
            .y_label_formatter(&|v| format!("{v:.1}"))
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .label_style(("sans-serif", LABEL_PX))
            .draw()
            .map_err(err)?;
        // Now: a thin vertical rule.
        chart
            .draw_series(std::iter::once(PathElement::new(
                [(0.0, 0.0), (0.0, 1.05)],
                GRID.mix(1.0).stroke_width(2),
            )))
            .map_err(err)?;
        let past: Vec<(f64, f64)> = f
            .past
            .iter()
            .filter(|p| p.0 <= 0.0 && p.1.is_finite())
            .map(|&(h, i)| (h, i.clamp(0.0, 1.0)))
            .chain(std::iter::once((0.0, index)))
            .collect();
        let spacing = typical_spacing(&past);
        for run in past.chunk_by(|a, b| b.0 - a.0 <= spacing * 3.0) {
            chart
                .draw_series(LineSeries::new(run.iter().copied(), MEAN.stroke_width(2)))
                .map_err(err)?;
        }
        if let Some(e) = f.eta {
            let late = e.high.unwrap_or(end);
            chart
                .draw_series(std::iter::once(Polygon::new(
                    vec![(0.0, index), (e.low.max(0.0), 0.0), (late, 0.0)],
                    BAND.mix(0.35).filled(),
                )))
                .map_err(err)?;
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, index), (e.hours.max(0.0), 0.0)],
                    8,
                    4,
                    MEAN.stroke_width(3),
                ))
                .map_err(err)?;
        }
        chart
            .draw_series(std::iter::once(Circle::new((0.0, index), 5, MARK.filled())))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(titled(svg, f.title))
}

/// The median step between consecutive points (1 when there are fewer than two).
fn typical_spacing(points: &[(f64, f64)]) -> f64 {
    let mut steps: Vec<f64> = points.windows(2).map(|w| w[1].0 - w[0].0).collect();
    if steps.is_empty() {
        return 1.0;
    }
    steps.sort_by(f64::total_cmp);
    steps[steps.len() / 2].max(1e-9)
}

/// Consecutive buckets without a gap of more than three steps: a gap is shown as a gap.
fn runs(bands: &[Band], step_ms: i64) -> Vec<&[Band]> {
    let gap = step_ms.max(1) * 3;
    bands
        .chunk_by(|a, b| b.ts - a.ts <= gap)
        .filter(|r| !r.is_empty())
        .collect()
}

fn y_range(c: &SeriesChart<'_>) -> (f64, f64) {
    let values = c
        .points
        .iter()
        .map(|p| p.1)
        .chain(c.bands.iter().flat_map(|b| [b.min, b.max]))
        .chain(c.baseline)
        .filter(|v| v.is_finite());
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(hi.abs().max(1.0) * 1e-3);
    (lo - pad, hi + pad)
}

fn time_label(ms: i64, span_ms: i64) -> String {
    let Some(t) = Utc.timestamp_millis_opt(ms).single() else {
        return String::new();
    };
    if span_ms <= 36 * 3_600_000 {
        t.format("%H:%M").to_string()
    } else if span_ms <= 5 * 24 * 3_600_000 {
        t.format("%m-%d %H:%M").to_string()
    } else {
        t.format("%m-%d").to_string()
    }
}

fn short_number(v: f64) -> String {
    let a = v.abs();
    if a >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// Gives the SVG an accessible name (`role="img"` and a `<title>`).
fn titled(svg: String, title: &str) -> String {
    let svg = svg.trim_end().to_owned();
    let escaped = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    match svg
        .find("<svg")
        .and_then(|s| svg[s..].find('>').map(|e| s + e))
    {
        Some(end) => format!(
            "{} role=\"img\" aria-label=\"{escaped}\">\n<title>{escaped}</title>{}",
            &svg[..end],
            &svg[end + 1..]
        ),
        None => svg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_and_banded_charts_are_svg_with_a_title() {
        let points: Vec<(i64, f64)> = (0..3600).map(|i| (i * 1000, (i as f64).sin())).collect();
        let svg = series_svg(&SeriesChart {
            title: "vibration <rms>",
            from_ms: 0,
            to_ms: 3_600_000,
            points: &points,
            baseline: Some(0.1),
            marks: &[1_800_000],
            size: (640, 220),
            ..SeriesChart::default()
        })
        .unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains("<title>vibration &lt;rms&gt;</title>"));
        assert!(svg.contains("role=\"img\""));
        // A gap of a day splits the band in two polygons.
        let bands: Vec<Band> = (0..100)
            .chain(200..300)
            .map(|i| Band {
                ts: i * 600_000,
                min: 1.0,
                mean: 2.0,
                max: 3.0,
            })
            .collect();
        let svg = series_svg(&SeriesChart {
            title: "t",
            from_ms: 0,
            to_ms: 300 * 600_000,
            bands: &bands,
            step_ms: 600_000,
            size: (640, 220),
            ..SeriesChart::default()
        })
        .unwrap();
        assert_eq!(svg.matches("<polygon").count(), 2, "{svg}");
    }

    #[test]
    fn panels_stack_one_chart_per_sensor() {
        let bands = [Band {
            ts: 0,
            min: 1.0,
            mean: 2.0,
            max: 3.0,
        }];
        let panel = |title| SeriesChart {
            title,
            from_ms: 0,
            to_ms: 600_000,
            bands: &bands,
            step_ms: 60_000,
            size: (640, 180),
            ..SeriesChart::default()
        };
        let svg = panels_svg("pump-1", &[panel("flow (m³/h)"), panel("speed (rpm)")]).unwrap();
        assert!(svg.contains("height=\"360\""), "{svg}");
        assert!(svg.contains("flow (m³/h)") && svg.contains("speed (rpm)"));
    }

    #[test]
    fn an_empty_chart_still_draws() {
        let svg = series_svg(&SeriesChart {
            title: "nothing",
            from_ms: 10,
            to_ms: 10,
            size: (300, 150),
            ..SeriesChart::default()
        })
        .unwrap();
        assert!(svg.contains("</svg>"));
    }

    #[test]
    fn forecast_draws_band_and_estimate() {
        let past: Vec<(f64, f64)> = (1..=48)
            .rev()
            .map(|h| (-(h as f64), 0.4 + 0.01 * h as f64))
            .collect();
        let svg = forecast_svg(&Forecast {
            title: "health",
            index: 0.4,
            past: &past,
            eta: Some(Eta {
                hours: 30.0,
                low: 20.0,
                high: Some(55.0),
            }),
            hours_label: "hours from now",
            size: (480, 220),
        })
        .unwrap();
        assert!(svg.contains("<polygon"));
        assert!(svg.contains("hours from now"));
        // Past hours are on the axis, left of now.
        assert!(svg.contains("\n-40\n") || svg.contains("\n-30\n"), "{svg}");
    }

    #[test]
    fn health_without_a_forecast_shows_its_history_only() {
        // Hourly, with a gap of a day (the asset was off): two runs, no band.
        let past: Vec<(f64, f64)> = (-72..=-49)
            .chain(-24..0)
            .map(|h| (f64::from(h), 0.95))
            .collect();
        let svg = forecast_svg(&Forecast {
            title: "health",
            index: 0.97,
            past: &past,
            eta: None,
            hours_label: "hours from now",
            size: (480, 220),
        })
        .unwrap();
        assert!(!svg.contains("<polygon"), "no interval without a forecast");
        let history = svg
            .matches(r##"stroke="#0072B2" stroke-width="2""##)
            .count();
        assert_eq!(history, 2, "the gap is kept: {svg}");
    }
}
