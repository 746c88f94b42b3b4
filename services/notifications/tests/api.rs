//! The notifications service over real HTTP, beside real users and actions services, each on its
//! own fresh database (SQLite, or PostgreSQL when CHORUS_TEST_POSTGRES_URL is set).

use chorus_kit::config::Secret;
use chorus_kit::testing::{self, Api, OPERATOR_TOKEN, TestService, eventually};
use chorus_notifications::Notifications;
use chorus_users::domain::sessions::ServiceAccount;
use reqwest::Method;
use serde_json::{Value, json};

const SECRET: &str = "notifications-test-secret";

struct Stack {
    _users: TestService<chorus_users::config::Config>,
    _actions: TestService<chorus_actions::config::Config>,
    _notifications: TestService<chorus_notifications::config::Config>,
    users: Api,
    actions: Api,
    api: Api,
    /// Each app's (api key, secret), for tokens later.
    secrets: std::sync::Mutex<Vec<(String, String)>>,
}

struct Person {
    id: String,
    token: String,
}

fn path(key: &str) -> String {
    format!("/v1/entities/{}", testing::encode_segment(key))
}

impl Stack {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    async fn start_with(customize: impl FnOnce(&mut chorus_notifications::config::Config) + Send + 'static) -> Self {
        let users = testing::spawn_with::<chorus_users::Users>(|config| {
            config.service_accounts = ["actions", "notifications"]
                .into_iter()
                .map(|name| ServiceAccount {
                    name: name.into(),
                    secret_sha256: chorus_kit::secrets::digest(SECRET),
                    scopes: vec![chorus_kit::events::READ_SCOPE.into()],
                })
                .collect();
        })
        .await;
        let users_url = users.base_url.clone();
        let link = users_url.clone();
        let actions = testing::spawn_with::<chorus_actions::Actions>(move |config| {
            config.users.url = link;
            config.users.service_secret = Some(Secret::new(SECRET));
        })
        .await;
        let actions_url = actions.base_url.clone();
        let notifications = testing::spawn_with::<Notifications>(move |config| {
            config.users.url = users_url;
            config.users.service_secret = Some(Secret::new(SECRET));
            config.actions.url = actions_url;
            config.webhooks.signing_key = Some(Secret::new("test-webhook-key-0123456789abcdef0123"));
            config.webhooks.base_backoff_ms = 50;
            config.webhooks.max_attempts = 3;
            config.webhooks.timeout_secs = 2;
            customize(config);
        })
        .await;
        Self {
            users: Api::new(users.base_url.clone()),
            actions: Api::new(actions.base_url.clone()),
            api: Api::new(notifications.base_url.clone()),
            secrets: std::sync::Mutex::default(),
            _users: users,
            _actions: actions,
            _notifications: notifications,
        }
    }

    /// An app token for an existing app, from its key and the secret `app()` kept.
    async fn app_token_for(&self, api_key: &str) -> String {
        let secret = self.secrets.lock().unwrap().iter().find(|(k, _)| k == api_key).map(|(_, s)| s.clone()).unwrap();
        let token = self
            .users
            .call(Method::POST, "/v1/tokens/app", None, Some(json!({ "api_key": api_key, "api_secret": secret })))
            .await;
        token.text("/access_token")
    }

    /// A new app: (api key, app token).
    async fn app(&self) -> (String, String) {
        let created = self.users.post("/v1/apps", OPERATOR_TOKEN, json!({ "name": "Demo" })).await;
        let (key, secret) = (created.text("/app/api_key"), created.text("/api_secret"));
        self.secrets.lock().unwrap().push((key.clone(), secret.clone()));
        let token = self
            .users
            .call(Method::POST, "/v1/tokens/app", None, Some(json!({ "api_key": key, "api_secret": secret })))
            .await;
        (key, token.text("/access_token"))
    }

    async fn person(&self, api_key: &str, device: &str) -> Person {
        let session = self
            .users
            .call(Method::POST, "/v1/sessions", None, Some(json!({ "api_key": api_key, "device_id": device })))
            .await;
        Person { id: session.text("/user/id"), token: session.text("/access_token") }
    }

    async fn comment(&self, who: &Person, key: &str, text: &str, parent: Option<&str>) -> String {
        let reply = self
            .actions
            .post(&format!("{}/comments", path(key)), &who.token, json!({ "text": text, "parent_id": parent }))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.text("/id")
    }

    async fn subscribe(&self, who: &Person, key: &str, kind: &str) {
        let reply =
            self.api.call(Method::PUT, &format!("{}/subscriptions/{kind}", path(key)), Some(&who.token), None).await;
        assert_eq!(reply.status, 204, "{}", reply.body);
    }

    async fn inbox(&self, who: &Person) -> Value {
        let reply = self.api.get("/v1/notifications", &who.token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    /// The last users or actions event id notifications applied, from its metrics.
    async fn feed_position(&self, feed: &str) -> i64 {
        let metrics = reqwest::get(self.api.url("/metrics")).await.unwrap().text().await.unwrap();
        let prefix = format!("chorus_feed_position{{feed=\"{feed}\",service=\"notifications\"}} ");
        metrics.lines().find_map(|line| line.strip_prefix(&prefix)?.parse().ok()).unwrap_or(0)
    }

    async fn inbox_len(&self, who: &Person) -> usize {
        self.inbox(who).await["items"].as_array().unwrap().len()
    }
}

#[tokio::test]
async fn comments_notify_subscribers_and_replies_notify_the_parents_author() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let (ada, bob, cid) =
        (s.person(&api_key, "ada").await, s.person(&api_key, "bob").await, s.person(&api_key, "cid").await);
    s.subscribe(&ada, "post", "new_comments").await;
    s.subscribe(&bob, "post", "new_comments").await;

    let first = s.comment(&bob, "post", "Hello from Bob", None).await;
    eventually("ada hears of bob's comment", async || s.inbox_len(&ada).await == 1).await;
    let inbox = s.inbox(&ada).await;
    assert_eq!(inbox["items"][0]["kind"], "new_comment");
    assert_eq!(inbox["items"][0]["body"], "Hello from Bob");
    assert_eq!(inbox["items"][0]["actor_id"], bob.id.as_str());
    assert_eq!(inbox["unread"], 1);

    // Cid replies to Bob: Bob gets one reply notification (not also a new_comment one), Ada a
    // new_comment one, and Cid, who wrote it, nothing.
    s.comment(&cid, "post", "Hi Bob", Some(&first)).await;
    eventually("bob hears of the reply", async || s.inbox_len(&bob).await == 1).await;
    eventually("ada hears of the reply", async || s.inbox_len(&ada).await == 2).await;
    assert_eq!(s.inbox(&bob).await["items"][0]["kind"], "reply");
    assert_eq!(s.inbox_len(&cid).await, 0);
    assert_eq!(s.inbox(&bob).await["items"][0]["title"], "New reply to your comment");

    // Bob deletes his comment: the inboxes that quote it lose its text.
    let deleted = s.actions.call(Method::DELETE, &format!("/v1/comments/{first}"), Some(&bob.token), None).await;
    assert_eq!(deleted.status, 204);
    eventually("the deletion reaches ada's inbox", async || {
        s.inbox(&ada).await["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["action_id"] == first.as_str() && n["body"].is_null())
    })
    .await;

    // Ada is erased: what was sent to her leaves the feed too.
    let events_to_ada = async || {
        let feed = s.api.get("/v1/events?after=0&limit=500", OPERATOR_TOKEN).await.body;
        feed["items"].as_array().unwrap().iter().filter(|e| e["subject"] == ada.id.as_str()).count()
    };
    assert!(events_to_ada().await > 0, "the feed carried ada's notifications");
    let (_, app) = (api_key.clone(), s.app_token_for(&api_key).await);
    s.users.call(Method::DELETE, &format!("/v1/users/{}", ada.id), Some(&app), None).await;
    eventually("ada's notifications leave the feed", async || events_to_ada().await == 0).await;
}

#[tokio::test]
async fn nobody_hears_from_someone_they_blocked_and_erasure_cleans_up() {
    let s = Stack::start().await;
    let (api_key, app) = s.app().await;
    let (ada, bob, cid) =
        (s.person(&api_key, "ada").await, s.person(&api_key, "bob").await, s.person(&api_key, "cid").await);
    s.subscribe(&ada, "thread", "new_comments").await;
    s.subscribe(&cid, "thread", "new_comments").await;
    s.users.call(Method::PUT, &format!("/v1/users/me/blocks/{}", bob.id), Some(&ada.token), None).await;
    // Wait until notifications has applied the users feed up to the block, then let Bob speak.
    let block_id = s.users.get("/v1/events?after=0&limit=1", OPERATOR_TOKEN).await.body["last_id"].as_i64().unwrap();
    eventually("the block reaches notifications", async || s.feed_position("users").await >= block_id).await;
    s.comment(&bob, "thread", "Bob was here", None).await;
    eventually("cid hears of bob", async || s.inbox_len(&cid).await == 1).await;
    assert_eq!(s.inbox_len(&ada).await, 0, "ada blocked bob");

    // Bob is erased: Cid keeps the notification, without Bob's words; Bob's subscriptions go.
    s.subscribe(&bob, "thread", "new_comments").await;
    let erased = s.users.call(Method::DELETE, &format!("/v1/users/{}", bob.id), Some(&app), None).await;
    assert_eq!(erased.status, 204);
    eventually("the erasure reaches notifications", async || s.inbox(&cid).await["items"][0]["body"].is_null()).await;
    let feed = s.api.get("/v1/events?after=0", OPERATOR_TOKEN).await;
    assert!(!feed.body.to_string().contains("Bob was here"), "the feed forgets bob's words too");
}

#[tokio::test]
async fn the_inbox_reads_pages_and_marks() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let (ada, bob) = (s.person(&api_key, "ada").await, s.person(&api_key, "bob").await);
    s.subscribe(&ada, "news", "new_comments").await;
    for i in 0..3 {
        s.comment(&bob, "news", &format!("comment {i}"), None).await;
    }
    eventually("three notifications", async || s.inbox_len(&ada).await == 3).await;
    let first_page = s.api.get("/v1/notifications?limit=2", &ada.token).await;
    assert_eq!(first_page.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(first_page.body["items"][0]["body"], "comment 2", "newest first");
    let rest =
        s.api.get(&format!("/v1/notifications?limit=2&cursor={}", first_page.text("/next_cursor")), &ada.token).await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["next_cursor"], Value::Null);

    let id = first_page.text("/items/0/id");
    let read = s.api.call(Method::POST, &format!("/v1/notifications/{id}/read"), Some(&ada.token), None).await;
    assert_eq!(read.body["read"], true);
    s.api
        .call(Method::POST, &format!("/v1/notifications/{id}/read"), Some(&bob.token), None)
        .await
        .assert_problem(404, None);
    let unread = s.api.get("/v1/notifications?unread_only=true", &ada.token).await;
    assert_eq!((unread.body["items"].as_array().unwrap().len(), unread.body["unread"].as_i64()), (2, Some(2)));
    let all = s.api.call(Method::POST, "/v1/notifications/read", Some(&ada.token), None).await;
    assert_eq!(all.body["updated"], 2);
    assert_eq!(s.inbox(&ada).await["unread"], 0);
    s.api.get("/v1/notifications?cursor=nope", &ada.token).await.assert_problem(400, Some("cursor"));
}

#[tokio::test]
async fn devices_and_subscriptions_validate_and_belong_to_their_user() {
    let s = Stack::start().await;
    let (api_key, app) = s.app().await;
    let (ada, bob) = (s.person(&api_key, "ada").await, s.person(&api_key, "bob").await);
    let device = json!({ "platform": "ios", "provider": "apns", "token": "apns-token-1" });
    let first = s.api.post("/v1/devices", &ada.token, device.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(s.api.post("/v1/devices", &ada.token, device.clone()).await.status, 200);
    s.api
        .post("/v1/devices", &ada.token, json!({ "platform": "palm", "provider": "apns", "token": "t" }))
        .await
        .assert_problem(400, Some("platform"));
    s.api
        .post("/v1/devices", &ada.token, json!({ "platform": "ios", "provider": "apns" }))
        .await
        .assert_problem(400, Some("token"));
    s.api.post("/v1/devices", &app, device.clone()).await.assert_problem(403, None);

    // The phone changes hands: its token moves to Bob.
    assert_eq!(s.api.post("/v1/devices", &bob.token, device).await.status, 201);
    assert_eq!(s.api.get("/v1/devices", &ada.token).await.body["items"], json!([]));
    let device_id = first.text("/id");
    s.api
        .call(Method::DELETE, &format!("/v1/devices/{device_id}"), Some(&ada.token), None)
        .await
        .assert_problem(404, None);
    assert_eq!(
        s.api.call(Method::DELETE, &format!("/v1/devices/{device_id}"), Some(&bob.token), None).await.status,
        204
    );

    let key = "https://example.com/a?b=c&d=%41";
    s.subscribe(&ada, key, "new_comments").await;
    s.subscribe(&ada, key, "new_comments").await;
    s.subscribe(&ada, key, "replies").await;
    s.api
        .call(Method::PUT, &format!("{}/subscriptions/everything", path(key)), Some(&ada.token), None)
        .await
        .assert_problem(400, Some("kind"));
    // At most 50 devices per user (Ada has none left); the list pages.
    for i in 0..50 {
        let device = json!({ "platform": "android", "provider": "fcm", "token": format!("fcm-{i}") });
        assert_eq!(s.api.post("/v1/devices", &ada.token, device).await.status, 201);
    }
    let one_too_many = json!({ "platform": "android", "provider": "fcm", "token": "fcm-extra" });
    s.api.post("/v1/devices", &ada.token, one_too_many.clone()).await.assert_problem(409, None);
    let page = s.api.get("/v1/devices?limit=20", &ada.token).await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 20);
    assert!(page.body["next_cursor"].is_string());

    let listed = s.api.get("/v1/subscriptions", &ada.token).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(listed.body["items"][0]["entity_key"], key);
    s.api.call(Method::DELETE, &format!("{}/subscriptions/replies", path(key)), Some(&ada.token), None).await;
    assert_eq!(s.api.get("/v1/subscriptions", &ada.token).await.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(s.api.get("/v1/subscriptions", &bob.token).await.body["items"], json!([]));
}

#[tokio::test]
async fn the_inbox_stream_shows_new_notifications_live() {
    let s = Stack::start().await;
    let (api_key, _) = s.app().await;
    let (ada, bob) = (s.person(&api_key, "ada").await, s.person(&api_key, "bob").await);
    s.subscribe(&ada, "live", "new_comments").await;
    let mut stream =
        s.api.http.get(s.api.url("/v1/notifications/stream")).bearer_auth(&ada.token).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    s.comment(&bob, "live", "Are you there?", None).await;
    let chunk =
        tokio::time::timeout(std::time::Duration::from_secs(15), stream.chunk()).await.unwrap().unwrap().unwrap();
    let frame = String::from_utf8_lossy(&chunk);
    assert!(frame.contains("event: notification.created") && frame.contains("Are you there?"), "{frame}");
    // Bob's stream stays quiet: the notification was Ada's.
    let mut bobs = s.api.http.get(s.api.url("/v1/notifications/stream")).bearer_auth(&bob.token).send().await.unwrap();
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(1_500), bobs.chunk()).await;
    assert!(quiet.is_err(), "bob got {quiet:?}");
}

#[tokio::test]
async fn apps_broadcast_to_listed_users_subscribers_or_everyone_within_a_quota() {
    let s = Stack::start_with(|config| config.broadcasts.daily_quota = 3).await;
    let (api_key, app) = s.app().await;
    let (ada, bob, cid) =
        (s.person(&api_key, "ada").await, s.person(&api_key, "bob").await, s.person(&api_key, "cid").await);
    s.users.call(Method::PUT, &format!("/v1/users/{}/ban", cid.id), Some(&app), Some(json!({}))).await;
    let newest = s.users.get("/v1/events?after=0&limit=1", OPERATOR_TOKEN).await.body["last_id"].as_i64().unwrap();
    eventually("notifications knows the app's users", async || s.feed_position("users").await >= newest).await;

    // Bad input and wrong callers change nothing.
    let bad_url = json!({ "title": "Hi", "url": "ftp://x", "audience": { "type": "everyone" } });
    s.api.post("/v1/broadcasts", &app, bad_url).await.assert_problem(400, Some("url"));
    let nobody = json!({ "title": "Hi", "audience": { "type": "users", "user_ids": [] } });
    s.api.post("/v1/broadcasts", &app, nobody).await.assert_problem(400, Some("audience.user_ids"));
    let everyone = json!({ "title": "Release 2.0", "body": "Now with dark mode", "url": "https://example.com/2.0",
                           "audience": { "type": "everyone" } });
    s.api.post("/v1/broadcasts", &ada.token, everyone.clone()).await.assert_problem(403, None);

    // Everyone but the banned user; an Idempotency-Key makes the retry harmless.
    let send = || {
        s.api
            .http
            .post(s.api.url("/v1/broadcasts"))
            .bearer_auth(&app)
            .header("Idempotency-Key", "release-2")
            .json(&everyone)
            .send()
    };
    let sent = chorus_kit::testing::Reply::from(send().await.unwrap()).await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    assert_eq!(sent.body["recipients"], 2);
    let again = chorus_kit::testing::Reply::from(send().await.unwrap()).await;
    assert_eq!(again.body["id"], sent.body["id"]);
    assert_eq!(s.inbox_len(&ada).await, 1);
    assert_eq!(s.inbox_len(&cid).await, 0, "banned users get no broadcasts");
    let note = s.inbox(&bob).await["items"][0].clone();
    assert_eq!((note["kind"].as_str(), note["url"].as_str()), (Some("broadcast"), Some("https://example.com/2.0")));

    // Listed users (unknown ids skipped) and an entity's subscribers.
    let listed = json!({ "title": "Just you", "audience": { "type": "users", "user_ids": [ada.id, "not-a-user"] } });
    assert_eq!(s.api.post("/v1/broadcasts", &app, listed).await.body["recipients"], 1);
    s.subscribe(&bob, "launch", "new_comments").await;
    let subscribers = json!({ "title": "Launch moved", "entity_key": "launch", "audience": { "type": "subscribers", "entity_key": "launch" } });
    assert_eq!(s.api.post("/v1/broadcasts", &app, subscribers).await.body["recipients"], 1);
    assert_eq!(s.inbox_len(&bob).await, 2);

    // The quota (3 a day here) is spent.
    let more = json!({ "title": "One more", "audience": { "type": "everyone" } });
    s.api.post("/v1/broadcasts", &app, more).await.assert_problem(429, None);
    let history = s.api.get("/v1/broadcasts", &app).await;
    assert_eq!(history.body["items"].as_array().unwrap().len(), 3);
}

/// A loopback endpoint that records what it receives, and fails while `failing` is set.
struct Receiver {
    url: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
    failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

async fn receiver() -> Receiver {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (log, fail) = (received.clone(), failing.clone());
    let server = HttpServer::new(move || {
        let (log, fail) = (log.clone(), fail.clone());
        App::new().route(
            "/hook",
            web::post().to(move |req: HttpRequest, body: String| {
                let (log, fail) = (log.clone(), fail.clone());
                async move {
                    if fail.load(std::sync::atomic::Ordering::SeqCst) {
                        return HttpResponse::ServiceUnavailable().finish();
                    }
                    let signature = req
                        .headers()
                        .get("chorus-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    log.lock().unwrap().push((signature, body));
                    HttpResponse::Ok().finish()
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let url = format!("http://localhost:{}/hook", server.addrs()[0].port());
    tokio::spawn(server.run());
    Receiver { url, received, failing }
}

/// Checks a `Chorus-Signature` the way an app's server would.
fn signed_by(secret: &str, header: &str, body: &str) -> bool {
    use hmac::{Hmac, Mac};
    let (t, v1) = header.split_once(',').unwrap();
    let timestamp = t.trim_start_matches("t=");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    v1.trim_start_matches("v1=") == expected
}

#[tokio::test]
async fn webhooks_receive_signed_events_and_failures_retry_then_die_then_retry_by_hand() {
    let s = Stack::start().await;
    let (api_key, app) = s.app().await;
    let (_, other_app) = s.app().await;
    let (ada, bob) = (s.person(&api_key, "ada").await, s.person(&api_key, "bob").await);
    let hook = receiver().await;

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
    eventually("both events arrive", async || hook.received.lock().unwrap().len() == 2).await;
    let received = hook.received.lock().unwrap().clone();
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
    hook.failing.store(true, std::sync::atomic::Ordering::SeqCst);
    s.comment(&bob, "post", "anyone?", None).await;
    let deliveries = format!("/v1/webhooks/{webhook_id}/deliveries");
    eventually("the deliveries die", async || {
        s.api.get(&format!("{deliveries}?status=dead"), &app).await.body["items"].as_array().unwrap().len() == 2
    })
    .await;
    let dead = s.api.get(&format!("{deliveries}?status=dead"), &app).await;
    assert_eq!(dead.body["items"][0]["attempts"], 3);
    assert_eq!(dead.body["items"][0]["last_status"], 503);

    // Back up: a hand retry delivers it; another app cannot see or retry it.
    hook.failing.store(false, std::sync::atomic::Ordering::SeqCst);
    let dead_id = dead.text("/items/0/id");
    s.api.get(&deliveries, &other_app).await.assert_problem(404, None);
    s.api
        .call(Method::POST, &format!("/v1/webhooks/deliveries/{dead_id}/retry"), Some(&other_app), None)
        .await
        .assert_problem(404, None);
    let retried = s.api.call(Method::POST, &format!("/v1/webhooks/deliveries/{dead_id}/retry"), Some(&app), None).await;
    assert_eq!(retried.body["status"], "pending", "{}", retried.body);
    eventually("the retried delivery arrives", async || hook.received.lock().unwrap().len() == 3).await;
    let again = s.api.call(Method::POST, &format!("/v1/webhooks/deliveries/{dead_id}/retry"), Some(&app), None).await;
    again.assert_problem(409, None);
    assert_eq!(s.api.get("/v1/webhooks", &app).await.body["items"].as_array().unwrap().len(), 1);
}
