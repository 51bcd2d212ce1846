//! The fleet page's "why", in words: sensors misreading, the likely failure mode by its catalog
//! name with the evidence in the sensors' own units, silence, learning.

use forewarn_dashboards::{HealthInputs, Tr};
use forewarn_domain::{
    AssetHealth, AssetType, Catalog, Direction, FailureMode, ModeKind, SensorHealth, SensorState,
};

use crate::ui::format::{number, versus_normal};

/// What `why` needs besides the asset's health.
pub(super) struct Context<'a> {
    pub catalog: &'a Catalog,
    pub ty: Option<&'a AssetType>,
    /// Failure modes of the asset's open tickets.
    pub ticket_modes: Vec<&'a str>,
    /// The page's language code, for the catalog's names.
    pub lang: &'static str,
}

/// In words, why an asset is in its state: sensors misreading, then the likely failure mode by
/// its catalog name with the evidence in the sensors' own units ("Impeller wear likely: flow
/// 31.2 m³/h (−22 % vs normal 40.1)"), silence, learning. Nothing for an asset within its normal.
pub(super) fn why(
    tr: Tr,
    cx: &Context<'_>,
    i: &HealthInputs,
    h: Option<&AssetHealth>,
    newest: i64,
    last: Option<i64>,
) -> String {
    let mut out = Vec::new();
    if let Some(h) = h {
        for x in h.sensors.iter().filter(|x| x.state == SensorState::Faulty) {
            let fault = x
                .fault
                .map(|f| tr.t(&format!("fault.{}", f.as_str())).to_owned());
            out.push(format!("{} {}", x.sensor, fault.unwrap_or_default()));
        }
        let deviating: Vec<&SensorHealth> = h
            .sensors
            .iter()
            .filter(|x| x.state == SensorState::Deviating)
            .collect();
        if !deviating.is_empty() {
            out.push(machine_why(tr, cx, &deviating));
        }
        if out.is_empty() && h.sensors.iter().any(|x| x.state == SensorState::Warming) {
            out.push(tr.t("why.learning").to_owned());
        }
    }
    if i.stale {
        out.push(match last {
            Some(t) => format!("{} {}", tr.t("why.silent_for"), tr.span_ms(newest - t)),
            None => tr.t("why.no_data").to_owned(),
        });
    }
    if i.open_ticket && out.is_empty() {
        out.push(tr.t("why.open_ticket").to_owned());
    }
    out.join("; ")
}

/// The likely failure mode and the deviating sensors' evidence.
fn machine_why(tr: Tr, cx: &Context<'_>, deviating: &[&SensorHealth]) -> String {
    let evidence: Vec<String> = deviating
        .iter()
        .map(|x| {
            let unit = cx
                .ty
                .and_then(|ty| ty.sensors.get(&x.sensor))
                .map_or("", |spec| spec.unit.as_str());
            let vs = x
                .baseline
                .map(|b| versus_normal(tr, x.value, b))
                .unwrap_or_default();
            format!("{} {} {unit}{vs}", x.sensor, number(x.value))
        })
        .collect();
    match likely_mode(cx, deviating) {
        Some(name) => format!("{name} {}: {}", tr.t("why.likely"), evidence.join(", ")),
        None => evidence.join(", "),
    }
}

/// The mode of an open machine ticket, else the machine mode whose whole signature the
/// deviations show (the largest such signature): its name in the page's language.
fn likely_mode<'a>(cx: &Context<'a>, deviating: &[&SensorHealth]) -> Option<&'a str> {
    let ty = cx.ty?;
    let machine = |m: &&FailureMode| m.kind == ModeKind::Machine;
    let from_ticket = ty
        .failure_modes
        .iter()
        .filter(machine)
        .find(|m| cx.ticket_modes.contains(&m.id.as_str()));
    let shown = || {
        ty.failure_modes
            .iter()
            .filter(machine)
            .filter(|m| {
                !m.signature.is_empty()
                    && m.signature.iter().all(|(sensor, dir)| {
                        deviating.iter().any(|x| {
                            &x.sensor == sensor && (x.score > 0.0) == (*dir == Direction::Up)
                        })
                    })
            })
            .max_by_key(|m| m.signature.len())
    };
    let mode = from_ticket.or_else(shown)?;
    cx.catalog.mode_name(mode.id.as_str(), cx.lang)
}
