//! A fleet's year with duty cycles, set-point changes and repairs, through the detector and
//! classifier alone (no MQTT, no store): a crew repairs what each classified finding points at
//! two hours later, and a finding on an asset with nothing wrong is a false alarm whose
//! deviating sensors are cleared, as the service does on a "no fault found". The full-size
//! year with the service is `forewarn bench lifecycle --duty 8h/2h/2d`.
//!
//! Ignored in the suite: it takes a quarter of a minute in release but many in the dev profile,
//! and `tests/lifecycle.rs` (the year in small, through the service) and `tests/duty.rs` cover
//! the same ground there. `SOAK_DAYS`, `SOAK_SEED` and `SOAK_RESTART_DAY` size it.

use std::collections::BTreeMap;

use forewarn_analytics::Detector;
use forewarn_domain::{AssetId, AssetTypeId, Catalog, Finding, ModeKind, Reading, SensorName};
use forewarn_simulators::{Duty, Fleet, FleetConfig, Lifecycle};

const DAY_MS: i64 = 86_400_000;
const CREW_DELAY_MS: i64 = 2 * 3_600_000;

#[test]
#[ignore = "a soak: cargo test --release -p forewarn-tests --test duty_soak -- --ignored --nocapture"]
fn a_year_of_duty_cycles_and_repairs_raises_few_false_alarms() {
    let days: i64 = env("SOAK_DAYS").unwrap_or(365);
    let seeds = env("SOAK_SEED").map_or(900..902u64, |s| s..s + 1);
    let (mut false_alarms, mut repaired, mut asset_months) = (Vec::new(), 0, 0.0);
    for seed in seeds {
        let mut cfg = FleetConfig::ending_at(seed, 20, 1_790_000_000_000, days * DAY_MS);
        cfg.interval_ms = 5 * 60_000;
        cfg.duty = Some(Duty::default());
        cfg.lifecycle = Some(Lifecycle::default());
        asset_months += 20.0 * days as f64 / 30.44;
        let (f, r) = year(seed, Fleet::new(cfg).unwrap());
        false_alarms.extend(f);
        repaired += r;
    }
    for f in &false_alarms {
        println!("{f}");
    }
    println!(
        "{repaired} repairs, {} false alarms in {asset_months:.0} asset-months ({:.2} per 100)",
        false_alarms.len(),
        false_alarms.len() as f64 / asset_months * 100.0
    );
}

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok()?.parse().ok()
}

/// One fleet's span: the false alarms (described) and the number of repairs.
fn year(seed: u64, mut fleet: Fleet) -> (Vec<String>, usize) {
    let catalog = Catalog::from_toml(forewarn::config::BUILTIN_CATALOG).unwrap();
    let start = fleet.config.start_ms;
    let ticks: Vec<i64> = fleet.ticks().collect();
    let mut detector = Detector::default().with_catalog(&catalog);
    // Asset → (crew visit time, what the finding said).
    let mut visits: BTreeMap<String, (i64, Finding, String)> = BTreeMap::new();
    let (mut false_alarms, mut repairs) = (Vec::new(), 0);
    // Everything fed and every repair, to rebuild the detector as a restarted service does.
    let mut restart_at = env::<i64>("SOAK_RESTART_DAY").map(|d| start + d * DAY_MS);
    let keep = restart_at.is_some();
    let mut history: BTreeMap<String, Vec<Reading>> = BTreeMap::new();
    let mut repair_log: Vec<(AssetId, i64, Vec<SensorName>)> = Vec::new();
    for t in ticks {
        if restart_at.is_some_and(|r| t >= r) {
            restart_at = None;
            detector = Detector::default().with_catalog(&catalog);
            for (a, at, s) in &repair_log {
                detector.repair(a, *at, s);
            }
            for (asset, readings) in &history {
                let ty = fleet
                    .assets
                    .iter()
                    .find(|x| &x.id == asset)
                    .unwrap()
                    .kind
                    .type_id();
                let ty = AssetTypeId::new(ty).unwrap();
                for r in readings {
                    detector.observe(r, &ty);
                }
            }
        }
        let due: Vec<String> = visits
            .iter()
            .filter(|(_, v)| v.0 <= t)
            .map(|(a, _)| a.clone())
            .collect();
        for asset in due {
            let (at, finding, mode) = visits.remove(&asset).unwrap();
            let a = fleet.asset_mut(&asset).unwrap();
            let found = a.inspect(at);
            let id = AssetId::new(&asset).unwrap();
            if found.machine.is_some() && mode != "sensor_fault" {
                a.repair_machine(at, 0);
                detector.repair(&id, at, &[]);
                repair_log.push((id.clone(), at, Vec::new()));
                repairs += 1;
            } else if found.sensor.is_some() && mode == "sensor_fault" {
                a.repair_sensor(at, 0);
                detector.repair(&id, at, &[]);
                repair_log.push((id.clone(), at, Vec::new()));
                repairs += 1;
            } else if found.machine.is_none() && found.sensor.is_none() {
                let day = (finding.detected_at_ms - start) as f64 / DAY_MS as f64;
                let devs: Vec<String> = finding
                    .deviations
                    .iter()
                    .map(|d| {
                        format!(
                            "{} {:.1} ({} vs {:.2})",
                            d.sensor, d.score, d.value, d.baseline
                        )
                    })
                    .collect();
                false_alarms.push(format!("seed {seed} {asset} {mode} day {day:.1}: {devs:?}"));
                let sensors: Vec<SensorName> = finding
                    .deviations
                    .iter()
                    .map(|d| d.sensor.clone())
                    .collect();
                detector.repair(&id, at, &sensors);
                repair_log.push((id.clone(), at, sensors));
            }
        }
        for a in fleet.assets.iter_mut() {
            let Some(values) = a.sample(t) else { continue };
            let asset = AssetId::new(&a.id).unwrap();
            let ty = AssetTypeId::new(a.kind.type_id()).unwrap();
            // In the order the service decodes a payload's metrics: by name.
            let mut readings: Vec<(&str, f64)> =
                a.kind.sensors().iter().copied().zip(values).collect();
            readings.sort_by(|x, y| x.0.cmp(y.0));
            for (sensor, v) in readings {
                if !v.is_finite() {
                    continue;
                }
                let r = Reading {
                    asset: asset.clone(),
                    sensor: SensorName::new(sensor).unwrap(),
                    ts_ms: t,
                    value: v,
                };
                let found = detector.observe(&r, &ty);
                if keep {
                    history.entry(a.id.clone()).or_default().push(r);
                }
                let Some(f) = found else {
                    continue;
                };
                let Some(mode) = forewarn_alerting::classify(&catalog, &f) else {
                    continue;
                };
                let mode = if mode.kind == ModeKind::Instrumentation {
                    "sensor_fault".to_string()
                } else {
                    mode.id.to_string()
                };
                visits
                    .entry(a.id.clone())
                    .or_insert((t + CREW_DELAY_MS, f, mode));
            }
        }
    }
    (false_alarms, repairs)
}
