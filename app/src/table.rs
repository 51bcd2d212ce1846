//! History files as the commands read them: delimited text with a header row, or — with
//! `--columns` — plain rows without one (whitespace separated, as NASA's C-MAPSS files are).
//!
//! The separator is detected from the first line: the most frequent of tab, `;` and `,`; a file
//! named by `--columns` with none of them is split on runs of whitespace. A path ending in
//! `.parquet` is read with polars (every column as text; `--columns` renames them).

use std::io::BufRead;
use std::path::Path;

use anyhow::Context;

/// How rows are split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    /// One byte (`,`, `;` or tab), quoting as in CSV.
    Byte(u8),
    /// Runs of spaces or tabs.
    Whitespace,
}

/// A whole file of text cells.
#[derive(Debug)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Data rows, as many cells as the header each (short rows are padded with empty cells).
    pub rows: Vec<Vec<String>>,
    /// How the file was split (and how output derived from it is written).
    pub sep: Separator,
}

impl Table {
    /// Reads `path`; `columns` names the columns of a file without a header row.
    pub fn read(path: &Path, columns: Option<Vec<String>>) -> anyhow::Result<Table> {
        if is_parquet(path) {
            let (mut header, rows) = forewarn_store::table_file::read_table(path)?;
            if let Some(c) = columns {
                anyhow::ensure!(
                    c.len() == header.len(),
                    "{} has {} columns, --columns names {}",
                    path.display(),
                    header.len(),
                    c.len()
                );
                header = c;
            }
            return Ok(Table {
                header,
                rows,
                sep: Separator::Byte(b','),
            });
        }
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut first = String::new();
        std::io::BufReader::new(file).read_line(&mut first)?;
        anyhow::ensure!(!first.trim().is_empty(), "{} is empty", path.display());
        let count = |c: char| first.matches(c).count();
        // On a tie (a one-column file) the last wins: a comma.
        let byte = [b'\t', b';', b',']
            .into_iter()
            .max_by_key(|&c| count(c as char))
            .unwrap_or(b',');
        let sep = if columns.is_some() && count(byte as char) == 0 {
            Separator::Whitespace
        } else {
            Separator::Byte(byte)
        };
        let mut rows: Vec<Vec<String>> = match sep {
            Separator::Byte(b) => csv::ReaderBuilder::new()
                .delimiter(b)
                .has_headers(false)
                .flexible(true)
                .from_path(path)?
                .records()
                .map(|r| r.map(|r| r.iter().map(str::to_owned).collect()))
                .collect::<Result<_, _>>()
                .with_context(|| format!("reading {}", path.display()))?,
            Separator::Whitespace => std::fs::read_to_string(path)?
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.split_whitespace().map(str::to_owned).collect())
                .collect(),
        };
        let header = match columns {
            Some(c) => c,
            None => {
                let numeric = first
                    .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
                    .filter(|c| !c.is_empty())
                    .all(|c| c.parse::<f64>().is_ok());
                anyhow::ensure!(
                    !numeric,
                    "{} has no header row: name its columns with --columns",
                    path.display()
                );
                rows.remove(0)
                    .into_iter()
                    .map(|c| c.trim().to_owned())
                    .collect()
            }
        };
        for (i, r) in rows.iter_mut().enumerate() {
            anyhow::ensure!(
                r.len() <= header.len(),
                "{} row {}: {} cells, but {} columns",
                path.display(),
                i + 1,
                r.len(),
                header.len()
            );
            r.resize(header.len(), String::new());
        }
        Ok(Table { header, rows, sep })
    }

    /// The index of column `name`.
    pub fn column(&self, name: &str) -> anyhow::Result<usize> {
        self.header
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("no column {name:?} in {:?}", self.header))
    }

    /// Column `c` as numbers; cells that are not numbers are NaN.
    pub fn numbers(&self, c: usize) -> Vec<f64> {
        self.rows
            .iter()
            .map(|r| r[c].trim().parse::<f64>().unwrap_or(f64::NAN))
            .collect()
    }
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
        assert_eq!(t.rows.len(), 3);
        assert_eq!(t.numbers(2), [0.5, 0.7, 0.1]);
        let err = Table::read(&p, None).unwrap_err().to_string();
        assert!(err.contains("no header row"), "{err}");
    }
}
