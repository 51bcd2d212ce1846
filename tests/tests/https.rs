//! HTTPS with certificates made at test time, fetched by a real client (curl): the service
//! answers over TLS with the configured chain, a client trusting another CA refuses it, plain
//! HTTP on the TLS port gets nothing, and the dashboard session cookie is `Secure`.

use std::process::Command;

use forewarn::mosquitto::{Mosquitto, free_port};
use forewarn_tests::pki::Pki;
use forewarn_tests::*;

/// `curl` against the service: its exit code and what it printed (headers with `-i`).
fn curl(args: &[&str]) -> (i32, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl is installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_answers_over_https_with_its_certificate() {
    let pki = Pki::new();
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let admin = create_token(&dir.path().join("data"), "admin", "admin");
    let port = free_port().unwrap();
    let http = format!("127.0.0.1:{port}");
    let config = format!(
        "[mqtt]\nport = {}\nclient_id = \"forewarn-https\"\n\n[http.tls]\ncert_file = {:?}\nkey_file = {:?}\n",
        broker.port, pki.server_cert, pki.server_key
    );
    let svc = ServiceProcess::start_config(dir.path(), &config, &http, &[]);
    let base = format!("https://localhost:{port}");
    let ca = pki.ca.to_str().unwrap();
    let up = eventually(std::time::Duration::from_secs(30), async || {
        curl(&["--cacert", ca, &format!("{base}/healthz")]).0 == 0
    })
    .await;
    assert!(
        up,
        "{:?}",
        curl(&["--cacert", ca, &format!("{base}/healthz")])
    );

    let auth = format!("Authorization: Bearer {admin}");
    let (code, body) = curl(&["--cacert", ca, "-H", &auth, &format!("{base}/api/v1/kpis")]);
    assert_eq!(code, 0, "{body}");
    assert!(body.contains("open_tickets"), "{body}");
    // Trusting somebody else's CA: the handshake is refused (curl 60: peer certificate).
    let other = pki.other_ca.to_str().unwrap();
    let (code, body) = curl(&["--cacert", other, &format!("{base}/healthz")]);
    assert_eq!(code, 60, "{body}");
    // Plain HTTP on the TLS port gets no HTTP answer.
    let (code, body) = curl(&[&format!("http://127.0.0.1:{port}/healthz")]);
    assert_ne!(code, 0, "{body}");
    // Signing in over HTTPS: the session cookie is Secure.
    let (code, head) = curl(&[
        "--cacert",
        ca,
        "-i",
        "-d",
        &format!("token={admin}&next=%2F"),
        &format!("{base}/ui/signin"),
    ]);
    assert_eq!(code, 0, "{head}");
    let cookie = head
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: forewarn_session=")
        })
        .unwrap_or_else(|| panic!("no session cookie: {head}"));
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(svc.terminate());
}

#[test]
fn a_key_that_does_not_match_its_certificate_stops_the_start_with_why() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("forewarn.toml");
    std::fs::write(
        &conf,
        format!(
            "[mqtt]\nport = 1\n\n[http.tls]\ncert_file = {:?}\nkey_file = {:?}\n",
            pki.server_cert, pki.client_key
        ),
    )
    .unwrap();
    let out = Command::new(forewarn_bin())
        .args(["run", "--config"])
        .arg(&conf)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--http", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("do not match"), "{err}");
}
