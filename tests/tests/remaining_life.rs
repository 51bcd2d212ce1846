//! Remaining-life promises kept: over seeded fleets whose faults run to failure, the share of
//! true failure times inside each estimate's 90 % interval, overall, per failure mode and per
//! time to go; no estimate of "due now" on an asset still running.

use std::collections::BTreeMap;

use forewarn_domain::{Catalog, ModeKind};
use forewarn_simulators::{Fleet, FleetConfig};
use forewarn_tests::replay::replay;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: f64 = 3.6e6;

/// One estimate set against the truth.
struct Scored {
    mode: String,
    to_go_h: f64,
    hours: f64,
    low: f64,
    high: Option<f64>,
}

impl Scored {
    fn inside(&self) -> bool {
        self.low <= self.to_go_h && self.high.is_none_or(|h| self.to_go_h <= h)
    }
}

/// Every machine finding of a faulty asset, classified to its true mode, before failure.
fn estimates(seeds: std::ops::Range<u64>) -> Vec<Scored> {
    let catalog = Catalog::from_toml(forewarn::config::BUILTIN_CATALOG).unwrap();
    let mut out = Vec::new();
    for seed in seeds {
        let mut cfg = FleetConfig::ending_at(seed, 20, 1_790_000_000_000, 28 * DAY_MS);
        cfg.faults = 6;
        cfg.sensor_faults = 0;
        cfg.interval_ms = 5 * 60_000;
        let mut fleet = Fleet::new(cfg).unwrap();
        let truth = fleet.ground_truth();
        replay(&mut fleet, &catalog, |asset, t, f| {
            let Some(g) = truth.iter().find(|g| g.asset == asset) else {
                return;
            };
            let Some(mode) = forewarn_alerting::classify(&catalog, &f) else {
                return;
            };
            if mode.kind == ModeKind::Instrumentation || mode.id.as_str() != g.failure_mode {
                return;
            }
            let Some(ttf) = f.health.as_ref().and_then(|h| h.time_to_failure_h) else {
                return;
            };
            if t < g.failure_ms {
                out.push(Scored {
                    mode: g.failure_mode.clone(),
                    to_go_h: (g.failure_ms - t) as f64 / HOUR_MS,
                    hours: ttf.hours,
                    low: ttf.low,
                    high: ttf.high,
                });
            }
        });
    }
    out
}

fn coverage<'a>(scored: impl Iterator<Item = &'a Scored>) -> (usize, usize) {
    scored.fold((0, 0), |(i, n), s| (i + usize::from(s.inside()), n + 1))
}

#[test]
fn ninety_percent_intervals_hold_ninety_percent_of_failures() {
    // Other seeds for a wider look: FOREWARN_RUL_SEEDS=500..520.
    let seeds = std::env::var("FOREWARN_RUL_SEEDS")
        .ok()
        .and_then(|r| {
            let (a, b) = r.split_once("..")?;
            Some(a.parse().ok()?..b.parse().ok()?)
        })
        .unwrap_or(400..430);
    let scored = estimates(seeds);
    if let Ok(path) = std::env::var("FOREWARN_RUL_DUMP") {
        let rows: Vec<String> = scored
            .iter()
            .map(|s| {
                format!(
                    "{},{:.2},{:.2},{:.2},{}",
                    s.mode,
                    s.to_go_h,
                    s.hours,
                    s.low,
                    s.high.map_or("inf".into(), |h| format!("{h:.2}"))
                )
            })
            .collect();
        std::fs::write(
            path,
            format!("mode,to_go_h,hours,low,high\n{}\n", rows.join("\n")),
        )
        .unwrap();
    }
    let (inside, n) = coverage(scored.iter());
    let mut by: BTreeMap<String, Vec<&Scored>> = BTreeMap::new();
    for s in &scored {
        by.entry(s.mode.clone()).or_default().push(s);
        let bucket = match s.to_go_h {
            h if h < 24.0 => "to go < 24 h",
            h if h < 72.0 => "to go 24-72 h",
            h if h < 168.0 => "to go 72-168 h",
            _ => "to go >= 168 h",
        };
        by.entry(bucket.into()).or_default().push(s);
    }
    println!(
        "90 % intervals: {inside}/{n} = {:.1} %",
        100.0 * inside as f64 / n as f64
    );
    for (k, v) in &by {
        let (i, m) = coverage(v.iter().copied());
        println!("  {k}: {i}/{m} = {:.1} %", 100.0 * i as f64 / m as f64);
    }
    let due_now = scored.iter().filter(|s| s.hours <= 0.0).count();
    println!("estimates of 0 h on a running asset: {due_now}");
    assert!(n >= 50, "too few estimates to judge: {n}");
    let share = inside as f64 / n as f64;
    assert!((0.85..=0.95).contains(&share), "coverage {share:.3}");
    assert_eq!(due_now, 0);
}
