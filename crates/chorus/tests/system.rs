//! The platform as the launcher runs it, driven only through the generated clients.

use chorus::{Options, Platform};
use chorus_kit::testing::{TestDatabase, eventually};
use users_client::types;

/// One database per service, as in production.
struct Databases {
    users: TestDatabase,
    actions: TestDatabase,
    notifications: TestDatabase,
    analytics: TestDatabase,
}

impl Databases {
    fn create() -> Self {
        Self {
            users: TestDatabase::create(),
            actions: TestDatabase::create(),
            notifications: TestDatabase::create(),
            analytics: TestDatabase::create(),
        }
    }
}

fn options(dir: &std::path::Path, databases: &Databases) -> Options {
    let mut options = Options::new(dir);
    options.any_port = true;
    if databases.users.is_postgres() {
        options.users_database_url = Some(databases.users.url.clone());
        options.actions_database_url = Some(databases.actions.url.clone());
        options.notifications_database_url = Some(databases.notifications.url.clone());
        options.analytics_database_url = Some(databases.analytics.url.clone());
    }
    options
}

fn bearer_http(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    reqwest::Client::builder().default_headers(headers).build().unwrap()
}

fn client_with_token(url: &str, token: &str) -> users_client::Client {
    users_client::Client::new_with_client(url, bearer_http(token), users_client::Propagation::none())
}

fn actions_with_token(url: &str, token: &str) -> actions_client::Client {
    actions_client::Client::new_with_client(url, bearer_http(token), actions_client::Propagation::none())
}

fn notifications_with_token(url: &str, token: &str) -> notifications_client::Client {
    notifications_client::Client::new_with_client(url, bearer_http(token), notifications_client::Propagation::none())
}

fn analytics_with_token(url: &str, token: &str) -> analytics_client::Client {
    analytics_client::Client::new_with_client(url, bearer_http(token), analytics_client::Propagation::none())
}

#[tokio::test]
async fn the_sdk_walkthrough_runs_through_the_clients_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let databases = Databases::create();
    let platform = Platform::start(options(dir.path(), &databases)).await.unwrap();
    let credentials = platform.credentials.clone();
    let saved: chorus::Credentials =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("credentials.json")).unwrap()).unwrap();
    assert_eq!(saved, credentials);

    let anonymous = users_client::Client::new(&platform.users_url, users_client::Propagation::none());
    let session = anonymous
        .start_session()
        .body(types::StartSession {
            api_key: credentials.demo_app.api_key.clone(),
            device_id: "device-1".parse().unwrap(),
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(session.user.app_id, credentials.demo_app.app_id);

    let me = client_with_token(&platform.users_url, &session.access_token);
    let updated = me
        .update_me()
        .body(types::ProfileUpdate { display_name: Some("Grace".parse().unwrap()), ..Default::default() })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.display_name.as_deref(), Some("Grace"));

    // Bad input comes back as a typed problem.
    let error = anonymous
        .start_session()
        .body(types::StartSession { api_key: "ck_nobody".into(), device_id: "device-1".parse().unwrap() })
        .send()
        .await
        .unwrap_err();
    match error {
        users_client::Error::ErrorResponse(problem) => {
            assert_eq!(problem.status().as_u16(), 401);
            assert_eq!(problem.into_inner().status, 401);
        }
        other => panic!("expected a problem, got {other:?}"),
    }

    // The client's propagation hook carries the caller's request id to the service.
    let traced = users_client::Client::new(
        &platform.users_url,
        users_client::Propagation::from_fn(|| vec![("x-request-id", "req-from-caller".to_owned())]),
    );
    let jwks = traced.get_jwks().send().await.unwrap();
    assert_eq!(jwks.headers()["x-request-id"], "req-from-caller");
    assert!(!jwks.into_inner().keys.is_empty());

    // A restart keeps the data and the same credentials.
    platform.stop().await;
    let platform = Platform::start(options(dir.path(), &databases)).await.unwrap();
    assert_eq!(platform.credentials, credentials);
    let me = client_with_token(&platform.users_url, &session.access_token);
    let after = me.get_me().send().await.unwrap().into_inner();
    assert_eq!(after.display_name.as_deref(), Some("Grace"));

    // The operator reads the demo app through the same client.
    let operator = client_with_token(&platform.users_url, &credentials.operator_token);
    let app = operator.get_app().app_id(&credentials.demo_app.app_id).send().await.unwrap().into_inner();
    assert_eq!(app.api_key, credentials.demo_app.api_key);
    platform.stop().await;
}

#[tokio::test]
async fn the_action_bar_runs_through_the_clients_and_erasure_crosses_services() {
    let dir = tempfile::tempdir().unwrap();
    let databases = Databases::create();
    let platform = Platform::start(options(dir.path(), &databases)).await.unwrap();
    let credentials = platform.credentials.clone();
    let anonymous = users_client::Client::new(&platform.users_url, users_client::Propagation::none());
    let mut people = Vec::new();
    for device in ["phone-a", "phone-b"] {
        let session = anonymous
            .start_session()
            .body(types::StartSession {
                api_key: credentials.demo_app.api_key.clone(),
                device_id: device.parse().unwrap(),
            })
            .send()
            .await
            .unwrap()
            .into_inner();
        people.push(session);
    }
    let key = "https://example.com/posts/7?utm=x";
    // The first person follows the post's comments.
    let inbox = notifications_with_token(&platform.notifications_url, &people[0].access_token);
    inbox.subscribe().key(key).kind(notifications_client::types::SubscriptionKind::NewComments).send().await.unwrap();
    for person in &people {
        let actions = actions_with_token(&platform.actions_url, &person.access_token);
        actions.like().key(key).send().await.unwrap();
        actions
            .comment()
            .key(key)
            .body(actions_client::types::NewComment {
                text: format!("hello from {}", person.user.id).parse().unwrap(),
                parent_id: None,
            })
            .send()
            .await
            .unwrap();
    }
    let first = actions_with_token(&platform.actions_url, &people[0].access_token);
    let bar = first.get_entity().key(key).send().await.unwrap().into_inner();
    assert_eq!((bar.counts.likes, bar.counts.comments, bar.counts.total), (2, 2, 4));
    assert!(bar.me.unwrap().liked);

    // The client cannot even build a body the schema refuses; a request the schema allows but
    // the state refuses comes back as a typed problem naming the field.
    assert!("".parse::<actions_client::types::NewCommentText>().is_err(), "the client checks the stated limits");
    let error = first
        .comment()
        .key(key)
        .body(actions_client::types::NewComment { text: "a reply".parse().unwrap(), parent_id: Some("nothing".into()) })
        .send()
        .await
        .unwrap_err();
    match error {
        actions_client::Error::ErrorResponse(problem) => {
            assert_eq!(problem.status(), 404);
            assert_eq!(problem.into_inner().errors[0].field, "parent_id");
        }
        other => panic!("expected a problem, got {other:?}"),
    }

    // The second person's comment reached the first person's inbox, across three services.
    eventually("the comment is fanned out", async || {
        let page = inbox.list_notifications().send().await.unwrap().into_inner();
        page.items.iter().any(|n| n.actor_id.as_deref() == Some(people[1].user.id.as_str()))
    })
    .await;

    // The second person erases themselves in users; actions follows the users feed.
    let second = client_with_token(&platform.users_url, &people[1].access_token);
    second.erase_me().send().await.unwrap();
    eventually("the erasure reaches actions", async || {
        let bar = first.get_entity().key(key).send().await.unwrap().into_inner();
        (bar.counts.likes, bar.counts.comments) == (1, 1)
    })
    .await;

    // Every event each service published matches its published schema: the typed clients read
    // each one as a known event type, none malformed or unknown.
    // On PostgreSQL a feed shows events below the server-wide visibility horizon, which another
    // test's open transaction can hold back a moment: wait until each shows what was written.
    let operator = &platform.credentials.operator_token;
    let users = client_with_token(&platform.users_url, operator);
    let actions = actions_with_token(&platform.actions_url, operator);
    let notifications = notifications_with_token(&platform.notifications_url, operator);
    eventually("every feed shows its events", async || {
        let users_feed = users.list_events().limit(500).send().await.unwrap().into_inner().items;
        let actions_feed = actions.list_events().limit(500).send().await.unwrap().into_inner().items;
        let notifications_feed = notifications.list_events().limit(500).send().await.unwrap().into_inner().items;
        users_feed.len() >= 2 && actions_feed.len() >= 6 && !notifications_feed.is_empty()
    })
    .await;
    assert_all_known("users", &users.list_events().limit(500).send().await.unwrap().into_inner().items);
    assert_all_known("actions", &actions.list_events().limit(500).send().await.unwrap().into_inner().items);
    assert_all_known("notifications", &notifications.list_events().limit(500).send().await.unwrap().into_inner().items);
    platform.stop().await;
}

fn assert_all_known<E: std::fmt::Debug>(feed: &str, items: &[(i64, chorus_client_support::FeedItem<E>)]) {
    for (id, item) in items {
        assert!(matches!(item, chorus_client_support::FeedItem::Known(_)), "{feed} event {id}: {item:?}");
    }
}

#[tokio::test]
async fn analytics_counts_the_platform_and_ingested_events_through_its_client() {
    use analytics_client::types as analytics;

    let dir = tempfile::tempdir().unwrap();
    let databases = Databases::create();
    let platform = Platform::start(options(dir.path(), &databases)).await.unwrap();
    let demo = platform.credentials.demo_app.clone();
    let anonymous = users_client::Client::new(&platform.users_url, users_client::Propagation::none());
    let body = types::StartSession { api_key: demo.api_key.clone(), device_id: "phone".parse().unwrap() };
    let person = anonymous.start_session().body(body).send().await.unwrap().into_inner();
    let credentials =
        types::AppCredentialsRequest { api_key: demo.api_key.clone(), api_secret: demo.api_secret.clone() };
    let app_token = anonymous.create_app_token().body(credentials).send().await.unwrap().into_inner().access_token;
    actions_with_token(&platform.actions_url, &person.access_token).like().key("post-1").send().await.unwrap();

    // The SDK sends a batch with one event twice (a retry); it counts once.
    let mine = analytics_with_token(&platform.analytics_url, &person.access_token);
    let opened = |insert_id: &str| analytics::IncomingEvent {
        name: "app-opened".parse().unwrap(),
        insert_id: insert_id.parse().unwrap(),
        timestamp: chrono::Utc::now(),
        user_id: None,
        entity_key: None,
        properties: None,
    };
    let batch = analytics::EventBatch { events: vec![opened("o-1"), opened("o-2"), opened("o-1")] };
    let report = mine.ingest_events().body(batch).send().await.unwrap().into_inner();
    assert_eq!((report.accepted, report.duplicates, report.rejected.len()), (2, 1, 0));

    // The app reads its numbers for today: the like arrived through the actions feed.
    let app = analytics_with_token(&platform.analytics_url, &app_token);
    let today = chrono::Utc::now().date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let total = async |metric: &str| -> i64 {
        let series = app
            .get_metric()
            .metric(metric)
            .from(today)
            .to(today + chrono::Duration::days(1))
            .interval(analytics::MetricInterval::Day)
            .send()
            .await
            .unwrap()
            .into_inner();
        series.points.iter().flatten().map(|point| point.value).sum()
    };
    eventually("the like is counted", async || total("actions.likes").await == 1).await;
    eventually("the new user is counted", async || total("users.new").await == 1).await;
    assert_eq!(total("events.app-opened").await, 2);
    assert_eq!(total("users.active").await, 1);

    // A person's token reads no analytics: a typed problem.
    let refused = mine.get_metric().metric("actions.likes").from(today).to(today).send().await.unwrap_err();
    assert_eq!(refused.status().map(|status| status.as_u16()), Some(403));
    platform.stop().await;
}
