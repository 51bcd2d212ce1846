//! Instrumentation checks: is the sensor telling the truth about the machine?
//!
//! Each sensor gets a [`SensorCheck`] that sees every reading before the machine baseline does and
//! decides whether the baseline may learn from it. Four ways a sensor misreads, each judged
//! against the sensor's own history or its physical range, never a per-data-set constant:
//! - **out of range**: a reading outside the catalog's `min`..`max` is impossible, so it is never
//!   scored; three in a row are a fault;
//! - **spikes**: a reading far beyond the learned spread that is back to normal at the next
//!   reading is held out of the baseline; several within a day are a fault;
//! - **stuck**: the same value for far longer than the sensor has ever stayed still while it was
//!   healthy (a sensor that is flat by nature never counts);
//! - **dropout** is judged per asset by the detector (a silent sensor sends nothing to check).

use forewarn_domain::{InstrumentFault, TimestampMs};

/// A reading this many robust standard deviations from normal is a spike candidate. Real wear
/// moves a sensor over hours; no healthy process jumps this far for one reading.
const SPIKE_Z: f64 = 12.0;
/// A spike candidate followed by a reading within this many deviations was a spike.
const BACK_Z: f64 = 6.0;
/// Spikes (leaky count, one-day time constant) that make a fault: about three within a few
/// hours; one alone is a glitch.
const SPIKES_FOR_FAULT: f64 = 2.5;
/// Consecutive out-of-range readings that make a fault.
const OUT_OF_RANGE_FOR_FAULT: u32 = 3;
/// Stuck when the current run of equal values is this many times the longest healthy run...
const STUCK_FACTOR: u32 = 3;
/// ... and at least this many readings.
const STUCK_MIN: u32 = 24;
const DAY_MS: f64 = 86_400_000.0;

/// What the machine baseline may do with a reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admit {
    /// Learn from it.
    Feed,
    /// Learn from the held reading (`ts`, `value`) first, then from this one: the candidate
    /// spike was a real step.
    HeldThenThis(TimestampMs, f64),
    /// Keep it out (held, a spike, out of range or stuck).
    Skip,
}

/// The instrumentation state of one sensor, in 56 bytes.
#[derive(Debug, Clone, Default)]
pub struct SensorCheck {
    last: Option<f64>,
    run: u32,
    longest_healthy_run: u32,
    held: Option<(TimestampMs, f64)>,
    spikes: f64,
    spikes_ts: TimestampMs,
    out_of_range: u32,
    fault: Option<(InstrumentFault, TimestampMs)>,
}

impl SensorCheck {
    /// Judges one reading. `range` is the catalog's physical range; `normal` the learned
    /// (center, scale) once the baseline has warmed up.
    pub fn observe(
        &mut self,
        ts: TimestampMs,
        value: f64,
        range: Option<(f64, f64)>,
        normal: Option<(f64, f64)>,
    ) -> Admit {
        // Stuck: a run of exactly equal values, as a frozen transmitter or PLC register repeats.
        if self.last == Some(value) {
            self.run = self.run.saturating_add(1);
        } else {
            if !self.is(InstrumentFault::Stuck) {
                self.longest_healthy_run = self.longest_healthy_run.max(self.run);
            }
            self.run = 1;
            self.clear(InstrumentFault::Stuck);
        }
        self.last = Some(value);
        self.decay_spikes(ts);

        if range.is_some_and(|(lo, hi)| !(lo..=hi).contains(&value)) {
            self.out_of_range += 1;
            if self.out_of_range >= OUT_OF_RANGE_FOR_FAULT {
                self.raise(InstrumentFault::OutOfRange, ts);
            }
            return Admit::Skip;
        }
        if (1..OUT_OF_RANGE_FOR_FAULT).contains(&self.out_of_range) {
            // One or two impossible readings between sane ones: a spike that left the range.
            self.count_spike(ts);
        }
        self.out_of_range = 0;
        self.clear(InstrumentFault::OutOfRange);

        // Judged only once the baseline knows the sensor's spread (and the longest still run a
        // healthy sensor shows has been seen over that warm-up).
        let Some((center, scale)) = normal else {
            return Admit::Feed;
        };
        if self.run >= STUCK_MIN.max(STUCK_FACTOR * self.longest_healthy_run) {
            self.raise(InstrumentFault::Stuck, ts);
        }
        if self.is(InstrumentFault::Stuck) {
            return Admit::Skip;
        }
        let z = ((value - center) / scale).abs();
        if let Some((held_ts, held)) = self.held.take() {
            if z <= BACK_Z {
                self.count_spike(ts);
                return Admit::Feed;
            }
            // Still far out: a step, not a spike; the baseline learns both, in order.
            return Admit::HeldThenThis(held_ts, held);
        }
        if z >= SPIKE_Z {
            self.held = Some((ts, value));
            return Admit::Skip;
        }
        if self.spikes < 1.0 {
            self.clear(InstrumentFault::Spikes);
        }
        Admit::Feed
    }

    /// The machine moved to another operating point: a held spike candidate was its first
    /// reading there, a step the new point's normal explains, not a spike.
    pub fn moved(&mut self) {
        self.held = None;
    }

    /// The sensor was repaired or replaced: what it did before no longer counts against it
    /// (the longest still run it showed while healthy is kept: it describes the process).
    pub fn repaired(&mut self) {
        *self = Self {
            longest_healthy_run: self.longest_healthy_run,
            spikes_ts: self.spikes_ts,
            ..Self::default()
        };
    }

    /// The last value the sensor reported (kept or not).
    pub fn last(&self) -> Option<f64> {
        self.last
    }

    /// The current fault and since when.
    pub fn fault(&self) -> Option<(InstrumentFault, TimestampMs)> {
        self.fault
    }

    fn is(&self, f: InstrumentFault) -> bool {
        self.fault.is_some_and(|(g, _)| g == f)
    }

    fn raise(&mut self, f: InstrumentFault, ts: TimestampMs) {
        if !self.is(f) {
            self.fault = Some((f, ts));
        }
    }

    fn clear(&mut self, f: InstrumentFault) {
        if self.is(f) {
            self.fault = None;
        }
    }

    fn count_spike(&mut self, ts: TimestampMs) {
        self.spikes += 1.0;
        if self.spikes >= SPIKES_FOR_FAULT {
            self.raise(InstrumentFault::Spikes, ts);
        }
    }

    fn decay_spikes(&mut self, ts: TimestampMs) {
        if self.spikes > 0.0 && ts > self.spikes_ts {
            self.spikes *= (-((ts - self.spikes_ts) as f64) / DAY_MS).exp();
        }
        self.spikes_ts = self.spikes_ts.max(ts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const NORMAL: Option<(f64, f64)> = Some((50.0, 1.0));
    const RANGE: Option<(f64, f64)> = Some((0.0, 150.0));

    fn wobble(i: i64) -> f64 {
        ((i as f64 * 12.9898).sin() * 43_758.545).fract()
    }

    fn healthy(c: &mut SensorCheck, from: i64, n: i64) {
        for i in from..from + n {
            // Rounded to one decimal, like a transmitter: short runs of equal values happen.
            let v = (500.0 + 5.0 * wobble(i)).round() / 10.0;
            assert_ne!(c.observe(i * MIN, v, RANGE, NORMAL), Admit::Skip, "{i}");
        }
        assert_eq!(c.fault(), None);
    }

    #[test]
    fn stuck_is_judged_against_the_sensors_own_stillness() {
        let mut c = SensorCheck::default();
        healthy(&mut c, 0, 2000);
        for i in 2000..2030 {
            c.observe(i * MIN, 50.3, RANGE, NORMAL);
        }
        assert_eq!(c.fault().map(|f| f.0), Some(InstrumentFault::Stuck));
        assert_eq!(c.observe(2030 * MIN, 50.3, RANGE, NORMAL), Admit::Skip);
        assert_eq!(c.observe(2031 * MIN, 50.1, RANGE, NORMAL), Admit::Feed);
        assert_eq!(c.fault(), None);
    }

    #[test]
    fn spikes_are_held_out_and_repeated_spikes_are_a_fault() {
        let mut c = SensorCheck::default();
        healthy(&mut c, 0, 100);
        assert_eq!(c.observe(100 * MIN, 95.0, RANGE, NORMAL), Admit::Skip);
        assert_eq!(c.observe(101 * MIN, 50.2, RANGE, NORMAL), Admit::Feed);
        assert_eq!(c.fault(), None, "one spike is a glitch");
        for k in 0..2 {
            let t = 200 + k * 60;
            c.observe(t * MIN, 120.0, RANGE, NORMAL);
            c.observe((t + 1) * MIN, 49.9, RANGE, NORMAL);
        }
        assert_eq!(c.fault().map(|f| f.0), Some(InstrumentFault::Spikes));
        // Quiet for days: the fault clears.
        healthy(&mut c, 5000, 10);
    }

    #[test]
    fn a_real_step_reaches_the_baseline_in_order() {
        let mut c = SensorCheck::default();
        healthy(&mut c, 0, 100);
        assert_eq!(c.observe(100 * MIN, 70.0, RANGE, NORMAL), Admit::Skip);
        assert_eq!(
            c.observe(101 * MIN, 70.1, RANGE, NORMAL),
            Admit::HeldThenThis(100 * MIN, 70.0)
        );
        assert_eq!(c.fault(), None);
    }

    #[test]
    fn out_of_range_is_never_scored() {
        let mut c = SensorCheck::default();
        assert_eq!(c.observe(0, -9999.0, RANGE, None), Admit::Skip);
        assert_eq!(c.fault(), None);
        c.observe(MIN, -9999.0, RANGE, None);
        c.observe(2 * MIN, -9999.0, RANGE, None);
        assert_eq!(c.fault().map(|f| f.0), Some(InstrumentFault::OutOfRange));
        assert_eq!(c.observe(3 * MIN, 50.0, RANGE, None), Admit::Feed);
        assert_eq!(c.fault(), None);
        // Single impossible readings between sane ones are spikes.
        for k in 0..3 {
            c.observe((10 + 2 * k) * MIN, 9999.0, RANGE, NORMAL);
            c.observe((11 + 2 * k) * MIN, 50.0, RANGE, NORMAL);
        }
        assert_eq!(c.fault().map(|f| f.0), Some(InstrumentFault::Spikes));
    }
}
