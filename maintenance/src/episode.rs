//! Episodes in the asset's own timeline: whether an alert that finds no open ticket for its
//! asset and failure mode belongs to one that was finished.
//!
//! Judged in device time (the readings' clock), never the wall clock, so a fast-forwarded
//! replay, a restart that replays history and a live plant give the same answer:
//! - a deviation that **began before a repair** took effect (`repaired_at_ms`) is the old fault,
//!   repaired: it belongs to the ticket the repair finished, however late it is reported;
//! - an alert **raised within the cooldown** after a ticket was finished (`finished_ms`, from a
//!   resolution of any kind or a cancellation) is a repair settling in or a planner's "not now".
//!
//! A finished ticket matches when it predicted the alert's mode or its repair found that mode
//! (`other_mode`): both describe the same deviation.

use std::time::Duration;

use forewarn_domain::{Alert, AssetId, Repair};
use sqlx::Row;

use crate::{MaintenanceError, Opened};

/// The finished ticket that absorbs `alert`, if one does, with the alert counted on it.
/// Alerts raised before the ticket was finished are what it saw already (a replay after a
/// restart): they are absorbed without being counted again.
pub(crate) async fn absorbed(
    tx: &mut sqlx::AnyConnection,
    alert: &Alert,
    cooldown: Duration,
    now: &str,
) -> Result<Option<Opened>, MaintenanceError> {
    let cooldown_ms = i64::try_from(cooldown.as_millis()).unwrap_or(i64::MAX / 4);
    let row = sqlx::query(
        "SELECT id, CASE WHEN repaired_at_ms IS NOT NULL AND repaired_at_ms >= $3 THEN 1 ELSE 0 END AS repaired
         FROM tickets
         WHERE asset_id = $1 AND (failure_mode = $2 OR found_mode = $2)
           AND status IN ('resolved', 'closed', 'cancelled')
           AND ((repaired_at_ms IS NOT NULL AND repaired_at_ms >= $3)
                OR (finished_ms IS NOT NULL AND $4 < finished_ms + $5))
         ORDER BY repaired DESC, id DESC LIMIT 1",
    )
    .bind(alert.asset.as_str())
    .bind(alert.failure_mode.as_str())
    .bind(alert.began_ms)
    .bind(alert.raised_at_ms)
    .bind(cooldown_ms)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let id: i64 = row.get(0);
    let repaired = row.get::<i64, _>(1) == 1;
    sqlx::query(
        "UPDATE tickets SET alert_count = alert_count + 1, last_alert_ms = CASE WHEN last_alert_ms > $1 THEN last_alert_ms ELSE $1 END, updated_at = $2
         WHERE id = $3 AND $1 >= finished_ms",
    )
    .bind(alert.raised_at_ms)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(Some(if repaired {
        Opened::BeforeRepair(id)
    } else {
        Opened::CoolingDown(id)
    }))
}

impl crate::Maintenance {
    /// Every repair recorded by a resolution that found a fault, and every all-clear (a
    /// resolution that found none, with the sensors its finding deviated on), oldest first in
    /// device time: what analytics replays history against, so a restart re-learns each
    /// asset's normal at the same moments as it did live.
    pub async fn repairs(&self) -> Result<Vec<Repair>, MaintenanceError> {
        let rows = sqlx::query(
            "SELECT id, asset_id, repaired_at_ms, found_mode, finished_ms, failure_mode, evidence, resolution, kind
             FROM tickets
             WHERE status IN ('resolved', 'closed')
               AND ((repaired_at_ms IS NOT NULL AND found_mode IS NOT NULL)
                    OR (finished_ms IS NOT NULL AND resolution LIKE '%no_fault_found%'))
             ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<Repair> = rows.iter().filter_map(repair_of).collect();
        out.sort_by_key(|r| (r.at_ms, r.ticket_id));
        Ok(out)
    }
}

/// The repair or all-clear a finished ticket's row records, if any.
fn repair_of(r: &sqlx::any::AnyRow) -> Option<Repair> {
    let asset = AssetId::new(r.get::<&str, _>(1)).ok()?;
    if let (Some(at_ms), Some(mode)) = (r.get::<Option<i64>, _>(2), r.get::<Option<String>, _>(3)) {
        return Some(Repair {
            ticket_id: r.get(0),
            asset,
            at_ms,
            failure_mode: mode.parse().ok()?,
            sensors: Vec::new(),
            failed: r.get::<&str, _>(8) == "corrective",
        });
    }
    let evidence: forewarn_domain::Finding = serde_json::from_str(r.get::<&str, _>(6)).ok()?;
    let sensors = all_clear_sensors(&evidence);
    if sensors.is_empty() {
        return None;
    }
    Some(Repair {
        ticket_id: r.get(0),
        asset,
        at_ms: r.get::<Option<i64>, _>(4)?,
        failure_mode: r.get::<&str, _>(5).parse().ok()?,
        sensors,
        failed: false,
    })
}

/// The sensors a no-fault-found resolution clears: those the ticket's finding deviated on
/// (a finding about instruments, or from outside, names none).
pub fn all_clear_sensors(f: &forewarn_domain::Finding) -> Vec<forewarn_domain::SensorName> {
    f.deviations.iter().map(|d| d.sensor.clone()).collect()
}

/// The asset's own time of a move: what the caller says (an explicit repair time, or the
/// asset's newest reading), else the newest alert the ticket absorbed; never before the
/// deviation was detected.
pub(crate) fn device_time(given: Option<i64>, detected_ms: i64, last_alert_ms: i64) -> i64 {
    given.unwrap_or(last_alert_ms).max(detected_ms)
}

#[cfg(test)]
#[path = "episode_tests.rs"]
mod tests;
