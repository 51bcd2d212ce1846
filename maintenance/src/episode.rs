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
    /// Every repair recorded by a resolution that found a fault, oldest first (device time):
    /// what analytics replays history against, so a restart re-learns each repaired asset's
    /// normal at the same moments as it did live.
    pub async fn repairs(&self) -> Result<Vec<Repair>, MaintenanceError> {
        let rows = sqlx::query(
            "SELECT id, asset_id, repaired_at_ms, found_mode FROM tickets
             WHERE repaired_at_ms IS NOT NULL AND found_mode IS NOT NULL
               AND status IN ('resolved', 'closed')
             ORDER BY repaired_at_ms, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(Repair {
                    ticket_id: r.get(0),
                    asset: AssetId::new(r.get::<&str, _>(1)).ok()?,
                    at_ms: r.get(2),
                    failure_mode: r.get::<&str, _>(3).parse().ok()?,
                })
            })
            .collect())
    }
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
