//! The dashboard in a real browser: headless Chromium, driven through chromedriver, signs in with
//! an app's key and secret and finds its charts drawn from the seeded data. A screenshot is kept
//! at `target/dashboard.png`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::Method;
use serde_json::json;

use super::{Stack, event, now};

/// chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Self {
        let binary = ["chromedriver", "/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|candidate| Command::new(candidate).arg("--version").output().is_ok_and(|out| out.status.success()))
            .expect("chromedriver is needed for the dashboard test (Debian: apt-get install chromium chromium-driver)");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while reqwest::get(format!("{url}/status")).await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not answer within 20 seconds");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, url }
    }

    async fn browser(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1100"] }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a headless Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `selector` matches, for the page's loading to finish.
async fn wait_for(browser: &Client, selector: &str) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(selector))
        .await
        .unwrap_or_else(|error| panic!("{selector} did not appear: {error}"))
}

async fn sign_in(browser: &Client, api_key: &str, api_secret: &str) {
    for (field, value) in [("api-key", api_key), ("api-secret", api_secret)] {
        let input = browser.find(Locator::Id(field)).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }
    browser.find(Locator::Css("#sign-in button[type=submit]")).await.unwrap().click().await.unwrap();
}

#[tokio::test]
async fn the_dashboard_signs_in_and_charts_the_apps_numbers_in_chromium() {
    let stack = Stack::start().await;
    let app = stack.app().await;
    let ada = stack.user(&app, "ada-phone").await;
    for key in ["post-1", "post-2"] {
        let liked =
            stack.actions.call(Method::POST, &format!("/v1/entities/{key}/likes"), Some(&ada.token), None).await;
        assert_eq!(liked.status, 201, "{}", liked.body);
    }
    let comment = stack.actions.post("/v1/entities/post-1/comments", &ada.token, json!({ "text": "first" })).await;
    assert_eq!(comment.status, 201, "{}", comment.body);
    stack.wait_for_today(&app.token, "actions.likes", 2).await;
    stack.wait_for_today(&app.token, "actions.comments", 1).await;
    let rule = json!({ "metric": "events.checkout", "condition": "below", "threshold": 1, "window_seconds": 900, "webhook_url": "http://127.0.0.1:9/hook" });
    assert_eq!(stack.api.post("/v1/alerts", &app.token, rule).await.status, 201);
    chorus_analytics::domain::alerts::evaluate_all(
        stack.analytics.db(),
        chorus_analytics::api::announcer(),
        Utc::now(),
    )
    .await
    .unwrap();
    stack.ingest(&ada.token, json!([event("open", "o1", &now())])).await;

    let driver = Driver::start().await;
    let browser = driver.browser().await;
    browser.goto(&stack.api.url("/dashboard")).await.unwrap();

    // Wrong credentials are refused on the page, and nothing is shown.
    sign_in(&browser, &app.api_key, "wrong-secret").await;
    let error = wait_for(&browser, "#sign-in-error:not([hidden])").await;
    assert!(error.text().await.unwrap().contains("refused"));

    sign_in(&browser, &app.api_key, &app.api_secret).await;
    wait_for(&browser, "#actions-chart[data-state=ready] canvas").await;
    wait_for(&browser, "#users-chart[data-state=ready] canvas").await;
    let entities = wait_for(&browser, "#top-entities[data-state=ready] table").await;
    let entities = entities.text().await.unwrap();
    assert!(entities.contains("post-1") && entities.contains("post-2"), "{entities}");
    let firings = wait_for(&browser, "#firings[data-state=ready] table").await.text().await.unwrap();
    assert!(firings.contains("fired"), "{firings}");

    let screenshot = browser.screenshot().await.unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/dashboard.png");
    std::fs::write(&path, &screenshot).unwrap();
    assert!(screenshot.starts_with(b"\x89PNG"), "a PNG screenshot");

    // An app with no activity sees empty states, not errors.
    browser.find(Locator::Id("sign-out")).await.unwrap().click().await.unwrap();
    let quiet = stack.app().await;
    sign_in(&browser, &quiet.api_key, &quiet.api_secret).await;
    wait_for(&browser, "#actions-chart[data-state=empty]").await;
    wait_for(&browser, "#top-entities[data-state=empty]").await;
    wait_for(&browser, "#firings[data-state=empty]").await;
    browser.close().await.unwrap();
}
