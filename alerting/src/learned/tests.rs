use forewarn_domain::{AssetId, Direction, SensorDeviation, SensorName, Severity};

use super::*;

const CATALOG: &str = r#"
    [asset_types.pump]
    sensors.vib = { unit = "mm/s", min = 0.0, max = 50.0 }
    sensors.temp = { unit = "C", min = -20.0, max = 150.0 }
    sensors.flow = { unit = "m3/h", min = 0.0, max = 500.0 }
    sensors.pressure = { unit = "bar", min = 0.0, max = 25.0 }
    [[asset_types.pump.failure_modes]]
    id = "bearing_wear"
    name = "Bearing wear"
    signature = { vib = "up", temp = "up" }
    [[asset_types.pump.failure_modes]]
    id = "impeller_wear"
    name = "Impeller wear"
    signature = { flow = "down", pressure = "down" }
    [[asset_types.pump.failure_modes]]
    id = "sensor_fault"
    name = "Instrumentation"
    kind = "instrumentation"
"#;

fn finding(devs: &[(&str, f64)]) -> Finding {
    Finding {
        asset: AssetId::new("p").unwrap(),
        asset_type: AssetTypeId::new("pump").unwrap(),
        detected_at_ms: 0,
        deviations: devs
            .iter()
            .map(|(s, score)| SensorDeviation {
                sensor: SensorName::new(s).unwrap(),
                direction: if *score > 0.0 {
                    Direction::Up
                } else {
                    Direction::Down
                },
                score: *score,
                value: 0.0,
                baseline: 0.0,
                since_ms: 0,
                time_to_failure_h: None,
                change: None,
            })
            .collect(),
        score: 5.0,
        severity: Severity::Medium,
        detector: "t".into(),
        sensor_faults: vec![],
        joint: None,
        health: None,
        evidence: None,
    }
}

/// Resolved tickets: bearing wear often shows in vibration alone before the temperature follows,
/// impeller wear in flow alone — findings the catalog's two-sensor signatures do not match.
fn history() -> Vec<(Finding, FailureModeId)> {
    let mut out = Vec::new();
    for k in 0..12 {
        let s = 4.0 + k as f64;
        let bearing = if k % 2 == 0 {
            finding(&[("vib", s)])
        } else {
            finding(&[("vib", s), ("temp", 3.6)])
        };
        out.push((bearing, "bearing_wear".parse().unwrap()));
        let impeller = if k % 2 == 0 {
            finding(&[("flow", -s)])
        } else {
            finding(&[("flow", -s), ("pressure", -4.0)])
        };
        out.push((impeller, "impeller_wear".parse().unwrap()));
    }
    out
}

#[test]
fn proposes_the_mode_a_strict_signature_misses_but_never_from_one_sensor() {
    // A catalog whose impeller signature also asks for a falling vibration.
    let strict = CATALOG.replace(
        r#"signature = { flow = "down", pressure = "down" }"#,
        r#"signature = { flow = "down", pressure = "down", vib = "down" }"#,
    );
    let catalog = Catalog::from_toml(&strict).unwrap();
    let learned = LearnedModes::train(&catalog, &history());
    assert_eq!((learned.types(), learned.examples()), (1, 24));
    let flow_and_pressure = finding(&[("flow", -6.5), ("pressure", -4.2)]);
    assert!(
        crate::classify(&catalog, &flow_and_pressure).is_none(),
        "the rule needs vibration too"
    );
    let (mode, p) = learned.predict(&catalog, &flow_and_pressure).unwrap();
    assert_eq!(mode.id.as_str(), "impeller_wear");
    assert!(p >= MIN_PROBABILITY);
    // One sensor alone never names a mode whose signature takes more, however familiar.
    assert!(
        learned
            .predict(&catalog, &finding(&[("flow", -6.5)]))
            .is_none()
    );
    assert!(
        learned
            .predict(&catalog, &finding(&[("vib", 9.0)]))
            .is_none()
    );
}

#[test]
fn never_guesses_without_history_or_for_instruments() {
    let catalog = Catalog::from_toml(CATALOG).unwrap();
    let few = LearnedModes::train(&catalog, &history()[..6]);
    assert_eq!(few.types(), 0, "three examples per mode are not enough");
    assert!(few.predict(&catalog, &finding(&[("vib", 9.0)])).is_none());
    let learned = LearnedModes::train(&catalog, &history());
    let mut instruments = finding(&[]);
    instruments
        .sensor_faults
        .push(forewarn_domain::SensorFault {
            sensor: SensorName::new("vib").unwrap(),
            fault: forewarn_domain::InstrumentFault::Stuck,
            since_ms: 0,
            value: 1.0,
        });
    assert!(learned.predict(&catalog, &instruments).is_none());
    // A finding unlike anything learnt (temperature falling) is not forced into a mode.
    assert!(
        learned
            .predict(&catalog, &finding(&[("temp", -5.0)]))
            .is_none()
    );
}
