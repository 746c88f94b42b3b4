//! Alerts: firing once per breach, recovery, silence, broadcasts, and bad rules.

use chorus_analytics::domain::alerts;
use chorus_kit::testing::{WebhookReceiver, eventually, signed_by};
use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Stack, event, now};

impl Stack {
    /// Creates a rule, expecting 201; answers (rule id, webhook secret).
    async fn rule(&self, token: &str, rule: Value) -> (String, String) {
        let created = self.api.post("/v1/alerts", token, rule).await;
        assert_eq!(created.status, 201, "{}", created.body);
        (created.text("/rule/id"), created.text("/secret"))
    }

    /// Evaluates every rule at `at`, as the schedule would: answers the kinds of change.
    async fn evaluate(&self, at: chrono::DateTime<Utc>) -> Vec<&'static str> {
        let changes = alerts::evaluate_all(self.analytics.db(), chorus_analytics::api::announcer(), at).await.unwrap();
        changes.iter().map(|change| change.kind.as_str()).collect()
    }

    async fn firings(&self, token: &str, rule_id: &str) -> Vec<(String, i64)> {
        let reply = self.api.get(&format!("/v1/alerts/{rule_id}/firings"), token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|firing| (firing["kind"].as_str().unwrap().to_owned(), firing["value"].as_i64().unwrap()))
            .collect()
    }
}

#[tokio::test]
async fn a_rule_fires_once_per_breach_to_its_signed_webhook_and_records_its_recovery() {
    let stack = Stack::start().await;
    let app = stack.app().await;
    let hook = WebhookReceiver::start().await;
    let rule = json!({ "metric": "actions.likes", "condition": "above", "threshold": 1, "window_seconds": 900, "webhook_url": hook.url });
    let (rule_id, secret) = stack.rule(&app.token, rule).await;
    assert_eq!(stack.evaluate(Utc::now()).await, Vec::<&str>::new(), "no likes yet");

    let ada = stack.user(&app, "ada-phone").await;
    let liked = stack.actions.call(Method::POST, "/v1/entities/post-1/likes", Some(&ada.token), None).await;
    assert_eq!(liked.status, 201, "{}", liked.body);
    stack.wait_for_today(&app.token, "actions.likes", 1).await;
    assert_eq!(stack.evaluate(Utc::now()).await, vec!["fired"]);
    // Still breached: no second firing.
    assert_eq!(stack.evaluate(Utc::now()).await, Vec::<&str>::new());
    eventually("the webhook hears of the firing", async || hook.received().len() == 1).await;

    // An hour on, the like has left the window.
    assert_eq!(stack.evaluate(Utc::now() + Duration::hours(1)).await, vec!["recovered"]);
    eventually("the webhook hears of the recovery", async || hook.received().len() == 2).await;
    let received = hook.received();
    assert!(
        received.iter().all(|(signature, body)| signed_by(&secret, signature, body)),
        "signed with the rule's secret"
    );
    let bodies: Vec<Value> = received.iter().map(|(_, body)| serde_json::from_str(body).unwrap()).collect();
    assert_eq!(bodies[0]["type"], "alert.fired");
    assert_eq!(bodies[0]["firing"]["value"], 1);
    assert_eq!(bodies[0]["rule"]["id"], rule_id.as_str());
    assert_eq!(bodies[1]["type"], "alert.recovered");
    assert_eq!(stack.firings(&app.token, &rule_id).await, vec![("recovered".into(), 0), ("fired".into(), 1)]);

    let deliveries = stack.api.get(&format!("/v1/alerts/{rule_id}/deliveries"), &app.token).await;
    let statuses: Vec<&str> =
        deliveries.body["items"].as_array().unwrap().iter().map(|d| d["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["delivered", "delivered"], "{}", deliveries.body);

    // Another app sees none of it.
    let other = stack.app().await;
    stack.api.get(&format!("/v1/alerts/{rule_id}"), &other.token).await.assert_problem(404, None);
    let theirs = stack.api.get("/v1/alerts/firings", &other.token).await;
    assert_eq!(theirs.body["items"], json!([]));
}

#[tokio::test]
async fn a_below_rule_fires_on_silence_on_schedule_and_recovers_when_data_comes() {
    let stack = Stack::start_with(|config| config.alerts.evaluate_every_secs = 1).await;
    let app = stack.app().await;
    let hook = WebhookReceiver::start().await;
    let rule = json!({ "metric": "events.checkout", "condition": "below", "threshold": 1, "window_seconds": 3600, "webhook_url": hook.url });
    let (rule_id, _) = stack.rule(&app.token, rule).await;
    eventually("the schedule fires the rule on silence", async || {
        stack.api.get(&format!("/v1/alerts/{rule_id}"), &app.token).await.body["firing"] == true
    })
    .await;
    stack.ingest(&app.token, json!([event("checkout", "c1", &now())])).await;
    eventually("the rule recovers once a checkout arrives", async || {
        stack.firings(&app.token, &rule_id).await == vec![("recovered".to_owned(), 1), ("fired".to_owned(), 0)]
    })
    .await;
    eventually("the webhook hears of both", async || hook.received().len() == 2).await;
    let recent = stack.api.get("/v1/alerts/firings", &app.token).await;
    assert_eq!(recent.body["items"].as_array().unwrap().len(), 2, "{}", recent.body);
}

#[tokio::test]
async fn a_firing_broadcasts_through_notifications() {
    let stack = Stack::start_with_notifications().await;
    let app = stack.app().await;
    let ada = stack.user(&app, "ada-phone").await;
    let rule = json!({
        "metric": "events.error",
        "condition": "above",
        "threshold": 2,
        "window_seconds": 900,
        "broadcast": { "title": "Errors are up", "user_ids": [ada.id] },
    });
    let (rule_id, _) = stack.rule(&app.token, rule).await;
    let errors = json!([event("error", "e1", &now()), event("error", "e2", &now())]);
    stack.ingest(&app.token, errors).await;
    assert_eq!(stack.evaluate(Utc::now()).await, vec!["fired"]);

    let (_, notifications) = stack.notifications.as_ref().unwrap();
    eventually("the broadcast reaches Ada's inbox", async || {
        let inbox = notifications.get("/v1/notifications", &ada.token).await;
        inbox.body["items"].as_array().is_some_and(|items| {
            items.iter().any(|n| {
                n["title"] == "Errors are up" && n["body"].as_str().unwrap_or_default().contains("events.error is 2")
            })
        })
    })
    .await;
    let deliveries = stack.api.get(&format!("/v1/alerts/{rule_id}/deliveries"), &app.token).await;
    assert_eq!(deliveries.body["items"][0]["channel"], "broadcast");
    assert_eq!(deliveries.body["items"][0]["status"], "delivered", "{}", deliveries.body);

    // Once Ada is erased, the rule names her no more: her id leaves its recipients, and the
    // broadcast request sent to her goes.
    stack.peer.erase_self(&ada).await;
    eventually("the erased recipient leaves the rule", async || {
        stack.api.get(&format!("/v1/alerts/{rule_id}"), &app.token).await.body["broadcast"].is_null()
    })
    .await;
    let deliveries = stack.api.get(&format!("/v1/alerts/{rule_id}/deliveries"), &app.token).await;
    assert_eq!(deliveries.body["items"], json!([]), "{}", deliveries.body);
}

#[tokio::test]
async fn malformed_rules_and_inside_targets_are_refused_and_change_nothing() {
    let stack = Stack::start_with(|config| config.webhooks.allow_private_targets = false).await;
    let app = stack.app().await;
    let rule = |patch: Value| {
        let mut rule = json!({ "metric": "actions.likes", "condition": "above", "threshold": 1, "window_seconds": 900, "webhook_url": "https://93.184.216.34/hook" });
        for (key, value) in patch.as_object().unwrap() {
            if value.is_null() {
                rule.as_object_mut().unwrap().remove(key);
            } else {
                rule[key] = value.clone();
            }
        }
        rule
    };
    let post = |body: Value| stack.api.post("/v1/alerts", &app.token, body);
    post(rule(json!({ "window_seconds": 60 }))).await.assert_problem(400, Some("window_seconds"));
    post(rule(json!({ "condition": "sideways" }))).await.assert_problem(400, Some("condition"));
    post(rule(json!({ "metric": "actions.follows" }))).await.assert_problem(400, Some("metric"));
    post(rule(json!({ "webhook_url": null }))).await.assert_problem(400, Some("webhook_url"));
    for inside in ["http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data", "http://[::1]:8082/"] {
        post(rule(json!({ "webhook_url": inside }))).await.assert_problem(400, Some("webhook_url"));
    }
    let user = stack.user(&app, "ada-phone").await;
    // A public address literal, judged without a DNS lookup; the rule never fires here.
    assert_eq!(post(rule(json!({}))).await.status, 201);
    stack.api.post("/v1/alerts", &user.token, rule(json!({}))).await.assert_problem(403, None);

    let rules = stack.api.get("/v1/alerts", &app.token).await;
    assert_eq!(rules.body["items"].as_array().unwrap().len(), 1, "only the valid rule was kept: {}", rules.body);
}
