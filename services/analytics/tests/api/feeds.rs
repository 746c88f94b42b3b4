//! The followed feeds: actions and new users count, erasure forgets, within seconds.

use reqwest::Method;
use serde_json::json;

use super::{Stack, event, now};

#[tokio::test]
async fn likes_comments_shares_views_and_new_users_count_as_they_happen() {
    let stack = Stack::start().await;
    let app = stack.app().await;
    let (ada, bob) = (stack.user(&app, "ada-phone").await, stack.user(&app, "bob-phone").await);
    let like = stack.actions.call(Method::POST, "/v1/entities/post-1/likes", Some(&ada.token), None).await;
    assert_eq!(like.status, 201, "{}", like.body);
    let comment = stack.actions.post("/v1/entities/post-1/comments", &bob.token, json!({ "text": "nice" })).await;
    assert_eq!(comment.status, 201, "{}", comment.body);
    let share = stack.actions.post("/v1/entities/post-1/shares", &bob.token, json!({ "medium": "email" })).await;
    assert_eq!(share.status, 201, "{}", share.body);
    for _ in 0..3 {
        let view = stack.actions.call(Method::POST, "/v1/entities/post-1/views", Some(&ada.token), None).await;
        assert!(view.status.is_success(), "{}", view.body);
    }

    stack.wait_for_today(&app.token, "actions.likes", 1).await;
    stack.wait_for_today(&app.token, "actions.comments", 1).await;
    stack.wait_for_today(&app.token, "actions.shares", 1).await;
    stack.wait_for_today(&app.token, "actions.views", 3).await;
    stack.wait_for_today(&app.token, "users.new", 2).await;
    assert_eq!(stack.today(&app.token, "users.active").await, 2);

    // Another app's numbers are its own.
    let other = stack.app().await;
    assert_eq!(stack.today(&other.token, "actions.likes").await, 0);
}

#[tokio::test]
async fn an_erased_user_leaves_the_counts_but_not_their_raw_events() {
    let stack = Stack::start().await;
    let app = stack.app().await;
    let ada = stack.user(&app, "ada-phone").await;
    stack.ingest(&ada.token, json!([event("tap", "t1", &now()), event("tap", "t2", &now())])).await;
    stack.wait_for_today(&app.token, "users.new", 1).await;
    let raw_of_ada = || {
        let (db, user) = (stack.analytics.db().clone(), ada.id.clone());
        async move { db.read(move |conn| chorus_analytics::store::raw::count_of_user(conn, &user)).await.unwrap() }
    };
    // Two taps and her joining.
    assert_eq!(raw_of_ada().await, 3);

    stack.peer.erase_self(&ada).await;
    chorus_kit::testing::eventually("the erased user's raw events are gone", async || raw_of_ada().await == 0).await;
    // The aggregates name no one, and stay.
    assert_eq!(stack.today(&app.token, "events.tap").await, 2);
    assert_eq!(stack.today(&app.token, "users.active").await, 1);
    // Her token stops working here too, within a second.
    chorus_kit::testing::eventually("the erased user's token is refused", async || {
        let batch = json!({ "events": [event("tap", "t3", &now())] });
        stack.api.post("/v1/events:batch", &ada.token, batch).await.status == 401
    })
    .await;
    assert_eq!(raw_of_ada().await, 0);
}
