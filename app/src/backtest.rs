//! `forewarn backtest`: the joint detector over a history file, every input row written back with
//! `anomaly_score` and `is_anomaly`, and a summary of the events on standard output.
//!
//! The separator (`,`, `;` or tab) is detected from the header. Columns named `anomaly`,
//! `changepoint` or `label` are labels: passed through, never inputs. The timestamp column is
//! `--timestamp-col`, or one named like a time (`datetime`, `timestamp`, `time`, `date`, `ts`).
//! Every other column is a sensor; cells that are not numbers carry the last value forward.

use std::path::{Path, PathBuf};

use anyhow::Context;
use forewarn_analytics::backtest::{self, ScoreConfig};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array2;

/// Settings of `forewarn backtest`.
#[derive(Debug, clap::Args)]
pub struct BacktestArgs {
    /// History as CSV (header row; `,`, `;` or tab separated).
    #[arg(long)]
    pub input: PathBuf,
    /// The timestamp column (default: one named like a time, if any).
    #[arg(long)]
    pub timestamp_col: Option<String>,
    /// Rows at the start that are healthy and train the model (default: a quarter of the file).
    #[arg(long)]
    pub baseline_rows: Option<usize>,
    /// Where to write the scored rows (CSV, same separator).
    #[arg(long)]
    pub out: PathBuf,
}

const LABELS: [&str; 3] = ["anomaly", "changepoint", "label"];
const TIME_NAMES: [&str; 5] = ["datetime", "timestamp", "time", "date", "ts"];

/// Runs a backtest.
pub fn run(args: &BacktestArgs) -> anyhow::Result<()> {
    let sep = detect_separator(&args.input)?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sep)
        .from_path(&args.input)
        .with_context(|| format!("opening {}", args.input.display()))?;
    let header: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
    let time_col = match &args.timestamp_col {
        Some(c) => Some(
            header
                .iter()
                .position(|h| h == c)
                .with_context(|| format!("no column {c:?} in {header:?}"))?,
        ),
        None => header
            .iter()
            .position(|h| TIME_NAMES.contains(&h.trim().to_lowercase().as_str())),
    };
    let inputs: Vec<usize> = (0..header.len())
        .filter(|&i| Some(i) != time_col)
        .filter(|&i| !LABELS.contains(&header[i].trim().to_lowercase().as_str()))
        .collect();
    anyhow::ensure!(!inputs.is_empty(), "no sensor columns in {header:?}");
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", args.input.display()))?;
    let mut values = Array2::from_shape_fn((records.len(), inputs.len()), |(r, c)| {
        records[r]
            .get(inputs[c])
            .and_then(|s| s.trim().parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    });
    for (c, &i) in inputs.iter().enumerate() {
        anyhow::ensure!(
            values.column(c).iter().any(|v| v.is_finite()),
            "column {:?} holds no numbers: name it with --timestamp-col if it is the time",
            header[i]
        );
    }
    backtest::fill_gaps(&mut values);
    let baseline = args.baseline_rows.unwrap_or(records.len() / 4);
    let scored = backtest::score_table(values.view(), baseline, &ScoreConfig::default())
        .with_context(|| format!("fitting the baseline (the first {baseline} rows)"))?;

    let mut writer = csv::WriterBuilder::new()
        .delimiter(sep)
        .from_path(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut out_header = header.clone();
    out_header.extend(["anomaly_score".into(), "is_anomaly".into()]);
    writer.write_record(&out_header)?;
    let bar = ProgressBar::new(records.len() as u64).with_style(ProgressStyle::with_template(
        "{msg} {wide_bar} {pos}/{len} rows",
    )?);
    bar.set_message("writing");
    for (i, rec) in records.iter().enumerate() {
        let mut row: Vec<String> = rec.iter().map(str::to_owned).collect();
        row.push(format!("{:.6}", scored.score[i]));
        row.push(u8::from(scored.anomalous[i]).to_string());
        writer.write_record(&row)?;
        if i % 4096 == 0 {
            bar.set_position(i as u64);
        }
    }
    writer.flush()?;
    bar.finish_and_clear();

    let events = backtest::events(&scored);
    let flagged = scored.anomalous.iter().filter(|&&a| a).count();
    println!(
        "{} rows, {} sensors, baseline {} rows; {} anomalous rows in {} events",
        records.len(),
        inputs.len(),
        baseline,
        flagged,
        events.len()
    );
    let at = |row: usize| match time_col {
        Some(t) => records[row].get(t).unwrap_or_default().to_owned(),
        None => format!("row {row}"),
    };
    for e in events.iter().take(20) {
        let sensors: Vec<&str> = e
            .top_columns
            .iter()
            .map(|&c| header[inputs[c]].as_str())
            .collect();
        println!(
            "  {} .. {} ({} rows) peak {:.3}, driven by {}",
            at(e.start),
            at(e.end),
            e.end - e.start + 1,
            e.peak,
            sensors.join(", ")
        );
    }
    if events.len() > 20 {
        println!("  … and {} more", events.len() - 20);
    }
    println!("wrote {}", args.out.display());
    Ok(())
}

/// The separator of the header line: the most frequent of `;`, `,` and tab.
fn detect_separator(path: &Path) -> anyhow::Result<u8> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut first = String::new();
    std::io::BufReader::new(file).read_line(&mut first)?;
    anyhow::ensure!(!first.trim().is_empty(), "{} is empty", path.display());
    let count = |c: char| first.matches(c).count();
    // On a tie (a one-column file) the last wins: a comma.
    Ok([b'\t', b';', b',']
        .into_iter()
        .max_by_key(|&c| count(c as char))
        .unwrap_or(b','))
}
