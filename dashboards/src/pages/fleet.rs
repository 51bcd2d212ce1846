//! The fleet page: every asset's health state and remaining life by site, KPIs, parts short.

use askama::Template;

use super::Chrome;

/// An asset's state on the fleet page, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HealthState {
    /// Failing soon, or an urgent ticket: act now.
    Act,
    /// A sensor misreads: the instrument needs attention, the machine's state is uncertain.
    Fault,
    /// Deviating, silent, wearing, or a ticket of lower priority: keep an eye on it.
    Watch,
    /// Within its normal.
    Ok,
}

/// What the state is judged from.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HealthInputs {
    /// Sensors misreading now.
    pub faulty_sensors: usize,
    /// Sensors deviating from their baseline now.
    pub deviating_sensors: usize,
    /// The fused health index (1 healthy, 0 at the failure level), once judged.
    pub index: Option<f64>,
    /// Estimated hours to failure, when a trend gives one.
    pub hours_to_failure: Option<f64>,
    /// An open ticket of priority P1/P2 or a red alert.
    pub urgent_ticket: bool,
    /// Any open machine ticket.
    pub open_ticket: bool,
    /// An open instrumentation ticket.
    pub instrument_ticket: bool,
    /// No data for longer than usual.
    pub stale: bool,
}

/// Failing within this many hours is "act now": three days is what a planner needs to get a
/// technician and parts there.
pub const ACT_WITHIN_H: f64 = 72.0;
/// A health index below this is "act now" whatever the trend says.
pub const ACT_BELOW_INDEX: f64 = 0.2;
/// A health index below this is "watch".
pub const WATCH_BELOW_INDEX: f64 = 0.6;

/// Orders rows most urgent first: state (act now first), then the soonest failure, then id.
pub fn by_urgency(rows: &mut [FleetRow]) {
    rows.sort_by(|a, b| {
        a.state_rank
            .cmp(&b.state_rank)
            .then(a.rul_sort.total_cmp(&b.rul_sort))
            .then(a.health_sort.total_cmp(&b.health_sort))
            .then_with(|| a.id.cmp(&b.id))
    });
}

impl HealthState {
    /// Judges an asset. A machine about to fail outranks a misreading sensor, which outranks
    /// early signs.
    pub fn judge(i: &HealthInputs) -> Self {
        if i.urgent_ticket
            || i.hours_to_failure.is_some_and(|h| h < ACT_WITHIN_H)
            || i.index.is_some_and(|x| x < ACT_BELOW_INDEX)
        {
            HealthState::Act
        } else if i.faulty_sensors > 0 || i.instrument_ticket {
            HealthState::Fault
        } else if i.deviating_sensors > 0
            || i.open_ticket
            || i.stale
            || i.index.is_some_and(|x| x < WATCH_BELOW_INDEX)
        {
            HealthState::Watch
        } else {
            HealthState::Ok
        }
    }

    /// The name used in CSS classes, filters and translation keys.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Act => "act",
            HealthState::Fault => "fault",
            HealthState::Watch => "watch",
            HealthState::Ok => "ok",
        }
    }
}

/// How many assets are in each state.
#[derive(Debug, Clone, Copy, Default)]
pub struct StateCounts {
    /// Act now.
    pub act: usize,
    /// Sensor fault.
    pub fault: usize,
    /// Watch.
    pub watch: usize,
    /// Ok.
    pub ok: usize,
}

impl StateCounts {
    /// Counts one more asset in `s`.
    pub fn add(&mut self, s: HealthState) {
        match s {
            HealthState::Act => self.act += 1,
            HealthState::Fault => self.fault += 1,
            HealthState::Watch => self.watch += 1,
            HealthState::Ok => self.ok += 1,
        }
    }
}

/// One KPI tile.
#[derive(Debug, Clone)]
pub struct KpiTile {
    /// Label, translated.
    pub label: String,
    /// Value, formatted (`–` when unknown).
    pub value: String,
    /// What it means, translated (tooltip).
    pub hint: String,
}

/// One asset row.
#[derive(Debug, Clone)]
pub struct FleetRow {
    /// Asset id.
    pub id: String,
    /// Its site.
    pub site: String,
    /// Catalog type.
    pub asset_type: String,
    /// State name (`act`, `fault`, `watch`, `ok`).
    pub state: &'static str,
    /// Sort rank of the state (worst first).
    pub state_rank: u8,
    /// State, translated.
    pub state_label: String,
    /// Health index as a percentage, or `–`.
    pub health: String,
    /// Sort value of the health (-1 when unknown).
    pub health_sort: f64,
    /// Remaining life, e.g. `36 h (20–60 h)`, or `–`.
    pub rul: String,
    /// Sort value of the remaining life, hours (very large when unknown).
    pub rul_sort: f64,
    /// Why it is in its state, in a few words.
    pub why: String,
    /// Open tickets.
    pub open_tickets: usize,
    /// The most urgent open ticket: id and priority.
    pub top_ticket: Option<(i64, String)>,
    /// Last reading, formatted.
    pub last_seen: String,
    /// Last reading, ms (sorting).
    pub last_seen_ms: i64,
}

/// A part short somewhere.
#[derive(Debug, Clone)]
pub struct ShortPart {
    /// Part number and description.
    pub part: String,
    /// Warehouse (or `requisitioned`).
    pub place: String,
    /// Available units.
    pub available: String,
    /// Reorder point.
    pub reorder_point: String,
    /// Units requisitioned and not yet arrived.
    pub outstanding: i64,
}

/// The fleet page.
#[derive(Debug, Clone, Template)]
#[template(path = "fleet.html")]
pub struct FleetPage {
    /// Frame.
    pub chrome: Chrome,
    /// Assets per state.
    pub counts: StateCounts,
    /// Ticket KPIs.
    pub kpis: Vec<KpiTile>,
    /// Assets, most urgent first: state, then time to failure.
    pub assets: Vec<FleetRow>,
    /// Number of assets.
    pub total: usize,
    /// Parts short.
    pub parts_short: Vec<ShortPart>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_judged_worst_first() {
        let ok = HealthInputs {
            index: Some(0.9),
            ..HealthInputs::default()
        };
        assert_eq!(HealthState::judge(&ok), HealthState::Ok);
        let watch = HealthInputs {
            deviating_sensors: 1,
            ..ok
        };
        assert_eq!(HealthState::judge(&watch), HealthState::Watch);
        assert_eq!(
            HealthState::judge(&HealthInputs { stale: true, ..ok }),
            HealthState::Watch
        );
        let fault = HealthInputs {
            faulty_sensors: 1,
            ..watch
        };
        assert_eq!(HealthState::judge(&fault), HealthState::Fault);
        let act = HealthInputs {
            hours_to_failure: Some(30.0),
            ..fault
        };
        assert_eq!(HealthState::judge(&act), HealthState::Act);
        assert_eq!(
            HealthState::judge(&HealthInputs {
                index: Some(0.1),
                ..ok
            }),
            HealthState::Act
        );
        assert_eq!(
            HealthState::judge(&HealthInputs {
                urgent_ticket: true,
                ..ok
            }),
            HealthState::Act
        );
        // A long way off is not urgent.
        assert_eq!(
            HealthState::judge(&HealthInputs {
                hours_to_failure: Some(400.0),
                deviating_sensors: 1,
                ..ok
            }),
            HealthState::Watch
        );
    }
}
