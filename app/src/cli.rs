//! Command-line interface.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, EXAMPLE_CONFIG};
use crate::{parse_duration, parse_host_port};
use forewarn_domain::Catalog;

/// Forewarn: predictive maintenance from MQTT telemetry to maintenance tickets.
#[derive(Debug, Parser)]
#[command(name = "forewarn", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything on embedded defaults: broker, simulated fleet, service, API and dashboard.
    Demo(DemoArgs),
    /// Run the service against a broker named in a configuration file.
    Run(RunArgs),
    /// Run the fleet simulator alone against any broker; prints a JSON report with the ground truth.
    Simulate(Box<SimulateArgs>),
    /// Print what a data directory holds, as JSON (works while the service runs or is stopped).
    Stats(StatsArgs),
    /// Run the joint detector over a history file; writes every row with `anomaly_score` and
    /// `is_anomaly` and prints the events.
    Backtest(crate::backtest::BacktestArgs),
    /// Remaining useful life: learn from run-to-failure histories, predict for running units.
    #[command(subcommand)]
    Rul(crate::rul::RulCommand),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the asset types the service knows: their sensor names (the metrics to publish),
    /// units and ranges, and the failure modes with signatures, skills and parts.
    Catalog {
        /// The configuration whose catalog to print (default: the built-in catalog).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// API tokens.
    #[command(subcommand)]
    Token(crate::token::TokenCommand),
    /// Benchmarks; each prints one JSON object per figure.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// `forewarn bench ...`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The embedded store alone: durable append rate, recovery time, bytes per reading, query times.
    Store(crate::bench::StoreBenchArgs),
    /// The whole ingest path against a real Mosquitto, beside mosquitto_sub draining the same stream.
    Ingest(crate::bench::IngestBenchArgs),
    /// The streaming detector alone: readings scored per second on one core, memory per series.
    Detect(crate::bench::DetectBenchArgs),
    /// The dashboards served over HTTP: fleet page with 1,000 assets, an asset page over a week of
    /// 1 Hz data, board, inventory.
    Dashboards(crate::bench::DashboardBenchArgs),
    /// A fleet's simulated year with a crew working every ticket and the service SIGKILLed along
    /// the way, scored against the ground truth.
    Lifecycle(crate::bench::LifecycleArgs),
    /// A fleet's fortnight while the service is SIGKILLed, Mosquitto and PostgreSQL restart, the
    /// disk fills and hostile messages arrive; checks nothing acknowledged is lost (needs root).
    Chaos(crate::bench::ChaosArgs),
}

/// `forewarn config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a complete, commented example configuration.
    Example,
    /// Check a configuration file (and its catalog) without starting anything.
    Check {
        /// The file.
        path: PathBuf,
    },
}

/// `forewarn demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of simulated assets.
    #[arg(long, default_value_t = 50)]
    pub assets: usize,
    /// Simulated seconds per wall-clock second.
    #[arg(long, default_value_t = 7200.0)]
    pub speed: f64,
    /// Simulated span (the fleet's history up to now is replayed fast-forwarded).
    #[arg(long, default_value = "30d", value_parser = parse_duration)]
    pub duration: Duration,
    /// Seed of the simulated fleet.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// HTTP listen address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// Port of the embedded MQTT broker (on 127.0.0.1).
    #[arg(long, default_value_t = 1884)]
    pub mqtt_port: u16,
    /// Data directory (default: a new temporary folder, printed at start and kept).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Exit when the simulation ends instead of serving until Ctrl-C.
    #[arg(long)]
    pub exit_when_done: bool,
}

/// `forewarn run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Configuration file.
    #[arg(long)]
    pub config: PathBuf,
    /// Data directory.
    #[arg(long, default_value = "./forewarn-data", env = "FOREWARN_DATA_DIR")]
    pub data_dir: PathBuf,
    /// HTTP listen address (overrides `[http] listen`).
    #[arg(long)]
    pub http: Option<SocketAddr>,
}

/// `forewarn simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Broker as HOST:PORT.
    #[arg(long, value_parser = parse_host_port)]
    pub broker: (String, u16),
    /// Number of simulated assets.
    #[arg(long, default_value_t = 20)]
    pub assets: usize,
    /// Number of assets that develop a fault (default: one in ten, at least two).
    #[arg(long)]
    pub faults: Option<usize>,
    /// Number of other assets with a misreading sensor (default: one in 25).
    #[arg(long)]
    pub sensor_faults: Option<usize>,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Simulated span, ending now.
    #[arg(long, default_value = "14d", value_parser = parse_duration)]
    pub duration: Duration,
    /// Time between two samples of an asset.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Simulated seconds per wall-clock second (default: as fast as the broker acknowledges).
    #[arg(long)]
    pub speed: Option<f64>,
    /// MQTT client id.
    #[arg(long, default_value = "forewarn-simulator")]
    pub client_id: String,
    /// Topic prefix.
    #[arg(long, default_value = "forewarn")]
    pub topic_prefix: String,
    /// A running service's URL (`http://HOST:PORT`): a crew works its tickets in simulated
    /// time, and faults arrive by a hazard again after every repair (a fleet's whole life).
    #[arg(long, requires = "crew_token_file")]
    pub crew: Option<String>,
    /// A file holding a planner's or admin's API token for the crew.
    #[arg(long, requires = "crew")]
    pub crew_token_file: Option<PathBuf>,
    /// Mean time between faults of one failure mode on one asset, with a crew.
    #[arg(long, default_value = "180d", value_parser = parse_duration)]
    pub mode_mtbf: Duration,
    /// Mean time between sensor faults on one asset, with a crew.
    #[arg(long, default_value = "365d", value_parser = parse_duration)]
    pub sensor_mtbf: Duration,
    /// How often, in simulated time, the crew looks at the tickets.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub crew_every: Duration,
    /// Machines stop and start: mean run and mean standstill, `RUN/STOP` (`8h/2h`), and with a
    /// third part the mean time between speed set-point changes, `RUN/STOP/SET` (`8h/2h/2d`);
    /// without it they run continuously at rated speed.
    #[arg(long, value_parser = parse_duty)]
    pub duty: Option<forewarn_simulators::Duty>,
    /// TLS to the broker: the CA (PEM) its certificate must chain to; `--broker` names it as
    /// its certificate does.
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// This client's certificate (PEM), for brokers that require one.
    #[arg(long, requires_all = ["tls_ca", "tls_key"])]
    pub tls_cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// `RUN/STOP[/SET]` durations (`8h/2h/2d`) as a duty cycle.
fn parse_duty(s: &str) -> Result<forewarn_simulators::Duty, String> {
    let parts: Vec<&str> = s.split('/').collect();
    let (run, stop, set) = match parts[..] {
        [run, stop] => (run, stop, None),
        [run, stop, set] => (run, stop, Some(set)),
        _ => {
            return Err(format!(
                "{s:?}: expected RUN/STOP or RUN/STOP/SET, like 8h/2h/2d"
            ));
        }
    };
    let ms = |d: &str| -> Result<i64, String> {
        let d = parse_duration(d)?;
        if d.is_zero() {
            return Err(format!("{s:?}: every part lasts more than 0"));
        }
        i64::try_from(d.as_millis()).map_err(|e| e.to_string())
    };
    Ok(forewarn_simulators::Duty {
        run_mean_ms: ms(run)?,
        stop_mean_ms: ms(stop)?,
        set_point_mean_ms: set.map(ms).transpose()?,
    })
}

/// `forewarn stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Data directory.
    #[arg(long, default_value = "./forewarn-data", env = "FOREWARN_DATA_DIR")]
    pub data_dir: PathBuf,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Demo(args) => crate::demo::run(args).await,
            Command::Run(args) => {
                init_tracing("info");
                let config = Config::load(&args.config)?;
                let http = args.http.unwrap_or(config.http.listen);
                let shutdown = CancellationToken::new();
                stop_on_signal(shutdown.clone());
                let spec = crate::service::ServiceSpec {
                    config,
                    data_dir: args.data_dir,
                    http,
                };
                let (ready, up) = tokio::sync::oneshot::channel::<crate::service::Handle>();
                tokio::spawn(async move {
                    let Ok(h) = up.await else { return };
                    if let Err(e) = crate::token::bootstrap(&h.db, h.http_addr, h.https).await {
                        tracing::error!(error = %e, "could not make the first admin token");
                    }
                });
                crate::service::run(spec, shutdown, Some(ready)).await
            }
            Command::Simulate(args) => {
                init_tracing("warn");
                crate::simulate::run(*args).await
            }
            Command::Stats(args) => crate::stats::run(&args.data_dir).await,
            Command::Token(crate::token::TokenCommand::Create(args)) => {
                crate::token::create(&args).await
            }
            Command::Token(crate::token::TokenCommand::List(args)) => {
                crate::token::list(&args).await
            }
            Command::Token(crate::token::TokenCommand::Revoke(args)) => {
                crate::token::revoke(&args).await
            }
            Command::Backtest(args) => crate::backtest::run(&args),
            Command::Rul(crate::rul::RulCommand::Train(args)) => crate::rul::train(&args),
            Command::Rul(crate::rul::RulCommand::Predict(args)) => crate::rul::predict(&args),
            Command::Bench(cmd) => bench(cmd).await,
            Command::Catalog { config } => {
                let catalog = match config {
                    Some(path) => Config::load(&path)?.catalog()?,
                    None => Catalog::from_toml(crate::config::BUILTIN_CATALOG)?,
                };
                print!("{}", crate::catalog_cmd::render(&catalog));
                Ok(())
            }
            Command::Config(ConfigCommand::Example) => {
                print!("{EXAMPLE_CONFIG}");
                Ok(())
            }
            Command::Config(ConfigCommand::Check { path }) => {
                let cfg = Config::load(&path)?;
                let catalog = cfg.catalog()?;
                println!(
                    "{}: ok ({} asset types, {} assets declared)",
                    path.display(),
                    catalog.asset_types.len(),
                    cfg.assets.len()
                );
                Ok(())
            }
        }
    })
}

/// Logs to stderr, filtered by `RUST_LOG` (default `level`).
pub fn init_tracing(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Colour codes only on a terminal: a redirected log stays plain text.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Cancels `token` on Ctrl-C or SIGTERM.
pub fn stop_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        token.cancel();
                        return;
                    }
                };
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
        token.cancel();
    });
}

/// Runs one `forewarn bench …` command, with the log level it wants.
async fn bench(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Ingest(args) => {
            init_tracing("warn");
            crate::bench::ingest(args).await
        }
        BenchCommand::Dashboards(args) => {
            // chromiumoxide warns about every DevTools event newer than its protocol copy.
            init_tracing("warn,rumqttd=off,chromiumoxide=error");
            crate::bench::dashboards(args).await
        }
        BenchCommand::Lifecycle(args) => {
            init_tracing("warn");
            crate::bench::lifecycle(args).await
        }
        BenchCommand::Chaos(args) => {
            init_tracing("warn");
            crate::bench::chaos(args).await
        }
        BenchCommand::Detect(args) => {
            tokio::task::spawn_blocking(move || crate::bench::detect(args)).await?
        }
        BenchCommand::Store(args) => {
            tokio::task::spawn_blocking(move || crate::bench::store(args)).await?
        }
    }
}
