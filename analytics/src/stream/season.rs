//! A seasonal forecaster found from the data: the period is the strongest autocorrelation peak of
//! the warm-up, and the forecast is Holt–Winters' additive level + seasonal profile.
//!
//! Nothing is configured: a daily cycle in 5-minute samples, a weekly one in half-hourly samples
//! or a pump's 40-sample duty cycle are all found the same way (a local maximum of the
//! autocorrelation at a lag of at least [`MIN_PERIOD`] values, with at least two whole cycles in the
//! warm-up and a correlation of at least [`MIN_STRENGTH`]). The profile holds at most
//! [`MAX_BINS`] values (`f32`, 2 KiB): longer periods are binned, so the memory per series stays
//! bounded whatever the sampling rate.
//!
//! The phase is counted in values, so it assumes regular sampling; a gap shifts it until the
//! profile relearns (a few cycles).

/// Shortest period considered, in values (shorter "cycles" are noise the other forecasters follow).
pub const MIN_PERIOD: usize = 4;
/// Weakest autocorrelation at the period that counts as a season.
pub const MIN_STRENGTH: f64 = 0.5;
/// Most values in the seasonal profile.
pub const MAX_BINS: usize = 512;
/// A shorter peak within this share of the strongest is the period (the longer is a multiple).
const NEAR_BEST: f64 = 0.9;
/// Longest warm-up the autocorrelation is computed on; longer ones are averaged down to it first.
const MAX_ACF_POINTS: usize = 4096;
/// Weight of a new value in the level (Holt–Winters' α).
const LEVEL_RATE: f64 = 0.1;
/// Weight of a new value in its phase of the profile (Holt–Winters' γ).
const PROFILE_RATE: f64 = 0.1;

/// Holt–Winters additive forecaster of one periodic series.
#[derive(Debug, Clone)]
pub struct Season {
    period: u32,
    phase: u32,
    level: f64,
    profile: Box<[f32]>,
}

impl Season {
    /// The season of a warm-up sample, if it has one (finite values, in order).
    pub fn find(warmup: &[f64]) -> Option<Self> {
        let period = find_period(warmup)?;
        let bins = period.min(MAX_BINS);
        let mut sums = vec![0.0; bins];
        let mut counts = vec![0u32; bins];
        let mean = warmup.iter().sum::<f64>() / warmup.len() as f64;
        for (t, &x) in warmup.iter().enumerate() {
            let b = (t % period) * bins / period;
            sums[b] += x - mean;
            counts[b] += 1;
        }
        let profile = sums
            .iter()
            .zip(&counts)
            .map(|(s, &c)| (s / f64::from(c.max(1))) as f32)
            .collect();
        Some(Self {
            period: u32::try_from(period).ok()?,
            phase: 0,
            level: mean,
            profile,
        })
    }

    /// Length of the cycle, in values.
    pub fn period(&self) -> usize {
        self.period as usize
    }

    /// The forecast of the next value.
    pub fn forecast(&self) -> f64 {
        self.level + f64::from(self.profile[self.bin()])
    }

    /// Learns `x` (for an anomalous value, pass the forecast instead: an anomaly must not become
    /// next cycle's normal) and moves to the next phase.
    pub fn learn(&mut self, x: f64) {
        let b = self.bin();
        let seasonal = f64::from(self.profile[b]);
        self.level += LEVEL_RATE * (x - seasonal - self.level);
        let updated = seasonal + PROFILE_RATE * (x - self.level - seasonal);
        self.profile[b] = updated as f32;
        self.phase = (self.phase + 1) % self.period;
    }

    /// Starts the cycle again at phase 0 with `x` as its value (a backtest scoring its warm-up
    /// rows from the first).
    pub fn restart(&mut self, x: f64) {
        self.phase = 0;
        self.level = x - f64::from(self.profile[0]);
    }

    /// Heap bytes held (the profile).
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.profile)
    }

    fn bin(&self) -> usize {
        self.phase as usize * self.profile.len() / self.period as usize
    }
}

/// The lag of the strongest autocorrelation peak, in values, if it is strong enough and the
/// sample holds two cycles of it. Long samples are averaged down first, and the peak found is
/// then refined at full resolution.
fn find_period(values: &[f64]) -> Option<usize> {
    let step = values.len().div_ceil(MAX_ACF_POINTS).max(1);
    let points: Vec<f64> = values
        .chunks(step)
        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
        .collect();
    let n = points.len();
    if n < 4 * MIN_PERIOD {
        return None;
    }
    let lagged = Lagged::new(&points)?;
    let max_lag = n / 2;
    let acf: Vec<f64> = (0..=max_lag).map(|l| lagged.correlation(l)).collect();
    let min_lag = MIN_PERIOD.div_ceil(step).max(2);
    let peaks: Vec<usize> = (min_lag..max_lag)
        .filter(|&l| acf[l] > acf[l - 1] && acf[l] >= acf[l + 1])
        .collect();
    let strength = peaks.iter().map(|&l| acf[l]).fold(f64::NAN, f64::max);
    if strength.is_nan() || strength < MIN_STRENGTH {
        return None;
    }
    // Every multiple of a period is a peak as strong: the shortest hill nearly as strong as the
    // best, and on it (noise makes a hill's top jagged) its highest lag.
    let first = *peaks.iter().find(|&&l| acf[l] >= NEAR_BEST * strength)?;
    let lag = (first..(first + first / 2).min(max_lag))
        .max_by(|&a, &b| acf[a].total_cmp(&acf[b]))
        .unwrap_or(first);
    if step == 1 {
        return Some(lag);
    }
    let full = Lagged::new(values)?;
    let around = (lag * step).saturating_sub(step).max(MIN_PERIOD)..=(lag * step + step);
    around
        .filter(|&l| l <= values.len() / 2)
        .max_by(|&a, &b| full.correlation(a).total_cmp(&full.correlation(b)))
}

/// A sample's lagged correlations: Pearson's correlation of the sample's overlapping parts
/// `x[..n-l]` and `x[l..]`, each with its own mean and spread, so a partial last cycle neither
/// inflates nor damps a lag (a plain autocorrelation drifts off long periods when a sample holds
/// only two or three cycles).
struct Lagged {
    d: Vec<f64>,
    /// Prefix sums of `d` and of its squares.
    s1: Vec<f64>,
    s2: Vec<f64>,
}

impl Lagged {
    fn new(values: &[f64]) -> Option<Self> {
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let d: Vec<f64> = values.iter().map(|x| x - mean).collect();
        let (mut s1, mut s2) = (vec![0.0], vec![0.0]);
        for x in &d {
            s1.push(s1[s1.len() - 1] + x);
            s2.push(s2[s2.len() - 1] + x * x);
        }
        let total = s2[d.len()];
        (total > 0.0 && total.is_finite()).then_some(Self { d, s1, s2 })
    }

    fn correlation(&self, lag: usize) -> f64 {
        let n = self.d.len();
        let m = (n - lag) as f64;
        let (ma, mb) = (self.s1[n - lag] / m, (self.s1[n] - self.s1[lag]) / m);
        let va = self.s2[n - lag] / m - ma * ma;
        let vb = (self.s2[n] - self.s2[lag]) / m - mb * mb;
        if va <= 0.0 || vb <= 0.0 {
            return 0.0;
        }
        let ab: f64 = self.d.iter().zip(&self.d[lag..]).map(|(a, b)| a * b).sum();
        (ab / m - ma * mb) / (va * vb).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wave(n: usize, period: usize) -> Vec<f64> {
        (0..n)
            .map(|t| 50.0 + 20.0 * (std::f64::consts::TAU * t as f64 / period as f64).sin())
            .collect()
    }

    #[test]
    fn finds_the_period_of_a_cycle() {
        assert_eq!(find_period(&wave(600, 48)), Some(48));
        // A square wave (a pump on and off) is a season too.
        let square: Vec<f64> = (0..500).map(|t| f64::from(t % 40 < 25)).collect();
        assert_eq!(find_period(&square), Some(40));
    }

    #[test]
    fn noise_and_trends_have_no_season() {
        let mut x = 0.3_f64;
        let noise: Vec<f64> = (0..600)
            .map(|_| {
                x = (x * 3.99 * (1.0 - x)).clamp(0.0, 1.0);
                x
            })
            .collect();
        assert_eq!(find_period(&noise), None);
        assert_eq!(find_period(&[1.0; 300]), None);
        assert_eq!(find_period(&wave(60, 48)), None, "needs two cycles");
    }

    #[test]
    fn forecasts_the_next_value_of_a_long_cycle_in_bounded_memory() {
        let w = wave(6000, 2000);
        let mut s = Season::find(&w).expect("a season");
        assert_eq!(s.period(), 2000);
        assert!(s.heap_bytes() <= MAX_BINS * 4);
        s.restart(w[0]);
        let worst = w
            .iter()
            .map(|&x| {
                let e = (s.forecast() - x).abs();
                s.learn(x);
                e
            })
            .fold(0.0, f64::max);
        // Binned 4:1, a 20-amplitude sine is forecast within the change over a bin.
        assert!(worst < 1.0, "{worst}");
    }
}
