//! The common telemetry payload — `{"ts": …, "metrics": {"name": number, …}}` — parsed without
//! building a JSON tree: metric names are borrowed from the payload and values read as `f64`.
//!
//! Anything unusual (escaped names, a value that is not a plain finite number, a missing or
//! non-object `metrics`, invalid JSON) makes [`parse`] give up, and the tree-based path decides,
//! with its precise rejection reasons. Both paths return metrics sorted by name, a repeated name
//! keeping its last value, as a JSON object read into a sorted map would.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// A telemetry payload in its common shape.
pub(super) struct FastTelemetry<'a> {
    /// `ts` as sent (a number or a string), if present.
    pub ts: Option<Value>,
    /// Metrics sorted by name, each name once.
    pub metrics: Vec<(&'a str, f64)>,
}

#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(default)]
    ts: Option<Value>,
    #[serde(borrow)]
    metrics: Metrics<'a>,
}

struct Metrics<'a>(Vec<(&'a str, f64)>);

impl<'de: 'a, 'a> Deserialize<'de> for Metrics<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Metrics<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of numbers")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(name) = map.next_key::<&'de str>()? {
                    out.push((name, map.next_value::<f64>()?));
                }
                Ok(Metrics(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// The payload in its common shape, or `None` to let the tree-based path decide.
pub(super) fn parse(payload: &[u8]) -> Option<FastTelemetry<'_>> {
    let p: Payload<'_> = serde_json::from_slice(payload).ok()?;
    let mut metrics = p.metrics.0;
    if metrics.iter().any(|(_, v)| !v.is_finite()) {
        return None;
    }
    // Stable sort, then keep the last of each name.
    metrics.sort_by(|a, b| a.0.cmp(b.0));
    let mut out: Vec<(&str, f64)> = Vec::with_capacity(metrics.len());
    for (name, v) in metrics {
        match out.last_mut() {
            Some(last) if last.0 == name => last.1 = v,
            _ => out.push((name, v)),
        }
    }
    Some(FastTelemetry {
        ts: p.ts,
        metrics: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_shapes_only() {
        let p = parse(br#"{"ts": 5, "metrics": {"b": 2, "a": 1.5, "b": 3}, "x": [1]}"#).unwrap();
        assert_eq!(p.metrics, vec![("a", 1.5), ("b", 3.0)]);
        assert_eq!(p.ts, Some(serde_json::json!(5)));
        assert!(parse(br#"{"metrics": {}}"#).unwrap().metrics.is_empty());
        for odd in [
            &br#"{"metrics": {"a": "1"}}"#[..],
            br#"{"metrics": {"a\u0041": 1}}"#,
            br#"{"metrics": {"a": NaN}}"#,
            br#"{"metrics": {"a": 1e999}}"#,
            br#"{"metrics": [1]}"#,
            br#"{"ts": 1}"#,
            br#"{"metrics": {"a": 1}, "metrics": {"b": 2}}"#,
            b"{oops",
        ] {
            assert!(parse(odd).is_none(), "{}", String::from_utf8_lossy(odd));
        }
    }
}
