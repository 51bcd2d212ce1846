//! TLS with rustls (no OpenSSL to install): HTTPS for the API and dashboards (`[http.tls]
//! cert_file, key_file`) and the client side of MQTT over TLS (`[mqtt.tls]`). TLS handshakes run on their own tasks (each at most [`HANDSHAKE_TIMEOUT`]), so a
//! client that stalls its handshake holds up nobody; finished connections reach the server loop
//! (`serve.rs`) through [`TlsListener`], so the connection cap, header timeout and graceful
//! shutdown are the plain server's.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::serve::{Accept, Gate, Permit};

/// Longest a client may take to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's certificate chain and key from PEM files.
pub fn server_config(cert_file: &Path, key_file: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain(cert_file)?, key(key_file)?)
        .context("the certificate and key do not match")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate chain from a PEM file.
fn chain(file: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
        .with_context(|| format!("reading the certificate {}", file.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing the certificate {}", file.display()))?;
    anyhow::ensure!(!chain.is_empty(), "{} holds no certificate", file.display());
    Ok(chain)
}

/// A private key from a PEM file.
fn key(file: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(file)
        .with_context(|| format!("reading the private key {}", file.display()))
}

/// Client settings trusting the CAs of `ca_file` (the server's certificate is always verified),
/// presenting `identity` (certificate, key) when given.
pub fn client_config(
    ca_file: &Path,
    identity: Option<(&Path, &Path)>,
) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for ca in chain(ca_file)? {
        roots
            .add(ca)
            .with_context(|| format!("{} is not a usable CA certificate", ca_file.display()))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    Ok(match identity {
        Some((cert, k)) => builder
            .with_client_auth_cert(chain(cert)?, key(k)?)
            .context("the client certificate and key do not match")?,
        None => builder.with_no_client_auth(),
    })
}

/// A connection that finished its TLS handshake, with its slot.
type Shaken = (TlsStream<TcpStream>, SocketAddr, Permit);

/// Connections that finished their TLS handshake.
pub struct TlsListener {
    ready: mpsc::Receiver<Shaken>,
}

impl TlsListener {
    /// Accepts on `tcp`, admitting through `gate` before the handshake (a handshake holds a
    /// descriptor too), and shakes hands with `config` in the background.
    pub fn new(tcp: TcpListener, config: rustls::ServerConfig, gate: Gate) -> Self {
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(accept_loop(tcp, acceptor, gate, tx));
        Self { ready }
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    gate: Gate,
    tx: mpsc::Sender<Shaken>,
) {
    loop {
        let (stream, peer) = match tcp.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(error = %e, "accepting an HTTPS connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if tx.is_closed() {
            return;
        }
        // Over the cap: closed at once (a TLS client could not read a plain refusal).
        let Some(permit) = gate.admit() else {
            continue;
        };
        let (acceptor, tx) = (acceptor.clone(), tx.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = tx.send((tls, peer, permit)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl Accept for TlsListener {
    type Io = TlsStream<TcpStream>;

    async fn accept(&mut self) -> Shaken {
        match self.ready.recv().await {
            Some(c) => c,
            // The accept loop ended: nothing will ever come; wait for shutdown.
            None => std::future::pending().await,
        }
    }
}
