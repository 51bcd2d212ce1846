//! Healthy fleets with duty cycles over months: every machine finding is a false one.

use std::collections::BTreeMap;

use forewarn_domain::{Catalog, ModeKind};
use forewarn_simulators::{Duty, Fleet, FleetConfig, Lifecycle};
use forewarn_tests::replay::replay;

const DAY_MS: i64 = 86_400_000;

#[test]
#[ignore = "a soak: cargo test --release -p forewarn-tests --test duty_soak -- --ignored --nocapture"]
fn healthy_fleets_with_duty_cycles_raise_no_machine_finding() {
    let catalog = Catalog::from_toml(forewarn::config::BUILTIN_CATALOG).unwrap();
    let days: i64 = std::env::var("SOAK_DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(90);
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for seed in std::env::var("SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(900..902u64, |s: u64| s..s + 1)
    {
        let mut cfg = FleetConfig::ending_at(seed, 20, 1_790_000_000_000, days * DAY_MS);
        cfg.faults = 0;
        cfg.sensor_faults = 0;
        cfg.interval_ms = 5 * 60_000;
        cfg.duty = Some(Duty::default());
        if std::env::var("SOAK_LIFECYCLE").is_ok() {
            cfg.lifecycle = Some(Lifecycle::default());
        }
        let start = cfg.start_ms;
        let mut fleet = Fleet::new(cfg).unwrap();
        let mut raw = Vec::new();
        replay(&mut fleet, &catalog, |asset, t, f| {
            raw.push((asset.to_string(), t, f))
        });
        let onsets: Vec<(String, i64)> = fleet
            .ground_truth()
            .iter()
            .map(|g| (g.asset.clone(), g.onset_ms))
            .chain(
                fleet
                    .sensor_fault_truth()
                    .iter()
                    .map(|g| (g.asset.clone(), g.onset_ms)),
            )
            .collect();
        for (asset, t, f) in raw {
            if onsets.iter().any(|(a, o)| *a == asset && *o <= t) {
                continue;
            }
            let Some(mode) = forewarn_alerting::classify(&catalog, &f) else {
                continue;
            };
            if mode.kind == ModeKind::Instrumentation {
                continue;
            }
            let devs: Vec<String> = f
                .deviations
                .iter()
                .map(|d| {
                    format!(
                        "{}{:?} {} v={} b={} since {:.2}",
                        d.sensor,
                        d.direction,
                        d.score,
                        d.value,
                        d.baseline,
                        (d.since_ms - start) as f64 / DAY_MS as f64
                    )
                })
                .collect();
            found
                .entry(format!("seed {seed} {asset} {}", mode.id))
                .or_default()
                .push(format!(
                    "day {:.1} {devs:?}",
                    (t - start) as f64 / DAY_MS as f64
                ));
        }
    }
    for (k, v) in &found {
        println!("{k}: {} findings, first {}", v.len(), v[0]);
    }
    println!(
        "{} false (asset, mode) pairs in {} asset-months",
        found.len(),
        40 * days / 30
    );
}
