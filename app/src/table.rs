//! History files as the commands read them, into typed polars frames: delimited text with a
//! header row, or — with `--columns` — plain rows without one (whitespace separated, as NASA's
//! C-MAPSS files are), or Parquet.
//!
//! The separator is detected from the first line: the most frequent of tab, `;` and `,`; a file
//! named by `--columns` with none of them is split on runs of whitespace. polars infers each
//! column's type from the whole file (a column of numbers is `Float64` or `Int64`, anything
//! else text, kept as written), so labels and timestamps pass through untouched and numbers are
//! never parsed twice.

use std::io::BufRead;
use std::path::Path;

use anyhow::Context;
use polars::chunked_array::cast::CastOptions;
use polars::prelude::{
    CsvParseOptions, CsvReadOptions, DataFrame, DataType, LazyFrame, PlRefPath, ScanArgsParquet,
    SerReader,
};

/// How rows are split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    /// One byte (`,`, `;` or tab), quoting as in CSV.
    Byte(u8),
    /// Runs of spaces or tabs.
    Whitespace,
}

/// A whole history file.
#[derive(Debug)]
pub struct Table {
    /// Its columns, typed as polars inferred them.
    pub frame: DataFrame,
    /// How the file was split (and how output derived from it is written).
    pub sep: Separator,
}

impl Table {
    /// Reads `path`; `columns` names the columns of a file without a header row.
    pub fn read(path: &Path, columns: Option<Vec<String>>) -> anyhow::Result<Table> {
        let (frame, sep) = if is_parquet(path) {
            let frame = LazyFrame::scan_parquet(
                PlRefPath::new(path.to_string_lossy().as_ref()),
                ScanArgsParquet::default(),
            )
            .and_then(LazyFrame::collect)
            .with_context(|| format!("reading {}", path.display()))?;
            (frame, Separator::Byte(b','))
        } else {
            read_text(path, columns.is_some())?
        };
        let frame = name_columns(frame, columns, path)?;
        Ok(Table { frame, sep })
    }

    /// Column names.
    pub fn header(&self) -> Vec<String> {
        self.frame
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect()
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.frame.height()
    }

    /// Whether it has no rows (a header alone).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index of column `name`.
    pub fn column(&self, name: &str) -> anyhow::Result<usize> {
        self.frame
            .get_column_index(name)
            .with_context(|| format!("no column {name:?} in {:?}", self.header()))
    }

    /// Column `c` as numbers; cells that are not numbers (and empty ones) are NaN.
    pub fn numbers(&self, c: usize) -> Vec<f64> {
        let column = &self.frame.columns()[c];
        if let Ok(text) = column.str() {
            return text
                .iter()
                .map(|v| v.and_then(|v| v.trim().parse().ok()).unwrap_or(f64::NAN))
                .collect();
        }
        match column.cast_with_options(&DataType::Float64, CastOptions::NonStrict) {
            Ok(numbers) => numbers
                .f64()
                .map(|f| f.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
                .unwrap_or_else(|_| vec![f64::NAN; self.len()]),
            Err(_) => vec![f64::NAN; self.len()],
        }
    }

    /// Column `c` as text (empty cells empty).
    pub fn text(&self, c: usize) -> Vec<String> {
        let column = &self.frame.columns()[c];
        match column.cast(&DataType::String) {
            Ok(text) => text
                .str()
                .map(|t| {
                    t.iter()
                        .map(|v| v.unwrap_or_default().trim().to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            Err(_) => vec![String::new(); self.len()],
        }
    }
}

/// Reads delimited or whitespace-separated text; whether it has a header row is said by
/// `named` (the caller names the columns) and checked against the first line.
fn read_text(path: &Path, named: bool) -> anyhow::Result<(DataFrame, Separator)> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut first = String::new();
    std::io::BufReader::new(file).read_line(&mut first)?;
    anyhow::ensure!(!first.trim().is_empty(), "{} is empty", path.display());
    let count = |c: char| first.matches(c).count();
    // On a tie (a one-column file) the last wins: a comma.
    let byte = [b'\t', b';', b',']
        .into_iter()
        .max_by_key(|&c| count(c as char))
        .unwrap_or(b',');
    if !named {
        let numeric = first
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|c| !c.is_empty())
            .all(|c| c.parse::<f64>().is_ok());
        anyhow::ensure!(
            !numeric,
            "{} has no header row: name its columns with --columns",
            path.display()
        );
    }
    let parse = CsvParseOptions::default().with_separator(byte);
    let options = CsvReadOptions::default()
        .with_has_header(!named)
        .with_infer_schema_length(None);
    let whitespace = named && count(byte as char) == 0;
    let frame = if whitespace {
        // polars splits on one byte: runs of whitespace become one tab first.
        let tabbed: String = std::fs::read_to_string(path)?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join("\t") + "\n")
            .collect();
        options
            .with_parse_options(parse.with_separator(b'\t'))
            .into_reader_with_file_handle(std::io::Cursor::new(tabbed.into_bytes()))
            .finish()
    } else {
        options
            .with_parse_options(parse)
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
    };
    let frame = anyhow::Context::with_context(frame, || format!("reading {}", path.display()))?;
    let sep = if whitespace {
        Separator::Whitespace
    } else {
        Separator::Byte(byte)
    };
    Ok((frame, sep))
}

/// Names the columns `columns` when given (as many as the file has), else trims the header's.
fn name_columns(
    mut frame: DataFrame,
    columns: Option<Vec<String>>,
    path: &Path,
) -> anyhow::Result<DataFrame> {
    let names: Vec<String> = match columns {
        Some(c) => {
            anyhow::ensure!(
                c.len() == frame.width(),
                "{} has {} cells a row, but --columns names {} columns",
                path.display(),
                frame.width(),
                c.len()
            );
            c
        }
        None => frame
            .get_column_names()
            .iter()
            .map(|n| n.trim().to_owned())
            .collect(),
    };
    frame.set_column_names(&names)?;
    Ok(frame)
}

/// Whether `path` names a Parquet file (by its extension).
pub fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// Column names from a `--columns` list: comma separated, where `s1..s21` stands for
/// `s1, s2, …, s21`.
pub fn expand_columns(spec: &str) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((from, to)) = item.split_once("..") else {
            out.push(item.to_owned());
            continue;
        };
        let split = |s: &str| {
            let digits = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            let (prefix, n) = s.split_at(s.len() - digits);
            n.parse::<u32>().ok().map(|n| (prefix.to_owned(), n))
        };
        match (split(from), split(to)) {
            (Some((p, a)), Some((q, b))) if p == q && a <= b => {
                out.extend((a..=b).map(|n| format!("{p}{n}")));
            }
            _ => anyhow::bail!("{item:?}: a range is like s1..s21 (same prefix, rising numbers)"),
        }
    }
    anyhow::ensure!(!out.is_empty(), "--columns names no column");
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = out.iter().find(|c| !seen.insert(c.as_str())) {
        anyhow::bail!("--columns names {dup:?} twice");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand_and_mistakes_are_named() {
        assert_eq!(
            expand_columns("unit, cycle,op1..op3").unwrap(),
            ["unit", "cycle", "op1", "op2", "op3"]
        );
        assert!(
            expand_columns("a..b")
                .unwrap_err()
                .to_string()
                .contains("a range is like")
        );
        assert!(expand_columns("s3..s1").is_err());
        assert!(
            expand_columns("a,a")
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
    }

    #[test]
    fn whitespace_files_without_a_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.txt");
        std::fs::write(&p, "1 1  0.5 \n1 2 0.7\n\n2 1 0.1\n").unwrap();
        let cols = Some(expand_columns("unit,t,v").unwrap());
        let t = Table::read(&p, cols).unwrap();
        assert_eq!(t.sep, Separator::Whitespace);
        assert_eq!(t.len(), 3);
        assert_eq!(t.numbers(2), [0.5, 0.7, 0.1]);
        let err = Table::read(&p, None).unwrap_err().to_string();
        assert!(err.contains("no header row"), "{err}");
    }

    #[test]
    fn delimited_files_become_typed_frames() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(
            &p,
            "time; value ;label;note\n2024-01-01 00:00;1.5;0;\"a;b\"\n2024-01-01 00:01;n/a;1;\n2024-01-01 00:02;2;0;c\n",
        )
        .unwrap();
        let t = Table::read(&p, None).unwrap();
        assert_eq!(t.sep, Separator::Byte(b';'));
        assert_eq!(t.header(), ["time", "value", "label", "note"]);
        let dtype = |c: usize| t.frame.columns()[c].dtype().clone();
        assert_eq!(dtype(2), DataType::Int64, "a label of numbers is a number");
        assert_eq!(
            dtype(0),
            DataType::String,
            "timestamps pass through as written"
        );
        let v = t.numbers(t.column("value").unwrap());
        assert_eq!(v[0], 1.5);
        assert!(v[1].is_nan(), "a cell that is not a number");
        assert_eq!(v[2], 2.0);
        assert_eq!(t.text(3), ["a;b", "", "c"], "quoting as in CSV");
        assert_eq!(t.text(0)[2], "2024-01-01 00:02");
        assert!(
            t.column("nope")
                .unwrap_err()
                .to_string()
                .contains("no column")
        );
    }

    #[test]
    fn broken_files_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.csv");
        std::fs::write(&empty, "\n").unwrap();
        let err = Table::read(&empty, None).unwrap_err().to_string();
        assert!(err.contains("is empty"), "{err}");
        let long = dir.path().join("long.csv");
        std::fs::write(&long, "a,b\n1,2\n1,2,3\n").unwrap();
        let err = format!("{:#}", Table::read(&long, None).unwrap_err());
        assert!(err.contains("long.csv"), "{err}");
        let p = dir.path().join("t.txt");
        std::fs::write(&p, "1 2\n3 4\n").unwrap();
        let err = Table::read(&p, Some(vec!["a".into()]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("has 2 cells a row, but --columns names 1 columns"),
            "{err}"
        );
        let missing = Table::read(&dir.path().join("missing.parquet"), None).unwrap_err();
        assert!(
            format!("{missing:#}").contains("missing.parquet"),
            "{missing:#}"
        );
    }
}
