//! Fan-out: who hears of a comment, and who never does.

use super::*;

#[tokio::test]
async fn comments_notify_subscribers_and_replies_notify_the_parents_author() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let (ada, bob, cid) =
        (s.person(&api_key, "ada").await, s.person(&api_key, "bob").await, s.person(&api_key, "cid").await);
    s.subscribe(&ada, "post", "new_comments").await;
    s.subscribe(&bob, "post", "new_comments").await;

    let first = s.comment(&bob, "post", "Hello from Bob", None).await;
    eventually("ada hears of bob's comment", async || s.inbox_len(&ada).await == 1).await;
    let inbox = s.inbox(&ada).await;
    assert_eq!(inbox["items"][0]["kind"], "new_comment");
    assert_eq!(inbox["items"][0]["body"], "Hello from Bob");
    assert_eq!(inbox["items"][0]["actor_id"], bob.id.as_str());
    assert_eq!(inbox["unread"], 1);

    // Cid replies to Bob: Bob gets one reply notification (not also a new_comment one), Ada a
    // new_comment one, and Cid, who wrote it, nothing.
    s.comment(&cid, "post", "Hi Bob", Some(&first)).await;
    eventually("bob hears of the reply", async || s.inbox_len(&bob).await == 1).await;
    eventually("ada hears of the reply", async || s.inbox_len(&ada).await == 2).await;
    assert_eq!(s.inbox(&bob).await["items"][0]["kind"], "reply");
    assert_eq!(s.inbox_len(&cid).await, 0);
    assert_eq!(s.inbox(&bob).await["items"][0]["title"], "New reply to your comment");

    // Bob deletes his comment: the inboxes that quote it lose its text.
    let deleted = s.actions.call(Method::DELETE, &format!("/v1/comments/{first}"), Some(&bob.token), None).await;
    assert_eq!(deleted.status, 204);
    eventually("the deletion reaches ada's inbox", async || {
        s.inbox(&ada).await["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["action_id"] == first.as_str() && n["body"].is_null())
    })
    .await;

    // Ada is erased: what was sent to her leaves the feed too.
    let events_to_ada = async || {
        let feed = s.api.get("/v1/events?after=0&limit=500", OPERATOR_TOKEN).await.body;
        feed["items"].as_array().unwrap().iter().filter(|e| e["subject"] == ada.id.as_str()).count()
    };
    assert!(events_to_ada().await > 0, "the feed carried ada's notifications");
    let (_, app) = (api_key.clone(), s.app_token_for(&api_key).await);
    s.peer.erase(&app, &ada.id).await;
    eventually("ada's notifications leave the feed", async || events_to_ada().await == 0).await;
}

#[tokio::test]
async fn nobody_hears_from_someone_they_blocked_and_erasure_cleans_up() {
    let s = Stack::start().await;
    let (api_key, app) = s.app().await;
    let (ada, bob, cid) =
        (s.person(&api_key, "ada").await, s.person(&api_key, "bob").await, s.person(&api_key, "cid").await);
    s.subscribe(&ada, "thread", "new_comments").await;
    s.subscribe(&cid, "thread", "new_comments").await;
    s.peer.block(&ada, &bob.id).await;
    // Wait until notifications has applied the users feed up to the block, then let Bob speak.
    testing::feed_settled(s._users.db()).await;
    let block_id = s.users.get("/v1/events?after=0&limit=1", OPERATOR_TOKEN).await.body["last_id"].as_i64().unwrap();
    eventually("the block reaches notifications", async || s.feed_position("users").await >= block_id).await;
    s.comment(&bob, "thread", "Bob was here", None).await;
    eventually("cid hears of bob", async || s.inbox_len(&cid).await == 1).await;
    assert_eq!(s.inbox_len(&ada).await, 0, "ada blocked bob");

    // Bob is erased: Cid keeps the notification, without Bob's words; Bob's subscriptions go.
    s.subscribe(&bob, "thread", "new_comments").await;
    s.peer.erase(&app, &bob.id).await;
    eventually("the erasure reaches notifications", async || s.inbox(&cid).await["items"][0]["body"].is_null()).await;
    let feed = s.api.get("/v1/events?after=0", OPERATOR_TOKEN).await;
    assert!(!feed.body.to_string().contains("Bob was here"), "the feed forgets bob's words too");
}
