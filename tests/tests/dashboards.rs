//! The dashboards in a real browser: Debian's Chromium, headless, driven over the DevTools
//! protocol (chromiumoxide) against a running `forewarn demo`. Every page loads without console
//! errors and shows the demo's data; the planner assigns and the technician accepts, starts,
//! uses parts and resolves, by clicks; a change made elsewhere reaches an open board over
//! server-sent events; the language switch and keyboard sorting work; the technician page fits
//! a phone. Screenshots of every page go to `target/tmp/dashboard-screenshots/` for review.
//!
//! `scripts/test.sh` installs `chromium` when it is missing.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::log::{EventEntryAdded, LogEntryLevel};
use chromiumoxide::cdp::js_protocol::runtime::{
    ConsoleApiCalledType, EventConsoleApiCalled, EventExceptionThrown,
};
use chromiumoxide::page::{Page, ScreenshotParams};
use forewarn::bench::browser::Headless;
use forewarn_tests::{create_token, forewarn_bin, free_port, http_send};
use futures_util::StreamExt;

const CHROMIUM: &str = "/usr/bin/chromium";

/// A demo serving its simulated fleet.
struct Demo {
    child: Child,
    http: SocketAddr,
    data: tempfile::TempDir,
    /// The admin token the demo printed: every API call sends it.
    token: String,
    /// The one-time sign-in link it printed.
    link: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `forewarn demo` and waits until its simulation has finished (tickets exist).
fn start_demo() -> Demo {
    let data = tempfile::tempdir().unwrap();
    let http = SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
    let mqtt = free_port().unwrap();
    let mut child = Command::new(forewarn_bin())
        .args([
            "demo",
            "--assets",
            "24",
            "--duration",
            "20d",
            "--speed",
            "500000",
        ])
        .args(["--seed", "42", "--http", &http.to_string()])
        .args(["--mqtt-port", &mqtt.to_string(), "--data-dir"])
        .arg(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run forewarn demo");
    let out = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            println!("demo: {line}");
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(300);
    let (mut link, mut token) = (None, None);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("the demo finished its simulation");
        if let Some(l) = line.strip_prefix("sign in to the dashboards (this link works once): ") {
            link = Some(l.to_owned());
        }
        if let Some((_, t)) =
            line.split_once("admin token (every API call: Authorization: Bearer …): ")
        {
            token = Some(t.trim().to_owned());
        }
        if line.starts_with("simulation finished") {
            break;
        }
    }
    let link = link.expect("the demo printed a sign-in link");
    let token = token.expect("the demo printed its admin token");
    assert!(link.starts_with(&format!("http://{http}/ui/signin?once=fw_")));
    assert!(!link.contains(&token), "the link is not the token");
    Demo {
        child,
        http,
        data,
        token,
        link,
    }
}

/// What the browser reported as errors: console errors, uncaught exceptions, failed loads.
type Errors = Arc<Mutex<Vec<String>>>;

async fn collect_errors(page: &Page) -> Errors {
    let errors: Errors = Arc::default();
    page.enable_log().await.unwrap();
    page.enable_runtime().await.unwrap();
    let mut console = page
        .event_listener::<EventConsoleApiCalled>()
        .await
        .unwrap();
    let mut thrown = page.event_listener::<EventExceptionThrown>().await.unwrap();
    let mut log = page.event_listener::<EventEntryAdded>().await.unwrap();
    let e = errors.clone();
    tokio::spawn(async move {
        while let Some(ev) = console.next().await {
            if matches!(
                ev.r#type,
                ConsoleApiCalledType::Error | ConsoleApiCalledType::Assert
            ) {
                e.lock().unwrap().push(format!("console: {:?}", ev.args));
            }
        }
    });
    let e = errors.clone();
    tokio::spawn(async move {
        while let Some(ev) = thrown.next().await {
            e.lock()
                .unwrap()
                .push(format!("exception: {}", ev.exception_details.text));
        }
    });
    let e = errors.clone();
    tokio::spawn(async move {
        while let Some(ev) = log.next().await {
            if ev.entry.level == LogEntryLevel::Error {
                e.lock()
                    .unwrap()
                    .push(format!("log: {} {:?}", ev.entry.text, ev.entry.url));
            }
        }
    });
    errors
}

fn assert_no_errors(errors: &Errors, what: &str) {
    let e = errors.lock().unwrap();
    assert!(e.is_empty(), "{what}: the browser reported {e:?}");
}

fn shots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(page: &Page, name: &str) {
    let path = shots_dir().join(format!("{name}.png"));
    page.save_screenshot(ScreenshotParams::builder().full_page(true).build(), &path)
        .await
        .unwrap();
    println!("screenshot: {}", path.display());
}

/// A phone's screen (390 × 844 CSS pixels, touch) or a desktop's.
async fn phone(page: &Page, on: bool) {
    let (w, h, scale) = if on {
        (390, 844, 2.0)
    } else {
        (1280, 900, 1.0)
    };
    page.execute(
        SetDeviceMetricsOverrideParams::builder()
            .width(w)
            .height(h)
            .device_scale_factor(scale)
            .mobile(on)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
}

async fn js<T: serde::de::DeserializeOwned>(page: &Page, expr: &str) -> T {
    page.evaluate(expr)
        .await
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .into_value()
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
}

/// Signs in through the form (tokens never travel in URLs), asking for `next`, and waits to land
/// on a page whose address contains `lands`.
async fn sign_in(page: &Page, base: &str, token: &str, next: &str, lands: &str) {
    goto(page, &format!("{base}/ui/signin?next={next}")).await;
    page.find_element("input[name=token]")
        .await
        .unwrap()
        .click()
        .await
        .unwrap()
        .type_str(token)
        .await
        .unwrap();
    click_through(page, "form[action='/ui/signin'] button", lands).await;
}

async fn goto(page: &Page, url: &str) {
    page.goto(url).await.unwrap();
    page.wait_for_navigation().await.unwrap();
}

/// Clicks and waits for the page the click leads to: one whose address contains `lands`, fully
/// loaded (a form post answers with a redirect, so the first navigation event is not the end).
async fn click_through(page: &Page, selector: &str, lands: &str) {
    let before: String = js(page, "location.href").await;
    page.find_element(selector)
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ready = page
            .evaluate("[location.href, document.readyState]")
            .await
            .ok()
            .and_then(|v| v.into_value::<(String, String)>().ok());
        if let Some((href, state)) = ready
            && href != before
            && href.contains(lands)
            && state == "complete"
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{selector} did not lead to {lands:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn body_text(page: &Page) -> String {
    js(page, "document.body.innerText").await
}

/// Polls `expr` until it is true, for up to `secs`.
async fn until(page: &Page, expr: &str, secs: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        // While a navigation replaces the document, evaluation fails: not yet.
        let ok = page
            .evaluate(expr)
            .await
            .ok()
            .and_then(|v| v.into_value::<bool>().ok());
        if ok == Some(true) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

async fn ticket(demo: &Demo, id: i64) -> serde_json::Value {
    let path = format!("/api/v1/tickets/{id}");
    let (s, body) = http_send(demo.http, "GET", &path, Some(&demo.token), "").await;
    assert_eq!(s, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_work_in_a_real_browser() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium"
    );
    let demo = start_demo();
    let base = format!("http://{}", demo.http);
    // A new ticket with a proposed technician, and another to change from outside.
    let (_, body) = http_send(
        demo.http,
        "GET",
        "/api/v1/tickets?status=new",
        Some(&demo.token),
        "",
    )
    .await;
    let new: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let target = new
        .iter()
        .find(|t| {
            t["dispatch"]["technician_id"].is_string()
                && t["parts"].as_array().is_some_and(|p| !p.is_empty())
        })
        .unwrap_or_else(|| panic!("a new ticket with a proposal: {body}"));
    let id = target["id"].as_i64().unwrap();
    let tech = target["dispatch"]["technician_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = new
        .iter()
        .find(|t| t["id"].as_i64() != Some(id))
        .map(|t| t["id"].as_i64().unwrap());
    let tech_token = create_token(demo.data.path(), "technician", &tech);

    let headless = Headless::launch(Path::new(CHROMIUM))
        .await
        .expect("launch chromium");
    let page = headless.browser.new_page("about:blank").await.unwrap();
    let errors = collect_errors(&page).await;

    // Without a session, a page asks to sign in; the demo's link signs in.
    goto(&page, &format!("{base}/ui/inventory")).await;
    assert!(
        page.url()
            .await
            .unwrap()
            .unwrap()
            .contains("/ui/signin?next=")
    );
    shot(&page, "signin").await;
    goto(&page, &demo.link).await;
    assert_eq!(page.url().await.unwrap().unwrap(), format!("{base}/"));
    let cookies = page.get_cookies().await.unwrap();
    let session = cookies
        .iter()
        .find(|c| c.name == "forewarn_session")
        .unwrap();
    assert!(session.http_only, "the token is not readable by scripts");
    assert!(
        !js::<String>(&page, "document.cookie").await.contains("fw_"),
        "document.cookie must not show the token"
    );

    // Fleet: every asset with its site and state, most urgent first; filtering and keyboard
    // sorting.
    let text = body_text(&page).await;
    for w in [
        "Fleet health",
        "Act now",
        "Sensor fault",
        "pump-0001",
        "site-a",
        "Parts short",
    ] {
        assert!(text.contains(w), "fleet lacks {w:?}");
    }
    let states: Vec<String> = js(
        &page,
        "[...document.querySelectorAll('#fleet-table tr[data-row]')].map(r => r.dataset.state)",
    )
    .await;
    let acts = states.iter().take_while(|s| *s == "act").count();
    assert!(acts > 0, "the demo has assets to act on now: {states:?}");
    assert!(
        states[acts..].iter().all(|s| s != "act"),
        "the act-now assets are the first rows: {states:?}"
    );
    let rows: usize = js(
        &page,
        "document.querySelectorAll('#fleet-table tr[data-row]').length",
    )
    .await;
    assert_eq!(rows, 24);
    assert!(
        until(
            &page,
            "document.getElementById('live').textContent.includes('live')",
            10
        )
        .await
    );
    shot(&page, "fleet").await;
    page.find_element("form[data-filter] input[name=q]")
        .await
        .unwrap()
        .click()
        .await
        .unwrap()
        .type_str("motor")
        .await
        .unwrap();
    let shown: usize = js(
        &page,
        "[...document.querySelectorAll('#fleet-table tr[data-row]')].filter(r => !r.hidden).length",
    )
    .await;
    assert!(shown > 0 && shown < 24, "{shown} shown");
    let sort = page
        .find_element("#fleet-table th:nth-child(1) button")
        .await
        .unwrap();
    sort.focus().await.unwrap();
    sort.press_key("Enter").await.unwrap();
    assert_eq!(
        js::<String>(
            &page,
            "document.querySelector('#fleet-table th:nth-child(1)').getAttribute('aria-sort')"
        )
        .await,
        "ascending",
        "Enter on a header sorts (the fleet opens sorted by state: the asset column starts unsorted)"
    );
    assert_no_errors(&errors, "fleet");

    // Board, and a change made elsewhere arriving over server-sent events.
    goto(&page, &format!("{base}/ui/tickets")).await;
    let text = body_text(&page).await;
    for w in [
        "New",
        "Assigned",
        "In progress",
        "Waiting for parts",
        "Resolved",
        "Recently closed",
        "due in",
        "time to failure",
    ] {
        assert!(text.contains(w), "board lacks {w:?}");
    }
    assert!(
        js::<usize>(
            &page,
            "document.querySelectorAll('.ticket-card .ttf').length"
        )
        .await
            > 0,
        "board cards show the time to failure"
    );
    shot(&page, "board").await;
    if let Some(other) = other {
        let card = format!(
            "!!document.querySelector('#col-new') && !!document.querySelector('.column [data-ticket=\"{other}\"]')"
        );
        assert!(until(&page, &card, 5).await, "ticket {other} on the board");
        let (s, body) = http_send(
            demo.http,
            "POST",
            &format!("/api/v1/tickets/{other}/transition"),
            Some(&demo.token),
            r#"{"to":"cancelled","note":"duplicate of a manual work order"}"#,
        )
        .await;
        assert_eq!(s, 200, "{body}");
        let closed = format!(
            "!!document.querySelector('section[aria-labelledby=col-closed] [data-ticket=\"{other}\"]')"
        );
        assert!(
            until(&page, &closed, 10).await,
            "the board updated itself: the ticket moved to recently closed"
        );
    }
    assert_no_errors(&errors, "board");

    // Ticket page: the planner assigns the proposed technician.
    goto(&page, &format!("{base}/ui/tickets/{id}")).await;
    let text = body_text(&page).await;
    for w in [
        "Evidence",
        "Spare parts",
        "Why this technician",
        "Audit trail",
        "Technicians ranked",
    ] {
        assert!(text.contains(w), "ticket page lacks {w:?}");
    }
    assert!(
        js::<usize>(
            &page,
            "document.querySelectorAll('figure.chart svg').length"
        )
        .await
            >= 1
    );
    shot(&page, "ticket").await;
    let chosen: String = js(&page, "document.getElementById('assign-technician').value").await;
    assert_eq!(chosen, tech, "the proposal is preselected");
    click_through(&page, "#assign-button", "done=assigned").await;
    assert!(body_text(&page).await.contains("Assigned."));
    assert_eq!(ticket(&demo, id).await["assignee"], tech.as_str());
    assert_no_errors(&errors, "assign");

    // The technician, on a phone: accept, start, use a part, resolve.
    phone(&page, true).await;
    sign_in(&page, &base, &tech_token, "%2Fui%2Fme", "/ui/technicians/").await;
    assert!(
        page.url()
            .await
            .unwrap()
            .unwrap()
            .ends_with(&format!("/ui/technicians/{tech}"))
    );
    let job = format!("[data-ticket=\"{id}\"]");
    let overflow: bool = js(
        &page,
        "document.documentElement.scrollWidth > window.innerWidth + 1",
    )
    .await;
    assert!(!overflow, "the technician page fits a phone's width");
    shot(&page, "technician-phone").await;
    // A full-page screenshot resets the device metrics: a phone again.
    phone(&page, true).await;
    click_through(
        &page,
        &format!("{job} button[data-act=accept]"),
        "done=accepted",
    )
    .await;
    assert!(body_text(&page).await.contains("Job accepted."));
    // A note from the field, typed on the phone.
    let note = "bearing housing warm to the touch, noise at 2x running speed";
    page.find_element(&format!("{job} form[action$=notes] input[name=text]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap()
        .type_str(note)
        .await
        .unwrap();
    click_through(
        &page,
        &format!("{job} form[action$=notes] button"),
        "done=noted",
    )
    .await;
    assert!(body_text(&page).await.contains("Note saved."));
    let path = format!("/api/v1/tickets/{id}/notes");
    let (_, body) = http_send(demo.http, "GET", &path, Some(&demo.token), "").await;
    assert!(body.contains(note), "{body}");
    click_through(
        &page,
        &format!("{job} button[data-act=start]"),
        "done=moved",
    )
    .await;
    let status = ticket(&demo, id).await["status"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        status == "in_progress" || status == "waiting_parts",
        "{status}"
    );
    if status == "waiting_parts" {
        // The demo could not reserve everything: go on without it, as a technician may.
        let (s, body) = http_send(
            demo.http,
            "POST",
            &format!("/api/v1/tickets/{id}/transition"),
            Some(&tech_token),
            r#"{"to":"in_progress"}"#,
        )
        .await;
        assert_eq!(s, 200, "{body}");
        goto(&page, &format!("{base}/ui/technicians/{tech}")).await;
    }
    let consumable: bool = js(
        &page,
        &format!("!!document.querySelector('{job} select[name=part]')"),
    )
    .await;
    if consumable {
        click_through(
            &page,
            &format!("{job} form[action$=consume] button"),
            "done=consumed",
        )
        .await;
        assert!(body_text(&page).await.contains("Parts recorded as used."));
        let path = format!("/api/v1/tickets/{id}/parts");
        let (_, body) = http_send(demo.http, "GET", &path, Some(&demo.token), "").await;
        assert!(body.contains("\"consumed\":1"), "{body}");
    }
    shot(&page, "technician-working").await;
    phone(&page, true).await;
    click_through(
        &page,
        &format!("{job} button[data-act=resolve]"),
        "done=moved",
    )
    .await;
    let t = ticket(&demo, id).await;
    assert_eq!(t["status"], "resolved");
    assert_eq!(t["resolution"]["code"], "confirmed");
    assert!(
        js::<bool>(&page, &format!("!document.querySelector('{job}')")).await,
        "a resolved job leaves the list"
    );
    assert_no_errors(&errors, "technician");

    // Back to a desktop: the rest of the pages, then Chinese.
    phone(&page, false).await;
    sign_in(
        &page,
        &base,
        &demo.token,
        "%2Fui%2Finventory",
        "/ui/inventory",
    )
    .await;
    let text = body_text(&page).await;
    for w in [
        "Stock by warehouse",
        "Held for open tickets",
        "Low stock",
        "Open requisitions",
    ] {
        assert!(text.contains(w), "inventory lacks {w:?}");
    }
    shot(&page, "inventory").await;
    let asset = t["asset_id"].as_str().unwrap();
    goto(&page, &format!("{base}/ui/assets/{asset}?range=7d")).await;
    let text = body_text(&page).await;
    for w in ["Sensor history", "Sensors now", "Findings", "buckets"] {
        assert!(text.contains(w), "asset page lacks {w:?}");
    }
    assert!(js::<usize>(&page, "document.querySelectorAll('.charts svg').length").await >= 4);
    // The health chart: its history as a line left of now, not only today's dot.
    let history: usize = js(
        &page,
        "document.querySelectorAll('#asset-summary figure.chart svg polyline[stroke=\"#0072B2\"]').length",
    )
    .await;
    assert!(history >= 1, "the health chart draws its history");
    shot(&page, "asset").await;
    goto(&page, &format!("{base}/ui/assets/{asset}?range=1h")).await;
    assert!(
        body_text(&page).await.contains("readings"),
        "raw points when close"
    );
    goto(&page, &format!("{base}/ui/tickets/{id}")).await;
    let text = body_text(&page).await;
    for w in ["Accepted the job", "Resolved", &tech, note] {
        assert!(text.contains(w), "audit trail lacks {w:?}");
    }
    shot(&page, "ticket-resolved").await;
    goto(&page, &format!("{base}/ui/technicians")).await;
    shot(&page, "technicians").await;
    // Every page fits a phone's width (wide tables scroll inside their own box).
    for path in [
        "/",
        "/ui/tickets",
        &format!("/ui/tickets/{id}"),
        &format!("/ui/assets/{asset}"),
        "/ui/inventory",
        "/ui/technicians",
    ] {
        phone(&page, true).await;
        goto(&page, &format!("{base}{path}")).await;
        let overflow: bool = js(
            &page,
            "document.documentElement.scrollWidth > window.innerWidth + 1",
        )
        .await;
        assert!(!overflow, "{path} is wider than a phone");
    }
    shot(&page, "technicians-phone").await;
    phone(&page, false).await;
    assert_no_errors(&errors, "pages");

    goto(&page, &format!("{base}/")).await;
    // The switch comes back to the same address: wait for the language instead.
    page.find_element("a[href^='/ui/lang/zh']")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        until(
            &page,
            "document.documentElement.lang == 'zh-CN' && document.readyState == 'complete'",
            15
        )
        .await,
        "the page is in Chinese"
    );
    let text = body_text(&page).await;
    for w in ["设备健康总览", "立即处理", "备件短缺"] {
        assert!(text.contains(w), "Chinese fleet lacks {w:?}");
    }
    shot(&page, "fleet-zh").await;
    // No English label on a Chinese page: only data (ids, units, numbers) stays as it is.
    for (path, name) in [
        ("/", "fleet-zh"),
        ("/ui/tickets", "board-zh"),
        (&format!("/ui/tickets/{id}")[..], "ticket-zh"),
        ("/ui/findings", "findings-zh"),
        // Not the inventory: its part descriptions are the catalog's English data ("Closed
        // impeller", "Sensor cable"); `api/src/ui_tests.rs` checks its labels.
    ] {
        goto(&page, &format!("{base}{path}")).await;
        // Names (the demo's token is `demo-admin`), what people wrote and the catalog's part
        // descriptions are data.
        let text: String = js(
            &page,
            "(() => { const b = document.body.cloneNode(true); b.querySelectorAll('.user, .said, .data').forEach(e => e.remove()); return b.innerText; })()",
        )
        .await;
        let english: Vec<&str> = forewarn_dashboards::i18n::english_labels()
            .filter(|l| l.chars().filter(char::is_ascii_alphabetic).count() >= 4)
            .filter(|l| text.contains(l))
            .collect();
        assert!(english.is_empty(), "{path} in Chinese shows {english:?}");
        shot(&page, name).await;
    }
    goto(&page, &format!("{base}/ui/tickets/{id}")).await;
    assert!(body_text(&page).await.contains("审计记录"));
    page.find_element("a[href^='/ui/lang/en']")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        until(
            &page,
            "document.documentElement.lang == 'en' && document.readyState == 'complete'",
            15
        )
        .await,
        "back in English"
    );
    assert_no_errors(&errors, "language switch");

    headless.close().await.unwrap();
}
