//! Live streams of an entity's action bar.

use super::*;

#[tokio::test]
async fn the_entity_stream_shows_each_action_and_resumes() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let ada = s.person(&api_key, "ada").await;
    s.api.call(Method::PUT, &path(HARD_KEY), Some(&ada.token), Some(json!({ "name": "Live" }))).await;
    let mut stream =
        s.api.http.get(s.api.url(&format!("{}/stream", path(HARD_KEY)))).bearer_auth(&ada.token).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    s.api.call(Method::POST, &format!("{}/likes", path(HARD_KEY)), Some(&ada.token), None).await;
    s.api.post(&format!("{}/comments", path("elsewhere")), &ada.token, json!({ "text": "not here" })).await;
    s.api.post(&format!("{}/comments", path(HARD_KEY)), &ada.token, json!({ "text": "here" })).await;

    // A fresh stream starts at what readers can see when it opens: on PostgreSQL that may be
    // just before the upsert committed, so its `entity.updated` may come first.
    let mut text = String::new();
    while text.matches("event: action.created").count() < 2 {
        let chunk =
            tokio::time::timeout(std::time::Duration::from_secs(10), stream.chunk()).await.unwrap().unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let frames: Vec<&str> =
        text.split("\n\n").filter(|f| !f.is_empty() && !f.contains("event: entity.updated")).collect();
    assert!(frames[0].contains("event: action.created") && frames[0].contains("\"likes\":1"), "{text}");
    assert!(frames[1].contains("\"text\":\"here\""), "only this entity's events: {text}");
    let first_id: i64 = frames[0].lines().next().unwrap().trim_start_matches("id: ").parse().unwrap();

    // Resuming after the first frame replays the second.
    let mut resumed = s
        .api
        .http
        .get(s.api.url(&format!("{}/stream", path(HARD_KEY))))
        .bearer_auth(&ada.token)
        .header("Last-Event-ID", first_id.to_string())
        .send()
        .await
        .unwrap();
    let chunk =
        tokio::time::timeout(std::time::Duration::from_secs(10), resumed.chunk()).await.unwrap().unwrap().unwrap();
    assert!(String::from_utf8_lossy(&chunk).contains("\"text\":\"here\""));
}

#[tokio::test]
async fn many_open_action_bars_all_see_each_action() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let ada = s.person(&api_key, "ada").await;
    s.api.call(Method::PUT, &path("busy"), Some(&ada.token), Some(json!({ "name": "Busy" }))).await;
    let mut streams = Vec::new();
    for _ in 0..20 {
        let stream = s.api.http.get(s.api.url(&format!("{}/stream", path("busy")))).bearer_auth(&ada.token).send();
        streams.push(stream.await.unwrap());
    }
    s.api.call(Method::POST, &format!("{}/likes", path("busy")), Some(&ada.token), None).await;
    for stream in &mut streams {
        // On PostgreSQL a stream opened "now" starts at the visibility horizon, which another
        // database's open transaction can hold back: the naming's `entity.updated` may come first.
        let mut text = String::new();
        while !text.contains("event: action.created") {
            let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), stream.chunk())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        let frame = &text[text.find("event: action.created").unwrap()..];
        assert!(frame.contains("\"likes\":1"), "{frame}");
    }
}
