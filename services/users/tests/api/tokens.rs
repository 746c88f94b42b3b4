//! Tokens: forged, expired and foreign ones are refused.

use super::*;

#[tokio::test]
async fn expired_forged_and_foreign_tokens_are_refused() {
    let h = Harness::start().await;
    let (_, key_a, _) = h.app("A").await;
    let (_, key_b, secret_b) = h.app("B").await;
    let alice = h.session(&key_a, "alice").await;
    let alice_id = s(&alice["user"]["id"]);
    let signer = TokenSigner::from_encoded_seed(SIGNING_SEED).unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| Claims {
        iss: ISSUER.into(),
        sub: alice_id.clone(),
        iat: exp - 900,
        exp,
        kind: TokenKind::User,
        app: Some(s(&alice["user"]["app_id"])),
        scope: vec![],
    };
    let expired = signer.sign(&claims(now - 3_600));
    assert_problem(&h.call(Method::GET, "/v1/users/me", Some(&expired), None).await, StatusCode::UNAUTHORIZED, None);
    let forged = TokenSigner::generate().sign(&claims(now + 600));
    assert_problem(&h.call(Method::GET, "/v1/users/me", Some(&forged), None).await, StatusCode::UNAUTHORIZED, None);
    assert_eq!(
        h.call(Method::GET, "/v1/users/me", Some(&signer.sign(&claims(now + 600))), None).await.status,
        StatusCode::OK
    );

    // App B's credentials never reach app A's users.
    let bob = h.session(&key_b, "bob").await;
    let bob_token = s(&bob["access_token"]);
    assert_problem(
        &h.call(Method::GET, &format!("/v1/users/{alice_id}"), Some(&bob_token), None).await,
        StatusCode::NOT_FOUND,
        None,
    );
    let app_b = h.app_token(&key_b, &secret_b).await;
    let ban = h.call(Method::PUT, &format!("/v1/users/{alice_id}/ban"), Some(&app_b), Some(json!({}))).await;
    assert_problem(&ban, StatusCode::NOT_FOUND, None);
    let erase = h.call(Method::DELETE, &format!("/v1/users/{alice_id}"), Some(&app_b), None).await;
    assert_problem(&erase, StatusCode::NOT_FOUND, None);
    let alice_token = s(&alice["access_token"]);
    assert_eq!(h.call(Method::GET, "/v1/users/me", Some(&alice_token), None).await.body["banned"], false);

    // Users cannot act as apps or operators, nor read the feed.
    assert_problem(
        &h.call(Method::POST, "/v1/apps", Some(&alice_token), Some(json!({ "name": "x" }))).await,
        StatusCode::FORBIDDEN,
        None,
    );
    assert_problem(&h.call(Method::GET, "/v1/events", Some(&alice_token), None).await, StatusCode::FORBIDDEN, None);
    let wrong_secret = json!({ "api_key": key_b, "api_secret": "cs_wrong" });
    assert_problem(
        &h.call(Method::POST, "/v1/tokens/app", None, Some(wrong_secret)).await,
        StatusCode::UNAUTHORIZED,
        None,
    );
}
