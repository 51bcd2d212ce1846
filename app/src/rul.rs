//! `forewarn rul train` and `forewarn rul predict`: remaining useful life from files.
//!
//! Training reads run-to-failure histories (every unit's last row is its failure), reports the
//! cross-validated error grouped by unit, and writes the model as JSON together with how its
//! input was named, so `predict` reads files of the same layout without repeating the flags.

use std::path::{Path, PathBuf};

use anyhow::Context;
use forewarn_analytics::rul::{self, RulModel, TrainConfig, UnitHistory};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::table::{Table, expand_columns};

/// `forewarn rul ...`.
#[derive(Debug, clap::Subcommand)]
pub enum RulCommand {
    /// Learn from run-to-failure histories; prints the cross-validated error.
    Train(TrainArgs),
    /// Print each unit's predicted remaining life after its last row, with an 80 % interval.
    Predict(PredictArgs),
}

/// Settings of `forewarn rul train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Histories: CSV with a header, or plain rows named by --columns.
    #[arg(long)]
    pub input: PathBuf,
    /// The column naming the unit (machine, engine, asset).
    #[arg(long)]
    pub unit_col: String,
    /// The column of the unit's age or time (cycles, hours); remaining life is in its units.
    #[arg(long)]
    pub time_col: String,
    /// Cap on the remaining life learnt (early in life, 300 and 200 left look alike).
    #[arg(long)]
    pub cap: Option<f64>,
    /// Column names of a file without a header, comma separated; `s1..s21` is a range.
    #[arg(long)]
    pub columns: Option<String>,
    /// Operating-setting columns (comma separated, ranges allowed): rows are grouped into the
    /// regimes they define and every sensor is read relative to its regime.
    #[arg(long)]
    pub settings: Option<String>,
    /// Cross-validation folds, grouped by unit.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Where to write the model (JSON).
    #[arg(long)]
    pub model: PathBuf,
}

/// Settings of `forewarn rul predict`.
#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// The model written by `rul train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Histories of the units to predict, laid out as the training file was.
    #[arg(long)]
    pub input: PathBuf,
    /// Column names of a file without a header (default: those given in training).
    #[arg(long)]
    pub columns: Option<String>,
}

/// The model file: the model and the layout of the files it reads.
#[derive(Debug, Serialize, Deserialize)]
struct ModelFile {
    unit_col: String,
    time_col: String,
    columns: Option<Vec<String>>,
    #[serde(default)]
    settings: Vec<String>,
    model: RulModel,
}

/// Columns that are never sensors, whatever the file.
const LABELS: [&str; 5] = ["rul", "anomaly", "changepoint", "label", "failure"];

/// Runs `rul train`.
pub fn train(args: &TrainArgs) -> anyhow::Result<()> {
    let columns = args.columns.as_deref().map(expand_columns).transpose()?;
    let table = Table::read(&args.input, columns.clone())?;
    let (u, t) = (table.column(&args.unit_col)?, table.column(&args.time_col)?);
    let settings = args
        .settings
        .as_deref()
        .map(expand_columns)
        .transpose()?
        .unwrap_or_default();
    for s in &settings {
        table.column(s)?;
    }
    let mut sensors = Vec::new();
    let mut dropped = Vec::new();
    for (i, name) in table.header().iter().enumerate() {
        if i == u
            || i == t
            || LABELS.contains(&name.to_lowercase().as_str())
            || settings.contains(name)
        {
            continue;
        }
        let col = table.numbers(i);
        let mut finite = col.iter().filter(|v| v.is_finite());
        match finite.next() {
            // A constant column cannot tell units apart, nor a column without numbers.
            Some(first) if finite.any(|v| v != first) => sensors.push(name.clone()),
            _ => dropped.push(name.clone()),
        }
    }
    anyhow::ensure!(
        !sensors.is_empty(),
        "no column varies: nothing to learn from"
    );
    let units = units(&table, u, t, &sensors, &settings)?;
    let cfg = TrainConfig {
        cap: args.cap,
        folds: args.folds,
        ..TrainConfig::default()
    };
    let rows: usize = units.iter().map(|u| u.ages.len()).sum();
    println!(
        "{} units, {rows} rows, {} sensors{}",
        units.len(),
        sensors.len(),
        if dropped.is_empty() {
            String::new()
        } else {
            format!(" (constant, left out: {})", dropped.join(", "))
        }
    );
    let bar = ProgressBar::new(((cfg.folds.max(2) + 1) * cfg.boost.rounds) as u64).with_style(
        ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} trees, {eta} left")?,
    );
    bar.set_message(format!(
        "{}-fold cross-validation, then the final fit",
        cfg.folds
    ));
    let model = rul::train(&units, sensors, &cfg, || bar.inc(1))?;
    bar.finish_and_clear();
    report(&model, args.cap, &settings);
    let file = ModelFile {
        unit_col: args.unit_col.clone(),
        time_col: args.time_col.clone(),
        columns,
        settings,
        model,
    };
    std::fs::write(&args.model, serde_json::to_vec(&file)?)
        .with_context(|| format!("writing {}", args.model.display()))?;
    println!("model written to {}", args.model.display());
    Ok(())
}

/// What training measured, on standard output.
fn report(model: &rul::RulModel, cap: Option<f64>, settings: &[String]) {
    println!(
        "{}-fold cross-validation grouped by unit, every row of {} held-out units: RMSE {:.2}, MAE {:.2}{}",
        model.cv.folds,
        model.cv.units,
        model.cv.rmse,
        model.cv.mae,
        cap.map_or(String::new(), |c| format!(
            " (remaining life capped at {c})"
        ))
    );
    println!(
        "the same units cut at a random cycle, predicted at the cut (the benchmark's protocol): RMSE {:.2} ± {:.2} over {} seeds",
        model.cv.cut_rmse, model.cv.cut_rmse_sd, model.cv.cut_seeds
    );
    if let Some(r) = &model.regimes {
        println!("{} operating regimes from {}", r.len(), settings.join(", "));
    }
}

/// Runs `rul predict`.
pub fn predict(args: &PredictArgs) -> anyhow::Result<()> {
    let file = read_model(&args.model)?;
    let columns = match &args.columns {
        Some(spec) => Some(expand_columns(spec)?),
        None => file.columns.clone(),
    };
    let table = Table::read(&args.input, columns)?;
    let (u, t) = (table.column(&file.unit_col)?, table.column(&file.time_col)?);
    let units = units(&table, u, t, &file.model.sensors, &file.settings)?;
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>10}",
        file.unit_col,
        format!("last {}", file.time_col),
        "rul",
        "low",
        "high"
    );
    let predictions = file.model.predict_all(&units)?;
    for (unit, p) in units.iter().zip(predictions) {
        if let Some(p) = p {
            let last = unit.ages.last().copied().unwrap_or_default();
            println!(
                "{:<12} {last:>10} {:>10.1} {:>10.1} {:>10.1}",
                unit.id, p.rul, p.low, p.high
            );
        }
    }
    Ok(())
}

fn read_model(path: &Path) -> anyhow::Result<ModelFile> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let file: ModelFile = serde_json::from_slice(&text).with_context(|| {
        format!(
            "{} is not a model written by `forewarn rul train`",
            path.display()
        )
    })?;
    file.model.validate()?;
    Ok(file)
}

/// Groups rows by unit (in order of first appearance) and sorts each by time; cells that are not
/// numbers carry the unit's previous value forward.
fn units(
    table: &Table,
    u: usize,
    t: usize,
    sensors: &[String],
    settings: &[String],
) -> anyhow::Result<Vec<UnitHistory>> {
    let numbers = |names: &[String]| -> anyhow::Result<Vec<Vec<f64>>> {
        names
            .iter()
            .map(|s| Ok(table.numbers(table.column(s)?)))
            .collect()
    };
    let (values, setting_values) = (numbers(sensors)?, numbers(settings)?);
    let mut order: Vec<String> = Vec::new();
    let mut by_unit: std::collections::HashMap<String, Vec<usize>> = Default::default();
    let header = table.header();
    for (i, id) in table.text(u).into_iter().enumerate() {
        anyhow::ensure!(!id.is_empty(), "row {}: no {}", i + 1, header[u]);
        by_unit
            .entry(id.clone())
            .or_insert_with(|| {
                order.push(id);
                Vec::new()
            })
            .push(i);
    }
    let time = table.numbers(t);
    order
        .into_iter()
        .map(|id| {
            let mut rows = by_unit.remove(&id).unwrap_or_default();
            if let Some(&bad) = rows.iter().find(|&&r| !time[r].is_finite()) {
                anyhow::bail!(
                    "row {}: {:?} is not a {}",
                    bad + 1,
                    table.text(t)[bad],
                    header[t]
                );
            }
            rows.sort_by(|&a, &b| time[a].total_cmp(&time[b]));
            let carried = |cols: &[Vec<f64>]| -> Vec<Vec<f64>> {
                cols.iter().map(|col| carry_forward(col, &rows)).collect()
            };
            Ok(UnitHistory {
                id,
                ages: rows.iter().map(|&r| time[r]).collect(),
                columns: carried(&values),
                settings: carried(&setting_values),
            })
        })
        .collect()
}

/// `col` at `rows`, a cell that is not a number taking the previous value (the first number for
/// leading gaps).
fn carry_forward(col: &[f64], rows: &[usize]) -> Vec<f64> {
    let mut last = rows
        .iter()
        .map(|&r| col[r])
        .find(|v| v.is_finite())
        .unwrap_or(0.0);
    rows.iter()
        .map(|&r| {
            if col[r].is_finite() {
                last = col[r];
            }
            last
        })
        .collect()
}
