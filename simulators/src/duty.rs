//! Duty cycles: machines that stop and start, as pumps on a level switch or a shift pattern do.
//!
//! Each asset runs for an exponentially distributed time, then stands still for one, on its own
//! random stream (drawn from only when duty cycles are on, so a fleet without them is unchanged).
//! Standing still, a machine's speed, current, flow, pressure and vibration fall to zero (the
//! transmitters' noise aside) and its temperatures cool towards ambient with a 45-minute time
//! constant; after a start they warm up again with the same one. Wear goes on by the calendar.
//!
//! Set points: a machine on a variable-speed drive runs at one of [`SET_POINTS`] (shares of its
//! rated speed), changed at exponentially distributed times. Flow, head, current and vibration
//! follow the new speed at once (the affinity laws, in `physics`); temperatures follow it with the
//! same thermal time constant.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Exp, StandardNormal};

use crate::physics::AssetKind;

/// Thermal time constant of a machine's temperatures (ms).
const HEAT_TAU_MS: f64 = 45.0 * 60_000.0;

/// Speed set points of a variable-speed drive, as shares of the rated speed.
pub const SET_POINTS: [f64; 3] = [1.0, 0.85, 0.7];

/// How long machines run and stand still, on average, and how often their set point changes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Duty {
    /// Mean run between two stops (ms).
    pub run_mean_ms: i64,
    /// Mean standstill (ms).
    pub stop_mean_ms: i64,
    /// Mean time between two set-point changes (ms); `None`: always at rated speed.
    pub set_point_mean_ms: Option<i64>,
}

impl Default for Duty {
    /// Eight hours on, two off (a level-switched transfer pump), a new speed set point every
    /// two days or so.
    fn default() -> Self {
        Self {
            run_mean_ms: 8 * 3_600_000,
            stop_mean_ms: 2 * 3_600_000,
            set_point_mean_ms: Some(2 * 24 * 3_600_000),
        }
    }
}

/// One asset's place in its duty cycle.
#[derive(Debug, Clone)]
pub(crate) struct DutyState {
    duty: Duty,
    running: bool,
    /// When it next starts or stops.
    switch_ms: Option<i64>,
    /// 1 = at running temperature, 0 = at ambient.
    heat: f64,
    last_ms: Option<i64>,
    /// Index into [`SET_POINTS`].
    set_point: usize,
    /// When the set point next changes.
    set_point_switch_ms: Option<i64>,
    /// The speed the temperatures have caught up with (a share of rated speed).
    thermal_speed: f64,
}

impl DutyState {
    pub(crate) fn new(duty: Duty) -> Self {
        Self {
            duty,
            running: true,
            switch_ms: None,
            heat: 1.0,
            last_ms: None,
            set_point: 0,
            set_point_switch_ms: None,
            thermal_speed: 1.0,
        }
    }

    /// Moves to `t_ms`: starts and stops that fell due, and the heat. Returns whether it runs.
    pub(crate) fn advance(&mut self, t_ms: i64, rng: &mut impl Rng) -> bool {
        let mut next = match self.switch_ms {
            Some(s) => s,
            None => t_ms + self.draw(rng),
        };
        while next <= t_ms {
            self.running = !self.running;
            next += self.draw(rng);
        }
        self.switch_ms = Some(next);
        self.change_set_point(t_ms, rng);
        let dt = self.last_ms.map_or(0, |l| t_ms - l).max(0) as f64;
        self.last_ms = Some(t_ms);
        let lag = (-dt / HEAT_TAU_MS).exp();
        let target = if self.running { 1.0 } else { 0.0 };
        self.heat = target + (self.heat - target) * lag;
        self.thermal_speed = self.speed() + (self.thermal_speed - self.speed()) * lag;
        self.running
    }

    /// Set-point changes that fell due by `t_ms`, each to another of the [`SET_POINTS`].
    fn change_set_point(&mut self, t_ms: i64, rng: &mut impl Rng) {
        let Some(mean) = self.duty.set_point_mean_ms else {
            return;
        };
        let mut next = match self.set_point_switch_ms {
            Some(s) => s,
            None => t_ms + exp_ms(mean, rng),
        };
        while next <= t_ms {
            let step = rng.random_range(1..SET_POINTS.len());
            self.set_point = (self.set_point + step) % SET_POINTS.len();
            next += exp_ms(mean, rng);
        }
        self.set_point_switch_ms = Some(next);
    }

    /// How warm the machine is (1 = at running temperature).
    pub(crate) fn heat(&self) -> f64 {
        self.heat
    }

    /// The speed set point now (a share of rated speed).
    pub(crate) fn speed(&self) -> f64 {
        SET_POINTS[self.set_point]
    }

    /// The speed the temperatures correspond to: the set point, lagging by the thermal time
    /// constant.
    pub(crate) fn thermal_speed(&self) -> f64 {
        self.thermal_speed
    }

    fn draw(&self, rng: &mut impl Rng) -> i64 {
        let mean = if self.running {
            self.duty.run_mean_ms
        } else {
            self.duty.stop_mean_ms
        };
        exp_ms(mean, rng)
    }
}

/// An exponentially distributed wait with the given mean, at least a minute: a machine does not
/// flicker.
fn exp_ms(mean: i64, rng: &mut impl Rng) -> i64 {
    let e: f64 = Exp::new(1.0).map_or(1.0, |d| d.sample(rng));
    ((e * mean as f64) as i64).max(60_000)
}

/// Temperature columns of `kind` (in sensor order).
fn temperatures(kind: AssetKind) -> &'static [usize] {
    match kind {
        AssetKind::Pump => &[1],
        AssetKind::Motor => &[1, 2],
    }
}

/// A running sample's temperatures at `heat` of their rise over ambient.
pub(crate) fn warm_up(kind: AssetKind, values: &mut [f64; 6], ambient: f64, heat: f64) {
    for &i in temperatures(kind) {
        values[i] = ambient + (values[i] - ambient) * heat;
    }
}

/// A standing machine: zero-based sensors read their transmitters' noise around zero, the
/// supply voltage stays, temperatures at `heat` of a running sample's rise.
pub(crate) fn standstill(
    kind: AssetKind,
    running: [f64; 6],
    ambient: f64,
    heat: f64,
    rng: &mut impl Rng,
) -> [f64; 6] {
    let mut noise = || -> f64 { StandardNormal.sample(rng) };
    let mut out = [0.0; 6];
    for (i, v) in out.iter_mut().enumerate() {
        *v = if temperatures(kind).contains(&i) {
            ambient + (running[i] - ambient) * heat
        } else if kind == AssetKind::Motor && i == 4 {
            running[i]
        } else {
            (0.002 * running[i] * noise()).abs()
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn runs_and_stops_in_the_given_proportion_and_cools_when_stopped() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut d = DutyState::new(Duty::default());
        let (mut on, mut n, mut coldest) = (0, 0, 1.0f64);
        for k in 0..(60 * 24 * 60) {
            let running = d.advance(k * 60_000, &mut rng);
            on += usize::from(running);
            n += 1;
            coldest = coldest.min(d.heat());
        }
        let share = on as f64 / n as f64;
        assert!((0.7..0.9).contains(&share), "ran {share}");
        assert!(coldest < 0.2, "a long stop cools: {coldest}");
        let mut s = standstill(
            AssetKind::Motor,
            [2.0, 50.0, 90.0, 95.0, 400.0, 1480.0],
            20.0,
            0.5,
            &mut rng,
        );
        assert_eq!(s[4], 400.0);
        assert_eq!(s[1], 35.0);
        assert!(s[5] < 20.0 && s[3] < 2.0);
        warm_up(AssetKind::Motor, &mut s, 20.0, 1.0);
        assert_eq!(s[2], 55.0);
    }
}
