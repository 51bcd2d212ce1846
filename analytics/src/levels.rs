//! Failure levels learnt from the fleet: how far (robust σ) a signature sensor has deviated
//! when its mode fails, re-estimated from what resolved tickets saw.
//!
//! The catalog's `failure_scores` are the prior. Each resolved ticket adds what its sensor
//! had reached: a machine that **failed** shows the level itself; a machine **repaired before
//! failing** shows only that the level lies above what it reached (a censored observation —
//! most tickets are of this kind, which is the point of predicting). Levels vary from machine to
//! machine by a factor, so they are modelled log-normal with a fixed spread
//! ([`LOG_SPREAD`]); the estimate is the maximum a-posteriori log level, the prior counting as
//! [`PRIOR_WEIGHT`] failures:
//!
//! `argmax_μ  −w(μ − ln prior)²/2σ²  + Σ_failed −(ln x − μ)²/2σ²  + Σ_repaired ln S((ln x − μ)/σ)`
//!
//! with `S` the normal survival function. The objective is concave, so a golden-section search
//! finds it. Repairs far below the level barely move it (`S ≈ 1`); repairs at or beyond it
//! push it up; failures pull it to where they happened.

/// Spread of failure levels between machines of one type (log scale: ±35 % at one σ), when the
/// catalog gives none for a sensor.
pub const LOG_SPREAD: f64 = 0.35;
/// How many failures the catalog's level counts as.
pub const PRIOR_WEIGHT: f64 = 3.0;
/// Search range around the prior, in log units (a factor of e³ ≈ 20 either way).
const RANGE: f64 = 3.0;

/// What one resolved ticket saw on one signature sensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelEvidence {
    /// The deviation it had reached (robust σ, in the mode's direction: positive).
    pub score: f64,
    /// The machine failed at it (else it was repaired before failing).
    pub failed: bool,
}

/// A learnt failure level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LearntLevel {
    /// The level (robust σ).
    pub level: f64,
    /// Failures among the evidence.
    pub failures: usize,
    /// Repairs before failure among the evidence.
    pub repairs: usize,
}

/// The failure level after `evidence`, from the catalog's `prior` and the spread of levels
/// between machines (`spread`, log scale). Evidence that is not a positive finite score is left
/// out.
pub fn learn(prior: f64, spread: f64, evidence: &[LevelEvidence]) -> LearntLevel {
    let usable: Vec<LevelEvidence> = evidence
        .iter()
        .copied()
        .filter(|e| e.score.is_finite() && e.score > 0.0)
        .collect();
    let failures = usable.iter().filter(|e| e.failed).count();
    let repairs = usable.len() - failures;
    let mu0 = prior.ln();
    let objective = |mu: f64| {
        let z = |x: f64| (x.ln() - mu) / spread;
        let prior_term = -PRIOR_WEIGHT * ((mu - mu0) / spread).powi(2) / 2.0;
        usable.iter().fold(prior_term, |acc, e| {
            acc + if e.failed {
                -z(e.score).powi(2) / 2.0
            } else {
                log_survival(z(e.score))
            }
        })
    };
    let mu = golden_max(objective, mu0 - RANGE, mu0 + RANGE);
    LearntLevel {
        level: mu.exp(),
        failures,
        repairs,
    }
}

/// The spread to expect of one machine's level around a learnt one: machines' own spread plus
/// the uncertainty of the learnt median, which the prior and each failure narrow.
pub fn predictive_spread(spread: f64, failures: usize) -> f64 {
    spread * (1.0 + 1.0 / (PRIOR_WEIGHT + failures as f64)).sqrt()
}

/// The `p`-quantile of a machine's failure level that is known to lie above `reached` (the
/// machine has not failed at what its sensor shows now): log-normal around `level` with log
/// spread `spread`, truncated below `reached`. Above the usual level, the remaining levels are
/// the distribution's upper tail — never "already there" for a machine still running.
pub fn level_above(level: f64, spread: f64, reached: f64, p: f64) -> f64 {
    let below = if reached > 0.0 {
        normal_cdf((reached.ln() - level.ln()) / spread)
    } else {
        0.0
    };
    let u = (below + p * (1.0 - below)).clamp(1e-12, 1.0 - 1e-12);
    let quantile = (level.ln() + spread * normal_quantile(u)).exp();
    quantile.max(reached)
}

/// P(Z ≤ z) for a standard normal Z.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// The standard normal quantile: Acklam's rational approximation (relative error below
/// 1.2e-9), then one Newton step on [`normal_cdf`].
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    // One Newton step: error(x) / density(x).
    let density = (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    if density > 0.0 {
        x - (normal_cdf(x) - p) / density
    } else {
        x
    }
}

/// ln P(Z > z) for a standard normal Z, accurate far into both tails.
fn log_survival(z: f64) -> f64 {
    let s = 0.5 * libm::erfc(z / std::f64::consts::SQRT_2);
    if s > 0.0 {
        s.ln()
    } else {
        // Beyond erfc's range: the asymptote ln φ(z) − ln z.
        -z * z / 2.0 - z.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
    }
}

/// The maximum of a concave `f` on `[lo, hi]`.
fn golden_max(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
    let r = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (hi - r * (hi - lo), lo + r * (hi - lo));
    let (mut fa, mut fb) = (f(a), f(b));
    while hi - lo > 1e-9 {
        if fa < fb {
            lo = a;
            (a, fa) = (b, fb);
            b = lo + r * (hi - lo);
            fb = f(b);
        } else {
            hi = b;
            (b, fb) = (a, fa);
            a = hi - r * (hi - lo);
            fa = f(a);
        }
    }
    (lo + hi) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(score: f64) -> LevelEvidence {
        LevelEvidence {
            score,
            failed: true,
        }
    }

    fn repaired(score: f64) -> LevelEvidence {
        LevelEvidence {
            score,
            failed: false,
        }
    }

    #[test]
    fn without_evidence_the_prior_stands() {
        let l = learn(60.0, LOG_SPREAD, &[]);
        assert!((l.level - 60.0).abs() < 1e-6, "{l:?}");
        assert_eq!((l.failures, l.repairs), (0, 0));
    }

    #[test]
    fn failures_pull_the_level_to_where_machines_failed() {
        // The catalog says 60, the fleet fails at about 30: a few failures move it most of
        // the way, many move it all the way.
        let few: Vec<_> = [28.0, 31.0, 33.0].map(failed).to_vec();
        let many: Vec<_> = (0..40).map(|k| failed(27.0 + f64::from(k % 7))).collect();
        let (a, b) = (
            learn(60.0, LOG_SPREAD, &few),
            learn(60.0, LOG_SPREAD, &many),
        );
        assert!(a.level < 45.0 && a.level > 30.0, "{a:?}");
        assert!((b.level - 30.0).abs() < 3.0, "{b:?}");
        assert_eq!(b.failures, 40);
    }

    #[test]
    fn repairs_below_the_level_barely_move_it_and_repairs_beyond_it_raise_it() {
        let early: Vec<_> = (0..20).map(|_| repaired(15.0)).collect();
        let l = learn(60.0, LOG_SPREAD, &early);
        assert!((l.level - 60.0).abs() < 1.0, "{l:?}");
        assert_eq!(l.repairs, 20);
        // Machines repaired at 70–90 had not failed: 60 was too low.
        let late: Vec<_> = [70.0, 80.0, 90.0, 75.0, 85.0].map(repaired).to_vec();
        let l = learn(60.0, LOG_SPREAD, &late);
        assert!(l.level > 75.0, "{l:?}");
    }

    #[test]
    fn unusable_evidence_is_left_out() {
        let l = learn(
            8.0,
            LOG_SPREAD,
            &[failed(f64::NAN), failed(-3.0), repaired(0.0)],
        );
        assert!((l.level - 8.0).abs() < 1e-6);
        assert_eq!((l.failures, l.repairs), (0, 0));
    }

    #[test]
    fn the_survival_tail_is_finite_far_out() {
        assert!(log_survival(40.0).is_finite() && log_survival(40.0) < -700.0);
        assert!((log_survival(0.0) - 0.5f64.ln()).abs() < 1e-12);
        assert!(log_survival(-40.0).abs() < 1e-12);
    }

    #[test]
    fn normal_quantiles_invert_the_cdf() {
        for p in [1e-9, 0.001, 0.05, 0.3, 0.5, 0.8, 0.95, 0.999, 1.0 - 1e-9] {
            let x = normal_quantile(p);
            assert!((normal_cdf(x) - p).abs() < 1e-9 * p.max(1e-3), "{p} {x}");
        }
        assert!((normal_quantile(0.95) - 1.644_853_6).abs() < 1e-6);
    }

    #[test]
    fn a_level_above_what_a_running_machine_reached() {
        // Far below the usual level: the plain log-normal quantiles.
        let median = level_above(10.0, 0.3, 1.0, 0.5);
        assert!((median - 10.0).abs() < 1e-6, "{median}");
        let high = level_above(10.0, 0.3, 1.0, 0.95);
        assert!(
            (high - 10.0 * (0.3 * 1.644_853_6_f64).exp()).abs() < 1e-3,
            "{high}"
        );
        // Beyond it: still above what was reached, the more so the higher the quantile.
        let (lo, mid, hi) = (
            level_above(10.0, 0.3, 20.0, 0.05),
            level_above(10.0, 0.3, 20.0, 0.5),
            level_above(10.0, 0.3, 20.0, 0.95),
        );
        assert!(20.0 < lo && lo < mid && mid < hi, "{lo} {mid} {hi}");
        assert!(mid < 25.0, "the tail is thin: {mid}");
    }
}
