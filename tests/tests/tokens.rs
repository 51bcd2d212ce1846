//! Token rotation from the command line against a running service: `forewarn token create
//! --expires-in`, `list` and `revoke`; the service refuses a revoked token on its next request
//! and ends its dashboard sessions.

use std::process::Command;

use forewarn::mosquitto::{Mosquitto, free_port};
use forewarn_tests::*;

fn token_cmd(data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(forewarn_bin())
        .arg("token")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("run forewarn token");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_listed_rotated_and_revoked_while_the_service_runs() {
    let broker = Mosquitto::start().expect("mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let old = create_token(&data, "planner", "integration");
    let (ok, new, err) = token_cmd(
        &data,
        &[
            "create",
            "--role",
            "planner",
            "--name",
            "integration-2",
            "--expires-in",
            "90d",
        ],
    );
    assert!(ok, "{err}");
    assert!(err.contains("expires 20"), "{err}");
    let new = new.trim().to_owned();
    let http = format!("127.0.0.1:{}", free_port().unwrap());
    let addr: std::net::SocketAddr = http.parse().unwrap();
    let config = format!(
        "[mqtt]\nport = {}\nclient_id = \"forewarn-tokens\"\n",
        broker.port
    );
    let svc = ServiceProcess::start_config(dir.path(), &config, &http, &[]);
    wait_for_api(addr).await;
    for t in [&old, &new] {
        let (s, body) = http_send(addr, "GET", "/api/v1/tickets", Some(t), "").await;
        assert_eq!(s, 200, "{body}");
    }
    // A dashboard session of the old token.
    let form = format!("token={old}&next=%2F");
    let form_type = ("Content-Type", "application/x-www-form-urlencoded");
    let a = forewarn::http1::exchange(addr, "POST", "/ui/signin", &[form_type], &form)
        .await
        .unwrap();
    let cookie = a
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    // Rotation: the old one revoked while the service runs.
    let (ok, _, err) = token_cmd(&data, &["revoke", "integration"]);
    assert!(ok, "{err}");
    let (s, body) = http_send(addr, "GET", "/api/v1/tickets", Some(&old), "").await;
    assert_eq!(s, 401, "refused at once: {body}");
    let (s, _) = forewarn::http1::request(addr, "GET", "/", &[("Cookie", &cookie)], "")
        .await
        .unwrap();
    assert_eq!(s, 303, "its session ended with it");
    let (s, _) = http_send(addr, "GET", "/api/v1/tickets", Some(&new), "").await;
    assert_eq!(s, 200, "the new one works");

    let (ok, list, _) = token_cmd(&data, &["list"]);
    assert!(ok);
    let line = |name: &str| {
        list.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not listed: {list}"))
            .to_owned()
    };
    assert!(line("integration").contains("refused"), "{list}");
    let fresh = line("integration-2");
    assert!(
        fresh.contains("active") && fresh.matches("20").count() >= 3,
        "{list}"
    );
    assert!(
        !list.contains(&new) && !list.contains(&old),
        "no secret is listed"
    );
    let (ok, _, err) = token_cmd(&data, &["revoke", "integration"]);
    assert!(!ok && err.contains("no active token"), "{err}");
    assert!(svc.terminate());
}
