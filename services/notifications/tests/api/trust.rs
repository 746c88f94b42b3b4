//! Trust across the platform: an erased user's tokens are refused by every operation of every
//! service, a withdrawn signing key stops verifying everywhere, webhooks cannot target the
//! platform's own network, and a banned user may read but not act.

use std::time::{Duration, Instant};

use super::*;

/// Every operation a user token may call, from a service's published spec: its method and its
/// path with each parameter filled in.
async fn user_operations(api: &Api) -> Vec<(Method, String)> {
    let spec: Value = reqwest::get(api.url("/openapi.json")).await.unwrap().json().await.unwrap();
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let schemes = operation["security"].as_array().cloned().unwrap_or_default();
            if !schemes.iter().any(|requirement| requirement.get("user").is_some()) {
                continue;
            }
            let filled: Vec<&str> =
                path.split('/').map(|segment| if segment.starts_with('{') { "x1" } else { segment }).collect();
            operations.push((method.to_uppercase().parse().unwrap(), filled.join("/")));
        }
    }
    operations
}

/// Waits until `token` gets 401 from `path`, for at most `limit`; returns how long it took.
async fn refused_within(api: &Api, path: &str, token: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let reply = api.get(path, token).await;
        if reply.status == 401 {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{path} still answers {} after {limit:?}", reply.status);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_erased_users_token_is_refused_by_every_operation_of_every_service() {
    let s = Stack::start().await;
    let demo = s.peer_app().await;
    let ada = s.person(&demo.api_key, "ada").await;
    let device = json!({ "token": "abcdef0123", "platform": "ios", "provider": "apns" });
    assert_eq!(s.api.post("/v1/devices", &ada.token, device.clone()).await.status, 201);
    s.comment(&ada, "post1", "before", None).await;

    s.peer.erase_self(&ada).await;

    // The bound is the feed's latency plus the kit's revocation refresh (well under a second);
    // the limit here leaves room for a loaded test machine.
    let limit = Duration::from_secs(5);
    for (api, path) in [(&s.users, "/v1/users/me"), (&s.actions, "/v1/entities/post1"), (&s.api, "/v1/notifications")] {
        refused_within(api, path, &ada.token, limit).await;
    }

    // Every operation a user may call, read or write, in every service, refuses the token.
    let mut tried = 0;
    for api in [&s.users, &s.actions, &s.api] {
        for (method, path) in user_operations(api).await {
            let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
            let reply = api.call(method.clone(), &path, Some(&ada.token), body).await;
            assert_eq!(reply.status, 401, "{method} {path} of {}: {}", api.base_url, reply.body);
            reply.assert_problem(401, None);
            tried += 1;
        }
    }
    assert!(tried > 30, "only {tried} operations were tried");
    // The very writes that once slipped through.
    let put = s.api.call(Method::PUT, "/v1/entities/post1/subscriptions/new_comments", Some(&ada.token), None).await;
    put.assert_problem(401, None);
    s.api.post("/v1/devices", &ada.token, device).await.assert_problem(401, None);

    // Nothing of theirs was stored again, anywhere.
    let user_id = ada.id.clone();
    let devices =
        s.notifications_db().read(move |conn| chorus_notifications::store::devices::count_of_user(conn, &user_id));
    assert_eq!(devices.await.unwrap(), 0);
    let user_id = ada.id.clone();
    let subscriptions = s
        .notifications_db()
        .read(move |conn| chorus_notifications::store::subscriptions::of_user(conn, &user_id, None, 10));
    assert!(subscriptions.await.unwrap().is_empty());
    let (app_id, user_id) = (demo.id.clone(), ada.id.clone());
    let actions = s._actions.db().read(move |conn| chorus_actions::store::actions::of_user(conn, &app_id, &user_id));
    let actions = actions.await.unwrap();
    assert_eq!(actions.len(), 1, "only the comment from before, now a tombstone: {actions:?}");
    assert!(actions[0].deleted && actions[0].text.is_none(), "{actions:?}");
}

#[tokio::test]
async fn a_withdrawn_signing_key_stops_verifying_everywhere() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let before = s.person(&api_key, "before").await;
    let old_kid = kid_of(&before.token);

    let new_kid = s.peer.rotate_signing_key().await;
    assert_ne!(new_kid, old_kid);
    let jwks = reqwest::get(s.users.url("/.well-known/jwks.json")).await.unwrap().json::<Value>().await.unwrap();
    let published: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert!(published.contains(&old_kid.as_str()) && published.contains(&new_kid.as_str()), "{jwks}");

    // Until the lead time has passed, sessions are still signed with the old key; then with
    // the new one, which every service already knows. Every service accepts both.
    let during = s.person(&api_key, "during").await;
    assert_eq!(kid_of(&during.token), old_kid, "the new key is published before it signs");
    let mut after = during;
    eventually("the new key signs", async || {
        after = s.person(&api_key, "after").await;
        kid_of(&after.token) == new_kid
    })
    .await;
    for token in [&before.token, &after.token] {
        assert_eq!(s.users.get("/v1/users/me", token).await.status, 200);
        assert_eq!(s.api.get("/v1/notifications", token).await.status, 200);
    }

    // The key that signs cannot be withdrawn; the old one can.
    let signing_key = format!("/v1/admin/signing-keys/{new_kid}");
    s.users.call(Method::DELETE, &signing_key, Some(OPERATOR_TOKEN), None).await.assert_problem(409, None);
    s.peer.withdraw_signing_key(&old_kid).await;

    // Within the verifiers' refresh interval (a second in tests), the old key's tokens are
    // refused by every service, and the new key's still work.
    let limit = Duration::from_secs(10);
    for (api, path) in [(&s.users, "/v1/users/me"), (&s.actions, "/v1/users/me/actions"), (&s.api, "/v1/notifications")]
    {
        refused_within(api, path, &before.token, limit).await;
        assert_eq!(api.get(path, &after.token).await.status, 200, "{path}");
    }
}

/// The `kid` a token's header names.
fn kid_of(token: &str) -> String {
    chorus_kit::auth::KeyRing::kid_of(token).unwrap()
}

#[tokio::test]
async fn webhooks_cannot_target_the_platforms_own_network() {
    let s = Stack::start_with(|config| config.webhooks.allow_private_targets = false).await;
    let (_, app) = s.app().await;
    for url in [
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:8081/v1/apps",
        "http://10.0.0.1/x",
        "http://[::1]:8082/",
        "http://localhost:8083/",
    ] {
        let reply = s.api.post("/v1/webhooks", &app, json!({ "url": url, "event_types": ["action.created"] })).await;
        reply.assert_problem(400, Some("url"));
    }
    let listed = s.api.get("/v1/webhooks", &app).await;
    assert_eq!(listed.body["items"], json!([]), "nothing was registered");
}

#[tokio::test]
async fn a_banned_user_may_read_and_manage_their_own_data_but_not_act() {
    let s = Stack::start().await;
    let demo = s.peer_app().await;
    let (api_key, app) = (demo.api_key.clone(), demo.token.clone());
    let ada = s.person(&api_key, "ada").await;
    s.comment(&ada, "post1", "before the ban", None).await;
    s.peer.ban(&app, &ada.id).await;
    eventually("actions learns of the ban", async || {
        s.actions.post("/v1/entities/post1/likes", &ada.token, json!({})).await.status == 403
    })
    .await;
    s.actions.call(Method::DELETE, "/v1/entities/post1/likes/me", Some(&ada.token), None).await;

    // Acting is refused: actions, a comment, a profile.
    s.actions.post("/v1/entities/post1/comments", &ada.token, json!({ "text": "hi" })).await.assert_problem(403, None);
    s.actions
        .post("/v1/entities/post1/shares", &ada.token, json!({ "medium": "email" }))
        .await
        .assert_problem(403, None);
    let profile = s.users.call(Method::PATCH, "/v1/users/me", Some(&ada.token), Some(json!({ "display_name": "Ada" })));
    profile.await.assert_problem(403, None);

    // Reading, and their own data and inbox, stay open.
    assert_eq!(s.actions.get("/v1/entities/post1", &ada.token).await.status, 200);
    assert_eq!(s.users.get("/v1/users/me", &ada.token).await.status, 200);
    assert_eq!(s.users.get("/v1/users/me/export", &ada.token).await.status, 200);
    assert_eq!(s.api.get("/v1/notifications", &ada.token).await.status, 200);
    let unsubscribe =
        s.api.call(Method::DELETE, "/v1/entities/post1/subscriptions/new_comments", Some(&ada.token), None).await;
    assert_eq!(unsubscribe.status, 204, "{}", unsubscribe.body);
    let (app_id, user_id) = (demo.id.clone(), ada.id.clone());
    let stored = s._actions.db().read(move |conn| chorus_actions::store::actions::of_user(conn, &app_id, &user_id));
    let stored = stored.await.unwrap();
    let texts: Vec<_> = stored.iter().filter_map(|action| action.text.as_deref()).collect();
    assert_eq!(texts, ["before the ban"], "no comment or share after the ban: {stored:?}");
}
