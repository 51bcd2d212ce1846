//! Features of one unit's history, row by row, from that row and the rows before it only,
//! computed as polars lazy expressions over a frame of the unit's rows.
//!
//! Per sensor: the value, trailing means over 5, 10, 20 and 30 rows (noise averaged away at
//! several speeds), least-squares slopes over 10 and 30 rows (how fast it degrades) and the
//! standard deviation over 10 rows, the slope over 60 rows, and how far the 30-row mean has moved
//! from the unit's own start (the mean of its first 30 rows: engines, like pumps, leave the
//! factory each a little different, and wear is a departure from *their* normal); plus the
//! unit's age. Windows are in rows, and shorter at the start of a history, so a prediction is
//! possible from the first row on.
//!
//! A slope is the least-squares one from rolling sums (`n·Σxy − Σx·Σy) / (n·Σx² − (Σx)²)`,
//! with `x` the row and `y` the sensor less its first reading, which keeps the sums small).

use polars::prelude::*;

use super::UnitHistory;

const MEANS: [usize; 4] = [5, 10, 20, 30];
const SLOPES: [usize; 3] = [10, 30, 60];
const SPREAD: usize = 10;
/// Rows at the start of a unit that are its own normal.
const START: usize = 30;
/// The row number column (and `x` of the slopes).
const ROW: &str = "__row";
/// The unit column, which every window runs over.
const UNIT: &str = "__unit";

/// Features per sensor.
pub const PER_SENSOR: usize = 1 + MEANS.len() + SLOPES.len() + 2;

/// The names of the features, in order, for sensors named `sensors`.
pub fn names(sensors: &[String]) -> Vec<String> {
    let mut out = vec!["age".to_owned()];
    for s in sensors {
        out.push(s.clone());
        out.extend(MEANS.iter().map(|w| format!("{s}_mean{w}")));
        out.extend(SLOPES.iter().map(|w| format!("{s}_slope{w}")));
        out.push(format!("{s}_sd{SPREAD}"));
        out.push(format!("{s}_from_start"));
    }
    out
}

/// The feature rows of every unit, in one polars query (the windows run per unit): per unit,
/// one vector of [`names`]-ordered features per row. Every unit has as many sensor columns.
pub fn features(units: &[UnitHistory]) -> PolarsResult<Vec<Vec<Vec<f64>>>> {
    let sensors: Vec<String> = (0..units.first().map_or(0, |u| u.columns.len()))
        .map(|k| format!("s{k}"))
        .collect();
    let n: usize = units.iter().map(|u| u.ages.len()).sum();
    let repeat = |f: &dyn Fn(usize, &UnitHistory) -> Vec<f64>| -> Vec<f64> {
        units
            .iter()
            .enumerate()
            .flat_map(|(k, u)| f(k, u))
            .collect()
    };
    let mut frame = vec![
        Column::new(UNIT.into(), repeat(&|k, u| vec![k as f64; u.ages.len()])),
        Column::new("age".into(), repeat(&|_, u| u.ages.clone())),
        Column::new(
            ROW.into(),
            repeat(&|_, u| (0..u.ages.len()).map(|i| i as f64).collect()),
        ),
    ];
    for (k, name) in sensors.iter().enumerate() {
        let values = repeat(&|_, u| u.columns.get(k).cloned().unwrap_or_default());
        polars_ensure!(values.len() == n, ShapeMismatch: "units with different sensor columns");
        frame.push(Column::new(name.as_str().into(), values));
    }
    let mut exprs = vec![col("age")];
    for s in &sensors {
        exprs.extend(sensor_exprs(s)?);
    }
    let out = DataFrame::new(n, frame)?.lazy().select(exprs).collect()?;
    let values: Vec<Vec<f64>> = out
        .columns()
        .iter()
        .map(|c| {
            let c = c.cast(&DataType::Float64)?;
            Ok(c.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
        })
        .collect::<PolarsResult<_>>()?;
    let mut first = 0;
    Ok(units
        .iter()
        .map(|u| {
            let rows = (first..first + u.ages.len())
                .map(|i| values.iter().map(|c| c[i]).collect())
                .collect();
            first += u.ages.len();
            rows
        })
        .collect())
}

/// A trailing window of `w` rows, shorter at the start.
fn window(w: usize) -> RollingOptionsFixedWindow {
    RollingOptionsFixedWindow {
        window_size: w,
        min_periods: 1,
        ..Default::default()
    }
}

/// The [`PER_SENSOR`] features of sensor column `s`, in [`names`] order.
fn sensor_exprs(s: &str) -> PolarsResult<Vec<Expr>> {
    let v = col(s);
    let mut out = vec![v.clone().alias(format!("{s}_value"))];
    for w in MEANS {
        let mean = per_unit(v.clone().rolling_mean(window(w)))?;
        out.push(mean.alias(format!("{s}_mean{w}")));
    }
    for w in SLOPES {
        out.push(slope(s, w)?);
    }
    let population = RollingOptionsFixedWindow {
        fn_params: Some(RollingFnParams::Var(RollingVarParams { ddof: 0 })),
        ..window(SPREAD)
    };
    out.push(
        per_unit(v.clone().rolling_std(population))?
            .fill_null(lit(0.0))
            .alias(format!("{s}_sd{SPREAD}")),
    );
    // Before row START the 30-row mean is the start's mean: nothing has moved yet.
    let moved =
        per_unit(v.clone().rolling_mean(window(START)))? - per_unit(v.head(Some(START)).mean())?;
    out.push(
        when(col(ROW).lt(lit(START as f64)))
            .then(lit(0.0))
            .otherwise(moved)
            .alias(format!("{s}_from_start")),
    );
    Ok(out)
}

/// `e` computed within each unit.
fn per_unit(e: Expr) -> PolarsResult<Expr> {
    e.over([col(UNIT)])
}

/// The least-squares slope per row of sensor `s` over the last `w` rows (0 for one row).
fn slope(s: &str, w: usize) -> PolarsResult<Expr> {
    let x = col(ROW);
    let y = col(s) - per_unit(col(s).first())?;
    let sum = |e: Expr| per_unit(e.rolling_sum(window(w)));
    let n = sum(lit(1.0) + x.clone() * lit(0.0))?;
    let (sx, sy) = (sum(x.clone())?, sum(y.clone())?);
    let (sxy, sxx) = (sum(x.clone() * y)?, sum(x.clone() * x)?);
    let den = n.clone() * sxx - sx.clone() * sx.clone();
    let num = n * sxy - sx * sy;
    Ok(when(den.clone().gt(lit(1e-9)))
        .then(num / den)
        .otherwise(lit(0.0))
        .alias(format!("{s}_slope{w}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean(xs: &[f64]) -> f64 {
        xs.iter().sum::<f64>() / xs.len() as f64
    }

    fn unit(ages: &[f64], col: &[f64]) -> UnitHistory {
        UnitHistory {
            id: "u".into(),
            ages: ages.to_vec(),
            columns: vec![col.to_vec()],
            settings: Vec::new(),
        }
    }

    fn one(ages: &[f64], col: &[f64]) -> Vec<Vec<f64>> {
        features(&[unit(ages, col)]).unwrap().remove(0)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * (1.0 + b.abs())
    }

    #[test]
    fn windows_look_back_only_and_shrink_at_the_start() {
        let col: Vec<f64> = (0..40).map(|i| 2.0 * f64::from(i)).collect();
        let ages: Vec<f64> = (1..=40).map(f64::from).collect();
        let rows = one(&ages, &col);
        assert_eq!(
            rows[0],
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        );
        let r = &rows[35];
        assert_eq!(r.len(), 1 + PER_SENSOR);
        assert_eq!(r[1], 70.0);
        assert!(close(r[2], mean(&[62.0, 64.0, 66.0, 68.0, 70.0])), "{r:?}");
        assert!(close(r[6], 2.0) && close(r[7], 2.0), "slopes {r:?}");
        // Over 60 rows the window is the 36 rows so far: still the one slope.
        assert!(close(r[8], 2.0), "{r:?}");
        // The spread of 10 evenly spaced values two apart (population σ).
        let last10: Vec<f64> = col[26..36].to_vec();
        let m = mean(&last10);
        let sd = (last10.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 10.0).sqrt();
        assert!(close(r[9], sd), "{r:?}");
        // From the start: the mean of rows 6..=35 (values 12..70) over that of rows 0..=29.
        assert!(close(r[10], mean(&col[6..36]) - mean(&col[..30])), "{r:?}");
        assert!(close(rows[20][10], 0.0), "not moved before row 30");
        assert_eq!(names(&["s".into()]).len(), r.len());
    }

    #[test]
    fn a_noisy_column_matches_the_definitions_row_by_row() {
        let col: Vec<f64> = (0..80)
            .map(|i| 1500.0 + 0.3 * f64::from(i) + 4.0 * (f64::from(i) * 1.7).sin())
            .collect();
        let ages: Vec<f64> = (0..80).map(f64::from).collect();
        let rows = one(&ages, &col);
        for i in [0usize, 1, 9, 29, 30, 59, 79] {
            let win = |w: usize| &col[(i + 1).saturating_sub(w)..=i];
            let ls = |xs: &[f64]| {
                let n = xs.len() as f64;
                let (xbar, ybar) = ((n - 1.0) / 2.0, mean(xs));
                let sxy: f64 = xs
                    .iter()
                    .enumerate()
                    .map(|(k, y)| (k as f64 - xbar) * (y - ybar))
                    .sum();
                let sxx: f64 = (0..xs.len()).map(|k| (k as f64 - xbar).powi(2)).sum();
                if sxx > 0.0 { sxy / sxx } else { 0.0 }
            };
            let r = &rows[i];
            assert!(close(r[3], mean(win(10))), "row {i}: {r:?}");
            for (k, w) in SLOPES.iter().enumerate() {
                assert!(
                    (r[6 + k] - ls(win(*w))).abs() < 1e-7,
                    "row {i} slope {w}: {r:?}"
                );
            }
        }
    }

    #[test]
    fn windows_never_cross_from_one_unit_to_the_next() {
        let a: Vec<f64> = (0..50).map(|i| 100.0 + f64::from(i)).collect();
        let b: Vec<f64> = (0..40).map(|i| 5.0 - 0.5 * f64::from(i)).collect();
        let ages = |n: i32| (1..=n).map(f64::from).collect::<Vec<_>>();
        let both = features(&[unit(&ages(50), &a), unit(&ages(40), &b)]).unwrap();
        assert_eq!(both[0], one(&ages(50), &a));
        assert_eq!(both[1], one(&ages(40), &b));
        assert_eq!(
            both[1][0][1..],
            [5.0, 5.0, 5.0, 5.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        );
        assert!(close(both[1][35][6], -0.5), "{:?}", both[1][35]);
    }
}
