//! The platform as the launcher runs it, driven only through the generated clients.

use chorus::{Options, Platform};
use users_client::types;

fn options(dir: &std::path::Path, database: &chorus_kit::testing::TestDatabase) -> Options {
    let mut options = Options::new(dir);
    options.any_port = true;
    if database.is_postgres() {
        options.users_database_url = Some(database.url.clone());
    }
    options
}

fn client_with_token(url: &str, token: &str) -> users_client::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    let http = reqwest::Client::builder().default_headers(headers).build().unwrap();
    users_client::Client::new_with_client(url, http, users_client::Propagation::none())
}

#[tokio::test]
async fn the_sdk_walkthrough_runs_through_the_clients_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let database = chorus_kit::testing::TestDatabase::create();
    let platform = Platform::start(options(dir.path(), &database)).await.unwrap();
    let credentials = platform.credentials.clone();
    let saved: chorus::Credentials =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("credentials.json")).unwrap()).unwrap();
    assert_eq!(saved, credentials);

    let anonymous = users_client::Client::new(&platform.users_url, users_client::Propagation::none());
    let session = anonymous
        .start_session()
        .body(types::StartSession { api_key: credentials.demo_app.api_key.clone(), device_id: "device-1".into() })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(session.user.app_id, credentials.demo_app.app_id);

    let me = client_with_token(&platform.users_url, &session.access_token);
    let updated = me
        .update_me()
        .body(types::ProfileUpdate { display_name: Some("Grace".into()), ..Default::default() })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.display_name.as_deref(), Some("Grace"));

    // Bad input comes back as a typed problem.
    let error = anonymous
        .start_session()
        .body(types::StartSession { api_key: "ck_nobody".into(), device_id: "device-1".into() })
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
    let platform = Platform::start(options(dir.path(), &database)).await.unwrap();
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
