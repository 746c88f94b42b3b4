//! API usage per app and operation.

use super::*;

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
