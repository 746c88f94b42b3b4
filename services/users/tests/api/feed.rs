//! The users event feed and its stream.

use super::*;

#[tokio::test]
async fn the_feed_streams_and_resumes_from_last_event_id() {
    let h = Harness::start().await;
    let (_, api_key, _) = h.app("Demo").await;
    for device in ["a", "b", "c"] {
        h.session(&api_key, device).await;
    }
    let service = h.service_token().await;
    let ids: Vec<i64> = h.events(&service).await.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    let mut response = h
        .http
        .get(h.service.url("/v1/events/stream"))
        .bearer_auth(&service)
        .header("Last-Event-ID", ids[0].to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    while text.matches("\n\n").count() < 2 {
        let chunk =
            tokio::time::timeout(std::time::Duration::from_secs(10), response.chunk()).await.unwrap().unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.starts_with(&format!("id: {}\nevent: user.created\n", ids[1])), "{text}");
    assert!(text.contains(&format!("id: {}\n", ids[2])));
    // A new event arrives on the open stream.
    h.session(&api_key, "d").await;
    while text.matches("\n\n").count() < 3 {
        let chunk =
            tokio::time::timeout(std::time::Duration::from_secs(10), response.chunk()).await.unwrap().unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    // Ids grow in commit order, not necessarily by one.
    let newest: i64 =
        text.split("\n\n").nth(2).unwrap().lines().next().unwrap().trim_start_matches("id: ").parse().unwrap();
    assert!(newest > ids[2], "{text}");
}
