//! The API against its own OpenAPI document, as a client generator sees it: schemathesis (from
//! PyPI; `scripts/test.sh` installs it) fuzzes every operation with an admin token over a
//! running service with data in it — no 5xx, every response in its documented schema and content
//! type — and again with a viewer's token (reads answer, every write is a documented 403). Every
//! write, without a token and with a viewer's, is refused (401, 403).

use forewarn::mosquitto::{Mosquitto, free_port};
use forewarn_tests::*;

/// The schemathesis command: `FOREWARN_SCHEMATHESIS`, or `schemathesis` on the PATH.
fn schemathesis() -> String {
    std::env::var("FOREWARN_SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".into())
}

fn config(broker: u16) -> String {
    let mut c = format!("[mqtt]\nport = {broker}\nclient_id = \"forewarn-schemathesis\"\n");
    for (i, ty) in [
        (1, "centrifugal_pump"),
        (2, "electric_motor"),
        (3, "centrifugal_pump"),
    ] {
        c.push_str(&format!(
            "\n[[assets]]\nid = \"asset-{i}\"\nsite = \"site-a\"\nasset_type = \"{ty}\"\ncriticality = \"high\"\n"
        ));
    }
    c
}

/// Stores, a crew and tickets, so operations have something to find.
async fn seed(addr: std::net::SocketAddr, admin: &str) {
    let t = Some(admin);
    for (path, body) in [
        (
            "/api/v1/sites",
            r#"{"id":"site-a","name":"Plant A","lat":48.1,"lon":11.6}"#,
        ),
        (
            "/api/v1/warehouses",
            r#"{"id":"1","name":"Stores","site":"site-a","lat":48.1,"lon":11.6}"#,
        ),
        (
            "/api/v1/technicians",
            r#"{"id":"1","name":"Ann","skills":["*"],"site":"site-a","shift_start":"00:00","shift_end":"24:00","work_days":["mon","tue","wed","thu","fri","sat","sun"]}"#,
        ),
        (
            "/api/v1/stock/receive",
            r#"{"warehouse_id":"1","part_number":"BRG-6309-2RS","quantity":3}"#,
        ),
        (
            "/api/v1/webhooks",
            r#"{"url":"https://hooks.example.com/forewarn","events":["sla.*"]}"#,
        ),
    ] {
        let (s, b) = http_send(addr, "POST", path, t, body).await;
        assert!(s == 200 || s == 201, "{path}: {s} {b}");
    }
    for i in 1..=3 {
        let mode = if i == 2 {
            "winding_overheating"
        } else {
            "bearing_wear"
        };
        let f = format!(
            r#"{{"asset_id":"asset-{i}","failure_mode":"{mode}","severity":"high","score":6,"source":"seed"}}"#
        );
        let (s, b) = http_send(addr, "POST", "/api/v1/findings", t, &f).await;
        assert_eq!(s, 201, "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_keeps_to_its_openapi_document_and_refuses_writes_without_the_role() {
    let st = schemathesis();
    let found = std::process::Command::new(&st).arg("--version").output();
    assert!(
        found.as_ref().is_ok_and(|o| o.status.success()),
        "schemathesis is needed ({st}): run scripts/test.sh, or pip install schemathesis"
    );
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let admin = create_token(&dir.path().join("data"), "admin", "admin");
    let viewer = create_token(&dir.path().join("data"), "viewer", "viewer");
    let http = format!("127.0.0.1:{}", free_port().unwrap());
    let addr: std::net::SocketAddr = http.parse().unwrap();
    let svc = ServiceProcess::start_config(dir.path(), &config(broker.port), &http, &[]);
    wait_for_api(addr).await;
    seed(addr, &admin).await;

    // Every write refuses a missing token and a viewer's, before looking at anything else.
    let (_, body) = http_get(addr, "/api/v1/openapi.json").await;
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut writes = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method == "get" {
                continue;
            }
            assert!(
                op["security"].is_array(),
                "{method} {path} names no security"
            );
            let concrete = path
                .replace("{id}", "1")
                .replace("{kind}", "parts")
                .replace("{warehouse}", "1")
                .replace("{part}", "BRG-6309-2RS");
            let m = method.to_uppercase();
            let (s, b) = http_send(addr, &m, &concrete, None, "{}").await;
            assert_eq!(s, 401, "{m} {path} without a token: {b}");
            let (s, b) = http_send(addr, &m, &concrete, Some(&viewer), "{}").await;
            assert_eq!(s, 403, "{m} {path} with a viewer's token: {b}");
            writes += 1;
        }
    }
    assert!(writes >= 21, "{writes} write operations");

    // An admin reaches everything; a viewer reads everything and is refused every write
    // (documented 403s), and neither meets a 5xx.
    fuzz(
        &st,
        addr,
        &admin,
        &dir.path().join("schemathesis-admin"),
        25,
    )
    .await;
    fuzz(
        &st,
        addr,
        &viewer,
        &dir.path().join("schemathesis-viewer"),
        10,
    )
    .await;
    assert!(svc.terminate(), "graceful stop after the fuzzing");
}

/// Runs schemathesis over every operation with `token`: no 5xx, every answer in its documented
/// schema and content type.
async fn fuzz(st: &str, http: std::net::SocketAddr, token: &str, report: &std::path::Path, n: u32) {
    let out = tokio::process::Command::new(st)
        .args(["run", &format!("http://{http}/api/v1/openapi.json")])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,content_type_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        // The event stream never ends: it is an SSE endpoint, tested in the API tests.
        .args(["--exclude-path", "/api/v1/events"])
        .args(["--max-examples", &n.to_string(), "--seed", "20261124"])
        .args(["--workers", "2", "--request-timeout", "20", "--no-color"])
        .arg("--report-dir")
        .arg(report)
        .output()
        .await
        .expect("run schemathesis");
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = text
        .lines()
        .skip_while(|l| !l.contains("SUMMARY"))
        .collect::<Vec<_>>()
        .join("\n");
    println!("{summary}");
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
