//! Dashboard tests through `Router::oneshot`: sign-in and its cookie, every page with the data it
//! must show, the language switch, and the planner's and technician's actions — including the
//! refusals (role, foreign origin, bad forms) as 4xx pages. The browser tests drive the same
//! pages in Chromium (`tests/tests/dashboards.rs`).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use forewarn_maintenance::Role;
use forewarn_maintenance::dispatch::Technician;
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::tests::state;
use super::*;

struct Browser {
    app: Router,
    cookie: String,
}

impl Browser {
    async fn get(&self, uri: &str) -> (StatusCode, String, Option<String>) {
        let req = Request::get(uri)
            .header(header::COOKIE, &self.cookie)
            .body(Body::empty())
            .unwrap();
        send(&self.app, req).await
    }

    async fn post(&self, uri: &str, form: &str) -> (StatusCode, String, Option<String>) {
        let req = Request::post(uri)
            .header(header::COOKIE, &self.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "localhost:8080")
            .header(header::ORIGIN, "http://localhost:8080")
            .body(Body::from(form.to_owned()))
            .unwrap();
        send(&self.app, req).await
    }
}

/// Status, body, and where a redirect goes.
async fn send(app: &Router, req: Request<Body>) -> (StatusCode, String, Option<String>) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let location = res
        .headers()
        .get(header::LOCATION)
        .map(|l| l.to_str().unwrap().to_owned());
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        String::from_utf8_lossy(&body).into_owned(),
        location,
    )
}

async fn signed_in(app: &Router, token: &str, lang: &str) -> Browser {
    let res = app
        .clone()
        .oneshot(
            Request::post("/ui/signin")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("token={token}&next=%2Fui%2Ftickets")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/ui/tickets");
    let set = res.headers()[header::SET_COOKIE].to_str().unwrap();
    let session = set.split(';').next().unwrap();
    Browser {
        app: app.clone(),
        cookie: format!("{session}; forewarn_lang={lang}"),
    }
}

pub(crate) fn tech(id: &str) -> Technician {
    Technician {
        id: id.into(),
        name: format!("Tech {id}"),
        skills: vec!["*".into()],
        site: Some("site-a".into()),
        lat: None,
        lon: None,
        shift_start: "00:00".into(),
        shift_end: "24:00".into(),
        work_days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .map(String::from)
            .to_vec(),
        utc_offset_minutes: 0,
        active: true,
    }
}

#[tokio::test]
async fn pages_need_a_session_and_the_cookie_is_http_only() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path()).await;
    let token = st.db.create_token("pat", Role::Planner).await.unwrap();
    let app = router(st);
    for uri in [
        "/",
        "/ui/tickets",
        "/ui/tickets/1",
        "/ui/assets/pump-0001",
        "/ui/inventory",
        "/ui/technicians",
    ] {
        let (s, _, to) = send(&app, Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{uri}");
        assert!(to.unwrap().starts_with("/ui/signin?next=%2F"), "{uri}");
    }
    // A wrong token: the form again, 401, no cookie.
    let res = app
        .clone()
        .oneshot(
            Request::post("/ui/signin")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("token=fw_nope"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get(header::SET_COOKIE).is_none());
    // A token that could smuggle cookie attributes is refused before it is looked up.
    let (s, _, _) = send(
        &app,
        Request::post("/ui/signin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("token=fw_x%3B+Domain%3Devil"))
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The right one, posted: a session cookie the page's scripts cannot read.
    let res = app
        .clone()
        .oneshot(
            Request::post("/ui/signin")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("token={token}&next=//evil.example")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/", "no open redirect");
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("forewarn_session=fw_") && !cookie.contains(&token));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    // Signing out forgets it.
    let (s, _, _) = send(
        &app,
        Request::post("/ui/signout").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn every_page_shows_its_data_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path()).await;
    let token = st.db.create_token("vic", Role::Viewer).await.unwrap();
    let app = router(st);
    let en = signed_in(&app, &token, "en").await;
    let zh = signed_in(&app, &token, "zh").await;
    let pages: [(&str, &[&str], &str); 7] = [
        ("/ui/findings", &["Findings", "No findings."], "分析发现"),
        (
            "/",
            &["pump-0001", "site-a", "Act now", "SLA response"],
            "设备健康总览",
        ),
        (
            "/ui/tickets",
            &["#1 pump-0001", "Bearing wear", "P", "time to failure"],
            "工单看板",
        ),
        (
            "/ui/tickets/1",
            &["BRG-6309-2RS", "Audit trail", "Opened"],
            "审计记录",
        ),
        (
            "/ui/assets/pump-0001",
            &["flow", "Sensor history", "<svg"],
            "传感器历史",
        ),
        (
            "/ui/inventory",
            &["Inventory", "Open requisitions", "BRG-6309-2RS"],
            "未完成的请购",
        ),
        ("/ui/technicians", &["Technicians"], "技术员"),
    ];
    for (uri, want, chinese) in pages {
        let (s, body, _) = en.get(uri).await;
        assert_eq!(s, StatusCode::OK, "{uri}: {body}");
        for w in want {
            assert!(body.contains(w), "{uri} lacks {w:?}");
        }
        assert!(body.contains("<html lang=\"en\">"), "{uri}");
        let (s, body, _) = zh.get(uri).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
        assert!(body.contains(chinese), "{uri} lacks {chinese}");
        assert!(body.contains("<html lang=\"zh-CN\">"), "{uri}");
        let text = visible_text(&body);
        let english: Vec<&str> = forewarn_dashboards::i18n::english_labels()
            .filter(|label| label.chars().filter(char::is_ascii_alphabetic).count() >= 4)
            .filter(|label| text.contains(label))
            .collect();
        assert!(
            english.is_empty(),
            "{uri} in Chinese shows English labels {english:?}"
        );
    }
    // A viewer sees no actions.
    let (_, body, _) = en.get("/ui/tickets/1").await;
    assert!(body.contains("Your role cannot change this ticket."));
    assert!(!body.contains("/ui/tickets/1/transition"));
    // Every range of the asset page; raw points when close.
    for r in ["1h", "6h", "24h", "7d", "30d"] {
        let (s, _, _) = en.get(&format!("/ui/assets/pump-0001?range={r}")).await;
        assert_eq!(s, StatusCode::OK, "{r}");
    }
    // Bad requests are 4xx pages, never 500.
    for (uri, want) in [
        ("/ui/assets/pump-0001?range=2y", StatusCode::BAD_REQUEST),
        ("/ui/assets/nope", StatusCode::NOT_FOUND),
        ("/ui/assets/bad%20id", StatusCode::BAD_REQUEST),
        ("/ui/tickets/99", StatusCode::NOT_FOUND),
        ("/ui/tickets/x", StatusCode::BAD_REQUEST),
        ("/ui/tickets?priority=P9", StatusCode::BAD_REQUEST),
        ("/ui/technicians/nobody", StatusCode::NOT_FOUND),
        ("/static/nothing.css", StatusCode::NOT_FOUND),
        ("/ui/lang/fr", StatusCode::NOT_FOUND),
    ] {
        let (s, body, _) = en.get(uri).await;
        assert_eq!(s, want, "{uri}: {body}");
    }
    let (s, body, _) = en.get("/static/app.js").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("EventSource"));
    // The language switch keeps the choice and goes back where it was.
    let res = app
        .clone()
        .oneshot(
            Request::get("/ui/lang/zh?back=%2Fui%2Finventory")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.headers()[header::LOCATION], "/ui/inventory");
    assert!(
        res.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("forewarn_lang=zh;")
    );
}

#[tokio::test]
async fn planners_and_technicians_act_from_the_pages() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path()).await;
    st.db.put_technician(&tech("tom")).await.unwrap();
    let planner = st.db.create_token("pat", Role::Planner).await.unwrap();
    let tom = st.db.create_token("tom", Role::Technician).await.unwrap();
    let viewer = st.db.create_token("vic", Role::Viewer).await.unwrap();
    let db = st.db.clone();
    let mut changes = st.changed.subscribe();
    let app = router(st);
    let pat = signed_in(&app, &planner, "en").await;
    let tom_b = signed_in(&app, &tom, "en").await;
    let vic = signed_in(&app, &viewer, "en").await;

    // A viewer is refused, with the API's reason.
    let (s, body, _) = vic.post("/ui/tickets/1/transition", "to=cancelled").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("needs a technician token"));
    // A post from another site is refused even with the cookie.
    let req = Request::post("/ui/tickets/1/notes")
        .header(header::COOKIE, &pat.cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "localhost:8080")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::from("text=hi"))
        .unwrap();
    assert_eq!(send(&app, req).await.0, StatusCode::FORBIDDEN);
    // Bad forms are 400.
    for (uri, form) in [
        ("/ui/tickets/1/transition", "nothing=1"),
        ("/ui/tickets/1/transition", "to=flying"),
        ("/ui/tickets/1/transition", "to=resolved&resolution=maybe"),
        ("/ui/tickets/x/notes", "text=hi"),
        ("/ui/tickets/1/assign", "technician="),
        ("/ui/tickets/1/notes", "text=+++"),
    ] {
        let (s, body, _) = pat.post(uri, form).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri} {form}: {body}");
    }

    // The planner assigns from the ticket page.
    let (_, body, _) = pat.get("/ui/tickets/1").await;
    assert!(body.contains("id=\"assign-technician\""), "{body}");
    let (s, _, to) = pat
        .post("/ui/tickets/1/assign", "technician=tom&note=nearest")
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(to.as_deref(), Some("/ui/tickets/1?done=assigned"));
    assert_eq!(
        changes.recv().await.unwrap().assignee.as_deref(),
        Some("tom")
    );
    let (_, body, _) = pat.get("/ui/tickets/1?done=assigned").await;
    assert!(body.contains("Assigned."), "the flash shows once");

    // Tom's phone page: accept, start, note, use the parts, resolve.
    let (s, body, _) = tom_b.get("/ui/technicians/tom").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("data-act=\"accept\"") && body.contains("data-act=\"start\""));
    let back = "back=%2Fui%2Ftechnicians%2Ftom";
    let (s, _, to) = tom_b.post("/ui/tickets/1/accept", back).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(to.as_deref(), Some("/ui/technicians/tom?done=accepted"));
    assert_eq!(
        tom_b.post("/ui/tickets/1/accept", back).await.0,
        StatusCode::CONFLICT
    );
    let (s, _, _) = tom_b
        .post(
            "/ui/tickets/1/transition",
            &format!("to=in_progress&{back}"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // No bearing in stock: the ticket waits for parts; Tom goes on without them.
    assert_eq!(
        db.ticket(1).await.unwrap().unwrap().status,
        forewarn_maintenance::TicketStatus::WaitingParts
    );
    let (s, _, _) = tom_b
        .post(
            "/ui/tickets/1/transition",
            &format!("to=in_progress&{back}"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _, _) = tom_b
        .post("/ui/tickets/1/notes", &format!("text=bearing+hot&{back}"))
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, body, _) = tom_b
        .post(
            "/ui/tickets/1/consume",
            &format!("part=BRG-6309-2RS&quantity=abc&{back}"),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    // Viewer cannot resolve; technician resolves with a code.
    assert_eq!(
        vic.post(
            "/ui/tickets/1/transition",
            "to=resolved&resolution=confirmed"
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (s, _, _) = tom_b
        .post(
            "/ui/tickets/1/transition",
            &format!("to=resolved&resolution=confirmed&{back}"),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let t = db.ticket(1).await.unwrap().unwrap();
    assert_eq!(t.status, forewarn_maintenance::TicketStatus::Resolved);
    assert_eq!(
        t.resolution,
        Some(forewarn_maintenance::Resolution::Confirmed)
    );
    // The audit trail on the page shows every step and the notes.
    let (_, body, _) = pat.get("/ui/tickets/1").await;
    for w in [
        "Accepted the job",
        "bearing hot",
        "In progress → Resolved",
        "nearest",
    ] {
        assert!(body.contains(w), "audit lacks {w:?}");
    }
}

/// A page's text as a reader sees it: tags, scripts and styles removed.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        out.push(' ');
        let tail = &rest[i..];
        let skip_to = ["<script", "<style"]
            .iter()
            .find(|t| tail.starts_with(*t))
            .map(|t| format!("</{}>", &t[1..]));
        rest = match skip_to {
            Some(end) => tail.find(&end).map_or("", |j| &tail[j + end.len()..]),
            None => tail.find('>').map_or("", |j| &tail[j + 1..]),
        };
    }
    out.push_str(rest);
    out
}
