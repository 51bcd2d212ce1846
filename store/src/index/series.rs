//! One series' buffered points: compressed chunks in time order, deduplicated on the timestamp.
//!
//! Appends in time order (the normal case) go to the open chunk at a byte or two a point; every
//! [`CHUNK_POINTS`] points the chunk is sealed and a new one opened. A point at or before the end
//! (a redelivery, a late reading) decodes and re-encodes the one chunk whose span holds it, so
//! the cost of a late point is bounded by a chunk, not by the series.

use forewarn_domain::TimestampMs;

use super::chunk::Chunk;

/// Points a chunk takes before it is sealed (as in Prometheus' head chunks: small enough that a
/// late point re-encodes little, large enough that per-chunk overhead is a small share).
const CHUNK_POINTS: usize = 120;

/// The buffered points of one series (never empty: created with its first point).
#[derive(Debug, Clone)]
pub(crate) struct SeriesBuffer {
    /// Time-ordered; the last one takes appends. Most series hold one chunk between flushes, so
    /// the vector keeps exactly as many as it has (no spare capacity).
    chunks: Vec<Chunk>,
}

impl SeriesBuffer {
    /// A buffer holding one point.
    pub fn new(ts: TimestampMs, value: f64) -> Self {
        // `vec!` of one element allocates exactly one slot.
        Self {
            chunks: vec![Chunk::new(ts, value)],
        }
    }

    /// Puts a point; returns whether it was new (`false`: it rewrote the value at an existing
    /// timestamp, last write wins).
    pub fn insert(&mut self, ts: TimestampMs, value: f64) -> bool {
        match self.chunks.last_mut() {
            Some(open) if ts > open.last().0 => {
                if open.len() < CHUNK_POINTS {
                    open.push(ts, value);
                } else {
                    open.seal();
                    self.chunks.reserve_exact(1);
                    self.chunks.push(Chunk::new(ts, value));
                }
            }
            Some(_) => return self.insert_before_end(ts, value),
            None => self.chunks.push(Chunk::new(ts, value)),
        }
        true
    }

    fn insert_before_end(&mut self, ts: TimestampMs, value: f64) -> bool {
        // The last chunk starting at or before `ts` (the first chunk for a point before them all).
        let i = self
            .chunks
            .partition_point(|c| c.first_ts() <= ts)
            .saturating_sub(1);
        let mut points = self.chunks[i].points();
        let new = match points.binary_search_by_key(&ts, |p| p.0) {
            Ok(j) => {
                points[j].1 = value;
                false
            }
            Err(j) => {
                points.insert(j, (ts, value));
                true
            }
        };
        if points.len() > 2 * CHUNK_POINTS {
            // Late points piled into one chunk: split it so later edits stay cheap.
            let (a, b) = points.split_at(points.len() / 2);
            self.chunks
                .splice(i..=i, [Chunk::from_points(a), Chunk::from_points(b)]);
            self.chunks.shrink_to_fit();
        } else {
            self.chunks[i] = Chunk::from_points(&points);
        }
        new
    }

    /// Whether a point exists at `ts` (past the end: answered without decoding).
    pub fn contains(&self, ts: TimestampMs) -> bool {
        match self.last() {
            Some((last, _)) if ts <= last => {
                let i = self
                    .chunks
                    .partition_point(|c| c.first_ts() <= ts)
                    .saturating_sub(1);
                self.chunks[i]
                    .points()
                    .binary_search_by_key(&ts, |p| p.0)
                    .is_ok()
            }
            _ => false,
        }
    }

    /// The newest point.
    pub fn last(&self) -> Option<(TimestampMs, f64)> {
        self.chunks.last().map(Chunk::last)
    }

    /// Every point, in time order.
    pub fn points(&self) -> Vec<(TimestampMs, f64)> {
        let mut out = Vec::with_capacity(self.chunks.iter().map(Chunk::len).sum());
        for c in &self.chunks {
            out.extend(c.points());
        }
        out
    }

    /// Points with `from <= ts < to`, decoding only the chunks that overlap.
    pub fn range(&self, from: TimestampMs, to: TimestampMs) -> Vec<(TimestampMs, f64)> {
        let mut out = Vec::new();
        if from >= to {
            return out;
        }
        let start = self.chunks.partition_point(|c| c.last().0 < from);
        for c in self.chunks[start..]
            .iter()
            .take_while(|c| c.first_ts() < to)
        {
            out.extend(
                c.points()
                    .into_iter()
                    .filter(|&(ts, _)| from <= ts && ts < to),
            );
        }
        out
    }

    /// Heap bytes held (for tests).
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Chunk>()
            + self.chunks.iter().map(Chunk::heap_bytes).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A small deterministic generator (no dependency for one test).
    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *state >> 33
    }

    #[test]
    fn matches_a_sorted_map_under_random_late_points_and_rewrites() {
        for seed in [1u64, 7, 42, 1234] {
            let mut rng = seed;
            let (mut buf, mut model) = (SeriesBuffer::new(0, 1.0), BTreeMap::from([(0, 1.0)]));
            for i in 1..3000i64 {
                let ts = match lcg(&mut rng) % 10 {
                    0..=6 => i * 10,
                    7 | 8 => (lcg(&mut rng) % 30_000) as i64,
                    _ => i * 10 - 5,
                };
                let value = (lcg(&mut rng) % 2000) as f64 / 100.0 - 5.0;
                let new = buf.insert(ts, value);
                assert_eq!(
                    new,
                    model.insert(ts, value).is_none(),
                    "seed {seed} step {i}"
                );
            }
            let all: Vec<_> = model.iter().map(|(&t, &v)| (t, v)).collect();
            assert_eq!(buf.points(), all);
            assert_eq!(buf.last(), all.last().copied());
            for ts in [-1, 0, 5, 10, 29_995, 30_000, 40_000] {
                assert_eq!(buf.contains(ts), model.contains_key(&ts), "contains {ts}");
            }
            for (from, to) in [
                (0, 100),
                (5, 5),
                (12_345, 20_000),
                (-10, 40_000),
                (29_990, 30_001),
            ] {
                let want: Vec<_> = model
                    .range(from..to.max(from))
                    .map(|(&t, &v)| (t, v))
                    .collect();
                assert_eq!(buf.range(from, to), want, "range {from}..{to}");
            }
        }
    }

    #[test]
    fn a_sensor_at_1_hz_costs_a_few_bytes_a_point() {
        let mut buf = SeriesBuffer::new(1_700_000_000_000, 20.0);
        for i in 1..1200i64 {
            buf.insert(
                1_700_000_000_000 + i * 1000,
                20.0 + ((i * 13) % 97) as f64 / 10.0,
            );
        }
        let per_point = buf.heap_bytes() as f64 / 1200.0;
        assert!(per_point < 4.0, "{per_point} bytes a point");
    }
}
