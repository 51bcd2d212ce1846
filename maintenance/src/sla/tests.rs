//! Service-level clocks at chosen times: warnings, breaches, pauses for parts, met and missed,
//! reopening, cancellation.

use super::*;
use TicketStatus::*;

const H: i64 = 3_600_000;
const T0: i64 = 1_780_000_000_000;

fn step(h: f64, to: TicketStatus) -> Step {
    Step {
        at_ms: T0 + (h * H as f64) as i64,
        to,
    }
}

fn at(steps: &[Step], now_h: f64) -> SlaStatus {
    // P3: respond within 24 h, resolve within 72 h.
    evaluate(
        &SlaPolicy::default(),
        Priority::P3,
        T0,
        steps,
        T0 + (now_h * H as f64) as i64,
    )
}

#[test]
fn clocks_warn_then_breach() {
    let opened = [step(0.0, New)];
    let s = at(&opened, 10.0);
    assert_eq!(
        (s.response.state, s.resolution.state),
        (ClockState::Running, ClockState::Running)
    );
    assert_eq!(s.response.due_at_ms, T0 + 24 * H);
    let s = at(&opened, 20.0);
    assert_eq!(
        s.response.state,
        ClockState::Warning,
        "20 h of 24 is past 80 %"
    );
    let s = at(&opened, 25.0);
    assert_eq!(s.response.state, ClockState::Breached);
    assert!((s.response.used - 25.0 / 24.0).abs() < 1e-9);
    assert_eq!(at(&opened, 58.0).resolution.state, ClockState::Warning);
    assert_eq!(at(&opened, 73.0).resolution.state, ClockState::Breached);
}

#[test]
fn waiting_for_parts_pauses_resolution_not_response() {
    let steps = [
        step(0.0, New),
        step(1.0, Assigned),
        step(2.0, InProgress),
        step(3.0, WaitingParts),
    ];
    // 50 h later the ticket still waits: resolution paused, not breached; response was met.
    let s = at(&steps, 53.0);
    assert_eq!(s.response.state, ClockState::Met);
    assert_eq!(s.response.stopped_at_ms, Some(T0 + 2 * H));
    assert_eq!(s.resolution.state, ClockState::Paused);
    assert_eq!(s.paused_ms, 50 * H);
    assert_eq!(s.resolution.due_at_ms, T0 + 122 * H);
    // Parts arrive at 80 h: 3 h counted before, now running again; 80 % of 72 h is 57.6 h.
    let mut steps = steps.to_vec();
    steps.push(step(80.0, InProgress));
    let s = at(&steps, 100.0);
    assert_eq!(s.paused_ms, 77 * H);
    assert_eq!(s.resolution.state, ClockState::Running);
    let s = at(&steps, 77.0 + 60.0);
    assert_eq!(s.resolution.state, ClockState::Warning);
    // Resolved at 140 h: 63 h counted, met.
    steps.push(step(140.0, Resolved));
    let s = at(&steps, 500.0);
    assert_eq!(s.resolution.state, ClockState::Met);
    assert_eq!(s.resolution.stopped_at_ms, Some(T0 + 140 * H));

    // Without pausing, the same history missed its resolution.
    let policy = SlaPolicy {
        pause_waiting_parts: false,
        ..SlaPolicy::default()
    };
    let s = evaluate(&policy, Priority::P3, T0, &steps, T0 + 500 * H);
    assert_eq!((s.resolution.state, s.paused_ms), (ClockState::Missed, 0));
}

#[test]
fn a_breach_while_paused_stays_a_breach_and_reopening_runs_again() {
    let steps = [
        step(0.0, New),
        step(1.0, Assigned),
        step(2.0, InProgress),
        step(74.0, WaitingParts),
    ];
    assert_eq!(at(&steps, 80.0).resolution.state, ClockState::Breached);
    let steps = [
        step(0.0, New),
        step(1.0, Assigned),
        step(2.0, InProgress),
        step(10.0, Resolved),
        step(12.0, Closed),
        step(30.0, Reopened),
    ];
    let s = at(&steps, 40.0);
    assert_eq!(
        (s.resolution.state, s.resolution.stopped_at_ms),
        (ClockState::Running, None)
    );
    assert_eq!(at(&steps[..5], 40.0).resolution.state, ClockState::Met);
}

#[test]
fn cancelled_tickets_owe_nothing_and_priorities_differ() {
    let steps = [step(0.0, New), step(1.0, Cancelled)];
    let s = at(&steps, 500.0);
    assert_eq!(
        (s.response.state, s.resolution.state),
        (ClockState::Cancelled, ClockState::Cancelled)
    );
    let p1 = evaluate(
        &SlaPolicy::default(),
        Priority::P1,
        T0,
        &[step(0.0, New)],
        T0 + 3 * H,
    );
    assert_eq!(
        p1.response.state,
        ClockState::Breached,
        "P1 responds within 2 h"
    );
    assert_eq!(Priority::P3.escalated(), Priority::P2);
    assert_eq!(Priority::P1.escalated(), Priority::P1);
}
