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

/// Spread of failure levels between machines of one type (log scale: ±35 % at one σ).
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

/// The failure level after `evidence`, from the catalog's `prior`. Evidence that is not a
/// positive finite score is left out.
pub fn learn(prior: f64, evidence: &[LevelEvidence]) -> LearntLevel {
    let usable: Vec<LevelEvidence> = evidence
        .iter()
        .copied()
        .filter(|e| e.score.is_finite() && e.score > 0.0)
        .collect();
    let failures = usable.iter().filter(|e| e.failed).count();
    let repairs = usable.len() - failures;
    let mu0 = prior.ln();
    let objective = |mu: f64| {
        let z = |x: f64| (x.ln() - mu) / LOG_SPREAD;
        let prior_term = -PRIOR_WEIGHT * ((mu - mu0) / LOG_SPREAD).powi(2) / 2.0;
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
        let l = learn(60.0, &[]);
        assert!((l.level - 60.0).abs() < 1e-6, "{l:?}");
        assert_eq!((l.failures, l.repairs), (0, 0));
    }

    #[test]
    fn failures_pull_the_level_to_where_machines_failed() {
        // The catalog says 60, the fleet fails at about 30: a few failures move it most of
        // the way, many move it all the way.
        let few: Vec<_> = [28.0, 31.0, 33.0].map(failed).to_vec();
        let many: Vec<_> = (0..40).map(|k| failed(27.0 + f64::from(k % 7))).collect();
        let (a, b) = (learn(60.0, &few), learn(60.0, &many));
        assert!(a.level < 45.0 && a.level > 30.0, "{a:?}");
        assert!((b.level - 30.0).abs() < 3.0, "{b:?}");
        assert_eq!(b.failures, 40);
    }

    #[test]
    fn repairs_below_the_level_barely_move_it_and_repairs_beyond_it_raise_it() {
        let early: Vec<_> = (0..20).map(|_| repaired(15.0)).collect();
        let l = learn(60.0, &early);
        assert!((l.level - 60.0).abs() < 1.0, "{l:?}");
        assert_eq!(l.repairs, 20);
        // Machines repaired at 70–90 had not failed: 60 was too low.
        let late: Vec<_> = [70.0, 80.0, 90.0, 75.0, 85.0].map(repaired).to_vec();
        let l = learn(60.0, &late);
        assert!(l.level > 75.0, "{l:?}");
    }

    #[test]
    fn unusable_evidence_is_left_out() {
        let l = learn(8.0, &[failed(f64::NAN), failed(-3.0), repaired(0.0)]);
        assert!((l.level - 8.0).abs() < 1e-6);
        assert_eq!((l.failures, l.repairs), (0, 0));
    }

    #[test]
    fn the_survival_tail_is_finite_far_out() {
        assert!(log_survival(40.0).is_finite() && log_survival(40.0) < -700.0);
        assert!((log_survival(0.0) - 0.5f64.ln()).abs() < 1e-12);
        assert!(log_survival(-40.0).abs() < 1e-12);
    }
}
