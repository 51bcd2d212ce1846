//! Parquet partitions, written and scanned with polars.
//!
//! A partition file holds `asset, sensor, ts, value` rows sorted by (asset, sensor, ts) and unique
//! on that key. Sorted rows plus small row groups with full statistics let a scan of one series
//! skip every row group whose asset/sensor range cannot match (predicate pushdown), so a query for
//! one series reads little of a file that holds the whole fleet.

use std::fs::File;
use std::path::Path;

use forewarn_domain::{AssetId, SensorName, TimestampMs};
use polars::prelude::*;

use crate::StoreError;
use crate::rollup::Agg;

/// Rows per row group: the unit that statistics let a scan skip.
const ROW_GROUP: usize = 16 * 1024;

fn pl_err(path: &Path) -> impl FnOnce(PolarsError) -> StoreError {
    let path = path.to_path_buf();
    move |e| StoreError::Io {
        path,
        source: std::io::Error::other(e.to_string()),
    }
}

/// Writes series to `path` durably (temporary file, fsync, rename, directory fsync); returns the
/// file size. `series` must come in (asset, sensor) order.
pub(crate) fn write_series<'a>(
    path: &Path,
    series: impl Iterator<Item = (&'a AssetId, &'a SensorName, &'a [(TimestampMs, f64)])>,
) -> Result<u64, StoreError> {
    let (mut assets, mut sensors, mut ts, mut values) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (asset, sensor, points) in series {
        for &(t, v) in points {
            assets.push(asset.as_str());
            sensors.push(sensor.as_str());
            ts.push(t);
            values.push(v);
        }
    }
    let mut df = df!("asset" => assets, "sensor" => sensors, "ts" => ts, "value" => values)
        .map_err(pl_err(path))?;
    write_durably(path, &mut df)
}

/// Writes rollup buckets of series to `path` durably; `series` must come in (asset, sensor) order.
pub(crate) fn write_rollups<'a>(
    path: &Path,
    series: impl Iterator<Item = (&'a AssetId, &'a SensorName, &'a [(TimestampMs, Agg)])>,
) -> Result<u64, StoreError> {
    let mut c = RollupColumns::default();
    for (asset, sensor, buckets) in series {
        for (t, a) in buckets.iter().map(|(t, a)| (*t, a)) {
            c.asset.push(asset.as_str());
            c.sensor.push(sensor.as_str());
            c.ts.push(t);
            c.min.push(a.min);
            c.max.push(a.max);
            c.sum.push(a.sum);
            c.count.push(a.count as i64);
            c.last_ts.push(a.last_ts);
            c.last.push(a.last);
        }
    }
    let mut df = df!(
        "asset" => c.asset, "sensor" => c.sensor, "ts" => c.ts, "min" => c.min, "max" => c.max,
        "sum" => c.sum, "count" => c.count, "last_ts" => c.last_ts, "last" => c.last
    )
    .map_err(pl_err(path))?;
    write_durably(path, &mut df)
}

#[derive(Default)]
struct RollupColumns<'a> {
    asset: Vec<&'a str>,
    sensor: Vec<&'a str>,
    ts: Vec<i64>,
    min: Vec<f64>,
    max: Vec<f64>,
    sum: Vec<f64>,
    count: Vec<i64>,
    last_ts: Vec<i64>,
    last: Vec<f64>,
}

/// One series' points as a Parquet file in memory (`ts` as epoch ms, `value`), for export.
pub(crate) fn to_bytes(points: &[(TimestampMs, f64)]) -> Result<Vec<u8>, StoreError> {
    let here = Path::new("export");
    let (ts, values): (Vec<i64>, Vec<f64>) = points.iter().copied().unzip();
    let mut df = df!("ts" => ts, "value" => values).map_err(pl_err(here))?;
    let mut out = Vec::new();
    ParquetWriter::new(&mut out)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(&mut df)
        .map_err(pl_err(here))?;
    Ok(out)
}

/// Temporary file, fsync, rename, directory fsync; returns the size.
fn write_durably(path: &Path, df: &mut DataFrame) -> Result<u64, StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
    let tmp = path.with_extension("parquet.tmp");
    let file = File::create(&tmp).map_err(StoreError::io(&tmp))?;
    ParquetWriter::new(&file)
        .with_compression(ParquetCompression::Zstd(None))
        // Min, max and null counts let scans skip row groups; distinct counts (a HyperLogLog per
        // column chunk) cost a fifth of the flush time and no reader uses them.
        .with_statistics(StatisticsOptions {
            distinct_count: false,
            ..StatisticsOptions::full()
        })
        .with_row_group_size(Some(ROW_GROUP))
        .finish(df)
        .map_err(pl_err(&tmp))?;
    file.sync_all().map_err(StoreError::io(&tmp))?;
    let bytes = file.metadata().map_err(StoreError::io(&tmp))?.len();
    std::fs::rename(&tmp, path).map_err(StoreError::io(path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io(dir))?;
    Ok(bytes)
}

fn scan_one(
    path: &Path,
    asset: &str,
    sensor: &str,
    from: TimestampMs,
    to: TimestampMs,
    columns: &[&str],
) -> Result<DataFrame, StoreError> {
    let lf = LazyFrame::scan_parquet(
        PlRefPath::new(path.to_string_lossy().as_ref()),
        ScanArgsParquet::default(),
    )
    .map_err(pl_err(path))?;
    lf.filter(
        col("asset")
            .eq(lit(asset))
            .and(col("sensor").eq(lit(sensor)))
            .and(col("ts").gt_eq(lit(from)))
            .and(col("ts").lt(lit(to))),
    )
    .select(columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
    .collect()
    .map_err(pl_err(path))
}

/// Every row of a raw partition, one entry per series in file order (asset, sensor, time).
pub(crate) fn read_all_raw(path: &Path) -> Result<Vec<crate::index::BufferedSeries>, StoreError> {
    let df = LazyFrame::scan_parquet(
        PlRefPath::new(path.to_string_lossy().as_ref()),
        ScanArgsParquet::default(),
    )
    .map_err(pl_err(path))?
    .collect()
    .map_err(pl_err(path))?;
    let s = |name: &str| df.column(name).and_then(|c| c.str()).map_err(pl_err(path));
    let (assets, sensors) = (s("asset")?, s("sensor")?);
    let ts = df
        .column("ts")
        .and_then(|c| c.i64())
        .map_err(pl_err(path))?;
    let values = df
        .column("value")
        .and_then(|c| c.f64())
        .map_err(pl_err(path))?;
    let bad = |what: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        offset: 0,
        reason: what,
    };
    let mut out: Vec<crate::index::BufferedSeries> = Vec::new();
    for i in 0..df.height() {
        let (a, s) = (
            assets.get(i).unwrap_or_default(),
            sensors.get(i).unwrap_or_default(),
        );
        let point = (
            ts.get(i).unwrap_or_default(),
            values.get(i).unwrap_or_default(),
        );
        match out.last_mut() {
            Some((la, ls, points)) if la.as_str() == a && ls.as_str() == s => points.push(point),
            _ => out.push((
                AssetId::new(a).map_err(|e| bad(e.to_string()))?,
                SensorName::new(s).map_err(|e| bad(e.to_string()))?,
                vec![point],
            )),
        }
    }
    Ok(out)
}

/// Rollup buckets of one series with `from <= ts < to` in one file.
pub(crate) fn read_rollups(
    path: &Path,
    asset: &str,
    sensor: &str,
    from: TimestampMs,
    to: TimestampMs,
) -> Result<Vec<(TimestampMs, Agg)>, StoreError> {
    let df = scan_one(
        path,
        asset,
        sensor,
        from,
        to,
        &["ts", "min", "max", "sum", "count", "last_ts", "last"],
    )?;
    let i = |name: &str| {
        df.column(name)
            .and_then(|c| c.i64())
            .map(|c| c.into_no_null_iter().collect::<Vec<_>>())
            .map_err(pl_err(path))
    };
    let f = |name: &str| {
        df.column(name)
            .and_then(|c| c.f64())
            .map(|c| c.into_no_null_iter().collect::<Vec<_>>())
            .map_err(pl_err(path))
    };
    let (ts, min, max, sum, count, last_ts, last) = (
        i("ts")?,
        f("min")?,
        f("max")?,
        f("sum")?,
        i("count")?,
        i("last_ts")?,
        f("last")?,
    );
    Ok((0..ts.len())
        .map(|k| {
            (
                ts[k],
                Agg {
                    min: min[k],
                    max: max[k],
                    sum: sum[k],
                    count: count[k] as u64,
                    last_ts: last_ts[k],
                    last: last[k],
                },
            )
        })
        .collect())
}

/// Points of one series with `from <= ts < to` in one file, in time order.
pub(crate) fn read_series(
    path: &Path,
    asset: &str,
    sensor: &str,
    from: TimestampMs,
    to: TimestampMs,
) -> Result<Vec<(TimestampMs, f64)>, StoreError> {
    let df = scan_one(path, asset, sensor, from, to, &["ts", "value"])?;
    let ts = df
        .column("ts")
        .and_then(|c| c.i64())
        .map_err(pl_err(path))?;
    let values = df
        .column("value")
        .and_then(|c| c.f64())
        .map_err(pl_err(path))?;
    Ok(ts
        .into_no_null_iter()
        .zip(values.into_no_null_iter())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_scans_one_series() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d/1.parquet");
        let a = AssetId::new("a").unwrap();
        let b = AssetId::new("b").unwrap();
        let s = SensorName::new("x").unwrap();
        let pa: Vec<(i64, f64)> = (0..50_000).map(|i| (i, i as f64)).collect();
        let pb: Vec<(i64, f64)> = (0..10).map(|i| (i, -1.0)).collect();
        let bytes =
            write_series(&path, [(&a, &s, &pa[..]), (&b, &s, &pb[..])].into_iter()).unwrap();
        assert!(bytes > 0 && !dir.path().join("d/1.parquet.tmp").exists());
        assert_eq!(
            read_series(&path, "a", "x", 100, 103).unwrap(),
            vec![(100, 100.0), (101, 101.0), (102, 102.0)]
        );
        assert_eq!(read_series(&path, "b", "x", 0, 100).unwrap().len(), 10);
        assert!(read_series(&path, "c", "x", 0, 100).unwrap().is_empty());
    }
}
