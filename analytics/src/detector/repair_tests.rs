//! Repairs: re-baselining, judging the new normal, and replays that match live.

use forewarn_domain::{AssetId, AssetTypeId, Direction, Finding, Reading, SensorName};

use super::healthy_after_repair;
use crate::Detector;
use crate::baseline::tests::wobble;
use crate::detector::tests::fan_catalog;

const MIN: i64 = 60_000;
const DAY: i64 = 24 * 60;

/// One fan's temperature: 40 °C with noise, `wear(minute)` added.
fn feed(
    d: &mut Detector,
    from: i64,
    to: i64,
    wear: impl Fn(i64) -> f64,
    repairs: &[(i64, bool)],
) -> Vec<Finding> {
    let (ty, asset, temp) = ids();
    let mut findings = Vec::new();
    for i in from..to {
        for (at, live) in repairs {
            // Live, the repair arrives once the reading at its moment has been seen.
            if *live && i == at + 1 {
                d.repair(&asset, at * MIN, &[]);
            }
        }
        let r = Reading {
            asset: asset.clone(),
            sensor: temp.clone(),
            ts_ms: i * MIN,
            value: 40.0 + 0.5 * wobble(i) + wear(i),
        };
        findings.extend(d.observe(&r, &ty));
    }
    findings
}

fn ids() -> (AssetTypeId, AssetId, SensorName) {
    (
        AssetTypeId::new("fan").unwrap(),
        AssetId::new("fan-1").unwrap(),
        SensorName::new("temp").unwrap(),
    )
}

/// Overheating from day 2, repaired on day 4 (the wear gone, the new normal half a degree
/// warmer: new parts are not identical).
fn repaired_fan(i: i64) -> f64 {
    let repair = 4 * DAY;
    if i > repair {
        0.5
    } else if i > 2 * DAY {
        (i - 2 * DAY) as f64 / 60.0 * 0.5
    } else {
        0.0
    }
}

#[test]
fn a_repaired_sensor_learns_its_new_normal_and_the_asset_is_healthy_again() {
    let (_, asset, _) = ids();
    let mut d = Detector::default().with_catalog(&fan_catalog());
    let findings = feed(&mut d, 0, 10 * DAY, repaired_fan, &[(4 * DAY, true)]);
    let before: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.detected_at_ms <= 4 * DAY * MIN)
        .collect();
    assert!(!before.is_empty(), "the overheating is found");
    assert!(
        findings.iter().all(|f| f.detected_at_ms <= 4 * DAY * MIN),
        "nothing after the repair: {:?}",
        findings.last()
    );
    assert_eq!(d.repaired_at(&asset), Some(4 * DAY * MIN));
    let h = d.health(&asset).unwrap();
    let base = h.sensors[0].baseline.unwrap();
    assert!((base - 40.5).abs() < 0.3, "the new normal: {base}");
    let index = h.health.unwrap().index;
    assert!(index > 0.9, "healthy again: {index}");
    let versions: Vec<u32> = d.take_fitted().iter().map(|m| m.version).collect();
    assert!(
        versions.ends_with(&[2]) || versions.contains(&2),
        "{versions:?}"
    );
}

#[test]
fn a_bad_repair_is_not_learnt_as_healthy_and_its_deviation_is_a_new_episode() {
    let mut d = Detector::default().with_catalog(&fan_catalog());
    // Still 12 °C too warm after the "repair".
    let wear = |i: i64| {
        if i > 2 * DAY {
            ((i - 2 * DAY) as f64 / 60.0 * 0.5).min(12.0)
        } else {
            0.0
        }
    };
    let findings = feed(&mut d, 0, 8 * DAY, wear, &[(4 * DAY, true)]);
    let after: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.detected_at_ms > 4 * DAY * MIN)
        .collect();
    let first = after.first().expect("the deviation is found again");
    assert!(
        first.began_ms() > 5 * DAY * MIN,
        "it began after the new warm-up, not before the repair: {}",
        first.began_ms() / MIN
    );
    let (_, asset, _) = ids();
    let base = d.health(&asset).unwrap().sensors[0].baseline.unwrap();
    assert!((base - 40.0).abs() < 0.3, "the old normal is kept: {base}");
}

#[test]
fn a_replay_that_knows_the_repair_finds_what_live_found() {
    let mut live = Detector::default().with_catalog(&fan_catalog());
    let live_findings = feed(&mut live, 0, 10 * DAY, repaired_fan, &[(4 * DAY, true)]);
    let (_, asset, _) = ids();
    let mut replay = Detector::default().with_catalog(&fan_catalog());
    replay.repair(&asset, 4 * DAY * MIN, &[]);
    replay.repair(&asset, 4 * DAY * MIN, &[]); // listed twice: applied once
    let replayed = feed(&mut replay, 0, 10 * DAY, repaired_fan, &[]);
    assert_eq!(live_findings, replayed);
    assert_eq!(
        live.health(&asset).unwrap().sensors[0].baseline,
        replay.health(&asset).unwrap().sensors[0].baseline
    );
}

#[test]
fn the_fleet_and_the_range_judge_a_new_normal() {
    let prior = (40.0, 1.0);
    let fleet = || vec![38.0, 39.0, 40.0, 41.0, 42.0, 40.5];
    // Close to its own old normal.
    assert!(healthy_after_repair(
        (42.0, 1.0),
        prior,
        &mut fleet(),
        None,
        3.5
    ));
    // Far from its old normal but among its healthy peers.
    assert!(healthy_after_repair(
        (44.5, 1.0),
        (36.0, 0.5),
        &mut fleet(),
        None,
        3.5
    ));
    // Far from both: a bad repair.
    assert!(!healthy_after_repair(
        (55.0, 1.0),
        prior,
        &mut fleet(),
        None,
        3.5
    ));
    // No fleet to compare with: only its own normal counts.
    assert!(!healthy_after_repair(
        (44.5, 1.0),
        (36.0, 0.5),
        &mut [],
        None,
        3.5
    ));
    // Outside the physical range, whatever else.
    assert!(!healthy_after_repair(
        (42.0, 1.0),
        prior,
        &mut fleet(),
        Some((0.0, 41.0)),
        3.5
    ));
}

/// A machine that stops (a failure, a shutdown) and comes back days later is not a set of
/// dropped-out sensors: each sensor's silence counts from the asset's return. (Every repaired
/// failure opened a false instrumentation ticket.) A sensor that stays silent after the return
/// is still a dropout.
#[test]
fn a_machine_that_stops_and_comes_back_is_not_a_dropout() {
    let ty = AssetTypeId::new("fan").unwrap();
    let asset = AssetId::new("fan-1").unwrap();
    let (a, b) = (
        SensorName::new("temp").unwrap(),
        SensorName::new("speed").unwrap(),
    );
    let mut d = Detector::default();
    let feed = |d: &mut Detector, i: i64, sensors: &[&SensorName]| -> Vec<Finding> {
        sensors
            .iter()
            .filter_map(|s| {
                let r = Reading {
                    asset: asset.clone(),
                    sensor: (*s).clone(),
                    ts_ms: i * MIN,
                    value: 40.0 + 0.5 * wobble(i),
                };
                d.observe(&r, &ty)
            })
            .collect()
    };
    let mut findings = Vec::new();
    for i in 0..3 * DAY {
        findings.extend(feed(&mut d, i, &[&a, &b]));
    }
    // Silent for two days, then back, sensor by sensor within the same minute.
    for i in 5 * DAY..6 * DAY {
        findings.extend(feed(&mut d, i, &[&a, &b]));
    }
    assert!(findings.is_empty(), "{findings:?}");
    // Now only one sensor reports: the other has dropped out.
    for i in 6 * DAY..6 * DAY + 60 {
        findings.extend(feed(&mut d, i, &[&a]));
    }
    assert!(
        findings
            .iter()
            .any(|f| f.sensor_faults.iter().any(|x| x.sensor == b)),
        "{findings:?}"
    );
}

/// A technician found nothing behind a deviation (`no_fault_found`): the sensors it named learn
/// their level as normal, so the same false alarm does not come back day after day.
#[test]
fn an_all_clear_teaches_the_named_sensor_its_normal() {
    let (_, asset, temp) = ids();
    let mut d = Detector::default().with_catalog(&fan_catalog());
    // Three degrees warmer from day 2 on: a new operating point, not a fault.
    let warmer = |i: i64| if i > 2 * DAY { 3.0 } else { 0.0 };
    let before = feed(&mut d, 0, 3 * DAY, warmer, &[]);
    assert!(!before.is_empty(), "the shift is found");
    d.repair(&asset, 3 * DAY * MIN, std::slice::from_ref(&temp));
    let after = feed(&mut d, 3 * DAY, 8 * DAY, warmer, &[]);
    assert!(after.is_empty(), "{after:?}");
    let base = d.health(&asset).unwrap().sensors[0].baseline.unwrap();
    assert!((base - 43.0).abs() < 0.3, "the level it learnt: {base}");
    assert_eq!(d.repaired_at(&asset), None, "an all-clear is not a repair");
}

/// Feeds `repaired_fan`'s history, the repair that found overheating arriving live (or, for a
/// replay, listed before the history); then a second overheating from day 8.
fn learn_levels(live: bool, failed: bool) -> (Detector, Vec<Finding>) {
    let (ty, asset, temp) = ids();
    let mut d = Detector::default().with_catalog(&fan_catalog());
    let repair = forewarn_domain::Repair {
        asset: asset.clone(),
        at_ms: 4 * DAY * MIN,
        ticket_id: 1,
        failure_mode: "overheat".parse().unwrap(),
        sensors: Vec::new(),
        failed,
    };
    if !live {
        d.resolved(&repair);
    }
    let mut findings = Vec::new();
    for i in 0..10 * DAY {
        if live && i == 4 * DAY + 1 {
            d.resolved(&repair);
        }
        let again = if i > 8 * DAY {
            (i - 8 * DAY) as f64 / 60.0 * 0.5
        } else {
            0.0
        };
        let r = Reading {
            asset: asset.clone(),
            sensor: temp.clone(),
            ts_ms: i * MIN,
            value: 40.0 + 0.5 * wobble(i) + repaired_fan(i) + again,
        };
        findings.extend(d.observe(&r, &ty));
    }
    (d, findings)
}

#[test]
fn a_repair_that_found_the_mode_teaches_its_failure_level_and_a_replay_learns_the_same() {
    let (ty, _, temp) = ids();
    let (live, findings) = learn_levels(true, false);
    let level = |d: &Detector| d.levels.levels(&ty).unwrap()[&(temp.clone(), Direction::Up)];
    // Repaired far beyond the catalog's 6 σ without failing: the level was too low.
    assert!(level(&live) > 9.0, "{}", level(&live));
    let version = live.levels.version(&ty).unwrap();
    assert_eq!(
        (version.version, version.repairs, version.failures),
        (1, 1, 0)
    );
    let before: Vec<_> = findings
        .iter()
        .filter(|f| f.detected_at_ms <= 4 * DAY * MIN)
        .collect();
    let after: Vec<_> = findings
        .iter()
        .filter(|f| f.detected_at_ms > 8 * DAY * MIN)
        .collect();
    assert!(!before.is_empty() && !after.is_empty());
    let named = |f: &Finding| f.health.as_ref().and_then(|h| h.levels).map(|l| l.version);
    assert!(
        before.iter().all(|f| named(f) == Some(0)),
        "{:?}",
        before[0].health
    );
    assert!(
        after.iter().all(|f| named(f) == Some(1)),
        "{:?}",
        after[0].health
    );
    // A restart replays the stored repair at the same moment of the same history.
    let (replay, _) = learn_levels(false, false);
    assert_eq!(level(&replay), level(&live));
    assert_eq!(replay.levels.version(&ty), Some(version));
    // A machine that failed there shows the level itself: it moves further than a repair
    // short of failing (a lower bound) does.
    let (failed, _) = learn_levels(true, true);
    assert!(level(&failed) > 6.0);
    assert_eq!(failed.levels.version(&ty).map(|v| v.failures), Some(1));
}
