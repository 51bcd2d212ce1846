//! Deterministic crash points for the process-level crash tests.
//!
//! With `FOREWARN_CRASH_POINT=<name>` in its environment, the process aborts (no destructors, no
//! flushing of anything, like a power cut for everything not yet fsynced) the first time it reaches
//! the named step. The tests place a crash at every step of a flush this way; in production the
//! variable is unset and a check costs one load of an initialised `OnceLock`.

use std::sync::OnceLock;

/// Every crash point, in the order a flush reaches them.
pub const FLUSH_POINTS: [&str; 5] = [
    "flush-rotated",
    "flush-raw-written",
    "flush-rollups-written",
    "flush-committed",
    "flush-trimmed",
];

static ARMED: OnceLock<Option<String>> = OnceLock::new();

/// Aborts the process when `name` is the armed crash point.
pub(crate) fn hit(name: &str) {
    let armed = ARMED.get_or_init(|| std::env::var("FOREWARN_CRASH_POINT").ok());
    if armed.as_deref() == Some(name) {
        eprintln!("FOREWARN_CRASH_POINT={name}: aborting");
        std::process::abort();
    }
}
