//! Service levels: per priority, how soon work must start (response) and how soon the fault must
//! be fixed (resolution); whether time waiting for parts counts; when to warn. Evaluated from a
//! ticket's audit log and a given "now", without a database or a clock, so every
//! time-dependent rule is tested with chosen times ([`evaluate`]); the sweeper
//! (`sla/sweep.rs`) turns warnings and breaches into events and escalations.

pub(crate) mod sweep;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Priority, TicketStatus};

/// Response and resolution times of one priority.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SlaTimes {
    /// From opening to the start of work.
    pub response: Duration,
    /// From opening to the fault fixed (resolved), less paused time.
    pub resolution: Duration,
}

/// The service levels of all priorities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaPolicy {
    /// P1 … P4.
    pub times: [SlaTimes; 4],
    /// Whether the resolution clock stops while the ticket waits for parts.
    pub pause_waiting_parts: bool,
    /// Share of the allowed time after which a warning is raised (0–1).
    pub warn_at: f64,
}

impl Default for SlaPolicy {
    /// P1 2 h / 8 h, P2 4 h / 24 h, P3 1 d / 3 d, P4 3 d / 7 d; waiting for parts pauses; warn
    /// at 80 %.
    fn default() -> Self {
        let h = |n: u64| Duration::from_secs(n * 3600);
        Self {
            times: [
                SlaTimes {
                    response: h(2),
                    resolution: h(8),
                },
                SlaTimes {
                    response: h(4),
                    resolution: h(24),
                },
                SlaTimes {
                    response: h(24),
                    resolution: h(72),
                },
                SlaTimes {
                    response: h(72),
                    resolution: h(168),
                },
            ],
            pause_waiting_parts: true,
            warn_at: 0.8,
        }
    }
}

impl SlaPolicy {
    /// The times of a priority.
    pub fn of(&self, p: Priority) -> SlaTimes {
        self.times[p.rank() as usize - 1]
    }
}

/// Where one clock (response or resolution) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    /// Running, within the warning share.
    Running,
    /// Stopped while the ticket waits for parts.
    Paused,
    /// Running, past the warning share.
    Warning,
    /// Running, past due.
    Breached,
    /// Stopped in time.
    Met,
    /// Stopped late.
    Missed,
    /// The ticket was cancelled: no service was owed.
    Cancelled,
}

/// One clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlaClock {
    /// When it is (or was) due, ms since the epoch (paused time moves it later).
    pub due_at_ms: i64,
    /// When it stopped (work started, resp. resolved), if it did.
    pub stopped_at_ms: Option<i64>,
    /// Share of the allowed time used (may exceed 1).
    pub used: f64,
    /// Its state.
    pub state: ClockState,
}

/// A ticket's service level now.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlaStatus {
    /// The priority whose times apply.
    pub priority: Priority,
    /// Time to start work.
    pub response: SlaClock,
    /// Time to fix, less paused time.
    pub resolution: SlaClock,
    /// Time spent waiting for parts that did not count, ms.
    pub paused_ms: i64,
}

/// A status change at a time (from the audit log).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// The status entered.
    pub to: TicketStatus,
}

/// The service level of a ticket opened at `opened_ms` with `priority`, whose status changes
/// (oldest first, the opening included or not) are `steps`, as of `now_ms`.
///
/// Response stops at the first start of work. Resolution stops at the last resolution if the
/// ticket is finished now (a reopened ticket's clock runs again from where it was); time in
/// `waiting_parts` is added to its due time when the policy pauses for parts.
pub fn evaluate(
    policy: &SlaPolicy,
    priority: Priority,
    opened_ms: i64,
    steps: &[Step],
    now_ms: i64,
) -> SlaStatus {
    let times = policy.of(priority);
    let current = steps.last().map_or(TicketStatus::New, |s| s.to);
    let cancelled = current == TicketStatus::Cancelled;
    let response_stop = steps
        .iter()
        .find(|s| s.to == TicketStatus::InProgress)
        .map(|s| s.at_ms);
    let resolution_stop = if current.is_open() || cancelled {
        None
    } else {
        steps
            .iter()
            .rev()
            .find(|s| s.to == TicketStatus::Resolved)
            .map(|s| s.at_ms)
    };
    let until = resolution_stop.unwrap_or(now_ms);
    let mut paused_ms = 0;
    if policy.pause_waiting_parts {
        let mut since: Option<i64> = None;
        for s in steps {
            if s.at_ms > until {
                break;
            }
            match (since, s.to == TicketStatus::WaitingParts) {
                (None, true) => since = Some(s.at_ms),
                (Some(from), false) => {
                    paused_ms += s.at_ms - from;
                    since = None;
                }
                _ => {}
            }
        }
        if let Some(from) = since {
            paused_ms += until - from;
        }
    }
    let paused_now = policy.pause_waiting_parts && current == TicketStatus::WaitingParts;
    let clock = |allowed: Duration, stop: Option<i64>, paused: i64, is_paused: bool| {
        let allowed_ms = allowed.as_millis() as i64;
        let due_at_ms = opened_ms + allowed_ms + paused;
        let used_ms = stop.unwrap_or(now_ms) - opened_ms - paused;
        let used = used_ms as f64 / allowed_ms.max(1) as f64;
        let state = match stop {
            _ if cancelled && stop.is_none() => ClockState::Cancelled,
            Some(at) if at <= due_at_ms => ClockState::Met,
            Some(_) => ClockState::Missed,
            None if used >= 1.0 => ClockState::Breached,
            None if is_paused => ClockState::Paused,
            None if used >= policy.warn_at => ClockState::Warning,
            None => ClockState::Running,
        };
        SlaClock {
            due_at_ms,
            stopped_at_ms: stop,
            used,
            state,
        }
    };
    SlaStatus {
        priority,
        response: clock(times.response, response_stop, 0, false),
        resolution: clock(times.resolution, resolution_stop, paused_ms, paused_now),
        paused_ms,
    }
}

#[cfg(test)]
#[path = "sla/tests.rs"]
mod tests;

#[cfg(test)]
#[path = "sla/sweep_tests.rs"]
mod sweep_tests;
