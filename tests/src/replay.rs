//! A seeded fleet replayed through the detector alone, without MQTT or a store: what the
//! detection and classification tests measure against the simulator's ground truth.

use forewarn_analytics::Detector;
use forewarn_domain::{AssetId, AssetTypeId, Catalog, Finding, FittedModel, Reading, SensorName};
use forewarn_simulators::Fleet;

/// Feeds every reading of `fleet`, in time order, to a detector that knows `catalog`'s ranges
/// and failure levels; calls `on_finding(asset, time, finding)` for each finding. Dropped-out
/// sensors (NaN) are left out, as the publisher leaves them out of the payload. Returns every
/// joint model the detector fitted (first fits and refits).
pub fn replay(
    fleet: &mut Fleet,
    catalog: &Catalog,
    mut on_finding: impl FnMut(&str, i64, Finding),
) -> Vec<FittedModel> {
    let ticks: Vec<i64> = fleet.ticks().collect();
    let mut detector = Detector::default().with_catalog(catalog);
    let ids: Vec<(AssetId, AssetTypeId, Vec<SensorName>)> = fleet
        .assets
        .iter()
        .map(|a| {
            (
                AssetId::new(&a.id).expect("simulator ids are valid"),
                AssetTypeId::new(a.kind.type_id()).expect("simulator types are valid"),
                a.kind
                    .sensors()
                    .iter()
                    .map(|s| SensorName::new(s).expect("simulator sensors are valid"))
                    .collect(),
            )
        })
        .collect();
    for t in ticks {
        for (a, (asset, ty, sensors)) in fleet.assets.iter_mut().zip(&ids) {
            let Some(values) = a.sample(t) else { continue };
            for (sensor, v) in sensors.iter().zip(values) {
                if !v.is_finite() {
                    continue;
                }
                let r = Reading {
                    asset: asset.clone(),
                    sensor: sensor.clone(),
                    ts_ms: t,
                    value: v,
                };
                if let Some(f) = detector.observe(&r, ty) {
                    on_finding(&a.id, t, f);
                }
            }
        }
    }
    detector.take_fitted()
}
