//! An asset's health as the detectors see it now: what a planner's fleet view and asset page
//! show between findings.

use serde::{Deserialize, Serialize};

use crate::{
    AbruptChange, AssetId, Direction, FailureLevels, HealthIndex, InstrumentFault, JointEvidence,
    SensorName, TimestampMs,
};

/// One sensor's state, worst first when ordered.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SensorState {
    /// Misreading (stuck, spiking, silent, out of range): its values are not judged.
    Faulty,
    /// A sustained deviation from its healthy baseline.
    Deviating,
    /// Judged and within normal.
    Ok,
    /// Still learning its normal.
    Warming,
}

/// One sensor's health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SensorHealth {
    /// The sensor.
    pub sensor: SensorName,
    /// Its state.
    pub state: SensorState,
    /// The last value seen.
    pub value: f64,
    /// Smoothed robust z-score against the healthy baseline (0 while warming).
    pub score: f64,
    /// The streaming change detector's score of the last reading, in [0, 1) (0.5 at its
    /// threshold).
    pub change_score: f64,
    /// The latest abrupt change it saw, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change: Option<AbruptChange>,
    /// What is wrong with it, when faulty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<InstrumentFault>,
    /// Its learnt normal level (the warm-up's median), once judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    /// Its learnt normal spread (robust σ, from the warm-up's MAD), once judged: a score is
    /// `(value − baseline) / scale`, smoothed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
}

/// What the machine is doing, from the sensors that say whether it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OperatingState {
    /// Running: every sensor is judged.
    Running,
    /// Standing still since `since_ms` (device time): nothing is judged.
    Stopped {
        /// When it stopped.
        since_ms: TimestampMs,
    },
    /// Started at `since_ms`: sensors that cooled while it stood are judged once settled.
    Starting {
        /// When it started.
        since_ms: TimestampMs,
    },
}

/// Which of the operating points (set points) an asset has shown it runs at now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OperatingPoint {
    /// The point, from 1 in the order first seen.
    pub point: u32,
    /// How many points it has shown.
    pub of: u32,
    /// When it moved to this point (device time).
    pub since_ms: TimestampMs,
}

/// An asset's health as of its last reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AssetHealth {
    /// The asset.
    pub asset: AssetId,
    /// Time of its newest reading.
    pub as_of_ms: Option<TimestampMs>,
    /// Its sensors, by name.
    pub sensors: Vec<SensorHealth>,
    /// Its joint model's view, once fitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joint: Option<JointEvidence>,
    /// Its health fused from its sensors, once they are judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthIndex>,
    /// Running, stopped or starting, once its sensors have said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating: Option<OperatingState>,
    /// The set point it runs at, once it has shown more than one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_point: Option<OperatingPoint>,
}

/// The health index of scores: 1 − the largest share of the way from baseline to its failure
/// level (`levels`) any sensor's `score` has gone, clamped to [0, 1] and rounded to 0.001,
/// with the sensor that limits it. A sensor leaning away from the only direction it fails in
/// has gone no way; one with no level at all is not counted; `None` when none is.
///
/// The live index (from smoothed scores) and the asset page's history (from bucket means of
/// the stored readings) are both this function, so the two read alike.
pub fn health_index<'a>(
    levels: &FailureLevels,
    scores: impl IntoIterator<Item = (&'a SensorName, f64)>,
) -> Option<(f64, &'a SensorName)> {
    let mut worst: Option<(f64, &SensorName)> = None;
    for (name, score) in scores {
        if !score.is_finite() {
            continue;
        }
        let (toward, away) = if score >= 0.0 {
            (Direction::Up, Direction::Down)
        } else {
            (Direction::Down, Direction::Up)
        };
        let gone = match levels.get(&(name.clone(), toward)) {
            Some(&level) if level > 0.0 => score.abs() / level,
            _ if levels.contains_key(&(name.clone(), away)) => 0.0,
            _ => continue,
        };
        if worst.is_none_or(|(w, _)| gone > w) {
            worst = Some((gone, name));
        }
    }
    worst.map(|(gone, name)| {
        (
            ((1.0 - gone).clamp(0.0, 1.0) * 1000.0).round() / 1000.0,
            name,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sensor_furthest_toward_its_failure_limits_health() {
        let s = |n: &str| SensorName::new(n).unwrap();
        let (temp, flow, speed) = (s("temp"), s("flow"), s("speed"));
        let levels: FailureLevels = [
            ((temp.clone(), Direction::Up), 8.0),
            ((flow.clone(), Direction::Down), 4.0),
        ]
        .into_iter()
        .collect();
        // temp a quarter of the way up, flow half the way down: flow limits.
        let (index, by) =
            health_index(&levels, [(&temp, 2.0), (&flow, -2.0), (&speed, 9.0)]).unwrap();
        assert_eq!((index, by), (0.5, &flow));
        // Both on their safe sides: fully healthy; past the level: 0, not negative.
        assert_eq!(
            health_index(&levels, [(&temp, -3.0), (&flow, 1.0)])
                .unwrap()
                .0,
            1.0
        );
        assert_eq!(health_index(&levels, [(&flow, -12.0)]).unwrap().0, 0.0);
        // Only sensors without a level, or no finite score: nothing to say.
        assert!(health_index(&levels, [(&speed, 3.0)]).is_none());
        assert!(health_index(&levels, [(&temp, f64::NAN)]).is_none());
    }
}
