//! Health, metrics, docs, and restarts.

use super::*;

#[tokio::test]
async fn operational_endpoints_answer() {
    let h = Harness::start().await;
    let spec = h.http.get(h.service.url("/openapi.json")).send().await.unwrap().text().await.unwrap();
    let checked_in = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/users.json")).unwrap();
    assert!(spec == checked_in, "/openapi.json differs from openapi/users.json; run `cargo xtask openapi write`");
    // The docs page works offline: it loads only files the service serves itself.
    let docs = h.http.get(h.service.url("/docs")).send().await.unwrap().text().await.unwrap();
    assert!(docs.contains("/openapi.json"));
    assert!(!docs.contains("https://") && !docs.contains("http://"), "no third-party request: {docs}");
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/docs/LICENSE"] {
        let served = h.http.get(h.service.url(asset)).send().await.unwrap();
        assert_eq!(served.status(), StatusCode::OK, "{asset}");
        assert!(!served.bytes().await.unwrap().is_empty(), "{asset}");
    }
    let ready = h.call(Method::GET, "/health/ready", None, None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(h.call(Method::GET, "/health/live", None, None).await.status, StatusCode::OK);
    let response = h.http.get(h.service.url("/health/live")).header("x-request-id", "trace-me").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me");
    let metrics = h.http.get(h.service.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("chorus_http_requests_total"), "{metrics}");
    assert!(metrics.contains("chorus_db_pool_connections"));
}

#[tokio::test]
async fn data_and_signing_keys_survive_a_restart() {
    let service = testing::spawn::<Users>().await;
    let http = reqwest::Client::new();
    let created: Value = http
        .post(service.url("/v1/apps"))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&json!({ "name": "Demo" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api_key = s(&created["app"]["api_key"]);
    let session: Value = http
        .post(service.url("/v1/sessions"))
        .json(&json!({ "api_key": api_key, "device_id": "d1" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let config = service.config.clone();
    let database = service.stop().await;
    let restarted = testing::spawn_on::<Users>(database, config).await;
    let me = http.get(restarted.url("/v1/users/me")).bearer_auth(s(&session["access_token"])).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK, "tokens signed before the restart still verify");
    let again: Value = http
        .post(restarted.url("/v1/sessions"))
        .json(&json!({ "api_key": api_key, "device_id": "d1" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["user"]["id"], session["user"]["id"]);
}
