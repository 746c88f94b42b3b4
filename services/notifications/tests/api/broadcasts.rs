//! App broadcasts and their quota.

use super::*;

#[tokio::test]
async fn apps_broadcast_to_listed_users_subscribers_or_everyone_within_a_quota() {
    let s = Stack::start_with(|config| config.broadcasts.daily_quota = 3).await;
    let (api_key, app) = s.app().await;
    let (ada, bob, cid) =
        (s.person(&api_key, "ada").await, s.person(&api_key, "bob").await, s.person(&api_key, "cid").await);
    s.peer.ban(&app, &cid.id).await;
    testing::feed_settled(s._users.db()).await;
    let newest = s.users.get("/v1/events?after=0&limit=1", OPERATOR_TOKEN).await.body["last_id"].as_i64().unwrap();
    eventually("notifications knows the app's users", async || s.feed_position("users").await >= newest).await;

    // Bad input and wrong callers change nothing.
    let bad_url = json!({ "title": "Hi", "url": "ftp://x", "audience": { "type": "everyone" } });
    s.api.post("/v1/broadcasts", &app, bad_url).await.assert_problem(400, Some("url"));
    let nobody = json!({ "title": "Hi", "audience": { "type": "users", "user_ids": [] } });
    s.api.post("/v1/broadcasts", &app, nobody).await.assert_problem(400, Some("audience.user_ids"));
    let everyone = json!({ "title": "Release 2.0", "body": "Now with dark mode", "url": "https://example.com/2.0",
                           "audience": { "type": "everyone" } });
    s.api.post("/v1/broadcasts", &ada.token, everyone.clone()).await.assert_problem(403, None);

    // Everyone but the banned user; an Idempotency-Key makes the retry harmless.
    let send = || {
        s.api
            .http
            .post(s.api.url("/v1/broadcasts"))
            .bearer_auth(&app)
            .header("Idempotency-Key", "release-2")
            .json(&everyone)
            .send()
    };
    let sent = chorus_kit::testing::Reply::from(send().await.unwrap()).await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    assert_eq!(sent.body["recipients"], 2);
    let again = chorus_kit::testing::Reply::from(send().await.unwrap()).await;
    assert_eq!(again.body["id"], sent.body["id"]);
    assert_eq!(s.inbox_len(&ada).await, 1);
    assert_eq!(s.inbox_len(&cid).await, 0, "banned users get no broadcasts");
    let note = s.inbox(&bob).await["items"][0].clone();
    assert_eq!((note["kind"].as_str(), note["url"].as_str()), (Some("broadcast"), Some("https://example.com/2.0")));

    // Listed users (unknown ids skipped) and an entity's subscribers.
    let listed = json!({ "title": "Just you", "audience": { "type": "users", "user_ids": [ada.id, "not-a-user"] } });
    assert_eq!(s.api.post("/v1/broadcasts", &app, listed).await.body["recipients"], 1);
    s.subscribe(&bob, "launch", "new_comments").await;
    let subscribers = json!({ "title": "Launch moved", "entity_key": "launch", "audience": { "type": "subscribers", "entity_key": "launch" } });
    assert_eq!(s.api.post("/v1/broadcasts", &app, subscribers).await.body["recipients"], 1);
    assert_eq!(s.inbox_len(&bob).await, 2);

    // The quota (3 a day here) is spent.
    let more = json!({ "title": "One more", "audience": { "type": "everyone" } });
    s.api.post("/v1/broadcasts", &app, more).await.assert_problem(429, None);
    let history = s.api.get("/v1/broadcasts", &app).await;
    assert_eq!(history.body["items"].as_array().unwrap().len(), 3);
}
