//! The detector, classifier and simulator together, without MQTT: many seeded fleets, checked
//! against their ground truth. Seeds here are not the ones the constants were chosen on.

use std::collections::{BTreeMap, HashSet};

use forewarn_analytics::Detector;
use forewarn_domain::{AssetId, AssetTypeId, Catalog, Reading, SensorName};
use forewarn_simulators::{Fleet, FleetConfig};

const DAY_MS: i64 = 86_400_000;

#[test]
fn seeded_fleets_ticket_every_fault_early_and_no_healthy_asset() {
    let catalog = Catalog::from_toml(forewarn::config::BUILTIN_CATALOG).unwrap();
    let (mut faults, mut caught, mut false_alerts, mut leads) = (0, 0, 0, Vec::new());
    for seed in 100..110u64 {
        let mut cfg = FleetConfig::ending_at(seed, 20, 1_790_000_000_000, 21 * DAY_MS);
        cfg.faults = 4;
        cfg.interval_ms = 5 * 60_000;
        let mut fleet = Fleet::new(cfg).unwrap();
        let truth = fleet.ground_truth();
        let ticks: Vec<i64> = fleet.ticks().collect();
        let mut detector = Detector::default();
        let mut first_alert: BTreeMap<(String, String), i64> = BTreeMap::new();
        for t in ticks {
            for a in &mut fleet.assets {
                let Some(values) = a.sample(t) else { continue };
                let asset = AssetId::new(&a.id).unwrap();
                let ty = AssetTypeId::new(a.kind.type_id()).unwrap();
                for (name, v) in a.kind.sensors().iter().zip(values) {
                    let r = Reading {
                        asset: asset.clone(),
                        sensor: SensorName::new(name).unwrap(),
                        ts_ms: t,
                        value: v,
                    };
                    if let Some(f) = detector.observe(&r, &ty)
                        && let Some(mode) = forewarn_alerting::classify(&catalog, &f)
                    {
                        first_alert
                            .entry((a.id.clone(), mode.id.to_string()))
                            .or_insert(t);
                    }
                }
            }
        }
        let faulty: HashSet<&str> = truth.iter().map(|g| g.asset.as_str()).collect();
        false_alerts += first_alert
            .keys()
            .filter(|(a, _)| !faulty.contains(a.as_str()))
            .count();
        for g in &truth {
            faults += 1;
            if let Some(&t) = first_alert.get(&(g.asset.clone(), g.failure_mode.clone()))
                && t < g.failure_ms
            {
                caught += 1;
                leads.push((g.failure_ms - t) as f64 / 3.6e6);
            }
            // A wrong mode on a faulty asset would be a wrong ticket.
            let wrong = first_alert
                .keys()
                .filter(|(a, m)| a == &g.asset && m != &g.failure_mode)
                .count();
            assert_eq!(
                wrong, 0,
                "seed {seed}: {g:?} also classified as another mode: {first_alert:?}"
            );
        }
    }
    leads.sort_by(f64::total_cmp);
    let median = leads.get(leads.len() / 2).copied().unwrap_or(0.0);
    println!(
        "faults {faults}, ticketed before failure {caught}, false alerts {false_alerts}, median lead {median:.1} h"
    );
    assert_eq!(false_alerts, 0, "alerts on healthy assets");
    assert_eq!(caught, faults, "faults missed or ticketed after failure");
    assert!(median >= 24.0, "median lead time {median:.1} h");
}
