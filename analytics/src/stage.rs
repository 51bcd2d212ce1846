//! The analytics stage: durable batches in, findings out.

use std::collections::HashMap;
use std::sync::Arc;

use forewarn_domain::{AssetId, AssetTypeId, Batch, Finding, FittedModel, HealthBoard, Metrics};
use tokio::sync::mpsc;

use crate::Detector;

/// Scores every reading of every batch. `asset_types` is seeded with the known assets; births in the
/// batches extend it. Joint models fitted along the way go to `models` (to be persisted); the
/// health of every asset a batch touched is posted to `board`. Ends when the input closes.
#[allow(clippy::too_many_arguments)] // one per pipeline connection
pub async fn run(
    mut detector: Detector,
    mut asset_types: HashMap<AssetId, AssetTypeId>,
    metrics: Arc<Metrics>,
    mut input: mpsc::Receiver<Batch>,
    output: mpsc::Sender<Finding>,
    models: mpsc::Sender<FittedModel>,
    board: HealthBoard,
) -> Result<(), crate::AnalyticsError> {
    while let Some(batch) = input.recv().await {
        for a in &batch.births {
            asset_types.insert(a.id.clone(), a.asset_type.clone());
        }
        // Readings arrive in runs of one asset (a message each): one type lookup per run.
        for run in batch.readings.chunk_by(|a, b| a.asset == b.asset) {
            // Ingest only accepts readings of registered assets, so the type is always known here.
            let Some(ty) = asset_types.get(&run[0].asset) else {
                continue;
            };
            for r in run {
                if let Some(f) = detector.observe(r, ty) {
                    metrics.findings.inc();
                    output
                        .send(f)
                        .await
                        .map_err(|_| crate::AnalyticsError::PipelineClosed)?;
                }
            }
        }
        let mut touched: Vec<&AssetId> = batch.readings.iter().map(|r| &r.asset).collect();
        touched.sort_unstable();
        touched.dedup();
        board.update(touched.into_iter().filter_map(|a| detector.health(a)));
        for m in detector.take_fitted() {
            models
                .send(m)
                .await
                .map_err(|_| crate::AnalyticsError::PipelineClosed)?;
        }
    }
    Ok(())
}
