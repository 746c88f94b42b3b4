//! The actions service over real HTTP, beside a real users service, each on its own fresh
//! database (SQLite, or PostgreSQL when CHORUS_TEST_POSTGRES_URL is set).

use chorus_actions::Actions;
use chorus_kit::config::Secret;
use chorus_kit::testing::{self, Api, OPERATOR_TOKEN, Reply, TestService, eventually};
use chorus_users::Users;
use chorus_users::domain::sessions::ServiceAccount;
use reqwest::Method;
use serde_json::{Value, json};

const SERVICE_SECRET: &str = "actions-test-secret";
/// A key with everything that makes keys hard: '/', '?', '%', '&' and non-ASCII.
const HARD_KEY: &str = "https://example.com/articles/42?ref=home&q=%41 é";

struct Stack {
    users: TestService<chorus_users::config::Config>,
    actions: TestService<chorus_actions::config::Config>,
    users_api: Api,
    api: Api,
}

/// A user of an app, with a session.
struct Person {
    id: String,
    token: String,
}

fn path(key: &str) -> String {
    format!("/v1/entities/{}", testing::encode_segment(key))
}

impl Stack {
    async fn start() -> Self {
        let users = testing::spawn_with::<Users>(|config| {
            config.service_accounts = vec![ServiceAccount {
                name: "actions".into(),
                secret_sha256: chorus_kit::secrets::digest(SERVICE_SECRET),
                scopes: vec![chorus_kit::events::READ_SCOPE.into()],
            }];
        })
        .await;
        let users_url = users.base_url.clone();
        let actions = testing::spawn_with::<Actions>(move |config| {
            config.users.url = users_url;
            config.users.service_secret = Some(Secret::new(SERVICE_SECRET));
        })
        .await;
        let users_api = Api::new(users.base_url.clone());
        let api = Api::new(actions.base_url.clone());
        Self { users, actions, users_api, api }
    }

    /// A new app: (api key, app token).
    async fn app(&self) -> (String, String) {
        let created = self.users_api.post("/v1/apps", OPERATOR_TOKEN, json!({ "name": "Demo" })).await;
        let (key, secret) = (created.text("/app/api_key"), created.text("/api_secret"));
        let token = self
            .users_api
            .call(Method::POST, "/v1/tokens/app", None, Some(json!({ "api_key": key, "api_secret": secret })))
            .await;
        (key, token.text("/access_token"))
    }

    async fn person(&self, api_key: &str, device: &str) -> Person {
        let session = self
            .users_api
            .call(Method::POST, "/v1/sessions", None, Some(json!({ "api_key": api_key, "device_id": device })))
            .await;
        Person { id: session.text("/user/id"), token: session.text("/access_token") }
    }

    /// A bodiless call with owned arguments, so many can be in flight at once.
    async fn act(&self, method: Method, path: String, token: String) -> Reply {
        self.api.call(method, &path, Some(&token), None).await
    }

    async fn bar(&self, key: &str, who: &Person) -> Value {
        let reply = self.api.get(&path(key), &who.token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    async fn events(&self) -> Vec<Value> {
        let reply = self.api.get("/v1/events?after=0&limit=500", OPERATOR_TOKEN).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["items"].as_array().unwrap().clone()
    }
}

fn counts(likes: i64, comments: i64, shares: i64, views: i64) -> Value {
    json!({ "likes": likes, "comments": comments, "shares": shares, "views": views,
            "total": likes + comments + shares + views })
}

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
async fn views_are_grouped_but_never_lost() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let ada = s.person(&api_key, "ada").await;
    let bob = s.person(&api_key, "bob").await;
    let view = |p: &Person| s.act(Method::POST, format!("{}/views", path("popular")), p.token.clone());
    let results = futures_util::future::join_all((0..200).map(|i| view(if i % 2 == 0 { &ada } else { &bob }))).await;
    assert!(results.iter().all(|r| r.status == 204));
    assert_eq!(s.bar("popular", &ada).await["counts"]["views"], 200);
    let viewed: i64 = s
        .events()
        .await
        .iter()
        .filter(|e| e["type"] == "entity.viewed")
        .map(|e| e["data"]["views"].as_i64().unwrap())
        .sum();
    assert_eq!(viewed, 200, "the feed accounts for every view");
}

#[tokio::test]
async fn bad_input_gets_a_precise_problem_and_changes_nothing() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let ada = s.person(&api_key, "ada").await;
    let key = "article";
    let comments = format!("{}/comments", path(key));
    s.api.post(&comments, &ada.token, json!({ "text": "first" })).await;
    let before = s.events().await.len();

    s.api.post(&comments, &ada.token, json!({ "text": "   " })).await.assert_problem(400, Some("text"));
    s.api.post(&comments, &ada.token, json!({ "text": "x".repeat(10_001) })).await.assert_problem(400, Some("text"));
    s.api
        .post(&comments, &ada.token, json!({ "text": "hi", "parent_id": "no-such" }))
        .await
        .assert_problem(404, Some("parent_id"));
    s.api.post(&comments, &ada.token, json!({})).await.assert_problem(400, Some("text"));
    s.api.post(&comments, &ada.token, json!({ "text": "a\u{0}b" })).await.assert_problem(400, Some("text"));
    let other = s.api.post(&format!("{}/comments", path("other")), &ada.token, json!({ "text": "elsewhere" })).await;
    let wrong_parent = json!({ "text": "hi", "parent_id": other.text("/id") });
    s.api.post(&comments, &ada.token, wrong_parent).await.assert_problem(404, Some("parent_id"));
    let before = before + 1;
    s.api
        .post(&format!("{}/shares", path(key)), &ada.token, json!({ "medium": "fax" }))
        .await
        .assert_problem(400, Some("medium"));
    s.api.get(&format!("{comments}?cursor=bogus"), &ada.token).await.assert_problem(400, Some("cursor"));
    s.api.get(&format!("{comments}?limit=0"), &ada.token).await.assert_problem(400, Some("limit"));
    s.api.get(&format!("{}/actions?kind=poke", path(key)), &ada.token).await.assert_problem(400, Some("kind"));
    let long_key = "k".repeat(2_049);
    s.api
        .call(Method::POST, &format!("{}/likes", path(&long_key)), Some(&ada.token), None)
        .await
        .assert_problem(400, Some("key"));
    s.api
        .call(Method::PUT, &path(key), Some(&ada.token), Some(json!({ "name": "" })))
        .await
        .assert_problem(400, Some("name"));
    s.api.get(&format!("{comments}?limit=abc"), &ada.token).await.assert_problem(400, Some("limit"));
    s.api.post(&comments, &ada.token, json!({ "text": 5 })).await.assert_problem(400, Some("text"));
    s.api.post(&comments, &ada.token, json!({ "text": "hi", "mood": 1 })).await.assert_problem(400, Some("mood"));
    let trace = s.api.call(Method::TRACE, &comments, Some(&ada.token), None).await;
    trace.assert_problem(405, None);
    assert_eq!(trace.headers["allow"], "GET, POST", "405 lists the path's methods (RFC 9110)");
    let huge = json!({ "text": "x".repeat(2 * 1024 * 1024) });
    s.api.post(&comments, &ada.token, huge).await.assert_problem(413, None);
    let spec: Value =
        serde_json::from_str(&chorus_kit::docs::spec_json(&chorus_kit::server::spec::<Actions>().unwrap())).unwrap();
    let declared = &spec["paths"]["/v1/entities/{key}/comments"]["post"]["responses"];
    for status in ["400", "401", "404", "413", "415", "422", "429", "503"] {
        assert!(declared.get(status).is_some(), "the spec declares {status} for comment");
    }
    let as_text = s
        .api
        .http
        .post(s.api.url(&comments))
        .bearer_auth(&ada.token)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    Reply::from(as_text).await.assert_problem(415, None);
    s.api.get(&path("never-seen"), &ada.token).await.assert_problem(404, None);
    s.api.call(Method::GET, &path(key), None, None).await.assert_problem(401, None);
    s.api.get(&path(key), "forged.token.here").await.assert_problem(401, None);

    assert_eq!(s.bar(key, &ada).await["counts"], counts(0, 1, 0, 0), "rejected requests change nothing");
    assert_eq!(s.events().await.len(), before, "rejected requests publish nothing");
}

#[tokio::test]
async fn one_app_never_touches_another_apps_content() {
    let s = Stack::start().await;
    let (key_a, _) = s.app().await;
    let (key_b, app_b) = s.app().await;
    let ada = s.person(&key_a, "ada").await;
    let bob = s.person(&key_b, "bob").await;
    let comment = s.api.post(&format!("{}/comments", path("shared-key")), &ada.token, json!({ "text": "mine" })).await;
    let comment_id = comment.text("/id");

    // The same key in app B is a different entity.
    s.api.get(&path("shared-key"), &bob.token).await.assert_problem(404, None);
    s.api
        .call(Method::DELETE, &format!("/v1/comments/{comment_id}"), Some(&bob.token), None)
        .await
        .assert_problem(404, None);
    s.api
        .call(Method::DELETE, &format!("/v1/comments/{comment_id}"), Some(&app_b), None)
        .await
        .assert_problem(404, None);
    s.api.post(&format!("/v1/comments/{comment_id}/flags"), &bob.token, json!({})).await.assert_problem(404, None);
    let listed = s.api.get("/v1/actions", &app_b).await;
    assert_eq!(listed.body["items"], json!([]));
    assert_eq!(s.bar("shared-key", &ada).await["counts"]["comments"], 1);
}

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

#[tokio::test]
async fn bans_blocks_and_erasure_arrive_through_the_users_feed() {
    let s = Stack::start().await;
    let (api_key, app) = s.app().await;
    let ada = s.person(&api_key, "ada").await;
    let bob = s.person(&api_key, "bob").await;
    let eve = s.person(&api_key, "eve").await;
    let comments = format!("{}/comments", path("news"));
    s.api.post(&comments, &bob.token, json!({ "text": "from bob" })).await;

    // Ada blocks Bob: she stops seeing his comments; others still do.
    let blocked =
        s.users_api.call(Method::PUT, &format!("/v1/users/me/blocks/{}", bob.id), Some(&ada.token), None).await;
    assert_eq!(blocked.status, 204);
    eventually("ada's block reaches actions", async || {
        s.api.get(&comments, &ada.token).await.body["items"] == json!([])
    })
    .await;
    assert_eq!(s.api.get(&comments, &eve.token).await.body["items"].as_array().unwrap().len(), 1);

    // Eve likes and comments, then is erased: her actions go and the counts follow.
    s.api.call(Method::POST, &format!("{}/likes", path("news")), Some(&eve.token), None).await;
    s.api.post(&comments, &eve.token, json!({ "text": "from eve" })).await;
    s.api.call(Method::POST, &format!("{}/views", path("news")), Some(&eve.token), None).await;
    assert_eq!(s.bar("news", &ada).await["counts"], counts(1, 2, 0, 1));
    let erased = s.users_api.call(Method::DELETE, &format!("/v1/users/{}", eve.id), Some(&app), None).await;
    assert_eq!(erased.status, 204);
    eventually("eve's erasure reaches actions", async || s.bar("news", &ada).await["counts"] == counts(0, 1, 0, 0))
        .await;
    let eves = s.api.get(&format!("/v1/users/{}/actions", eve.id), &app).await;
    assert!(eves.body["items"].as_array().unwrap().iter().all(|a| a["deleted"] == true), "{}", eves.body);
    // Her words are gone from the feed too, and her still-valid token can no longer act.
    let feed = s.events().await;
    assert!(!serde_json::to_string(&feed).unwrap().contains("from eve"), "the erased comment's text left the log");
    s.api
        .call(Method::POST, &format!("{}/likes", path("news")), Some(&eve.token), None)
        .await
        .assert_problem(403, None);

    // Bob is banned: he can no longer act, and his comments leave users' lists.
    s.users_api.call(Method::PUT, &format!("/v1/users/{}/ban", bob.id), Some(&app), Some(json!({}))).await;
    eventually("bob's ban reaches actions", async || {
        s.api.call(Method::POST, &format!("{}/likes", path("news")), Some(&bob.token), None).await.status == 403
    })
    .await;
    s.api.post(&comments, &bob.token, json!({ "text": "again" })).await.assert_problem(403, None);
    assert_eq!(s.api.get(&comments, &eve.token).await.status, 200);
    let report = s.api.call(Method::POST, "/v1/admin/recount", Some(OPERATOR_TOKEN), None).await;
    assert_eq!(report.body["entities_fixed"], 0);

    let metrics = reqwest::get(s.actions.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("chorus_feed_lag_events{feed=\"users\",service=\"actions\"}"), "{metrics}");
}

#[tokio::test]
async fn lists_paginate_and_filter() {
    let s = Stack::start().await;
    let (api_key, app) = s.app().await;
    let ada = s.person(&api_key, "ada").await;
    for key in ["a", "b", "c"] {
        s.api.call(Method::POST, &format!("{}/likes", path(key)), Some(&ada.token), None).await;
        s.api.post(&format!("{}/shares", path(key)), &ada.token, json!({ "medium": "sms" })).await;
    }
    s.api.post(&format!("{}/comments", path("c")), &ada.token, json!({ "text": "c wins" })).await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let page = s.api.get(&format!("/v1/users/me/actions?limit=2{query}"), &ada.token).await;
        seen.extend(page.body["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, no repeats");

    let shares = s.api.get("/v1/actions?kind=share", &app).await;
    assert_eq!(shares.body["items"].as_array().unwrap().len(), 3);
    let popular = s.api.get("/v1/entities?sort=popular&limit=1", &ada.token).await;
    assert_eq!(popular.body["items"][0]["key"], "c");
    let next = s
        .api
        .get(&format!("/v1/entities?sort=popular&limit=5&cursor={}", popular.text("/next_cursor")), &ada.token)
        .await;
    assert_eq!(next.body["items"].as_array().unwrap().len(), 2);
    let recent = s.api.get("/v1/entities?sort=recent", &ada.token).await;
    assert_eq!(recent.body["items"][0]["key"], "c");
    let batch = s.api.post("/v1/entities/lookup", &ada.token, json!({ "keys": ["a", "b", "zzz"] })).await;
    assert_eq!(batch.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(batch.body["items"][0]["me"]["liked"], true);
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
    let view = || {
        s.api
            .http
            .post(s.api.url(&format!("{}/views", path("idem"))))
            .bearer_auth(&ada.token)
            .header("Idempotency-Key", "view-1")
            .send()
    };
    for _ in 0..3 {
        assert_eq!(view().await.unwrap().status(), 204);
    }
    assert_eq!(s.bar("idem", &ada).await["counts"]["views"], 1);
}

#[tokio::test]
async fn the_users_follower_catches_up_after_users_was_down() {
    let s = Stack::start().await;
    let (api_key, app) = s.app().await;
    let bob = s.person(&api_key, "bob").await;
    let Stack { users, actions, api, .. } = s;

    // Users goes away; the follower keeps retrying with backoff.
    let (mut config, port) = (users.config.clone(), users.port);
    let database = users.stop().await;
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;

    // Users comes back on the same address; a ban made now still reaches actions.
    config.http.port = port;
    let users = testing::spawn_on::<Users>(database, config).await;
    let users_api = Api::new(users.base_url.clone());
    let banned = users_api.call(Method::PUT, &format!("/v1/users/{}/ban", bob.id), Some(&app), Some(json!({}))).await;
    assert_eq!(banned.status, 200, "{}", banned.body);
    eventually("the ban reaches actions after the outage", async || {
        api.call(Method::POST, &format!("{}/likes", path("x")), Some(&bob.token), None).await.status == 403
    })
    .await;
    let metrics = reqwest::get(actions.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("chorus_feed_errors_total{feed=\"users\",service=\"actions\"}"), "{metrics}");
}

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

    let mut text = String::new();
    while text.matches("\n\n").count() < 2 {
        let chunk =
            tokio::time::timeout(std::time::Duration::from_secs(10), stream.chunk()).await.unwrap().unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let frames: Vec<&str> = text.split("\n\n").filter(|f| !f.is_empty()).collect();
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
async fn replicas_following_the_same_feed_apply_each_event_once() {
    let s = Stack::start().await;
    let (api_key, app) = s.app().await;
    // A second replica of actions on the same database.
    let replica = chorus_kit::server::start::<Actions>(s.actions.config.clone()).await.unwrap();
    let eve = s.person(&api_key, "eve").await;
    let ada = s.person(&api_key, "ada").await;
    for key in ["one", "two", "three"] {
        s.api.call(Method::POST, &format!("{}/likes", path(key)), Some(&eve.token), None).await;
        s.api.post(&format!("{}/comments", path(key)), &eve.token, json!({ "text": "hi" })).await;
        s.api.call(Method::POST, &format!("{}/likes", path(key)), Some(&ada.token), None).await;
    }
    s.users_api.call(Method::DELETE, &format!("/v1/users/{}", eve.id), Some(&app), None).await;
    eventually("the erasure reaches actions", async || s.bar("one", &ada).await["counts"]["comments"] == 0).await;
    // Give the other replica time to try the same batch.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    for key in ["one", "two", "three"] {
        assert_eq!(s.bar(key, &ada).await["counts"], counts(1, 0, 0, 0), "{key}");
    }
    let report = s.api.call(Method::POST, "/v1/admin/recount", Some(OPERATOR_TOKEN), None).await;
    assert_eq!(report.body["entities_fixed"], 0);
    replica.stop().await;
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
        let chunk =
            tokio::time::timeout(std::time::Duration::from_secs(10), stream.chunk()).await.unwrap().unwrap().unwrap();
        let frame = String::from_utf8_lossy(&chunk);
        assert!(frame.contains("event: action.created") && frame.contains("\"likes\":1"), "{frame}");
    }
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
