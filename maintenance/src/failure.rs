//! What a database error means for the service: an outage to wait out (the server restarting or
//! failing over, the network, a busy or full disk), a damaged database it cannot run on, or a
//! statement refused for what it said (retrying changes nothing).

use std::time::Duration;

use crate::MaintenanceError;

/// How a database error is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The database cannot be reached or cannot take the write now: retry later.
    Unavailable,
    /// The database file is damaged: nothing to retry, the service must stop and say so.
    Corrupt,
    /// This statement was refused (a constraint, a bad value): retrying it changes nothing.
    Refused,
}

impl MaintenanceError {
    /// What this error means for whoever retries (see [`Failure`]).
    pub fn failure(&self) -> Failure {
        match self {
            MaintenanceError::Db(e) => sql_failure(e),
            _ => Failure::Refused,
        }
    }
}

/// SQLSTATE classes of PostgreSQL that an outage produces: connection exceptions (08),
/// transaction rollbacks — serialization failures and deadlocks (40) —, insufficient resources
/// such as a full disk (53), operator intervention such as an admin or crash shutdown (57), system
/// errors (58); and `25006`, a write reaching a read-only standby during a failover.
const PG_TRANSIENT: [&str; 5] = ["08", "40", "53", "57", "58"];

/// SQLite's primary result codes of an outage: BUSY, LOCKED, IOERR, FULL, CANTOPEN, PROTOCOL.
const SQLITE_TRANSIENT: [u32; 6] = [5, 6, 10, 13, 14, 15];

/// SQLite's primary codes of damage: CORRUPT, NOTADB.
const SQLITE_CORRUPT: [u32; 2] = [11, 26];

fn sql_failure(e: &sqlx::Error) -> Failure {
    match e {
        // A TLS error is a certificate or setting to fix, not an outage to wait out.
        sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Failure::Unavailable,
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => code_failure(&code),
            None => Failure::Refused,
        },
        _ => Failure::Refused,
    }
}

/// A SQLSTATE is five characters; SQLite's (extended) result codes are numbers below 10,000 —
/// the two never look alike.
fn code_failure(code: &str) -> Failure {
    if code.len() == 5 {
        let transient = code == "25006" || PG_TRANSIENT.iter().any(|c| code.starts_with(c));
        if transient {
            return Failure::Unavailable;
        }
        // XX001 data corrupted, XX002 index corrupted.
        if code == "XX001" || code == "XX002" {
            return Failure::Corrupt;
        }
        return Failure::Refused;
    }
    match code.parse::<u32>().map(|c| c & 0xff) {
        Ok(c) if SQLITE_TRANSIENT.contains(&c) => Failure::Unavailable,
        Ok(c) if SQLITE_CORRUPT.contains(&c) => Failure::Corrupt,
        _ => Failure::Refused,
    }
}

/// Waits between retries of an unavailable database: 1 s doubling to a minute, so a restart is
/// noticed within seconds and a long outage is not hammered.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: Self::FIRST }
    }
}

impl Backoff {
    const FIRST: Duration = Duration::from_secs(1);
    const MAX: Duration = Duration::from_secs(60);

    /// The wait before the next try; each call doubles the following one up to a minute.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        wait
    }

    /// The database answered: the next outage starts from a second again.
    pub fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

/// Runs `op` until it succeeds or fails for a reason other than an outage, waiting with a
/// [`Backoff`] between tries and reporting the outage in `metrics` while it lasts. For work
/// that may wait (a fitted model's record) but must not be lost.
pub async fn retry_unavailable<T, F, Fut>(
    metrics: &forewarn_domain::Metrics,
    mut op: F,
) -> Result<T, MaintenanceError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, MaintenanceError>>,
{
    let mut backoff = Backoff::default();
    loop {
        match op().await {
            Err(e) if e.failure() == Failure::Unavailable => {
                let now = chrono::Utc::now().timestamp_millis();
                metrics.degrade(
                    forewarn_domain::Dependency::TicketsDatabase,
                    &e.to_string(),
                    now,
                );
                tokio::time::sleep(backoff.next_wait()).await;
            }
            other => {
                if other.is_ok() {
                    metrics.recover(forewarn_domain::Dependency::TicketsDatabase);
                }
                return other;
            }
        }
    }
}

/// How long [`watch`] waits for the database's answer.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Asks the database every `every` whether it answers, so an outage shows in `metrics` (and is
/// counted) even when nothing needed it meanwhile; ends at `stop`.
pub async fn watch(
    db: crate::Maintenance,
    metrics: std::sync::Arc<forewarn_domain::Metrics>,
    every: Duration,
    stop: impl Future<Output = ()>,
) -> Result<(), MaintenanceError> {
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut stop => return Ok(()),
            _ = tick.tick() => {
                // Shorter than the pool's wait for a connection, which bridges short outages.
                let answer = tokio::time::timeout(PING_TIMEOUT, db.ping()).await;
                let why = match answer {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e.to_string()),
                    Err(_) => Some(format!("no answer within {} s", PING_TIMEOUT.as_secs())),
                };
                match why {
                    None => metrics.recover(forewarn_domain::Dependency::TicketsDatabase),
                    Some(why) => metrics.degrade(
                        forewarn_domain::Dependency::TicketsDatabase,
                        &why,
                        chrono::Utc::now().timestamp_millis(),
                    ),
                }
            }
        }
    }
}

/// For a background loop (the SLA sweeper, webhook deliveries) whose round failed: an outage or
/// a refused statement is logged and the next round tries again; only a damaged database ends
/// the loop.
pub fn survive(what: &str, e: MaintenanceError) -> Result<(), MaintenanceError> {
    match e.failure() {
        Failure::Unavailable => {
            tracing::warn!(error = %e, "{what}: the tickets database is unavailable; trying again next round");
            Ok(())
        }
        Failure::Refused => {
            tracing::error!(error = %e, "{what}: a statement failed; trying again next round");
            Ok(())
        }
        Failure::Corrupt => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_per_engine() {
        // PostgreSQL: admin shutdown, connection failure, serialization, disk full, standby.
        for code in ["57P01", "08006", "40001", "53100", "25006"] {
            assert_eq!(code_failure(code), Failure::Unavailable, "{code}");
        }
        assert_eq!(code_failure("XX001"), Failure::Corrupt);
        // Unique violation, check violation: the statement's own fault.
        for code in ["23505", "23514"] {
            assert_eq!(code_failure(code), Failure::Refused, "{code}");
        }
        // SQLite: BUSY, BUSY_SNAPSHOT (517), IOERR_WRITE (778), FULL.
        for code in ["5", "517", "778", "13"] {
            assert_eq!(code_failure(code), Failure::Unavailable, "{code}");
        }
        assert_eq!(code_failure("11"), Failure::Corrupt);
        assert_eq!(code_failure("26"), Failure::Corrupt);
        // SQLITE_CONSTRAINT_UNIQUE.
        assert_eq!(code_failure("2067"), Failure::Refused);
    }

    #[test]
    fn connection_errors_are_outages() {
        let io = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(MaintenanceError::Db(io).failure(), Failure::Unavailable);
        assert_eq!(
            MaintenanceError::Db(sqlx::Error::PoolTimedOut).failure(),
            Failure::Unavailable
        );
        assert_eq!(
            MaintenanceError::Db(sqlx::Error::RowNotFound).failure(),
            Failure::Refused
        );
    }

    #[test]
    fn backoff_doubles_to_a_minute_and_resets() {
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..8).map(|_| b.next_wait().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        b.reset();
        assert_eq!(b.next_wait().as_secs(), 1);
    }
}
