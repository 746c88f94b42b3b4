//! The inbox: pages, read marks and the live stream.

use super::*;

#[tokio::test]
async fn the_inbox_reads_pages_and_marks() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let (ada, bob) = (s.person(&api_key, "ada").await, s.person(&api_key, "bob").await);
    s.subscribe(&ada, "news", "new_comments").await;
    for i in 0..3 {
        s.comment(&bob, "news", &format!("comment {i}"), None).await;
    }
    eventually("three notifications", async || s.inbox_len(&ada).await == 3).await;
    let first_page = s.api.get("/v1/notifications?limit=2", &ada.token).await;
    assert_eq!(first_page.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(first_page.body["items"][0]["body"], "comment 2", "newest first");
    let rest =
        s.api.get(&format!("/v1/notifications?limit=2&cursor={}", first_page.text("/next_cursor")), &ada.token).await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["next_cursor"], Value::Null);

    let id = first_page.text("/items/0/id");
    let read = s.api.call(Method::POST, &format!("/v1/notifications/{id}/read"), Some(&ada.token), None).await;
    assert_eq!(read.body["read"], true);
    s.api
        .call(Method::POST, &format!("/v1/notifications/{id}/read"), Some(&bob.token), None)
        .await
        .assert_problem(404, None);
    let unread = s.api.get("/v1/notifications?unread_only=true", &ada.token).await;
    assert_eq!((unread.body["items"].as_array().unwrap().len(), unread.body["unread"].as_i64()), (2, Some(2)));
    let all = s.api.call(Method::POST, "/v1/notifications/read", Some(&ada.token), None).await;
    assert_eq!(all.body["updated"], 2);
    assert_eq!(s.inbox(&ada).await["unread"], 0);
    s.api.get("/v1/notifications?cursor=nope", &ada.token).await.assert_problem(400, Some("cursor"));
}

#[tokio::test]
async fn the_inbox_stream_shows_new_notifications_live() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let (ada, bob) = (s.person(&api_key, "ada").await, s.person(&api_key, "bob").await);
    s.subscribe(&ada, "live", "new_comments").await;
    let mut stream =
        s.api.http.get(s.api.url("/v1/notifications/stream")).bearer_auth(&ada.token).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    s.comment(&bob, "live", "Are you there?", None).await;
    let chunk =
        tokio::time::timeout(std::time::Duration::from_secs(15), stream.chunk()).await.unwrap().unwrap().unwrap();
    let frame = String::from_utf8_lossy(&chunk);
    assert!(frame.contains("event: notification.created") && frame.contains("Are you there?"), "{frame}");
    // Bob's stream stays quiet: the notification was Ada's.
    let mut bobs = s.api.http.get(s.api.url("/v1/notifications/stream")).bearer_auth(&bob.token).send().await.unwrap();
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(1_500), bobs.chunk()).await;
    assert!(quiet.is_err(), "bob got {quiet:?}");
}

/// Requests the producers served to feed readers (`GET /v1/events`), from their metrics.
async fn feed_page_reads(api: &Api) -> u64 {
    let metrics = reqwest::get(api.url("/metrics")).await.unwrap().text().await.unwrap();
    metrics
        .lines()
        .filter(|line| line.starts_with("chorus_http_requests_total{") && line.contains("operation=\"list_events\""))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[tokio::test]
async fn feeds_are_pushed_so_an_idle_platform_sends_no_requests() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let (ada, bob) = (s.person(&api_key, "ada").await, s.person(&api_key, "bob").await);
    s.subscribe(&ada, "pushed", "new_comments").await;
    let mut stream =
        s.api.http.get(s.api.url("/v1/notifications/stream")).bearer_auth(&ada.token).send().await.unwrap();
    // The comment reaches Ada's inbox stream through the actions feed, pushed at each hop.
    s.comment(&bob, "pushed", "straight through", None).await;
    let chunk =
        tokio::time::timeout(std::time::Duration::from_secs(15), stream.chunk()).await.unwrap().unwrap().unwrap();
    assert!(String::from_utf8_lossy(&chunk).contains("straight through"));

    // Once caught up, the followers (actions and notifications on users; notifications on
    // actions) hold their streams open and page no more.
    let before = (feed_page_reads(&s.users).await, feed_page_reads(&s.actions).await);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let after = (feed_page_reads(&s.users).await, feed_page_reads(&s.actions).await);
    assert_eq!(before, after, "an idle follower paged the feed");
}
