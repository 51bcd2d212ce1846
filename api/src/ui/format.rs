//! Formatting the pages share: times, SLA countdowns, remaining life, a finding's explanation.

use chrono::{DateTime, TimeZone, Utc};
use forewarn_dashboards::{DeviationView, Tr};
use forewarn_domain::{Catalog, Direction, Finding, TimeToFailure};
use forewarn_maintenance::sla::{ClockState, SlaClock};
use forewarn_maintenance::{SlaStatus, Ticket};

/// A moment in ms as `2026-11-24 18:05 UTC` (empty when out of range).
pub(crate) fn when_ms(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// An RFC 3339 time as `2026-11-24 18:05 UTC` (as given when it does not parse).
pub(crate) fn when(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| when_ms(t.timestamp_millis()))
        .unwrap_or_else(|_| rfc3339.to_owned())
}

/// What the machine is doing, and at which set point: `running, set point 2 of 3 since …`.
pub(crate) fn operating(tr: Tr, h: &forewarn_domain::AssetHealth) -> String {
    use forewarn_domain::OperatingState as O;
    let state = h.operating.map(|o| match o {
        O::Running => tr.t("operating.running").to_owned(),
        O::Stopped { since_ms } => tr.t("operating.stopped").replace("{}", &when_ms(since_ms)),
        O::Starting { since_ms } => tr.t("operating.starting").replace("{}", &when_ms(since_ms)),
    });
    // The set point it runs at: `set point 2 of 3 since …`.
    let point = h.operating_point.map(|p| {
        tr.t("operating.point")
            .replacen("{}", &p.point.to_string(), 1)
            .replacen("{}", &p.of.to_string(), 1)
            .replacen("{}", &when_ms(p.since_ms), 1)
    });
    state
        .into_iter()
        .chain(point)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Remaining life with its interval: `36 h (20–60 h)`.
pub(crate) fn rul(tr: Tr, t: &TimeToFailure) -> String {
    match t.high {
        Some(high) => format!(
            "{} ({}–{})",
            tr.hours(t.hours),
            tr.hours(t.low),
            tr.hours(high)
        ),
        None => format!("{} (≥ {})", tr.hours(t.hours), tr.hours(t.low)),
    }
}

/// A ticket's estimate on its card: `time to failure 36 h (20–60 h), as of 05-12 14:00` (the
/// device time of the finding that gave it).
pub(crate) fn ttf_text(tr: Tr, e: &forewarn_maintenance::Estimate) -> String {
    let t = TimeToFailure {
        hours: e.hours,
        low: e.low,
        high: e.high,
    };
    format!(
        "{} {}, {} {}",
        tr.t("card.ttf"),
        rul(tr, &t),
        tr.t("card.as_of"),
        when_ms(e.at_ms)
    )
}

/// A failure mode by its catalog name in the page's language (its id when the catalog does not
/// know it: a mode removed since the ticket opened).
pub(crate) fn mode_name(catalog: &Catalog, tr: Tr, id: &str) -> String {
    catalog
        .mode_name(id, tr.lang.code())
        .unwrap_or(id)
        .to_owned()
}

/// A ticket's title in the page's language (the stored one is English): `Bearing wear
/// predicted on pump-0001`.
pub(crate) fn ticket_title(catalog: &Catalog, tr: Tr, t: &Ticket) -> String {
    format!(
        "{} {} {}",
        mode_name(catalog, tr, &t.failure_mode),
        tr.t("ticket.title_on"),
        t.asset_id
    )
}

/// The clock that matters now (response until work starts, then resolution) as a CSS state
/// (`ok`, `warning`, `breached`) and a countdown; empty for finished tickets.
pub(crate) fn sla_now(tr: Tr, sla: Option<&SlaStatus>, now_ms: i64) -> (String, String) {
    let Some(sla) = sla else {
        return (String::new(), String::new());
    };
    let (key, clock) = if sla.response.stopped_at_ms.is_none() {
        ("sla.response", &sla.response)
    } else {
        ("sla.resolution", &sla.resolution)
    };
    if clock.stopped_at_ms.is_some() {
        return (String::new(), String::new());
    }
    let (state, text) = clock_text(tr, clock, now_ms);
    (state, format!("{} {text}", tr.t(key)))
}

/// One clock: state and `due in 3.5 h` / `overdue by 2 h` / `met` / `missed` / `paused`.
pub(crate) fn clock_text(tr: Tr, c: &SlaClock, now_ms: i64) -> (String, String) {
    let left = c.due_at_ms - now_ms;
    let state = match c.state {
        ClockState::Breached | ClockState::Missed => "breached",
        ClockState::Warning => "warning",
        ClockState::Running | ClockState::Paused | ClockState::Met | ClockState::Cancelled => "ok",
    };
    let text = match c.state {
        ClockState::Met => tr.t("sla.met").to_owned(),
        ClockState::Missed => tr.t("sla.missed").to_owned(),
        ClockState::Cancelled => "–".to_owned(),
        ClockState::Paused => format!("{} · {}", tr.t("sla.paused"), when_ms(c.due_at_ms)),
        _ if left >= 0 => format!("{} {}", tr.t("sla.due_in"), tr.span_ms(left)),
        _ => format!("{} {}", tr.t("sla.overdue_by"), tr.span_ms(-left)),
    };
    (state.to_owned(), text)
}

/// The finding a ticket was opened from (its evidence), when it parses.
pub(crate) fn finding_of(t: &Ticket) -> Option<Finding> {
    serde_json::from_value(t.evidence.clone()).ok()
}

/// A finding's sensors, furthest from normal first.
pub(crate) fn deviations(tr: Tr, f: &Finding) -> Vec<DeviationView> {
    let mut ds: Vec<_> = f.deviations.iter().collect();
    ds.sort_by(|a, b| b.score.abs().total_cmp(&a.score.abs()));
    ds.into_iter()
        .map(|d| DeviationView {
            sensor: d.sensor.to_string(),
            distance: format!(
                "{} {:.1} σ",
                if d.direction == Direction::Up {
                    "↑"
                } else {
                    "↓"
                },
                d.score.abs()
            ),
            value: number(d.value),
            baseline: number(d.baseline),
            rul: d
                .time_to_failure_h
                .as_ref()
                .map(|t| rul(tr, t))
                .unwrap_or_else(|| "–".into()),
        })
        .chain(f.sensor_faults.iter().map(|s| DeviationView {
            sensor: s.sensor.to_string(),
            distance: tr.t(&format!("fault.{}", s.fault.as_str())).to_owned(),
            value: number(s.value),
            baseline: "–".into(),
            rul: "–".into(),
        }))
        .collect()
}

/// One sentence explaining a finding: which sensors, how far, what the joint model says.
pub(crate) fn summary(tr: Tr, f: &Finding) -> String {
    let mut parts = Vec::new();
    if !f.deviations.is_empty() {
        let names: Vec<String> = f
            .deviations
            .iter()
            .map(|d| {
                format!(
                    "{} {}{:.1}σ",
                    d.sensor,
                    if d.direction == Direction::Up {
                        "↑"
                    } else {
                        "↓"
                    },
                    d.score.abs()
                )
            })
            .collect();
        parts.push(format!(
            "{}: {}",
            tr.t("finding.deviating"),
            names.join(", ")
        ));
    }
    if !f.sensor_faults.is_empty() {
        let names: Vec<String> = f
            .sensor_faults
            .iter()
            .map(|s| {
                format!(
                    "{} ({})",
                    s.sensor,
                    tr.t(&format!("fault.{}", s.fault.as_str()))
                )
            })
            .collect();
        parts.push(format!(
            "{}: {}",
            tr.t("finding.misreading"),
            names.join(", ")
        ));
    }
    if let Some(j) = &f.joint {
        let drivers: Vec<String> = j
            .drivers
            .iter()
            .map(|(s, share)| format!("{s} {:.0} %", share * 100.0))
            .collect();
        parts.push(format!(
            "{} {:.1} ({})",
            tr.t("finding.joint"),
            j.score,
            drivers.join(", ")
        ));
    }
    if let Some(h) = &f.health {
        parts.push(format!(
            "{} {:.0} % ({})",
            tr.t("finding.health"),
            h.index * 100.0,
            h.limiting_sensor
        ));
        if let Some(l) = h.levels {
            parts.push(levels(tr, l));
        }
    }
    parts.join(" · ")
}
/// Which failure levels a remaining-life estimate extrapolated to: the catalog's, or a
/// version re-learnt from the fleet's repairs.
fn levels(tr: Tr, l: forewarn_domain::LevelsVersion) -> String {
    if l.version == 0 {
        return format!("{} {}", tr.t("finding.levels"), tr.t("levels.catalog"));
    }
    format!(
        "{} v{} ({} {}, {} {})",
        tr.t("finding.levels"),
        l.version,
        l.failures,
        tr.t("levels.failures"),
        l.repairs,
        tr.t("levels.repairs")
    )
}

/// `(3.0× normal 2.4)` far above a positive normal, else `(−22 % vs normal 40.1)`, or
/// `(normal 0.0)` when the normal is zero.
pub(crate) fn versus_normal(tr: Tr, value: f64, normal: f64) -> String {
    let word = tr.t("why.normal");
    if normal.abs() < 1e-9 {
        return format!(" ({word} {})", number(normal));
    }
    let ratio = value / normal;
    if normal > 0.0 && ratio >= 1.5 {
        format!(" ({ratio:.1}× {word} {})", number(normal))
    } else {
        let pct = (ratio - 1.0) * 100.0;
        format!(
            " ({}{:.0} % {} {word} {})",
            if pct < 0.0 { "−" } else { "+" },
            pct.abs(),
            tr.t("why.vs"),
            number(normal)
        )
    }
}

/// A reading with as many decimals as its size asks for.
pub(crate) fn number(v: f64) -> String {
    match v.abs() {
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        a if a >= 1.0 => format!("{v:.2}"),
        _ => format!("{v:.3}"),
    }
}
