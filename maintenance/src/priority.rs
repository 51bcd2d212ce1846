//! A ticket's priority from how bad the finding is, how soon the asset is predicted to fail and
//! how much its failure costs; and the red-alert rule for the few that cannot wait for a planner.

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
    /// Predicted hours to failure, when known.
    pub hours_to_failure: Option<f64>,
    /// The asset's criticality.
    pub criticality: Criticality,
}

/// Hours to failure within which a critical asset's ticket is a red alert.
pub const RED_ALERT_HOURS: f64 = 24.0;

impl Urgency {
    /// Points: severity 0–3, failure within a day +2 or within three days +1, criticality −1 / 0
    /// / +1; P1 from 4, P2 at 3, P3 from 1, else P4. So a critical finding on a critical asset, or
    /// a high one due within a day, is P1; a medium one due in two days on an ordinary asset P3.
    pub fn priority(&self) -> Priority {
        let severity = match self.severity {
            Severity::Low => 0,
            Severity::Medium => 1,
            Severity::High => 2,
            Severity::Critical => 3,
        };
        let soon = match self.hours_to_failure {
            Some(h) if h <= 24.0 => 2,
            Some(h) if h <= 72.0 => 1,
            _ => 0,
        };
        let criticality = match self.criticality {
            Criticality::Low => -1,
            Criticality::Medium => 0,
            Criticality::High => 1,
        };
        match severity + soon + criticality {
            4.. => Priority::P1,
            3 => Priority::P2,
            1..=2 => Priority::P3,
            _ => Priority::P4,
        }
    }

    /// A high-criticality asset with a critical finding or a predicted failure within
    /// [`RED_ALERT_HOURS`]: the ticket cannot wait for approval.
    pub fn red_alert(&self) -> bool {
        self.criticality == Criticality::High
            && (self.severity == Severity::Critical
                || self.hours_to_failure.is_some_and(|h| h <= RED_ALERT_HOURS))
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
    fn priority_rises_with_severity_urgency_and_criticality() {
        use Criticality as C;
        use Severity as S;
        assert_eq!(u(S::Critical, None, C::High).priority(), Priority::P1);
        assert_eq!(u(S::Medium, Some(48.0), C::Medium).priority(), Priority::P3);
        assert_eq!(u(S::Medium, Some(12.0), C::Medium).priority(), Priority::P2);
        assert_eq!(u(S::High, Some(12.0), C::High).priority(), Priority::P1);
        assert_eq!(u(S::Low, None, C::Low).priority(), Priority::P4);
        // Sooner or more critical never lowers the priority.
        for s in [S::Low, S::Medium, S::High, S::Critical] {
            for c in [C::Low, C::Medium, C::High] {
                let far = u(s, None, c).priority();
                let near = u(s, Some(10.0), c).priority();
                assert!(near <= far, "{s:?} {c:?}");
            }
        }
        assert!(u(S::Critical, None, C::High).red_alert());
        assert!(u(S::Medium, Some(20.0), C::High).red_alert());
        assert!(!u(S::Critical, Some(1.0), C::Medium).red_alert());
        assert_eq!(Priority::parse("p2"), Some(Priority::P2));
    }
}
