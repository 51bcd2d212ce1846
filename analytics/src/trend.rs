//! How fast a deviation grows: hourly samples of a sensor's smoothed score, and the fits that
//! turn them into a time to a failure level.
//!
//! Wear accelerates, so neither a straight line nor an exponential is right for long: a line
//! through the recent scores reaches the failure level late (it ignores the acceleration), an
//! exponential early (it overdoes it). Both are fitted over the deviation's recent hours and the
//! estimate is the pair's middle, the interval their span widened by each fit's uncertainty.

/// Hourly samples kept: as many as are fitted.
/// Fewest hourly samples of one deviation for a trend.
const MIN_POINTS: usize = 6;
/// At most this many recent hours are fitted: older ones describe an earlier stage of wear.
const FIT_HOURS: usize = 24;
const HOURS: usize = FIT_HOURS;
/// |score| below which an hour does not belong to the deviation.
const IN_DEVIATION: f32 = 1.0;
/// One-sided 95 % normal quantile: each bound of the 90 % interval.
const Z90: f64 = 1.645;

/// The last [`FIT_HOURS`] hourly samples of a smoothed score, in about 120 bytes.
#[derive(Debug, Clone)]
pub struct ScoreTrend {
    samples: [f32; HOURS],
    len: usize,
    next: usize,
    last_hour: Option<i64>,
}

impl Default for ScoreTrend {
    fn default() -> Self {
        Self {
            samples: [0.0; HOURS],
            len: 0,
            next: 0,
            last_hour: None,
        }
    }
}

/// Time until a score reaches a level, in hours, with a 90 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeTo {
    /// Estimate.
    pub hours: f64,
    /// 5th percentile.
    pub low: f64,
    /// 95th percentile (infinite when the deviation might not be growing at all).
    pub high: f64,
}

impl ScoreTrend {
    /// Records the smoothed `score` at `ts_ms`: the first score of every clock hour is kept
    /// (gaps of whole hours are left as gaps: the fit uses what was measured).
    pub fn observe(&mut self, ts_ms: i64, score: f64) {
        let hour = ts_ms.div_euclid(3_600_000);
        if self.last_hour.is_some_and(|h| hour <= h) {
            return;
        }
        self.last_hour = Some(hour);
        self.samples[self.next] = score as f32;
        self.next = (self.next + 1) % HOURS;
        self.len = (self.len + 1).min(HOURS);
    }

    /// Hours until |score| reaches `level`, from the recent run of hours in which it has been
    /// beyond [`IN_DEVIATION`] with one sign; `None` without enough of them or when already there.
    pub fn time_to(&self, level: f64) -> Option<TimeTo> {
        let recent: Vec<f64> = (0..self.len)
            .map(|k| self.samples[(self.next + HOURS - 1 - k) % HOURS])
            .take_while(|v| v.abs() >= IN_DEVIATION)
            .take(FIT_HOURS)
            .map(f64::from)
            .collect();
        if recent.len() < MIN_POINTS || recent.windows(2).any(|w| w[0].signum() != w[1].signum()) {
            return None;
        }
        // Oldest first, x in hours relative to the newest (0).
        let ys: Vec<f64> = recent.iter().rev().map(|v| v.abs()).collect();
        let xs: Vec<f64> = (0..ys.len())
            .map(|i| i as f64 - (ys.len() - 1) as f64)
            .collect();
        let now = *ys.last()?;
        if now >= level {
            return None;
        }
        let linear = fit(&xs, &ys)?;
        let logs: Vec<f64> = ys.iter().map(|y| y.ln()).collect();
        let exponential = fit(&xs, &logs)?;
        // Hours for a line starting at the fitted value now with slope `s` to reach `target`.
        let reach = |start: f64, target: f64, s: f64| {
            if s > 0.0 {
                ((target - start) / s).max(0.0)
            } else {
                f64::INFINITY
            }
        };
        let (lin_now, exp_now) = (linear.at_zero, exponential.at_zero);
        let lin = reach(lin_now, level, linear.slope);
        let exp = reach(exp_now, level.ln(), exponential.slope);
        let early = reach(
            exp_now,
            level.ln(),
            exponential.slope + Z90 * exponential.se,
        );
        let late = reach(lin_now, level, linear.slope - Z90 * linear.se);
        let hours = if lin.is_finite() && exp.is_finite() {
            (lin + exp) / 2.0
        } else {
            lin.min(exp)
        };
        Some(TimeTo {
            hours,
            low: early.min(hours),
            high: late.max(hours),
        })
    }
}

struct Fit {
    at_zero: f64,
    slope: f64,
    /// Standard error of the slope.
    se: f64,
}

/// Least squares `y = a + b x`.
fn fit(xs: &[f64], ys: &[f64]) -> Option<Fit> {
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    if sxx <= 0.0 || n < 3.0 {
        return None;
    }
    let slope = xs
        .iter()
        .zip(ys)
        .map(|(x, y)| (x - mx) * (y - my))
        .sum::<f64>()
        / sxx;
    let at = |x: f64| my + slope * (x - mx);
    let sse: f64 = xs.iter().zip(ys).map(|(x, y)| (y - at(*x)).powi(2)).sum();
    Some(Fit {
        at_zero: at(0.0),
        slope,
        se: (sse / (n - 2.0) / sxx).sqrt(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn brackets_the_crossing_of_an_accelerating_deviation() {
        // Wear as in the field: a power of time (1.6), crossing 20 at hour 100.
        let score = |h: f64| 20.0 * (h / 100.0).powf(1.6);
        let mut t = ScoreTrend::default();
        for h in 0..=70 {
            // Several readings per hour; only the first of each hour counts.
            for m in 0..4 {
                t.observe(h * H + m * 900_000, score(h as f64));
            }
        }
        let r = t.time_to(20.0).unwrap();
        assert!(r.low <= 30.0 && 30.0 <= r.high, "{r:?}");
        assert!((r.hours - 30.0).abs() < 10.0, "{r:?}");
        assert!(t.time_to(score(70.0) - 0.1).is_none(), "already there");
    }

    #[test]
    fn no_trend_without_a_sustained_one_sided_deviation() {
        let mut t = ScoreTrend::default();
        for h in 0..30 {
            t.observe(h * H, if h % 2 == 0 { 3.0 } else { -3.0 });
        }
        assert_eq!(t.time_to(20.0), None);
        let mut t = ScoreTrend::default();
        for h in 0..4 {
            t.observe(h * H, 5.0 + h as f64);
        }
        assert_eq!(t.time_to(20.0), None, "too few hours");
        let mut flat = ScoreTrend::default();
        for h in 0..20 {
            flat.observe(h * H, 4.0);
        }
        let r = flat.time_to(20.0).unwrap();
        assert!(r.hours.is_infinite() && r.high.is_infinite(), "{r:?}");
    }
}
