//! The alerting stage.

use std::sync::Arc;

use forewarn_domain::{Alert, Catalog, Classifier, Decision, Finding, Metrics};
use tokio::sync::mpsc;

use crate::learned::LearnedModes;
use crate::{AlertingError, classify};

/// Classifies findings — by catalog signature, else by the learnt model when it is confident —
/// and forwards every classified finding as an alert, and every other one as unmatched (the
/// planner sees those too). Whether an alert opens a ticket, joins
/// the open one or belongs to a finished one is maintenance's decision, taken from the tickets
/// in SQL: a map kept here would forget on restart and never learn that a ticket was finished
/// (the second failure of an asset went unticketed that way). Findings are rare — when an
/// asset's deviating set changes, or every 12 h while it lasts — so each costing one SQL
/// transaction is cheap.
pub async fn run(
    catalog: Arc<Catalog>,
    learned: Arc<LearnedModes>,
    metrics: Arc<Metrics>,
    mut input: mpsc::Receiver<Finding>,
    output: mpsc::Sender<Decision>,
) -> Result<(), AlertingError> {
    while let Some(finding) = input.recv().await {
        let (mode, by) = match classify(&catalog, &finding) {
            Some(mode) => (mode, Classifier::Signature),
            None => match learned.predict(&catalog, &finding) {
                Some((mode, p)) => {
                    metrics.learned_classifications.inc();
                    tracing::info!(asset = %finding.asset, mode = %mode.id, probability = p, "finding classified by the learnt model");
                    (mode, Classifier::Learnt)
                }
                None => {
                    metrics.unclassified_findings.inc();
                    tracing::debug!(asset = %finding.asset, "finding matches no failure mode");
                    output
                        .send(Decision::Unmatched(Box::new(finding)))
                        .await
                        .map_err(|_| AlertingError::PipelineClosed)?;
                    continue;
                }
            },
        };
        metrics.alerts.inc();
        let alert = Alert {
            asset: finding.asset.clone(),
            failure_mode: mode.id.clone(),
            severity: finding.severity,
            raised_at_ms: finding.detected_at_ms,
            began_ms: finding.began_ms(),
            parts: mode.parts.clone(),
            skills: mode.required_skills(),
            corrective: false,
            finding,
        };
        output
            .send(Decision::Alert(Box::new(alert), by))
            .await
            .map_err(|_| AlertingError::PipelineClosed)?;
    }
    Ok(())
}
