//! Any Parquet file as a table of text cells, and back: what `forewarn backtest` and `rul` read
//! and write when a path ends in `.parquet`.
//!
//! The commands work on cells (labels pass through untouched, numbers are parsed where needed),
//! so reading casts every column to text and writing stores a column as `Float64` when every
//! non-empty cell is a number, as text otherwise. Nulls are empty cells.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use crate::StoreError;

fn io(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// Column names and rows of text cells of a Parquet file.
pub fn read_table(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), StoreError> {
    let df = LazyFrame::scan_parquet(
        PlRefPath::new(path.to_string_lossy().as_ref()),
        ScanArgsParquet::default(),
    )
    .and_then(LazyFrame::collect)
    .map_err(|e| io(path, e))?;
    let header: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let mut rows = vec![Vec::with_capacity(header.len()); df.height()];
    for c in df.columns() {
        let text = c.cast(&DataType::String).map_err(|e| io(path, e))?;
        let text = text.str().map_err(|e| io(path, e))?;
        for (row, cell) in rows.iter_mut().zip(text.iter()) {
            row.push(cell.unwrap_or_default().to_owned());
        }
    }
    Ok((header, rows))
}

fn cell(row: &[String], c: usize) -> &str {
    row.get(c).map_or("", |s| s.trim())
}

/// Writes rows of text cells as a Parquet file (numeric columns as `Float64`).
pub fn write_table(path: &Path, header: &[String], rows: &[Vec<String>]) -> Result<(), StoreError> {
    let columns: Vec<Column> = header
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let numeric = rows.iter().all(|r| {
                let v = cell(r, c);
                v.is_empty() || v.parse::<f64>().is_ok()
            });
            if numeric {
                let values: Vec<Option<f64>> =
                    rows.iter().map(|r| cell(r, c).parse().ok()).collect();
                Column::new(name.as_str().into(), values)
            } else {
                let values: Vec<&str> = rows.iter().map(|r| cell(r, c)).collect();
                Column::new(name.as_str().into(), values)
            }
        })
        .collect();
    let mut df = DataFrame::new(rows.len(), columns).map_err(|e| io(path, e))?;
    let file = File::create(path).map_err(|e| io(path, e))?;
    ParquetWriter::new(file)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(&mut df)
        .map_err(|e| io(path, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_survive_a_round_trip_with_numbers_as_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.parquet");
        let header = vec!["when".to_string(), "v".into(), "label".into()];
        let rows = vec![
            vec!["2024-01-01 00:00:00".to_string(), "1.5".into(), "0".into()],
            vec!["2024-01-01 00:00:01".to_string(), "".into(), "1".into()],
        ];
        write_table(&p, &header, &rows).unwrap();
        let (h, r) = read_table(&p).unwrap();
        assert_eq!(h, header);
        assert_eq!(r[0], ["2024-01-01 00:00:00", "1.5", "0.0"]);
        assert_eq!(r[1], ["2024-01-01 00:00:01", "", "1.0"]);
        let err = read_table(&dir.path().join("missing.parquet")).unwrap_err();
        assert!(err.to_string().contains("missing.parquet"), "{err}");
    }
}
