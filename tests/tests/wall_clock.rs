//! The end-to-end test's fleet ends at the wall clock, so every run meets its demand and
//! ambient cycles at another phase (a CI run once met a stuck speed transmitter whose stand-in,
//! the flow, invented operating points along the demand cycle). Here the same fleet is
//! replayed through the detector at many end times: each must give the end-to-end test's
//! answer.

use std::collections::{BTreeMap, BTreeSet};

use forewarn_domain::Catalog;
use forewarn_simulators::{Fleet, FleetConfig};
use forewarn_tests::replay::replay;

const DAY_MS: i64 = 86_400_000;
/// End times tried, spread over a few weeks at steps that are not a multiple of a day.
const ENDS: i64 = 60;

/// The modes each asset was ticketed for.
fn modes(end_ms: i64, catalog: &Catalog) -> (Fleet, BTreeMap<String, BTreeSet<String>>) {
    let mut cfg = FleetConfig::ending_at(2026, 20, end_ms, 14 * DAY_MS);
    cfg.faults = 3;
    cfg.sensor_faults = 2;
    cfg.interval_ms = 5 * 60_000;
    let mut fleet = Fleet::new(cfg).unwrap();
    let mut modes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    replay(&mut fleet, catalog, |asset, _, f| {
        if let Some(m) = forewarn_alerting::classify(catalog, &f) {
            modes
                .entry(asset.to_string())
                .or_default()
                .insert(m.id.to_string());
        }
    });
    (fleet, modes)
}

#[test]
fn the_end_to_end_fleet_gives_the_same_answer_whenever_it_runs() {
    let catalog = Catalog::from_toml(forewarn::config::BUILTIN_CATALOG).unwrap();
    let mut wrong = Vec::new();
    for k in 0..ENDS {
        let end = 1_796_000_000_000 + k * 7_777_777 * 3;
        let (fleet, modes) = modes(end, &catalog);
        let truth = fleet.ground_truth();
        let sensor_truth = fleet.sensor_fault_truth();
        let want = |asset: &str| -> Option<&str> {
            truth
                .iter()
                .find(|g| g.asset == asset)
                .map(|g| g.failure_mode.as_str())
                .or_else(|| {
                    sensor_truth
                        .iter()
                        .any(|g| g.asset == asset)
                        .then_some("sensor_fault")
                })
        };
        for a in &fleet.assets {
            let got: Vec<&str> = modes
                .get(&a.id)
                .map(|m| m.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let expected: Vec<&str> = want(&a.id).into_iter().collect();
            if got != expected {
                wrong.push(format!(
                    "end {end}: {} got {got:?}, want {expected:?}",
                    a.id
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
