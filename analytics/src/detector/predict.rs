//! The normal a sensor should show at an operating point the asset has not run at yet.
//!
//! Flow, head, current, vibration and temperature rise follow the drive's speed by power laws
//! (the affinity laws), so across an asset's known points a sensor's normal level is fitted as
//! `level = a · reference^k` (least squares in logs; a warm-up under way counts with its median
//! so far). The prediction is what the new point's warm-up is judged against: a fault that
//! develops while a new set point is being learnt is not learnt as its normal.
//!
//! Only the asset's own points count, not the fleet's: a restart rebuilds the detector by
//! replaying each asset's history in turn, and a judgement that depended on how far the other
//! assets had got would come out differently from the live one.

/// A known normal of a sensor at one point: the reference's level there, the sensor's centre
/// and spread (0 for the level of a warm-up under way: good for the exponent, not as a base).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Known {
    pub level: f64,
    pub center: f64,
    pub scale: f64,
}

/// The power-law exponent fitted across at least two known points at different levels, or
/// `None` (a sensor at or below zero has no power law).
pub(crate) fn exponent(known: &[Known]) -> Option<f64> {
    let logs: Vec<(f64, f64)> = known
        .iter()
        .filter(|k| k.level > 0.0 && k.center > 0.0)
        .map(|k| (k.level.ln(), k.center.ln()))
        .collect();
    if logs.len() < 2 {
        return None;
    }
    let n = logs.len() as f64;
    let (mx, my) = logs
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let sxx: f64 = logs.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    let sxy: f64 = logs.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    // Levels a few per cent apart tell nothing about the exponent.
    (sxx > 1e-4).then(|| sxy / sxx)
}

/// The normal (centre, spread) expected at reference level `level`, scaled from the known
/// point nearest to it (in ratio) by the exponent `k`.
pub(crate) fn predict(known: &[Known], level: f64, k: f64) -> Option<(f64, f64)> {
    if level <= 0.0 || !level.is_finite() {
        return None;
    }
    let base = known
        .iter()
        .filter(|b| b.level > 0.0 && b.center > 0.0 && b.scale > 0.0)
        .min_by(|a, b| {
            (level / a.level)
                .ln()
                .abs()
                .total_cmp(&(level / b.level).ln().abs())
        })?;
    let ratio = (level / base.level).powf(k);
    Some((base.center * ratio, base.scale * ratio))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(level: f64, center: f64) -> Known {
        Known {
            level,
            center,
            scale: center / 100.0,
        }
    }

    #[test]
    fn the_affinity_laws_are_found_and_extrapolated() {
        // Head ∝ speed²: seen at 100 % and 70 %, predicted at 85 %.
        let seen = [known(2950.0, 5.5), known(2065.0, 5.5 * 0.49)];
        let k = exponent(&seen).unwrap();
        assert!((k - 2.0).abs() < 1e-9, "{k}");
        let (c, s) = predict(&seen, 2507.5, k).unwrap();
        assert!((c - 5.5 * 0.85f64.powi(2)).abs() < 1e-9, "{c}");
        assert!(s > 0.0);
        // One point only: no exponent.
        assert_eq!(exponent(&seen[..1]), None);
        // A sensor at zero (a pressure gauge on an idle line) has no power law.
        assert_eq!(exponent(&[known(2950.0, 0.0), known(2065.0, 0.0)]), None);
    }
}
