//! `GET /`: the fleet page. One question to each source — open tickets, KPIs, the store's
//! latest points, the detectors' fleet health, low stock and open requisitions — then a pure
//! judgement per asset, so a thousand assets render in one pass.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use forewarn_dashboards::{
    FleetPage, FleetRow, HealthInputs, HealthState, KpiTile, ShortPart, StateCounts, Tr, by_urgency,
};
use forewarn_domain::{Asset, AssetHealth, ModeKind, SensorState};
use forewarn_maintenance::parts::{Requisition, StockLevel};
use forewarn_maintenance::{Kpis, Priority, Ticket, TicketFilter};

use super::Session;
use super::format::{rul, when_ms};
use super::tickets::prio;
use crate::AppState;
use crate::assets::ask_fleet_health;

mod why;

use why::{Context, why};

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
    let assets = s.store.assets();
    let total = assets.len();
    let mut rows: Vec<FleetRow> = Vec::new();
    for a in &assets {
        let last = latest
            .get(&a.id)
            .and_then(|l| l.iter().map(|p| p.ts_ms).max());
        let seen = Seen { newest, last };
        let tickets = open.get(a.id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        let (state, row) = asset_row(s, tr, a, health.get(a.id.as_str()), tickets, seen);
        counts.add(state);
        rows.push(row);
    }
    by_urgency(&mut rows);
    Ok(FleetPage {
        chrome: session.chrome("fleet", tr.t("fleet.title")).live(30),
        counts,
        kpis: kpi_tiles(tr, &kpis),
        assets: rows,
        total,
        parts_short: parts_short(tr, &low, &requisitions),
    })
}

/// When the asset was last heard from, against the fleet's newest reading.
#[derive(Debug, Clone, Copy)]
struct Seen {
    newest: i64,
    last: Option<i64>,
}

/// What the judgement of an asset's state weighs: its sensors, health, remaining life and
/// open tickets (instrument tickets apart), and whether it has gone silent.
fn judge_inputs(
    s: &AppState,
    a: &Asset,
    h: Option<&AssetHealth>,
    tickets: &[&Ticket],
    seen: Seen,
) -> HealthInputs {
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
    HealthInputs {
        faulty_sensors: count(SensorState::Faulty),
        deviating_sensors: count(SensorState::Deviating),
        index: index.map(|i| i.index),
        hours_to_failure: index
            .and_then(|i| i.time_to_failure_h.as_ref())
            .map(|t| t.hours),
        urgent_ticket: tickets.iter().any(|t| {
            !is_instrument(t) && (t.red_alert || matches!(t.priority, Priority::P1 | Priority::P2))
        }),
        open_ticket: tickets.iter().any(|t| !is_instrument(t)),
        instrument_ticket: tickets.iter().any(|t| is_instrument(t)),
        stale: seen.last.is_none_or(|t| seen.newest - t > STALE_MS),
    }
}

/// One asset's row and the state it is judged in.
fn asset_row(
    s: &AppState,
    tr: Tr,
    a: &Asset,
    h: Option<&AssetHealth>,
    tickets: &[&Ticket],
    seen: Seen,
) -> (HealthState, FleetRow) {
    let inputs = judge_inputs(s, a, h, tickets, seen);
    let state = HealthState::judge(&inputs);
    let index = h.and_then(|h| h.health.as_ref());
    let ttf = index.and_then(|i| i.time_to_failure_h.as_ref());
    let context = Context {
        catalog: &s.catalog,
        ty: s.catalog.asset_type(&a.asset_type),
        ticket_modes: tickets.iter().map(|t| t.failure_mode.as_str()).collect(),
        lang: tr.lang.code(),
    };
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
        why: why(tr, &context, &inputs, h, seen.newest, seen.last),
        open_tickets: tickets.len(),
        top_ticket: top.map(|t| (t.id, prio(t.priority))),
        last_seen: seen.last.map(when_ms).unwrap_or_else(|| "–".into()),
        last_seen_ms: seen.last.unwrap_or(0),
    };
    (state, row)
}

/// Parts below their reorder point, with what is requisitioned, then parts requisitioned that
/// no warehouse lists as low (none stocked at all).
fn parts_short(tr: Tr, low: &[StockLevel], requisitions: &[Requisition]) -> Vec<ShortPart> {
    let mut outstanding: HashMap<&str, i64> = HashMap::new();
    for r in requisitions {
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
    let mut rest: Vec<_> = outstanding.into_iter().collect();
    rest.sort();
    parts_short.extend(rest.into_iter().map(|(part, n)| ShortPart {
        part: part.to_owned(),
        place: tr.t("fleet.requisitioned").to_owned(),
        available: "0".into(),
        reorder_point: "–".into(),
        outstanding: n,
    }));
    parts_short
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
