//! `forewarn backtest` as a user runs it: a generated history file in, scored rows and a summary out.

use std::path::Path;
use std::process::Command;

use forewarn_tests::forewarn_bin;

/// A pump-like history: 3 correlated sensors, 1 Hz, with a fault from row 1200 to 1500 where the
/// flow drops while the pressure does not follow. Labels in `anomaly`.
fn write_history(path: &Path, sep: char) {
    let mut out = format!("datetime{sep}pressure{sep}flow{sep}current{sep}anomaly\n");
    for i in 0..2000u32 {
        let t = f64::from(i);
        // Deterministic noise in [-0.5, 0.5).
        let noise = |k: f64| ((t * 12.9898 + k * 78.233).sin() * 43_758.545).rem_euclid(1.0) - 0.5;
        let load = (t / 90.0).sin();
        let fault = (1200..1500).contains(&i);
        let pressure = 2.0 + 0.5 * load + 0.05 * noise(1.0);
        let flow = 30.0 + 8.0 * load + 0.4 * noise(2.0) - if fault { 3.0 } else { 0.0 };
        let current = 1.3 + 0.2 * load + 0.02 * noise(3.0);
        // A gap, as real exports have.
        let flow = if i == 50 {
            String::new()
        } else {
            format!("{flow:.3}")
        };
        out.push_str(&format!(
            "2024-01-01 00:{:02}:{:02}{sep}{pressure:.4}{sep}{flow}{sep}{current:.4}{sep}{}\n",
            i / 60,
            i % 60,
            u8::from(fault)
        ));
    }
    std::fs::write(path, out).unwrap();
}

/// Runs `forewarn backtest` on `input` into `out` with `flags`; asserts it succeeded and returns
/// its standard output.
fn backtest(input: &Path, out: &Path, flags: &[&str]) -> String {
    let run = Command::new(forewarn_bin())
        .arg("backtest")
        .args(flags)
        .arg("--input")
        .arg(input)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
}

#[test]
fn scores_every_row_passes_labels_through_and_finds_the_fault() {
    let dir = tempfile::tempdir().unwrap();
    for sep in [';', ','] {
        let input = dir.path().join("history.csv");
        let scored = dir.path().join("scored.csv");
        write_history(&input, sep);
        let stdout = backtest(&input, &scored, &["--baseline-rows", "800"]);
        assert!(
            stdout.contains("2000 rows, 3 sensors"),
            "labels are not inputs: {stdout}"
        );
        assert!(stdout.contains("driven by flow"), "{stdout}");
        // The file's own labels score the run.
        assert!(
            stdout.contains("against its labels (anomaly)")
                && stdout.contains("1 of 1 events caught"),
            "{stdout}"
        );

        let text = std::fs::read_to_string(&scored).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(sep).collect();
        assert_eq!(
            header,
            [
                "datetime",
                "pressure",
                "flow",
                "current",
                "anomaly",
                "anomaly_score",
                "is_anomaly"
            ]
        );
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(sep).collect()).collect();
        assert_eq!(rows.len(), 2000);
        let (mut hit, mut false_alarms) = (0, Vec::new());
        for (i, r) in rows.iter().enumerate().skip(800) {
            let score: f64 = r[5].parse().unwrap();
            assert!((0.0..1.0).contains(&score), "{score}");
            match (r[4] == "1", r[6] == "1") {
                (true, true) => hit += 1,
                (false, true) => false_alarms.push(i),
                _ => {}
            }
        }
        assert!(hit > 250, "{hit} of 300 fault rows flagged");
        // Healthy rows are quiet, and the alarm clears within a minute of the fault ending.
        assert!(
            false_alarms.iter().all(|i| (1500..1560).contains(i)),
            "{false_alarms:?}"
        );
    }
}

#[test]
fn parquet_in_and_out_gives_the_same_scores() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    write_history(&p("history.csv"), ',');
    let summary = |input: &Path, out: &Path| {
        // The last line names the output file; the summary before it must agree.
        backtest(input, out, &["--baseline-rows", "800"])
            .lines()
            .filter(|l| !l.starts_with("wrote"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let from_csv = summary(&p("history.csv"), &p("scored.parquet"));
    // A scored Parquet file scored again: its old scores are neither inputs nor repeated.
    let from_parquet = summary(&p("scored.parquet"), &p("rescored.csv"));
    assert_eq!(from_csv, from_parquet);
    let text = std::fs::read_to_string(p("rescored.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "datetime,pressure,flow,current,anomaly,anomaly_score,is_anomaly"
    );
    assert_eq!(lines.count(), 2000);
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, body: &str, extra: &[&str]| {
        let input = dir.path().join(name);
        std::fs::write(&input, body).unwrap();
        let out = Command::new(forewarn_bin())
            .arg("backtest")
            .arg("--input")
            .arg(&input)
            .arg("--out")
            .arg(dir.path().join("out.csv"))
            .args(extra)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(run("empty.csv", "", &[]).contains("is empty"));
    let text = "when,v\nmon,1\ntue,2\n";
    assert!(run("names.csv", text, &[]).contains("\"when\" holds no numbers"));
    assert!(run("col.csv", text, &["--timestamp-col", "nope"]).contains("no column \"nope\""));
    let short = "t,v\n1,1\n2,2\n";
    assert!(run("short.csv", short, &["--timestamp-col", "t"]).contains("at least 10 rows"));
}

/// One value column, NAB-style (`timestamp,value`): a noisy daily cycle on a slow trend with a
/// spike at row 2500 and a level shift at row 3200. Scored by the streaming change detector.
#[test]
fn one_value_column_gets_the_streaming_detector() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("machine_temperature.csv");
    let scored = dir.path().join("scored.csv");
    let mut text = String::from("timestamp,value\n");
    for i in 0..4000u32 {
        let t = f64::from(i);
        let noise = ((t * 12.9898).sin() * 43_758.545).rem_euclid(1.0) - 0.5;
        let mut v = 70.0 + 0.002 * t + 5.0 * (t * std::f64::consts::TAU / 288.0).sin() + noise;
        if i == 2500 {
            v += 12.0;
        }
        if i >= 3200 {
            v -= 6.0;
        }
        text.push_str(&format!(
            "2024-01-{:02} {:02}:{:02}:00,{v:.3}\n",
            1 + i / 288,
            (i % 288) / 12,
            (i % 12) * 5
        ));
    }
    std::fs::write(&input, text).unwrap();
    let stdout = backtest(&input, &scored, &[]);
    assert!(
        stdout.contains("1 sensors (streaming change detector)"),
        "{stdout}"
    );

    let out = std::fs::read_to_string(&scored).unwrap();
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        "timestamp,value,anomaly_score,is_anomaly,change"
    );
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), 4000);
    let flagged: Vec<usize> = (0..4000).filter(|&i| rows[i][3] == "1").collect();
    assert_eq!(rows[2500][4], "spike", "{:?}", &rows[2498..2503]);
    assert!(flagged.contains(&2500));
    let shift = flagged.iter().find(|&&i| i >= 3200).copied();
    assert!(shift.is_some_and(|i| i < 3210), "{flagged:?}");
    // Its first value looks like a spike; the next, still as far away, shows the level moved.
    assert_eq!(rows[shift.unwrap() + 1][4], "shift");
    assert!(
        stdout.contains("spike value") && stdout.contains("shift value"),
        "{stdout}"
    );
    // Everything flagged belongs to one of the two changes.
    assert!(
        flagged
            .iter()
            .all(|i| (2500..2530).contains(i) || (3200..3240).contains(i)),
        "{flagged:?}"
    );
    for r in &rows {
        let score: f64 = r[2].parse().unwrap();
        assert!((0.0..1.0).contains(&score));
    }

    // Yahoo S5's layout: its label is named `is_anomaly`, like our output; it is kept, renamed.
    let yahoo = dir.path().join("real_1.csv");
    let mut text = String::from("timestamp,value,is_anomaly\n");
    for (i, r) in rows.iter().enumerate() {
        text.push_str(&format!(
            "{i},{},{}\n",
            r[1],
            u8::from((2500..2505).contains(&i))
        ));
    }
    std::fs::write(&yahoo, text).unwrap();
    let yahoo_out = dir.path().join("real_1_scored.csv");
    backtest(&yahoo, &yahoo_out, &[]);
    let text = std::fs::read_to_string(&yahoo_out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "timestamp,value,label_is_anomaly,anomaly_score,is_anomaly,change"
    );
    assert!(lines.nth(2500).unwrap().starts_with("2500,"));

    // The same values without a header, named with --columns (written back space separated).
    let bare = dir.path().join("bare.txt");
    let values: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    std::fs::write(&bare, values.join("\n")).unwrap();
    backtest(
        &bare,
        &dir.path().join("bare_scored.csv"),
        &["--columns", "value"],
    );
    let again = std::fs::read_to_string(dir.path().join("bare_scored.csv")).unwrap();
    let again_flagged: Vec<usize> = again
        .lines()
        .skip(1)
        .enumerate()
        .filter(|(_, l)| l.split_whitespace().nth(2) == Some("1"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(again_flagged, flagged, "the time column is not an input");
}
