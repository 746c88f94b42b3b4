//! FCM HTTP v1 (Firebase, "Send messages with the FCM HTTP v1 API"):
//!
//! - `POST {base}/v1/projects/{project_id}/messages:send` with `Authorization: Bearer <access
//!   token>`, a `message` of `token`, `notification` (title, body) and string-valued `data`, at
//!   most [`PAYLOAD_LIMIT`] bytes;
//! - the access token comes from the service account's JWT-bearer grant (RFC 7523) at its
//!   `token_uri`: an RS256 assertion signed with the account's private key (`iss` = the
//!   account's email, `scope` = [`SCOPE`], `aud` = the token URL, an hour long), and is cached
//!   until a minute before it expires.
//!
//! Answers: 200 is delivered. An error's reason is the `errorCode` of the `FcmError` in
//! `error.details` (a gone device arrives as HTTP 404 `NOT_FOUND` with `UNREGISTERED` there):
//! `UNREGISTERED` and `SENDER_ID_MISMATCH` reject the token; 401 fetches a new access token and
//! retries; 429 and 5xx retry; anything else is final.

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ChannelError, FcmSettings, Outcome, Refusal, Send, read_answer, read_file};
use crate::domain::model::PushMessage;

/// A message's limit in bytes.
pub const PAYLOAD_LIMIT: usize = 4_096;
/// The OAuth 2.0 scope that sends messages.
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// An access token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// The fields of a service account's JSON key that FCM needs.
#[derive(Deserialize)]
struct ServiceAccount {
    project_id: String,
    private_key_id: String,
    private_key: String,
    client_email: String,
    token_uri: String,
}

/// The FCM channel.
pub struct Fcm {
    http: reqwest::Client,
    send_url: String,
    token_url: String,
    client_email: String,
    key_id: String,
    key: EncodingKey,
    /// The access token in use and when it expires; one renewal at a time.
    access: tokio::sync::Mutex<Option<(String, Instant)>>,
}

impl Fcm {
    /// The channel, when `push.fcm.credentials_file` is set; fails on an unreadable or invalid
    /// key.
    pub fn load(settings: &FcmSettings, timeout: Duration) -> Result<Option<Self>, ChannelError> {
        let Some(file) = &settings.credentials_file else { return Ok(None) };
        let invalid = |message: String| ChannelError::Invalid { setting: "push.fcm.credentials_file", message };
        let account: ServiceAccount = serde_json::from_slice(&read_file("push.fcm.credentials_file", file)?)
            .map_err(|error| invalid(format!("not a service account key: {error}")))?;
        let key = EncodingKey::from_rsa_pem(account.private_key.as_bytes())
            .map_err(|error| invalid(format!("private_key is not an RSA key: {error}")))?;
        let token_url = settings.token_url.clone().unwrap_or(account.token_uri);
        chorus_kit::config::check_http_url("push.fcm.token_url", &token_url)
            .map_err(|error| invalid(error.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|error| ChannelError::Client(error.to_string()))?;
        Ok(Some(Self {
            http,
            send_url: format!(
                "{}/v1/projects/{}/messages:send",
                settings.base_url.trim_end_matches('/'),
                account.project_id
            ),
            token_url,
            client_email: account.client_email,
            key_id: account.private_key_id,
            key,
            access: tokio::sync::Mutex::new(None),
        }))
    }

    /// The cached access token, or a new one from the token endpoint.
    async fn access_token(&self) -> Result<String, Outcome> {
        let mut access = self.access.lock().await;
        if let Some((token, expires)) = access.as_ref()
            && Instant::now() + RENEW_BEFORE < *expires
        {
            return Ok(token.clone());
        }
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "iss": self.client_email, "scope": SCOPE, "aud": self.token_url, "iat": now, "exp": now + 3_600,
        });
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.key_id.clone());
        let assertion = jsonwebtoken::encode(&header, &claims, &self.key).map_err(|error| Outcome::Rejected {
            http_status: None,
            error: format!("signing the token request failed: {error}"),
        })?;
        let form = serde_urlencoded::to_string([("grant_type", GRANT_TYPE), ("assertion", assertion.as_str())])
            .unwrap_or_default();
        let response = self
            .http
            .post(&self.token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|error| Outcome::Retry {
                http_status: None,
                error: format!("the FCM token endpoint could not be reached: {}", error.without_url()),
                retry_after: None,
            })?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            // A refused grant is most likely a credentials mistake an operator can fix: the
            // push waits and retries rather than dying at once.
            return Err(Outcome::Retry {
                http_status: Some(status),
                error: format!("the FCM token endpoint answered {status}"),
                retry_after: chorus_kit::webhooks::retry_after(response.headers()),
            });
        }
        #[derive(Deserialize)]
        struct Granted {
            access_token: String,
            expires_in: u64,
        }
        let granted: Granted = response.json().await.map_err(|error| Outcome::Retry {
            http_status: Some(status),
            error: format!("the FCM token endpoint's answer does not parse: {error}"),
            retry_after: None,
        })?;
        *access = Some((granted.access_token.clone(), Instant::now() + Duration::from_secs(granted.expires_in)));
        Ok(granted.access_token)
    }

    pub async fn send(&self, push: &Send<'_>) -> Outcome {
        let access = match self.access_token().await {
            Ok(access) => access,
            Err(outcome) => return outcome,
        };
        // The lifetime for Android (`ttl`) and, for iOS devices reached through FCM, APNs's own.
        let ttl = format!("{}s", push.ttl.as_secs());
        let expires_at = (chrono::Utc::now().timestamp() + i64::try_from(push.ttl.as_secs()).unwrap_or(0)).to_string();
        let token = push.target.token.as_str();
        let body = push.message.fit(PAYLOAD_LIMIT, |message| payload(message, token, &ttl, &expires_at));
        let sent = self
            .http
            .post(&self.send_url)
            .bearer_auth(&access)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let Refusal { status, retry_after, body } = match read_answer("FCM", sent).await {
            Ok(refusal) => refusal,
            Err(settled) => return settled,
        };
        let reason = error_code(&body);
        let error = format!("FCM answered {status} {reason}");
        match (status, reason.as_str()) {
            (_, "UNREGISTERED" | "SENDER_ID_MISMATCH") => Outcome::TokenRejected { http_status: status, reason },
            (401, _) => {
                // Only if it is still the token this send used: a fresh one stays.
                let mut cached = self.access.lock().await;
                if cached.as_ref().is_some_and(|(token, _)| *token == access) {
                    *cached = None;
                }
                Outcome::Retry { http_status: Some(status), error, retry_after: None }
            }
            (429 | 500..=599, _) => Outcome::Retry { http_status: Some(status), error, retry_after },
            _ => Outcome::Rejected { http_status: Some(status), error },
        }
    }
}

/// The FCM error code of an error answer: the `errorCode` of its `FcmError` detail, else its
/// `status` (the generic code).
fn error_code(answer: &Value) -> String {
    let error = &answer["error"];
    let detail =
        error["details"].as_array().into_iter().flatten().find(|detail| {
            detail["@type"].as_str().is_some_and(|kind| kind.ends_with("google.firebase.fcm.v1.FcmError"))
        });
    detail
        .and_then(|detail| detail["errorCode"].as_str())
        .or_else(|| error["status"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The send request's body; `data` values are strings, as FCM requires (and the APNs header
/// too).
fn payload(message: &PushMessage, token: &str, ttl: &str, expires_at: &str) -> Vec<u8> {
    let mut notification = json!({ "title": message.title });
    if let Some(body) = &message.body {
        notification["body"] = json!(body);
    }
    let mut data = json!({ "notification_id": message.notification_id });
    if let Some(key) = &message.entity_key {
        data["entity_key"] = json!(key);
    }
    if let Some(url) = &message.url {
        data["url"] = json!(url);
    }
    let message = json!({
        "message": {
            "token": token, "notification": notification, "data": data,
            "android": { "ttl": ttl },
            "apns": { "headers": { "apns-expiration": expires_at } },
        },
    });
    serde_json::to_vec(&message).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_code_is_read_from_the_details() {
        let gone = json!({ "error": { "code": 404, "status": "NOT_FOUND", "details": [
            { "@type": "type.googleapis.com/google.rpc.BadRequest" },
            { "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED" },
        ] } });
        assert_eq!(error_code(&gone), "UNREGISTERED");
        let generic = json!({ "error": { "code": 503, "status": "UNAVAILABLE" } });
        assert_eq!(error_code(&generic), "UNAVAILABLE");
        assert_eq!(error_code(&Value::Null), "");
    }
}
