//! The analytics service over real HTTP, beside real users and actions services, each on its
//! own fresh database (SQLite, or PostgreSQL when CHORUS_TEST_POSTGRES_URL is set).

use chorus_analytics::Analytics;
use chorus_kit::config::Secret;
use chorus_kit::testing::{self, Api, OPERATOR_TOKEN, TestService, eventually};
use chorus_upstream::peers::{PeerApp, PeerUser, UsersPeer};
use chorus_users::config::ServiceAccount;
use serde_json::{Value, json};

mod alerts;
mod dashboard;
mod feeds;
mod ingest;
mod leaderboards;
mod metrics;
mod rebuild;
mod retention;
mod usage;

const SECRET: &str = "analytics-test-secret";

struct Stack {
    _users: TestService<chorus_users::config::Config>,
    _actions: TestService<chorus_actions::config::Config>,
    analytics: TestService<chorus_analytics::config::Config>,
    /// Started only for the tests that send broadcasts.
    notifications: Option<(TestService<chorus_notifications::config::Config>, Api)>,
    peer: UsersPeer,
    actions: Api,
    api: Api,
}

impl Stack {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    async fn start_with(customize: impl FnOnce(&mut chorus_analytics::config::Config) + Send + 'static) -> Self {
        Self::start_all(false, customize).await
    }

    /// With a notifications service too, for alerts' broadcasts.
    async fn start_with_notifications() -> Self {
        Self::start_all(true, |_| {}).await
    }

    async fn start_all(
        with_notifications: bool,
        customize: impl FnOnce(&mut chorus_analytics::config::Config) + Send + 'static,
    ) -> Self {
        let users = testing::spawn_with::<chorus_users::Users>(|config| {
            let reads = vec![chorus_kit::events::READ_SCOPE.to_owned()];
            let mut analytics = reads.clone();
            analytics.extend([chorus_kit::usage::READ_SCOPE.to_owned(), "broadcasts:send".to_owned()]);
            config.service_accounts = [("actions", reads.clone()), ("notifications", reads), ("analytics", analytics)]
                .into_iter()
                .map(|(name, scopes)| ServiceAccount {
                    name: name.into(),
                    secret_sha256: chorus_kit::secrets::digest(SECRET),
                    scopes,
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
        let notifications = match with_notifications {
            false => None,
            true => {
                let (users_url, actions_url) = (users_url.clone(), actions_url.clone());
                let service = testing::spawn_with::<chorus_notifications::Notifications>(move |config| {
                    config.users.url = users_url;
                    config.users.service_secret = Some(Secret::new(SECRET));
                    config.actions.url = actions_url;
                    config.webhooks.signing_key = Some(Secret::new("test-webhook-key-0123456789abcdef0123"));
                })
                .await;
                let api = Api::new(service.base_url.clone());
                Some((service, api))
            }
        };
        // Unreachable unless notifications runs: broadcasts then wait, as they would in production.
        let notifications_url =
            notifications.as_ref().map_or("http://127.0.0.1:9".to_owned(), |(service, _)| service.base_url.clone());
        let analytics = testing::spawn_with::<Analytics>(move |config| {
            config.users.url = users_url;
            config.users.service_secret = Some(Secret::new(SECRET));
            config.actions.url = actions_url;
            config.notifications.url = notifications_url;
            config.webhooks.signing_key = Some(Secret::new("test-alert-key-0123456789abcdef0123456"));
            config.webhooks.base_backoff_ms = 50;
            config.webhooks.max_attempts = 3;
            config.webhooks.timeout_secs = 2;
            // The tests' webhook receivers listen on loopback.
            config.webhooks.allow_private_targets = true;
            // Tests evaluate alert rules themselves, at the instants they choose.
            config.alerts.evaluate_every_secs = 3_600;
            customize(config);
        })
        .await;
        Self {
            peer: UsersPeer::new(users.base_url.clone(), OPERATOR_TOKEN),
            actions: Api::new(actions.base_url.clone()),
            api: Api::new(analytics.base_url.clone()),
            _users: users,
            _actions: actions,
            analytics,
            notifications,
        }
    }

    async fn app(&self) -> PeerApp {
        self.peer.app("Demo").await
    }

    async fn user(&self, app: &PeerApp, device: &str) -> PeerUser {
        self.peer.user(&app.api_key, device).await
    }

    /// The app id an app token is for, from the token's claims.
    fn app_id(&self, token: &str) -> String {
        use base64::Engine;
        let payload = token.split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        claims["sub"].as_str().unwrap().to_owned()
    }

    /// Ingests `events` with `token`, expecting 200; answers the report.
    async fn ingest(&self, token: &str, events: Value) -> Value {
        let reply = self.api.post("/v1/events:batch", token, json!({ "events": events })).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    /// The metric's points, as `(start, value)`, for `query` (`from`, `to`, and the rest).
    async fn points(&self, token: &str, metric: &str, query: &str) -> Vec<(String, i64)> {
        let reply = self.api.get(&format!("/v1/metrics/{metric}?{query}"), token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|point| (point["start"].as_str().unwrap().to_owned(), point["value"].as_i64().unwrap()))
            .collect()
    }

    /// The metric's total over today (UTC).
    async fn today(&self, token: &str, metric: &str) -> i64 {
        let points = self.points(token, metric, &range_of_today()).await;
        points.iter().map(|(_, value)| value).sum()
    }

    /// Waits until the metric's total for today is `expected`.
    async fn wait_for_today(&self, token: &str, metric: &str, expected: i64) {
        eventually(&format!("{metric} reaches {expected} today"), async || self.today(token, metric).await == expected)
            .await;
    }
}

/// `from` and `to` covering today (UTC), for a query string.
fn range_of_today() -> String {
    let today = chrono::Utc::now().date_naive();
    format!("from={}T00:00:00Z&to={}T00:00:00Z&interval=day", today, today + chrono::Days::new(1))
}

/// An event named `name` at `timestamp` (RFC 3339).
fn event(name: &str, insert_id: &str, timestamp: &str) -> Value {
    json!({ "name": name, "insert_id": insert_id, "timestamp": timestamp, "properties": { "plan": "pro" } })
}

/// Now, as RFC 3339.
fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}
