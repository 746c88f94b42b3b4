//! Likes, comments, shares and views: counts that never drift.

use super::*;

#[tokio::test]
async fn concurrent_likes_and_unlikes_keep_exact_counts() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let mut people = Vec::new();
    for i in 0..50 {
        people.push(s.person(&api_key, &format!("device-{i}")).await);
    }
    let key = "concurrency";
    let like = |p: &Person| s.act(Method::POST, format!("{}/likes", path(key)), p.token.clone());
    let results = futures_util::future::join_all(people.iter().map(like)).await;
    assert!(results.iter().all(|r| r.status.is_success()), "{:?}", results.iter().map(|r| &r.body).collect::<Vec<_>>());
    assert_eq!(s.bar(key, &people[0]).await["counts"]["likes"], 50);

    // Half unlike while the other half like again (idempotently), twice over, all at once.
    let unlike = |p: &Person| s.act(Method::DELETE, format!("{}/likes/me", path(key)), p.token.clone());
    let mut mixed = Vec::new();
    for (i, person) in people.iter().enumerate() {
        for _ in 0..2 {
            let call: std::pin::Pin<Box<dyn Future<Output = Reply>>> =
                if i % 2 == 0 { Box::pin(unlike(person)) } else { Box::pin(like(person)) };
            mixed.push(call);
        }
    }
    let results = futures_util::future::join_all(mixed).await;
    assert!(results.iter().all(|r| r.status.is_success()), "{:?}", results.iter().find(|r| !r.status.is_success()));
    assert_eq!(s.bar(key, &people[0]).await["counts"], counts(25, 0, 0, 0));
    assert_eq!(s.bar(key, &people[0]).await["me"]["liked"], false);
    assert_eq!(s.bar(key, &people[1]).await["me"]["liked"], true);

    // The recount finds nothing to fix.
    let report = s.api.call(Method::POST, "/v1/admin/recount", Some(OPERATOR_TOKEN), None).await;
    assert_eq!(report.body, json!({ "entities_checked": 1, "entities_fixed": 0 }));
}

#[tokio::test]
async fn the_callers_summary_follows_each_action_and_the_recount_rebuilds_it() {
    use diesel::RunQueryDsl;

    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let ada = s.person(&api_key, "ada").await;
    let bob = s.person(&api_key, "bob").await;
    let key = "summary";
    let comments = format!("{}/comments", path(key));
    s.api.call(Method::POST, &format!("{}/likes", path(key)), Some(&ada.token), None).await;
    let first = s.api.post(&comments, &ada.token, json!({ "text": "one" })).await;
    s.api.post(&comments, &ada.token, json!({ "text": "two" })).await;
    s.api.post(&format!("{}/shares", path(key)), &ada.token, json!({ "medium": "email" })).await;
    s.api.post(&comments, &bob.token, json!({ "text": "bob's" })).await;
    assert_eq!(s.bar(key, &ada).await["me"], json!({ "liked": true, "comments": 2, "shares": 1 }));
    assert_eq!(s.bar(key, &bob).await["me"], json!({ "liked": false, "comments": 1, "shares": 0 }));

    // Withdrawn actions leave the summary in the same transaction.
    let deleted =
        s.api.call(Method::DELETE, &format!("/v1/comments/{}", first.text("/id")), Some(&ada.token), None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    s.api.call(Method::DELETE, &format!("{}/likes/me", path(key)), Some(&ada.token), None).await;
    assert_eq!(s.bar(key, &ada).await["me"], json!({ "liked": false, "comments": 1, "shares": 1 }));

    // The summary is read from the users' tallies: one that drifts shows, and the recount, which
    // checks them against the actions, rebuilds it.
    s.actions
        .db()
        .write(|conn| -> Result<usize, chorus_kit::db::DbError> {
            let drift = diesel::sql_query("UPDATE action_tallies SET comments = comments + 5");
            Ok(chorus_kit::on_backend!(conn, |c| drift.execute(c))?)
        })
        .await
        .unwrap();
    assert_eq!(s.bar(key, &bob).await["me"]["comments"], 6);
    let report = s.api.call(Method::POST, "/v1/admin/recount", Some(OPERATOR_TOKEN), None).await;
    assert_eq!(report.body, json!({ "entities_checked": 1, "entities_fixed": 1 }));
    assert_eq!(s.bar(key, &ada).await["me"], json!({ "liked": false, "comments": 1, "shares": 1 }));
    assert_eq!(s.bar(key, &bob).await["me"], json!({ "liked": false, "comments": 1, "shares": 0 }));
}

#[tokio::test]
async fn each_action_is_published_as_it_was_answered_with_the_counts_it_left() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let ada = s.person(&api_key, "ada").await;
    let key = "published";
    let comments = format!("{}/comments", path(key));
    // The first names the entity (the long way); the rest find it (on PostgreSQL, one statement
    // each, which fills the entity's id and counts into the event). The last comment's text
    // holds what that statement replaces, so it takes the long way and keeps its words.
    let answers = [
        s.api.post(&comments, &ada.token, json!({ "text": "first" })).await,
        s.api.call(Method::POST, &format!("{}/likes", path(key)), Some(&ada.token), None).await,
        s.api.post(&comments, &ada.token, json!({ "text": "second" })).await,
        s.api.post(&format!("{}/shares", path(key)), &ada.token, json!({ "medium": "email", "text": "look" })).await,
        s.api.post(&comments, &ada.token, json!({ "text": "chorus-placeholder-entity-id -7100000000000000002" })).await,
    ];
    let created: Vec<Value> = s.events().await.into_iter().filter(|e| e["type"] == "action.created").collect();
    assert_eq!(created.len(), answers.len());
    let expected_counts =
        [counts(0, 1, 0, 0), counts(1, 1, 0, 0), counts(1, 2, 0, 0), counts(1, 2, 1, 0), counts(1, 3, 1, 0)];
    for ((answer, event), expected) in answers.iter().zip(&created).zip(expected_counts) {
        assert!(answer.status.is_success(), "{}", answer.body);
        assert_eq!(event["data"]["action"], answer.body, "the event carries the action as answered");
        assert_eq!(event["data"]["entity"], json!({ "id": answer.body["entity_id"], "key": key }));
        assert_eq!(event["data"]["counts"], expected);
        assert_eq!(event["subject"], answer.body["entity_id"]);
    }
    assert_eq!(s.bar(key, &ada).await["counts"], counts(1, 3, 1, 0));
}

#[tokio::test]
async fn views_are_grouped_but_never_lost() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let ada = s.person(&api_key, "ada").await;
    let bob = s.person(&api_key, "bob").await;
    // Concurrent views of three entities (two of them first named by a view) fall into shared
    // groups; every one is counted on its own entity, and the feed accounts for each.
    let keys = ["popular", "fresh-1", "fresh-2"];
    let view = |i: usize| {
        let viewer = if i.is_multiple_of(2) { &ada } else { &bob };
        s.act(Method::POST, format!("{}/views", path(keys[i % 3])), viewer.token.clone())
    };
    let results = futures_util::future::join_all((0..300).map(view)).await;
    assert!(results.iter().all(|r| r.status == 204), "{:?}", results.iter().find(|r| r.status != 204).map(|r| &r.body));
    let events = s.events().await;
    for key in keys {
        assert_eq!(s.bar(key, &ada).await["counts"]["views"], 100, "{key}");
        let viewed: i64 = events
            .iter()
            .filter(|e| e["type"] == "entity.viewed" && e["data"]["entity"]["key"] == key)
            .map(|e| e["data"]["views"].as_i64().unwrap())
            .sum();
        assert_eq!(viewed, 100, "the feed accounts for every view of {key}");
    }
}

#[tokio::test]
async fn comments_and_shares_honour_idempotency_keys() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let ada = s.person(&api_key, "ada").await;
    let send = |text: &'static str| {
        s.api
            .http
            .post(s.api.url(&format!("{}/comments", path("idem"))))
            .bearer_auth(&ada.token)
            .header("Idempotency-Key", "retry-1")
            .json(&json!({ "text": text }))
            .send()
    };
    let first = Reply::from(send("once").await.unwrap()).await;
    let replay = Reply::from(send("once").await.unwrap()).await;
    assert_eq!((first.status.as_u16(), replay.status.as_u16()), (201, 201));
    assert_eq!(first.body["id"], replay.body["id"]);
    Reply::from(send("different").await.unwrap()).await.assert_problem(422, None);
    assert_eq!(s.bar("idem", &ada).await["counts"]["comments"], 1);

    // A retried view counts once.
    let view = |idempotency_key: &'static str| {
        s.api
            .http
            .post(s.api.url(&format!("{}/views", path("idem"))))
            .bearer_auth(&ada.token)
            .header("Idempotency-Key", idempotency_key)
            .send()
    };
    for _ in 0..3 {
        assert_eq!(view("view-1").await.unwrap().status(), 204);
    }
    assert_eq!(s.bar("idem", &ada).await["counts"]["views"], 1);
    // Sent again all at once, so the copies share a group with the first: still once.
    let statuses: Vec<u16> = futures_util::future::join_all((0..5).map(|_| view("view-2")))
        .await
        .into_iter()
        .map(|reply| reply.unwrap().status().as_u16())
        .collect();
    assert_eq!(statuses, [204; 5]);
    assert_eq!(s.bar("idem", &ada).await["counts"]["views"], 2);
}
