//! Activity lists: pages and filters.

use super::*;

#[tokio::test]
async fn lists_paginate_and_filter() {
    let s = Stack::start().await;
    let (api_key, app) = s.app().await;
    let ada = s.person(&api_key, "ada").await;
    for key in ["a", "b", "c"] {
        s.api.call(Method::POST, &format!("{}/likes", path(key)), Some(&ada.token), None).await;
        s.api.post(&format!("{}/shares", path(key)), &ada.token, json!({ "medium": "sms" })).await;
    }
    s.api.post(&format!("{}/comments", path("c")), &ada.token, json!({ "text": "c wins" })).await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let page = s.api.get(&format!("/v1/users/me/actions?limit=2{query}"), &ada.token).await;
        seen.extend(page.body["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, no repeats");

    let shares = s.api.get("/v1/actions?kind=share", &app).await;
    assert_eq!(shares.body["items"].as_array().unwrap().len(), 3);
    let popular = s.api.get("/v1/entities?sort=popular&limit=1", &ada.token).await;
    assert_eq!(popular.body["items"][0]["key"], "c");
    let next = s
        .api
        .get(&format!("/v1/entities?sort=popular&limit=5&cursor={}", popular.text("/next_cursor")), &ada.token)
        .await;
    assert_eq!(next.body["items"].as_array().unwrap().len(), 2);
    let recent = s.api.get("/v1/entities?sort=recent", &ada.token).await;
    assert_eq!(recent.body["items"][0]["key"], "c");
    let batch = s.api.post("/v1/entities/lookup", &ada.token, json!({ "keys": ["a", "b", "zzz"] })).await;
    assert_eq!(batch.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(batch.body["items"][0]["me"]["liked"], true);
}
