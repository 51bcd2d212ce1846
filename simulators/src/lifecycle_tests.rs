//! A fleet's whole life: hazard faults, repairs and repeat failures.

use crate::{Fleet, FleetConfig, Lifecycle};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn year(seed: u64) -> Fleet {
    Fleet::new(FleetConfig {
        lifecycle: Some(Lifecycle::default()),
        duty: None,
        interval_ms: 3_600_000,
        ..FleetConfig::ending_at(seed, 12, 1_780_000_000_000, 365 * DAY)
    })
    .unwrap()
}

/// Runs the fleet hour by hour; a perfect crew repairs every fault `after` its onset (or its
/// sensor fault), and every failed machine a day after it failed.
fn run(fleet: &mut Fleet, after: i64) {
    let ticks: Vec<i64> = fleet.ticks().collect();
    for t in ticks {
        for a in &mut fleet.assets {
            let found = a.inspect(t);
            let onset = a.truth.last().map(|g| g.onset_ms).unwrap_or(i64::MAX);
            let failed = a.failed(t).is_some_and(|(_, f)| t >= f + DAY);
            if found.machine.is_some() && (t >= onset + after || failed) {
                a.repair_machine(t, 1);
            }
            let s_onset = a
                .sensor_truth
                .last()
                .map(|g| g.onset_ms)
                .unwrap_or(i64::MAX);
            if found.sensor.is_some() && t >= s_onset + DAY {
                a.repair_sensor(t, 2);
            }
            a.sample(t);
        }
    }
}

#[test]
fn faults_come_back_after_repairs_and_never_overlap_a_sensor_fault() {
    let mut f = year(11);
    run(&mut f, 2 * DAY);
    let truth = f.ground_truth();
    // About two modes × two a year per asset, minus the time spent faulty.
    assert!((25..=80).contains(&truth.len()), "{} faults", truth.len());
    let repeats = f
        .assets
        .iter()
        .filter(|a| {
            a.truth.len() >= 2
                && a.truth
                    .windows(2)
                    .any(|w| w[0].failure_mode == w[1].failure_mode)
        })
        .count();
    assert!(
        repeats >= 2,
        "the same mode strikes an asset again: {repeats}"
    );
    for g in &truth {
        if let Some(r) = g.repaired_ms {
            assert!(!g.failed && r >= g.onset_ms);
        }
    }
    let sensors = f.sensor_fault_truth();
    assert!(!sensors.is_empty());
    for s in &sensors {
        let overlap = truth.iter().filter(|g| g.asset == s.asset).any(|g| {
            let g_end = g.repaired_ms.unwrap_or(i64::MAX);
            let s_end = s.repaired_ms.unwrap_or(i64::MAX);
            g.onset_ms < s_end && s.onset_ms < g_end
        });
        assert!(!overlap, "{s:?}");
    }
}

#[test]
fn a_fault_left_alone_fails_the_machine_until_a_repair() {
    let mut f = year(12);
    // Nobody repairs before failure: every machine fault fails, and comes back a day later.
    run(&mut f, 100 * DAY);
    let truth = f.ground_truth();
    let repaired: Vec<_> = truth.iter().filter(|g| g.repaired_ms.is_some()).collect();
    assert!(!repaired.is_empty());
    assert!(repaired.iter().all(|g| g.failed), "{repaired:?}");
}

#[test]
fn a_repair_resets_wear_and_shifts_the_normal_slightly() {
    let mut f = year(13);
    let a = &mut f.assets[0];
    let before = a.nameplate.clone();
    let mode = crate::FaultMode::BearingWear;
    a.start_fault(mode, 1_780_000_000_000 - 200 * DAY, 5 * DAY);
    a.repair_machine(1_780_000_000_000 - 199 * DAY, 7);
    assert!(a.fault.is_none());
    let g = a.truth.last().unwrap();
    assert_eq!((g.ticket_id, g.failed), (Some(7), false));
    let moved = a.nameplate.vibration / before.vibration;
    assert!(moved != 1.0 && (0.975..=1.025).contains(&moved), "{moved}");
    assert_eq!(
        a.nameplate.speed, before.speed,
        "untouched parts read the same"
    );
}

#[test]
fn the_same_seed_lives_the_same_life() {
    let (mut a, mut b) = (year(14), year(14));
    run(&mut a, 3 * DAY);
    run(&mut b, 3 * DAY);
    assert_eq!(a.ground_truth(), b.ground_truth());
    assert_eq!(a.sensor_fault_truth(), b.sensor_fault_truth());
}
