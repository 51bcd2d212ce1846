//! `forewarn rul train` / `rul predict` as a user runs them on C-MAPSS-like files: plain
//! whitespace-separated rows without a header, named by `--columns`.

use std::path::Path;
use std::process::{Command, Output};

use forewarn_tests::forewarn_bin;

fn noise(t: f64, k: f64) -> f64 {
    ((t * 12.9898 + k * 78.233).sin() * 43_758.545).fract()
}

/// Engines `ids`, engine `i` failing after `life(i)` cycles (or cut at `cut(i)` cycles): a
/// constant setting, a temperature that rises as wear grows, a pressure that falls, a noise-only
/// sensor, written as `unit cycle op s1 s2 s3`.
fn write_engines(path: &Path, ids: std::ops::Range<u32>, cut: impl Fn(u32) -> u32) {
    let mut out = String::new();
    for id in ids {
        let life = life(id);
        let k = f64::from(id);
        for c in 1..=cut(id).min(life) {
            let t = f64::from(c);
            let wear = ((t - f64::from(life)) / 35.0).exp();
            out.push_str(&format!(
                "{id} {c} 100.0 {:.2} {:.3} {:.2}  \n",
                640.0 + 4.0 * wear + 0.5 * noise(t, k),
                21.6 - 1.2 * wear + 0.2 * noise(t, k + 0.3),
                30.0 + noise(t, k + 0.6)
            ));
        }
    }
    std::fs::write(path, out).unwrap();
}

fn life(id: u32) -> u32 {
    130 + (id * 53) % 120
}

fn forewarn(args: &[&str]) -> Output {
    Command::new(forewarn_bin()).args(args).output().unwrap()
}

/// `forewarn rul train` on `input` with the unit and time columns every test file has.
fn rul_train(input: &str, model: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "rul",
        "train",
        "--input",
        input,
        "--unit-col",
        "unit",
        "--time-col",
        "cycle",
        "--model",
        model,
    ];
    args.extend(extra);
    forewarn(&args)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn trains_on_run_to_failure_files_and_predicts_running_engines() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_owned();
    write_engines(Path::new(&p("train.txt")), 1..31, |_| u32::MAX);
    let train = rul_train(
        &p("train.txt"),
        &p("m.json"),
        &["--columns", "unit,cycle,op,s1..s3", "--cap", "100"],
    );
    let out = text(&train);
    assert!(train.status.success(), "{out}");
    assert!(out.contains("30 units"), "{out}");
    assert!(out.contains("3 sensors (constant, left out: op)"), "{out}");
    let rmse: f64 = out
        .split("RMSE ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    // The mean label everywhere would be about 30 off.
    assert!(rmse < 15.0, "{out}");

    // Ten engines the model never saw, cut at 10 to 145 cycles before failure.
    let left = |id: u32| 10 + (id * 29) % 136;
    write_engines(Path::new(&p("running.txt")), 100..110, |id| {
        life(id) - left(id)
    });
    let predict = forewarn(&[
        "rul",
        "predict",
        "--model",
        &p("m.json"),
        "--input",
        &p("running.txt"),
    ]);
    let out = text(&predict);
    assert!(predict.status.success(), "{out}");
    let mut errors = Vec::new();
    for line in out.lines().skip(1) {
        let f: Vec<f64> = line
            .split_whitespace()
            .map(|c| c.parse().unwrap())
            .collect();
        let (id, last, rul, low, high) = (f[0] as u32, f[1], f[2], f[3], f[4]);
        assert_eq!(last, f64::from(life(id) - left(id)), "{line}");
        assert!(low <= rul && rul <= high && high <= 100.0, "{line}");
        errors.push((rul - f64::from(left(id)).min(100.0)).abs());
    }
    assert_eq!(errors.len(), 10, "{out}");
    errors.sort_by(f64::total_cmp);
    assert!(errors[5] < 15.0, "median error {errors:?}\n{out}");
}

#[test]
fn bad_files_and_flags_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_owned();
    write_engines(Path::new(&p("few.txt")), 1..4, |_| u32::MAX);
    let train = |input: &str, extra: &[&str]| {
        let o = rul_train(input, "/nonexistent/m.json", extra);
        assert!(!o.status.success());
        text(&o)
    };
    assert!(train(&p("few.txt"), &[]).contains("no header row: name its columns with --columns"));
    let cols = ["--columns", "unit,cycle,op,s1..s3"];
    assert!(train(&p("few.txt"), &cols).contains("3 units: at least 5 run-to-failure units"));
    assert!(train(&p("few.txt"), &["--columns", "unit,cycle,s3..s1"]).contains("a range is like"));
    assert!(train(&p("few.txt"), &["--columns", "a1..a6"]).contains("no column \"unit\""));
    assert!(train(&p("few.txt"), &["--columns", "unit,cycle"]).contains("2 columns"));

    std::fs::write(p("junk.json"), "{\"not\": 1}").unwrap();
    let o = forewarn(&[
        "rul",
        "predict",
        "--model",
        &p("junk.json"),
        "--input",
        &p("few.txt"),
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("is not a model written by `forewarn rul train`"),
        "{}",
        text(&o)
    );
}

#[test]
fn settings_define_regimes_and_travel_with_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_owned();
    write_engines(Path::new(&p("train.txt")), 1..11, |_| u32::MAX);
    let train = rul_train(
        &p("train.txt"),
        &p("m.json"),
        &["--columns", "unit,cycle,op,s1..s3", "--settings", "op"],
    );
    let out = text(&train);
    assert!(train.status.success(), "{out}");
    assert!(
        out.contains("3 sensors") && out.contains("1 operating regimes from op"),
        "{out}"
    );
    write_engines(Path::new(&p("running.txt")), 100..102, |id| life(id) - 20);
    // The model remembers which columns are settings: predict needs no flag for them.
    let predict = forewarn(&[
        "rul",
        "predict",
        "--model",
        &p("m.json"),
        "--input",
        &p("running.txt"),
    ]);
    assert!(predict.status.success(), "{}", text(&predict));
    assert_eq!(text(&predict).lines().count(), 3, "{}", text(&predict));
    let bad = rul_train(
        &p("train.txt"),
        &p("x.json"),
        &[
            "--columns",
            "unit,cycle,op,s1..s3",
            "--settings",
            "altitude",
        ],
    );
    assert!(
        text(&bad).contains("no column \"altitude\""),
        "{}",
        text(&bad)
    );
}
