//! The users service over real HTTP, on a fresh database per test (SQLite, or PostgreSQL when
//! CHORUS_TEST_POSTGRES_URL is set).

use chorus_kit::auth::{Claims, ISSUER, TokenKind, TokenSigner};
use chorus_kit::testing::{self, Api, OPERATOR_TOKEN, Reply, TestService};
use chorus_users::Users;
use chorus_users::config::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod apps;
mod contract;
mod feed;
mod limits;
mod operations;
mod sessions;
mod tokens;
mod usage;
mod users;

const SIGNING_SEED: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

struct Harness {
    service: TestService<Config>,
    api: Api,
    http: reqwest::Client,
}

impl Harness {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    async fn start_with(customize: impl FnOnce(&mut Config)) -> Self {
        let service = testing::spawn_with::<Users>(|config| {
            config.tokens.signing_key = Some(chorus_kit::config::Secret::new(SIGNING_SEED));
            config.service_accounts = vec![chorus_users::config::ServiceAccount {
                name: "actions".into(),
                secret_sha256: chorus_kit::secrets::digest("actions-secret"),
                scopes: vec!["events:read".into()],
            }];
            customize(config);
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

    /// The feed, once it shows every event committed so far.
    async fn events(&self, token: &str) -> Vec<Value> {
        testing::feed_settled(self.service.db()).await;
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
