//! A seeded fleet: assets, their operating conditions, their faults, and the ground truth.

use std::f64::consts::TAU;

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::SimError;
use crate::physics::{self, AssetKind, FaultMode, Nameplate, Wear};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// What fleet to simulate.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// Seed: the same seed and settings give the same fleet, faults and readings.
    pub seed: u64,
    /// Number of assets (pumps and motors alternate).
    pub assets: usize,
    /// Number of sites the assets are spread over.
    pub sites: usize,
    /// Number of assets that develop a fault.
    pub faults: usize,
    /// Number of other (healthy) assets one of whose sensors starts to misread.
    pub sensor_faults: usize,
    /// Simulated start time (ms since epoch).
    pub start_ms: i64,
    /// Simulated span (ms).
    pub duration_ms: i64,
    /// Time between two samples of an asset (ms).
    pub interval_ms: i64,
    /// Faults arrive by a hazard, again after every repair, instead of once per faulty asset
    /// (`faults` and `sensor_faults` are then ignored): a fleet's whole life with a crew.
    pub lifecycle: Option<crate::Lifecycle>,
    /// Machines stop and start ([`crate::duty`]) instead of running continuously.
    pub duty: Option<crate::Duty>,
}

impl FleetConfig {
    /// A fleet of `assets` over `duration_ms` ending at `end_ms`, with about one faulty asset in ten
    /// and one misreading sensor in 25 assets.
    pub fn ending_at(seed: u64, assets: usize, end_ms: i64, duration_ms: i64) -> Self {
        Self {
            seed,
            assets,
            sites: assets.div_ceil(10).clamp(1, 5),
            faults: (assets / 10).max(2).min(assets),
            sensor_faults: assets / 25,
            start_ms: end_ms - duration_ms,
            duration_ms,
            interval_ms: 60_000,
            lifecycle: None,
            duty: None,
        }
    }
}

/// An injected fault, as the tests and benchmarks know it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// The asset.
    pub asset: String,
    /// Its catalog type.
    pub asset_type: String,
    /// The catalog failure mode.
    pub failure_mode: String,
    /// When wear starts (ms since epoch).
    pub onset_ms: i64,
    /// When the asset fails and stops reporting (ms since epoch), unless repaired before.
    pub failure_ms: i64,
    /// When a crew's repair took effect (ms since epoch); `null` while it was not repaired.
    pub repaired_ms: Option<i64>,
    /// Whether it ran to failure (the asset went silent until a corrective repair).
    pub failed: bool,
    /// The ticket the crew resolved for it, if any.
    pub ticket_id: Option<i64>,
}

/// How a simulated sensor misreads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorFaultKind {
    /// Repeats the value it had at onset.
    Stuck,
    /// About one reading in 40 jumps to 1.8–2.8 times the true value.
    Spikes,
    /// Missing from the payloads.
    Dropout,
    /// Reads -9999 (a broken loop, as many PLCs report it).
    OutOfRange,
}

impl SensorFaultKind {
    pub(crate) const ALL: [Self; 4] = [Self::Stuck, Self::Spikes, Self::Dropout, Self::OutOfRange];
}

/// An injected sensor fault, as the tests know it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorFaultTruth {
    /// The asset.
    pub asset: String,
    /// The sensor.
    pub sensor: String,
    /// How it misreads.
    pub kind: SensorFaultKind,
    /// From when (ms since epoch); it lasts until repaired, else to the end of the span.
    pub onset_ms: i64,
    /// When a crew's repair took effect (ms since epoch), if one did.
    pub repaired_ms: Option<i64>,
    /// The ticket the crew resolved for it, if any.
    pub ticket_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct SensorFaultPlan {
    pub(crate) sensor: usize,
    pub(crate) kind: SensorFaultKind,
    pub(crate) onset_ms: i64,
    pub(crate) frozen: Option<f64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Fault {
    pub(crate) mode: FaultMode,
    pub(crate) onset_ms: i64,
    pub(crate) failure_ms: i64,
}

/// One simulated asset.
#[derive(Debug, Clone)]
pub struct SimAsset {
    /// Asset id.
    pub id: String,
    /// Site id.
    pub site: String,
    /// Kind.
    pub kind: AssetKind,
    /// Manufacturer model.
    pub model: String,
    /// Location text.
    pub location: String,
    /// `low`, `medium` or `high`, as its birth message says.
    pub criticality: &'static str,
    pub(crate) nameplate: Nameplate,
    phase: f64,
    ambient_offset: f64,
    load_dev: f64,
    /// The machine fault developing now (or that made it fail), until repaired.
    pub(crate) fault: Option<Fault>,
    /// The sensor misreading now, until repaired.
    pub(crate) sensor_fault: Option<SensorFaultPlan>,
    /// Every machine fault it has had, the current one last.
    pub(crate) truth: Vec<GroundTruth>,
    /// Every sensor fault it has had, the current one last.
    pub(crate) sensor_truth: Vec<SensorFaultTruth>,
    /// The fault hazard, in a fleet's whole life.
    pub(crate) hazard: Option<Box<crate::lifecycle::Hazard>>,
    rng: ChaCha8Rng,
    last_ms: Option<i64>,
    /// Its place in its duty cycle, when machines stop and start.
    duty: Option<crate::duty::DutyState>,
}

/// The whole simulated fleet.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// The configuration it was built from.
    pub config: FleetConfig,
    /// Its assets.
    pub assets: Vec<SimAsset>,
}

impl Fleet {
    /// Builds the fleet deterministically from the configuration.
    pub fn new(config: FleetConfig) -> Result<Self, SimError> {
        if config.assets == 0
            || config.interval_ms <= 0
            || config.duration_ms <= 0
            || config.sites == 0
        {
            return Err(SimError::Config(
                "assets, sites, interval and duration must be positive".into(),
            ));
        }
        if config.faults + config.sensor_faults > config.assets {
            return Err(SimError::Config(format!(
                "{} faults and {} sensor faults for {} assets",
                config.faults, config.sensor_faults, config.assets
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut assets: Vec<SimAsset> = (0..config.assets)
            .map(|i| {
                let kind = if i % 2 == 0 {
                    AssetKind::Pump
                } else {
                    AssetKind::Motor
                };
                let site = format!("site-{}", (b'a' + (i % config.sites) as u8) as char);
                let (prefix, model) = match kind {
                    AssetKind::Pump => ("pump", "CP-200"),
                    AssetKind::Motor => ("motor", "IM-55"),
                };
                SimAsset {
                    id: format!("{prefix}-{:04}", i + 1),
                    location: format!("{site}, line {}", i / config.sites % 4 + 1),
                    // One asset in five stops its line when it fails.
                    criticality: if i % 5 == 0 { "high" } else { "medium" },
                    site,
                    kind,
                    model: model.into(),
                    nameplate: Nameplate::random(kind, &mut rng),
                    phase: rng.random::<f64>() * TAU,
                    ambient_offset: rng.random::<f64>() * 6.0 - 3.0,
                    load_dev: 0.0,
                    fault: None,
                    sensor_fault: None,
                    truth: Vec::new(),
                    sensor_truth: Vec::new(),
                    hazard: None,
                    rng: ChaCha8Rng::seed_from_u64(
                        config.seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    ),
                    last_ms: None,
                    duty: config.duty.map(crate::duty::DutyState::new),
                }
            })
            .collect();
        if let Some(life) = &config.lifecycle {
            let from = config.start_ms + 36 * HOUR_MS;
            for (i, a) in assets.iter_mut().enumerate() {
                a.hazard = Some(Box::new(crate::lifecycle::Hazard::new(
                    life.clone(),
                    config.seed ^ (i as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03),
                    a.kind,
                    from,
                )));
            }
            return Ok(Self { config, assets });
        }
        let mut order: Vec<usize> = (0..assets.len()).collect();
        order.shuffle(&mut rng);
        // A day and a half of healthy history first, so baselines can learn normal behaviour. The
        // first fault starts early (it is what a demo shows first); the rest spread over the span.
        let first_onset = config.start_ms + 36 * HOUR_MS;
        let spread = (config.duration_ms / 4).max(HOUR_MS);
        for (n, &i) in order.iter().take(config.faults).enumerate() {
            let kind = assets[i].kind;
            let mode = kind.fault_modes()[n % kind.fault_modes().len()];
            let window = if n == 0 { DAY_MS / 2 } else { spread };
            let onset_ms = first_onset + (rng.random::<f64>() * window as f64) as i64;
            let life_ms = 4 * DAY_MS + (rng.random::<f64>() * 4.0 * DAY_MS as f64) as i64;
            assets[i].start_fault(mode, onset_ms, life_ms);
        }
        // Sensor faults go to assets without a machine fault, so a test can tell them apart.
        for (n, &i) in order
            .iter()
            .skip(config.faults)
            .take(config.sensor_faults)
            .enumerate()
        {
            let onset_ms = first_onset + (rng.random::<f64>() * spread as f64) as i64;
            let sensor = rng.random_range(0..assets[i].kind.sensors().len());
            assets[i].start_sensor_fault(
                sensor,
                SensorFaultKind::ALL[n % SensorFaultKind::ALL.len()],
                onset_ms,
            );
        }
        Ok(Self { config, assets })
    }

    /// The injected sensor faults, by onset.
    pub fn sensor_fault_truth(&self) -> Vec<SensorFaultTruth> {
        let mut all: Vec<SensorFaultTruth> = self
            .assets
            .iter()
            .flat_map(|a| a.sensor_truth.iter().cloned())
            .collect();
        all.sort_by(|a, b| (a.onset_ms, &a.asset).cmp(&(b.onset_ms, &b.asset)));
        all
    }

    /// The injected faults, by onset (in a whole life, every fault begun so far).
    pub fn ground_truth(&self) -> Vec<GroundTruth> {
        let mut all: Vec<GroundTruth> = self
            .assets
            .iter()
            .flat_map(|a| a.truth.iter().cloned())
            .collect();
        all.sort_by(|a, b| (a.onset_ms, &a.asset).cmp(&(b.onset_ms, &b.asset)));
        all
    }

    /// The injected faults as they stand at `t_ms`: a fault not repaired by its failure time
    /// has failed.
    pub fn ground_truth_at(&self, t_ms: i64) -> Vec<GroundTruth> {
        let mut all = self.ground_truth();
        for g in &mut all {
            g.failed |= g.repaired_ms.is_none() && g.failure_ms <= t_ms;
        }
        all
    }

    /// One asset, by id.
    pub fn asset_mut(&mut self, id: &str) -> Option<&mut SimAsset> {
        self.assets.iter_mut().find(|a| a.id == id)
    }

    /// Sample times of the simulation, in order.
    pub fn ticks(&self) -> impl Iterator<Item = i64> + use<> {
        let c = &self.config;
        let (start, end, step) = (c.start_ms, c.start_ms + c.duration_ms, c.interval_ms);
        (0..)
            .map(move |k| start + k * step)
            .take_while(move |t| *t < end)
    }
}

impl SimAsset {
    /// The sensors' values at `t_ms`, or `None` once the asset has failed (it stops reporting).
    /// A sensor that has dropped out is NaN (left out of the payload). Call with increasing
    /// times: load and noise evolve as a process over time.
    pub fn sample(&mut self, t_ms: i64) -> Option<[f64; 6]> {
        self.advance(t_ms);
        let mut values = self.true_sample(t_ms)?;
        if let Some(f) = &mut self.sensor_fault
            && t_ms >= f.onset_ms
        {
            let v = &mut values[f.sensor];
            match f.kind {
                SensorFaultKind::Stuck => *v = *f.frozen.get_or_insert(*v),
                SensorFaultKind::Spikes => {
                    let (p, k) = (self.rng.random::<f64>(), self.rng.random::<f64>());
                    if p < 1.0 / 40.0 {
                        let scale = 10f64.powi(self.kind.decimals()[f.sensor]);
                        *v = (*v * (1.8 + k) * scale).round() / scale;
                    }
                }
                SensorFaultKind::Dropout => *v = f64::NAN,
                SensorFaultKind::OutOfRange => *v = -9999.0,
            }
        }
        Some(values)
    }

    fn true_sample(&mut self, t_ms: i64) -> Option<[f64; 6]> {
        let wear = match &self.fault {
            Some(f) if t_ms >= f.failure_ms => return None,
            Some(f) if t_ms >= f.onset_ms => {
                let x = (t_ms - f.onset_ms) as f64 / (f.failure_ms - f.onset_ms) as f64;
                // Wear accelerates towards failure, as it does in bearings and insulation.
                let d = x.powf(1.6);
                match f.mode {
                    FaultMode::BearingWear => Wear {
                        bearing: d,
                        ..Wear::default()
                    },
                    FaultMode::ImpellerWear => Wear {
                        impeller: d,
                        ..Wear::default()
                    },
                    FaultMode::WindingOverheating => Wear {
                        winding: d,
                        ..Wear::default()
                    },
                }
            }
            _ => Wear::default(),
        };
        // Load: a daily production cycle plus an Ornstein-Uhlenbeck wander (time constant 3 h).
        let dt_h = self
            .last_ms
            .map_or(0.0, |l| (t_ms - l) as f64 / HOUR_MS as f64);
        self.last_ms = Some(t_ms);
        let decay = (-dt_h / 3.0).exp();
        let shock: f64 = StandardNormal.sample(&mut self.rng);
        self.load_dev = self.load_dev * decay + 0.015 * (1.0 - decay * decay).sqrt() * shock;
        let day = TAU * (t_ms.rem_euclid(DAY_MS)) as f64 / DAY_MS as f64;
        let load = (0.9 + 0.05 * (day + self.phase).sin() + self.load_dev).clamp(0.6, 1.0);
        let ambient = 18.0 + self.ambient_offset + 4.0 * (day - 1.0).sin();
        // Where the drive is first: the set point shapes the sample.
        let (running, heat, drive) = match &mut self.duty {
            Some(duty) => {
                let running = duty.advance(t_ms, &mut self.rng);
                let drive = physics::Drive {
                    speed: duty.speed(),
                    thermal: duty.thermal_speed(),
                };
                (running, duty.heat(), drive)
            }
            None => (true, 1.0, physics::Drive::RATED),
        };
        let conditions = physics::Conditions {
            load,
            ambient,
            wear,
            drive,
        };
        let mut values = physics::sample(self.kind, &self.nameplate, conditions, &mut self.rng);
        if self.duty.is_some() {
            if running {
                crate::duty::warm_up(self.kind, &mut values, ambient, heat);
            } else {
                values = crate::duty::standstill(self.kind, values, ambient, heat, &mut self.rng);
            }
            let decimals = self.kind.decimals();
            for (v, d) in values.iter_mut().zip(decimals) {
                let scale = 10f64.powi(d);
                *v = (*v * scale).round() / scale;
            }
        }
        Some(values)
    }

    /// Whether this asset has an injected fault.
    pub fn is_faulty(&self) -> bool {
        self.fault.is_some()
    }

    /// Begins machine fault `mode` at `onset_ms`, failing `life_ms` later unless repaired.
    pub(crate) fn start_fault(&mut self, mode: FaultMode, onset_ms: i64, life_ms: i64) {
        let failure_ms = onset_ms + life_ms;
        self.fault = Some(Fault {
            mode,
            onset_ms,
            failure_ms,
        });
        self.truth.push(GroundTruth {
            asset: self.id.clone(),
            asset_type: self.kind.type_id().into(),
            failure_mode: mode.id().into(),
            onset_ms,
            failure_ms,
            repaired_ms: None,
            failed: false,
            ticket_id: None,
        });
    }

    /// Makes sensor `sensor` misread as `kind` from `onset_ms`.
    pub(crate) fn start_sensor_fault(
        &mut self,
        sensor: usize,
        kind: SensorFaultKind,
        onset_ms: i64,
    ) {
        self.sensor_fault = Some(SensorFaultPlan {
            sensor,
            kind,
            onset_ms,
            frozen: None,
        });
        self.sensor_truth.push(SensorFaultTruth {
            asset: self.id.clone(),
            sensor: self.kind.sensors()[sensor].into(),
            kind,
            onset_ms,
            repaired_ms: None,
            ticket_id: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet(seed: u64) -> Fleet {
        Fleet::new(FleetConfig::ending_at(
            seed,
            20,
            1_780_000_000_000,
            14 * DAY_MS,
        ))
        .unwrap()
    }

    #[test]
    fn same_seed_same_fleet_and_readings() {
        let (mut a, mut b) = (fleet(7), fleet(7));
        assert_eq!(a.ground_truth(), b.ground_truth());
        let t = a.config.start_ms + 5 * DAY_MS;
        assert_eq!(a.assets[3].sample(t), b.assets[3].sample(t));
        assert_ne!(fleet(8).ground_truth(), a.ground_truth());
    }

    #[test]
    fn faults_are_planned_inside_the_span_with_every_mode() {
        let f = Fleet::new(FleetConfig {
            faults: 6,
            ..FleetConfig::ending_at(1, 40, 1_780_000_000_000, 30 * DAY_MS)
        })
        .unwrap();
        let gt = f.ground_truth();
        assert_eq!(gt.len(), 6);
        for g in &gt {
            assert!(g.onset_ms >= f.config.start_ms + DAY_MS);
            assert!(g.failure_ms - g.onset_ms >= 4 * DAY_MS);
        }
        for mode in ["bearing_wear", "impeller_wear", "winding_overheating"] {
            assert!(gt.iter().any(|g| g.failure_mode == mode), "{mode} missing");
        }
    }

    #[test]
    fn sensor_faults_misread_as_planned_on_healthy_assets() {
        let mut f = Fleet::new(FleetConfig {
            faults: 4,
            sensor_faults: 8,
            ..FleetConfig::ending_at(5, 20, 1_780_000_000_000, 14 * DAY_MS)
        })
        .unwrap();
        let truth = f.sensor_fault_truth();
        assert_eq!(truth.len(), 8);
        for kind in SensorFaultKind::ALL {
            assert_eq!(truth.iter().filter(|g| g.kind == kind).count(), 2);
        }
        for g in &truth {
            let a = f.assets.iter_mut().find(|a| a.id == g.asset).unwrap();
            assert!(!a.is_faulty(), "sensor faults go to healthy machines");
            let i = a
                .kind
                .sensors()
                .iter()
                .position(|s| *s == g.sensor)
                .unwrap();
            let before = a.sample(g.onset_ms - 60_000).unwrap()[i];
            assert!(before.is_finite() && before > 0.0);
            let after: Vec<f64> = (0..200)
                .map(|k| a.sample(g.onset_ms + k * 60_000).unwrap()[i])
                .collect();
            match g.kind {
                SensorFaultKind::Stuck => assert!(after.iter().all(|v| *v == after[0])),
                SensorFaultKind::Dropout => assert!(after.iter().all(|v| v.is_nan())),
                SensorFaultKind::OutOfRange => assert!(after.iter().all(|v| *v == -9999.0)),
                SensorFaultKind::Spikes => {
                    let median = {
                        let mut s = after.clone();
                        s.sort_by(f64::total_cmp);
                        s[100]
                    };
                    let spikes = after.iter().filter(|v| **v > 1.7 * median).count();
                    assert!((1..=15).contains(&spikes), "{spikes} spikes in 200");
                }
            }
        }
    }

    #[test]
    fn wear_moves_the_signature_sensors() {
        let mut f = Fleet::new(FleetConfig {
            faults: 20,
            ..FleetConfig::ending_at(3, 20, 1_780_000_000_000, 30 * DAY_MS)
        })
        .unwrap();
        for a in &mut f.assets {
            let fault = a.fault.clone().unwrap();
            let mean = |a: &mut SimAsset, t0: i64| {
                let mut s = [0.0; 6];
                for k in 0..600 {
                    let v = a.sample(t0 + k * 60_000).unwrap();
                    (0..6).for_each(|i| s[i] += v[i] / 600.0);
                }
                s
            };
            let before = mean(a, fault.onset_ms - 11 * HOUR_MS);
            let late = mean(a, fault.failure_ms - 11 * HOUR_MS);
            let idx = |name: &str| a.kind.sensors().iter().position(|s| *s == name).unwrap();
            match fault.mode {
                FaultMode::BearingWear => {
                    assert!(late[idx("vibration_rms")] > 2.0 * before[idx("vibration_rms")]);
                    assert!(late[idx("bearing_temp")] > before[idx("bearing_temp")] + 15.0);
                }
                FaultMode::ImpellerWear => {
                    assert!(late[idx("flow")] < 0.8 * before[idx("flow")]);
                    assert!(
                        late[idx("discharge_pressure")] < 0.85 * before[idx("discharge_pressure")]
                    );
                }
                FaultMode::WindingOverheating => {
                    assert!(late[idx("winding_temp")] > before[idx("winding_temp")] + 25.0);
                    assert!(late[idx("current")] > 1.12 * before[idx("current")]);
                }
            }
            assert!(
                a.sample(fault.failure_ms).is_none(),
                "a failed asset stops reporting"
            );
        }
    }
}
