use super::*;

fn noise(t: f64, k: f64) -> f64 {
    ((t * 12.9898 + k * 78.233).sin() * 43_758.545).fract()
}

/// A unit failing at `life`: one sensor rises exponentially towards failure, one falls, one is
/// noise only; all are noisy.
pub(super) fn unit(id: usize, life: usize) -> UnitHistory {
    let k = id as f64;
    let ages: Vec<f64> = (1..=life).map(|a| a as f64).collect();
    let wear = |a: f64| ((a - life as f64) / 40.0).exp();
    let columns = vec![
        ages.iter()
            .map(|&a| 10.0 + 3.0 * wear(a) + 0.4 * noise(a, k))
            .collect(),
        ages.iter()
            .map(|&a| 5.0 - 1.5 * wear(a) + 0.3 * noise(a, k + 0.5))
            .collect(),
        ages.iter().map(|&a| 50.0 + noise(a, k + 0.7)).collect(),
    ];
    UnitHistory {
        id: format!("u{id}"),
        ages,
        columns,
        settings: vec![],
    }
}

fn fleet() -> Vec<UnitHistory> {
    (0..30).map(|i| unit(i, 120 + (i * 37) % 130)).collect()
}

fn sensors() -> Vec<String> {
    ["rising", "falling", "idle"].map(String::from).to_vec()
}

fn quick() -> TrainConfig {
    TrainConfig {
        cap: Some(100.0),
        folds: 5,
        boost: BoostParams {
            rounds: 60,
            ..BoostParams::default()
        },
    }
}

#[test]
fn learns_remaining_life_and_brackets_it() {
    let mut ticks = 0;
    let model = train(&fleet(), sensors(), &quick(), || ticks += 1).unwrap();
    assert_eq!(ticks, 6 * 60);
    assert_eq!((model.cv.units, model.cv.folds), (30, 5));
    // Only the last ~100 cycles are informative and the sensor only moves in the last ~80:
    // predicting the mean label everywhere would score about 30.
    assert!(model.cv.rmse < 15.0, "{:?}", model.cv);

    // Units the model never saw, cut at several points before failure.
    let mut inside = 0;
    let mut total = 0;
    for (i, life) in [(101, 180), (102, 233), (103, 141)] {
        let full = unit(i, life);
        for left in [5usize, 20, 40, 60, 150] {
            let Some(seen) = life.checked_sub(left) else {
                continue;
            };
            let cut = UnitHistory {
                id: full.id.clone(),
                ages: full.ages[..seen].to_vec(),
                columns: full.columns.iter().map(|c| c[..seen].to_vec()).collect(),
                settings: vec![],
            };
            let p = model.predict(&cut).unwrap().unwrap();
            let truth = (left as f64).min(100.0);
            assert!(
                p.low <= p.rul && p.rul <= p.high && p.high <= 100.0,
                "{p:?}"
            );
            assert!((p.rul - truth).abs() < 30.0, "left {left}: {p:?}");
            total += 1;
            inside += usize::from((p.low - 1.0..=p.high + 1.0).contains(&truth));
        }
    }
    assert!(
        inside * 10 >= total * 6,
        "{inside} of {total} inside the 80 % interval"
    );
}

#[test]
fn the_model_survives_a_round_trip_and_refuses_bad_shapes() {
    let model = train(&fleet()[..10], sensors(), &quick(), || {}).unwrap();
    let text = serde_json::to_string(&model).unwrap();
    let back: RulModel = serde_json::from_str(&text).unwrap();
    assert_eq!(back, model);
    back.validate().unwrap();
    let mut wrong = unit(1, 50);
    wrong.columns.pop();
    assert_eq!(model.predict(&wrong), Err(RulError::Shape("u1".into(), 3)));
    let empty = UnitHistory {
        id: "e".into(),
        ages: vec![],
        columns: vec![vec![]; 3],
        settings: vec![],
    };
    assert_eq!(model.predict(&empty), Ok(None));
    assert_eq!(
        train(&fleet()[..3], sensors(), &quick(), || {}).unwrap_err(),
        RulError::TooFewUnits {
            units: 3,
            needed: 5
        }
    );
    let old = RulModel { format: 0, ..model };
    assert_eq!(old.validate(), Err(RulError::Format(0)));
}
