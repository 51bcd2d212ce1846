//! A ticket's priority from how soon the asset may fail (or, without an estimate, how bad the
//! finding is) and how much its failure costs; and the red-alert rule for the few that cannot wait for a planner.

use forewarn_domain::{Criticality, Severity};
use serde::{Deserialize, Serialize};

/// Work order priority, P1 first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Now.
    P1,
    /// This shift.
    P2,
    /// This week.
    P3,
    /// When convenient.
    P4,
}

impl Priority {
    /// The name stored in SQL and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P1 => "p1",
            Priority::P2 => "p2",
            Priority::P3 => "p3",
            Priority::P4 => "p4",
        }
    }

    /// 1 (P1) to 4 (P4).
    pub fn rank(self) -> u8 {
        match self {
            Priority::P1 => 1,
            Priority::P2 => 2,
            Priority::P3 => 3,
            Priority::P4 => 4,
        }
    }

    /// One step more urgent (P1 stays P1): a breached service level's escalation.
    pub fn escalated(self) -> Self {
        match self {
            Priority::P1 | Priority::P2 => Priority::P1,
            Priority::P3 => Priority::P2,
            Priority::P4 => Priority::P3,
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Priority::P1, Priority::P2, Priority::P3, Priority::P4]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// What the priority is computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Urgency {
    /// The finding's severity.
    pub severity: Severity,
    /// The earliest plausible failure: the low end (5th percentile) of the remaining-life
    /// interval, in hours, when there is an estimate.
    pub hours_to_failure: Option<f64>,
    /// The asset's criticality.
    pub criticality: Criticality,
}

/// Hours to failure within which a critical asset's ticket is a red alert.
pub const RED_ALERT_HOURS: f64 = 24.0;

impl Urgency {
    /// Points for how soon the asset may fail — 4 within 12 h, 3 within two days, 2 within five,
    /// 1 within two weeks, else 0 — plus −1 / 0 / +1 for the asset's criticality; P1 from 4, P2
    /// at 3, P3 at 2, else P4. Severity (how many σ) counts only without an estimate: scores grow
    /// large long before failure, so by severity nearly every machine ticket was P1 and the
    /// priorities ordered nothing.
    pub fn priority(&self) -> Priority {
        let criticality = match self.criticality {
            Criticality::Low => -1,
            Criticality::Medium => 0,
            Criticality::High => 1,
        };
        let Some(h) = self.hours_to_failure else {
            // Without an estimate, by severity: 0–3 with criticality, P1 from 4, P2 at 3, P3
            // from 1, else P4.
            let severity = self.severity as i32;
            return match severity + criticality {
                4.. => Priority::P1,
                3 => Priority::P2,
                1..=2 => Priority::P3,
                _ => Priority::P4,
            };
        };
        let soon = match h {
            h if h <= 12.0 => 4,
            h if h <= 48.0 => 3,
            h if h <= 120.0 => 2,
            h if h <= 336.0 => 1,
            _ => 0,
        };
        match soon + criticality {
            4.. => Priority::P1,
            3 => Priority::P2,
            2 => Priority::P3,
            _ => Priority::P4,
        }
    }

    /// A high-criticality asset that may fail within [`RED_ALERT_HOURS`] (or, without an
    /// estimate, with a critical finding): the ticket cannot wait for approval.
    pub fn red_alert(&self) -> bool {
        self.criticality == Criticality::High
            && match self.hours_to_failure {
                Some(h) => h <= RED_ALERT_HOURS,
                None => self.severity == Severity::Critical,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(severity: Severity, hours: Option<f64>, criticality: Criticality) -> Urgency {
        Urgency {
            severity,
            hours_to_failure: hours,
            criticality,
        }
    }

    #[test]
    fn priority_rises_as_failure_nears_and_with_criticality() {
        use Criticality as C;
        use Severity as S;
        assert_eq!(u(S::Critical, None, C::High).priority(), Priority::P1);
        assert_eq!(
            u(S::Critical, Some(200.0), C::Medium).priority(),
            Priority::P4
        );
        assert_eq!(
            u(S::Critical, Some(80.0), C::Medium).priority(),
            Priority::P3
        );
        assert_eq!(u(S::Medium, Some(30.0), C::Medium).priority(), Priority::P2);
        assert_eq!(u(S::Medium, Some(6.0), C::Medium).priority(), Priority::P1);
        assert_eq!(u(S::High, Some(30.0), C::High).priority(), Priority::P1);
        assert_eq!(u(S::Low, None, C::Low).priority(), Priority::P4);
        // Sooner or more critical never lowers the priority.
        for s in [S::Low, S::Medium, S::High, S::Critical] {
            for c in [C::Low, C::Medium, C::High] {
                let mut last = Priority::P4;
                for h in [1000.0, 300.0, 100.0, 40.0, 10.0, 1.0] {
                    let p = u(s, Some(h), c).priority();
                    assert!(p <= last, "{s:?} {c:?} {h}");
                    last = p;
                }
            }
        }
        assert!(u(S::Critical, None, C::High).red_alert());
        assert!(u(S::Medium, Some(20.0), C::High).red_alert());
        assert!(!u(S::Critical, Some(100.0), C::High).red_alert());
        assert!(!u(S::Critical, Some(1.0), C::Medium).red_alert());
        assert_eq!(Priority::parse("p2"), Some(Priority::P2));
    }

    #[test]
    fn a_fleet_of_estimates_spreads_over_the_priorities() {
        let mut seen = std::collections::BTreeSet::new();
        for h in [2.0, 10.0, 20.0, 40.0, 60.0, 90.0, 150.0, 250.0, 400.0] {
            seen.insert(u(Severity::Critical, Some(h), Criticality::Medium).priority());
        }
        assert_eq!(seen.len(), 4, "{seen:?}");
    }
}
