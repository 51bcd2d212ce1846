//! The MQTT session of ingest: TCP (or TLS), CONNECT with a persistent session, SUBSCRIBE when the
//! broker has no session for us, and packet framing — in the version [`crate::protocol`] encodes.
//!
//! Ingest drives the socket itself rather than through rumqttc's event loop because that loop
//! writes and flushes every acknowledgement on its own (one syscall per PUBACK, one wake-up per
//! event); here the reading half and the writing half are separate tasks, and all PUBACKs of a
//! durable batch leave in one write.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::protocol::{Incoming, MqttVersion};
use crate::{IngestConfig, IngestError};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The reading half of a broker connection, plain TCP or TLS.
pub(crate) type Reader = Box<dyn AsyncRead + Send + Unpin>;
/// The writing half of a broker connection, plain TCP or TLS.
pub(crate) type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// A connection after CONNACK.
pub(crate) struct Session {
    pub reader: Reader,
    pub writer: Writer,
    /// Bytes read but not yet framed.
    pub buf: BytesMut,
    /// Whether the broker kept our session (and so our subscription).
    pub session_present: bool,
    /// The keep-alive in force: ours, or the one an MQTT 5 broker imposed.
    pub keep_alive: Duration,
    /// A SUBSCRIBE went out: the subscription holds once its SUBACK says so.
    pub subscribing: bool,
}

/// What went wrong with a connection: retry, or give up.
pub(crate) enum ConnectError {
    /// Network trouble or a broker that went away: worth another attempt.
    Retry(String),
    /// The broker refused us (credentials, client id): retrying cannot help.
    Fatal(IngestError),
}

impl From<std::io::Error> for ConnectError {
    fn from(e: std::io::Error) -> Self {
        ConnectError::Retry(e.to_string())
    }
}

/// Connects, logs in with a persistent session, and subscribes (QoS 1) when the broker has no
/// session for this client id. The SUBACK arrives through [`next_packet`] like any other packet.
pub(crate) async fn connect(cfg: &IngestConfig) -> Result<Session, ConnectError> {
    let (mut reader, mut writer) = open(cfg).await?;
    let mut out = BytesMut::new();
    cfg.protocol
        .connect(cfg, &mut out)
        .map_err(ConnectError::Retry)?;
    writer.write_all(&out).await?;
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let ack = tokio::time::timeout(
        CONNECT_TIMEOUT,
        next_packet(cfg.protocol, &mut reader, &mut buf),
    )
    .await
    .map_err(|_| ConnectError::Retry("no CONNACK".into()))?
    .map_err(ConnectError::Retry)?;
    let ack = match ack {
        Incoming::ConnAck(a) => a,
        other => {
            return Err(ConnectError::Retry(format!(
                "expected CONNACK, got {other:?}"
            )));
        }
    };
    if let Some(why) = ack.refused {
        return Err(ConnectError::Fatal(IngestError::Refused(why)));
    }
    if let (MqttVersion::V5 { session_expiry }, Some(granted)) = (cfg.protocol, ack.session_expiry)
        && granted < session_expiry
    {
        tracing::warn!(
            asked_secs = session_expiry.as_secs(),
            granted_secs = granted.as_secs(),
            "the broker keeps our session for less time than configured: messages published \
             while Forewarn is stopped longer than that are lost"
        );
    }
    out.clear();
    let subscribing = subscribe(cfg, ack.session_present, &mut out)?;
    writer.write_all(&out).await?;
    Ok(Session {
        reader,
        writer,
        buf,
        session_present: ack.session_present,
        keep_alive: ack.keep_alive.unwrap_or(cfg.keep_alive),
        subscribing,
    })
}

/// What to send after CONNACK: SUBSCRIBE when the broker has no session for us, or when the
/// session holds another filter than the configured one (which is then unsubscribed) — or, with
/// nothing recorded, may. Whether a SUBSCRIBE was written.
fn subscribe(
    cfg: &IngestConfig,
    session_present: bool,
    out: &mut BytesMut,
) -> Result<bool, ConnectError> {
    let recorded = recorded_subscription(cfg);
    if session_present && recorded.as_deref() == Some(cfg.subscription.as_str()) {
        return Ok(false);
    }
    if session_present && let Some(old) = &recorded {
        tracing::info!(old = %old, new = %cfg.subscription, "the subscription changed: replacing it");
        cfg.protocol
            .unsubscribe(old, out)
            .map_err(ConnectError::Retry)?;
    }
    cfg.protocol
        .subscribe(&cfg.subscription, out)
        .map_err(ConnectError::Retry)?;
    Ok(true)
}

/// The filter recorded as held by the broker's session, if any.
pub(crate) fn recorded_subscription(cfg: &IngestConfig) -> Option<String> {
    let path = cfg.subscription_record.as_ref()?;
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim_end().to_string())
}

/// Records that the broker's session holds the configured filter (written to a temporary file
/// and renamed, so a crash leaves the old record or the new one).
pub(crate) fn record_subscription(cfg: &IngestConfig) {
    let Some(path) = &cfg.subscription_record else {
        return;
    };
    let tmp = path.with_extension("tmp");
    let written = std::fs::write(&tmp, format!("{}\n", cfg.subscription))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), error = %e, "cannot record the MQTT subscription");
    }
}

/// A TCP connection to the broker, wrapped in TLS when configured (the server's certificate is
/// always verified), split in halves.
async fn open(cfg: &IngestConfig) -> Result<(Reader, Writer), ConnectError> {
    let stream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((cfg.host.as_str(), cfg.port)),
    )
    .await
    .map_err(|_| ConnectError::Retry("connect timed out".into()))??;
    stream.set_nodelay(true)?;
    let Some(tls) = &cfg.tls else {
        let (r, w) = stream.into_split();
        return Ok((Box::new(r), Box::new(w)));
    };
    let name = rustls::pki_types::ServerName::try_from(tls.server_name.clone()).map_err(|e| {
        ConnectError::Fatal(IngestError::Tls(format!(
            "{:?} is not a server name: {e}",
            tls.server_name
        )))
    })?;
    let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, stream))
        .await
        .map_err(|_| ConnectError::Retry("TLS handshake timed out".into()))?
        .map_err(|e| ConnectError::Retry(format!("TLS handshake failed: {e}")))?;
    let (r, w) = tokio::io::split(stream);
    Ok((Box::new(r), Box::new(w)))
}

/// Reads until a whole packet is there.
pub(crate) async fn next_packet(
    version: MqttVersion,
    reader: &mut Reader,
    buf: &mut BytesMut,
) -> Result<Incoming, String> {
    loop {
        if let Some(p) = version.read(buf)? {
            return Ok(p);
        }
        match reader.read_buf(buf).await {
            Ok(0) => return Err("connection closed by the broker".into()),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}
