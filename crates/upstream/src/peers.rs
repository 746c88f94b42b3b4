//! The users service as another service's tests (and tools) drive it: apps, sessions, blocks,
//! bans and erasure, through users-client, as any peer would. Every call panics on failure, with
//! the answer in the message, since a test cannot go on without it.

use users_client::types;

use crate::propagation;

/// A users service, reached at `url` with the operator token.
pub struct UsersPeer {
    url: String,
    operator_token: String,
}

/// An app, with its credentials and an app token.
#[derive(Debug, Clone)]
pub struct PeerApp {
    pub id: String,
    pub api_key: String,
    pub api_secret: String,
    pub token: String,
}

/// A user of an app, with a session token.
#[derive(Debug, Clone)]
pub struct PeerUser {
    pub id: String,
    pub token: String,
}

impl UsersPeer {
    pub fn new(url: impl Into<String>, operator_token: impl Into<String>) -> Self {
        Self { url: url.into(), operator_token: operator_token.into() }
    }

    fn client(&self, bearer: Option<&str>) -> users_client::Client {
        users_client::Client::new_with_client(&self.url, reqwest::Client::new(), propagation(bearer.map(str::to_owned)))
    }

    /// A new app named `name`, and a token for it.
    pub async fn app(&self, name: &str) -> PeerApp {
        let body = types::CreateApp { name: name.parse().expect("a valid app name"), settings: None };
        let created = self.client(Some(&self.operator_token)).create_app().body(body).send().await;
        let created = created.expect("the users service creates the app").into_inner();
        let api_secret = created.api_secret.expect("a new app's secret is shown");
        let token = self.app_token(&created.app.api_key, &api_secret).await;
        PeerApp { id: created.app.id, api_key: created.app.api_key, api_secret, token }
    }

    /// A fresh app token from the app's key and secret.
    pub async fn app_token(&self, api_key: &str, api_secret: &str) -> String {
        let body = types::AppCredentialsRequest { api_key: api_key.to_owned(), api_secret: api_secret.to_owned() };
        let token = self.client(None).create_app_token().body(body).send().await;
        token.expect("the users service issues an app token").into_inner().access_token
    }

    /// The user of `device` in the app, with a session.
    pub async fn user(&self, api_key: &str, device: &str) -> PeerUser {
        let body = types::StartSession { api_key: api_key.to_owned(), device_id: device.parse().expect("a device id") };
        let session = self.client(None).start_session().body(body).send().await;
        let session = session.expect("the users service opens a session").into_inner();
        PeerUser { id: session.user.id, token: session.access_token }
    }

    /// `blocker` blocks the user `blocked_id`.
    pub async fn block(&self, blocker: &PeerUser, blocked_id: &str) {
        let blocked = self.client(Some(&blocker.token)).block_user().user_id(blocked_id).send().await;
        blocked.expect("the users service records the block");
    }

    /// The app (by its token) bans the user `user_id`.
    pub async fn ban(&self, app_token: &str, user_id: &str) {
        let body = types::BanRequest { reason: None };
        let banned = self.client(Some(app_token)).ban_user().user_id(user_id).body(body).send().await;
        banned.expect("the users service bans the user");
    }

    /// The user erases themselves (`DELETE /v1/users/me`).
    pub async fn erase_self(&self, user: &PeerUser) {
        let erased = self.client(Some(&user.token)).erase_me().send().await;
        erased.expect("the users service erases the user");
    }

    /// The operator rotates the signing key; returns the new key's `kid`.
    pub async fn rotate_signing_key(&self) -> String {
        let rotated = self.client(Some(&self.operator_token)).rotate_signing_key().send().await;
        rotated.expect("the users service rotates its signing key").into_inner().kid
    }

    /// The operator withdraws the signing key `kid`.
    pub async fn withdraw_signing_key(&self, kid: &str) {
        let withdrawn = self.client(Some(&self.operator_token)).withdraw_signing_key().kid(kid).send().await;
        withdrawn.expect("the users service withdraws the key");
    }

    /// The app (by its token) erases the user `user_id`.
    pub async fn erase(&self, app_token: &str, user_id: &str) {
        let erased = self.client(Some(app_token)).erase_user().user_id(user_id).send().await;
        erased.expect("the users service erases the user");
    }
}
