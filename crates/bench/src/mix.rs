//! The SDK's requests against the whole platform, over HTTP with real tokens, and the same
//! operations against the baseline.

use futures_util::FutureExt;
use reqwest::{Client, Method};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

use crate::load::Op;

/// Users and entities the load is spread over.
pub struct Population {
    pub users: usize,
    pub entities: usize,
}

pub struct Target {
    http: Client,
    users_url: String,
    actions_url: String,
    notifications_url: String,
    /// The bare baseline, when this run has one.
    baseline: Option<Baseline>,
    api_key: String,
    user_ids: Vec<String>,
    tokens: Vec<String>,
    entities: usize,
    /// Failed requests by cause (a status, or the transport's error), since last taken.
    failures: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
    /// Acknowledged comments and views by entity key, since last taken: what a recount must find.
    ledger: std::sync::Mutex<HashMap<String, Tally>>,
}

/// Where the bare handler is, and whose entities it reads (it shares actions' database).
#[derive(Debug, Clone)]
pub struct Baseline {
    pub url: String,
    /// The app whose entities it serves.
    pub app: String,
}

/// Writes the service acknowledged on one entity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub comments: i64,
    pub views: i64,
}

fn key(n: usize) -> String {
    format!("entity-{n}")
}

impl Target {
    /// Opens a session per user and creates the entities (unless they were `seeded`).
    pub async fn prepare(
        users_url: String,
        actions_url: String,
        notifications_url: String,
        baseline: Option<Baseline>,
        api_key: String,
        population: &Population,
        seeded: bool,
    ) -> anyhow::Result<Arc<Self>> {
        // Idle connections are dropped before the server's keep-alive (5 s) would close them,
        // so a request never goes out on a connection the server is closing.
        let http = Client::builder()
            .pool_max_idle_per_host(256)
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()?;
        let (mut user_ids, mut tokens) = (Vec::new(), Vec::new());
        for user in 0..population.users {
            let session: serde_json::Value = http
                .post(format!("{users_url}/v1/sessions"))
                .json(&json!({ "api_key": api_key, "device_id": format!("bench-device-{user}") }))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            user_ids.push(session["user"]["id"].as_str().unwrap_or_default().to_owned());
            tokens.push(session["access_token"].as_str().unwrap_or_default().to_owned());
        }
        for entity in (0..population.entities).filter(|_| !seeded) {
            http.put(format!("{actions_url}/v1/entities/{}", key(entity)))
                .bearer_auth(&tokens[0])
                .json(&json!({ "name": format!("Entity {entity}") }))
                .send()
                .await?
                .error_for_status()?;
        }
        Ok(Arc::new(Self {
            http,
            users_url,
            actions_url,
            notifications_url,
            baseline,
            api_key,
            user_ids,
            tokens,
            entities: population.entities,
            failures: Default::default(),
            ledger: Default::default(),
        }))
    }

    /// The user and entity of request `n`. Consecutive requests go to different users and
    /// entities 31 apart, so concurrent writers rarely meet on one entity's row (as pgbench's
    /// random entities do not); over `users × entities` requests each pair comes up once.
    fn pick(&self, n: usize) -> (usize, String) {
        let users = self.tokens.len();
        let (user, round) = (n % users, n / users);
        (user, key((round + user * 31) % self.entities))
    }

    /// Likes on even rounds over the user × entity pairs, unlikes on odd ones: every request writes.
    fn like_method(&self, n: usize) -> Method {
        if (n / (self.tokens.len() * self.entities)).is_multiple_of(2) { Method::POST } else { Method::DELETE }
    }

    async fn send(&self, method: Method, url: String, token: Option<&str>, body: Option<serde_json::Value>) -> bool {
        let mut request = self.http.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let cause = match request.send().await {
            Ok(response) if response.status().is_success() => return true,
            Ok(response) => response.status().to_string(),
            Err(error) if error.is_connect() => "connection refused or reset".to_owned(),
            Err(error) if error.is_timeout() => "timed out".to_owned(),
            Err(_) => "transport error".to_owned(),
        };
        *self.failures.lock().expect("failures lock").entry(cause).or_default() += 1;
        false
    }

    /// Notes an acknowledged write on `key`; passes `ok` through.
    fn acknowledged(&self, key: &str, ok: bool, add: Tally) -> bool {
        if ok {
            let mut ledger = self.ledger.lock().expect("ledger lock");
            let tally = ledger.entry(key.to_owned()).or_default();
            tally.comments += add.comments;
            tally.views += add.views;
        }
        ok
    }

    /// The writes acknowledged since the last call, by entity key.
    pub fn take_ledger(&self) -> HashMap<String, Tally> {
        std::mem::take(&mut *self.ledger.lock().expect("ledger lock"))
    }

    /// Every population entity's stored comment and view counts, as the action bar shows them.
    pub async fn stored_counts(&self) -> anyhow::Result<HashMap<String, Tally>> {
        use futures_util::StreamExt;

        let reads = (0..self.entities).map(|n| async move {
            let bar: serde_json::Value = self
                .http
                .get(format!("{}/v1/entities/{}", self.actions_url, key(n)))
                .bearer_auth(&self.tokens[0])
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let count = |name: &str| bar["counts"][name].as_i64().unwrap_or_default();
            Ok::<_, anyhow::Error>((key(n), Tally { comments: count("comments"), views: count("views") }))
        });
        futures_util::stream::iter(reads).buffer_unordered(32).collect::<Vec<_>>().await.into_iter().collect()
    }

    /// The failures counted since the last call, by cause.
    pub fn take_failures(&self) -> std::collections::BTreeMap<String, u64> {
        std::mem::take(&mut *self.failures.lock().expect("failures lock"))
    }

    pub async fn read_bar(&self, n: usize) -> bool {
        let (user, key) = self.pick(n);
        self.send(Method::GET, format!("{}/v1/entities/{key}", self.actions_url), Some(&self.tokens[user]), None).await
    }

    pub async fn toggle_like(&self, n: usize) -> bool {
        let (user, key) = self.pick(n);
        let url = match self.like_method(n) {
            Method::POST => format!("{}/v1/entities/{key}/likes", self.actions_url),
            _ => format!("{}/v1/entities/{key}/likes/me", self.actions_url),
        };
        self.send(self.like_method(n), url, Some(&self.tokens[user]), None).await
    }

    /// The bare handler's action bar of `key` as user `user` sees it.
    fn baseline_bar_url(&self, key: &str, user: usize) -> String {
        let baseline = self.baseline.as_ref().expect("this run has a baseline");
        format!("{}/bar/{}/{key}/{}", baseline.url, baseline.app, self.user_ids[user])
    }

    pub async fn baseline_bar(&self, n: usize) -> bool {
        let (user, key) = self.pick(n);
        self.send(Method::GET, self.baseline_bar_url(&key, user), None, None).await
    }

    /// A new comment on one of the entities: the write path's typical transaction (the action,
    /// the entity's counts, the event).
    pub async fn comment(&self, n: usize) -> bool {
        let (user, key) = self.pick(n);
        let body = json!({ "text": format!("bench comment {n}") });
        let url = format!("{}/v1/entities/{key}/comments", self.actions_url);
        let ok = self.send(Method::POST, url, Some(&self.tokens[user]), Some(body)).await;
        self.acknowledged(&key, ok, Tally { comments: 1, views: 0 })
    }

    /// User `n`'s session token.
    pub fn token(&self, n: usize) -> String {
        self.tokens[n % self.tokens.len()].clone()
    }

    pub fn actions_url(&self) -> &str {
        &self.actions_url
    }

    /// Creates (or renames) the entity `key`.
    pub async fn upsert(&self, key: &str) -> bool {
        let url = format!("{}/v1/entities/{key}", self.actions_url);
        self.send(Method::PUT, url, Some(&self.tokens[0]), Some(json!({ "name": key }))).await
    }

    /// A comment by user `n` on `key` (seeding a busy entity).
    pub async fn comment_on(&self, key: &str, n: usize) -> bool {
        let body = json!({ "text": format!("seed {n}") });
        let url = format!("{}/v1/entities/{key}/comments", self.actions_url);
        self.send(Method::POST, url, Some(&self.tokens[n % self.tokens.len()]), Some(body)).await
    }

    /// A view of one of the entities (committed in groups).
    pub async fn view(&self, n: usize) -> bool {
        let (user, key) = self.pick(n);
        let url = format!("{}/v1/entities/{key}/views", self.actions_url);
        let ok = self.send(Method::POST, url, Some(&self.tokens[user]), None).await;
        self.acknowledged(&key, ok, Tally { comments: 0, views: 1 })
    }

    /// The action bar of `key`, read by user `n`.
    pub async fn read_bar_of(&self, key: &str, n: usize) -> bool {
        let token = &self.tokens[n % self.tokens.len()];
        self.send(Method::GET, format!("{}/v1/entities/{key}", self.actions_url), Some(token), None).await
    }

    /// A page of comments on one of the entities, as its comment section shows them.
    pub async fn read_comments(&self, n: usize) -> bool {
        let (user, key) = self.pick(n);
        let url = format!("{}/v1/entities/{key}/comments?limit=20", self.actions_url);
        self.send(Method::GET, url, Some(&self.tokens[user]), None).await
    }

    /// The first page of a user's inbox.
    pub async fn read_inbox(&self, n: usize) -> bool {
        let (user, _) = self.pick(n);
        let url = format!("{}/v1/notifications?limit=20", self.notifications_url);
        self.send(Method::GET, url, Some(&self.tokens[user]), None).await
    }

    /// A new session: the app's key and a device id exchanged for tokens.
    pub async fn new_session(&self, n: usize) -> bool {
        let (user, _) = self.pick(n);
        let body = json!({ "api_key": self.api_key, "device_id": format!("bench-device-{user}") });
        self.send(Method::POST, format!("{}/v1/sessions", self.users_url), None, Some(body)).await
    }

    /// The SDK's mix, per 20 requests: 9 action-bar reads (45%), 4 views (20%), 2 likes or
    /// unlikes (10%), 2 comment-list reads (10%), 1 comment, 1 inbox read and 1 new session
    /// (5% each).
    pub async fn sdk_mix(&self, n: usize) -> bool {
        let round = n / 20;
        match n % 20 {
            0..=8 => self.read_bar(round).await,
            9..=12 => self.view(round).await,
            13 | 14 => self.toggle_like(round + n % 2).await,
            15 | 16 => self.read_comments(round).await,
            17 => self.comment(round).await,
            18 => self.read_inbox(round).await,
            _ => self.new_session(round).await,
        }
    }
}

/// Turns a method of `Target` into a load [`Op`].
pub fn op<F, Fut>(target: &Arc<Target>, f: F) -> Op
where
    F: Fn(Arc<Target>, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let target = target.clone();
    Arc::new(move |n| f(target.clone(), n).boxed())
}
