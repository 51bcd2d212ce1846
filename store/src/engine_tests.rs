//! Engine tests: durability across reopen, idempotence, locking, read-only inspection.

use forewarn_domain::{AssetTypeId, RejectReason, Rejection, SiteId};

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::*;
use crate::rollup::DataClass;

const DAY_MS: i64 = 86_400_000;

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
            criticality: Default::default(),
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

const KEEP_ALL: StoreOptions = StoreOptions {
    flush_points: 1000,
    raw_retention_ms: None,
    minute_retention_ms: None,
    hour_retention_ms: None,
};

fn small(dir: &Path) -> Store {
    Store::open_with(dir, OpenMode::ReadWrite, KEEP_ALL)
        .unwrap()
        .0
}

#[test]
fn flushes_to_parquet_and_stays_exact_across_redeliveries_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let a = AssetId::new("p-1").unwrap();
    let s = SensorName::new("vib").unwrap();
    // Three days at one point a minute: flushes every 1000 points, partitions split by day.
    let all: Vec<Reading> = (0..3 * 1440)
        .map(|i| reading("p-1", i * 60_000, i as f64))
        .collect();
    {
        let store = small(dir.path());
        for (n, chunk) in all.chunks(500).enumerate() {
            store.append(&[batch(n as u64, chunk.to_vec())]).unwrap();
        }
        let stats = store.stats();
        assert_eq!(stats.points, all.len() as u64);
        assert!(stats.partitions >= 4, "{stats:?}");
        assert!(stats.buffered_points < 1000);
        // A redelivery of flushed points (same values) and an overwrite of one flushed point.
        let out = store.append(&[batch(99, all[10..20].to_vec())]).unwrap();
        assert_eq!(
            out,
            Appended {
                new_points: 0,
                rewrites: 10
            }
        );
        store
            .append(&[batch(100, vec![reading("p-1", 5 * 60_000, -5.0)])])
            .unwrap();
        assert_eq!(store.stats().points, all.len() as u64);
        let r = store.range(&a, &s, 0, 10 * 60_000).unwrap();
        assert_eq!(r.len(), 10);
        assert_eq!(r[5], (5 * 60_000, -5.0));
        assert_eq!(store.range(&a, &s, 0, i64::MAX).unwrap().len(), all.len());
    }
    // Reopen: manifest + the WAL tail it does not cover.
    let (store, _) = Store::open_with(dir.path(), OpenMode::ReadWrite, KEEP_ALL).unwrap();
    assert_eq!(store.stats().points, all.len() as u64);
    assert_eq!(
        store.range(&a, &s, 5 * 60_000, 5 * 60_000 + 1).unwrap(),
        vec![(5 * 60_000, -5.0)]
    );
    assert_eq!(store.latest(&a)[0].ts_ms, all.last().unwrap().ts_ms);
    assert_eq!(store.asset_history(&a).unwrap().len(), all.len());
    store.flush().unwrap();
    let stats = store.stats();
    assert_eq!((stats.points, stats.buffered_points), (all.len() as u64, 0));
    assert_eq!(
        stats.wal_bytes, 0,
        "the WAL is trimmed once everything is in Parquet"
    );
    drop(store);
    let (reader, _) = Store::open(dir.path(), OpenMode::ReadOnly).unwrap();
    assert_eq!(reader.stats().points, all.len() as u64);
    assert_eq!(reader.range(&a, &s, 0, i64::MAX).unwrap().len(), all.len());
}

#[test]
fn an_uncommitted_flush_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = small(dir.path());
        store
            .append(&[batch(
                1,
                (0..1500).map(|i| reading("p-1", i * 1000, 1.0)).collect(),
            )])
            .unwrap();
    }
    // A crash after a partition file was written but before the manifest named it.
    let orphan = dir.path().join("raw/2030-01-01/0000000099.parquet");
    fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    fs::write(&orphan, b"half a file").unwrap();
    let store = small(dir.path());
    assert!(!orphan.exists());
    assert_eq!(store.stats().points, 1500);
}

#[test]
fn downsampling_from_rollups_matches_raw_aggregation() {
    let dir = tempfile::tempdir().unwrap();
    let store = small(dir.path());
    let a = AssetId::new("p-1").unwrap();
    let s = SensorName::new("vib").unwrap();
    // Two days at one point every 10 s, values with structure; the tail stays in the buffer.
    let all: Vec<Reading> = (0..2 * 8640)
        .map(|i| reading("p-1", i * 10_000, ((i * 7919) % 1000) as f64 / 10.0))
        .collect();
    for (n, chunk) in all.chunks(700).enumerate() {
        store.append(&[batch(n as u64, chunk.to_vec())]).unwrap();
    }
    assert!(store.stats().buffered_points > 0);
    let raw: Vec<(i64, f64)> = all.iter().map(|r| (r.ts_ms, r.value)).collect();
    for step in [60_000, 300_000, 3_600_000, 7_200_000, 30_000] {
        let want: Vec<_> = crate::rollup::aggregate(raw.iter().copied(), step)
            .into_iter()
            .collect();
        let got = store.downsample(&a, &s, 0, 2 * DAY_MS, step).unwrap();
        assert_eq!(got.len(), want.len(), "step {step}");
        for ((t1, g), (t2, w)) in got.iter().zip(&want) {
            assert_eq!(t1, t2);
            assert_eq!(
                (g.count, g.min, g.max, g.last_ts, g.last),
                (w.count, w.min, w.max, w.last_ts, w.last),
                "step {step} bucket {t1}"
            );
            assert!((g.sum - w.sum).abs() < 1e-6);
        }
    }
}

/// Minute-sampled data writes no 1-minute rollups at flush (they would repeat raw rows): 1-minute
/// queries aggregate raw instead, and when raw expires its 1-minute rollups are written, so they
/// still outlive it. Denser data gets its 1-minute rollups at flush as before.
#[test]
fn sparse_flushes_take_minute_rollups_from_raw_until_raw_expires() {
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let day0 = (now - 20 * DAY_MS).div_euclid(DAY_MS) * DAY_MS;
    let a = AssetId::new("p-1").unwrap();
    let s = SensorName::new("vib").unwrap();
    let minute_files = |d: &Path| {
        fs::read_dir(d.join("rollup_1m"))
            .map(|days| {
                days.flatten()
                    .flat_map(|e| fs::read_dir(e.path()).unwrap())
                    .count()
            })
            .unwrap_or(0)
    };
    let want = |store: &Store| {
        let raw = store.range(&a, &s, day0, day0 + DAY_MS).unwrap();
        crate::rollup::aggregate(raw, 300_000)
    };
    {
        let store = small(dir.path());
        let sparse = (0..600).map(|i| reading("p-1", day0 + i * 60_000, (i % 7) as f64));
        store.append(&[batch(1, sparse.collect())]).unwrap();
        store.flush().unwrap();
        assert_eq!(
            minute_files(dir.path()),
            0,
            "no 1-minute rollups for sparse data"
        );
        let got: BTreeMap<_, _> = store
            .downsample(&a, &s, day0, day0 + DAY_MS, 300_000)
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(got, want(&store));
        assert_eq!(got.values().map(|g| g.count).sum::<u64>(), 600);
        // Two points in a minute: this flush writes 1-minute rollups.
        let dense = (0..20).map(|i| reading("p-1", day0 + DAY_MS + i * 30_000, 1.0));
        store.append(&[batch(2, dense.collect())]).unwrap();
        store.flush().unwrap();
        assert_eq!(minute_files(dir.path()), 1);
    }
    let options = StoreOptions {
        raw_retention_ms: Some(7 * DAY_MS),
        ..KEEP_ALL
    };
    let (store, _) = Store::open_with(dir.path(), OpenMode::ReadWrite, options).unwrap();
    assert!(store.apply_retention().unwrap() >= 1);
    assert!(
        store.range(&a, &s, day0, day0 + DAY_MS).unwrap().is_empty(),
        "raw expired"
    );
    assert_eq!(
        minute_files(dir.path()),
        2,
        "its 1-minute rollups were written first"
    );
    let got = store
        .downsample(&a, &s, day0, day0 + DAY_MS, 300_000)
        .unwrap();
    assert_eq!(got.iter().map(|(_, g)| g.count).sum::<u64>(), 600);
    drop(store);
    let (store, _) = Store::open_with(dir.path(), OpenMode::ReadWrite, options).unwrap();
    let again = store
        .downsample(&a, &s, day0, day0 + DAY_MS, 300_000)
        .unwrap();
    assert_eq!(again, got, "committed");
}

/// Retention also runs without a flush: a store that stopped receiving data forgets old raw days.
#[test]
fn retention_applies_to_an_idle_store() {
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    {
        let store = small(dir.path());
        let old = (0..600).map(|i| reading("p-1", now - 20 * DAY_MS + i * 60_000, 1.0));
        let recent = (0..600).map(|i| reading("p-1", now - DAY_MS + i * 60_000, 2.0));
        store
            .append(&[batch(1, old.chain(recent).collect())])
            .unwrap();
        store.flush().unwrap();
        assert_eq!(store.stats().points, 1200);
    }
    let options = StoreOptions {
        raw_retention_ms: Some(7 * DAY_MS),
        ..KEEP_ALL
    };
    let (store, _) = Store::open_with(dir.path(), OpenMode::ReadWrite, options).unwrap();
    assert!(
        store.apply_retention().unwrap() >= 1,
        "the old raw day(s) expired"
    );
    assert_eq!(store.apply_retention().unwrap(), 0);
    assert_eq!(store.stats().points, 600);
    drop(store);
    let (store, _) = Store::open_with(dir.path(), OpenMode::ReadWrite, options).unwrap();
    assert_eq!(store.stats().points, 600, "the retention was committed");
    let a = AssetId::new("p-1").unwrap();
    let s = SensorName::new("vib").unwrap();
    assert!(
        store
            .range(&a, &s, 0, now)
            .unwrap()
            .iter()
            .all(|p| p.1 == 2.0)
    );
}

#[test]
fn retention_drops_whole_raw_days_and_keeps_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        raw_retention_ms: Some(7 * DAY_MS),
        ..KEEP_ALL
    };
    let (store, _) = Store::open_with(dir.path(), OpenMode::ReadWrite, options).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let old: Vec<Reading> = (0..1200)
        .map(|i| reading("p-1", now - 20 * DAY_MS + i * 60_000, 1.0))
        .collect();
    let recent: Vec<Reading> = (0..1200)
        .map(|i| reading("p-1", now - DAY_MS + i * 60_000, 2.0))
        .collect();
    store.append(&[batch(1, old)]).unwrap();
    store.append(&[batch(2, recent)]).unwrap();
    store.flush().unwrap();
    let a = AssetId::new("p-1").unwrap();
    let s = SensorName::new("vib").unwrap();
    assert!(
        store
            .range(&a, &s, 0, now)
            .unwrap()
            .iter()
            .all(|p| p.1 == 2.0),
        "old raw days are gone"
    );
    assert_eq!(store.stats().points, 1200);
    let hours = store
        .downsample(&a, &s, now - 30 * DAY_MS, now, 3_600_000)
        .unwrap();
    assert!(
        hours.iter().any(|(_, agg)| agg.last == 1.0),
        "hourly rollups outlive raw data"
    );
    let on_disk = fs::read_dir(dir.path().join("raw")).unwrap().count();
    assert!(on_disk <= 2, "{on_disk} raw day directories");
}

#[test]
fn damaged_partitions_are_reported_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = small(dir.path());
        store
            .append(&[batch(
                1,
                (0..1500)
                    .map(|i| reading("p-1", i * 1000, i as f64))
                    .collect(),
            )])
            .unwrap();
    }
    let manifest = Manifest::load(dir.path()).unwrap();
    let raw = manifest
        .files
        .iter()
        .find(|f| f.class == DataClass::Raw)
        .unwrap();
    let path = dir.path().join(&raw.path);
    let original = fs::read(&path).unwrap();

    // Truncated: refused at open, with the file named.
    fs::write(&path, &original[..original.len() / 2]).unwrap();
    match Store::open_with(dir.path(), OpenMode::ReadWrite, KEEP_ALL) {
        Err(StoreError::Corrupt { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected corruption, got {other:?}"),
    }
    // Missing: refused too.
    fs::remove_file(&path).unwrap();
    assert!(Store::open_with(dir.path(), OpenMode::ReadOnly, KEEP_ALL).is_err());

    // Bit-flipped in the footer (same size): the query that reads it fails with an error, never a panic.
    let mut flipped = original.clone();
    let at = flipped.len() - 12;
    flipped[at] ^= 0xFF;
    fs::write(&path, &flipped).unwrap();
    let (store, _) = Store::open_with(dir.path(), OpenMode::ReadOnly, KEEP_ALL).unwrap();
    let a = AssetId::new("p-1").unwrap();
    let s = SensorName::new("vib").unwrap();
    assert!(store.range(&a, &s, 0, i64::MAX).is_err());
}

/// Random interleavings of writes (with overwrites and redeliveries), flushes and restarts give
/// exactly what a plain in-memory map of the same writes gives — with flushes in the appending
/// thread, and with background flushes that run while appends and queries go on.
#[test]
fn random_interleavings_match_a_simple_model() {
    for (seed, background) in [(1u64, false), (42, false), (7, true), (99, true)] {
        let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions {
            flush_points: 500,
            ..KEEP_ALL
        };
        let mut store = Arc::new(
            Store::open_with(dir.path(), OpenMode::ReadWrite, options)
                .unwrap()
                .0,
        );
        let mut model: BTreeMap<(String, String, i64), f64> = BTreeMap::new();
        let series = [("a", "x"), ("a", "y"), ("b", "x")];
        for step in 0..100 {
            match next(10) {
                0 => store.flush().unwrap(),
                1 => {
                    store.close().unwrap();
                    drop(store);
                    store = Arc::new(
                        Store::open_with(dir.path(), OpenMode::ReadWrite, options)
                            .unwrap()
                            .0,
                    );
                }
                _ => {
                    let n = 1 + next(120);
                    let readings: Vec<Reading> = (0..n)
                        .map(|_| {
                            let (a, s) = series[next(3) as usize];
                            // A small key space, so rewrites of buffered and flushed points are common.
                            let ts = next(2_000) as i64 * 1000;
                            let value = next(1000) as f64;
                            Reading {
                                asset: AssetId::new(a).unwrap(),
                                sensor: SensorName::new(s).unwrap(),
                                ts_ms: ts,
                                value,
                            }
                        })
                        .collect();
                    for r in &readings {
                        model.insert(
                            (r.asset.to_string(), r.sensor.to_string(), r.ts_ms),
                            r.value,
                        );
                    }
                    let b = [batch(step, readings)];
                    if background {
                        store.append_with_background_flush(&b).unwrap();
                    } else {
                        store.append(&b).unwrap();
                    }
                }
            }
            assert_eq!(
                store.stats().points,
                model.len() as u64,
                "seed {seed} step {step}"
            );
        }
        for (a, s) in series {
            let want: Vec<(i64, f64)> = model
                .iter()
                .filter(|((ma, ms, _), _)| ma == a && ms == s)
                .map(|((_, _, t), v)| (*t, *v))
                .collect();
            let got = store
                .range(
                    &AssetId::new(a).unwrap(),
                    &SensorName::new(s).unwrap(),
                    i64::MIN,
                    i64::MAX,
                )
                .unwrap();
            assert_eq!(got, want, "seed {seed} series {a}/{s}");
            let last = store
                .latest(&AssetId::new(a).unwrap())
                .into_iter()
                .find(|p| p.sensor.as_str() == s)
                .unwrap();
            assert_eq!(
                (last.ts_ms, last.value),
                *want.last().unwrap(),
                "seed {seed} latest {a}/{s}"
            );
        }
    }
}
