//! Serving HTTP with bounds a plant network needs: at most `[http] max_connections` open at once
//! (past it a connection is answered 503 and closed, and counted), request headers read within
//! `[http] header_timeout_secs` (a client trickling its headers is dropped), and a graceful shutdown
//! that waits a bounded time for requests in flight. Plain TCP and TLS go through the same loop.
//!
//! Hyper serves each connection (HTTP/1.1 with upgrades, as `axum::serve` does); axum's own
//! `serve` has no header timeout and no connection cap, hence this loop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use forewarn_domain::Metrics;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// Longest a shutdown waits for requests in flight (event streams never end by themselves).
const DRAIN: Duration = Duration::from_secs(5);
/// What a connection over the cap reads before it is closed (plain HTTP only: a TLS client
/// cannot read it before a handshake, so it is just closed).
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 40\r\n\r\ntoo many open connections; retry later\r\n";

/// Admits connections up to a cap; counts those open and those refused in `Metrics`.
#[derive(Clone)]
pub struct Gate {
    slots: Arc<Semaphore>,
    metrics: Arc<Metrics>,
}

/// An admitted connection's slot, given back when the connection ends.
pub struct Permit {
    _slot: OwnedSemaphorePermit,
    metrics: Arc<Metrics>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.metrics.http_connections.dec();
    }
}

impl Gate {
    /// At most `max` connections open at once.
    pub fn new(max: usize, metrics: Arc<Metrics>) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max.max(1))),
            metrics,
        }
    }

    /// A slot for a new connection, or `None` (counted) when all are taken.
    pub fn admit(&self) -> Option<Permit> {
        match self.slots.clone().try_acquire_owned() {
            Ok(slot) => {
                self.metrics.http_connections.inc();
                Some(Permit {
                    _slot: slot,
                    metrics: self.metrics.clone(),
                })
            }
            Err(_) => {
                self.metrics.http_connections_refused.inc();
                None
            }
        }
    }
}

/// A source of admitted connections.
pub trait Accept: Send + 'static {
    /// The connection's stream.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The next admitted connection, with its slot.
    fn accept(&mut self) -> impl Future<Output = (Self::Io, SocketAddr, Permit)> + Send;
}

/// Plain TCP connections through a [`Gate`].
pub struct Plain {
    tcp: TcpListener,
    gate: Gate,
}

impl Plain {
    /// Accepts on `tcp`, admitting through `gate`.
    pub fn new(tcp: TcpListener, gate: Gate) -> Self {
        Self { tcp, gate }
    }
}

impl Accept for Plain {
    type Io = tokio::net::TcpStream;

    async fn accept(&mut self) -> (Self::Io, SocketAddr, Permit) {
        loop {
            let (stream, peer) = match self.tcp.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            match self.gate.admit() {
                Some(permit) => return (stream, peer, permit),
                None => {
                    // Best effort and never waiting: a refusal must cost nothing.
                    let _ = stream.try_write(REFUSAL);
                    tracing::debug!(%peer, "HTTP connection refused: too many open");
                }
            }
        }
    }
}

/// Descriptors kept for everything but HTTP connections (WAL segments, Parquet files being
/// written or scanned, the broker, the database, event streams' pipes).
const RESERVED_DESCRIPTORS: u64 = 512;

/// Raises this process's descriptor limit to the hard limit (distributions start services at a
/// soft 1024, which `max_connections` alone could use up) and warns when the cap leaves too
/// few for the rest. Returns the limit now in force.
pub fn raise_descriptor_limit(max_connections: usize) -> u64 {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
            return 0;
        }
    };
    tracing::debug!(limit, "open-file limit");
    if (max_connections as u64).saturating_add(RESERVED_DESCRIPTORS) > limit {
        tracing::warn!(
            limit,
            max_connections,
            "[http] max_connections leaves fewer than {RESERVED_DESCRIPTORS} descriptors for the store; lower it or raise the hard limit (LimitNOFILE)"
        );
    }
    limit
}

/// Serves `app` on the connections `source` admits until `shutdown`, then lets requests in
/// flight finish for a few seconds. A client must send each request's headers within
/// `header_timeout`.
pub async fn serve<A: Accept>(
    mut source: A,
    app: axum::Router,
    header_timeout: Duration,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    loop {
        let (io, peer, permit) = tokio::select! {
            _ = shutdown.cancelled() => break,
            c = source.accept() => c,
        };
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(header_timeout);
        let service = TowerToHyperService::new(app.clone());
        let conn = http
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let ended = tokio::select! {
                r = conn.as_mut() => r,
                _ = stop.cancelled() => {
                    // Requests in flight finish; an event stream never does, so it is cut.
                    conn.as_mut().graceful_shutdown();
                    tokio::time::timeout(DRAIN, conn).await.unwrap_or(Ok(()))
                }
            };
            if let Err(e) = ended {
                tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
            }
            drop(permit);
        });
    }
    Ok(())
}
