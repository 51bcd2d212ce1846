//! Failure-mode classification by catalog signature.

use forewarn_domain::{Catalog, FailureMode, Finding, ModeKind};

/// The failure mode whose signature the finding shows in full. When several match, the one with
/// the largest signature wins (the most specific explanation), then the strongest total score.
/// A finding about instruments (sensor faults) goes to the type's instrumentation mode, and a
/// machine finding never does: a broken sensor must not send a fitter to open a bearing.
pub fn classify<'c>(catalog: &'c Catalog, finding: &Finding) -> Option<&'c FailureMode> {
    let ty = catalog.asset_type(&finding.asset_type)?;
    if finding.is_instrumentation() {
        return ty
            .failure_modes
            .iter()
            .find(|m| m.kind == ModeKind::Instrumentation);
    }
    ty.failure_modes
        .iter()
        .filter(|mode| mode.kind == ModeKind::Machine)
        .filter_map(|mode| {
            let mut total = 0.0;
            for (sensor, direction) in &mode.signature {
                let d = finding
                    .deviations
                    .iter()
                    .find(|d| &d.sensor == sensor && d.direction == *direction)?;
                total += d.score.abs();
            }
            Some((mode, mode.signature.len(), total))
        })
        .max_by(|a, b| a.1.cmp(&b.1).then(a.2.total_cmp(&b.2)))
        .map(|(mode, _, _)| mode)
}

#[cfg(test)]
mod tests {
    use forewarn_domain::{AssetId, AssetTypeId, Direction, SensorDeviation, SensorName, Severity};

    use super::*;

    const CATALOG: &str = r#"
        [asset_types.pump]
        sensors.vib = { unit = "mm/s", min = 0.0, max = 50.0 }
        sensors.temp = { unit = "C", min = -20.0, max = 150.0 }
        sensors.flow = { unit = "m3/h", min = 0.0, max = 500.0 }
        [[asset_types.pump.failure_modes]]
        id = "bearing_wear"
        name = "Bearing wear"
        signature = { vib = "up", temp = "up" }
        [[asset_types.pump.failure_modes]]
        id = "imbalance"
        name = "Imbalance"
        signature = { vib = "up" }
        [[asset_types.pump.failure_modes]]
        id = "impeller_wear"
        name = "Impeller wear"
        signature = { flow = "down" }
    "#;

    fn finding(devs: &[(&str, Direction, f64)]) -> Finding {
        Finding {
            asset: AssetId::new("p").unwrap(),
            asset_type: AssetTypeId::new("pump").unwrap(),
            detected_at_ms: 0,
            deviations: devs
                .iter()
                .map(|(s, d, score)| SensorDeviation {
                    sensor: SensorName::new(s).unwrap(),
                    direction: *d,
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

    #[test]
    fn most_specific_full_match_wins() {
        let c = Catalog::from_toml(CATALOG).unwrap();
        let id = |f: &Finding| classify(&c, f).map(|m| m.id.as_str().to_string());
        use Direction::*;
        assert_eq!(
            id(&finding(&[("vib", Up, 5.0)])).as_deref(),
            Some("imbalance")
        );
        assert_eq!(
            id(&finding(&[("vib", Up, 5.0), ("temp", Up, 4.0)])).as_deref(),
            Some("bearing_wear")
        );
        assert_eq!(id(&finding(&[("temp", Up, 4.0)])), None);
        assert_eq!(id(&finding(&[("flow", Up, -4.0)])), None, "wrong direction");
        assert_eq!(
            id(&finding(&[("flow", Down, -4.0)])).as_deref(),
            Some("impeller_wear")
        );
    }
}
