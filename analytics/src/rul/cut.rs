//! The benchmark's protocol on run-to-failure data: each held-out unit is cut at a random cycle
//! and its remaining life predicted at the last row kept, as C-MAPSS's official test split does.
//!
//! Features come from a row's past only, so the prediction at a cut is the cross-validated
//! prediction of that row; what the protocol changes is which rows count — one per unit, at a
//! random point of its life — which weighs every unit alike however long it ran. The cut is
//! uniform over the unit's rows from its [`MIN_HISTORY`]th on (the shortest history in the
//! official test sets is 31 cycles). Seeded, so a figure is reproducible.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Fewest rows kept before a cut.
pub const MIN_HISTORY: usize = 31;
/// Cuts of every unit the figure is averaged over.
pub const SEEDS: usize = 10;

/// Mean and standard deviation, over `seeds` seeds, of the RMSE of one randomly cut row per
/// unit; `per_unit` holds each unit's (prediction, truth) in row order.
pub fn score(per_unit: &[Vec<(f64, f64)>], seeds: usize) -> (f64, f64) {
    let rmses: Vec<f64> = (0..seeds as u64)
        .filter_map(|seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let errors: Vec<f64> = per_unit
                .iter()
                .filter(|rows| !rows.is_empty())
                .map(|rows| {
                    let first = MIN_HISTORY.min(rows.len()) - 1;
                    let (p, y) = rows[rng.random_range(first..rows.len())];
                    (p - y).powi(2)
                })
                .collect();
            (!errors.is_empty()).then(|| (errors.iter().sum::<f64>() / errors.len() as f64).sqrt())
        })
        .collect();
    let n = rmses.len().max(1) as f64;
    let mean = rmses.iter().sum::<f64>() / n;
    let sd = (rmses.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
    (mean, sd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_unit_at_a_random_cut() {
        // Unit 0 is predicted perfectly, unit 1 is off by 10 on every row: every cut's RMSE is
        // √((0 + 100) / 2), whatever row it lands on.
        let units = vec![vec![(5.0, 5.0); 100], vec![(10.0, 20.0); 50]];
        let (mean, sd) = score(&units, 5);
        assert!((mean - 50f64.sqrt()).abs() < 1e-9 && sd < 1e-9);
        // Errors only early in life: some cuts land there, most not.
        let mut early = vec![(0.0, 0.0); 200];
        early[..60].fill((0.0, 30.0));
        let (mean, sd) = score(&[early], 50);
        assert!(mean > 0.0 && mean < 30.0 && sd > 0.0, "{mean} {sd}");
    }
}
