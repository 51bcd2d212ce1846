//! Repairs: events in an asset's own timeline that analytics learns from.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::{AssetId, FailureModeId, SensorName, TimestampMs};

/// A repair took effect on an asset at `at_ms`, device time: readings after it show the repaired
/// machine, so its sensors learn their new normal, and a deviation that began before it belongs
/// to the ticket that was finished. Or an all-clear: a technician found no fault behind a
/// deviation, so what the named sensors showed is normal for this machine and they learn it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Repair {
    /// The asset.
    pub asset: AssetId,
    /// When it took effect (ms since the epoch, the asset's own clock).
    pub at_ms: TimestampMs,
    /// The ticket it finished.
    pub ticket_id: i64,
    /// The failure mode the repair found (the predicted one when confirmed).
    #[schema(value_type = String)]
    pub failure_mode: FailureModeId,
    /// An all-clear's sensors (those its finding deviated on); empty for a repair, which
    /// renews every sensor's normal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    pub sensors: Vec<SensorName>,
    /// The machine had failed before the repair (a corrective ticket: it stopped): what its
    /// sensors reached is where this mode fails, not a point short of it. Analytics learns the
    /// mode's failure levels from both kinds.
    #[serde(default)]
    pub failed: bool,
}

/// Repairs on their way from the people who resolve tickets (the API) to analytics, which
/// takes them between batches. Unbounded on purpose: repairs are people's acts (a few a day),
/// and resolving a ticket must never wait for the detectors.
#[derive(Debug, Clone, Default)]
pub struct RepairFeed(Arc<Mutex<Vec<Repair>>>);

impl RepairFeed {
    /// Hands a repair to analytics.
    pub fn push(&self, repair: Repair) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(repair);
    }

    /// Every repair handed over since the last call, in the order they came.
    pub fn take(&self) -> Vec<Repair> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
