//! The door closed, as shipped: every GET of the OpenAPI document answers 401 without a token
//! and 200 or 404 with a viewer's; probes and the document stay open; Host names that could be
//! DNS rebinding are refused; the language switch cannot leave the site; security headers on
//! every answer; no path in an error body; sign-out ends the session.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use forewarn_domain::AccessEvent;
use forewarn_maintenance::Role;

use super::tests::{send, state};
use super::*;

/// The test state with the shipped settings: reads need a token.
async fn closed(dir: &std::path::Path) -> (Router, AppState) {
    let mut s = state(dir).await;
    s.access = Arc::new(Access::default());
    (router(s.clone()), s)
}

/// A request with headers; status, headers and body.
async fn ask(
    app: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// Every GET path of the served OpenAPI document, its parameters filled with the test state's
/// asset, ticket and sensor (so most answer 200), required query parameters with values.
async fn documented_reads(app: &Router) -> Vec<String> {
    let (s, _, doc) = ask(app, "GET", "/api/v1/openapi.json", &[], "").await;
    assert_eq!(s, StatusCode::OK, "the document is public");
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else { continue };
        let mut uri = path
            .replace("{id}", "1")
            .replace("{asset}", "pump-0001")
            .replace("{sensor}", "flow");
        let required: Vec<String> = get["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query" && p["required"] == true)
            .map(|p| {
                let name = p["name"].as_str().unwrap();
                let value = match name {
                    "sensor" => "flow",
                    "assets" => "pump-0001",
                    "at" | "from" => "1780000000000",
                    "to" => "1780000001000",
                    _ => "1",
                };
                format!("{name}={value}")
            })
            .collect();
        if !required.is_empty() {
            uri = format!("{uri}?{}", required.join("&"));
        }
        out.push(uri);
    }
    out
}

/// Reads only an admin may make: webhook subscriptions carry their receivers' URLs and secrets.
const ADMIN_READS: [&str; 1] = ["/api/v1/webhooks"];

#[tokio::test]
async fn every_documented_read_needs_a_token_of_any_role() {
    let dir = tempfile::tempdir().unwrap();
    let (app, s) = closed(dir.path()).await;
    let viewer = s.db.create_token("watcher", Role::Viewer).await.unwrap();
    let reads = documented_reads(&app).await;
    assert!(reads.len() >= 30, "{reads:?}");
    let bearer = format!("Bearer {viewer}");
    for uri in &reads {
        if uri == "/api/v1/events" {
            continue; // a stream: checked below without waiting for its end
        }
        let (anon, headers, body) = ask(&app, "GET", uri, &[], "").await;
        let open = matches!(uri.as_str(), "/healthz" | "/readyz");
        if open {
            assert_ne!(anon, StatusCode::UNAUTHORIZED, "{uri}");
            continue;
        }
        assert_eq!(anon, StatusCode::UNAUTHORIZED, "{uri}: {body}");
        assert_eq!(headers["www-authenticate"], "Bearer", "{uri}");
        let (with, _, body) = ask(&app, "GET", uri, &[("authorization", &bearer)], "").await;
        if ADMIN_READS.iter().any(|p| uri.starts_with(p)) {
            assert_eq!(with, StatusCode::FORBIDDEN, "{uri}: {body}");
            continue;
        }
        assert!(
            with == StatusCode::OK || with == StatusCode::NOT_FOUND,
            "{uri} with a viewer's token: {with} {body}"
        );
    }
    let (s_, _, _) = ask(&app, "GET", "/api/v1/events", &[], "").await;
    assert_eq!(s_, StatusCode::UNAUTHORIZED);
    assert!(s.metrics.accesses(AccessEvent::RefusedRead) >= reads.len() as u64 - 3);
}

#[tokio::test]
async fn revoked_and_unknown_tokens_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (app, s) = closed(dir.path()).await;
    let token = s.db.create_token("leaver", Role::Planner).await.unwrap();
    let (ok, _) = send(&app, "GET", "/api/v1/tickets", Some(&token), "").await;
    assert_eq!(ok, StatusCode::OK);
    assert!(s.db.revoke_token("leaver").await.unwrap());
    let (gone, body) = send(&app, "GET", "/api/v1/tickets", Some(&token), "").await;
    assert_eq!(gone, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("revoked"), "{body}");
    let expired =
        s.db.create_token_expiring("temp", Role::Admin, Some(chrono::Duration::seconds(-5)))
            .await
            .unwrap();
    let (s2, _) = send(&app, "GET", "/api/v1/tickets", Some(&expired), "").await;
    assert_eq!(s2, StatusCode::UNAUTHORIZED);
    let write = r#"{"to":"acknowledged"}"#;
    let (s3, _) = send(
        &app,
        "POST",
        "/api/v1/tickets/1/transition",
        Some(&expired),
        write,
    )
    .await;
    assert_eq!(
        s3,
        StatusCode::UNAUTHORIZED,
        "an expired token writes nothing"
    );
    assert!(s.metrics.accesses(AccessEvent::UnknownToken) >= 3);
}

#[tokio::test]
async fn metrics_need_a_token_unless_public_and_probes_stay_open() {
    let dir = tempfile::tempdir().unwrap();
    let (app, s) = closed(dir.path()).await;
    let (m, _, _) = ask(&app, "GET", "/metrics", &[], "").await;
    assert_eq!(m, StatusCode::UNAUTHORIZED);
    let (h, _, _) = ask(&app, "GET", "/healthz", &[], "").await;
    assert_eq!(h, StatusCode::OK);
    let mut s = s.clone();
    s.access = Arc::new(Access {
        metrics_public: true,
        ..Access::default()
    });
    // Tokens made and revoked elsewhere (the CLI) show in the next scrape, counted from SQL.
    s.db.create_token("m-planner", Role::Planner).await.unwrap();
    s.db.create_token("m-gone", Role::Planner).await.unwrap();
    assert!(s.db.revoke_token("m-gone").await.unwrap());
    let (m, _, body) = ask(&router(s), "GET", "/metrics", &[], "").await;
    assert_eq!(m, StatusCode::OK);
    assert!(
        body.contains("forewarn_access_events_total{event=\"refused_read\"}"),
        "{body}"
    );
    for line in [
        "forewarn_api_tokens{role=\"planner\",state=\"active\"} 1",
        "forewarn_api_tokens{role=\"planner\",state=\"revoked\"} 1",
        "forewarn_api_tokens{role=\"viewer\",state=\"expired\"} 0",
    ] {
        assert!(body.contains(line), "{line} in {body}");
    }
}

#[tokio::test]
async fn a_rebinding_host_is_refused_and_headers_guard_every_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (app, s) = closed(dir.path()).await;
    let viewer = s.db.create_token("v", Role::Viewer).await.unwrap();
    let bearer = format!("Bearer {viewer}");
    let (st, h, body) = ask(
        &app,
        "GET",
        "/api/v1/tickets",
        &[("host", "evil.example:8080"), ("authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(st, StatusCode::MISDIRECTED_REQUEST, "{body}");
    assert!(body.contains("allowed_hosts"), "{body}");
    assert!(h.contains_key("content-security-policy"));
    for host in ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"] {
        let (st, h, _) = ask(
            &app,
            "GET",
            "/api/v1/tickets",
            &[("host", host), ("authorization", &bearer)],
            "",
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{host}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(h.contains_key("referrer-policy"));
    }
    let (st, _, _) = ask(&app, "GET", "/healthz", &[("host", "evil.example")], "").await;
    assert_eq!(st, StatusCode::OK, "probes are asked by address");
    let mut named = s.clone();
    named.access = Arc::new(Access {
        allowed_hosts: vec!["forewarn.plant.example".into()],
        ..Access::default()
    });
    let (st, _, _) = ask(
        &router(named),
        "GET",
        "/api/v1/tickets",
        &[
            ("host", "forewarn.plant.example"),
            ("authorization", &bearer),
        ],
        "",
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(s.metrics.accesses(AccessEvent::RefusedHost), 1);
}

#[tokio::test]
async fn no_redirect_leaves_the_site() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _) = closed(dir.path()).await;
    for back in [
        "/%09/evil.example",
        "//evil.example",
        "/%5Cevil.example",
        "%2F%2Fevil.example",
        "/%0A/evil.example",
        "https://evil.example/",
        "/%20/evil.example",
    ] {
        let (st, h, _) = ask(&app, "GET", &format!("/ui/lang/zh?back={back}"), &[], "").await;
        assert_eq!(st, StatusCode::SEE_OTHER, "{back}");
        assert_eq!(h["location"], "/", "{back}");
    }
    let (_, h, _) = ask(&app, "GET", "/ui/lang/zh?back=/ui/tickets%3Fq%3Dp", &[], "").await;
    assert_eq!(
        h["location"], "/ui/tickets?q=p",
        "a path of the site is kept"
    );
}

#[tokio::test]
async fn sign_in_is_a_form_and_sign_out_ends_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let (app, s) = closed(dir.path()).await;
    let token = s.db.create_token("pia", Role::Planner).await.unwrap();
    let (st, h, _) = ask(&app, "GET", &format!("/ui/signin?token={token}"), &[], "").await;
    assert_eq!(st, StatusCode::OK, "a token in a URL signs nobody in");
    assert!(!h.contains_key("set-cookie"));
    let form = format!("token={token}&next=%2Fui%2Ftickets");
    let form_type = ("content-type", "application/x-www-form-urlencoded");
    let (st, h, _) = ask(&app, "POST", "/ui/signin", &[form_type], &form).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(h["location"], "/ui/tickets");
    let set = h["set-cookie"].to_str().unwrap().to_owned();
    let cookie = set.split(';').next().unwrap().to_owned();
    assert!(!cookie.contains(&token));
    let (st, _, _) = ask(&app, "GET", "/ui/tickets", &[("cookie", &cookie)], "").await;
    assert_eq!(st, StatusCode::OK);
    // The dashboards' live updates read the API with the session.
    let (st, _, _) = ask(&app, "GET", "/api/v1/kpis", &[("cookie", &cookie)], "").await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, _) = ask(&app, "POST", "/ui/signout", &[("cookie", &cookie)], "").await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (st, h, _) = ask(&app, "GET", "/ui/tickets", &[("cookie", &cookie)], "").await;
    assert_eq!(st, StatusCode::SEE_OTHER, "the old cookie is worthless");
    assert!(h["location"].to_str().unwrap().starts_with("/ui/signin"));
    assert_eq!(s.metrics.accesses(AccessEvent::SignIn), 1);
    assert_eq!(s.metrics.accesses(AccessEvent::SignOut), 1);
    let once = s.db.signin_link(&token).await.unwrap().unwrap();
    let (st, _, _) = ask(&app, "GET", &format!("/ui/signin?once={once}"), &[], "").await;
    assert_eq!(st, StatusCode::SEE_OTHER, "a one-time link signs in");
    let (st, _, _) = ask(&app, "GET", &format!("/ui/signin?once={once}"), &[], "").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "once");
}

#[tokio::test]
async fn a_technician_acts_only_on_their_own_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let (app, s) = closed(dir.path()).await;
    for t in ["tom", "ann"] {
        s.db.put_technician(&super::ui_tests::tech(t))
            .await
            .unwrap();
    }
    s.db.assign(1, "planner", Some("tom"), None).await.unwrap();
    let tom = s.db.create_token("tom", Role::Technician).await.unwrap();
    let ann = s.db.create_token("ann", Role::Technician).await.unwrap();
    let start = r#"{"to":"in_progress"}"#;
    let note = r#"{"kind":"note","text":"on my way"}"#;
    let consume = r#"{"part_number":"BRG-6309-2RS","quantity":1}"#;
    for (uri, body) in [
        ("/api/v1/tickets/1/transition", start),
        ("/api/v1/tickets/1/notes", note),
        ("/api/v1/tickets/1/parts/issue", "{}"),
        ("/api/v1/tickets/1/parts/consume", consume),
        ("/api/v1/tickets/1/parts/return", consume),
    ] {
        let (st, b) = send(&app, "POST", uri, Some(&ann), body).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{uri}: {b}");
        assert!(b.contains("assigned to tom"), "{uri}: {b}");
    }
    let (st, b) = send(
        &app,
        "POST",
        "/api/v1/tickets/1/transition",
        Some(&tom),
        start,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, b) = send(&app, "POST", "/api/v1/tickets/1/notes", Some(&tom), note).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert!(s.metrics.accesses(AccessEvent::RefusedWrite) >= 5);
}

#[tokio::test]
async fn webhooks_to_private_addresses_need_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let (app, s) = closed(dir.path()).await;
    let admin = s.db.create_token("root", Role::Admin).await.unwrap();
    for url in [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/",
        "http://localhost/x",
    ] {
        let body = format!(r#"{{"url":"{url}","events":["*"]}}"#);
        let (st, b) = send(&app, "POST", "/api/v1/webhooks", Some(&admin), &body).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{url}: {b}");
        assert!(b.contains("allow_private"), "{b}");
    }
    let public = r#"{"url":"https://hooks.example.com/x","events":["*"]}"#;
    let (st, b) = send(&app, "POST", "/api/v1/webhooks", Some(&admin), public).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let mut lab = s.clone();
    lab.access = Arc::new(Access {
        allow_private_webhooks: true,
        ..Access::default()
    });
    let local = r#"{"url":"http://127.0.0.1:9/hook","events":["*"]}"#;
    let (st, b) = send(
        &router(lab),
        "POST",
        "/api/v1/webhooks",
        Some(&admin),
        local,
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
}

#[tokio::test]
async fn event_streams_stop_at_their_cap_and_free_their_place_when_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut s) = closed(dir.path()).await;
    s.access = Arc::new(Access {
        anonymous_read: true,
        max_event_streams: 1,
        ..Access::default()
    });
    let metrics = s.metrics.clone();
    let app = router(s);
    let open = || {
        app.clone()
            .oneshot(Request::get("/api/v1/events").body(Body::empty()).unwrap())
    };
    let first = open().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(metrics.event_streams.get(), 1);
    let second = open().await.unwrap();
    assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = second.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("max_event_streams"));
    assert_eq!(metrics.event_streams_refused.get(), 1);
    // The client goes: its place is free again.
    drop(first);
    assert_eq!(metrics.event_streams.get(), 0);
    assert_eq!(open().await.unwrap().status(), StatusCode::OK);
}
