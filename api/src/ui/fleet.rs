//! `GET /`: the fleet page. One question to each source — open tickets, KPIs, the store's
//! latest points, the detectors' fleet health, low stock and open requisitions — then a pure
//! judgement per asset, so a thousand assets render in one pass.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use forewarn_dashboards::{
    FleetPage, FleetRow, HealthInputs, HealthState, KpiTile, ShortPart, StateCounts, Tr, by_urgency,
};
use forewarn_domain::{
    AssetHealth, AssetType, Catalog, Direction, FailureMode, ModeKind, SensorHealth, SensorState,
};
use forewarn_maintenance::{Kpis, Priority, Ticket, TicketFilter};

use super::Session;
use super::format::{number, rul, versus_normal, when_ms};
use super::tickets::prio;
use crate::AppState;
use crate::assets::ask_fleet_health;

/// An asset silent this long (relative to the fleet's newest reading: the simulator may run on
/// a fast-forwarded clock) is stale.
const STALE_MS: i64 = 3 * 3_600_000;
/// Most open tickets the page looks at.
const MAX_TICKETS: u32 = 10_000;

/// `GET /`.
pub(crate) async fn page(State(s): State<AppState>, session: Session) -> Response {
    session.respond(build(&s, &session).await)
}

async fn build(s: &AppState, session: &Session) -> Result<FleetPage, crate::ApiError> {
    let tr = session.tr;
    let filter = TicketFilter {
        open_only: true,
        limit: MAX_TICKETS,
        ..TicketFilter::default()
    };
    let (tickets, kpis, latest, low, requisitions) = tokio::join!(
        s.db.find_tickets(&filter),
        s.db.kpis(),
        s.store.latest_all(),
        s.db.stock(None, None, true),
        s.db.requisitions(None, Some("open")),
    );
    let (tickets, kpis, latest, low, requisitions) =
        (tickets?, kpis?, latest?, low?, requisitions?);
    // While the detectors replay history at start, the page still shows tickets and data.
    let health: HashMap<String, AssetHealth> = ask_fleet_health(s)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|h| (h.asset.to_string(), h))
        .collect();
    let mut open: HashMap<&str, Vec<&Ticket>> = HashMap::new();
    for t in &tickets {
        open.entry(t.asset_id.as_str()).or_default().push(t);
    }
    let newest = latest
        .values()
        .flat_map(|l| l.iter().map(|p| p.ts_ms))
        .max()
        .unwrap_or(0);
    let mut counts = StateCounts::default();
    let mut rows: Vec<FleetRow> = Vec::new();
    let assets = s.store.assets();
    let total = assets.len();
    for a in assets {
        let last = latest
            .get(&a.id)
            .and_then(|l| l.iter().map(|p| p.ts_ms).max());
        let h = health.get(a.id.as_str());
        let tickets = open.get(a.id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        let is_instrument = |t: &Ticket| {
            s.catalog
                .asset_type(&a.asset_type)
                .and_then(|ty| {
                    ty.failure_modes
                        .iter()
                        .find(|m| m.id.as_str() == t.failure_mode)
                })
                .is_some_and(|m| m.kind == ModeKind::Instrumentation)
        };
        let count = |st: SensorState| {
            h.map(|h| h.sensors.iter().filter(|x| x.state == st).count())
                .unwrap_or(0)
        };
        let index = h.and_then(|h| h.health.as_ref());
        let ttf = index.and_then(|i| i.time_to_failure_h.as_ref());
        let ty = s.catalog.asset_type(&a.asset_type);
        let inputs = HealthInputs {
            faulty_sensors: count(SensorState::Faulty),
            deviating_sensors: count(SensorState::Deviating),
            index: index.map(|i| i.index),
            hours_to_failure: ttf.map(|t| t.hours),
            urgent_ticket: tickets.iter().any(|t| {
                !is_instrument(t)
                    && (t.red_alert || matches!(t.priority, Priority::P1 | Priority::P2))
            }),
            open_ticket: tickets.iter().any(|t| !is_instrument(t)),
            instrument_ticket: tickets.iter().any(|t| is_instrument(t)),
            stale: last.is_none_or(|t| newest - t > STALE_MS),
        };
        let state = HealthState::judge(&inputs);
        counts.add(state);
        let top = tickets.iter().min_by_key(|t| (t.priority, t.id));
        let row = FleetRow {
            id: a.id.to_string(),
            site: a.site.to_string(),
            asset_type: a.asset_type.to_string(),
            state: state.as_str(),
            state_rank: state as u8,
            state_label: tr.state(state.as_str()),
            health: index
                .map(|i| format!("{:.0} %", i.index * 100.0))
                .unwrap_or_else(|| "–".into()),
            health_sort: index.map(|i| i.index).unwrap_or(-1.0),
            rul: ttf.map(|t| rul(tr, t)).unwrap_or_else(|| "–".into()),
            rul_sort: ttf.map(|t| t.hours).unwrap_or(1e9),
            why: why(
                tr,
                &Context {
                    catalog: &s.catalog,
                    ty,
                    ticket_modes: tickets.iter().map(|t| t.failure_mode.as_str()).collect(),
                    lang: tr.lang.code(),
                },
                &inputs,
                h,
                newest,
                last,
            ),
            open_tickets: tickets.len(),
            top_ticket: top.map(|t| (t.id, prio(t.priority))),
            last_seen: last.map(when_ms).unwrap_or_else(|| "–".into()),
            last_seen_ms: last.unwrap_or(0),
        };
        rows.push(row);
    }
    by_urgency(&mut rows);
    let mut outstanding: HashMap<&str, i64> = HashMap::new();
    for r in &requisitions {
        *outstanding.entry(r.part_number.as_str()).or_default() += r.outstanding;
    }
    let mut parts_short: Vec<ShortPart> = low
        .iter()
        .map(|l| ShortPart {
            part: l.part_number.clone(),
            place: l.warehouse_id.clone(),
            available: l.available.to_string(),
            reorder_point: l.reorder_point.to_string(),
            outstanding: outstanding.remove(l.part_number.as_str()).unwrap_or(0),
        })
        .collect();
    // Parts requisitioned that no warehouse lists as low (none stocked at all).
    let mut rest: Vec<_> = outstanding.into_iter().collect();
    rest.sort();
    parts_short.extend(rest.into_iter().map(|(part, n)| ShortPart {
        part: part.to_owned(),
        place: tr.t("fleet.requisitioned").to_owned(),
        available: "0".into(),
        reorder_point: "–".into(),
        outstanding: n,
    }));
    Ok(FleetPage {
        chrome: session.chrome("fleet", tr.t("fleet.title")).live(30),
        counts,
        kpis: kpi_tiles(tr, &kpis),
        assets: rows,
        total,
        parts_short,
    })
}

/// What `why` needs besides the asset's health.
struct Context<'a> {
    catalog: &'a Catalog,
    ty: Option<&'a AssetType>,
    /// Failure modes of the asset's open tickets.
    ticket_modes: Vec<&'a str>,
    /// The page's language code, for the catalog's names.
    lang: &'static str,
}

/// In words, why an asset is in its state: sensors misreading, then the likely failure mode by
/// its catalog name with the evidence in the sensors' own units ("Impeller wear likely: flow
/// 31.2 m³/h (−22 % vs normal 40.1)"), silence, learning. Nothing for an asset within its normal.
fn why(
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

fn kpi_tiles(tr: Tr, k: &Kpis) -> Vec<KpiTile> {
    let pct = |v: Option<f64>| {
        v.map(|v| format!("{:.0} %", v * 100.0))
            .unwrap_or_else(|| "–".into())
    };
    let hours = |v: Option<f64>| v.map(|h| tr.hours(h)).unwrap_or_else(|| "–".into());
    let tile = |key: &str, value: String| KpiTile {
        label: tr.t(&format!("kpi.{key}")).to_owned(),
        value,
        hint: tr.t(&format!("kpi.{key}.hint")).to_owned(),
    };
    vec![
        tile("open_tickets", k.open_tickets.to_string()),
        tile("sla_response", pct(k.sla_response_compliance)),
        tile("sla_resolution", pct(k.sla_resolution_compliance)),
        tile("mttr", hours(k.mttr_h)),
        tile("prediction_lead", hours(k.prediction_lead_h)),
        tile("false_alarm_rate", pct(k.false_alarm_rate)),
    ]
}
