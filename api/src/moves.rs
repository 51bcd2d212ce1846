//! Moving a ticket from the API or the dashboards: the move happens at the asset's own time, and
//! a resolution that found a fault is handed to analytics as a repair.

use forewarn_domain::{AssetId, Repair, TimestampMs};
use forewarn_maintenance::{Move, Ticket, TicketStatus};

use crate::tickets::move_error;
use crate::{ApiError, AppState};

/// Makes the move `m` (its `device_ms` is filled here) on ticket `id`. `repaired_at` is the
/// caller's word for when the repair took effect, device time; without it the asset's newest
/// stored reading is the moment. A resolution that found a fault becomes a [`Repair`] for
/// analytics, and every move is announced to the dashboards.
pub(crate) async fn make(
    s: &AppState,
    id: i64,
    mut m: Move<'_>,
    repaired_at: Option<TimestampMs>,
) -> Result<Ticket, ApiError> {
    let ticket =
        s.db.ticket(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no ticket {id}")))?;
    if let Some(at) = repaired_at {
        check_repaired_at(&ticket, &m, at)?;
    }
    m.device_ms = match repaired_at {
        Some(at) => Some(at),
        None => newest_reading(s, &ticket.asset_id).await,
    };
    let moved = s.db.transition(id, &m).await.map_err(move_error)?;
    if m.to == TicketStatus::Resolved
        && let Some(repair) = repair_of(&moved)
    {
        s.repairs.push(repair);
    }
    // Nobody listening is fine.
    let _ = s.changed.send(moved.clone());
    Ok(moved)
}

/// What a resolved ticket teaches analytics: a repair (a fault found and fixed: every sensor
/// learns its new normal), or an all-clear (no fault found: the sensors its finding deviated on
/// showed normal operation, and learn it).
fn repair_of(t: &Ticket) -> Option<Repair> {
    let asset = AssetId::new(&t.asset_id).ok()?;
    if let (Some(at_ms), Some(mode)) = (t.repaired_at_ms, &t.found_mode) {
        return Some(Repair {
            asset,
            at_ms,
            ticket_id: t.id,
            failure_mode: mode.parse().ok()?,
            sensors: Vec::new(),
            failed: t.kind == forewarn_maintenance::TicketKind::Corrective,
        });
    }
    let finding: forewarn_domain::Finding = serde_json::from_value(t.evidence.clone()).ok()?;
    let sensors = forewarn_maintenance::all_clear_sensors(&finding);
    (!sensors.is_empty()).then_some(())?;
    Some(Repair {
        asset,
        at_ms: t.finished_ms?,
        ticket_id: t.id,
        failure_mode: t.failure_mode.parse().ok()?,
        sensors,
        failed: false,
    })
}

/// A repair time belongs to a resolution that found a fault, after the deviation was detected
/// and not in the future.
fn check_repaired_at(ticket: &Ticket, m: &Move<'_>, at: TimestampMs) -> Result<(), ApiError> {
    let found = m
        .resolution
        .is_some_and(|r| r.actual_mode(&ticket.failure_mode).is_some());
    if m.to != TicketStatus::Resolved || !found {
        return Err(ApiError::bad_request(
            "repaired_at goes with a resolution that found a fault (confirmed or other_mode)",
        ));
    }
    if at < ticket.detected_at_ms {
        return Err(ApiError::bad_request(format!(
            "repaired_at is before the ticket's finding was detected ({})",
            ticket.detected_at
        )));
    }
    // The same tolerance for clock skew as findings from outside.
    if at > chrono::Utc::now().timestamp_millis() + 3_600_000 {
        return Err(ApiError::bad_request("repaired_at is in the future"));
    }
    Ok(())
}

/// The asset's newest stored reading time (its own clock), if it has one.
pub(crate) async fn newest_reading(s: &AppState, asset: &str) -> Option<TimestampMs> {
    let asset = AssetId::new(asset).ok()?;
    let latest = s.store.latest(&asset).await.ok()?;
    latest.iter().map(|p| p.ts_ms).max()
}
