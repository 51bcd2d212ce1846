//! Machines that stop and start: seeded fleets with duty cycles on (eight hours on, two off, on
//! average), through the detector and classifier without MQTT. A stopped pump is not a failing
//! one nor a set of stuck sensors, a start is not a fault, and real faults are still ticketed
//! with the right mode before failure.

use std::collections::{BTreeMap, HashSet};

use forewarn_domain::{Catalog, ModeKind};
use forewarn_simulators::{Duty, Fleet, FleetConfig};
use forewarn_tests::replay::replay;

const DAY_MS: i64 = 86_400_000;

// Work in progress (issue 18, operating states): measured on seeds 300-302, 7/12 faults caught
// and spike findings at stops — the first indicator of a stop is judged before the second tells
// the asset stopped, and stops during the first day's warm-up are learnt. Run with `--ignored`.
#[test]
#[ignore = "operating states in progress: see the comment above"]
fn stops_and_starts_raise_nothing_and_faults_are_still_caught() {
    let catalog = Catalog::from_toml(forewarn::config::BUILTIN_CATALOG).unwrap();
    let (mut faults, mut caught, mut false_alerts) = (0, 0, Vec::new());
    for seed in 300..303u64 {
        let mut cfg = FleetConfig::ending_at(seed, 20, 1_790_000_000_000, 21 * DAY_MS);
        cfg.faults = 4;
        cfg.sensor_faults = 0;
        cfg.interval_ms = 5 * 60_000;
        cfg.duty = Some(Duty::default());
        let mut fleet = Fleet::new(cfg).unwrap();
        let truth = fleet.ground_truth();
        let mut first: BTreeMap<(String, String), i64> = BTreeMap::new();
        replay(&mut fleet, &catalog, |asset, t, f| {
            if let Some(mode) = forewarn_alerting::classify(&catalog, &f) {
                let key = (asset.to_string(), mode.id.to_string());
                first.entry(key).or_insert(t);
                if mode.kind == ModeKind::Instrumentation {
                    false_alerts.push(format!("seed {seed} {asset} {:?}", f.sensor_faults));
                }
            }
        });
        let faulty: HashSet<&str> = truth.iter().map(|g| g.asset.as_str()).collect();
        false_alerts.extend(
            first
                .keys()
                .filter(|(a, _)| !faulty.contains(a.as_str()))
                .map(|(a, m)| format!("seed {seed} {a} {m}")),
        );
        for g in &truth {
            faults += 1;
            match first.get(&(g.asset.clone(), g.failure_mode.clone())) {
                Some(&t) if t < g.failure_ms => caught += 1,
                _ => println!("seed {seed}: not caught before failure: {g:?}"),
            }
        }
    }
    println!(
        "duty cycles: {caught}/{faults} faults caught, {} false alerts",
        false_alerts.len()
    );
    assert!(caught * 100 >= faults * 95, "{caught}/{faults}");
    assert!(false_alerts.is_empty(), "{false_alerts:?}");
}
