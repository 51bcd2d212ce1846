//! The dead-letter log stays bounded under a flood, cuts oversized fields, repairs a torn tail
//! from the tail alone and keeps its count across restarts.

use forewarn_domain::{RejectReason, Rejection};

use super::*;

fn rejection(topic: &str, detail: &str) -> Rejection {
    Rejection {
        topic: topic.into(),
        reason: RejectReason::MalformedJson,
        detail: detail.into(),
        received_at_ms: 1_780_000_000_000,
        payload_excerpt: "x".repeat(500),
    }
}

#[test]
fn a_flood_rotates_and_keeps_only_the_newest_files() {
    let dir = tempfile::tempdir().unwrap();
    let limits = DeadLetterLimits {
        max_file_bytes: 4096,
        keep_files: 2,
    };
    let log = DeadLetters::open_with(dir.path(), true, limits).unwrap();
    for i in 0..200 {
        log.append(&[&rejection(&format!("forewarn/s/a-{i}/telemetry"), "bad")])
            .unwrap();
    }
    assert_eq!(log.count(), 200, "every rejection counted, rotated or not");
    assert!(dir.path().join("deadletter.1.jsonl").exists());
    assert!(dir.path().join("deadletter.2.jsonl").exists());
    assert!(
        !dir.path().join("deadletter.3.jsonl").exists(),
        "older ones deleted"
    );
    let total: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(total <= 3 * (4096 + 2048), "bounded: {total} bytes");
    // The newest rejection is in the active file.
    let active = std::fs::read_to_string(log.path()).unwrap();
    assert!(active.is_empty() || active.contains("a-199"), "{active}");
    drop(log);
    let reopened = DeadLetters::open_with(dir.path(), false, limits).unwrap();
    assert_eq!(
        reopened.count(),
        200,
        "from the count file, without reading the log"
    );
}

#[test]
fn oversized_fields_are_cut() {
    let dir = tempfile::tempdir().unwrap();
    let log = DeadLetters::open(dir.path(), true).unwrap();
    let topic = format!("forewarn/{}", "t".repeat(60_000));
    log.append(&[&rejection(&topic, &"d".repeat(130_000))])
        .unwrap();
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert!(text.len() < 4 * 1024, "a line of {} bytes", text.len());
    let back: Rejection = serde_json::from_str(text.trim_end()).unwrap();
    assert!(back.topic.ends_with('…'));
}

#[test]
fn a_torn_tail_is_cut_and_an_old_log_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let line = serde_json::to_string(&rejection("forewarn/s/a/telemetry", "bad")).unwrap();
    let path = dir.path().join("deadletter.jsonl");
    std::fs::write(&path, format!("{line}\n{line}\n{}", &line[..20])).unwrap();
    let log = DeadLetters::open(dir.path(), true).unwrap();
    assert_eq!(
        log.count(),
        2,
        "a log without a count file: its whole lines"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with('\n'));
    assert_eq!(text.lines().count(), 2);
    log.append(&[&rejection("forewarn/s/b/telemetry", "bad")])
        .unwrap();
    drop(log);
    assert_eq!(DeadLetters::open(dir.path(), true).unwrap().count(), 3);
}
