//! Engine tests: durability across reopen, idempotence, locking, read-only inspection.

use forewarn_domain::{AssetTypeId, RejectReason, Rejection, SiteId};

use super::*;

fn reading(asset: &str, ts: i64, v: f64) -> Reading {
    Reading {
        asset: AssetId::new(asset).unwrap(),
        sensor: SensorName::new("vib").unwrap(),
        ts_ms: ts,
        value: v,
    }
}

fn batch(seq: u64, readings: Vec<Reading>) -> Batch {
    Batch {
        seq,
        messages: readings.len(),
        readings,
        ..Default::default()
    }
}

#[test]
fn survives_reopen_and_dedups_redeliveries() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _) = Store::open(dir.path(), OpenMode::ReadWrite).unwrap();
        let mut b = batch(1, (0..100).map(|i| reading("p-1", i, i as f64)).collect());
        b.births.push(Asset {
            id: AssetId::new("p-1").unwrap(),
            site: SiteId::new("s").unwrap(),
            asset_type: AssetTypeId::new("pump").unwrap(),
            model: String::new(),
            location: String::new(),
        });
        b.rejections.push(Rejection {
            topic: "t".into(),
            reason: RejectReason::MalformedJson,
            detail: "x".into(),
            received_at_ms: 0,
            payload_excerpt: "{".into(),
        });
        let out = store.append(&[b]).unwrap();
        assert_eq!(
            out,
            Appended {
                new_points: 100,
                rewrites: 0
            }
        );
        // A redelivery of half the batch changes nothing.
        let out = store
            .append(&[batch(
                2,
                (50..100).map(|i| reading("p-1", i, i as f64)).collect(),
            )])
            .unwrap();
        assert_eq!(
            out,
            Appended {
                new_points: 0,
                rewrites: 50
            }
        );
    }
    let (store, recovery) = Store::open(dir.path(), OpenMode::ReadWrite).unwrap();
    assert_eq!(recovery.records, 3);
    let stats = store.stats();
    assert_eq!(
        (stats.points, stats.series, stats.assets, stats.rejected),
        (100, 1, 1, 1)
    );
    assert_eq!(store.latest(&AssetId::new("p-1").unwrap())[0].value, 99.0);
}

#[test]
fn one_writer_per_directory_but_readers_welcome() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path(), OpenMode::ReadWrite).unwrap();
    store
        .append(&[batch(1, vec![reading("p-1", 1, 1.0)])])
        .unwrap();
    assert!(matches!(
        Store::open(dir.path(), OpenMode::ReadWrite),
        Err(StoreError::Locked(_))
    ));
    let (reader, _) = Store::open(dir.path(), OpenMode::ReadOnly).unwrap();
    assert_eq!(reader.stats().points, 1);
    assert!(
        reader
            .append(&[batch(2, vec![reading("p-1", 2, 1.0)])])
            .is_err()
    );
    drop(store);
    assert!(Store::open(dir.path(), OpenMode::ReadWrite).is_ok());
}
