//! The analytics stage: durable batches in, findings out.

use std::collections::HashMap;
use std::sync::Arc;

use forewarn_domain::{
    AssetHealth, AssetId, AssetTypeId, Batch, Finding, FittedModel, Metrics, RepairFeed,
    TimestampMs,
};
use tokio::sync::{mpsc, oneshot};

use crate::Detector;

/// A question for the analytics stage, answered on its sender.
#[derive(Debug)]
pub enum HealthQuery {
    /// The health of one asset (`None`: never seen).
    Asset(AssetId, oneshot::Sender<Option<AssetHealth>>),
    /// The health of every asset seen, in one answer: the fleet page asks once, not per asset.
    Fleet(oneshot::Sender<Vec<AssetHealth>>),
    /// Each asset's clock: the time of its newest reading analysed (device time). Answered
    /// between batches, so every finding of what it reports has been sent on.
    Clocks(oneshot::Sender<Vec<(AssetId, TimestampMs)>>),
}

/// Scores every reading of every batch. `asset_types` is seeded with the known assets; births in the
/// batches extend it. Joint models fitted along the way go to `models` (to be persisted). Between
/// batches it answers health queries (the API's), so the hot path never builds a snapshot nobody
/// asked for, and takes the repairs resolutions recorded (each takes effect at its asset's first
/// reading after the repair's device time). Ends when the input closes.
#[allow(clippy::too_many_arguments)] // one per pipeline connection
pub async fn run(
    mut detector: Detector,
    mut asset_types: HashMap<AssetId, AssetTypeId>,
    metrics: Arc<Metrics>,
    mut input: mpsc::Receiver<Batch>,
    output: mpsc::Sender<Finding>,
    models: mpsc::Sender<FittedModel>,
    mut queries: mpsc::Receiver<HealthQuery>,
    repairs: RepairFeed,
) -> Result<(), crate::AnalyticsError> {
    loop {
        let batch = tokio::select! {
            batch = input.recv() => match batch {
                Some(b) => b,
                None => break,
            },
            Some(query) = queries.recv() => {
                // The asker may have given up: nothing to do then.
                match query {
                    HealthQuery::Asset(asset, reply) => {
                        let _ = reply.send(detector.health(&asset));
                    }
                    HealthQuery::Fleet(reply) => {
                        let _ = reply.send(detector.health_all());
                    }
                    HealthQuery::Clocks(reply) => {
                        let _ = reply.send(detector.clocks());
                    }
                }
                continue;
            }
        };
        for r in repairs.take() {
            detector.resolved(&r);
        }
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
        for m in detector.take_fitted() {
            models
                .send(m)
                .await
                .map_err(|_| crate::AnalyticsError::PipelineClosed)?;
        }
    }
    Ok(())
}
