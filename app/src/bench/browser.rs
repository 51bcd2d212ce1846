//! Page times in a real browser: Chromium, headless, over the DevTools protocol — what a
//! planner waits for, from the request to the first frame painted after the page has loaded.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::page::Page;
use futures_util::StreamExt;

use super::emit;

/// From navigation start to the second animation frame after the load event, in ms: the page
/// parsed, styled, laid out and painted.
const RENDERED: &str = "new Promise(done => {
    const finish = () => requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now())));
    if (document.readyState === 'complete') { setTimeout(finish, 0); } else { addEventListener('load', () => setTimeout(finish, 0)); }
})";

async fn rendered_ms(page: &Page, url: &str) -> anyhow::Result<f64> {
    page.goto(url).await?;
    page.wait_for_navigation().await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // Evaluation fails while a navigation replaces the document: try again.
        if let Ok(v) = page.evaluate(RENDERED).await
            && let Ok(ms) = v.into_value::<f64>()
        {
            return Ok(ms);
        }
        anyhow::ensure!(Instant::now() < deadline, "{url} did not render in 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A headless Chromium with its own throw-away profile, driven over the DevTools protocol; the
/// bench and the dashboards' browser test start it the same way.
pub struct Headless {
    /// The browser, to open pages in.
    pub browser: Browser,
    driver: tokio::task::JoinHandle<()>,
    // Kept until the browser is gone: Chromium writes to it to the end.
    _profile: tempfile::TempDir,
}

impl Headless {
    /// Starts `chromium` headless at 1280 × 900, with nothing that reaches for the internet.
    pub async fn launch(chromium: &Path) -> anyhow::Result<Self> {
        let profile = tempfile::tempdir()?;
        let config = BrowserConfig::builder()
            .chrome_executable(chromium)
            .new_headless_mode()
            .no_sandbox()
            .user_data_dir(profile.path())
            .window_size(1280, 900)
            .viewport(None)
            // Without these, Chromium keeps reaching for Google's hosts on a closed network.
            .args([
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .build()
            .map_err(anyhow::Error::msg)?;
        let (browser, mut handler) = Browser::launch(config)
            .await
            .with_context(|| format!("starting {}", chromium.display()))?;
        let driver = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Ok(Self {
            browser,
            driver,
            _profile: profile,
        })
    }

    /// Closes the browser and waits for its process to end.
    pub async fn close(mut self) -> anyhow::Result<()> {
        self.browser.close().await?;
        let _ = self.browser.wait().await;
        self.driver.abort();
        Ok(())
    }
}

/// Signs in with the one-time code `once` and times each page `runs` times:
/// `{name}_browser_median` and `_max`.
pub async fn page_times(
    chromium: &Path,
    base: &str,
    once: &str,
    pages: &[(&str, String)],
    runs: usize,
) -> anyhow::Result<()> {
    let headless = Headless::launch(chromium).await?;
    let page = headless.browser.new_page("about:blank").await?;
    rendered_ms(&page, &format!("{base}/ui/signin?once={once}")).await?;
    for (name, path) in pages {
        let mut ms = Vec::with_capacity(runs);
        for _ in 0..runs.max(1) {
            ms.push(rendered_ms(&page, &format!("{base}{path}")).await?);
        }
        ms.sort_by(f64::total_cmp);
        emit(&format!("{name}_browser_median"), ms[ms.len() / 2], "ms");
        emit(&format!("{name}_browser_max"), ms[ms.len() - 1], "ms");
    }
    headless.close().await
}
