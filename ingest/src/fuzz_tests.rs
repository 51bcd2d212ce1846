//! Fuzzing of what ingest reads from the wire, with proptest over seeded corpora: MQTT framing
//! (any byte stream) and the payload decoders (JSON telemetry and births, valid seeds mutated
//! byte by byte, and arbitrary bytes). Properties: no panic, every call makes progress, every
//! accepted reading is finite and within the accepted time range, every rejection says why.
//!
//! Deterministic in the suite (a fixed seed, `FOREWARN_FUZZ_CASES` cases, default 20,000 per
//! property); raise the count for a longer run.

use std::sync::Arc;

use bytes::BytesMut;
use forewarn_domain::{Asset, AssetId, AssetTypeId, Catalog, SiteId};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use crate::protocol::{Incoming, MqttVersion};
use crate::{AssetRegistry, Decoded, Limits, decode};

const NOW: i64 = 1_780_000_000_000;

fn config() -> Config {
    let cases = std::env::var("FOREWARN_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(20_000);
    Config {
        cases,
        rng_seed: RngSeed::Fixed(20_261_207),
        failure_persistence: None,
        ..Config::default()
    }
}

fn registry() -> AssetRegistry {
    let catalog = "[asset_types.pump]\nsensors.vib = { unit = \"mm/s\", min = 0.0, max = 50.0 }\n\
                   sensors.temp = { unit = \"C\", min = -20.0, max = 150.0 }\n";
    let mut r = AssetRegistry::new(Arc::new(Catalog::from_toml(catalog).unwrap()));
    r.register(Asset {
        id: AssetId::new("p-1").unwrap(),
        site: SiteId::new("s1").unwrap(),
        asset_type: AssetTypeId::new("pump").unwrap(),
        model: String::new(),
        location: String::new(),
        criticality: Default::default(),
    });
    r
}

/// Valid messages, the corpus the mutations start from.
const SEEDS: [(&str, &str); 6] = [
    (
        "forewarn/s1/p-1/telemetry",
        r#"{"ts": 1780000000000, "metrics": {"vib": 2.5, "temp": 40}}"#,
    ),
    (
        "forewarn/s1/p-1/telemetry",
        r#"{"ts": "2026-05-28T20:26:40Z", "metrics": {"vib": 1e2}}"#,
    ),
    (
        "forewarn/s1/p-1/telemetry",
        r#"{"metrics": {"vib": "3.5", "temp": null}}"#,
    ),
    (
        "forewarn/s1/p-2/birth",
        r#"{"type": "pump", "model": "P-200", "criticality": "high"}"#,
    ),
    (
        "forewarn/s1/p-1/birth",
        r#"{"type": "pump", "location": "hall 2"}"#,
    ),
    (
        "forewarn/s2/p-1/telemetry",
        r#"{"ts": 1780000000000, "metrics": {"vib": -0.0}}"#,
    ),
];

/// A byte edit: replace, insert or delete at a position (taken modulo the length).
fn mutate(mut bytes: Vec<u8>, edits: &[(u8, usize, u8)]) -> Vec<u8> {
    for &(op, at, b) in edits {
        let at = if bytes.is_empty() {
            0
        } else {
            at % bytes.len()
        };
        match op % 3 {
            0 if !bytes.is_empty() => bytes[at] = b,
            1 => bytes.insert(at, b),
            _ if !bytes.is_empty() => {
                bytes.remove(at);
            }
            _ => {}
        }
    }
    bytes
}

fn check(topic: &str, payload: &[u8], registry: &AssetRegistry) {
    match decode(topic, payload, NOW, registry, &Limits::default()) {
        Decoded::Telemetry(readings) => {
            for r in readings {
                assert!(r.value.is_finite(), "{r:?}");
                assert!(r.ts_ms <= NOW + Limits::default().max_future_ms, "{r:?}");
            }
        }
        Decoded::Birth(a) => assert!(!a.id.as_str().is_empty()),
        Decoded::Rejected(r) => {
            assert!(!r.detail.is_empty(), "{r:?}");
            assert!(r.payload_excerpt.len() <= 512);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_valid_messages_never_panic(
        seed in 0..SEEDS.len(),
        edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 0..12),
        topic_edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 0..3),
    ) {
        let (topic, payload) = SEEDS[seed];
        let topic = String::from_utf8_lossy(&mutate(topic.as_bytes().to_vec(), &topic_edits)).into_owned();
        check(&topic, &mutate(payload.as_bytes().to_vec(), &edits), &registry());
    }

    #[test]
    fn arbitrary_payloads_never_panic(
        seed in 0..SEEDS.len(),
        payload in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        check(SEEDS[seed].0, &payload, &registry());
    }

    #[test]
    fn any_byte_stream_is_framed_or_refused_with_progress(
        v5 in any::<bool>(),
        bytes in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let version = if v5 {
            MqttVersion::V5 { session_expiry: std::time::Duration::from_secs(60) }
        } else {
            MqttVersion::V311
        };
        let mut buf = BytesMut::from(&bytes[..]);
        loop {
            let before = buf.len();
            match version.read(&mut buf) {
                Ok(Some(Incoming::Skipped { discard, .. })) => {
                    prop_assert!(buf.len() < before || discard > 0, "no progress");
                    break;
                }
                Ok(Some(_)) => prop_assert!(buf.len() < before, "no progress"),
                Ok(None) | Err(_) => break,
            }
        }
    }
}
