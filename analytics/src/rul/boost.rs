//! Gradient-boosted regression trees on binned features (squared loss).
//!
//! linfa's trees classify only, so the RUL regressor is this small, deterministic booster: every
//! feature is cut into at most [`BoostParams::bins`] quantile bins once, each round fits a
//! depth-limited tree to the residuals from per-bin sums (one pass over a node's rows per feature),
//! and adds it shrunk by the learning rate. No sampling, so the same data gives the same model.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

/// How the booster grows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoostParams {
    /// Rounds (trees).
    pub rounds: usize,
    /// Shrinkage of every tree.
    pub learning_rate: f64,
    /// Depth of every tree.
    pub max_depth: usize,
    /// Fewest training rows in a leaf.
    pub min_leaf: usize,
    /// Most bins per feature (≤ 256).
    pub bins: usize,
    /// L2 penalty on leaf values, in rows.
    pub lambda: f64,
}

impl Default for BoostParams {
    fn default() -> Self {
        Self {
            rounds: 200,
            learning_rate: 0.1,
            max_depth: 5,
            min_leaf: 20,
            bins: 64,
            lambda: 1.0,
        }
    }
}

/// A node of a tree: leaves carry the value added to the prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Node {
    Leaf(f64),
    /// Rows with `x[feature] <= at` go to `left`, others to `right` (indices into the tree).
    Split {
        feature: usize,
        at: f64,
        left: usize,
        right: usize,
    },
}

/// A fitted ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Booster {
    base: f64,
    trees: Vec<Vec<Node>>,
}

impl Booster {
    /// Fits `y` from the rows of `x` (finite values). `on_round` is called after every tree, for
    /// progress bars.
    pub fn fit(
        x: ArrayView2<f64>,
        y: &[f64],
        params: &BoostParams,
        mut on_round: impl FnMut(),
    ) -> Self {
        let n = x.nrows();
        let base = if n == 0 {
            0.0
        } else {
            y.iter().sum::<f64>() / n as f64
        };
        let binned = Binned::new(x, params.bins.clamp(2, 256));
        let mut pred = vec![base; n];
        let mut trees = Vec::with_capacity(params.rounds);
        let mut rows: Vec<u32> = (0..n as u32).collect();
        let mut residual = vec![0.0; n];
        for _ in 0..params.rounds {
            for ((r, p), t) in residual.iter_mut().zip(&pred).zip(y) {
                *r = t - p;
            }
            let mut grower = Grower {
                binned: &binned,
                residual: &residual,
                params,
                nodes: Vec::new(),
            };
            grower.grow(&mut rows, 0);
            let tree = grower.nodes;
            for (i, p) in pred.iter_mut().enumerate() {
                *p += eval(&tree, |f| x[[i, f]]);
            }
            trees.push(tree);
            on_round();
        }
        Self { base, trees }
    }

    /// The prediction for one row of features.
    pub fn predict(&self, row: &[f64]) -> f64 {
        self.base + self.trees.iter().map(|t| eval(t, |f| row[f])).sum::<f64>()
    }
}

fn eval(tree: &[Node], x: impl Fn(usize) -> f64) -> f64 {
    let mut i = 0;
    loop {
        match tree[i] {
            Node::Leaf(v) => return v,
            Node::Split {
                feature,
                at,
                left,
                right,
            } => i = if x(feature) <= at { left } else { right },
        }
    }
}

/// Features as bin numbers, feature-major, with each feature's cut points.
struct Binned {
    codes: Vec<Vec<u8>>,
    cuts: Vec<Vec<f64>>,
}

impl Binned {
    fn new(x: ArrayView2<f64>, bins: usize) -> Self {
        let mut codes = Vec::with_capacity(x.ncols());
        let mut cuts = Vec::with_capacity(x.ncols());
        for col in x.columns() {
            let mut sorted: Vec<f64> = col.to_vec();
            sorted.sort_by(f64::total_cmp);
            sorted.dedup();
            // Cut points between distinct values at evenly spaced ranks: each bin then holds about
            // as many distinct values; a value goes to the first bin whose cut is ≥ it.
            let c: Vec<f64> = if sorted.len() <= bins {
                sorted.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect()
            } else {
                let mut c: Vec<f64> = (1..bins)
                    .map(|k| {
                        let i = k * sorted.len() / bins;
                        (sorted[i - 1] + sorted[i]) / 2.0
                    })
                    .collect();
                c.dedup();
                c
            };
            codes.push(
                col.iter()
                    .map(|&v| c.partition_point(|&k| k < v) as u8)
                    .collect(),
            );
            cuts.push(c);
        }
        Self { codes, cuts }
    }
}

struct Grower<'a> {
    binned: &'a Binned,
    residual: &'a [f64],
    params: &'a BoostParams,
    nodes: Vec<Node>,
}

impl Grower<'_> {
    /// Grows the subtree for `rows` (reordered in place) and returns its index.
    fn grow(&mut self, rows: &mut [u32], depth: usize) -> usize {
        let id = self.nodes.len();
        let sum: f64 = rows.iter().map(|&r| self.residual[r as usize]).sum();
        let leaf = self.params.learning_rate * sum / (rows.len() as f64 + self.params.lambda);
        self.nodes.push(Node::Leaf(leaf));
        if depth >= self.params.max_depth || rows.len() < 2 * self.params.min_leaf {
            return id;
        }
        let Some((feature, bin)) = self.best_split(rows, sum) else {
            return id;
        };
        let codes = &self.binned.codes[feature];
        let mut mid = 0;
        for i in 0..rows.len() {
            if codes[rows[i] as usize] <= bin {
                rows.swap(i, mid);
                mid += 1;
            }
        }
        let (l, r) = rows.split_at_mut(mid);
        let left = self.grow(l, depth + 1);
        let right = self.grow(r, depth + 1);
        self.nodes[id] = Node::Split {
            feature,
            at: self.binned.cuts[feature][bin as usize],
            left,
            right,
        };
        id
    }

    /// The (feature, last bin going left) with the largest loss reduction, if any split keeps
    /// `min_leaf` rows on both sides.
    fn best_split(&self, rows: &[u32], total: f64) -> Option<(usize, u8)> {
        let lambda = self.params.lambda;
        let n = rows.len() as f64;
        let parent = total * total / (n + lambda);
        let min_leaf = self.params.min_leaf as f64;
        let mut best: Option<(f64, usize, u8)> = None;
        let mut sums = [0.0f64; 256];
        let mut counts = [0u32; 256];
        for (f, codes) in self.binned.codes.iter().enumerate() {
            let nb = self.binned.cuts[f].len() + 1;
            if nb < 2 {
                continue;
            }
            sums[..nb].fill(0.0);
            counts[..nb].fill(0);
            for &r in rows {
                let b = codes[r as usize] as usize;
                sums[b] += self.residual[r as usize];
                counts[b] += 1;
            }
            let (mut gl, mut nl) = (0.0, 0.0);
            for b in 0..nb - 1 {
                gl += sums[b];
                nl += f64::from(counts[b]);
                let nr = n - nl;
                if nl < min_leaf {
                    continue;
                }
                if nr < min_leaf {
                    break;
                }
                let gr = total - gl;
                let gain = gl * gl / (nl + lambda) + gr * gr / (nr + lambda) - parent;
                if gain > 1e-12 && best.is_none_or(|(g, _, _)| gain > g) {
                    best = Some((gain, f, b as u8));
                }
            }
        }
        best.map(|(_, f, b)| (f, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn learns_a_nonlinear_function_and_ignores_noise_features() {
        // y = step in x0 + square of x1; x2 is irrelevant.
        let n = 2000;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| {
            let t = i as f64;
            ((t * (12.9898 + j as f64 * 7.1)).sin() * 43_758.545)
                .fract()
                .abs()
        });
        let y: Vec<f64> = x
            .rows()
            .into_iter()
            .map(|r| if r[0] > 0.5 { 10.0 } else { 0.0 } + 20.0 * r[1] * r[1])
            .collect();
        let mut rounds = 0;
        let m = Booster::fit(x.view(), &y, &BoostParams::default(), || rounds += 1);
        assert_eq!(rounds, 200);
        let rmse = (x
            .rows()
            .into_iter()
            .zip(&y)
            .map(|(r, t)| (m.predict(r.as_slice().unwrap()) - t).powi(2))
            .sum::<f64>()
            / n as f64)
            .sqrt();
        assert!(rmse < 0.6, "{rmse}");
        // Same data, same model.
        assert_eq!(
            m,
            Booster::fit(x.view(), &y, &BoostParams::default(), || {})
        );
    }

    #[test]
    fn a_constant_target_is_one_value() {
        let x = Array2::from_shape_fn((100, 2), |(i, j)| (i * (j + 1)) as f64);
        let m = Booster::fit(x.view(), &[7.0; 100], &BoostParams::default(), || {});
        assert!((m.predict(&[3.0, 9.0]) - 7.0).abs() < 1e-9);
    }
}
