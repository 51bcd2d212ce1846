//! The maintenance stage: alerts in, tickets opened.

use std::sync::Arc;

use forewarn_domain::{Alert, AssetId, Classifier, Decision, Metrics};
use tokio::sync::{broadcast, mpsc};

use crate::findings::Outcome;
use crate::{AssetContext, Maintenance, MaintenanceError, Opened, Ticket};

/// What tickets need to know of an asset (from the registry the service holds).
pub type AssetOf = Arc<dyn Fn(&AssetId) -> AssetContext + Send + Sync>;

/// Opens (or attaches to) a ticket for every alert and stores every finding, matched or not. New tickets are announced on `opened`, a lossy
/// broadcast for observers (terminal progress, live dashboards) that never slows the pipeline.
pub async fn run(
    db: Maintenance,
    metrics: Arc<Metrics>,
    mut input: mpsc::Receiver<Decision>,
    opened: broadcast::Sender<Ticket>,
    asset_of: AssetOf,
) -> Result<(), MaintenanceError> {
    while let Some(decision) = input.recv().await {
        match decision {
            Decision::Alert(alert, by) => {
                let asset = asset_of(&alert.asset);
                open(&db, &metrics, &opened, &alert, &asset, by).await?;
            }
            Decision::Unmatched(finding) => {
                db.record_finding(&finding, None, Outcome::Unmatched, None)
                    .await?;
            }
        }
        metrics.findings_settled.inc();
    }
    Ok(())
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
