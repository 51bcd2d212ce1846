//! A compressed run of one series' points: what the buffer holds instead of 16 bytes a point.
//!
//! Timestamps are stored as the zigzag varint of their delta-of-delta (a sensor on a fixed period
//! costs one byte a point). Values arrive as JSON decimals, so a value with `k` decimals is the
//! integer `m` over `10^k`, exactly (an exact integer divided by an exact power of ten is the
//! correctly rounded double, the same one parsing the decimal gave). The chunk stores the zigzag
//! varint of the change in `m`: one or two bytes for a typical sensor. A chunk whose values need
//! more than [`MAX_DECIMALS`] decimals (computed doubles) stores the 8 raw bytes instead. When a
//! value needs more decimals than the chunk uses, the chunk is re-encoded once with more.

use forewarn_domain::TimestampMs;

/// Most decimals tried before a chunk falls back to raw doubles.
const MAX_DECIMALS: u8 = 9;
/// `scale` of a chunk that stores raw doubles.
const RAW: u8 = u8::MAX;
/// Largest |m| that converts to a double exactly.
const EXACT: f64 = (1u64 << 53) as f64;

/// Encoded points with strictly increasing timestamps.
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    bytes: Vec<u8>,
    first_ts: TimestampMs,
    last_ts: TimestampMs,
    last_delta: i64,
    last_value: f64,
    last_m: i64,
    len: u32,
    scale: u8,
}

impl Chunk {
    /// A chunk holding one point.
    pub fn new(ts: TimestampMs, value: f64) -> Self {
        let mut c = Self {
            bytes: Vec::new(),
            first_ts: ts,
            last_ts: ts,
            last_delta: 0,
            last_value: value,
            last_m: 0,
            len: 0,
            scale: decimals_of(value, 0),
        };
        c.encode_value(value);
        c.len = 1;
        c
    }

    /// Encodes points (strictly increasing timestamps, not empty) into one chunk.
    pub fn from_points(points: &[(TimestampMs, f64)]) -> Self {
        let scale = points.iter().fold(0, |k, &(_, v)| decimals_of(v, k));
        Self::with_scale(points, scale)
    }

    fn with_scale(points: &[(TimestampMs, f64)], scale: u8) -> Self {
        let (ts, _) = points[0];
        let mut c = Self {
            bytes: Vec::with_capacity(points.len() * 2),
            first_ts: ts,
            last_ts: ts,
            last_delta: 0,
            last_value: 0.0,
            last_m: 0,
            len: 0,
            scale,
        };
        for &(ts, v) in points {
            c.push(ts, v);
        }
        c.bytes.shrink_to_fit();
        c
    }

    /// Appends a point after the last one (`ts > last_ts()`).
    pub fn push(&mut self, ts: TimestampMs, value: f64) {
        debug_assert!(self.len == 0 || ts > self.last_ts);
        if self.scale != RAW && decimals_of(value, self.scale) != self.scale {
            // More decimals than this chunk uses (or none fit): re-encode once with enough.
            let scale = decimals_of(value, self.scale);
            let mut points = self.points();
            points.push((ts, value));
            *self = Self::with_scale(&points, scale);
            return;
        }
        if self.len > 0 {
            // Wrapping: any two timestamps round-trip, however far apart.
            let delta = ts.wrapping_sub(self.last_ts);
            put_varint(&mut self.bytes, zigzag(delta.wrapping_sub(self.last_delta)));
            self.last_delta = delta;
        }
        self.last_ts = ts;
        self.encode_value(value);
        self.len += 1;
    }

    fn encode_value(&mut self, value: f64) {
        if self.scale == RAW {
            self.bytes.extend_from_slice(&value.to_bits().to_le_bytes());
        } else {
            let m = mantissa(value, self.scale);
            put_varint(&mut self.bytes, zigzag(m.wrapping_sub(self.last_m)));
            self.last_m = m;
        }
        self.last_value = value;
    }

    /// Every point, in time order.
    pub fn points(&self) -> Vec<(TimestampMs, f64)> {
        let mut out = Vec::with_capacity(self.len as usize);
        let mut rest = &self.bytes[..];
        let (mut ts, mut delta, mut m) = (self.first_ts, 0i64, 0i64);
        let pow = 10f64.powi(i32::from(self.scale));
        for i in 0..self.len {
            if i > 0 {
                delta = delta.wrapping_add(unzigzag(take_varint(&mut rest)));
                ts = ts.wrapping_add(delta);
            }
            let value = if self.scale == RAW {
                let (b, r) = rest.split_at(8);
                rest = r;
                let mut raw = [0u8; 8];
                raw.copy_from_slice(b);
                f64::from_bits(u64::from_le_bytes(raw))
            } else {
                m = m.wrapping_add(unzigzag(take_varint(&mut rest)));
                m as f64 / pow
            };
            out.push((ts, value));
        }
        out
    }

    /// Frees the spare capacity of a chunk that takes no more points.
    pub fn seal(&mut self) {
        self.bytes.shrink_to_fit();
    }

    pub fn first_ts(&self) -> TimestampMs {
        self.first_ts
    }

    pub fn last(&self) -> (TimestampMs, f64) {
        (self.last_ts, self.last_value)
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Heap bytes held (for tests and accounting).
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
    }
}

/// The fewest decimals `>= at_least` that represent `value` exactly, or [`RAW`].
fn decimals_of(value: f64, at_least: u8) -> u8 {
    if at_least == RAW {
        return RAW;
    }
    (at_least..=MAX_DECIMALS)
        .find(|&k| {
            let pow = 10f64.powi(i32::from(k));
            let m = (value * pow).round();
            // Through the integer and bitwise, as decoding does: -0.0 and NaN stay raw.
            m.abs() < EXACT && ((m as i64) as f64 / pow).to_bits() == value.to_bits()
        })
        .unwrap_or(RAW)
}

fn mantissa(value: f64, scale: u8) -> i64 {
    (value * 10f64.powi(i32::from(scale))).round() as i64
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint this module wrote (the chunk's own bytes: never truncated).
fn take_varint(rest: &mut &[u8]) -> u64 {
    let (mut v, mut shift, mut used) = (0u64, 0, 0);
    for &b in rest.iter() {
        v |= u64::from(b & 0x7f) << shift;
        shift += 7;
        used += 1;
        if b < 0x80 {
            break;
        }
    }
    *rest = &rest[used..];
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(points: &[(TimestampMs, f64)]) -> Chunk {
        let mut c = Chunk::new(points[0].0, points[0].1);
        for &(t, v) in &points[1..] {
            c.push(t, v);
        }
        let back = c.points();
        assert_eq!(back.len(), points.len());
        for (a, b) in back.iter().zip(points) {
            assert_eq!(a.0, b.0);
            assert_eq!(a.1.to_bits(), b.1.to_bits(), "{} vs {}", a.1, b.1);
        }
        let again = Chunk::from_points(points).points();
        assert_eq!(again, back);
        c
    }

    #[test]
    fn decimals_cost_about_two_bytes_a_point() {
        let points: Vec<_> = (0..120)
            .map(|i| {
                (
                    1_700_000_000_000 + i * 1000,
                    60.0 + ((i * 37) % 50) as f64 / 10.0,
                )
            })
            .collect();
        let c = round_trip(&points);
        assert!(c.heap_bytes() <= 3 * 120, "{} bytes", c.heap_bytes());
    }

    #[test]
    fn more_decimals_later_re_encode_and_doubles_fall_back_to_raw() {
        round_trip(&[
            (1, 1.0),
            (2, 2.5),
            (3, 2.25),
            (7, -0.001),
            (8, 1e-9),
            (20, 3.0),
        ]);
        round_trip(&[(1, 1.5), (2, std::f64::consts::PI), (3, 2.0)]);
        round_trip(&[
            (-5, 0.0),
            (0, -0.0),
            (1, f64::MAX),
            (2, f64::MIN_POSITIVE),
            (3, 1e300),
        ]);
        round_trip(&[(1, 9_007_199_254_740_993.0), (2, -123_456_789.123)]);
    }

    #[test]
    fn irregular_and_huge_time_steps() {
        round_trip(&[(i64::MIN / 4, 1.0), (0, 2.0), (1, 3.0), (i64::MAX / 4, 4.0)]);
        round_trip(&[(10, 1.0), (11, 1.0), (5000, 1.0), (5001, 1.0), (5003, 1.0)]);
    }
}
