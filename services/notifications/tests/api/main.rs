//! The notifications service over real HTTP, beside real users and actions services, each on its
//! own fresh database (SQLite, or PostgreSQL when CHORUS_TEST_POSTGRES_URL is set).

use chorus_kit::config::Secret;
use chorus_kit::testing::{self, Api, OPERATOR_TOKEN, TestService, eventually};
use chorus_notifications::Notifications;
use chorus_upstream::peers::{PeerApp, PeerUser, UsersPeer};
use chorus_users::config::ServiceAccount;
use reqwest::Method;
use serde_json::{Value, json};

mod broadcasts;
mod devices;
mod fanout;
mod inbox;
mod push;
mod trust;
mod webhooks;

const SECRET: &str = "notifications-test-secret";

struct Stack {
    _users: TestService<chorus_users::config::Config>,
    _actions: TestService<chorus_actions::config::Config>,
    notifications: Option<TestService<chorus_notifications::config::Config>>,
    /// The users service's feed, read directly (the tests watch it advance).
    users: Api,
    /// The users service, driven through users-client as a peer would.
    peer: UsersPeer,
    actions: Api,
    api: Api,
    /// Each app's (api key, secret), for tokens later.
    secrets: std::sync::Mutex<Vec<(String, String)>>,
}

/// A user of an app, with a session.
type Person = PeerUser;

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
            // A rotated-in key signs two seconds later: past the verifiers' refresh (a second
            // in tests), as the defaults keep it past theirs.
            config.tokens.rotation_lead_secs = 2;
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
            // The tests' webhook receivers listen on loopback.
            config.webhooks.allow_private_targets = true;
            customize(config);
        })
        .await;
        Self {
            users: Api::new(users.base_url.clone()),
            peer: UsersPeer::new(users.base_url.clone(), OPERATOR_TOKEN),
            actions: Api::new(actions.base_url.clone()),
            api: Api::new(notifications.base_url.clone()),
            secrets: std::sync::Mutex::default(),
            _users: users,
            _actions: actions,
            notifications: Some(notifications),
        }
    }

    /// An app token for an existing app, from its key and the secret `app()` kept.
    async fn app_token_for(&self, api_key: &str) -> String {
        let secret = self.secrets.lock().unwrap().iter().find(|(k, _)| k == api_key).map(|(_, s)| s.clone()).unwrap();
        self.peer.app_token(api_key, &secret).await
    }

    /// A new app: (api key, app token).
    async fn app(&self) -> (String, String) {
        let app = self.peer_app().await;
        (app.api_key, app.token)
    }

    /// A new app, with its id.
    async fn peer_app(&self) -> PeerApp {
        let app = self.peer.app("Demo").await;
        self.secrets.lock().unwrap().push((app.api_key.clone(), app.api_secret.clone()));
        app
    }

    async fn person(&self, api_key: &str, device: &str) -> Person {
        self.peer.user(api_key, device).await
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

    /// The notifications service's database.
    fn notifications_db(&self) -> &chorus_kit::db::Db {
        self.notifications.as_ref().expect("notifications runs").db()
    }

    /// Stops notifications gracefully (as SIGTERM would) and starts it again on the same database
    /// and port, as a deploy would.
    async fn restart_notifications(&mut self) {
        let service = self.notifications.take().expect("notifications runs");
        let mut config = service.config.clone();
        config.http.port = service.port;
        let database = service.stop().await;
        self.notifications = Some(testing::spawn_on::<Notifications>(database, config).await);
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
