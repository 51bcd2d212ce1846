//! A fleet's whole life: faults that arrive by a hazard, again after every repair, and what a
//! crew finds and fixes.
//!
//! Each asset draws its next machine fault from a constant per-mode hazard (exponential time
//! to the next fault, after a short burn-in following the last repair), so an asset fails
//! several times over a year, the same mode included. Sensor faults arrive by a hazard of their
//! own. A machine fault and a sensor fault never overlap on one asset (the one due second waits
//! a day at a time), so a test can tell what each ticket was for. A repair resets the fault's
//! wear and shifts the repaired parts' normal a little: new parts are not identical.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};

use crate::SensorFaultKind;
use crate::fleet::SimAsset;
use crate::physics::{AssetKind, FaultMode};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// How often things go wrong over a fleet's life.
#[derive(Debug, Clone, PartialEq)]
pub struct Lifecycle {
    /// Mean time between faults of one failure mode on one asset (ms).
    pub mode_mtbf_ms: i64,
    /// Mean time between sensor faults on one asset (ms).
    pub sensor_mtbf_ms: i64,
    /// No fault begins within this long of a repair (nor of the start): a repaired machine
    /// runs in first.
    pub burn_in_ms: i64,
}

impl Default for Lifecycle {
    /// Each failure mode about twice a year per asset, a sensor fault about once a year.
    fn default() -> Self {
        Self {
            mode_mtbf_ms: 180 * DAY_MS,
            sensor_mtbf_ms: 365 * DAY_MS,
            burn_in_ms: 2 * DAY_MS,
        }
    }
}

/// What a technician finds on an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inspection {
    /// The machine fault developing (or that made it fail), by catalog mode id.
    pub machine: Option<&'static str>,
    /// The sensor misreading, by name.
    pub sensor: Option<&'static str>,
}

/// One asset's fault hazard: its own random stream and what it will do next.
#[derive(Debug, Clone)]
pub(crate) struct Hazard {
    cfg: Lifecycle,
    rng: ChaCha8Rng,
    /// The next machine fault: mode, onset, time from onset to failure.
    next_fault: Option<(FaultMode, i64, i64)>,
    /// The next sensor fault: sensor, kind, onset.
    next_sensor: Option<(usize, SensorFaultKind, i64)>,
    sensor_faults: usize,
}

impl Hazard {
    /// A hazard for an asset of `kind`, its first faults drawn from `from_ms` on.
    pub(crate) fn new(cfg: Lifecycle, seed: u64, kind: AssetKind, from_ms: i64) -> Self {
        let mut h = Self {
            cfg,
            rng: ChaCha8Rng::seed_from_u64(seed),
            next_fault: None,
            next_sensor: None,
            sensor_faults: 0,
        };
        h.plan_fault(kind, from_ms);
        h.plan_sensor(kind, from_ms);
        h
    }

    /// Exponential waiting time with the given mean (ms).
    fn wait(&mut self, mean_ms: i64) -> i64 {
        let e: f64 = Exp1.sample(&mut self.rng);
        (e * mean_ms as f64) as i64
    }

    fn plan_fault(&mut self, kind: AssetKind, from_ms: i64) {
        let modes = kind.fault_modes();
        // Independent hazards per mode: the first to strike is exponential with the summed
        // rate, and each mode is equally likely to be it.
        let wait = self.wait(self.cfg.mode_mtbf_ms / modes.len() as i64);
        let mode = modes[self.rng.random_range(0..modes.len())];
        let life = 4 * DAY_MS + (self.rng.random::<f64>() * 4.0 * DAY_MS as f64) as i64;
        self.next_fault = Some((mode, from_ms + self.cfg.burn_in_ms + wait, life));
    }

    fn plan_sensor(&mut self, kind: AssetKind, from_ms: i64) {
        let wait = self.wait(self.cfg.sensor_mtbf_ms);
        let sensor = self.rng.random_range(0..kind.sensors().len());
        let fault = SensorFaultKind::ALL[self.sensor_faults % SensorFaultKind::ALL.len()];
        self.sensor_faults += 1;
        self.next_sensor = Some((sensor, fault, from_ms + self.cfg.burn_in_ms + wait));
    }
}

impl SimAsset {
    /// Begins the faults the hazard has due by `t_ms` (a whole life only).
    pub(crate) fn advance(&mut self, t_ms: i64) {
        let Some(h) = self.hazard.as_mut() else {
            return;
        };
        if let Some((mode, onset, life)) = h.next_fault
            && onset <= t_ms
        {
            if self.sensor_fault.is_some() {
                h.next_fault = Some((mode, t_ms + DAY_MS, life));
            } else {
                h.next_fault = None;
                self.start_fault(mode, t_ms, life);
            }
        }
        let Some(h) = self.hazard.as_mut() else {
            return;
        };
        if let Some((sensor, kind, onset)) = h.next_sensor
            && onset <= t_ms
        {
            if self.fault.is_some() {
                h.next_sensor = Some((sensor, kind, t_ms + DAY_MS));
            } else {
                h.next_sensor = None;
                self.start_sensor_fault(sensor, kind, t_ms);
            }
        }
    }

    /// What a technician finds at `t_ms`.
    pub fn inspect(&self, t_ms: i64) -> Inspection {
        Inspection {
            machine: self
                .fault
                .as_ref()
                .filter(|f| f.onset_ms <= t_ms)
                .map(|f| f.mode.id()),
            sensor: self
                .sensor_fault
                .as_ref()
                .filter(|f| f.onset_ms <= t_ms)
                .map(|f| self.kind.sensors()[f.sensor]),
        }
    }

    /// The current machine fault's mode and failure time, once the asset has failed by `t_ms`.
    pub fn failed(&self, t_ms: i64) -> Option<(&'static str, i64)> {
        self.fault
            .as_ref()
            .filter(|f| f.failure_ms <= t_ms)
            .map(|f| (f.mode.id(), f.failure_ms))
    }

    /// The crew fixed the machine fault at `t_ms` under `ticket`: its wear is gone, the parts
    /// replaced read a little differently, and the next fault is drawn from now.
    pub fn repair_machine(&mut self, t_ms: i64, ticket: i64) {
        let Some(fault) = self.fault.take() else {
            return;
        };
        if let Some(g) = self.truth.last_mut() {
            g.repaired_ms = Some(t_ms);
            g.failed = t_ms >= fault.failure_ms;
            g.ticket_id = Some(ticket);
        }
        self.shift_repaired(fault.mode);
        if let Some(h) = self.hazard.as_mut() {
            h.plan_fault(self.kind, t_ms);
        }
    }

    /// The crew fixed the misreading sensor at `t_ms` under `ticket`.
    pub fn repair_sensor(&mut self, t_ms: i64, ticket: i64) {
        if self.sensor_fault.take().is_none() {
            return;
        }
        if let Some(g) = self.sensor_truth.last_mut() {
            g.repaired_ms = Some(t_ms);
            g.ticket_id = Some(ticket);
        }
        if let Some(h) = self.hazard.as_mut() {
            h.plan_sensor(self.kind, t_ms);
        }
    }

    /// New parts are not identical: the quantities the repaired parts set move by about 1 %
    /// (at most 2.5 %).
    fn shift_repaired(&mut self, mode: FaultMode) {
        let Some(h) = self.hazard.as_mut() else {
            return;
        };
        let mut shift = |x: &mut f64| {
            let n: f64 = StandardNormal.sample(&mut h.rng);
            *x *= 1.0 + (0.01 * n).clamp(-0.025, 0.025);
        };
        let np = &mut self.nameplate;
        match mode {
            FaultMode::BearingWear => {
                shift(&mut np.vibration);
                shift(&mut np.bearing_rise);
            }
            FaultMode::ImpellerWear => {
                shift(&mut np.flow);
                shift(&mut np.pressure);
            }
            FaultMode::WindingOverheating => {
                shift(&mut np.winding_rise);
                shift(&mut np.current);
            }
        }
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
