//! A bounded, slowly forgetting histogram of a non-negative statistic, for its upper quantiles.
//!
//! Bins are logarithmic (each 25 % wider than the last, from 0.25 up to about 250), so one
//! histogram serves a statistic whatever its scale, in 64 bytes. When the count reaches
//! [`HALVE_AT`] every bin is halved: the histogram remembers the last few thousand values with
//! geometrically fading weight, so a series that becomes noisier for good is recalibrated.

const BINS: usize = 32;
const LOWEST: f64 = 0.25;
const RATIO: f64 = 1.25;
/// Total count at which all bins are halved.
const HALVE_AT: u32 = 8192;
/// Fewest values before a quantile is trusted.
pub(crate) const MIN_COUNT: u32 = 100;

/// Counts of a statistic in logarithmic bins.
#[derive(Debug, Clone, Default)]
pub struct TailHistogram {
    counts: [u16; BINS],
    total: u32,
}

impl TailHistogram {
    /// Counts one value (negative and non-finite values count as 0 resp. the top bin).
    pub fn add(&mut self, v: f64) {
        let b = bin(v);
        self.counts[b] += 1;
        self.total += 1;
        if self.total >= HALVE_AT {
            self.total = 0;
            for c in &mut self.counts {
                *c /= 2;
                self.total += u32::from(*c);
            }
        }
    }

    /// Quantile `q`, interpolated within its bin as if values were spread evenly on a log scale,
    /// or `None` before [`MIN_COUNT`] values.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.total < MIN_COUNT {
            return None;
        }
        let above = (1.0 - q) * f64::from(self.total);
        let mut acc = 0.0;
        for b in (1..BINS).rev() {
            let c = f64::from(self.counts[b]);
            if acc + c > above {
                // Descend from the bin's upper edge by the share of it that lies above `q`.
                return Some(upper_edge(b) * RATIO.powf(-(above - acc) / c));
            }
            acc += c;
        }
        Some(upper_edge(0))
    }

    /// Values counted (after halvings).
    pub fn count(&self) -> u32 {
        self.total
    }
}

fn bin(v: f64) -> usize {
    if v.is_nan() || v <= LOWEST {
        return 0;
    }
    let b = 1.0 + (v / LOWEST).ln() / RATIO.ln();
    if b.is_finite() {
        (b as usize).min(BINS - 1)
    } else {
        BINS - 1
    }
}

fn upper_edge(b: usize) -> f64 {
    LOWEST * RATIO.powi(b as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_a_bin() {
        let mut h = TailHistogram::default();
        // 0.0, 0.01, …, 9.99: the 99th percentile is 9.9.
        for i in 0..1000 {
            h.add(f64::from(i) / 100.0);
        }
        let q = h.quantile(0.99).unwrap();
        assert!((9.9 / RATIO..=9.9 * RATIO).contains(&q), "{q}");
        let m = h.quantile(0.5).unwrap();
        assert!((5.0 / RATIO..=5.0 * RATIO).contains(&m), "{m}");
    }

    #[test]
    fn forgets_slowly_and_stays_bounded() {
        let mut h = TailHistogram::default();
        for _ in 0..20_000 {
            h.add(1.0);
        }
        assert!(h.count() < HALVE_AT);
        for _ in 0..20_000 {
            h.add(10.0);
        }
        // The old regime has faded: the median is now the new level.
        assert!(h.quantile(0.5).unwrap() >= 10.0 / RATIO);
        assert!(TailHistogram::default().quantile(0.5).is_none());
        h.add(f64::INFINITY);
        h.add(f64::NAN);
    }
}
