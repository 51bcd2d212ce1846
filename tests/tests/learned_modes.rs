//! Issue 4: a failure-mode classifier learnt from labelled history rescues a catalog whose
//! signature is wrong. The impeller-wear signature here also asks for a falling speed, which
//! impeller wear never causes, so the rules never recognise it; the classifier learns from the
//! simulator's ground truth on seeds 0–9 and is judged on seeds 100–109.

use std::collections::BTreeMap;

use forewarn_alerting::learned::LearnedModes;
use forewarn_domain::{Catalog, FailureModeId, Finding, ModeKind};
use forewarn_simulators::{Fleet, FleetConfig, GroundTruth};
use forewarn_tests::replay::replay;

const DAY_MS: i64 = 86_400_000;
const END_MS: i64 = 1_790_000_000_000;

fn strict_catalog() -> Catalog {
    let right = r#"signature = { flow = "down", discharge_pressure = "down" }"#;
    let wrong = r#"signature = { flow = "down", discharge_pressure = "down", speed = "down" }"#;
    assert!(forewarn::config::BUILTIN_CATALOG.contains(right));
    Catalog::from_toml(&forewarn::config::BUILTIN_CATALOG.replace(right, wrong)).unwrap()
}

/// Every machine finding of a seeded fleet, with the ground truth.
fn findings(seed: u64, catalog: &Catalog) -> (Vec<(String, i64, Finding)>, Vec<GroundTruth>) {
    let mut cfg = FleetConfig::ending_at(seed, 20, END_MS, 21 * DAY_MS);
    cfg.faults = 6;
    cfg.sensor_faults = 0;
    cfg.interval_ms = 5 * 60_000;
    let mut fleet = Fleet::new(cfg).unwrap();
    let truth = fleet.ground_truth();
    let mut out = Vec::new();
    replay(&mut fleet, catalog, |asset, t, f| {
        if !f.is_instrumentation() {
            out.push((asset.to_string(), t, f));
        }
    });
    (out, truth)
}

#[test]
fn a_learnt_classifier_catches_what_a_wrong_signature_misses() {
    let catalog = strict_catalog();
    // Labelled history: findings on faulty assets while the fault develops, with the true mode
    // (what a planner confirms when resolving the ticket).
    let mut history: Vec<(Finding, FailureModeId)> = Vec::new();
    for seed in 0..10 {
        let (found, truth) = findings(seed, &catalog);
        for (asset, t, f) in found {
            let during =
                |g: &&GroundTruth| g.asset == asset && (g.onset_ms..g.failure_ms).contains(&t);
            if let Some(g) = truth.iter().find(during) {
                history.push((f, g.failure_mode.parse().unwrap()));
            }
        }
    }
    let learned = LearnedModes::train(&catalog, &history);
    assert_eq!(learned.types(), 2, "{learned:?}");

    let (mut impeller, mut by_rules, mut by_model, mut wrong, mut false_alerts) = (0, 0, 0, 0, 0);
    for seed in 100..110 {
        let (found, truth) = findings(seed, &catalog);
        let mut first: BTreeMap<(String, String), (i64, bool)> = BTreeMap::new();
        for (asset, t, f) in &found {
            let (mode, learnt) = match forewarn_alerting::classify(&catalog, f) {
                Some(m) => (m, false),
                None => match learned.predict(&catalog, f) {
                    Some((m, _)) => (m, true),
                    None => continue,
                },
            };
            assert_eq!(mode.kind, ModeKind::Machine);
            first
                .entry((asset.clone(), mode.id.to_string()))
                .or_insert((*t, learnt));
        }
        for (asset, mode) in first.keys() {
            match truth.iter().find(|g| &g.asset == asset) {
                None => false_alerts += 1,
                Some(g) if &g.failure_mode != mode => wrong += 1,
                Some(_) => {}
            }
        }
        for g in truth.iter().filter(|g| g.failure_mode == "impeller_wear") {
            impeller += 1;
            match first.get(&(g.asset.clone(), g.failure_mode.clone())) {
                Some((t, false)) if *t < g.failure_ms => by_rules += 1,
                Some((t, true)) if *t < g.failure_ms => by_model += 1,
                _ => {}
            }
        }
    }
    println!(
        "impeller faults {impeller}: by the rules {by_rules}, by the learnt model {by_model}; wrong modes {wrong}, alerts on healthy assets {false_alerts}"
    );
    assert_eq!(by_rules, 0, "the wrong signature never matches");
    assert!(by_model * 100 >= impeller * 95, "{by_model} of {impeller}");
    assert_eq!(wrong, 0);
    assert_eq!(false_alerts, 0);
}
