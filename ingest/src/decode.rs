//! Pure decoding of one MQTT message.
//!
//! The function never panics and never allocates more than the payload warrants: every way a
//! message can be wrong becomes a [`Rejection`] with a reason class and a human-readable detail.

use forewarn_domain::{
    Asset, AssetId, AssetTypeId, Criticality, Reading, RejectReason, Rejection, SiteId, TimestampMs,
};
use serde_json::{Map, Value};

use crate::registry::AssetRegistry;
use crate::topic::{TopicKind, parse_topic};

/// 2000-01-01T00:00:00Z: anything earlier is a device with an unset clock.
const EARLIEST_TS_MS: TimestampMs = 946_684_800_000;
/// How much of a rejected payload the dead-letter log keeps.
const EXCERPT_BYTES: usize = 512;

/// What decode accepts.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Topic prefix before `{site}/{asset}/{kind}`.
    pub topic_prefix: String,
    /// Largest payload accepted, in bytes.
    pub max_payload_bytes: usize,
    /// How far ahead of the receive time a timestamp may be (clock skew tolerance).
    pub max_future_ms: i64,
    /// Assets births may register at most (config-declared ones included): a device allowed to
    /// publish must not grow the registry, and the series behind it, without bound.
    pub max_assets: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            topic_prefix: "forewarn".into(),
            max_payload_bytes: 64 * 1024,
            max_future_ms: 5 * 60 * 1000,
            max_assets: 100_000,
        }
    }
}

/// The outcome of decoding one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// Valid readings (at least one).
    Telemetry(Vec<Reading>),
    /// A valid registration.
    Birth(Asset),
    /// A message that was refused.
    Rejected(Rejection),
}

/// Decodes one message received at `now_ms`.
pub fn decode(
    topic: &str,
    payload: &[u8],
    now_ms: TimestampMs,
    registry: &AssetRegistry,
    limits: &Limits,
) -> Decoded {
    match decode_inner(topic, payload, now_ms, registry, limits) {
        Ok(d) => d,
        Err((reason, detail)) => Decoded::Rejected(Rejection {
            topic: topic.to_string(),
            reason,
            detail,
            received_at_ms: now_ms,
            payload_excerpt: excerpt(payload),
        }),
    }
}

type Reject = (RejectReason, String);

/// The start of a payload as text, at most `EXCERPT_BYTES` bytes of it however it decodes (each
/// invalid byte becomes a 3-byte replacement character, so the text is cut again at a character
/// boundary).
fn excerpt(payload: &[u8]) -> String {
    let mut text =
        String::from_utf8_lossy(&payload[..payload.len().min(EXCERPT_BYTES)]).into_owned();
    if text.len() > EXCERPT_BYTES {
        let mut end = EXCERPT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

fn decode_inner(
    topic: &str,
    payload: &[u8],
    now_ms: TimestampMs,
    registry: &AssetRegistry,
    limits: &Limits,
) -> Result<Decoded, Reject> {
    if payload.len() > limits.max_payload_bytes {
        return Err((
            RejectReason::PayloadTooLarge,
            format!(
                "payload is {} bytes, the limit is {}",
                payload.len(),
                limits.max_payload_bytes
            ),
        ));
    }
    let (site, asset_id, kind) =
        parse_topic(&limits.topic_prefix, topic).map_err(|e| (RejectReason::InvalidTopic, e))?;
    if payload.is_empty() {
        return Err((RejectReason::Empty, "empty payload".into()));
    }
    if kind == TopicKind::Telemetry
        && let Some(fast) = fast::parse(payload)
    {
        let ts_ms = check_ts(fast.ts.as_ref(), now_ms, limits)?;
        let metrics = fast.metrics.into_iter().map(|(k, v)| (k, Ok(v))).collect();
        return telemetry(&site, asset_id, ts_ms, metrics, registry);
    }
    let object = parse_object(payload)?;
    match kind {
        TopicKind::Birth => birth(site, asset_id, &object, registry, limits),
        TopicKind::Telemetry => {
            let ts_ms = check_ts(object.get("ts"), now_ms, limits)?;
            let metrics = match object.get("metrics") {
                Some(Value::Object(m)) => m,
                Some(other) => {
                    return Err((
                        RejectReason::WrongType,
                        format!("\"metrics\" must be an object, got {}", type_name(other)),
                    ));
                }
                None => {
                    return Err((
                        RejectReason::MalformedJson,
                        "telemetry has no \"metrics\" object".into(),
                    ));
                }
            };
            let metrics = metrics
                .iter()
                .map(|(name, v)| (name.as_str(), parse_value(name, v)))
                .collect();
            telemetry(&site, asset_id, ts_ms, metrics, registry)
        }
    }
}

/// The reading time: the payload's `ts`, or the receive time when it has none; not before 2000 and
/// not beyond the clock-skew tolerance.
fn check_ts(
    ts: Option<&Value>,
    now_ms: TimestampMs,
    limits: &Limits,
) -> Result<TimestampMs, Reject> {
    let ts_ms = match ts {
        None | Some(Value::Null) => now_ms,
        Some(v) => parse_ts(v)?,
    };
    if ts_ms < EARLIEST_TS_MS {
        return Err((
            RejectReason::BadTimestamp,
            format!("timestamp {ts_ms} ms is before the year 2000"),
        ));
    }
    if ts_ms > now_ms.saturating_add(limits.max_future_ms) {
        return Err((
            RejectReason::FutureTimestamp,
            format!(
                "timestamp is {} s ahead of the receive time",
                (ts_ms - now_ms) / 1000
            ),
        ));
    }
    Ok(ts_ms)
}

/// Readings from metrics sorted by name (each value parsed, or why not), for a registered asset
/// whose type has every one of those sensors.
/// A birth message's asset, as the registry may take it.
fn birth(
    site: SiteId,
    asset_id: AssetId,
    object: &Map<String, Value>,
    registry: &AssetRegistry,
    limits: &Limits,
) -> Result<Decoded, Reject> {
    let asset_type = match object.get("type") {
        Some(Value::String(s)) => {
            AssetTypeId::new(s).map_err(|e| (RejectReason::UnknownAssetType, e.to_string()))?
        }
        Some(other) => {
            return Err((
                RejectReason::WrongType,
                format!("\"type\" must be a string, got {}", type_name(other)),
            ));
        }
        None => {
            return Err((
                RejectReason::MalformedJson,
                "birth message has no \"type\"".into(),
            ));
        }
    };
    if registry.catalog().asset_type(&asset_type).is_none() {
        return Err((
            RejectReason::UnknownAssetType,
            format!("asset type {asset_type} is not in the catalog"),
        ));
    }
    let birth = Asset {
        id: asset_id,
        site,
        asset_type,
        model: optional_string(object, "model")?,
        location: optional_string(object, "location")?,
        criticality: match object.get("criticality") {
            None | Some(Value::Null) => Criticality::default(),
            Some(Value::String(c)) => Criticality::parse(c).ok_or_else(|| {
                (
                    RejectReason::WrongType,
                    format!("\"criticality\" must be low, medium or high, not {c:?}"),
                )
            })?,
            Some(other) => {
                return Err((
                    RejectReason::WrongType,
                    format!("\"criticality\" must be a string, got {}", type_name(other)),
                ));
            }
        },
    };
    admit_birth(birth, registry, limits).map(Decoded::Birth)
}

/// A birth as the registry may take it: a new asset within `max_assets`, or a known one at its
/// own site and type — keeping the criticality it has (a device must not raise its own: `high`
/// brings red alerts and automatic assignment); model and location may change.
fn admit_birth(
    mut birth: Asset,
    registry: &AssetRegistry,
    limits: &Limits,
) -> Result<Asset, Reject> {
    let Some(known) = registry.get(&birth.id) else {
        if registry.len() >= limits.max_assets {
            return Err((
                RejectReason::TooManyAssets,
                format!(
                    "asset {} would be one more than [ingest] max_assets = {}",
                    birth.id, limits.max_assets
                ),
            ));
        }
        return Ok(birth);
    };
    if known.site != birth.site || known.asset_type != birth.asset_type {
        return Err((
            RejectReason::AssetConflict,
            format!(
                "asset {} is registered at site {} as {}; a birth may not move it to site {} as {} \
                 (change it in the configuration or by import)",
                birth.id, known.site, known.asset_type, birth.site, birth.asset_type
            ),
        ));
    }
    birth.criticality = known.criticality;
    Ok(birth)
}

fn telemetry(
    site: &SiteId,
    asset_id: AssetId,
    ts_ms: TimestampMs,
    metrics: Vec<(&str, Result<f64, Reject>)>,
    registry: &AssetRegistry,
) -> Result<Decoded, Reject> {
    if metrics.is_empty() {
        return Err((RejectReason::Empty, "\"metrics\" is empty".into()));
    }
    let Some((asset, asset_type)) = registry.lookup(&asset_id) else {
        return Err((
            RejectReason::UnknownAsset,
            format!("asset {asset_id} is not registered (no birth message, not in config)"),
        ));
    };
    if &asset.site != site {
        return Err((
            RejectReason::SiteMismatch,
            format!(
                "asset {asset_id} belongs to site {}, not {site}",
                asset.site
            ),
        ));
    }
    let Some(asset_type) = asset_type else {
        return Err((
            RejectReason::UnknownAssetType,
            format!("asset {asset_id} has a type the catalog does not define"),
        ));
    };
    let mut readings = Vec::with_capacity(metrics.len());
    for (name, value) in metrics {
        // Cloning the catalog's own name shares its allocation instead of making a new one.
        let sensor = asset_type
            .sensors
            .get_key_value(name)
            .map(|(k, _)| k.clone())
            .ok_or_else(|| {
                (
                    RejectReason::UnknownSensor,
                    format!("asset {asset_id} has no sensor {name:?}"),
                )
            })?;
        readings.push(Reading {
            asset: asset_id.clone(),
            sensor,
            ts_ms,
            value: value?,
        });
    }
    Ok(Decoded::Telemetry(readings))
}

fn parse_object(payload: &[u8]) -> Result<Map<String, Value>, Reject> {
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err((
            RejectReason::MalformedJson,
            format!("payload must be a JSON object, got {}", type_name(&other)),
        )),
        Err(e) => {
            // Python's json.dumps writes NaN and Infinity as bare tokens, and serde_json refuses numbers
            // beyond f64's range: both are non-finite values rather than garbage.
            let text = String::from_utf8_lossy(payload);
            if e.to_string().contains("number out of range")
                || ["NaN", "Infinity"].iter().any(|t| text.contains(t))
            {
                Err((
                    RejectReason::NonFiniteValue,
                    format!("payload holds a non-finite number: {e}"),
                ))
            } else {
                Err((RejectReason::MalformedJson, format!("not valid JSON: {e}")))
            }
        }
    }
}

fn parse_value(name: &str, value: &Value) -> Result<f64, Reject> {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(v) if v.is_finite() => Ok(v),
            _ => Err((
                RejectReason::NonFiniteValue,
                format!("metric {name:?} is not a finite number"),
            )),
        },
        Value::String(s)
            if matches!(
                s.to_ascii_lowercase().trim_start_matches(['+', '-']),
                "nan" | "inf" | "infinity"
            ) =>
        {
            Err((
                RejectReason::NonFiniteValue,
                format!("metric {name:?} is {s:?}"),
            ))
        }
        other => Err((
            RejectReason::WrongType,
            format!("metric {name:?} must be a number, got {}", type_name(other)),
        )),
    }
}

fn parse_ts(v: &Value) -> Result<TimestampMs, Reject> {
    match v {
        Value::Number(n) => {
            let ms = n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && f.abs() < 9.0e15)
                    .map(|f| f.floor() as i64)
            });
            ms.ok_or_else(|| {
                (
                    RejectReason::BadTimestamp,
                    format!("timestamp {n} is not a valid epoch-ms number"),
                )
            })
        }
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .map_err(|e| {
                (
                    RejectReason::BadTimestamp,
                    format!("timestamp {s:?} is not RFC 3339: {e}"),
                )
            }),
        other => Err((
            RejectReason::WrongType,
            format!(
                "\"ts\" must be epoch ms or an RFC 3339 string, got {}",
                type_name(other)
            ),
        )),
    }
}

fn optional_string(object: &Map<String, Value>, key: &str) -> Result<String, Reject> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.chars().take(256).collect()),
        Some(other) => Err((
            RejectReason::WrongType,
            format!("{key:?} must be a string, got {}", type_name(other)),
        )),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

mod fast;

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
