//! What the service is running without right now: a dependency that failed and is being
//! retried, the reason, and since when. Set by the stage that depends on it, read by `/readyz`
//! (words) and mirrored into `/metrics` (`forewarn_degraded{dependency}` and
//! `forewarn_dependency_failures_total{dependency}`, see [`crate::Metrics::degrade`]).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

/// A dependency the service keeps running without, for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dependency {
    /// The tickets database (SQLite or PostgreSQL): findings wait in a durable queue.
    TicketsDatabase,
    /// The InfluxDB mirror: readings wait in its backlog.
    InfluxdbMirror,
    /// Free space in the data directory: ingest stops acknowledging until there is some.
    DiskSpace,
    /// The telemetry store's writes (a failed append or flush, retried).
    TelemetryStore,
}

impl Dependency {
    /// Every dependency, for zeroed metrics from the start.
    pub const ALL: [Dependency; 4] = [
        Dependency::TicketsDatabase,
        Dependency::InfluxdbMirror,
        Dependency::DiskSpace,
        Dependency::TelemetryStore,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Dependency::TicketsDatabase => "tickets_database",
            Dependency::InfluxdbMirror => "influxdb_mirror",
            Dependency::DiskSpace => "disk_space",
            Dependency::TelemetryStore => "telemetry_store",
        }
    }

    /// Whether the service still takes data while this one is down: the mirror's backlog and
    /// the findings queue absorb an outage; a full disk or a failing store do not.
    pub fn blocks_ingest(self) -> bool {
        matches!(self, Dependency::DiskSpace | Dependency::TelemetryStore)
    }
}

/// One degradation going on.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Degraded {
    /// What is down.
    pub dependency: Dependency,
    /// The last error, in words.
    pub reason: String,
    /// Since when (wall clock, ms since the epoch): an operator's time, not an asset's.
    pub since_ms: i64,
}

/// The degradations going on, shared between the stages that set them and the API.
#[derive(Debug, Default)]
pub struct Degradations(Mutex<BTreeMap<Dependency, Degraded>>);

impl Degradations {
    /// Records `dependency` as down because of `reason`; true when it was up until now (a new
    /// fault, to be counted once).
    pub fn set(&self, dependency: Dependency, reason: &str, now_ms: i64) -> bool {
        let Ok(mut map) = self.0.lock() else {
            return false;
        };
        match map.get_mut(&dependency) {
            Some(d) => {
                d.reason = reason.to_owned();
                false
            }
            None => {
                map.insert(
                    dependency,
                    Degraded {
                        dependency,
                        reason: reason.to_owned(),
                        since_ms: now_ms,
                    },
                );
                true
            }
        }
    }

    /// Records `dependency` as back; true when it was down.
    pub fn clear(&self, dependency: Dependency) -> bool {
        self.0
            .lock()
            .map(|mut m| m.remove(&dependency).is_some())
            .unwrap_or(false)
    }

    /// What is down now, in a stable order.
    pub fn list(&self) -> Vec<Degraded> {
        self.0
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether `dependency` is down now.
    pub fn is_down(&self, dependency: Dependency) -> bool {
        self.0
            .lock()
            .map(|m| m.contains_key(&dependency))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_is_new_once_and_clears_once() {
        let d = Degradations::default();
        assert!(d.set(Dependency::TicketsDatabase, "connection refused", 1));
        assert!(!d.set(Dependency::TicketsDatabase, "pool timed out", 2));
        let now = d.list();
        assert_eq!(now.len(), 1);
        assert_eq!(
            (now[0].reason.as_str(), now[0].since_ms),
            ("pool timed out", 1)
        );
        assert!(d.is_down(Dependency::TicketsDatabase));
        assert!(d.clear(Dependency::TicketsDatabase));
        assert!(!d.clear(Dependency::TicketsDatabase));
        assert!(d.list().is_empty());
    }
}
