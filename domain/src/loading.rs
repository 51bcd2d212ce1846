//! The start-up's replay of stored history, as readiness and the API report it: HTTP answers
//! from the first second, and while the detectors are rebuilt from the store `/readyz` and the
//! reads that need them say how far along it is instead of hanging.

use std::sync::Mutex;

use serde::Serialize;

/// How far the replay is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LoadingState {
    /// Assets whose history is replayed.
    pub done: u64,
    /// Assets to replay.
    pub of: u64,
}

/// Shared between the start-up, which sets it, and the API, which reports it. Starts as loading
/// nothing (ready) until the start-up says otherwise.
#[derive(Debug, Default)]
pub struct Loading(Mutex<Option<LoadingState>>);

impl Loading {
    /// `done` of `of` assets replayed so far.
    pub fn progress(&self, done: u64, of: u64) {
        if let Ok(mut s) = self.0.lock() {
            *s = Some(LoadingState { done, of });
        }
    }

    /// The replay is over: the detectors answer.
    pub fn finished(&self) {
        if let Ok(mut s) = self.0.lock() {
            *s = None;
        }
    }

    /// Where the replay is, while it runs.
    pub fn get(&self) -> Option<LoadingState> {
        self.0.lock().ok().and_then(|s| *s)
    }

    /// What to tell a caller who must wait, in words.
    pub fn describe(&self) -> Option<String> {
        self.get().map(|s| {
            format!(
                "catching up: replaying stored history into the detectors ({} of {} assets)",
                s.done, s.of
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_reported_until_finished() {
        let l = Loading::default();
        assert_eq!(l.get(), None);
        l.progress(3, 10);
        assert_eq!(l.get(), Some(LoadingState { done: 3, of: 10 }));
        assert!(l.describe().unwrap().contains("3 of 10 assets"));
        l.finished();
        assert_eq!(l.describe(), None);
    }
}
