//! Rate limits: token buckets per user, per app and per API key, with the standard headers.

use super::*;
use chorus_kit::rate_limit::RateLimitSettings;

/// The service with the shipped default limits (the harness's are far roomier).
async fn with_default_limits() -> Harness {
    Harness::start_with(|config| config.rate_limits = RateLimitSettings::default()).await
}

#[tokio::test]
async fn a_user_token_bursting_past_its_budget_gets_429_with_when_to_retry() {
    let h = with_default_limits().await;
    let (_, api_key, _) = h.app("Limits").await;
    let token = s(&h.session(&api_key, "burst").await["access_token"]);

    let first = h.call(Method::GET, "/v1/users/me", Some(&token), None).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.headers["ratelimit-policy"], "\"reads\";q=200;w=4");
    assert!(first.headers["ratelimit"].to_str().unwrap().starts_with("\"reads\";r=199;"), "{:?}", first.headers);

    // A burst far past the bucket, as a runaway client would send.
    let mut refused = None;
    for _ in 0..2_000 {
        let reply = h.call(Method::GET, "/v1/users/me", Some(&token), None).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(reply);
            break;
        }
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    }
    let refused = refused.expect("a burst of 2,000 reads is refused");
    refused.assert_problem(429, None);
    assert_eq!(refused.body["type"], "https://chorus.dev/problems/rate-limited");
    let retry_after: u64 = refused.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert!(refused.headers["ratelimit"].to_str().unwrap().starts_with("\"reads\";r=0;"));
    assert_eq!(refused.headers["ratelimit-policy"], "\"reads\";q=200;w=4");

    // Writes have their own budget, other users theirs, and the operator none.
    let update = h.call(Method::PATCH, "/v1/users/me", Some(&token), Some(json!({ "bio": "still here" }))).await;
    assert_eq!(update.status, StatusCode::OK, "{:?}", update.body);
    let other = s(&h.session(&api_key, "calm").await["access_token"]);
    assert_eq!(h.call(Method::GET, "/v1/users/me", Some(&other), None).await.status, StatusCode::OK);
    for _ in 0..300 {
        let reply = h.call(Method::GET, "/v1/admin/signing-keys", Some(OPERATOR_TOKEN), None).await;
        assert_eq!(reply.status, StatusCode::OK, "operators are exempt");
        assert!(reply.headers.get("ratelimit").is_none());
    }
}

#[tokio::test]
async fn credential_exchanges_are_limited_per_api_key() {
    let h = Harness::start_with(|config| {
        config.rate_limits.session = chorus_kit::rate_limit::Limit { per_second: 1, burst: 3 };
    })
    .await;
    let (_, api_key, _) = h.app("Sessions").await;
    let (_, other_key, _) = h.app("Other").await;
    for device in ["a", "b", "c"] {
        h.session(&api_key, device).await;
    }
    let body = json!({ "api_key": api_key, "device_id": "d" });
    let refused = h.call(Method::POST, "/v1/sessions", None, Some(body)).await;
    refused.assert_problem(429, None);
    assert!(refused.headers.contains_key("retry-after"));
    // Guessing the app's secret meets the same budget.
    let guess = json!({ "api_key": api_key, "api_secret": "guess" });
    h.call(Method::POST, "/v1/tokens/app", None, Some(guess)).await.assert_problem(429, None);
    h.session(&other_key, "a").await;
}
