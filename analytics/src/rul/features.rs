//! Features of one unit's history, row by row, from that row and the rows before it only.
//!
//! Per sensor: the value, trailing means over 5, 10, 20 and 30 rows (noise averaged away at
//! several speeds), least-squares slopes over 10 and 30 rows (how fast it degrades) and the
//! standard deviation over 10 rows, the slope over 60 rows, and how far the 30-row mean has moved
//! from the unit's own start (the mean of its first 30 rows: engines, like pumps, leave the
//! factory each a little different, and wear is a departure from *their* normal); plus the
//! unit's age. Windows are in rows, and shorter at the start of a history, so a prediction is
//! possible from the first row on.

const MEANS: [usize; 4] = [5, 10, 20, 30];
const SLOPES: [usize; 3] = [10, 30, 60];
const SPREAD: usize = 10;
/// Rows at the start of a unit that are its own normal.
const START: usize = 30;

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

/// The feature rows of one unit: `ages` per row, `columns[k][i]` the k-th sensor at row `i`.
/// Returns one vector of [`names`]-ordered features per row.
pub fn unit_features(ages: &[f64], columns: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = ages.len();
    let mut rows: Vec<Vec<f64>> = ages
        .iter()
        .map(|&a| {
            let mut r = Vec::with_capacity(1 + PER_SENSOR * columns.len());
            r.push(a);
            r
        })
        .collect();
    for col in columns {
        for (i, row) in rows.iter_mut().enumerate().take(n) {
            row.push(col[i]);
            for w in MEANS {
                row.push(mean(window(col, i, w)));
            }
            for w in SLOPES {
                row.push(slope(window(col, i, w)));
            }
            row.push(sd(window(col, i, SPREAD)));
            let start = mean(&col[..=i.min(START - 1)]);
            row.push(mean(window(col, i, START)) - start);
        }
    }
    rows
}

/// The up to `w` values ending at row `i`.
fn window(col: &[f64], i: usize, w: usize) -> &[f64] {
    &col[(i + 1).saturating_sub(w)..=i]
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Least-squares slope per row; 0 for a single value.
fn slope(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let xbar = (n - 1.0) / 2.0;
    let ybar = mean(xs);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (k, y) in xs.iter().enumerate() {
        let dx = k as f64 - xbar;
        sxy += dx * (y - ybar);
        sxx += dx * dx;
    }
    if sxx > 0.0 { sxy / sxx } else { 0.0 }
}

fn sd(xs: &[f64]) -> f64 {
    let m = mean(xs);
    (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_look_back_only_and_shrink_at_the_start() {
        let col: Vec<f64> = (0..40).map(|i| 2.0 * f64::from(i)).collect();
        let ages: Vec<f64> = (1..=40).map(f64::from).collect();
        let rows = unit_features(&ages, std::slice::from_ref(&col));
        assert_eq!(
            rows[0],
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        );
        let r = &rows[35];
        assert_eq!(r.len(), 1 + PER_SENSOR);
        assert_eq!(r[1], 70.0);
        assert_eq!(r[2], mean(&[62.0, 64.0, 66.0, 68.0, 70.0]));
        assert!(
            (r[6] - 2.0).abs() < 1e-12 && (r[7] - 2.0).abs() < 1e-12,
            "slopes {r:?}"
        );
        // From the start: the mean of rows 6..=35 (values 12..70) over that of rows 0..=29.
        assert!((r[10] - (mean(&col[6..36]) - mean(&col[..30]))).abs() < 1e-9);
        assert_eq!(names(&["s".into()]).len(), r.len());
    }
}
