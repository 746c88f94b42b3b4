//! Push to devices through loopback fakes of APNs, FCM and a Web Push service, on the production
//! code paths: what reaches the device, retries, gone devices, muted users and the guard against
//! a configuration mistake.

use std::time::{Duration, Instant};

use chorus_push_fakes::{Answer, ApnsFake, FcmFake, WebPushFake};

use super::*;

fn quick_retries(config: &mut chorus_notifications::config::Config) {
    config.push.base_backoff_ms = 50;
    config.push.max_attempts = 3;
    config.push.timeout_secs = 5;
}

/// A stack whose notifications pushes to `fcm`, with quick retries and `customize` on top.
async fn pushing_to(
    fcm: &FcmFake,
    customize: impl FnOnce(&mut chorus_notifications::config::Config) + Send + 'static,
) -> Stack {
    let (url, credentials) = (fcm.url.clone(), fcm.credentials_file.clone());
    Stack::start_with(move |config| {
        quick_retries(config);
        config.push.fcm.base_url = url;
        config.push.fcm.credentials_file = Some(credentials);
        customize(config);
    })
    .await
}

/// Ada wrote a comment on `post`; each reply by Bob notifies her.
struct Thread {
    s: Stack,
    app: String,
    ada: Person,
    bob: Person,
    parent: String,
}

impl Thread {
    async fn start(s: Stack) -> Self {
        let (api_key, app) = s.app().await;
        let (ada, bob) = (s.person(&api_key, "ada").await, s.person(&api_key, "bob").await);
        let parent = s.comment(&ada, "post", "first", None).await;
        Self { s, app, ada, bob, parent }
    }

    async fn register(&self, who: &Person, device: Value) -> String {
        let registered = self.s.api.post("/v1/devices", &who.token, device).await;
        assert_eq!(registered.status, 201, "{}", registered.body);
        registered.text("/id")
    }

    /// Bob replies; answers the id of the notification Ada gets.
    async fn reply(&self) -> String {
        let before = self.s.inbox_len(&self.ada).await;
        self.s.comment(&self.bob, "post", "a reply", Some(&self.parent)).await;
        eventually("the reply reaches the inbox", async || self.s.inbox_len(&self.ada).await > before).await;
        self.s.inbox(&self.ada).await["items"][0]["id"].as_str().unwrap().to_owned()
    }

    /// The app's push deliveries of `notification_id`.
    async fn pushes_of(&self, notification_id: &str) -> Vec<Value> {
        let listed = self.s.api.get("/v1/push/deliveries", &self.app).await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        let items = listed.body["items"].as_array().unwrap().clone();
        items.into_iter().filter(|push| push["notification_id"] == notification_id).collect()
    }

    /// Waits for the push of `notification_id` to settle (delivered or dead); answers it.
    async fn settled(&self, notification_id: &str) -> Value {
        eventually("the push settles", async || {
            self.pushes_of(notification_id).await.first().is_some_and(|push| push["status"] != "pending")
        })
        .await;
        self.pushes_of(notification_id).await.remove(0)
    }

    async fn devices_of(&self, who: &Person) -> usize {
        self.s.api.get("/v1/devices", &who.token).await.body["items"].as_array().unwrap().len()
    }
}

#[tokio::test]
async fn fcm_pushes_a_reply_once_through_failures_and_forgets_unregistered_devices() {
    let fcm = FcmFake::start().await;
    let s = pushing_to(&fcm, |_| {}).await;
    let t = Thread::start(s).await;
    t.register(&t.ada, json!({ "platform": "android", "provider": "fcm", "token": "fcm-ada" })).await;

    // A reply reaches Ada's device, with what the app needs to open it.
    let first = t.reply().await;
    assert_eq!(t.settled(&first).await["status"], "delivered");
    let message = fcm.received()[0].payload.clone();
    assert_eq!(message["notification"]["title"], "New reply to your comment");
    assert_eq!(message["notification"]["body"], "a reply");
    assert_eq!(message["data"]["notification_id"], first.as_str());
    assert_eq!(message["data"]["entity_key"], "post");

    // 503, then success: delivered exactly once, on the second attempt.
    fcm.answer("fcm-ada", [Answer::Unavailable, Answer::Accept]);
    let second = t.reply().await;
    let push = t.settled(&second).await;
    assert_eq!((push["status"].as_str(), push["attempts"].as_i64()), (Some("delivered"), Some(2)), "{push}");
    assert_eq!(push["provider"], "fcm");

    // 429 with Retry-After: the next attempt waits as long as FCM asked, not the 50 ms backoff.
    fcm.answer("fcm-ada", [Answer::TooManyRequests { retry_after_secs: 1 }, Answer::Accept]);
    let started = Instant::now();
    let third = t.reply().await;
    assert_eq!(t.settled(&third).await["status"], "delivered");
    assert!(started.elapsed() >= Duration::from_secs(1), "retried after {:?}", started.elapsed());
    let received: Vec<Value> =
        fcm.received().into_iter().map(|r| r.payload["data"]["notification_id"].clone()).collect();
    assert_eq!(received, [json!(first), json!(second), json!(third)], "each notification exactly once");

    // UNREGISTERED (inside a generic NOT_FOUND): the device is removed and never tried again.
    fcm.answer("fcm-ada", [Answer::Gone]);
    let fourth = t.reply().await;
    let dead = t.settled(&fourth).await;
    assert_eq!((dead["status"].as_str(), dead["attempts"].as_i64()), (Some("dead"), Some(1)), "{dead}");
    assert!(dead["last_error"].as_str().unwrap().contains("UNREGISTERED"), "{dead}");
    assert_eq!(t.devices_of(&t.ada).await, 0);
    let attempts = fcm.attempts("fcm-ada");
    t.reply().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fcm.attempts("fcm-ada"), attempts, "nothing is sent to a removed device");
    // One access token served every send.
    assert_eq!(fcm.tokens_granted(), 1);
    // A dead push can be retried by hand; its device is gone, so it dies again at once.
    let retried =
        t.s.api.post(&format!("/v1/push/deliveries/{}/retry", dead["id"].as_str().unwrap()), &t.app, json!({})).await;
    assert_eq!((retried.status.as_u16(), retried.text("/status")), (200, "pending".to_owned()), "{}", retried.body);
    assert_eq!(t.settled(&fourth).await["status"], "dead");
    let not_dead = format!("/v1/push/deliveries/{}/retry", push["id"].as_str().unwrap());
    t.s.api.post(&not_dead, &t.app, json!({})).await.assert_problem(409, None);
    t.s.api.post("/v1/push/deliveries/nope/retry", &t.app, json!({})).await.assert_problem(404, None);
}

#[tokio::test]
async fn apns_pushes_over_http2_to_the_devices_environment_and_forgets_unregistered_devices() {
    let apns = ApnsFake::start().await;
    let (url, key_file, key_id, team_id, topic) =
        (apns.url.clone(), apns.key_file.clone(), apns.key_id.clone(), apns.team_id.clone(), apns.topic.clone());
    let s = Stack::start_with(move |config| {
        quick_retries(config);
        // Production devices would go nowhere: the fake is the sandbox.
        config.push.apns.base_url = "http://127.0.0.1:9".into();
        config.push.apns.sandbox_base_url = url;
        config.push.apns.key_file = Some(key_file);
        config.push.apns.key_id = Some(key_id);
        config.push.apns.team_id = Some(team_id);
        config.push.apns.topic = Some(topic);
    })
    .await;
    let t = Thread::start(s).await;
    let device = json!({ "platform": "ios", "provider": "apns", "token": "a1b2c3", "environment": "sandbox" });
    t.register(&t.ada, device).await;
    assert_eq!(t.s.api.get("/v1/devices", &t.ada.token).await.body["items"][0]["environment"], "sandbox");

    let first = t.reply().await;
    assert_eq!(t.settled(&first).await["status"], "delivered");
    let payload = apns.received()[0].payload.clone();
    assert_eq!(payload["aps"]["alert"]["title"], "New reply to your comment");
    assert_eq!(payload["aps"]["alert"]["body"], "a reply");
    assert_eq!(payload["notification_id"], first.as_str());

    apns.answer("a1b2c3", [Answer::Unavailable, Answer::Accept]);
    let second = t.reply().await;
    assert_eq!(t.settled(&second).await["attempts"], 2);
    assert_eq!(apns.received().len(), 2, "delivered exactly once");

    apns.answer("a1b2c3", [Answer::Gone]);
    let third = t.reply().await;
    let dead = t.settled(&third).await;
    assert!(dead["status"] == "dead" && dead["last_error"].as_str().unwrap().contains("Unregistered"), "{dead}");
    assert_eq!(t.devices_of(&t.ada).await, 0);
}

#[tokio::test]
async fn web_push_encrypts_to_the_subscription_and_forgets_gone_subscriptions() {
    let push_service = WebPushFake::start().await;
    let key_file = push_service.vapid_key_file.clone();
    let s = Stack::start_with(move |config| {
        quick_retries(config);
        config.push.webpush.vapid_key_file = Some(key_file);
        config.push.webpush.subject = Some("mailto:ops@example.com".into());
        // The fake push service listens on loopback.
        config.push.webpush.allow_private_endpoints = true;
    })
    .await;
    let t = Thread::start(s).await;
    let subscription = push_service.subscribe();
    let device = json!({
        "platform": "web", "provider": "webpush", "token": subscription.endpoint,
        "keys": { "p256dh": subscription.p256dh, "auth": subscription.auth },
    });
    t.register(&t.ada, device).await;
    // Bob's browser registered without keys: nothing can be encrypted to it.
    let keyless = push_service.subscribe();
    t.register(&t.bob, json!({ "platform": "web", "provider": "webpush", "token": keyless.endpoint })).await;
    t.s.api
        .post("/v1/devices", &t.bob.token, json!({ "platform": "web", "provider": "webpush", "token": "x", "keys": { "p256dh": "short", "auth": "x" } }))
        .await
        .assert_problem(400, Some("keys.p256dh"));

    // The push service decrypts the payload with the subscription's keys.
    let first = t.reply().await;
    assert_eq!(t.settled(&first).await["status"], "delivered");
    let payload = push_service.received()[0].payload.clone();
    assert_eq!(payload["title"], "New reply to your comment");
    assert_eq!(payload["notification_id"], first.as_str());

    push_service.answer(&subscription.id, [Answer::Unavailable, Answer::Accept]);
    let second = t.reply().await;
    assert_eq!(t.settled(&second).await["attempts"], 2);
    assert_eq!(push_service.received().len(), 2, "delivered exactly once");

    // Ada replies to herself in Bob's thread: Bob's keyless device gets a dead push.
    let bobs = t.s.comment(&t.bob, "post", "bob's own", None).await;
    t.s.comment(&t.ada, "post", "to bob", Some(&bobs)).await;
    eventually("bob's push dies", async || {
        let listed = t.s.api.get("/v1/push/deliveries?status=dead", &t.app).await;
        listed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|push| push["last_error"].as_str().is_some_and(|error| error.contains("without Web Push keys")))
    })
    .await;

    push_service.answer(&subscription.id, [Answer::Gone]);
    let third = t.reply().await;
    assert_eq!(t.settled(&third).await["status"], "dead");
    assert_eq!(t.devices_of(&t.ada).await, 0);
}

#[tokio::test]
async fn nothing_is_pushed_to_a_user_who_turned_notifications_off_nor_to_a_private_endpoint() {
    let fcm = FcmFake::start().await;
    let push_service = WebPushFake::start().await;
    let key_file = push_service.vapid_key_file.clone();
    let s = pushing_to(&fcm, move |config| {
        config.push.webpush.vapid_key_file = Some(key_file);
        config.push.webpush.subject = Some("https://example.com/contact".into());
    })
    .await;
    let t = Thread::start(s).await;
    t.register(&t.ada, json!({ "platform": "android", "provider": "fcm", "token": "fcm-ada" })).await;
    let settings = |enabled: bool| json!({ "settings": { "notifications_enabled": enabled } });
    let muted = async |want: bool| {
        let db = t.s.notifications_db();
        let ada = t.ada.id.clone();
        eventually("the setting reaches notifications", async || {
            let ada = ada.clone();
            db.read(move |conn| chorus_notifications::store::push::is_muted(conn, &ada)).await.unwrap() == want
        })
        .await;
    };

    let off = t.s.users.call(Method::PATCH, "/v1/users/me", Some(&t.ada.token), Some(settings(false))).await;
    assert_eq!(off.status, 200, "{}", off.body);
    muted(true).await;
    let quiet = t.reply().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(t.pushes_of(&quiet).await.is_empty() && fcm.received().is_empty(), "the inbox fills, nothing is pushed");

    t.s.users.call(Method::PATCH, "/v1/users/me", Some(&t.ada.token), Some(settings(true))).await;
    muted(false).await;
    let heard = t.reply().await;
    assert_eq!(t.settled(&heard).await["status"], "delivered");

    // A subscription endpoint inside the platform's network is refused, never connected to.
    let subscription = push_service.subscribe();
    let device = json!({
        "platform": "web", "provider": "webpush", "token": subscription.endpoint,
        "keys": { "p256dh": subscription.p256dh, "auth": subscription.auth },
    });
    t.register(&t.ada, device).await;
    let next = t.reply().await;
    eventually("both pushes settle", async || {
        t.pushes_of(&next).await.iter().filter(|push| push["status"] != "pending").count() == 2
    })
    .await;
    let web = t.pushes_of(&next).await.into_iter().find(|push| push["provider"] == "webpush").unwrap();
    assert!(web["status"] == "dead" && web["last_error"].as_str().unwrap().contains("refused"), "{web}");
    assert_eq!(push_service.attempts(&subscription.id), 0);
}

#[tokio::test]
async fn when_every_token_is_rejected_alike_the_devices_are_kept_and_ops_are_alerted() {
    let fcm = FcmFake::start().await;
    let s = pushing_to(&fcm, |config| config.push.guard_min_errors = 3).await;
    let (api_key, _) = s.app().await;
    // A project mix-up: FCM answers SENDER_ID_MISMATCH for every token.
    let mut followers = Vec::new();
    for i in 0..8 {
        let follower = s.person(&api_key, &format!("follower-{i}")).await;
        s.subscribe(&follower, "storm", "new_comments").await;
        let token = format!("fcm-{i}");
        fcm.answer(&token, [Answer::BadToken]);
        let device = json!({ "platform": "android", "provider": "fcm", "token": token });
        assert_eq!(s.api.post("/v1/devices", &follower.token, device).await.status, 201);
        followers.push(follower);
    }
    let author = s.person(&api_key, "author").await;
    s.comment(&author, "storm", "hello all", None).await;
    eventually("every send was answered", async || (0..8).all(|i| fcm.attempts(&format!("fcm-{i}")) >= 1)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut kept = 0;
    for follower in &followers {
        kept += s.api.get("/v1/devices", &follower.token).await.body["items"].as_array().unwrap().len();
    }
    // At most the first two went before the pattern was clear; the rest stay.
    assert!(kept >= 6, "only {kept} of 8 devices kept");
    let metrics = reqwest::get(s.api.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("chorus_push_removals_held{provider=\"fcm\",service=\"notifications\"} 1"), "{metrics}");
}

#[tokio::test]
async fn a_queued_push_survives_a_restart_and_is_sent_once() {
    let fcm = FcmFake::start().await;
    let s = pushing_to(&fcm, |_| {}).await;
    let mut t = Thread::start(s).await;
    t.register(&t.ada, json!({ "platform": "android", "provider": "fcm", "token": "fcm-ada" })).await;
    // FCM is busy for two seconds: the push waits in the queue when the service stops.
    fcm.answer("fcm-ada", [Answer::TooManyRequests { retry_after_secs: 2 }, Answer::Accept]);
    let notification = t.reply().await;
    eventually("FCM is asked once", async || fcm.attempts("fcm-ada") == 1).await;
    t.s.restart_notifications().await;
    assert_eq!(t.settled(&notification).await["status"], "delivered");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received: Vec<Value> =
        fcm.received().into_iter().map(|r| r.payload["data"]["notification_id"].clone()).collect();
    assert_eq!(received, [json!(notification)], "sent after the restart, once");
}

#[tokio::test]
async fn a_device_that_changes_hands_never_gets_the_previous_owners_pushes() {
    let fcm = FcmFake::start().await;
    let t = Thread::start(pushing_to(&fcm, |_| {}).await).await;
    let phone = json!({ "platform": "android", "provider": "fcm", "token": "shared-phone" });
    t.register(&t.ada, phone.clone()).await;
    // Ada's push waits on FCM's Retry-After when the phone passes to Bob.
    fcm.answer("shared-phone", [Answer::TooManyRequests { retry_after_secs: 1 }, Answer::Accept]);
    let adas = t.reply().await;
    eventually("FCM is asked once", async || fcm.attempts("shared-phone") == 1).await;
    t.register(&t.bob, phone).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(fcm.received().is_empty(), "Ada's notification never reaches Bob's phone");
    assert!(t.pushes_of(&adas).await.is_empty(), "her queued push went with the handover");
}
