//! `forewarn backtest`: the detectors over a history file, every input row written back with
//! `anomaly_score` and `is_anomaly`, and a summary of the events on standard output. Several
//! value columns are scored by the joint model; one by the streaming change detector, which also
//! writes `change` (`spike` or `shift`) on anomalous rows, and whose `anomaly_score` is its alarm:
//! non-zero only on the row that raises an event (0.5 at the threshold, events start at half of
//! it), so one event is one alarm.
//!
//! The separator (`,`, `;` or tab) is detected from the header. Columns named `anomaly`,
//! `changepoint` or `label` are labels: passed through, never inputs. The timestamp column is
//! `--timestamp-col`, or one named like a time (`datetime`, `timestamp`, `time`, `date`, `ts`).
//! Every other column is a sensor; cells that are not numbers carry the last value forward.

use std::path::{Path, PathBuf};

use anyhow::Context;
use forewarn_analytics::backtest::{self, Joint, ScoreConfig};
use forewarn_analytics::stream::StreamConfig;
use indicatif::ProgressBar;
use ndarray::Array2;
use polars::prelude::{Column, CsvWriter, DataFrame, ParquetCompression, ParquetWriter, SerWriter};

use crate::table::{Separator, Table, is_parquet};

/// Settings of `forewarn backtest`.
#[derive(Debug, clap::Args)]
pub struct BacktestArgs {
    /// History as CSV (header row; `,`, `;` or tab separated) or Parquet (`.parquet`).
    #[arg(long)]
    pub input: PathBuf,
    /// The timestamp column (default: one named like a time, if any).
    #[arg(long)]
    pub timestamp_col: Option<String>,
    /// Rows at the start that are healthy and train the model (default: a quarter of the file).
    #[arg(long)]
    pub baseline_rows: Option<usize>,
    /// Names of the columns of a file without a header row, comma separated (plain
    /// whitespace-separated rows are accepted then too).
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Where to write the scored rows: CSV (same separator as the input) or Parquet (`.parquet`).
    #[arg(long)]
    pub out: PathBuf,
    /// The joint model for several value columns: `mahalanobis` (the service's) or `pca`
    /// (linfa's principal components with T² and SPE limits, for comparison).
    #[arg(long, default_value = "mahalanobis", value_parser = ["mahalanobis", "pca"])]
    pub joint: String,
}

/// Never inputs: labels (also any column whose name starts with `label`), and the columns an
/// earlier backtest added.
const LABELS: [&str; 6] = [
    "anomaly",
    "changepoint",
    "label",
    "anomaly_score",
    "is_anomaly",
    "change",
];
/// What a backtest writes: an earlier run's are replaced, not repeated.
const SCORES: [&str; 3] = ["anomaly_score", "is_anomaly", "change"];
const TIME_NAMES: [&str; 5] = ["datetime", "timestamp", "time", "date", "ts"];

fn is_label(name: &str) -> bool {
    let name = name.to_lowercase();
    LABELS.contains(&name.as_str()) || name.starts_with("label")
}

/// Runs a backtest.
pub fn run(args: &BacktestArgs) -> anyhow::Result<()> {
    let table = Table::read(&args.input, args.columns.clone())?;
    anyhow::ensure!(!table.is_empty(), "{} has no rows", args.input.display());
    let header = table.header();
    let time_col = match &args.timestamp_col {
        Some(c) => Some(table.column(c)?),
        None => header
            .iter()
            .position(|h| TIME_NAMES.contains(&h.to_lowercase().as_str())),
    };
    let inputs: Vec<usize> = (0..header.len())
        .filter(|&i| Some(i) != time_col)
        .filter(|&i| !is_label(&header[i]))
        .collect();
    anyhow::ensure!(!inputs.is_empty(), "no sensor columns in {header:?}");
    let mut values = Array2::from_elem((table.len(), inputs.len()), f64::NAN);
    for (c, &i) in inputs.iter().enumerate() {
        let col = table.numbers(i);
        anyhow::ensure!(
            col.iter().any(|v| v.is_finite()),
            "column {:?} holds no numbers: name it with --timestamp-col if it is the time",
            header[i]
        );
        values
            .column_mut(c)
            .assign(&ndarray::ArrayView1::from(&col));
    }
    backtest::fill_gaps(&mut values);
    let baseline = args.baseline_rows.unwrap_or(table.len() / 4);
    let univariate = inputs.len() == 1;
    let scored = if univariate {
        backtest::score_series(
            &values.column(0).to_vec(),
            baseline,
            &StreamConfig::default(),
        )
    } else {
        let joint = match args.joint.as_str() {
            "pca" => Joint::Pca,
            _ => Joint::Mahalanobis,
        };
        let cfg = ScoreConfig {
            joint,
            ..ScoreConfig::default()
        };
        backtest::score_table(values.view(), baseline, &cfg)
    }
    .with_context(|| format!("fitting the baseline (the first {baseline} rows)"))?;
    write_scored(&table, &scored, univariate, &args.out)?;

    report(&table, &header, &inputs, time_col, baseline, &scored);
    println!("wrote {}", args.out.display());
    Ok(())
}

/// Prints the run's summary, its first events with the sensors that drove them, and — when the
/// file has labels — how it did against them.
fn report(
    table: &Table,
    header: &[String],
    inputs: &[usize],
    time_col: Option<usize>,
    baseline: usize,
    scored: &backtest::Scored,
) {
    let univariate = inputs.len() == 1;
    let events = backtest::events(scored);
    let flagged = scored.anomalous.iter().filter(|&&a| a).count();
    println!(
        "{} rows, {} sensors ({}), baseline {} rows; {} anomalous rows in {} events",
        table.len(),
        inputs.len(),
        if univariate {
            "streaming change detector"
        } else {
            "joint model"
        },
        baseline,
        flagged,
        events.len()
    );
    let times = time_col.map(|t| table.text(t));
    let at = |row: usize| match &times {
        Some(t) => t[row].clone(),
        None => format!("row {row}"),
    };
    for e in events.iter().take(20) {
        let sensors: Vec<&str> = e
            .top_columns
            .iter()
            .map(|&c| header[inputs[c]].as_str())
            .collect();
        println!(
            "  {} .. {} ({} rows) peak {:.3}, {} {}",
            at(e.start),
            at(e.end),
            e.end - e.start + 1,
            e.peak,
            e.kind.map_or("driven by", |k| k.as_str()),
            sensors.join(", ")
        );
    }
    if events.len() > 20 {
        println!("  … and {} more", events.len() - 20);
    }
    if let Some(l) = label_column(header) {
        report_against_labels(&header[l], &table.numbers(l), &scored.anomalous);
    }
}

/// The column holding the file's own labels: `anomaly`, else an `is_anomaly` that is not an
/// earlier run's output (no `anomaly_score` beside it), else `label`.
fn label_column(header: &[String]) -> Option<usize> {
    let find = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let rescored = find("anomaly_score").is_some();
    find("anomaly")
        .or_else(|| find("is_anomaly").filter(|_| !rescored))
        .or_else(|| find("label"))
}

/// Prints how the flagged rows compare with the labels (non-zero = anomalous).
fn report_against_labels(name: &str, labels: &[f64], flagged: &[bool]) {
    let labels: Vec<bool> = labels.iter().map(|v| v.is_finite() && *v != 0.0).collect();
    let e = forewarn_analytics::evaluation::evaluate(&labels, flagged);
    let delay = e.mean_delay_rows.map_or(String::new(), |d| {
        format!(", {d:.1} rows after their start on average")
    });
    println!(
        "against its labels ({name}): precision {:.3}, recall {:.3}, F1 {:.3}, false alarms {:.1} %, missed {:.1} %; {} of {} events caught{delay}",
        e.precision,
        e.recall,
        e.f1,
        e.false_alarm_rate,
        e.missed_alarm_rate,
        e.events_caught,
        e.events
    );
}

/// Writes every input column (an earlier run's scores left out) with this run's scores:
/// CSV with the input's separator, or Parquet.
fn write_scored(
    table: &Table,
    scored: &backtest::Scored,
    univariate: bool,
    out: &Path,
) -> anyhow::Result<()> {
    let bar = ProgressBar::new_spinner().with_message(format!("writing {}", out.display()));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    // A scored file scored again replaces its old scores rather than repeating them. Without an
    // `anomaly_score`, an `is_anomaly` column is a data set's label (Yahoo's S5 names it so):
    // kept, as `label_is_anomaly`.
    let header = table.header();
    let rescored = header
        .iter()
        .any(|h| h.eq_ignore_ascii_case("anomaly_score"));
    let is_score = |h: &str| {
        SCORES.contains(&h.to_lowercase().as_str())
            && (rescored || !h.eq_ignore_ascii_case("is_anomaly"))
    };
    let mut columns: Vec<Column> = table
        .frame
        .columns()
        .iter()
        .filter(|c| !is_score(c.name()))
        .map(|c| match c.name().as_str() {
            h if h.eq_ignore_ascii_case("is_anomaly") => {
                c.clone().with_name(format!("label_{h}").into())
            }
            _ => c.clone(),
        })
        .collect();
    // One series: the score is its alarm, raised once per event (what a planner and NAB
    // count); `is_anomaly` still marks every row the change is in progress.
    let scores: Vec<f64> = (0..table.len())
        .map(|i| scored.alarms.get(i).unwrap_or(&scored.score[i]))
        .map(|s| (s * 1e6).round() / 1e6)
        .collect();
    let anomalous: Vec<i32> = scored.anomalous.iter().map(|&a| i32::from(a)).collect();
    columns.push(Column::new("anomaly_score".into(), scores));
    columns.push(Column::new("is_anomaly".into(), anomalous));
    if univariate {
        let kinds: Vec<&str> = scored
            .kinds
            .iter()
            .map(|k| k.map_or("", |k| k.as_str()))
            .collect();
        columns.push(Column::new("change".into(), kinds));
    }
    let mut frame = DataFrame::new(table.len(), columns)?;
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    if is_parquet(out) {
        ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut frame)?;
    } else {
        let separator = match table.sep {
            Separator::Byte(b) => b,
            Separator::Whitespace => b' ',
        };
        CsvWriter::new(file)
            .with_separator(separator)
            .finish(&mut frame)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    bar.finish_and_clear();
    Ok(())
}
