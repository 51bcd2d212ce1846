//! Running out of descriptors (issue 21: idle connections, slow clients — no cap, no header-read
//! timeout — made WAL rotation or a Parquet create fail and stopped the service). Now connections
//! stop at `[http] max_connections` (past it: 503 and closed, counted), a client trickling its
//! headers is dropped after `header_timeout_secs`, and the service goes on.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use forewarn_tests::*;

/// Reads until the server closes the connection (or `limit` passes); what it sent.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut out = Vec::new();
    match tokio::time::timeout(limit, stream.read_to_end(&mut out)).await {
        Ok(_) => Some(String::from_utf8_lossy(&out).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_and_slow_clients_no_longer_exhaust_descriptors() {
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(broker.port, "forewarn-http-limits");
    c.http.max_connections = 4;
    c.http.header_timeout_secs = 3;
    let svc = InProcess::start(c, dir.path()).await;
    let addr = svc.handle.http_addr;

    // Four clients that connect and trickle half a request: they hold every slot.
    let started = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: loc")
            .await
            .unwrap();
        slow.push(s);
    }
    let m = svc.handle.metrics.clone();
    assert!(
        eventually(Duration::from_secs(5), async || m.http_connections.get()
            == 4)
        .await,
        "four connections open"
    );
    // A fifth is refused at once with a reason, and counted.
    let mut fifth = TcpStream::connect(addr).await.unwrap();
    let refused = read_to_close(&mut fifth, Duration::from_secs(5))
        .await
        .expect("the refusal closes the connection");
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("too many open connections"), "{refused}");
    assert_eq!(m.http_connections_refused.get(), 1);

    // The slow clients are dropped once their headers are overdue, not kept for ever.
    for s in &mut slow {
        read_to_close(s, Duration::from_secs(20))
            .await
            .expect("a slow client is disconnected");
    }
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "dropped for the header timeout, not before"
    );
    assert!(
        eventually(Duration::from_secs(5), async || m.http_connections.get()
            == 0)
        .await,
        "their slots are given back"
    );
    // And the service answers again.
    let (status, _) = http_get(addr, "/healthz").await;
    assert_eq!(status, 200);
    let (_, metrics) = http_get(addr, "/readyz").await;
    assert!(metrics.contains("\"status\""), "{metrics}");
    svc.stop().await.unwrap();
}
