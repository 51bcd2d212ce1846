//! Rejected messages in the log, rate-limited: the first of each reason is logged at once with
//! its topic and explanation, later ones at most once per [`EVERY`] with how many came since.
//! A misconfigured device publishing ten times a second must not bury the log, and one that
//! sends a bad message a day must still be seen. Every rejection is in the dead-letter log and
//! counted in `/metrics` whatever is logged here.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use forewarn_domain::Rejection;

/// Least time between two log lines of one reason.
pub(crate) const EVERY: Duration = Duration::from_secs(10);

/// The last line logged per reason and the rejections not logged since.
#[derive(Debug, Default)]
pub(crate) struct RejectLog {
    reasons: HashMap<&'static str, (Instant, u64)>,
}

impl RejectLog {
    /// Logs `r` unless a line of its reason went out less than [`EVERY`] before `now`; returns
    /// whether it was logged.
    pub(crate) fn note(&mut self, r: &Rejection, now: Instant) -> bool {
        let reason = r.reason.as_str();
        match self.reasons.get_mut(reason) {
            Some((last, quiet)) if now.duration_since(*last) < EVERY => {
                *quiet += 1;
                false
            }
            entry => {
                let suppressed = entry.map_or(0, |(_, quiet)| *quiet);
                tracing::warn!(
                    topic = %r.topic,
                    reason,
                    detail = %r.detail,
                    more_since_last_line = suppressed,
                    "message rejected (kept in the dead-letter log)"
                );
                self.reasons.insert(reason, (now, 0));
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use forewarn_domain::RejectReason;

    use super::*;

    fn rejection(reason: RejectReason) -> Rejection {
        Rejection {
            topic: "forewarn/a/pump-1/telemetry".into(),
            reason,
            detail: "bad".into(),
            received_at_ms: 0,
            payload_excerpt: String::new(),
        }
    }

    #[test]
    fn first_of_each_reason_then_one_line_per_interval() {
        let mut log = RejectLog::default();
        let t0 = Instant::now();
        let json = rejection(RejectReason::MalformedJson);
        assert!(log.note(&json, t0));
        assert!(!log.note(&json, t0 + Duration::from_secs(1)));
        assert!(!log.note(&json, t0 + Duration::from_secs(9)));
        // Another reason is not held back by the first.
        assert!(log.note(
            &rejection(RejectReason::UnknownAsset),
            t0 + Duration::from_secs(2)
        ));
        assert!(log.note(&json, t0 + EVERY));
        assert_eq!(log.reasons["malformed_json"].1, 0, "the count restarts");
    }
}
