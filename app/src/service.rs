//! Wiring: the pipeline stages, their channels, the HTTP server, and shutdown.
//!
//! ```text
//! ingest --Batch--> store --Batch--> fan-out --seq--> ingest acker
//!                                       \--Batch--> analytics --Finding--> alerting --Alert--> maintenance
//! ```
//! Every channel is bounded. Stages wait out what a retry can fix (a full disk, a database or
//! InfluxDB outage) and report it as a degradation; a stage that fails for good — a damaged store
//! or database — cancels the others. Shutdown closes the front doors (MQTT, HTTP) and each later
//! stage ends once its input is drained.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use forewarn_analytics::Detector;
use forewarn_domain::{AssetId, Batch, Catalog, Metrics};
use forewarn_ingest::{AssetRegistry, IngestConfig};
use forewarn_maintenance::{Maintenance, Ticket};
use forewarn_store::{Embedded, InfluxStore, Mirrored, OpenMode, Shipper, Store, Telemetry};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Engine};

/// What a running service exposes to its caller (the demo's progress display, tests).
#[derive(Clone)]
pub struct Handle {
    /// The telemetry backend.
    pub store: Arc<dyn Telemetry>,
    /// The tickets database.
    pub db: Maintenance,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// New tickets, as they open.
    pub opened: broadcast::Sender<Ticket>,
    /// Where HTTP listens.
    pub http_addr: SocketAddr,
    /// Whether it serves HTTPS.
    pub https: bool,
}

/// Everything the service needs to start.
pub struct ServiceSpec {
    /// The configuration.
    pub config: Config,
    /// Data directory.
    pub data_dir: PathBuf,
    /// HTTP listen address (overrides the config).
    pub http: SocketAddr,
}

/// Runs the service until `shutdown` fires or a stage fails. HTTP serves from before the replay
/// of stored history (`/readyz` says how far it is); `ready` receives the handle once the whole
/// pipeline runs.
pub async fn run(
    spec: ServiceSpec,
    shutdown: CancellationToken,
    ready: Option<tokio::sync::oneshot::Sender<Handle>>,
) -> anyhow::Result<()> {
    let catalog = Arc::new(spec.config.catalog()?);
    let metrics = Arc::new(Metrics::new());
    crate::serve::raise_descriptor_limit(spec.config.http.max_connections);
    let (store, shipper, db) = open_state(&spec, &catalog, &metrics).await?;
    let (registry, asset_types) = register_declared(&spec, &catalog, &store).await?;
    metrics.assets.set(registry.len() as i64);
    let (opened, _) = broadcast::channel(256);
    // Repairs recorded by resolutions (the API) reach the detectors between batches.
    let repairs = forewarn_domain::RepairFeed::default();
    let (finding_tx, finding_rx) = mpsc::channel(1024);
    let (health_tx, health_rx) = mpsc::channel(64);
    let (listener, http_addr, https) = bind(&spec).await?;
    let app = forewarn_api::router(forewarn_api::AppState {
        store: store.clone(),
        db: db.clone(),
        metrics: metrics.clone(),
        catalog: catalog.clone(),
        health: health_tx,
        opened: opened.clone(),
        changed: broadcast::channel(256).0,
        repairs: repairs.clone(),
        access: access(&spec.config),
    });

    let mut tasks: Tasks = JoinSet::new();
    spawn_decisions(
        &mut tasks,
        &spec.data_dir,
        &catalog,
        &db,
        &store,
        &metrics,
        &opened,
        finding_rx,
    )
    .await?;
    // HTTP answers from here on; what needs the detectors says it is catching up until the
    // replay below is done.
    metrics.loading.progress(0, store.assets().len() as u64);
    spawn_http(&mut tasks, &spec.config, &metrics, listener, app, &shutdown)?;
    let detector = start_detector(
        &spec,
        &catalog,
        &db,
        &store,
        &asset_types,
        &metrics,
        &finding_tx,
    )
    .await?;
    let live = Live {
        detector,
        asset_types,
        registry,
        repairs,
        findings: finding_tx,
        health: health_rx,
    };
    spawn_pipeline(&mut tasks, &spec, &store, &db, &metrics, live, &shutdown)?;
    metrics.loading.finished();
    spawn_background(&mut tasks, &spec.config, &db, &metrics, shipper, &shutdown);
    let handle = Handle {
        store: store.clone(),
        db: db.clone(),
        metrics,
        opened,
        http_addr,
        https,
    };
    ready.map(|r| r.send(handle));
    let first_error = supervise(tasks, &shutdown).await;
    db.close().await;
    first_error.map_or(Ok(()), Err)
}

/// The API's access settings, webhooks' private receivers included.
fn access(config: &Config) -> Arc<forewarn_api::Access> {
    Arc::new(forewarn_api::Access {
        allow_private_webhooks: config.webhooks.allow_private,
        ..config.http.access()
    })
}

/// Binds the HTTP listener and introduces the service (an introduction, not a log line: printed
/// whatever the log level); the address bound and whether it will serve HTTPS.
async fn bind(spec: &ServiceSpec) -> anyhow::Result<(tokio::net::TcpListener, SocketAddr, bool)> {
    let listener = tokio::net::TcpListener::bind(spec.http)
        .await
        .with_context(|| format!("binding HTTP on {}", spec.http))?;
    let addr = listener.local_addr()?;
    let https = spec.config.http.tls.is_some();
    println!("{}", introduction(addr, https));
    Ok((listener, addr, https))
}

/// Findings that may wait for an unavailable tickets database (a few KiB each on disk): days of a
/// large fleet's findings, after which the pipeline waits (ingest stops acknowledging).
const PENDING_FINDINGS: usize = 20_000;

/// The service's stages, each with its name and result.
type Tasks = JoinSet<(&'static str, anyhow::Result<()>)>;

/// What the live pipeline starts from, prepared by the start-up.
struct Live {
    /// The detector, with history replayed.
    detector: Detector,
    asset_types: HashMap<AssetId, forewarn_domain::AssetTypeId>,
    registry: AssetRegistry,
    /// Repairs recorded by resolutions, on their way to analytics.
    repairs: forewarn_domain::RepairFeed,
    /// Findings to alerting.
    findings: mpsc::Sender<forewarn_domain::Finding>,
    /// The API's health questions to analytics.
    health: mpsc::Receiver<forewarn_analytics::HealthQuery>,
}

/// Spawns the telemetry pipeline: ingest → store → fan-out (acks, analytics) → analytics, and
/// the recording of the models analytics fits.
fn spawn_pipeline(
    tasks: &mut Tasks,
    spec: &ServiceSpec,
    store: &Arc<dyn Telemetry>,
    db: &Maintenance,
    metrics: &Arc<Metrics>,
    live: Live,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    // A full batch holds up to 2048 messages (~800 KB of readings): short queues bound the memory
    // in flight; the store's group commit still finds every batch that waits.
    let (ingest_tx, ingest_rx) = mpsc::channel::<Batch>(16);
    let (durable_tx, durable_rx) = mpsc::channel::<Batch>(8);
    let (ack_tx, ack_rx) = mpsc::channel::<u64>(1024);
    let (analytics_tx, analytics_rx) = mpsc::channel::<Batch>(8);
    let (model_tx, mut model_rx) = mpsc::channel(256);
    tasks.spawn(stage(
        "analytics",
        forewarn_analytics::run(
            live.detector,
            live.asset_types,
            metrics.clone(),
            analytics_rx,
            live.findings,
            model_tx,
            live.health,
            live.repairs,
        ),
    ));
    let models_db = db.clone();
    let models_metrics = metrics.clone();
    // A model fitted while the database is down waits (analytics goes on: 256 fits queue here).
    tasks.spawn(stage("models", async move {
        while let Some(m) = model_rx.recv().await {
            forewarn_maintenance::failure::retry_unavailable(&models_metrics, || {
                models_db.record_model(&m)
            })
            .await?;
        }
        anyhow::Ok(())
    }));
    tasks.spawn(stage("fan-out", fan_out(durable_rx, ack_tx, analytics_tx)));
    tasks.spawn(stage(
        "store",
        forewarn_store::run(
            store.clone(),
            metrics.clone(),
            ingest_rx,
            durable_tx,
            forewarn_store::DiskFloor {
                dir: spec.data_dir.clone(),
                min_free: spec.config.store.min_free_mb.saturating_mul(1 << 20),
            },
        ),
    ));
    let ingest_cfg: IngestConfig = spec.config.ingest(&spec.data_dir)?;
    tasks.spawn(stage(
        "ingest",
        forewarn_ingest::run(
            ingest_cfg,
            live.registry,
            metrics.clone(),
            ingest_tx,
            ack_rx,
            shutdown.child_token(),
        ),
    ));
    Ok(())
}

/// Opens the store (and the mirror's shipper) and the tickets database, adds the catalog's
/// parts and the `[starter]` data, and counts what is stored.
async fn open_state(
    spec: &ServiceSpec,
    catalog: &Catalog,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<(Arc<dyn Telemetry>, Option<Shipper>, Maintenance)> {
    let (store, shipper) = open_store(spec, metrics.clone())
        .await
        .with_context(|| format!("opening the store in {}", spec.data_dir.display()))?;
    let db = Maintenance::from_env(&spec.data_dir)
        .await
        .context("opening the tickets database")?
        .with_cooldown(spec.config.cooldown())
        .with_sla(spec.config.sla_policy());
    // The parts catalog starts with what the bills of materials name.
    db.add_catalog_parts(catalog.bill_of_materials())
        .await
        .context("adding the catalog's parts")?;
    spec.config
        .starter
        .seed(&db)
        .await
        .context("putting [starter] into the empty database")?;
    let stored = store.stats().await.context("counting stored readings")?;
    metrics.readings_stored.inc_by(stored.points);
    Ok((store, shipper, db))
}

/// Registers the assets declared in the config and not yet registered by a birth, so the API
/// (findings, tickets by hand, the dashboard) knows them before they first report; returns
/// ingest's registry and every asset's type.
async fn register_declared(
    spec: &ServiceSpec,
    catalog: &Arc<Catalog>,
    store: &Arc<dyn Telemetry>,
) -> anyhow::Result<(
    AssetRegistry,
    HashMap<AssetId, forewarn_domain::AssetTypeId>,
)> {
    let declared: Vec<_> = spec
        .config
        .assets
        .iter()
        .filter(|a| store.asset(&a.id).is_none())
        .cloned()
        .collect();
    if !declared.is_empty() {
        store
            .append(Arc::new(vec![Batch {
                births: declared,
                ..Default::default()
            }]))
            .await
            .context("registering the config's assets")?;
    }
    let mut registry = AssetRegistry::new(catalog.clone());
    for a in spec.config.assets.iter().cloned().chain(store.assets()) {
        registry.register(a);
    }
    let asset_types = store
        .assets()
        .into_iter()
        .chain(spec.config.assets.iter().cloned())
        .map(|a| (a.id, a.asset_type))
        .collect();
    Ok((registry, asset_types))
}

/// Spawns the stages that turn findings into tickets: alerting (signatures, then the mode
/// classifier learnt from resolved tickets) and maintenance, whose findings wait in `data_dir`
/// while the database is down.
#[allow(clippy::too_many_arguments)]
async fn spawn_decisions(
    tasks: &mut Tasks,
    data_dir: &std::path::Path,
    catalog: &Arc<Catalog>,
    db: &Maintenance,
    store: &Arc<dyn Telemetry>,
    metrics: &Arc<Metrics>,
    opened: &broadcast::Sender<Ticket>,
    findings: mpsc::Receiver<forewarn_domain::Finding>,
) -> anyhow::Result<()> {
    let (alerts_tx, alerts) = mpsc::channel(1024);
    let pending = forewarn_maintenance::pending::Pending::open(data_dir, PENDING_FINDINGS)
        .context("opening the queue of findings waiting for the database")?;
    metrics.findings_pending.set(pending.len() as i64);
    let context = {
        let store = store.clone();
        Arc::new(move |a: &AssetId| {
            store
                .asset(a)
                .map(|a| forewarn_maintenance::AssetContext::from(&a))
                .unwrap_or_default()
        })
    };
    tasks.spawn(stage(
        "maintenance",
        forewarn_maintenance::run(
            db.clone(),
            metrics.clone(),
            alerts,
            opened.clone(),
            context,
            pending,
        ),
    ));
    // Resolved tickets are labelled history: what the learnt mode classifier starts from.
    let learned =
        forewarn_alerting::learned::LearnedModes::train(catalog, &db.resolved_examples().await?);
    tracing::info!(
        examples = learned.examples(),
        asset_types = learned.types(),
        "mode classifier learnt from resolved tickets"
    );
    tasks.spawn(stage(
        "alerting",
        forewarn_alerting::run(
            catalog.clone(),
            Arc::new(learned),
            metrics.clone(),
            findings,
            alerts_tx,
        ),
    ));
    Ok(())
}

/// The detector with every asset's stored history replayed (analytics state is derived from the
/// store, so a restart neither forgets a developing fault nor re-learns a baseline from
/// already-degraded data); the findings still going on are sent to alerting.
async fn start_detector(
    spec: &ServiceSpec,
    catalog: &Catalog,
    db: &Maintenance,
    store: &Arc<dyn Telemetry>,
    asset_types: &HashMap<AssetId, forewarn_domain::AssetTypeId>,
    metrics: &Metrics,
    findings: &mpsc::Sender<forewarn_domain::Finding>,
) -> anyhow::Result<Detector> {
    let mut detector = Detector::new(spec.config.baseline()).with_catalog(catalog);
    // Repairs are events in each asset's timeline: the replay re-learns at the same moments.
    for r in db.repairs().await? {
        detector.resolved(&r);
    }
    let (mut detector, replayed) =
        replay_history(detector, store.as_ref(), asset_types, &metrics.loading).await?;
    // The replay refits what was fitted before: stored models are kept as they are.
    for m in detector.take_fitted() {
        db.record_model(&m).await?;
    }
    for f in replayed {
        metrics.findings.inc();
        findings
            .send(f)
            .await
            .map_err(|_| anyhow::anyhow!("alerting stopped during replay"))?;
    }
    Ok(detector)
}

/// Spawns the stages beside the pipeline: the InfluxDB mirror, the database watch (an outage
/// shows in `/metrics` even when nothing needed the database), the SLA sweeper (on the wall
/// clock: service levels are people's time) and webhook deliveries from the outbox.
fn spawn_background(
    tasks: &mut Tasks,
    config: &Config,
    db: &Maintenance,
    metrics: &Arc<Metrics>,
    shipper: Option<Shipper>,
    shutdown: &CancellationToken,
) {
    if let Some(shipper) = shipper {
        tasks.spawn(stage(
            "influxdb mirror",
            shipper.run(shutdown.child_token()),
        ));
    }
    let watch_stop = shutdown.clone();
    tasks.spawn(stage(
        "database watch",
        forewarn_maintenance::failure::watch(
            db.clone(),
            metrics.clone(),
            Duration::from_secs(5),
            async move { watch_stop.cancelled().await },
        ),
    ));
    let sla_stop = shutdown.clone();
    tasks.spawn(stage(
        "sla",
        forewarn_maintenance::run_sla(
            db.clone(),
            Duration::from_secs(config.sla.check_every_secs),
            Arc::new(crate::now_ms),
            async move { sla_stop.cancelled().await },
        ),
    ));
    // What is not delivered waits in the database.
    let hooks_stop = shutdown.clone();
    tasks.spawn(stage(
        "webhooks",
        forewarn_maintenance::webhooks::deliver::run(
            db.clone(),
            forewarn_maintenance::webhooks::deliver::DeliveryConfig {
                allow_private: config.webhooks.allow_private,
                ca_file: config.webhooks.ca_file.clone(),
                ..Default::default()
            },
            async move { hooks_stop.cancelled().await },
        ),
    ));
}

/// Spawns the HTTP server on `listener`, over TLS when `[http.tls]` is set.
fn spawn_http(
    tasks: &mut Tasks,
    config: &Config,
    metrics: &Arc<Metrics>,
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let stop = shutdown.clone();
    let tls = match &config.http.tls {
        Some(t) => Some(crate::https::server_config(&t.cert_file, &t.key_file)?),
        None => None,
    };
    let gate = crate::serve::Gate::new(config.http.max_connections, metrics.clone());
    let headers = Duration::from_secs(config.http.header_timeout_secs.max(1));
    tasks.spawn(stage("http", async move {
        match tls {
            Some(config) => {
                let source = crate::https::TlsListener::new(listener, config, gate);
                crate::serve::serve(source, app, headers, stop).await
            }
            None => {
                let source = crate::serve::Plain::new(listener, gate);
                crate::serve::serve(source, app, headers, stop).await
            }
        }
    }));
    Ok(())
}

/// Waits for the stages to end; the first failure stops the others and is returned.
async fn supervise(mut tasks: Tasks, shutdown: &CancellationToken) -> Option<anyhow::Error> {
    let mut first_error = None;
    // A stage may be unable to drain (the store waiting for an InfluxDB that is down): after a
    // grace period it is stopped. Nothing is lost: what was not stored was not acknowledged.
    let stuck = async {
        shutdown.cancelled().await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    };
    tokio::pin!(stuck);
    loop {
        let joined = tokio::select! {
            next = tasks.join_next() => match next {
                Some(j) => j,
                None => break,
            },
            _ = &mut stuck => {
                tracing::warn!("stages still busy 30 s after shutdown; stopping them (unacknowledged messages will be redelivered)");
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                break;
            }
        };
        let (name, result) =
            joined.unwrap_or_else(|e| ("task", Err(anyhow::anyhow!("panicked: {e}"))));
        match result {
            Ok(()) => tracing::debug!(stage = name, "stage finished"),
            Err(e) => {
                tracing::error!(stage = name, error = %format!("{e:#}"), "stage failed; stopping the service");
                first_error.get_or_insert(e.context(format!("stage {name} failed")));
                shutdown.cancel();
                // Stages downstream of a dead one may wait forever on an input that will not close.
                let grace = tokio::time::sleep(Duration::from_secs(10));
                tokio::pin!(grace);
                loop {
                    tokio::select! {
                        _ = &mut grace => { tasks.abort_all(); break; }
                        next = tasks.join_next() => if next.is_none() { break },
                    }
                }
                break;
            }
        }
    }
    first_error
}

/// Feeds every asset's stored history, one asset after another, to `detector`; returns it with
/// the findings still going on at each asset's newest reading (an ongoing deviation is repeated
/// every `REPEAT_MS`). The rest was alerted live — and what the replay finds differently about
/// the past (a judgement that weighed the fleet's state at the time) must not open tickets now.
async fn replay_history(
    mut detector: Detector,
    store: &dyn Telemetry,
    asset_types: &HashMap<AssetId, forewarn_domain::AssetTypeId>,
    loading: &forewarn_domain::Loading,
) -> anyhow::Result<(Detector, Vec<forewarn_domain::Finding>)> {
    let mut replayed = Vec::new();
    let assets = store.assets();
    let of = assets.len() as u64;
    for (done, asset) in assets.into_iter().enumerate() {
        loading.progress(done as u64, of);
        let Some(ty) = asset_types.get(&asset.id).cloned() else {
            continue;
        };
        let history = store.history(&asset.id).await?;
        let (d, findings) = tokio::task::spawn_blocking(move || {
            let mut findings = Vec::new();
            for r in &history {
                findings.extend(detector.observe(r, &ty));
            }
            let newest = history.last().map_or(i64::MIN, |r| r.ts_ms);
            findings.retain(|f| f.detected_at_ms > newest - forewarn_analytics::REPEAT_MS);
            (detector, findings)
        })
        .await?;
        detector = d;
        replayed.extend(findings);
    }
    Ok((detector, replayed))
}

/// Opens the configured backend; the mirror's shipper comes back as a task to run.
async fn open_store(
    spec: &ServiceSpec,
    metrics: Arc<Metrics>,
) -> anyhow::Result<(Arc<dyn Telemetry>, Option<Shipper>)> {
    let s = &spec.config.store;
    if s.engine == Engine::Influxdb {
        let influx = s.influxdb.as_ref().context("[store.influxdb] is missing")?;
        let store = InfluxStore::open(&spec.data_dir, &influx.connection(), metrics).await?;
        tracing::info!(url = %influx.url, database = %influx.database, "telemetry in InfluxDB");
        return Ok((Arc::new(store), None));
    }
    let dir = spec.data_dir.clone();
    let options = spec.config.store_options();
    let (store, recovery) =
        tokio::task::spawn_blocking(move || Store::open_with(&dir, OpenMode::ReadWrite, options))
            .await??;
    tracing::info!(
        records = recovery.records,
        truncated_bytes = recovery.truncated_bytes,
        "store recovered"
    );
    let store = Arc::new(store);
    match s.influxdb.as_ref().filter(|i| i.mirror) {
        Some(i) => {
            let max = i.mirror_backlog_mb.saturating_mul(1024 * 1024);
            let (mirrored, shipper) = Mirrored::open(store, &i.connection(), max, metrics)?;
            tracing::info!(url = %i.url, database = %i.database, "mirroring telemetry to InfluxDB");
            Ok((Arc::new(mirrored), Some(shipper)))
        }
        None => Ok((Arc::new(Embedded(store)), None)),
    }
}

async fn stage<E: Into<anyhow::Error>>(
    name: &'static str,
    f: impl Future<Output = Result<(), E>>,
) -> (&'static str, anyhow::Result<()>) {
    (name, f.await.map_err(Into::into))
}

/// Releases acknowledgements first (the batch is durable), then hands the batch to analytics.
async fn fan_out(
    mut durable: mpsc::Receiver<Batch>,
    acks: mpsc::Sender<u64>,
    analytics: mpsc::Sender<Batch>,
) -> anyhow::Result<()> {
    while let Some(batch) = durable.recv().await {
        // The acker outlives the store during shutdown; if it is gone, the broker redelivers: harmless.
        let _ = acks.send(batch.seq).await;
        analytics
            .send(batch)
            .await
            .map_err(|_| anyhow::anyhow!("analytics stopped"))?;
    }
    Ok(())
}
/// Where the service answers: the dashboards, the API and its OpenAPI document. A wildcard
/// listen address is shown as `localhost`, which a browser on the same machine can open.
pub fn introduction(addr: SocketAddr, https: bool) -> String {
    let url = base_url(addr, https);
    format!(
        "Forewarn is running: dashboards at {url}/ · API at {url}/api/v1 · OpenAPI at {url}/api/v1/openapi.json"
    )
}

/// `http(s)://host:port` where a browser on this machine reaches the service.
pub fn base_url(addr: SocketAddr, https: bool) -> String {
    let scheme = if https { "https" } else { "http" };
    if addr.ip().is_unspecified() {
        format!("{scheme}://localhost:{}", addr.port())
    } else {
        // SocketAddr's Display puts an IPv6 address in brackets.
        format!("{scheme}://{addr}")
    }
}
