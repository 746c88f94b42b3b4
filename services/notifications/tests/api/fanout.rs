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

/// Subscribers the large fan-out test seeds (`CHORUS_FANOUT_SUBSCRIBERS` raises it, to 100,000
/// say); enough for several pages of 500.
fn large_audience() -> usize {
    std::env::var("CHORUS_FANOUT_SUBSCRIBERS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000)
}

#[tokio::test]
async fn a_large_audience_is_written_in_pages_and_a_restart_mid_way_notifies_nobody_twice() {
    use chorus_notifications::domain::model::SubscriptionKind;
    use chorus_notifications::store::schema::{notifications, subscriptions};
    use diesel::prelude::*;

    let mut s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let (ada, bob) = (s.person(&api_key, "ada").await, s.person(&api_key, "bob").await);
    s.subscribe(&ada, "big-post", "new_comments").await;
    // The rest of the audience goes straight into the database, as a seed.
    let (ada_id, total) = (ada.id.clone(), large_audience());
    s.notifications_db()
        .write(move |conn| {
            let app_id: String = subscriptions::table
                .filter(subscriptions::user_id.eq(&ada_id))
                .select(subscriptions::app_id)
                .first(conn)?;
            for n in 0..total - 1 {
                let user = format!("seeded-{n:06}");
                chorus_notifications::store::subscriptions::add(
                    conn,
                    &app_id,
                    &user,
                    "big-post",
                    SubscriptionKind::NewComments,
                )?;
            }
            Ok::<_, chorus_kit::db::DbError>(())
        })
        .await
        .unwrap();

    s.comment(&bob, "big-post", "Hello, everyone", None).await;
    let written = |db: chorus_kit::db::Db| async move {
        db.read(|conn| notifications::table.count().get_result::<i64>(conn).map_err(chorus_kit::db::DbError::from))
            .await
            .unwrap()
    };
    // The first page is written with the event; the rest follow as a job, page by page.
    eventually("the first page is written", async || written(s.notifications_db().clone()).await >= 500).await;
    s.restart_notifications().await;
    let total = i64::try_from(total).unwrap();
    let at_restart = written(s.notifications_db().clone()).await;
    assert!(at_restart < total, "the restart came mid-way ({at_restart} of {total} written)");
    eventually("every subscriber is notified", async || written(s.notifications_db().clone()).await >= total).await;
    let db = s.notifications_db().clone();
    eventually("the job is done", async || db.read(chorus_notifications::store::fanout::pending).await.unwrap() == 0)
        .await;

    // Exactly once each: as many notifications as subscribers, and no one twice.
    let per_user: Vec<(String, i64)> = db
        .read(|conn| {
            notifications::table
                .group_by(notifications::user_id)
                .select((notifications::user_id, diesel::dsl::count_star()))
                .load(conn)
                .map_err(chorus_kit::db::DbError::from)
        })
        .await
        .unwrap();
    assert_eq!(i64::try_from(per_user.len()).unwrap(), total);
    let doubled: Vec<&(String, i64)> = per_user.iter().filter(|(_, count)| *count != 1).collect();
    assert!(doubled.is_empty(), "notified more than once: {doubled:?}");
    assert_eq!(s.inbox_len(&ada).await, 1);
    assert_eq!(s.inbox_len(&bob).await, 0, "the author hears nothing of their own comment");
}
