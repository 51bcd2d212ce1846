//! Table tests for [`decode`]: one row per accepted shape and per rejection reason.

use std::sync::Arc;

use forewarn_domain::{Asset, AssetId, AssetTypeId, Catalog, RejectReason, SiteId};

use super::*;

const CATALOG: &str = r#"
    [asset_types.pump]
    sensors.vib = { unit = "mm/s", min = 0.0, max = 50.0 }
    sensors.temp = { unit = "C", min = -20.0, max = 150.0 }
"#;
const NOW: i64 = 1_780_000_000_000;

fn registry() -> AssetRegistry {
    let mut r = AssetRegistry::new(Arc::new(Catalog::from_toml(CATALOG).unwrap()));
    let asset = |id: &str, ty: &str| Asset {
        id: AssetId::new(id).unwrap(),
        site: SiteId::new("s1").unwrap(),
        asset_type: AssetTypeId::new(ty).unwrap(),
        model: String::new(),
        location: String::new(),
        criticality: Default::default(),
    };
    r.register(asset("p-1", "pump"));
    r.register(asset("ghost-1", "turbine"));
    r
}

fn run(topic: &str, payload: &str) -> Decoded {
    decode(
        topic,
        payload.as_bytes(),
        NOW,
        &registry(),
        &Limits::default(),
    )
}

fn reason(topic: &str, payload: &str) -> RejectReason {
    match run(topic, payload) {
        Decoded::Rejected(r) => {
            assert_eq!(r.topic, topic);
            assert!(!r.detail.is_empty());
            r.reason
        }
        other => panic!("{topic} {payload}: expected a rejection, got {other:?}"),
    }
}

const T: &str = "forewarn/s1/p-1/telemetry";

#[test]
fn accepts_epoch_ms_and_rfc3339() {
    let Decoded::Telemetry(r) = run(
        T,
        &format!(r#"{{"ts": {NOW}, "metrics": {{"vib": 2.5, "temp": 40}}}}"#),
    ) else {
        panic!()
    };
    assert_eq!(r.len(), 2);
    assert!(
        r.iter()
            .all(|x| x.ts_ms == NOW && x.asset.as_str() == "p-1")
    );
    let Decoded::Telemetry(r) = run(
        T,
        r#"{"ts": "2026-05-28T20:26:40Z", "metrics": {"vib": 1}}"#,
    ) else {
        panic!()
    };
    assert_eq!(r[0].ts_ms, 1_780_000_000_000);
    // A device without a clock: the receive time stands in.
    let Decoded::Telemetry(r) = run(T, r#"{"metrics": {"vib": 1}}"#) else {
        panic!()
    };
    assert_eq!(r[0].ts_ms, NOW);
}

#[test]
fn accepts_births() {
    let Decoded::Birth(a) = run(
        "forewarn/s2/new-9/birth",
        r#"{"type": "pump", "model": "CP-200", "location": "hall 3"}"#,
    ) else {
        panic!()
    };
    assert_eq!(
        (
            a.id.as_str(),
            a.site.as_str(),
            a.asset_type.as_str(),
            a.model.as_str()
        ),
        ("new-9", "s2", "pump", "CP-200")
    );
    assert_eq!(a.criticality, forewarn_domain::Criticality::Medium);
    let Decoded::Birth(a) = run(
        "forewarn/s2/new-9/birth",
        r#"{"type": "pump", "criticality": "high"}"#,
    ) else {
        panic!()
    };
    assert_eq!(a.criticality, forewarn_domain::Criticality::High);
}

#[test]
fn rejects_every_reason() {
    let big = format!(
        r#"{{"metrics": {{"vib": 1}}, "pad": "{}"}}"#,
        "x".repeat(70_000)
    );
    let future = NOW + 3_600_000;
    let cases: Vec<(&str, String, RejectReason)> = vec![
        (T, "{not json".into(), RejectReason::MalformedJson),
        (T, "[1, 2]".into(), RejectReason::MalformedJson),
        (
            T,
            r#"{"values": {"vib": 1}}"#.into(),
            RejectReason::MalformedJson,
        ),
        (
            T,
            r#"{"metrics": {"vib": "high"}}"#.into(),
            RejectReason::WrongType,
        ),
        (T, r#"{"metrics": [1]}"#.into(), RejectReason::WrongType),
        (
            T,
            r#"{"ts": true, "metrics": {"vib": 1}}"#.into(),
            RejectReason::WrongType,
        ),
        (
            T,
            r#"{"metrics": {"vib": NaN}}"#.into(),
            RejectReason::NonFiniteValue,
        ),
        (
            T,
            r#"{"metrics": {"vib": Infinity}}"#.into(),
            RejectReason::NonFiniteValue,
        ),
        (
            T,
            r#"{"metrics": {"vib": 1e400}}"#.into(),
            RejectReason::NonFiniteValue,
        ),
        (
            T,
            r#"{"metrics": {"vib": "-inf"}}"#.into(),
            RejectReason::NonFiniteValue,
        ),
        (
            "forewarn/s1/p 1/telemetry",
            r#"{"metrics": {"vib": 1}}"#.into(),
            RejectReason::InvalidTopic,
        ),
        (
            "forewarn/s1/p-1",
            r#"{"metrics": {"vib": 1}}"#.into(),
            RejectReason::InvalidTopic,
        ),
        (
            "forewarn/s1/p-1/status",
            r#"{"metrics": {"vib": 1}}"#.into(),
            RejectReason::InvalidTopic,
        ),
        (
            "forewarn/s1/nobody/telemetry",
            r#"{"metrics": {"vib": 1}}"#.into(),
            RejectReason::UnknownAsset,
        ),
        (
            "forewarn/s1/ghost-1/telemetry",
            r#"{"metrics": {"vib": 1}}"#.into(),
            RejectReason::UnknownAssetType,
        ),
        (
            "forewarn/s1/x/birth",
            r#"{"type": "turbine"}"#.into(),
            RejectReason::UnknownAssetType,
        ),
        (
            "forewarn/s1/x/birth",
            r#"{"type": "pump", "criticality": "extreme"}"#.into(),
            RejectReason::WrongType,
        ),
        (
            "forewarn/s1/x/birth",
            r#"{"type": "pump", "criticality": 3}"#.into(),
            RejectReason::WrongType,
        ),
        (
            T,
            r#"{"metrics": {"vib": 1, "pressure": 3}}"#.into(),
            RejectReason::UnknownSensor,
        ),
        (
            T,
            r#"{"metrics": {"vib/x": 1}}"#.into(),
            RejectReason::UnknownSensor,
        ),
        (
            T,
            r#"{"ts": "yesterday", "metrics": {"vib": 1}}"#.into(),
            RejectReason::BadTimestamp,
        ),
        (
            T,
            r#"{"ts": 12345, "metrics": {"vib": 1}}"#.into(),
            RejectReason::BadTimestamp,
        ),
        (
            T,
            format!(r#"{{"ts": {future}, "metrics": {{"vib": 1}}}}"#),
            RejectReason::FutureTimestamp,
        ),
        (T, big, RejectReason::PayloadTooLarge),
        (T, r#"{"metrics": {}}"#.into(), RejectReason::Empty),
        (T, "".into(), RejectReason::Empty),
        // p-1 is at site s1: telemetry from another site's topic is not its.
        (
            "forewarn/s2/p-1/telemetry",
            r#"{"metrics": {"vib": 1}}"#.into(),
            RejectReason::SiteMismatch,
        ),
        // A birth may not move a known asset to another site or type.
        (
            "forewarn/s2/p-1/birth",
            r#"{"type": "pump"}"#.into(),
            RejectReason::AssetConflict,
        ),
        (
            "forewarn/s1/ghost-1/birth",
            r#"{"type": "pump"}"#.into(),
            RejectReason::AssetConflict,
        ),
    ];
    for (topic, payload, want) in cases {
        assert_eq!(
            reason(topic, &payload),
            want,
            "{topic} {}",
            &payload[..payload.len().min(80)]
        );
    }
}

#[test]
fn births_stop_at_max_assets_and_cannot_raise_criticality() {
    let limits = Limits {
        max_assets: 2,
        ..Limits::default()
    };
    let birth = |topic: &str, body: &str| decode(topic, body.as_bytes(), NOW, &registry(), &limits);
    // Two registered already: a third asset is one too many.
    let Decoded::Rejected(r) = birth("forewarn/s1/p-3/birth", r#"{"type": "pump"}"#) else {
        panic!("a third asset admitted")
    };
    assert_eq!(r.reason, RejectReason::TooManyAssets);
    assert!(r.detail.contains("max_assets = 2"), "{}", r.detail);
    // A known asset's birth passes (model, location may change) but keeps its criticality.
    let Decoded::Birth(a) = birth(
        "forewarn/s1/p-1/birth",
        r#"{"type": "pump", "criticality": "high", "model": "P-200"}"#,
    ) else {
        panic!("a known asset's birth refused")
    };
    assert_eq!(
        a.criticality,
        Default::default(),
        "a device cannot raise its own"
    );
    assert_eq!(a.model, "P-200");
}

#[test]
fn every_reason_is_covered_by_the_table() {
    // Guards the table above: a new reason without a row fails here.
    let src = include_str!("decode_tests.rs");
    for r in RejectReason::ALL {
        let variant = format!("{r:?}");
        assert!(
            src.contains(&format!("RejectReason::{variant}")),
            "no table row for {variant}"
        );
    }
}

#[test]
fn excerpt_is_bounded() {
    let payload = format!("{{{}", "y".repeat(10_000));
    let Decoded::Rejected(r) = run(T, &payload) else {
        panic!()
    };
    assert!(r.payload_excerpt.len() <= 512);
}
