//! The tickets database.

use std::path::Path;
use std::time::Duration;

use chrono::{SecondsFormat, TimeZone, Utc};
use forewarn_domain::{Alert, Asset, Criticality, FailureModeId, Finding};

use crate::outbox::emit;
use crate::parts::allocate::allocate;
use crate::priority::{Priority, Urgency};
use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::{AnyPoolOptions, AnyRow};

use crate::{Ticket, TicketPart, TicketStatus};

/// Errors of the maintenance database.
#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    /// The database refused or failed a statement.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The operating system's random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// A setting cannot work (an unreadable CA file, a client that cannot be built).
    #[error("{0}")]
    Config(String),
    /// A stored value could not be read back (a bug or a hand-edited database).
    #[error("ticket {id} has an invalid {field}")]
    Invalid {
        /// The ticket.
        id: i64,
        /// The field.
        field: &'static str,
    },
}

/// What [`Maintenance::open_ticket`] did with an alert.
#[derive(Debug, Clone, PartialEq)]
pub enum Opened {
    /// A new ticket.
    New(Box<Ticket>),
    /// The alert was attached to the ticket already open for its asset and failure mode.
    Existing(i64),
    /// A ticket for its asset and failure mode was finished less than the cooldown before the
    /// alert (device time): the alert was counted on it and nothing opened.
    CoolingDown(i64),
    /// The alert's deviation began before the repair of a finished ticket for its asset and
    /// failure mode took effect: it is the repaired fault, counted on that ticket.
    BeforeRepair(i64),
}

/// Which tickets [`Maintenance::find_tickets`] returns.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter<'a> {
    /// Only this asset's.
    pub asset: Option<&'a str>,
    /// Only those still needing work.
    pub open_only: bool,
    /// Only those in this status.
    pub status: Option<TicketStatus>,
    /// Only those for this failure mode.
    pub failure_mode: Option<&'a str>,
    /// Only those of this priority.
    pub priority: Option<crate::Priority>,
    /// Only those older than this ticket (the next page after it).
    pub before: Option<i64>,
    /// Only those assigned to this technician.
    pub assignee: Option<&'a str>,
    /// At most this many.
    pub limit: u32,
}

/// What a ticket needs to know of its asset beyond the alert.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssetContext {
    /// How much its failure costs: weighs the priority.
    pub criticality: Criticality,
    /// Its site: parts and technicians nearest it are preferred.
    pub site: Option<String>,
}

impl From<&Asset> for AssetContext {
    fn from(asset: &Asset) -> Self {
        Self {
            criticality: asset.criticality,
            site: Some(asset.site.as_str().to_owned()),
        }
    }
}

impl From<Criticality> for AssetContext {
    fn from(criticality: Criticality) -> Self {
        Self {
            criticality,
            site: None,
        }
    }
}

/// The environment variable naming a tickets database other than the data directory's SQLite.
pub const DATABASE_URL_VAR: &str = "FOREWARN_DATABASE_URL";

/// Which SQL database holds the tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file in the data directory (the default).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend a URL names.
    pub fn of(url: &str) -> Result<Self, MaintenanceError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(MaintenanceError::Db(sqlx::Error::Configuration(
                format!("{url:?} is neither sqlite:// nor postgres://").into(),
            )))
        }
    }
}

/// The URL of an SQLite file (`mode`: `rwc` creates it, `ro` reads only).
fn sqlite_url(path: &Path, mode: &str) -> String {
    format!("sqlite://{}?mode={mode}", path.display())
}

/// A pool of `max` connections; SQLite connections get the settings the tickets need: the WAL
/// journal, full fsync, a 10 s busy wait and foreign keys.
async fn pool(
    backend: Backend,
    url: &str,
    max: u32,
    read_only: bool,
) -> Result<AnyPool, MaintenanceError> {
    // A database that is down is noticed in seconds (the pipeline then queues its findings),
    // not after sqlx's default 30 s per attempt.
    let mut options = AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10));
    if backend == Backend::Sqlite {
        options = options.after_connect(move |conn, _| {
            Box::pin(async move {
                let mut pragmas = vec!["PRAGMA busy_timeout = 10000", "PRAGMA foreign_keys = ON"];
                if !read_only {
                    pragmas.extend(["PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL"]);
                }
                for p in pragmas {
                    sqlx::query(p).execute(&mut *conn).await?;
                }
                Ok(())
            })
        });
    }
    Ok(options.connect(url).await?)
}

/// `url` with PostgreSQL's prepared-statement cache turned off. sqlx's Any driver sends a NULL
/// bound as `Option<f64>` as a 4-byte float (its `Double` and `Real` nulls are swapped); a cached
/// statement keeps the parameter types of its first execution, so a statement first run with a
/// NULL estimate refused every later one with a number (22P03, "incorrect binary data format").
/// Unnamed statements take the types of each execution.
fn without_statement_cache(url: &str) -> String {
    if url.contains("statement-cache-capacity=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}statement-cache-capacity=0")
}

/// Default of [`Maintenance::with_cooldown`].
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(24 * 3600);

/// Tickets, parts and their history in SQL.
#[derive(Debug, Clone)]
pub struct Maintenance {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    cooldown: Duration,
    pub(crate) sla: std::sync::Arc<crate::SlaPolicy>,
}

impl Maintenance {
    /// Opens (creating and migrating) `forewarn.db` in the data directory.
    pub async fn open(dir: &Path) -> Result<Self, MaintenanceError> {
        Self::connect(&sqlite_url(&dir.join("forewarn.db"), "rwc")).await
    }

    /// Connects to the database at `url` — `postgres://…` or `sqlite://…` — and migrates it.
    pub async fn connect(url: &str) -> Result<Self, MaintenanceError> {
        sqlx::any::install_default_drivers();
        // sqlx's TLS asks rustls for the process's provider, which cannot choose between the two
        // linked (ring here, aws-lc-rs through reqwest): ring, once; a later call is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let backend = Backend::of(url)?;
        let url = match backend {
            Backend::Postgres => without_statement_cache(url),
            Backend::Sqlite => url.to_owned(),
        };
        let pool = pool(backend, &url, 4, false).await?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
        }
        Ok(Self {
            pool,
            backend,
            cooldown: DEFAULT_COOLDOWN,
            sla: Default::default(),
        })
    }

    /// The tickets database the environment names: `FOREWARN_DATABASE_URL` (a `postgres://`
    /// URL carries credentials, so it comes from the environment, never a config file), or
    /// else `forewarn.db` in the data directory.
    pub async fn from_env(dir: &Path) -> Result<Self, MaintenanceError> {
        match std::env::var(DATABASE_URL_VAR) {
            Ok(url) if !url.trim().is_empty() => Self::connect(url.trim()).await,
            _ => Self::open(dir).await,
        }
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A transaction for work that reads before it writes: on SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`), so what it read is what it updates; PostgreSQL's row locks and
    /// the statements' own guards do that there.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => {
                // One writer at a time, as SQLite's IMMEDIATE gives: a cancellation releasing
                // reservations in one warehouse order and a transfer taking two rows in another
                // deadlocked (40P01) under concurrent moves. The lock ends with the transaction.
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(4242)")
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }

    /// For how long after a ticket is finished (device time) new alerts for its asset and
    /// failure mode are counted on it instead of opening another (zero: off).
    pub fn with_cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The service levels tickets are held to.
    pub fn with_sla(mut self, policy: crate::SlaPolicy) -> Self {
        self.sla = std::sync::Arc::new(policy);
        self
    }

    /// Opens an existing database for reading only (`forewarn stats` while the service runs).
    /// Returns `None` when the data directory has no database yet.
    pub async fn open_read_only(dir: &Path) -> Result<Option<Self>, MaintenanceError> {
        let path = dir.join("forewarn.db");
        if !path.exists() {
            return Ok(None);
        }
        sqlx::any::install_default_drivers();
        let pool = pool(Backend::Sqlite, &sqlite_url(&path, "ro"), 1, true).await?;
        Ok(Some(Self {
            pool,
            backend: Backend::Sqlite,
            cooldown: DEFAULT_COOLDOWN,
            sla: Default::default(),
        }))
    }

    /// Opens a ticket for the alert on `asset` (its criticality weighs the priority, its site
    /// says where parts come from), reserving the parts its failure mode needs, or — when one is already open
    /// for the same asset and failure mode — attaches the alert to it (raising its severity and
    /// priority if the alert is worse: escalation when the estimate worsens).
    pub async fn open_ticket(
        &self,
        alert: &Alert,
        asset: &AssetContext,
    ) -> Result<Opened, MaintenanceError> {
        let criticality = asset.criticality;
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        let estimate = alert
            .finding
            .health
            .as_ref()
            .and_then(|h| h.time_to_failure_h);
        let urgency = Urgency {
            severity: alert.severity,
            hours_to_failure: estimate.map(|t| t.low),
            criticality,
        };
        let evidence = serde_json::to_string(&alert.finding).unwrap_or_else(|_| "{}".into());
        let title = format!("{} predicted on {}", alert.failure_mode, alert.asset);
        // Attach first: the common case is an alert for a ticket that is already open, and trying
        // the insert first would burn an id on every conflict (SQLite AUTOINCREMENT leaves gaps).
        // The write lock first: allocation and dispatch below read stock and loads before they
        // write, which on PostgreSQL's READ COMMITTED would race the API's moves.
        let mut tx = self.begin_write().await?;
        if let Some(id) = attach(&mut tx, alert, &urgency, &now).await? {
            tx.commit().await?;
            return Ok(Opened::Existing(id));
        }
        if let Some(absorbed) =
            crate::episode::absorbed(&mut tx, alert, self.cooldown, &now).await?
        {
            tx.commit().await?;
            return Ok(absorbed);
        }
        let inserted = sqlx::query(
            "INSERT INTO tickets (asset_id, failure_mode, status, severity, title, created_at, updated_at, detected_at_ms, last_alert_ms, evidence, priority, red_alert, site, skills, sla_priority, began_ms, kind, ttf_hours, ttf_low, ttf_high, ttf_at_ms)
             VALUES ($1, $2, 'new', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
             ON CONFLICT DO NOTHING
             RETURNING id",
        )
        .bind(alert.asset.as_str())
        .bind(alert.failure_mode.as_str())
        .bind(alert.severity.as_str())
        .bind(&title)
        .bind(&now)
        .bind(&now)
        .bind(alert.raised_at_ms)
        .bind(alert.raised_at_ms)
        .bind(&evidence)
        .bind(urgency.priority().as_str())
        .bind(i64::from(urgency.red_alert()))
        .bind(asset.site.as_deref())
        .bind(serde_json::to_string(&alert.skills).unwrap_or_else(|_| "[]".into()))
        .bind(urgency.priority().as_str())
        .bind(alert.began_ms.min(alert.raised_at_ms))
        .bind(if alert.corrective {
            crate::TicketKind::Corrective
        } else {
            crate::TicketKind::Predictive
        }.as_str())
        .bind(estimate.map(|t| t.hours))
        .bind(estimate.map(|t| t.low))
        .bind(estimate.and_then(|t| t.high))
        .bind(estimate.map(|_| alert.raised_at_ms))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = inserted else {
            // Another writer (another instance) opened it between our two statements.
            let id =
                attach(&mut tx, alert, &urgency, &now)
                    .await?
                    .ok_or(MaintenanceError::Invalid {
                        id: 0,
                        field: "open ticket",
                    })?;
            tx.commit().await?;
            return Ok(Opened::Existing(id));
        };
        let id: i64 = row.get(0);
        sqlx::query(
            "INSERT INTO ticket_events (ticket_id, at, actor, from_status, to_status, note)
             VALUES ($1, $2, 'forewarn', NULL, 'new', 'opened from a finding')",
        )
        .bind(id)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        let opened = serde_json::json!({
            "asset_id": alert.asset.as_str(),
            "failure_mode": alert.failure_mode.as_str(),
            "severity": alert.severity.as_str(),
            "priority": urgency.priority().as_str(),
            "red_alert": urgency.red_alert(),
        });
        emit(&mut tx, &now, "ticket.opened", Some(id), &opened).await?;
        for part in &alert.parts {
            sqlx::query("INSERT INTO ticket_parts (ticket_id, part_number, description, quantity) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(&part.part_number)
                .bind(&part.description)
                .bind(part.quantity as i64)
                .execute(&mut *tx)
                .await?;
            allocate(
                &mut tx,
                &now,
                "forewarn",
                id,
                asset.site.as_deref(),
                &part.part_number,
                &part.description,
                i64::from(part.quantity),
            )
            .await?;
        }
        crate::dispatch::assign::on_open(&mut tx, &self.sla, id, urgency.red_alert(), &now).await?;
        tx.commit().await?;
        let ticket = self
            .ticket(id)
            .await?
            .ok_or(MaintenanceError::Invalid { id, field: "id" })?;
        Ok(Opened::New(Box::new(ticket)))
    }

    /// One ticket with its parts.
    pub async fn ticket(&self, id: i64) -> Result<Option<Ticket>, MaintenanceError> {
        let Some(row) = sqlx::query(concat!(select_tickets!(), " WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let mut t = from_row(&row)?;
        t.sla = self
            .sla_of(&[id], Utc::now().timestamp_millis())
            .await?
            .pop()
            .map(|(_, s)| s);
        t.parts = self
            .parts_of(&[id])
            .await?
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        Ok(Some(t))
    }

    /// Tickets, newest first, optionally only those of one asset or only open ones.
    pub async fn tickets(
        &self,
        asset: Option<&str>,
        open_only: bool,
        limit: u32,
    ) -> Result<Vec<Ticket>, MaintenanceError> {
        self.find_tickets(&TicketFilter {
            asset,
            open_only,
            limit,
            ..TicketFilter::default()
        })
        .await
    }

    /// A page of tickets matching `f`, newest first.
    pub async fn find_tickets(
        &self,
        f: &TicketFilter<'_>,
    ) -> Result<Vec<Ticket>, MaintenanceError> {
        let rows = sqlx::query(concat!(
            select_tickets!(),
            " WHERE ($1 IS NULL OR asset_id = $1)
               AND ($2 = 0 OR status NOT IN ('resolved', 'closed', 'cancelled'))
               AND ($3 IS NULL OR status = $3)
               AND ($4 IS NULL OR failure_mode = $4)
               AND ($5 IS NULL OR priority = $5)
               AND ($6 IS NULL OR id < $6)
               AND ($8 IS NULL OR assignee = $8)
             ORDER BY id DESC LIMIT $7"
        ))
        .bind(f.asset)
        .bind(i64::from(f.open_only))
        .bind(f.status.map(TicketStatus::as_str))
        .bind(f.failure_mode)
        .bind(f.priority.map(crate::Priority::as_str))
        .bind(f.before)
        .bind(f.limit as i64)
        .bind(f.assignee)
        .fetch_all(&self.pool)
        .await?;
        let mut tickets = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
        let parts = self.parts_of(&ids).await?;
        let sla = self.sla_of(&ids, Utc::now().timestamp_millis()).await?;
        for t in &mut tickets {
            t.sla = sla.iter().find(|(id, _)| *id == t.id).map(|(_, s)| *s);
            t.parts = parts
                .iter()
                .filter(|(id, _)| *id == t.id)
                .map(|(_, p)| p.clone())
                .collect();
        }
        Ok(tickets)
    }

    /// One trivial query: whether the database answers.
    pub async fn ping(&self) -> Result<(), MaintenanceError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// How many tickets exist.
    pub async fn count(&self) -> Result<u64, MaintenanceError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    async fn parts_of(&self, ids: &[i64]) -> Result<Vec<(i64, TicketPart)>, MaintenanceError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = rows_for_ids(
            &self.pool,
            "SELECT ticket_id, part_number, description, quantity FROM ticket_parts WHERE ticket_id IN",
            "ORDER BY ticket_id, part_number",
            ids,
        )
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let part = TicketPart {
                    part_number: r.get(1),
                    description: r.get(2),
                    quantity: r.get::<i64, _>(3) as u32,
                };
                (r.get(0), part)
            })
            .collect())
    }

    /// The findings of resolved and closed tickets with the mode the repair found (the
    /// resolution's: the predicted one when confirmed, another when not; none when no fault was
    /// found): the labelled history the mode classifier learns from. Evidence that no longer
    /// parses is skipped (an older format), never an error.
    pub async fn resolved_examples(
        &self,
    ) -> Result<Vec<(Finding, FailureModeId)>, MaintenanceError> {
        let rows = sqlx::query(
            "SELECT failure_mode, evidence, resolution FROM tickets
             WHERE status IN ('resolved', 'closed')",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let predicted: String = r.get(0);
                let evidence: String = r.get(1);
                let resolution: Option<String> = r.get(2);
                // Resolved before resolutions were recorded: the prediction stood.
                let resolution: crate::Resolution = match resolution {
                    Some(j) => serde_json::from_str(&j).ok()?,
                    None => crate::Resolution::Confirmed,
                };
                let mode = resolution.actual_mode(&predicted)?.parse().ok()?;
                Some((serde_json::from_str(&evidence).ok()?, mode))
            })
            .collect())
    }

    /// Closes the pool, flushing SQLite's WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Attaches an alert to the open ticket of its asset and failure mode, raising the severity when
/// the alert is worse; returns the ticket id, or `None` when no ticket is open.
async fn attach(
    tx: &mut sqlx::AnyConnection,
    alert: &Alert,
    urgency: &Urgency,
    now: &str,
) -> Result<Option<i64>, MaintenanceError> {
    let estimate = alert
        .finding
        .health
        .as_ref()
        .and_then(|h| h.time_to_failure_h);
    Ok(sqlx::query_scalar(
        "UPDATE tickets SET alert_count = alert_count + 1, last_alert_ms = CASE WHEN last_alert_ms > $1 THEN last_alert_ms ELSE $1 END, updated_at = $2,
            severity = CASE WHEN $3 > (CASE severity WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 ELSE 3 END)
                            THEN $4 ELSE severity END,
            priority = CASE WHEN priority < $5 THEN priority ELSE $5 END,
            sla_priority = CASE WHEN coalesce(sla_priority, priority) < $6 THEN coalesce(sla_priority, priority) ELSE $6 END,
            red_alert = CASE WHEN red_alert > $7 THEN red_alert ELSE $7 END,
            ttf_hours = CASE WHEN $10 = 1 AND coalesce(ttf_at_ms, 0) <= $1 THEN $11 ELSE ttf_hours END,
            ttf_low = CASE WHEN $10 = 1 AND coalesce(ttf_at_ms, 0) <= $1 THEN $12 ELSE ttf_low END,
            ttf_high = CASE WHEN $10 = 1 AND coalesce(ttf_at_ms, 0) <= $1 THEN $13 ELSE ttf_high END,
            ttf_at_ms = CASE WHEN $10 = 1 AND coalesce(ttf_at_ms, 0) <= $1 THEN $1 ELSE ttf_at_ms END
         WHERE asset_id = $8 AND failure_mode = $9 AND status NOT IN ('resolved', 'closed', 'cancelled')
         RETURNING id",
    )
    .bind(alert.raised_at_ms)
    .bind(now)
    .bind(alert.severity as i64)
    .bind(alert.severity.as_str())
    .bind(urgency.priority().as_str())
    .bind(urgency.priority().as_str())
    .bind(i64::from(urgency.red_alert()))
    .bind(alert.asset.as_str())
    .bind(alert.failure_mode.as_str())
    .bind(i64::from(estimate.is_some()))
    .bind(estimate.map(|t| t.hours))
    .bind(estimate.map(|t| t.low))
    .bind(estimate.and_then(|t| t.high))
    .fetch_optional(&mut *tx)
    .await?)
}

/// The rows of `head` (a statement ending in `IN`) for `ids`, then `tail` (its ORDER BY): the
/// ids bound one by one, in chunks far below any SQL dialect's limit on parameters. Rows keep the
/// tail's order within a chunk, and chunks follow `ids`.
pub(crate) async fn rows_for_ids(
    pool: &AnyPool,
    head: &'static str,
    tail: &'static str,
    ids: &[i64],
) -> Result<Vec<AnyRow>, MaintenanceError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        // Built from constants and numbered placeholders only.
        let sql = format!("{head} ({}) {tail}", list.join(", "));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        out.extend(q.fetch_all(pool).await?);
    }
    Ok(out)
}

/// The ticket columns, as a macro so statements stay `&'static str` (sqlx refuses runtime SQL).
macro_rules! select_tickets {
    () => {
        "SELECT id, asset_id, failure_mode, status, severity, title, created_at, updated_at, detected_at_ms, alert_count, evidence, resolution, rating, priority, red_alert, site, skills, assignee, dispatch,
         kind, began_ms, finished_ms, repaired_at_ms, found_mode, ttf_hours, ttf_low, ttf_high, ttf_at_ms,
         (SELECT count(*) FROM requisitions r WHERE r.ticket_id = tickets.id AND r.status = 'open') AS open_requisitions
         FROM tickets"
    };
}
use select_tickets;

/// The ticket's current remaining-life estimate, when a finding gave one.
fn estimate(row: &AnyRow) -> Option<crate::ticket::Estimate> {
    let hours: Option<f64> = row.get("ttf_hours");
    let at_ms: Option<i64> = row.get("ttf_at_ms");
    Some(crate::ticket::Estimate {
        hours: hours?,
        low: row.get::<Option<f64>, _>("ttf_low").unwrap_or(0.0),
        high: row.get("ttf_high"),
        at_ms: at_ms?,
    })
}

fn from_row(row: &AnyRow) -> Result<Ticket, MaintenanceError> {
    let id: i64 = row.get("id");
    let status: String = row.get("status");
    let detected_at_ms: i64 = row.get("detected_at_ms");
    let evidence: String = row.get("evidence");
    let resolution: Option<String> = row.get("resolution");
    let rating: Option<String> = row.get("rating");
    let priority: String = row.get("priority");
    Ok(Ticket {
        priority: Priority::parse(&priority).ok_or(MaintenanceError::Invalid {
            id,
            field: "priority",
        })?,
        red_alert: row.get::<i64, _>("red_alert") != 0,
        site: row.get("site"),
        skills: serde_json::from_str(&row.get::<String, _>("skills")).unwrap_or_default(),
        assignee: row.get("assignee"),
        dispatch: row
            .get::<Option<String>, _>("dispatch")
            .and_then(|d| serde_json::from_str(&d).ok()),
        sla: None,
        open_requisitions: row.get("open_requisitions"),
        id,
        asset_id: row.get("asset_id"),
        failure_mode: row.get("failure_mode"),
        status: TicketStatus::parse(&status).ok_or(MaintenanceError::Invalid {
            id,
            field: "status",
        })?,
        severity: row.get("severity"),
        title: row.get("title"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        detected_at: Utc
            .timestamp_millis_opt(detected_at_ms)
            .single()
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
            .ok_or(MaintenanceError::Invalid {
                id,
                field: "detected_at_ms",
            })?,
        detected_at_ms,
        alert_count: row.get("alert_count"),
        kind: match row.get::<&str, _>("kind") {
            "corrective" => crate::TicketKind::Corrective,
            _ => crate::TicketKind::Predictive,
        },
        began_ms: row.get("began_ms"),
        finished_ms: row.get("finished_ms"),
        repaired_at_ms: row.get("repaired_at_ms"),
        found_mode: row.get("found_mode"),
        estimate: estimate(row),
        links: crate::TicketLinks::new(
            &row.get::<String, _>("asset_id"),
            detected_at_ms,
            &serde_json::from_str(&evidence).unwrap_or_default(),
        ),
        evidence: serde_json::from_str(&evidence).map_err(|_| MaintenanceError::Invalid {
            id,
            field: "evidence",
        })?,
        parts: Vec::new(),
        resolution: resolution
            .map(|r| serde_json::from_str(&r))
            .transpose()
            .map_err(|_| MaintenanceError::Invalid {
                id,
                field: "resolution",
            })?,
        rating: rating
            .map(|r| serde_json::from_str(&r))
            .transpose()
            .map_err(|_| MaintenanceError::Invalid {
                id,
                field: "rating",
            })?,
    })
}

#[cfg(test)]
#[path = "db_tests.rs"]
pub(crate) mod tests;
