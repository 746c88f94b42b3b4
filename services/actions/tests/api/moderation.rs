//! Flags, the moderation queue and deletes.

use super::*;

#[tokio::test]
async fn moderation_flags_and_deletes_keep_threads_and_counts() {
    let s = Stack::start().await;
    let (api_key, app) = s.app().await;
    let ada = s.person(&api_key, "ada").await;
    let bob = s.person(&api_key, "bob").await;
    let comments = format!("{}/comments", path("thread"));
    let root = s.api.post(&comments, &ada.token, json!({ "text": "root" })).await.text("/id");
    let reply = s.api.post(&comments, &bob.token, json!({ "text": "rude", "parent_id": root })).await.text("/id");

    // Only the author or the app may delete.
    s.api.call(Method::DELETE, &format!("/v1/comments/{root}"), Some(&bob.token), None).await.assert_problem(403, None);
    let flagged = s.api.post(&format!("/v1/comments/{reply}/flags"), &ada.token, json!({ "reason": "rude" })).await;
    assert_eq!(flagged.status, 201);
    let again = s.api.post(&format!("/v1/comments/{reply}/flags"), &ada.token, json!({})).await;
    assert_eq!((again.status.as_u16(), again.text("/id")), (200, flagged.text("/id")));

    let queue = s.api.get("/v1/moderation/flags", &app).await;
    assert_eq!(queue.body["items"][0]["comment_id"], reply.as_str());
    s.api.get("/v1/moderation/flags", &ada.token).await.assert_problem(403, None);
    let resolved = s
        .api
        .post(
            &format!("/v1/moderation/flags/{}/resolve", flagged.text("/id")),
            &app,
            json!({ "decision": "remove_comment" }),
        )
        .await;
    assert_eq!(resolved.body["status"], "removed", "{}", resolved.body);
    assert_eq!(s.api.get("/v1/moderation/flags", &app).await.body["items"], json!([]));

    // The removed reply stays as a tombstone in its thread; counts drop.
    let replies = s.api.get(&format!("{comments}?parent_id={root}"), &ada.token).await;
    assert_eq!(replies.body["items"][0]["deleted"], true);
    assert_eq!(replies.body["items"][0]["text"], Value::Null);
    assert_eq!(s.bar("thread", &ada).await["counts"]["comments"], 1);
    let removed = s.api.call(Method::DELETE, &format!("/v1/comments/{root}"), Some(&ada.token), None).await;
    assert_eq!(removed.status, 204);
    assert_eq!(s.bar("thread", &ada).await["counts"]["comments"], 0);
    // Every event published matches the schema actions-client was generated from.
    s.api.call(Method::PUT, &path("thread"), Some(&ada.token), Some(json!({ "name": "A thread" }))).await;
    s.act(Method::POST, format!("{}/views", path("thread")), ada.token.clone()).await;
    let types = testing::assert_events_match_schema::<actions_client::types::Event>(&s.events().await);
    for expected in ["action.created", "action.deleted", "comment.flagged", "entity.updated", "entity.viewed"] {
        assert!(types.iter().any(|t| t == expected), "{expected} missing from {types:?}");
    }
}
