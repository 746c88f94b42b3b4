//! Bad input and other apps: precise problems, nothing changed, nothing seen.

use super::*;

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
