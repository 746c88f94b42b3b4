//! Entities and the action bar.

use super::*;

#[tokio::test]
async fn the_action_bar_walkthrough() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let ada = s.person(&api_key, "ada").await;

    let upserted = s
        .api
        .call(Method::PUT, &path(HARD_KEY), Some(&ada.token), Some(json!({ "name": "Article 42", "type": "article" })))
        .await;
    assert_eq!(upserted.status, 201, "{}", upserted.body);
    assert_eq!(upserted.body["key"], HARD_KEY, "the key survives percent-encoding");

    let first = s.api.call(Method::POST, &format!("{}/likes", path(HARD_KEY)), Some(&ada.token), None).await;
    let second = s.api.call(Method::POST, &format!("{}/likes", path(HARD_KEY)), Some(&ada.token), None).await;
    assert_eq!((first.status.as_u16(), second.status.as_u16()), (201, 200));
    assert_eq!(first.body["id"], second.body["id"]);
    assert_eq!(s.bar(HARD_KEY, &ada).await["counts"], counts(1, 0, 0, 0));

    let unliked = s.api.call(Method::DELETE, &format!("{}/likes/me", path(HARD_KEY)), Some(&ada.token), None).await;
    assert_eq!(unliked.status, 204);
    assert_eq!(s.bar(HARD_KEY, &ada).await["counts"], counts(0, 0, 0, 0));

    let comment =
        s.api.post(&format!("{}/comments", path(HARD_KEY)), &ada.token, json!({ "text": "Great read" })).await;
    assert_eq!(comment.status, 201, "{}", comment.body);
    let reply = s
        .api
        .post(
            &format!("{}/comments", path(HARD_KEY)),
            &ada.token,
            json!({ "text": "Agreed", "parent_id": comment.text("/id") }),
        )
        .await;
    assert_eq!(reply.body["parent_id"], comment.body["id"]);
    let share = s
        .api
        .post(&format!("{}/shares", path(HARD_KEY)), &ada.token, json!({ "medium": "email", "text": "look" }))
        .await;
    assert_eq!(share.status, 201);
    let view = s.api.call(Method::POST, &format!("{}/views", path(HARD_KEY)), Some(&ada.token), None).await;
    assert_eq!(view.status, 204);

    let bar = s.bar(HARD_KEY, &ada).await;
    assert_eq!(bar["counts"], counts(0, 2, 1, 1));
    assert_eq!(bar["me"], json!({ "liked": false, "comments": 2, "shares": 1 }));

    // Threads: the top level holds the first comment; its replies are one call away.
    let top = s.api.get(&format!("{}/comments", path(HARD_KEY)), &ada.token).await;
    assert_eq!(top.body["items"].as_array().unwrap().len(), 1);
    let replies =
        s.api.get(&format!("{}/comments?parent_id={}", path(HARD_KEY), comment.text("/id")), &ada.token).await;
    assert_eq!(replies.body["items"][0]["text"], "Agreed");

    // The feed has every change in order, each with the counts after it.
    let events = s.events().await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "entity.updated",
            "action.created",
            "action.deleted",
            "action.created",
            "action.created",
            "action.created",
            "entity.viewed"
        ]
    );
    assert_eq!(events[1]["data"]["counts"]["likes"], 1);
    assert_eq!(events[2]["data"]["counts"]["likes"], 0);
}

#[tokio::test]
async fn the_first_actions_on_a_new_key_race_safely() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let mut people = Vec::new();
    for i in 0..20 {
        people.push(s.person(&api_key, &format!("racer-{i}")).await);
    }
    // Everyone comments on a key nobody has used yet, at once: one entity, twenty comments.
    let api = &s.api;
    let comment = |p: &Person| {
        let body = json!({ "text": format!("first from {}", p.id) });
        let (url, token) = (format!("{}/comments", path("brand-new")), p.token.clone());
        async move { api.post(&url, &token, body).await }
    };
    let results = futures_util::future::join_all(people.iter().map(comment)).await;
    assert!(results.iter().all(|r| r.status == 201), "{:?}", results.iter().find(|r| r.status != 201).map(|r| &r.body));
    assert_eq!(s.bar("brand-new", &people[0]).await["counts"]["comments"], 20);
    let entities = s.api.get("/v1/entities?sort=recent", &people[0].token).await;
    assert_eq!(entities.body["items"].as_array().unwrap().len(), 1);
}
