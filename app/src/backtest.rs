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

use std::path::PathBuf;

use anyhow::Context;
use forewarn_analytics::backtest::{self, ScoreConfig};
use forewarn_analytics::stream::StreamConfig;
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array2;

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
    let Table { header, rows, sep } = &table;
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
    let mut values = Array2::from_elem((rows.len(), inputs.len()), f64::NAN);
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
    let baseline = args.baseline_rows.unwrap_or(rows.len() / 4);
    let univariate = inputs.len() == 1;
    let scored = if univariate {
        backtest::score_series(
            &values.column(0).to_vec(),
            baseline,
            &StreamConfig::default(),
        )
    } else {
        backtest::score_table(values.view(), baseline, &ScoreConfig::default())
    }
    .with_context(|| format!("fitting the baseline (the first {baseline} rows)"))?;

    // A scored file scored again replaces its old scores rather than repeating them. Without an
    // `anomaly_score`, an `is_anomaly` column is a data set's label (Yahoo's S5 names it so):
    // kept, as `label_is_anomaly`.
    let rescored = header
        .iter()
        .any(|h| h.eq_ignore_ascii_case("anomaly_score"));
    let is_score = |h: &str| {
        SCORES.contains(&h.to_lowercase().as_str())
            && (rescored || !h.eq_ignore_ascii_case("is_anomaly"))
    };
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| !is_score(&header[i]))
        .collect();
    let mut out_header: Vec<String> = keep
        .iter()
        .map(|&i| match header[i].as_str() {
            h if h.eq_ignore_ascii_case("is_anomaly") => format!("label_{h}"),
            h => h.to_owned(),
        })
        .collect();
    out_header.extend(["anomaly_score".into(), "is_anomaly".into()]);
    if univariate {
        out_header.push("change".into());
    }
    let bar = ProgressBar::new(rows.len() as u64).with_style(ProgressStyle::with_template(
        "{msg} {wide_bar} {pos}/{len} rows",
    )?);
    bar.set_message("writing");
    let out_rows = rows.iter().enumerate().map(|(i, rec)| {
        if i % 4096 == 0 {
            bar.set_position(i as u64);
        }
        let mut row: Vec<String> = keep.iter().map(|&c| rec[c].clone()).collect();
        // One series: the score is its alarm, raised once per event (what a planner and NAB
        // count); `is_anomaly` still marks every row the change is in progress.
        let score = scored.alarms.get(i).unwrap_or(&scored.score[i]);
        row.push(format!("{score:.6}"));
        row.push(u8::from(scored.anomalous[i]).to_string());
        if univariate {
            row.push(scored.kinds[i].map_or("", |k| k.as_str()).to_owned());
        }
        row
    });
    if is_parquet(&args.out) {
        let all: Vec<Vec<String>> = out_rows.collect();
        forewarn_store::table_file::write_table(&args.out, &out_header, &all)?;
    } else {
        let delimiter = match sep {
            Separator::Byte(b) => *b,
            Separator::Whitespace => b' ',
        };
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .from_path(&args.out)
            .with_context(|| format!("creating {}", args.out.display()))?;
        writer.write_record(&out_header)?;
        for row in out_rows {
            writer.write_record(&row)?;
        }
        writer.flush()?;
    }
    bar.finish_and_clear();

    let events = backtest::events(&scored);
    let flagged = scored.anomalous.iter().filter(|&&a| a).count();
    println!(
        "{} rows, {} sensors ({}), baseline {} rows; {} anomalous rows in {} events",
        rows.len(),
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
    let at = |row: usize| match time_col {
        Some(t) => rows[row][t].clone(),
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
    println!("wrote {}", args.out.display());
    Ok(())
}
