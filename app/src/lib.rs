//! The `forewarn` binary: CLI, configuration, wiring and shutdown — the only crate that sees every
//! other one. Library form so the end-to-end tests can run the service in-process.

pub mod backtest;
pub mod bench;
pub mod catalog_cmd;
pub mod cli;
pub mod config;
pub mod demo;
pub mod demo_seed;
pub mod http1;
pub mod https;
pub mod influxd;
pub mod lifecycle;
pub mod mosquitto;
pub mod rul;
pub mod serve;
pub mod service;
pub mod simulate;
pub mod starter;
pub mod stats;
pub mod table;
pub mod tmpfs;
pub mod token;

/// Parses a duration such as `30d`, `12h`, `90s` or `500ms`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("{s:?} is not a duration (try 30d, 12h, 90s): {e}"))
}

/// Splits `HOST:PORT`.
pub fn parse_host_port(s: &str) -> Result<(String, u16), String> {
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("{s:?} is not HOST:PORT"))?;
    let port = port
        .parse()
        .map_err(|_| format!("{port:?} is not a port number"))?;
    Ok((
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port,
    ))
}

/// Wall-clock now in ms since the epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
