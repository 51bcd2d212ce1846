//! Failure levels learnt from the fleet (issue 18): a catalog whose `failure_scores` are half
//! the truth makes every remaining-life estimate too short; as repairs close tickets — most
//! before failure, every third left to fail and repaired after — the detector re-learns the
//! levels and its estimates come right. The same year is run twice, with the repairs teaching
//! the levels and without; detection is the same in both, only the estimates differ.
//!
//! Through the detector and classifier alone (no MQTT, no store), with hazard-driven faults and
//! a crew two hours behind each classified finding.

use std::collections::BTreeMap;

use forewarn_analytics::Detector;
use forewarn_domain::{
    AssetId, AssetTypeId, Catalog, Finding, LevelsVersion, ModeKind, Reading, Repair,
};
use forewarn_simulators::{Fleet, FleetConfig, Lifecycle};

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
const DAYS: i64 = 240;

/// The first estimate of each fault: (device time, estimated hours left, true hours left).
type Estimates = Vec<(i64, f64, f64)>;

#[test]
fn repairs_teach_the_failure_levels_and_remaining_life_comes_right() {
    let (plain, _) = year(0.5, false);
    let (learnt, version) = year(0.5, true);
    let (right, _) = year(1.0, false);
    assert_eq!(
        plain.len(),
        learnt.len(),
        "the same faults found either way"
    );
    let version = version.expect("levels re-learnt");
    assert!(version.version >= 5, "{version:?}");
    assert!(version.failures >= 1 && version.repairs >= 1, "{version:?}");
    // Error of an estimate: how many times too short or too long (1 = right).
    let late = |e: &Estimates| -> Vec<f64> {
        let mut v: Vec<f64> = e
            .iter()
            .filter(|(t, ..)| *t > start() + DAYS / 2 * DAY_MS)
            // An hour added to both: an estimate of 0 h (already past its level) is not ×∞.
            .map(|(_, est, truth)| ((est + 1.0) / (truth + 1.0)).ln().abs().exp())
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let (p, l) = (late(&plain), late(&learnt));
    assert!(p.len() >= 10, "{} estimates in the second half", p.len());
    let median = |v: &[f64]| v[v.len() / 2];
    println!(
        "second half: {} estimates; median error ×{:.2} with the catalog's halved levels, ×{:.2} learnt from them ({version:?}), ×{:.2} with the catalog's own",
        p.len(),
        median(&p),
        median(&l),
        median(&late(&right))
    );
    // Halved levels make estimates far too short (since issue 19 not "0 h": a running machine
    // past its level gets the level distribution's upper tail, which softened this from ×46.7
    // to ×6.8); learnt ones come within a small factor of the truth (×2.3 measured).
    assert!(
        median(&l) < median(&p) / 2.0,
        "learnt ×{:.2} vs ×{:.2}",
        median(&l),
        median(&p)
    );
}

fn start() -> i64 {
    1_790_000_000_000 - DAYS * DAY_MS
}

/// The catalog with every failure level scaled by `scale`: a prior wrong by that factor.
fn scaled_catalog(scale: f64) -> Catalog {
    let mut catalog = Catalog::from_toml(forewarn::config::BUILTIN_CATALOG).unwrap();
    for ty in catalog.asset_types.values_mut() {
        for mode in &mut ty.failure_modes {
            for level in mode.failure_scores.values_mut() {
                *level *= scale;
            }
        }
    }
    catalog
}

/// One fleet's span with the catalog's levels scaled by `scale`: the first estimate of every
/// fault found, and the levels' last version.
fn year(scale: f64, learn: bool) -> (Estimates, Option<LevelsVersion>) {
    let catalog = scaled_catalog(scale);
    let mut cfg = FleetConfig::ending_at(77, 20, 1_790_000_000_000, DAYS * DAY_MS);
    cfg.interval_ms = 10 * 60_000;
    cfg.lifecycle = Some(Lifecycle::default());
    cfg.sensor_faults = 0;
    let mut fleet = Fleet::new(cfg).unwrap();
    let ticks: Vec<i64> = fleet.ticks().collect();
    let mut detector = Detector::default().with_catalog(&catalog);
    // Asset → (crew visit time, the machine failed before it).
    let mut visits: BTreeMap<String, (i64, bool)> = BTreeMap::new();
    let mut estimates = Estimates::new();
    let mut version = None;
    let mut tickets = 0;
    for t in ticks {
        let due: Vec<(String, bool)> = visits
            .iter()
            .filter(|(_, v)| v.0 <= t)
            .map(|(a, v)| (a.clone(), v.1))
            .collect();
        for (asset, failed) in due {
            let at = visits.remove(&asset).map_or(t, |v| v.0);
            let a = fleet.asset_mut(&asset).unwrap();
            let Some(mode) = a.inspect(at).machine else {
                continue;
            };
            a.repair_machine(at, 0);
            let repair = Repair {
                asset: AssetId::new(&asset).unwrap(),
                at_ms: at,
                ticket_id: 0,
                failure_mode: mode.parse().unwrap(),
                sensors: Vec::new(),
                failed,
            };
            if learn {
                detector.resolved(&repair);
            } else {
                detector.repair(&repair.asset, at, &[]);
            }
        }
        let truth = fleet.ground_truth();
        for a in fleet.assets.iter_mut() {
            let asset = AssetId::new(&a.id).unwrap();
            let ty = AssetTypeId::new(a.kind.type_id()).unwrap();
            let Some(values) = a.sample(t) else {
                // Stopped by its failure: the crew comes four hours later.
                if let Some(g) = truth
                    .iter()
                    .find(|g| g.asset == a.id && g.repaired_ms.is_none())
                {
                    visits
                        .entry(a.id.clone())
                        .or_insert((g.failure_ms + 4 * HOUR_MS, true));
                }
                continue;
            };
            for (sensor, v) in a.kind.sensors().iter().zip(values) {
                if !v.is_finite() {
                    continue;
                }
                let r = Reading {
                    asset: asset.clone(),
                    sensor: sensor.parse().unwrap(),
                    ts_ms: t,
                    value: v,
                };
                let Some(f) = detector.observe(&r, &ty) else {
                    continue;
                };
                if let Some(v) = f.health.as_ref().and_then(|h| h.levels) {
                    version = Some(v);
                }
                let Some(g) = truth
                    .iter()
                    .find(|g| g.asset == a.id && g.repaired_ms.is_none() && g.onset_ms <= t)
                else {
                    continue;
                };
                if visits.contains_key(&a.id) || !classified_as(&catalog, &f, &g.failure_mode) {
                    continue;
                }
                if let Some(hours) = estimate(&catalog, &f, &ty, &g.failure_mode) {
                    estimates.push((t, hours, (g.failure_ms - t) as f64 / HOUR_MS as f64));
                }
                // Every third ticket is left to run to failure.
                tickets += 1;
                if tickets % 3 != 0 {
                    visits.insert(a.id.clone(), (t + 2 * HOUR_MS, false));
                } else {
                    visits.insert(a.id.clone(), (g.failure_ms + 4 * HOUR_MS, true));
                }
            }
        }
    }
    (estimates, version)
}

fn classified_as(catalog: &Catalog, f: &Finding, mode: &str) -> bool {
    forewarn_alerting::classify(catalog, f)
        .is_some_and(|m| m.kind == ModeKind::Machine && m.id.as_str() == mode)
}

/// The soonest estimate among the mode's signature sensors.
fn estimate(catalog: &Catalog, f: &Finding, ty: &AssetTypeId, mode: &str) -> Option<f64> {
    let m = catalog
        .asset_type(ty)?
        .failure_mode(&mode.parse().ok()?)?
        .clone();
    f.deviations
        .iter()
        .filter(|d| m.signature.contains_key(&d.sensor))
        .filter_map(|d| d.time_to_failure_h.map(|e| e.hours))
        .min_by(f64::total_cmp)
}
