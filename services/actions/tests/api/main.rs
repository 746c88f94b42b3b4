//! The actions service over real HTTP, beside a real users service, each on its own fresh
//! database (SQLite, or PostgreSQL when CHORUS_TEST_POSTGRES_URL is set).

use chorus_actions::Actions;
use chorus_kit::config::Secret;
use chorus_kit::testing::{self, Api, OPERATOR_TOKEN, Reply, TestService, eventually};
use chorus_upstream::peers::{PeerUser, UsersPeer};
use chorus_users::Users;
use chorus_users::config::ServiceAccount;
use reqwest::Method;
use serde_json::{Value, json};

mod actions;
mod contract;
mod entities;
mod lists;
mod moderation;
mod streams;
mod users_feed;

const SERVICE_SECRET: &str = "actions-test-secret";

/// A key with everything that makes keys hard: '/', '?', '%', '&' and non-ASCII.
const HARD_KEY: &str = "https://example.com/articles/42?ref=home&q=%41 é";

struct Stack {
    users: TestService<chorus_users::config::Config>,
    actions: TestService<chorus_actions::config::Config>,
    /// The users service, driven through users-client as a peer would.
    peer: UsersPeer,
    api: Api,
}

/// A user of an app, with a session.
type Person = PeerUser;

fn path(key: &str) -> String {
    format!("/v1/entities/{}", testing::encode_segment(key))
}

impl Stack {
    async fn start() -> Self {
        let users = testing::spawn_with::<Users>(|config| {
            config.service_accounts = vec![ServiceAccount {
                name: "actions".into(),
                secret_sha256: chorus_kit::secrets::digest(SERVICE_SECRET),
                scopes: vec![chorus_kit::events::READ_SCOPE.into()],
            }];
        })
        .await;
        let users_url = users.base_url.clone();
        let actions = testing::spawn_with::<Actions>(move |config| {
            config.users.url = users_url;
            config.users.service_secret = Some(Secret::new(SERVICE_SECRET));
        })
        .await;
        let peer = UsersPeer::new(users.base_url.clone(), OPERATOR_TOKEN);
        let api = Api::new(actions.base_url.clone());
        Self { users, actions, peer, api }
    }

    /// A new app: (api key, app token).
    async fn app(&self) -> (String, String) {
        let app = self.peer.app("Demo").await;
        (app.api_key, app.token)
    }

    async fn person(&self, api_key: &str, device: &str) -> Person {
        self.peer.user(api_key, device).await
    }

    /// A bodiless call with owned arguments, so many can be in flight at once.
    async fn act(&self, method: Method, path: String, token: String) -> Reply {
        self.api.call(method, &path, Some(&token), None).await
    }

    async fn bar(&self, key: &str, who: &Person) -> Value {
        let reply = self.api.get(&path(key), &who.token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    /// The feed, once it shows every event committed so far.
    async fn events(&self) -> Vec<Value> {
        testing::feed_settled(self.actions.db()).await;
        let reply = self.api.get("/v1/events?after=0&limit=500", OPERATOR_TOKEN).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["items"].as_array().unwrap().clone()
    }
}

fn counts(likes: i64, comments: i64, shares: i64, views: i64) -> Value {
    json!({ "likes": likes, "comments": comments, "shares": shares, "views": views,
            "total": likes + comments + shares + views })
}
