//! Rollups: per-bucket min, max, sum, count and last value, mergeable across flushes.
//!
//! A flush aggregates each series' buffered points into 1-minute and 1-hour buckets and writes
//! them beside the raw partition. A bucket that straddles two flushes appears in both files as two
//! partial aggregates; [`Agg::merge`] combines them exactly (sum and count, not mean, are stored for
//! that reason; `last` carries its timestamp).

use std::collections::BTreeMap;

use forewarn_domain::TimestampMs;
use serde::{Deserialize, Serialize};

/// Data classes: raw points and the two rollup resolutions. Each has its own retention.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum DataClass {
    /// Every point.
    #[default]
    Raw,
    /// One aggregate per series and minute.
    Minute,
    /// One aggregate per series and hour.
    Hour,
}

impl DataClass {
    /// Bucket width in ms (`None` for raw).
    pub fn step_ms(self) -> Option<i64> {
        match self {
            Self::Raw => None,
            Self::Minute => Some(60_000),
            Self::Hour => Some(3_600_000),
        }
    }

    /// Directory name under the data directory.
    pub fn dir(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Minute => "rollup_1m",
            Self::Hour => "rollup_1h",
        }
    }

    /// The coarsest rollup whose buckets tile `step` exactly, or raw.
    pub fn for_step(step_ms: i64) -> Self {
        [Self::Hour, Self::Minute]
            .into_iter()
            .find(|c| c.step_ms().is_some_and(|s| step_ms % s == 0))
            .unwrap_or(Self::Raw)
    }
}

/// An aggregate of the points in one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Agg {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Sum of values.
    pub sum: f64,
    /// Number of points.
    pub count: u64,
    /// Time of the newest point.
    pub last_ts: TimestampMs,
    /// Value of the newest point.
    pub last: f64,
}

impl Agg {
    /// The aggregate of one point.
    pub fn point(ts: TimestampMs, v: f64) -> Self {
        Self {
            min: v,
            max: v,
            sum: v,
            count: 1,
            last_ts: ts,
            last: v,
        }
    }

    /// Combines two aggregates of disjoint point sets.
    pub fn merge(&mut self, o: &Agg) {
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.sum += o.sum;
        self.count += o.count;
        if o.last_ts >= self.last_ts {
            self.last_ts = o.last_ts;
            self.last = o.last;
        }
    }

    /// Mean value.
    pub fn mean(&self) -> f64 {
        self.sum / self.count.max(1) as f64
    }
}

/// Start of the `step`-wide bucket holding `ts` (buckets are aligned to the epoch).
pub fn bucket(ts: TimestampMs, step: i64) -> TimestampMs {
    ts.div_euclid(step) * step
}

/// Aggregates time-ordered points into buckets.
pub fn aggregate(
    points: impl IntoIterator<Item = (TimestampMs, f64)>,
    step: i64,
) -> BTreeMap<TimestampMs, Agg> {
    let mut out: BTreeMap<TimestampMs, Agg> = BTreeMap::new();
    for (ts, v) in points {
        let p = Agg::point(ts, v);
        out.entry(bucket(ts, step))
            .and_modify(|a| a.merge(&p))
            .or_insert(p);
    }
    out
}

/// Aggregates time-sorted points in one pass (what a flush does for every series).
pub fn aggregate_sorted(points: &[(TimestampMs, f64)], step: i64) -> Vec<(TimestampMs, Agg)> {
    let mut out: Vec<(TimestampMs, Agg)> = Vec::new();
    for &(ts, v) in points {
        let b = bucket(ts, step);
        match out.last_mut() {
            Some((last, agg)) if *last == b => agg.merge(&Agg::point(ts, v)),
            _ => out.push((b, Agg::point(ts, v))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_buckets_merge_exactly() {
        let pts: Vec<(i64, f64)> = (0..180).map(|i| (i * 1000, (i % 7) as f64)).collect();
        let whole = aggregate(pts.iter().copied(), 60_000);
        let mut split = aggregate(pts[..100].iter().copied(), 60_000);
        for (k, a) in aggregate(pts[100..].iter().copied(), 60_000) {
            split.entry(k).and_modify(|x| x.merge(&a)).or_insert(a);
        }
        assert_eq!(whole, split);
        let sorted: BTreeMap<_, _> = aggregate_sorted(&pts, 60_000).into_iter().collect();
        assert_eq!(sorted, whole);
        assert_eq!(whole.len(), 3);
        let first = whole[&0];
        assert_eq!(
            (first.count, first.min, first.max, first.last_ts),
            (60, 0.0, 6.0, 59_000)
        );
        assert_eq!(DataClass::for_step(7_200_000), DataClass::Hour);
        assert_eq!(DataClass::for_step(300_000), DataClass::Minute);
        assert_eq!(DataClass::for_step(30_000), DataClass::Raw);
    }
}
