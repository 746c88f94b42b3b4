//! What the users feed means here: bans, blocks, erasure; followers that recover and take turns.

use super::*;

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
    s.peer.block(&ada, &bob.id).await;
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
    s.peer.erase(&app, &eve.id).await;
    eventually("eve's erasure reaches actions", async || s.bar("news", &ada).await["counts"] == counts(0, 1, 0, 0))
        .await;
    let eves = s.api.get(&format!("/v1/users/{}/actions", eve.id), &app).await;
    assert!(eves.body["items"].as_array().unwrap().iter().all(|a| a["deleted"] == true), "{}", eves.body);
    // Her words are gone from the feed too, and her still-valid token is refused, reads included.
    let feed = s.events().await;
    assert!(!serde_json::to_string(&feed).unwrap().contains("from eve"), "the erased comment's text left the log");
    eventually("eve's token is revoked", async || s.api.get(&comments, &eve.token).await.status == 401).await;
    s.api
        .call(Method::POST, &format!("{}/likes", path("news")), Some(&eve.token), None)
        .await
        .assert_problem(401, None);

    // Bob is banned: he can no longer act, and his comments leave users' lists.
    s.peer.ban(&app, &bob.id).await;
    eventually("bob's ban reaches actions", async || {
        s.api.call(Method::POST, &format!("{}/likes", path("news")), Some(&bob.token), None).await.status == 403
    })
    .await;
    s.api.post(&comments, &bob.token, json!({ "text": "again" })).await.assert_problem(403, None);
    // Views grouped together: the banned viewer's are refused, and the others count.
    let before = s.bar("news", &ada).await["counts"]["views"].as_i64().unwrap();
    let viewers = [&ada, &bob];
    let views = (0..20).map(|i| s.act(Method::POST, format!("{}/views", path("news")), viewers[i % 2].token.clone()));
    let statuses: Vec<u16> = futures_util::future::join_all(views).await.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses, [204, 403].repeat(10));
    assert_eq!(s.bar("news", &ada).await["counts"]["views"], before + 10);
    assert_eq!(s.api.get(&comments, &app).await.status, 200);
    let report = s.api.call(Method::POST, "/v1/admin/recount", Some(OPERATOR_TOKEN), None).await;
    assert_eq!(report.body["entities_fixed"], 0);

    let metrics = reqwest::get(s.actions.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("chorus_feed_lag_events{feed=\"users\",service=\"actions\"}"), "{metrics}");
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
    UsersPeer::new(users.base_url.clone(), OPERATOR_TOKEN).ban(&app, &bob.id).await;
    eventually("the ban reaches actions after the outage", async || {
        api.call(Method::POST, &format!("{}/likes", path("x")), Some(&bob.token), None).await.status == 403
    })
    .await;
    let metrics = reqwest::get(actions.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("chorus_feed_errors_total{feed=\"users\",service=\"actions\"}"), "{metrics}");
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
    s.peer.erase(&app, &eve.id).await;
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
