//! The MQTT 3.1.1 session of ingest: TCP, CONNECT with a persistent session, SUBSCRIBE when the
//! broker has no session for us, and packet framing — on rumqttc's packet codec (`mqttbytes`).
//!
//! Ingest drives the socket itself rather than through rumqttc's event loop because that loop
//! writes and flushes every acknowledgement on its own (one syscall per PUBACK, one wake-up per
//! event); here the reading half and the writing half are separate tasks, and all PUBACKs of a
//! durable batch leave in one write.

use std::time::Duration;

use bytes::BytesMut;
use rumqttc::{ConnectReturnCode, Packet, QoS, Subscribe};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{IngestConfig, IngestError};

/// Incoming packets can be far larger than any accepted payload: the payload limit is enforced by
/// `decode`, which rejects and acknowledges, instead of here, which would drop the connection.
pub(crate) const MAX_PACKET_BYTES: usize = 16 * 1024 * 1024;
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

/// Connects, logs in with `clean_session = false`, and subscribes (QoS 1) when the broker has no
/// session for this client id. The SUBACK arrives through [`next_packet`] like any other packet.
pub(crate) async fn connect(cfg: &IngestConfig) -> Result<Session, ConnectError> {
    let (mut reader, mut writer) = open(cfg).await?;
    let mut connect = rumqttc::Connect::new(cfg.client_id.clone());
    connect.keep_alive = cfg.keep_alive.as_secs().clamp(1, u16::MAX as u64) as u16;
    connect.clean_session = false;
    if let Some((user, pass)) = &cfg.credentials {
        connect.set_login(user.clone(), pass.clone());
    }
    let mut out = BytesMut::new();
    Packet::Connect(connect)
        .write(&mut out, MAX_PACKET_BYTES)
        .map_err(|e| ConnectError::Retry(e.to_string()))?;
    writer.write_all(&out).await?;
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let ack = tokio::time::timeout(CONNECT_TIMEOUT, next_packet(&mut reader, &mut buf))
        .await
        .map_err(|_| ConnectError::Retry("no CONNACK".into()))?
        .map_err(ConnectError::Retry)?;
    let session_present = match ack {
        Packet::ConnAck(a) if a.code == ConnectReturnCode::Success => a.session_present,
        Packet::ConnAck(a) => return Err(ConnectError::Fatal(IngestError::Refused(a.code))),
        other => {
            return Err(ConnectError::Retry(format!(
                "expected CONNACK, got {other:?}"
            )));
        }
    };
    if !session_present {
        let mut sub = Subscribe::new(cfg.subscription.clone(), QoS::AtLeastOnce);
        sub.pkid = 1;
        out.clear();
        Packet::Subscribe(sub)
            .write(&mut out, MAX_PACKET_BYTES)
            .map_err(|e| ConnectError::Retry(e.to_string()))?;
        writer.write_all(&out).await?;
    }
    Ok(Session {
        reader,
        writer,
        buf,
        session_present,
    })
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

/// The next whole packet already in `buf`, if any.
pub(crate) fn framed(buf: &mut BytesMut) -> Result<Option<Packet>, String> {
    match Packet::read(buf, MAX_PACKET_BYTES) {
        Ok(p) => Ok(Some(p)),
        Err(rumqttc::mqttbytes::Error::InsufficientBytes(n)) => {
            buf.reserve(n);
            Ok(None)
        }
        Err(e) => Err(format!("malformed packet from the broker: {e:?}")),
    }
}

/// Reads until a whole packet is there.
pub(crate) async fn next_packet(reader: &mut Reader, buf: &mut BytesMut) -> Result<Packet, String> {
    loop {
        if let Some(p) = framed(buf)? {
            return Ok(p);
        }
        match reader.read_buf(buf).await {
            Ok(0) => return Err("connection closed by the broker".into()),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}
