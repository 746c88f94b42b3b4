//! The users service over real HTTP, on a fresh database per test (SQLite, or PostgreSQL when
//! CHORUS_TEST_POSTGRES_URL is set).

use chorus_kit::auth::{Claims, ISSUER, TokenKind, TokenSigner};
use chorus_kit::testing::{self, Api, OPERATOR_TOKEN, Reply, TestService};
use chorus_users::Users;
use chorus_users::config::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SIGNING_SEED: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

struct Harness {
    service: TestService<Config>,
    api: Api,
    http: reqwest::Client,
}

impl Harness {
    async fn start() -> Self {
        let service = testing::spawn_with::<Users>(|config| {
            config.tokens.signing_key = Some(chorus_kit::config::Secret::new(SIGNING_SEED));
            config.service_accounts = vec![chorus_users::domain::sessions::ServiceAccount {
                name: "actions".into(),
                secret_sha256: chorus_kit::secrets::digest("actions-secret"),
                scopes: vec!["events:read".into()],
            }];
        })
        .await;
        let api = Api::new(service.base_url.clone());
        Self { http: api.http.clone(), service, api }
    }

    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        self.api.call(method, path, token, body).await
    }

    async fn raw(&self, path: &str, body: &'static str) -> Reply {
        let response = self
            .http
            .post(self.service.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        Reply::from(response).await
    }

    /// Creates an app as the operator; returns (app id, api key, api secret).
    async fn app(&self, name: &str) -> (String, String, String) {
        let reply = self.call(Method::POST, "/v1/apps", Some(OPERATOR_TOKEN), Some(json!({ "name": name }))).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        let b = reply.body;
        (s(&b["app"]["id"]), s(&b["app"]["api_key"]), s(&b["api_secret"]))
    }

    /// Opens a session; returns the session body.
    async fn session(&self, api_key: &str, device: &str) -> Value {
        let reply = self
            .call(Method::POST, "/v1/sessions", None, Some(json!({ "api_key": api_key, "device_id": device })))
            .await;
        assert!(reply.status.is_success(), "{:?}", reply.body);
        reply.body
    }

    async fn app_token(&self, api_key: &str, api_secret: &str) -> String {
        let reply = self
            .call(Method::POST, "/v1/tokens/app", None, Some(json!({ "api_key": api_key, "api_secret": api_secret })))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        s(&reply.body["access_token"])
    }

    async fn service_token(&self) -> String {
        let reply = self
            .call(
                Method::POST,
                "/v1/tokens/service",
                None,
                Some(json!({ "name": "actions", "secret": "actions-secret" })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        s(&reply.body["access_token"])
    }

    async fn events(&self, token: &str) -> Vec<Value> {
        let reply = self.call(Method::GET, "/v1/events?after=0&limit=500", Some(token), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        reply.body["items"].as_array().unwrap().clone()
    }
}

fn s(value: &Value) -> String {
    value.as_str().unwrap_or_else(|| panic!("expected a string, got {value}")).to_owned()
}

fn assert_problem(reply: &Reply, status: StatusCode, field: Option<&str>) {
    reply.assert_problem(status.as_u16(), field);
}

#[tokio::test]
async fn the_sdk_first_steps_work() {
    let h = Harness::start().await;
    let (app_id, api_key, _) = h.app("Demo").await;

    let first =
        h.call(Method::POST, "/v1/sessions", None, Some(json!({ "api_key": api_key, "device_id": "phone-1" }))).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let user_id = s(&first.body["user"]["id"]);
    assert_eq!(first.body["user"]["app_id"], app_id.as_str());
    assert_eq!(first.body["token_type"], "Bearer");
    assert!(first.body["expires_in"].as_i64().unwrap() > 0);

    // The same device finds the same user.
    let again =
        h.call(Method::POST, "/v1/sessions", None, Some(json!({ "api_key": api_key, "device_id": "phone-1" }))).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(s(&again.body["user"]["id"]), user_id);

    let token = s(&first.body["access_token"]);
    let me = h.call(Method::GET, "/v1/users/me", Some(&token), None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["settings"]["notifications_enabled"], true);

    let update = json!({ "display_name": "Ada", "bio": "Counts things", "meta": { "team": "blue" },
                         "settings": { "notifications_enabled": false } });
    let updated = h.call(Method::PATCH, "/v1/users/me", Some(&token), Some(update)).await;
    assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
    assert_eq!(updated.body["display_name"], "Ada");
    assert_eq!(updated.body["meta"]["team"], "blue");
    assert_eq!(updated.body["settings"]["notifications_enabled"], false);

    // Another user of the app sees the public profile, without settings.
    let other = h.session(&api_key, "phone-2").await;
    let other_token = s(&other["access_token"]);
    let seen = h.call(Method::GET, &format!("/v1/users/{user_id}"), Some(&other_token), None).await;
    assert_eq!(seen.body["display_name"], "Ada");
    assert!(seen.body.get("settings").is_none());
    let batch = h
        .call(
            Method::GET,
            &format!("/v1/users?ids={user_id},{},missing", s(&other["user"]["id"])),
            Some(&other_token),
            None,
        )
        .await;
    assert_eq!(batch.body["items"].as_array().unwrap().len(), 2);

    // Every change is on the feed, in order.
    let service = h.service_token().await;
    let events = h.events(&service).await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["user.created", "user.updated", "user.created"]);
    assert!(events.windows(2).all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64()));
}

#[tokio::test]
async fn bad_input_gets_a_precise_problem_and_changes_nothing() {
    let h = Harness::start().await;
    let (_, api_key, _) = h.app("Demo").await;

    assert_problem(&h.raw("/v1/sessions", "{not json").await, StatusCode::BAD_REQUEST, Some("body"));
    assert_problem(&h.raw("/v1/sessions", r#"{"api_key":"x"}"#).await, StatusCode::BAD_REQUEST, Some("device_id"));
    let long_device = json!({ "api_key": api_key, "device_id": "d".repeat(201) });
    assert_problem(
        &h.call(Method::POST, "/v1/sessions", None, Some(long_device)).await,
        StatusCode::BAD_REQUEST,
        Some("device_id"),
    );
    let unknown = json!({ "api_key": "ck_unknown", "device_id": "d1" });
    assert_problem(&h.call(Method::POST, "/v1/sessions", None, Some(unknown)).await, StatusCode::UNAUTHORIZED, None);
    let huge = format!(r#"{{"api_key":"{api_key}","device_id":"{}"}}"#, "x".repeat(70_000));
    let response = h
        .http
        .post(h.service.url("/v1/sessions"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_problem(&Reply::from(response).await, StatusCode::PAYLOAD_TOO_LARGE, None);

    let session = h.session(&api_key, "d1").await;
    let token = s(&session["access_token"]);
    let bad_profile = json!({ "image_url": "ftp://nope", "display_name": "fine" });
    assert_problem(
        &h.call(Method::PATCH, "/v1/users/me", Some(&token), Some(bad_profile)).await,
        StatusCode::BAD_REQUEST,
        Some("image_url"),
    );
    let unknown_field = json!({ "nickname": "x" });
    assert_problem(
        &h.call(Method::PATCH, "/v1/users/me", Some(&token), Some(unknown_field)).await,
        StatusCode::BAD_REQUEST,
        Some("nickname"),
    );
    let me = h.call(Method::GET, "/v1/users/me", Some(&token), None).await;
    assert_eq!(me.body["display_name"], Value::Null, "a rejected update changes nothing");

    assert_problem(&h.call(Method::GET, "/v1/users/me", None, None).await, StatusCode::UNAUTHORIZED, None);
    assert_problem(&h.call(Method::GET, "/v1/users/me", Some("garbage"), None).await, StatusCode::UNAUTHORIZED, None);
    assert_problem(&h.call(Method::GET, "/v1/nowhere", None, None).await, StatusCode::NOT_FOUND, None);
    assert_problem(
        &h.call(Method::PUT, "/v1/users/me", Some(&token), None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        None,
    );
    assert_problem(
        &h.call(Method::GET, "/v1/users/me/blocks?limit=500", Some(&token), None).await,
        StatusCode::BAD_REQUEST,
        Some("limit"),
    );
    assert_problem(
        &h.call(Method::GET, "/v1/users/me/blocks?cursor=%%%", Some(&token), None).await,
        StatusCode::BAD_REQUEST,
        None,
    );

    // Only user.created from the one good session reached the feed.
    let service = h.service_token().await;
    assert_eq!(h.events(&service).await.len(), 1);
}

#[tokio::test]
async fn expired_forged_and_foreign_tokens_are_refused() {
    let h = Harness::start().await;
    let (_, key_a, _) = h.app("A").await;
    let (_, key_b, secret_b) = h.app("B").await;
    let alice = h.session(&key_a, "alice").await;
    let alice_id = s(&alice["user"]["id"]);
    let signer = TokenSigner::from_encoded_seed(SIGNING_SEED).unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| Claims {
        iss: ISSUER.into(),
        sub: alice_id.clone(),
        iat: exp - 900,
        exp,
        kind: TokenKind::User,
        app: Some(s(&alice["user"]["app_id"])),
        scope: vec![],
    };
    let expired = signer.sign(&claims(now - 3_600));
    assert_problem(&h.call(Method::GET, "/v1/users/me", Some(&expired), None).await, StatusCode::UNAUTHORIZED, None);
    let forged = TokenSigner::generate().sign(&claims(now + 600));
    assert_problem(&h.call(Method::GET, "/v1/users/me", Some(&forged), None).await, StatusCode::UNAUTHORIZED, None);
    assert_eq!(
        h.call(Method::GET, "/v1/users/me", Some(&signer.sign(&claims(now + 600))), None).await.status,
        StatusCode::OK
    );

    // App B's credentials never reach app A's users.
    let bob = h.session(&key_b, "bob").await;
    let bob_token = s(&bob["access_token"]);
    assert_problem(
        &h.call(Method::GET, &format!("/v1/users/{alice_id}"), Some(&bob_token), None).await,
        StatusCode::NOT_FOUND,
        None,
    );
    let app_b = h.app_token(&key_b, &secret_b).await;
    let ban = h.call(Method::PUT, &format!("/v1/users/{alice_id}/ban"), Some(&app_b), Some(json!({}))).await;
    assert_problem(&ban, StatusCode::NOT_FOUND, None);
    let erase = h.call(Method::DELETE, &format!("/v1/users/{alice_id}"), Some(&app_b), None).await;
    assert_problem(&erase, StatusCode::NOT_FOUND, None);
    let alice_token = s(&alice["access_token"]);
    assert_eq!(h.call(Method::GET, "/v1/users/me", Some(&alice_token), None).await.body["banned"], false);

    // Users cannot act as apps or operators, nor read the feed.
    assert_problem(
        &h.call(Method::POST, "/v1/apps", Some(&alice_token), Some(json!({ "name": "x" }))).await,
        StatusCode::FORBIDDEN,
        None,
    );
    assert_problem(&h.call(Method::GET, "/v1/events", Some(&alice_token), None).await, StatusCode::FORBIDDEN, None);
    let wrong_secret = json!({ "api_key": key_b, "api_secret": "cs_wrong" });
    assert_problem(
        &h.call(Method::POST, "/v1/tokens/app", None, Some(wrong_secret)).await,
        StatusCode::UNAUTHORIZED,
        None,
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_session() {
    let h = Harness::start().await;
    let (_, api_key, _) = h.app("Demo").await;
    let session = h.session(&api_key, "d1").await;
    let first = s(&session["refresh_token"]);

    let refreshed = h.call(Method::POST, "/v1/sessions/refresh", None, Some(json!({ "refresh_token": first }))).await;
    assert_eq!(refreshed.status, StatusCode::OK);
    let second = s(&refreshed.body["refresh_token"]);
    assert_ne!(first, second);

    let reused = h.call(Method::POST, "/v1/sessions/refresh", None, Some(json!({ "refresh_token": first }))).await;
    assert_problem(&reused, StatusCode::UNAUTHORIZED, None);
    // The reuse revoked the whole family, including the newest token.
    let after = h.call(Method::POST, "/v1/sessions/refresh", None, Some(json!({ "refresh_token": second }))).await;
    assert_problem(&after, StatusCode::UNAUTHORIZED, None);
}

#[tokio::test]
async fn app_creation_is_idempotent_and_secrets_are_shown_once() {
    let h = Harness::start().await;
    let create = |name: &'static str, key: &'static str| {
        h.http
            .post(h.service.url("/v1/apps"))
            .bearer_auth(OPERATOR_TOKEN)
            .header("Idempotency-Key", key)
            .json(&json!({ "name": name }))
            .send()
    };
    let first = Reply::from(create("Shop", "k1").await.unwrap()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert!(s(&first.body["api_secret"]).starts_with("cs_"));
    let replay = Reply::from(create("Shop", "k1").await.unwrap()).await;
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(replay.body["app"]["id"], first.body["app"]["id"]);
    assert_eq!(replay.body["api_secret"], Value::Null);
    assert_problem(&Reply::from(create("Other", "k1").await.unwrap()).await, StatusCode::UNPROCESSABLE_ENTITY, None);

    // The app manages itself; rotation retires the old secret.
    let api_key = s(&first.body["app"]["api_key"]);
    let app_id = s(&first.body["app"]["id"]);
    let app_token = h.app_token(&api_key, &s(&first.body["api_secret"])).await;
    let settings = json!({ "settings": { "anonymous_sessions": false, "access_token_ttl_secs": 600, "refresh_token_ttl_days": 7 } });
    let updated = h.call(Method::PATCH, &format!("/v1/apps/{app_id}"), Some(&app_token), Some(settings)).await;
    assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
    let refused =
        h.call(Method::POST, "/v1/sessions", None, Some(json!({ "api_key": api_key, "device_id": "d" }))).await;
    assert_problem(&refused, StatusCode::FORBIDDEN, None);
    let rotated = h.call(Method::POST, &format!("/v1/apps/{app_id}/secret"), Some(&app_token), None).await;
    let new_secret = s(&rotated.body["api_secret"]);
    let old = json!({ "api_key": api_key, "api_secret": s(&first.body["api_secret"]) });
    assert_problem(&h.call(Method::POST, "/v1/tokens/app", None, Some(old)).await, StatusCode::UNAUTHORIZED, None);
    h.app_token(&api_key, &new_secret).await;
}

#[tokio::test]
async fn moderation_identities_blocks_and_personal_data() {
    let h = Harness::start().await;
    let (_, api_key, api_secret) = h.app("Demo").await;
    let app = h.app_token(&api_key, &api_secret).await;
    let alice = h.session(&api_key, "alice-phone").await;
    let bob = h.session(&api_key, "bob-phone").await;
    let (alice_id, bob_id) = (s(&alice["user"]["id"]), s(&bob["user"]["id"]));
    let alice_token = s(&alice["access_token"]);

    // Blocks are idempotent and listed.
    for _ in 0..2 {
        let blocked = h.call(Method::PUT, &format!("/v1/users/me/blocks/{bob_id}"), Some(&alice_token), None).await;
        assert_eq!(blocked.status, StatusCode::NO_CONTENT);
    }
    let blocks = h.call(Method::GET, "/v1/users/me/blocks", Some(&alice_token), None).await;
    assert_eq!(blocks.body["items"][0]["user_id"], bob_id.as_str());
    assert_problem(
        &h.call(Method::PUT, &format!("/v1/users/me/blocks/{alice_id}"), Some(&alice_token), None).await,
        StatusCode::FORBIDDEN,
        None,
    );

    // Linking an identity that already has a user hands that user back.
    let link = json!({ "provider": "google", "external_id": "g-123" });
    let linked =
        h.call(Method::POST, &format!("/v1/users/{alice_id}/identities"), Some(&app), Some(link.clone())).await;
    assert_eq!(linked.status, StatusCode::OK, "{:?}", linked.body);
    assert_eq!(linked.body["session"], Value::Null);
    let new_phone = h.session(&api_key, "alice-new-phone").await;
    let new_id = s(&new_phone["user"]["id"]);
    let handed = h.call(Method::POST, &format!("/v1/users/{new_id}/identities"), Some(&app), Some(link)).await;
    assert_eq!(s(&handed.body["user"]["id"]), alice_id);
    assert!(handed.body["session"]["access_token"].is_string());
    // The device id alone no longer opens the identified user's session.
    let by_device = json!({ "api_key": api_key, "device_id": "alice-new-phone" });
    assert_problem(&h.call(Method::POST, "/v1/sessions", None, Some(by_device)).await, StatusCode::UNAUTHORIZED, None);
    let refreshed = json!({ "refresh_token": s(&handed.body["session"]["refresh_token"]) });
    let refreshed = h.call(Method::POST, "/v1/sessions/refresh", None, Some(refreshed)).await;
    assert_eq!(s(&refreshed.body["user"]["id"]), alice_id);

    // A banned user can no longer open sessions; unbanning restores it.
    let banned =
        h.call(Method::PUT, &format!("/v1/users/{bob_id}/ban"), Some(&app), Some(json!({ "reason": "spam" }))).await;
    assert_eq!(banned.body["banned"], true);
    let refused =
        h.call(Method::POST, "/v1/sessions", None, Some(json!({ "api_key": api_key, "device_id": "bob-phone" }))).await;
    assert_problem(&refused, StatusCode::FORBIDDEN, None);
    h.call(Method::DELETE, &format!("/v1/users/{bob_id}/ban"), Some(&app), None).await;
    h.session(&api_key, "bob-phone").await;

    // Export, then erase, which every other service learns from the feed.
    let export = h.call(Method::GET, "/v1/users/me/export", Some(&alice_token), None).await;
    assert_eq!(export.body["identities"][0]["provider"], "google");
    assert_eq!(export.body["blocked_user_ids"][0], bob_id.as_str());
    assert_eq!(
        h.call(Method::DELETE, &format!("/v1/users/{alice_id}"), Some(&app), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_problem(
        &h.call(Method::GET, &format!("/v1/users/{alice_id}"), Some(&app), None).await,
        StatusCode::NOT_FOUND,
        None,
    );
    let service = h.service_token().await;
    let types: Vec<String> = h.events(&service).await.iter().map(|e| s(&e["type"])).collect();
    for expected in ["user.blocked", "user.banned", "user.unbanned", "user.deleted"] {
        assert!(types.iter().any(|t| t == expected), "{expected} missing from {types:?}");
    }
    // Erasure removes the events that carried the user's profile; `user.deleted` stays.
    let events = h.events(&service).await;
    let types = chorus_kit::testing::assert_events_match_schema::<users_client::types::Event>(&events);
    for expected in ["user.created", "user.blocked", "user.banned", "user.unbanned", "user.deleted"] {
        assert!(types.iter().any(|t| t == expected), "{expected} missing from {types:?}");
    }
    let hers: Vec<&str> =
        events.iter().filter(|e| e["subject"] == alice_id.as_str()).map(|e| e["type"].as_str().unwrap()).collect();
    assert!(!hers.contains(&"user.created") && !hers.contains(&"user.updated"), "{hers:?}");
    assert!(hers.contains(&"user.deleted"), "{hers:?}");
}

#[tokio::test]
async fn operational_endpoints_answer() {
    let h = Harness::start().await;
    let spec = h.http.get(h.service.url("/openapi.json")).send().await.unwrap().text().await.unwrap();
    let checked_in = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/users.json")).unwrap();
    assert!(spec == checked_in, "/openapi.json differs from openapi/users.json; run `cargo xtask openapi write`");
    // The docs page works offline: it loads only files the service serves itself.
    let docs = h.http.get(h.service.url("/docs")).send().await.unwrap().text().await.unwrap();
    assert!(docs.contains("/openapi.json"));
    assert!(!docs.contains("https://") && !docs.contains("http://"), "no third-party request: {docs}");
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/docs/LICENSE"] {
        let served = h.http.get(h.service.url(asset)).send().await.unwrap();
        assert_eq!(served.status(), StatusCode::OK, "{asset}");
        assert!(!served.bytes().await.unwrap().is_empty(), "{asset}");
    }
    let ready = h.call(Method::GET, "/health/ready", None, None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(h.call(Method::GET, "/health/live", None, None).await.status, StatusCode::OK);
    let response = h.http.get(h.service.url("/health/live")).header("x-request-id", "trace-me").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me");
    let metrics = h.http.get(h.service.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("chorus_http_requests_total"), "{metrics}");
    assert!(metrics.contains("chorus_db_pool_connections"));
}

#[tokio::test]
async fn the_feed_streams_and_resumes_from_last_event_id() {
    let h = Harness::start().await;
    let (_, api_key, _) = h.app("Demo").await;
    for device in ["a", "b", "c"] {
        h.session(&api_key, device).await;
    }
    let service = h.service_token().await;
    let ids: Vec<i64> = h.events(&service).await.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    let mut response = h
        .http
        .get(h.service.url("/v1/events/stream"))
        .bearer_auth(&service)
        .header("Last-Event-ID", ids[0].to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    while text.matches("\n\n").count() < 2 {
        let chunk =
            tokio::time::timeout(std::time::Duration::from_secs(10), response.chunk()).await.unwrap().unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.starts_with(&format!("id: {}\nevent: user.created\n", ids[1])), "{text}");
    assert!(text.contains(&format!("id: {}\n", ids[2])));
    // A new event arrives on the open stream.
    h.session(&api_key, "d").await;
    while text.matches("\n\n").count() < 3 {
        let chunk =
            tokio::time::timeout(std::time::Duration::from_secs(10), response.chunk()).await.unwrap().unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains(&format!("id: {}\n", ids[2] + 1)));
}

#[tokio::test]
async fn data_and_signing_keys_survive_a_restart() {
    let service = testing::spawn::<Users>().await;
    let http = reqwest::Client::new();
    let created: Value = http
        .post(service.url("/v1/apps"))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&json!({ "name": "Demo" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api_key = s(&created["app"]["api_key"]);
    let session: Value = http
        .post(service.url("/v1/sessions"))
        .json(&json!({ "api_key": api_key, "device_id": "d1" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let config = service.config.clone();
    let database = service.stop().await;
    let restarted = testing::spawn_on::<Users>(database, config).await;
    let me = http.get(restarted.url("/v1/users/me")).bearer_auth(s(&session["access_token"])).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK, "tokens signed before the restart still verify");
    let again: Value = http
        .post(restarted.url("/v1/sessions"))
        .json(&json!({ "api_key": api_key, "device_id": "d1" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["user"]["id"], session["user"]["id"]);
}

#[tokio::test]
async fn usage_tells_which_apps_call_which_operations() {
    let h = Harness::start().await;
    let (_, key_a, _) = h.app("A").await;
    let (_, key_b, _) = h.app("B").await;
    let ada = h.session(&key_a, "ada").await;
    let bob = h.session(&key_b, "bob").await;
    for _ in 0..3 {
        h.call(Method::GET, "/v1/users/me", Some(&s(&ada["access_token"])), None).await;
    }
    h.call(Method::GET, "/v1/users/me", Some(&s(&bob["access_token"])), None).await;

    let today = chrono::Utc::now().date_naive();
    let usage =
        h.call(Method::GET, &format!("/v1/usage?operation=get_me&since={today}"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(usage.status, StatusCode::OK, "{:?}", usage.body);
    let calls: Vec<(String, i64)> = usage.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (s(&row["app_id"]), row["calls"].as_i64().unwrap()))
        .collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(
        calls.contains(&(s(&ada["user"]["app_id"]), 3)) && calls.contains(&(s(&bob["user"]["app_id"]), 1)),
        "{calls:?}"
    );

    assert_problem(
        &h.call(Method::GET, "/v1/usage?since=yesterday", Some(OPERATOR_TOKEN), None).await,
        StatusCode::BAD_REQUEST,
        Some("since"),
    );
    assert_problem(
        &h.call(Method::GET, "/v1/usage", Some(&s(&ada["access_token"])), None).await,
        StatusCode::FORBIDDEN,
        None,
    );
}
