//! Sensor models of the simulated asset types.
//!
//! Each sensor is a deterministic function of the operating point (load, ambient temperature) and
//! of the wear of each failure mode (0 = healthy, 1 = failed), plus measurement noise. The wear
//! signatures follow common field experience: bearing wear raises vibration and bearing
//! temperature over days; impeller wear lowers flow and head at constant speed; a degrading stator
//! winding runs hotter and draws more current.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};

/// The simulated kinds of equipment (ids match `config/catalog.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetKind {
    /// A centrifugal pump with its drive.
    Pump,
    /// An induction motor.
    Motor,
}

impl AssetKind {
    /// The catalog asset type.
    pub fn type_id(self) -> &'static str {
        match self {
            Self::Pump => "centrifugal_pump",
            Self::Motor => "electric_motor",
        }
    }

    /// The sensors it reports, in payload order.
    pub fn sensors(self) -> &'static [&'static str] {
        match self {
            Self::Pump => &[
                "vibration_rms",
                "bearing_temp",
                "motor_current",
                "discharge_pressure",
                "flow",
                "speed",
            ],
            Self::Motor => &[
                "vibration_rms",
                "bearing_temp",
                "winding_temp",
                "current",
                "voltage",
                "speed",
            ],
        }
    }

    /// Decimal places each sensor reports (in [`AssetKind::sensors`] order): what a typical
    /// transmitter resolves, so payloads and stored values carry realistic, not infinite, precision.
    pub fn decimals(self) -> [i32; 6] {
        match self {
            Self::Pump => [2, 1, 1, 2, 1, 0],
            Self::Motor => [2, 1, 1, 1, 1, 0],
        }
    }

    /// The failure modes it can develop.
    pub fn fault_modes(self) -> &'static [FaultMode] {
        match self {
            Self::Pump => &[FaultMode::BearingWear, FaultMode::ImpellerWear],
            Self::Motor => &[FaultMode::WindingOverheating, FaultMode::BearingWear],
        }
    }
}

/// The simulated failure modes (ids match the catalog).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// Rolling-element bearing wear.
    BearingWear,
    /// Impeller erosion.
    ImpellerWear,
    /// Stator winding insulation degradation.
    WindingOverheating,
}

impl FaultMode {
    /// The catalog failure mode id.
    pub fn id(self) -> &'static str {
        match self {
            Self::BearingWear => "bearing_wear",
            Self::ImpellerWear => "impeller_wear",
            Self::WindingOverheating => "winding_overheating",
        }
    }
}

/// An asset's nameplate values, varied per asset so no two machines read the same.
#[derive(Debug, Clone)]
pub struct Nameplate {
    /// Vibration at full load, healthy (mm/s).
    pub vibration: f64,
    /// Rated speed (rpm).
    pub speed: f64,
    /// Rated current (A).
    pub current: f64,
    /// Pump rated flow (m³/h).
    pub flow: f64,
    /// Pump rated discharge pressure (bar).
    pub pressure: f64,
    /// Bearing temperature rise over ambient at full load (K).
    pub bearing_rise: f64,
    /// Winding temperature rise over ambient at full load (K).
    pub winding_rise: f64,
}

impl Nameplate {
    /// A nameplate for `kind`, each value within ±8 % of the type's nominal.
    pub fn random(kind: AssetKind, rng: &mut impl Rng) -> Self {
        let mut vary = |x: f64| x * (0.92 + 0.16 * rng.random::<f64>());
        match kind {
            AssetKind::Pump => Self {
                vibration: vary(2.5),
                speed: vary(2950.0),
                current: vary(60.0),
                flow: vary(150.0),
                pressure: vary(5.5),
                bearing_rise: vary(30.0),
                winding_rise: 0.0,
            },
            AssetKind::Motor => Self {
                vibration: vary(1.8),
                speed: vary(1485.0),
                current: vary(95.0),
                flow: 0.0,
                pressure: 0.0,
                bearing_rise: vary(25.0),
                winding_rise: vary(55.0),
            },
        }
    }
}

/// Wear per mode, each in [0, 1].
#[derive(Debug, Clone, Copy, Default)]
pub struct Wear {
    /// Bearing wear.
    pub bearing: f64,
    /// Impeller wear.
    pub impeller: f64,
    /// Winding degradation.
    pub winding: f64,
}

/// A variable-speed drive's state: the speed set point and the speed the machine's temperatures
/// have caught up with, each a share of rated speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drive {
    /// Speed now.
    pub speed: f64,
    /// Speed the temperatures correspond to (it lags a set-point change).
    pub thermal: f64,
}

impl Drive {
    /// At rated speed, settled.
    pub const RATED: Self = Self {
        speed: 1.0,
        thermal: 1.0,
    };
}

/// The conditions a sample is taken in.
#[derive(Debug, Clone, Copy)]
pub struct Conditions {
    /// Process load (share of rated duty at the speed).
    pub load: f64,
    /// Ambient temperature (°C).
    pub ambient: f64,
    /// Wear per mode.
    pub wear: Wear,
    /// The drive.
    pub drive: Drive,
}

/// One sample of every sensor of an asset, in [`AssetKind::sensors`] order, at the sensors' resolution.
pub fn sample(kind: AssetKind, np: &Nameplate, c: Conditions, rng: &mut impl Rng) -> [f64; 6] {
    let raw = physical(kind, np, c, rng);
    let decimals = kind.decimals();
    std::array::from_fn(|i| {
        // Dividing by an exact power of ten gives the double nearest the decimal value.
        let scale = 10f64.powi(decimals[i]);
        (raw[i] * scale).round() / scale
    })
}

/// The affinity laws at speed share `s`: flow ∝ s, head ∝ s², and a pump's or a fan's torque
/// (hence current) ∝ s²; vibration from imbalance ∝ s²; a bearing's temperature rise ∝ s.
fn physical(kind: AssetKind, np: &Nameplate, c: Conditions, rng: &mut impl Rng) -> [f64; 6] {
    let Conditions {
        load,
        ambient,
        wear,
        drive,
    } = c;
    let (s, th) = (drive.speed, drive.thermal);
    let mut n = || -> f64 { StandardNormal.sample(rng) };
    let vibration =
        np.vibration * s * s * (0.9 + 0.1 * load) * (1.0 + 2.5 * wear.bearing) * (1.0 + 0.04 * n());
    match kind {
        AssetKind::Pump => {
            let bearing_temp = ambient
                + np.bearing_rise * th * (0.6 + 0.4 * load)
                + 30.0 * wear.bearing
                + 0.4 * n();
            let current = np.current
                * s
                * s
                * (0.5 + 0.5 * load)
                * (1.0 - 0.08 * wear.impeller + 0.05 * wear.bearing)
                * (1.0 + 0.01 * n());
            let pressure = np.pressure
                * s
                * s
                * (0.75 + 0.25 * load)
                * (1.0 - 0.3 * wear.impeller)
                * (1.0 + 0.008 * n());
            let flow = np.flow * s * load * (1.0 - 0.4 * wear.impeller) * (1.0 + 0.01 * n());
            let speed = np.speed * s * (0.99 + 0.01 * load) + 3.0 * n();
            [vibration, bearing_temp, current, pressure, flow, speed]
        }
        AssetKind::Motor => {
            // The driven load's torque falls with the square of the speed.
            let (torque, thermal_torque) = (load * s * s, load * th * th);
            let bearing_temp = ambient
                + np.bearing_rise * th * (0.6 + 0.4 * load)
                + 28.0 * wear.bearing
                + 0.4 * n();
            let winding_temp = ambient
                + np.winding_rise * (0.5 + 0.5 * thermal_torque).powi(2)
                + 45.0 * wear.winding
                + 0.5 * n();
            let current = np.current
                * (0.45 + 0.55 * torque)
                * (1.0 + 0.25 * wear.winding + 0.04 * wear.bearing)
                * (1.0 + 0.01 * n());
            let voltage = 400.0 + 2.0 * n();
            let speed = np.speed * s * (1.0 - 0.01 * torque) + 1.5 * n();
            [
                vibration,
                bearing_temp,
                winding_temp,
                current,
                voltage,
                speed,
            ]
        }
    }
}
