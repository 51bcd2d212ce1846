//! Findings waiting for the tickets database: a bounded queue kept on disk as JSON lines
//! (`pending-findings.jsonl` in the data directory), each appended and fsynced before the stage
//! takes the next, so an outage of the database — or a crash during one — loses none.
//!
//! Only used while the database is down: the normal path settles a finding directly. Entries are
//! settled oldest first and the file is emptied once all are; a crash part-way settles some twice
//! at the next start, which is harmless — a ticket already open takes the alert as a repeat, and
//! findings are stored once by asset, device time and kind.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use forewarn_domain::{Alert, Classifier, Decision, Finding};
use serde::{Deserialize, Serialize};

/// The file's name in the data directory.
pub const FILE: &str = "pending-findings.jsonl";

/// One line of the file.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Line {
    Alert { alert: Box<Alert>, by: String },
    Unmatched { finding: Box<Finding> },
}

impl Line {
    fn of(d: &Decision) -> Self {
        match d {
            Decision::Alert(a, by) => Line::Alert {
                alert: a.clone(),
                by: by.as_str().to_owned(),
            },
            Decision::Unmatched(f) => Line::Unmatched { finding: f.clone() },
        }
    }

    fn decision(self) -> Option<Decision> {
        match self {
            Line::Alert { alert, by } => Some(Decision::Alert(alert, Classifier::parse(&by)?)),
            Line::Unmatched { finding } => Some(Decision::Unmatched(finding)),
        }
    }
}

/// The findings in `file`, and how many lines could not be read (torn by a crash).
fn read(path: &Path, file: File) -> std::io::Result<(VecDeque<Decision>, usize)> {
    let mut queue = VecDeque::new();
    let mut skipped = 0;
    for line in BufReader::new(file).lines() {
        match serde_json::from_str::<Line>(&line?)
            .ok()
            .and_then(Line::decision)
        {
            Some(d) => queue.push_back(d),
            None => {
                skipped += 1;
                tracing::warn!(file = %path.display(), "a pending finding could not be read (torn by a crash?); skipped");
            }
        }
    }
    Ok((queue, skipped))
}

/// Replaces the file by `queue`'s findings, atomically.
fn rewrite(path: &Path, queue: &VecDeque<Decision>) -> std::io::Result<()> {
    let tmp = path.with_extension("jsonl.tmp");
    let mut f = File::create(&tmp)?;
    for d in queue {
        let mut line = serde_json::to_vec(&Line::of(d))?;
        line.push(b'\n');
        f.write_all(&line)?;
    }
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The queue: in memory, mirrored to its file.
pub struct Pending {
    path: PathBuf,
    file: File,
    queue: VecDeque<Decision>,
    capacity: usize,
}

impl Pending {
    /// Opens (or creates) the queue in `dir`, holding at most `capacity` findings; what a
    /// previous run left is loaded, a line torn by a crash while it was written is dropped.
    pub fn open(dir: &Path, capacity: usize) -> std::io::Result<Self> {
        let path = dir.join(FILE);
        let (queue, skipped) = match File::open(&path) {
            Ok(f) => read(&path, f)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (VecDeque::new(), 0),
            Err(e) => return Err(e),
        };
        if skipped > 0 {
            // Rewritten without the bad lines, so the next append starts on a line of its own.
            rewrite(&path, &queue)?;
        }
        if !queue.is_empty() {
            tracing::info!(
                findings = queue.len(),
                "findings left waiting for the tickets database by the last run"
            );
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Self {
            path,
            file,
            queue,
            capacity: capacity.max(1),
        })
    }

    /// Appends `d`, durably, at the back.
    pub fn push(&mut self, d: Decision) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&Line::of(&d))?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()?;
        self.queue.push_back(d);
        Ok(())
    }

    /// The oldest waiting finding.
    pub fn front(&self) -> Option<&Decision> {
        self.queue.front()
    }

    /// The oldest is settled; once none waits, the file is emptied.
    pub fn pop(&mut self) -> std::io::Result<()> {
        self.queue.pop_front();
        if self.queue.is_empty() {
            self.file.set_len(0)?;
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// How many wait.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Whether it holds its capacity: the stage stops taking findings (back-pressure reaches
    /// ingest, which stops acknowledging; the broker keeps the messages).
    pub fn is_full(&self) -> bool {
        self.queue.len() >= self.capacity
    }

    /// Where it is kept.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use forewarn_domain::Severity;

    use super::*;
    use crate::db::tests::alert;

    #[test]
    fn waiting_findings_survive_a_restart_in_order_and_a_torn_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let a = alert("p-1", "bearing_wear", Severity::High);
        let b = alert("p-2", "seal_leak", Severity::Low);
        {
            let mut q = Pending::open(dir.path(), 10).unwrap();
            q.push(Decision::Alert(Box::new(a.clone()), Classifier::Learnt))
                .unwrap();
            q.push(Decision::Unmatched(Box::new(b.finding.clone())))
                .unwrap();
        }
        // A crash while the third was written.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join(FILE))
            .unwrap();
        f.write_all(b"{\"kind\":\"alert\",\"al").unwrap();
        let mut q = Pending::open(dir.path(), 10).unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(
            q.front(),
            Some(&Decision::Alert(Box::new(a), Classifier::Learnt))
        );
        q.pop().unwrap();
        assert_eq!(q.front(), Some(&Decision::Unmatched(Box::new(b.finding))));
        // What is pushed after the torn line is read back whole.
        let c = alert("p-3", "bearing_wear", Severity::Low).finding;
        q.push(Decision::Unmatched(Box::new(c.clone()))).unwrap();
        drop(q);
        // Settled entries stay in the file until all are: a crash settles them again.
        let mut q = Pending::open(dir.path(), 10).unwrap();
        assert_eq!(q.len(), 3);
        q.pop().unwrap();
        q.pop().unwrap();
        assert_eq!(q.front(), Some(&Decision::Unmatched(Box::new(c))));
        q.pop().unwrap();
        assert!(q.is_empty());
        assert_eq!(std::fs::metadata(q.path()).unwrap().len(), 0);
        assert!(Pending::open(dir.path(), 10).unwrap().is_empty());
    }

    #[test]
    fn it_is_full_at_its_capacity() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Pending::open(dir.path(), 2).unwrap();
        for i in 0..2 {
            assert!(!q.is_full());
            let f = alert(&format!("p-{i}"), "bearing_wear", Severity::Low).finding;
            q.push(Decision::Unmatched(Box::new(f))).unwrap();
        }
        assert!(q.is_full());
    }
}
