//! Signed webhooks: deliveries, retries, dead letters and hand retries.

use super::*;

use chorus_kit::testing::{WebhookReceiver, signed_by};

#[tokio::test]
async fn webhooks_receive_signed_events_and_failures_retry_then_die_then_retry_by_hand() {
    let s = Stack::start().await;
    let (api_key, app) = s.app().await;
    let (_, other_app) = s.app().await;
    let (ada, bob) = (s.person(&api_key, "ada").await, s.person(&api_key, "bob").await);
    let hook = WebhookReceiver::start().await;

    let bad = json!({ "url": hook.url, "event_types": ["user.created"] });
    s.api.post("/v1/webhooks", &app, bad).await.assert_problem(400, Some("event_types[0]"));
    let wanted = json!({ "url": hook.url, "event_types": ["notification.created", "action.created"] });
    s.api.post("/v1/webhooks", &ada.token, wanted.clone()).await.assert_problem(403, None);
    let register = || {
        s.api
            .http
            .post(s.api.url("/v1/webhooks"))
            .bearer_auth(&app)
            .header("Idempotency-Key", "hook-1")
            .json(&wanted)
            .send()
    };
    let created = chorus_kit::testing::Reply::from(register().await.unwrap()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let (webhook_id, secret) = (created.text("/webhook/id"), created.text("/secret"));
    let replayed = chorus_kit::testing::Reply::from(register().await.unwrap()).await;
    assert_eq!((replayed.text("/webhook/id"), replayed.text("/secret")), (webhook_id.clone(), secret.clone()));

    // Bob comments on what Ada follows: the app hears of the comment and of Ada's notification.
    s.subscribe(&ada, "post", "new_comments").await;
    s.comment(&bob, "post", "hello", None).await;
    eventually("both events arrive", async || hook.received().len() == 2).await;
    let received = hook.received();
    let types: Vec<String> = received
        .iter()
        .map(|(_, body)| serde_json::from_str::<Value>(body).unwrap()["type"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        types.contains(&"action.created".to_owned()) && types.contains(&"notification.created".to_owned()),
        "{types:?}"
    );
    assert!(received.iter().all(|(signature, body)| signed_by(&secret, signature, body)), "every delivery is signed");
    assert!(!received.iter().any(|(signature, body)| signed_by("whsec_wrong", signature, body)));

    // The endpoint goes down: three attempts with backoff, then the delivery is dead.
    hook.set_failing(true);
    s.comment(&bob, "post", "anyone?", None).await;
    let deliveries = format!("/v1/webhooks/{webhook_id}/deliveries");
    eventually("the deliveries die", async || {
        s.api.get(&format!("{deliveries}?status=dead"), &app).await.body["items"].as_array().unwrap().len() == 2
    })
    .await;
    let dead = s.api.get(&format!("{deliveries}?status=dead"), &app).await;
    assert_eq!(dead.body["items"][0]["attempts"], 3);
    assert_eq!(dead.body["items"][0]["last_status"], 503);
    // Ops see them die: the shipped alert watches this counter.
    let metrics = reqwest::get(s.api.url("/metrics")).await.unwrap().text().await.unwrap();
    let dead_count = metrics
        .lines()
        .find_map(|line| line.strip_prefix("chorus_deliveries_dead_total{kind=\"webhook\",service=\"notifications\"} "))
        .and_then(|count| count.parse::<u64>().ok());
    assert_eq!(dead_count, Some(2), "{metrics}");

    // Back up: a hand retry delivers it; another app cannot see or retry it.
    hook.set_failing(false);
    let dead_id = dead.text("/items/0/id");
    s.api.get(&deliveries, &other_app).await.assert_problem(404, None);
    s.api
        .call(Method::POST, &format!("/v1/webhooks/deliveries/{dead_id}/retry"), Some(&other_app), None)
        .await
        .assert_problem(404, None);
    let retried = s.api.call(Method::POST, &format!("/v1/webhooks/deliveries/{dead_id}/retry"), Some(&app), None).await;
    assert_eq!(retried.body["status"], "pending", "{}", retried.body);
    eventually("the retried delivery arrives", async || hook.received().len() == 3).await;
    let again = s.api.call(Method::POST, &format!("/v1/webhooks/deliveries/{dead_id}/retry"), Some(&app), None).await;
    again.assert_problem(409, None);
    assert_eq!(s.api.get("/v1/webhooks", &app).await.body["items"].as_array().unwrap().len(), 1);
}
