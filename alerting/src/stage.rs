//! The alerting stage.

use std::collections::HashMap;
use std::sync::Arc;

use forewarn_domain::{Alert, AssetId, Catalog, FailureModeId, Finding, Metrics, Severity};
use tokio::sync::mpsc;

use crate::learned::LearnedModes;
use crate::{AlertingError, classify};

/// Classifies findings — by catalog signature, else by the learnt model when it is confident —
/// and forwards one alert per (asset, failure mode) and severity level.
pub async fn run(
    catalog: Arc<Catalog>,
    learned: Arc<LearnedModes>,
    metrics: Arc<Metrics>,
    mut input: mpsc::Receiver<Finding>,
    output: mpsc::Sender<Alert>,
) -> Result<(), AlertingError> {
    let mut raised: HashMap<(AssetId, FailureModeId), Severity> = HashMap::new();
    while let Some(finding) = input.recv().await {
        let mode = match classify(&catalog, &finding) {
            Some(mode) => mode,
            None => match learned.predict(&catalog, &finding) {
                Some((mode, p)) => {
                    metrics.learned_classifications.inc();
                    tracing::info!(asset = %finding.asset, mode = %mode.id, probability = p, "finding classified by the learnt model");
                    mode
                }
                None => {
                    metrics.unclassified_findings.inc();
                    tracing::debug!(asset = %finding.asset, "finding matches no failure mode");
                    continue;
                }
            },
        };
        let key = (finding.asset.clone(), mode.id.clone());
        if raised.get(&key).is_some_and(|s| *s >= finding.severity) {
            continue;
        }
        raised.insert(key, finding.severity);
        metrics.alerts.inc();
        let alert = Alert {
            asset: finding.asset.clone(),
            failure_mode: mode.id.clone(),
            severity: finding.severity,
            raised_at_ms: finding.detected_at_ms,
            parts: mode.parts.clone(),
            skills: mode.required_skills(),
            finding,
        };
        output
            .send(alert)
            .await
            .map_err(|_| AlertingError::PipelineClosed)?;
    }
    Ok(())
}
