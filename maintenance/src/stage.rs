//! The maintenance stage: alerts in, tickets opened; findings wait on disk while the database is
//! down.

use std::sync::Arc;

use forewarn_domain::{Alert, AssetId, Classifier, Decision, Dependency, Metrics};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use crate::failure::{Backoff, Failure};
use crate::findings::Outcome;
use crate::pending::Pending;
use crate::{AssetContext, Maintenance, MaintenanceError, Opened, Ticket};

/// What tickets need to know of an asset (from the registry the service holds).
pub type AssetOf = Arc<dyn Fn(&AssetId) -> AssetContext + Send + Sync>;

/// Opens (or attaches to) a ticket for every alert and stores every finding, matched or not. New
/// tickets are announced on `opened`, a lossy broadcast for observers (terminal progress, live
/// dashboards) that never slows the pipeline.
///
/// While the database is down, findings wait in `pending` (durable, bounded) and are retried with
/// a backoff, oldest first; the outage shows in `metrics` (`degraded`, `findings_pending`). Only a
/// damaged database ends the stage.
pub async fn run(
    db: Maintenance,
    metrics: Arc<Metrics>,
    mut input: mpsc::Receiver<Decision>,
    opened: broadcast::Sender<Ticket>,
    asset_of: AssetOf,
    mut pending: Pending,
) -> Result<(), MaintenanceError> {
    let stage = Stage {
        db,
        metrics,
        opened,
        asset_of,
    };
    let mut backoff = Backoff::default();
    let mut next_try = Instant::now();
    loop {
        if !pending.is_empty() && Instant::now() >= next_try {
            match stage.drain(&mut pending).await? {
                None => backoff.reset(),
                Some(e) => {
                    stage.down(&e);
                    next_try = Instant::now() + backoff.next_wait();
                }
            }
        }
        tokio::select! {
            d = input.recv(), if !pending.is_full() => {
                let Some(d) = d else { break };
                if !pending.is_empty() {
                    stage.wait(&mut pending, d)?;
                } else if let Some(e) = stage.settle(&d).await? {
                    stage.down(&e);
                    stage.wait(&mut pending, d)?;
                    next_try = Instant::now() + backoff.next_wait();
                }
            }
            _ = tokio::time::sleep_until(next_try), if !pending.is_empty() => {}
        }
    }
    if !pending.is_empty() {
        tracing::warn!(findings = pending.len(), file = %pending.path().display(), "stopping with findings waiting for the tickets database; the next start settles them");
    }
    Ok(())
}

/// What the stage works with.
struct Stage {
    db: Maintenance,
    metrics: Arc<Metrics>,
    opened: broadcast::Sender<Ticket>,
    asset_of: AssetOf,
}

impl Stage {
    /// Settles one finding; `Some(error)` when the database is unavailable (nothing done). A
    /// finding the database refuses is logged whole and dropped: retrying it would block every
    /// later one. A damaged database is an error.
    async fn settle(
        &self,
        decision: &Decision,
    ) -> Result<Option<MaintenanceError>, MaintenanceError> {
        let result = match decision {
            Decision::Alert(alert, by) => {
                let asset = (self.asset_of)(&alert.asset);
                open(&self.db, &self.metrics, &self.opened, alert, &asset, *by)
                    .await
                    .map(|_| ())
            }
            Decision::Unmatched(finding) => self
                .db
                .record_finding(finding, None, Outcome::Unmatched, None)
                .await
                .map(|_| ()),
        };
        match result {
            Ok(()) => {}
            Err(e) => match e.failure() {
                Failure::Unavailable => return Ok(Some(e)),
                Failure::Corrupt => {
                    return Err(MaintenanceError::Config(format!(
                        "the tickets database is damaged ({e}); restore it from a backup"
                    )));
                }
                Failure::Refused => {
                    tracing::error!(error = %e, finding = ?decision, "the tickets database refused a finding; dropped");
                }
            },
        }
        self.metrics.findings_settled.inc();
        Ok(None)
    }

    /// Settles what waits, oldest first; `Some(error)` when the database went down again.
    async fn drain(
        &self,
        pending: &mut Pending,
    ) -> Result<Option<MaintenanceError>, MaintenanceError> {
        while let Some(d) = pending.front() {
            if let Some(e) = self.settle(d).await? {
                return Ok(Some(e));
            }
            pending.pop().map_err(|e| queue_error(pending, e))?;
            self.metrics.findings_pending.set(pending.len() as i64);
        }
        self.metrics.recover(Dependency::TicketsDatabase);
        tracing::info!("every finding that waited for the tickets database is settled");
        Ok(None)
    }

    /// Queues `d` behind those waiting.
    fn wait(&self, pending: &mut Pending, d: Decision) -> Result<(), MaintenanceError> {
        pending.push(d).map_err(|e| queue_error(pending, e))?;
        self.metrics.findings_pending.set(pending.len() as i64);
        Ok(())
    }

    fn down(&self, e: &MaintenanceError) {
        let now = chrono::Utc::now().timestamp_millis();
        self.metrics
            .degrade(Dependency::TicketsDatabase, &e.to_string(), now);
    }
}

/// The queue's file cannot be written: the findings could not be kept, so the stage stops (the
/// store stops acknowledging behind it; nothing acknowledged is lost).
fn queue_error(pending: &Pending, e: std::io::Error) -> MaintenanceError {
    MaintenanceError::Config(format!(
        "cannot keep findings waiting for the database in {}: {e}",
        pending.path().display()
    ))
}

/// Opens a ticket for one alert or attaches it to the open one, counting and announcing it: the
/// one path every alert takes, the pipeline's and those the API receives. The finding is stored
/// with what became of it (`by` named its mode).
pub async fn open(
    db: &Maintenance,
    metrics: &Metrics,
    opened: &broadcast::Sender<Ticket>,
    alert: &Alert,
    asset: &AssetContext,
    by: Classifier,
) -> Result<Opened, MaintenanceError> {
    let result = db.open_ticket(alert, asset).await?;
    let (outcome, ticket) = Outcome::of(&result);
    db.record_finding(
        &alert.finding,
        Some((alert.failure_mode.as_str(), by)),
        outcome,
        Some(ticket),
    )
    .await?;
    match &result {
        Opened::New(ticket) => {
            metrics.tickets_opened.inc();
            tracing::info!(ticket = ticket.id, asset = %alert.asset, failure_mode = %alert.failure_mode, "ticket opened");
            let _ = opened.send((**ticket).clone());
        }
        Opened::Existing(_) => {
            metrics.alerts_deduplicated.inc();
        }
        Opened::CoolingDown(id) => {
            metrics.alerts_deduplicated.inc();
            tracing::debug!(ticket = id, asset = %alert.asset, failure_mode = %alert.failure_mode, "alert within the cooldown of a finished ticket");
        }
        Opened::BeforeRepair(id) => {
            metrics.alerts_deduplicated.inc();
            tracing::debug!(ticket = id, asset = %alert.asset, failure_mode = %alert.failure_mode, "alert for a deviation that began before the repair of a finished ticket");
        }
    }
    Ok(result)
}
