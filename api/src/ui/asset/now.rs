//! The asset page's "now": its state judged from health and tickets, each sensor's reading
//! against its normal, and the health forecast chart.

use forewarn_dashboards::chart::{Eta, Forecast, forecast_svg};
use forewarn_dashboards::{HealthInputs, HealthState, SensorNow, Tr};
use forewarn_domain::{AssetHealth, AssetId, AssetType, HealthIndex, SensorHealth, SensorState};
use forewarn_maintenance::{Priority, Ticket};

use super::HEALTH_HISTORY_MIN_MS;
use super::history;
use crate::ui::format::when_ms;
use crate::{ApiError, AppState};

/// The asset's state from its sensors, its health index and its open tickets.
pub(super) fn judge(health: Option<&AssetHealth>, open: &[&Ticket]) -> HealthState {
    let index = health.and_then(|h| h.health.as_ref());
    let count =
        |st: SensorState| health.map_or(0, |h| h.sensors.iter().filter(|x| x.state == st).count());
    HealthState::judge(&HealthInputs {
        faulty_sensors: count(SensorState::Faulty),
        deviating_sensors: count(SensorState::Deviating),
        index: index.map(|i| i.index),
        hours_to_failure: index
            .and_then(|i| i.time_to_failure_h.as_ref())
            .map(|t| t.hours),
        urgent_ticket: open
            .iter()
            .any(|t| t.red_alert || matches!(t.priority, Priority::P1 | Priority::P2)),
        open_ticket: !open.is_empty(),
        instrument_ticket: false,
        stale: false,
    })
}

/// Each judged sensor now: its state, value in its unit, score and what last happened to it.
pub(super) fn sensors_now(
    tr: Tr,
    ty: Option<&AssetType>,
    health: Option<&AssetHealth>,
) -> Vec<SensorNow> {
    health
        .iter()
        .flat_map(|h| &h.sensors)
        .map(|x| sensor_now(tr, ty, x))
        .collect()
}

fn sensor_now(tr: Tr, ty: Option<&AssetType>, x: &SensorHealth) -> SensorNow {
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
    let change = |c: forewarn_domain::AbruptChange| {
        format!(
            "{} {}",
            tr.t(&format!("change.{}", c.kind.as_str())),
            when_ms(c.at_ms)
        )
    };
    SensorNow {
        sensor: x.sensor.to_string(),
        state: css,
        state_label: tr.t(key).to_owned(),
        value: format!("{:.2} {unit}", x.value),
        score: format!("{:+.1} σ", x.score),
        note: x
            .fault
            .map(|f| tr.t(&format!("fault.{}", f.as_str())).to_owned())
            .or_else(|| x.last_change.map(change))
            .unwrap_or_default(),
    }
}

/// The health index's past over `span` (at least two days) and its forecast to failure.
pub(super) async fn health_chart(
    s: &AppState,
    tr: Tr,
    id: &AssetId,
    ty: Option<&AssetType>,
    health: (&AssetHealth, &HealthIndex),
    to: i64,
    span: i64,
) -> Result<String, ApiError> {
    let (h, i) = health;
    let levels = ty.map(|t| t.failure_levels()).unwrap_or_default();
    let span = span.max(HEALTH_HISTORY_MIN_MS);
    let past = history::health_history(s, id, &levels, h, to, span).await?;
    forecast_svg(&Forecast {
        title: tr.t("asset.health_chart"),
        index: i.index,
        past: &past,
        eta: i.time_to_failure_h.map(|t| Eta {
            hours: t.hours,
            low: t.low,
            high: t.high,
        }),
        hours_label: tr.t("asset.hours_from_now"),
        size: (480, 220),
    })
    .map_err(ApiError::unavailable)
}
