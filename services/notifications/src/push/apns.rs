//! APNs over HTTP/2 with token-based authentication (Apple, "Sending notification requests to
//! APNs" and "Establishing a token-based connection to APNs"):
//!
//! - `POST {base}/3/device/{device token}`, to the production or the sandbox endpoint as the
//!   device registered;
//! - `authorization: bearer <JWT>`: ES256, `kid` = key id, `iss` = team id, `iat`; one token is
//!   reused for [`TOKEN_REUSE`] (APNs refuses tokens older than an hour, and refreshes more often
//!   than every 20 minutes);
//! - `apns-topic` (the bundle id), `apns-push-type: alert`, `apns-priority: 10`,
//!   `apns-expiration` (Unix seconds);
//! - a JSON payload of at most [`PAYLOAD_LIMIT`] bytes.
//!
//! Answers: 200 is delivered; 410 (`Unregistered`) and 400 `BadDeviceToken` or
//! `DeviceTokenNotForTopic` reject the token; 403 `ExpiredProviderToken` or
//! `InvalidProviderToken` sign a new token and retry; 429 and 5xx retry; anything else is final.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use super::{ApnsSettings, ChannelError, Outcome, Refusal, Send, read_answer, read_file};
use crate::domain::model::ApnsEnvironment;
use crate::domain::model::PushMessage;

/// A notification payload's limit in bytes.
pub const PAYLOAD_LIMIT: usize = 4_096;
/// How long one provider token is used before a new one is signed.
pub const TOKEN_REUSE: Duration = Duration::from_secs(50 * 60);

/// The APNs channel.
pub struct Apns {
    http: reqwest::Client,
    production: String,
    sandbox: String,
    topic: String,
    key_id: String,
    team_id: String,
    key: EncodingKey,
    /// The provider token in use, and when it was signed.
    token: Mutex<Option<(String, Instant)>>,
}

impl Apns {
    /// The channel, when `push.apns` has credentials; fails on an unreadable or invalid key.
    pub fn load(settings: &ApnsSettings, timeout: Duration) -> Result<Option<Self>, ChannelError> {
        let (Some(file), Some(key_id), Some(team_id), Some(topic)) =
            (&settings.key_file, &settings.key_id, &settings.team_id, &settings.topic)
        else {
            return Ok(None);
        };
        let pem = read_file("push.apns.key_file", file)?;
        let key = EncodingKey::from_ec_pem(&pem).map_err(|error| ChannelError::Invalid {
            setting: "push.apns.key_file",
            message: format!("not a PKCS#8 P-256 key (an APNs .p8 file): {error}"),
        })?;
        // APNs speaks only HTTP/2.
        let http = reqwest::Client::builder()
            .http2_prior_knowledge()
            .timeout(timeout)
            .build()
            .map_err(|error| ChannelError::Client(error.to_string()))?;
        let apns = Self {
            http,
            production: settings.base_url.trim_end_matches('/').to_owned(),
            sandbox: settings.sandbox_base_url.trim_end_matches('/').to_owned(),
            topic: topic.clone(),
            key_id: key_id.clone(),
            team_id: team_id.clone(),
            key,
            token: Mutex::new(None),
        };
        // A key that cannot sign fails now rather than on the first push.
        apns.provider_token()
            .map_err(|error| ChannelError::Invalid { setting: "push.apns.key_file", message: error.to_string() })?;
        Ok(Some(apns))
    }

    fn provider_token(&self) -> Result<String, jsonwebtoken::errors::Error> {
        let mut cached = self.token.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((token, signed)) = cached.as_ref()
            && signed.elapsed() < TOKEN_REUSE
        {
            return Ok(token.clone());
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let claims = json!({ "iss": self.team_id, "iat": chrono::Utc::now().timestamp() });
        let token = jsonwebtoken::encode(&header, &claims, &self.key)?;
        *cached = Some((token.clone(), Instant::now()));
        Ok(token)
    }

    /// Forgets `used` if it is still the token in use (a late answer to an old token must not
    /// throw away a fresh one: APNs refuses refreshes more often than every 20 minutes).
    fn forget_provider_token(&self, used: &str) {
        let mut cached = self.token.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cached.as_ref().is_some_and(|(token, _)| token == used) {
            *cached = None;
        }
    }

    pub async fn send(&self, push: &Send<'_>) -> Outcome {
        let token = match self.provider_token() {
            Ok(token) => token,
            Err(error) => {
                return Outcome::Rejected {
                    http_status: None,
                    error: format!("signing the provider token failed: {error}"),
                };
            }
        };
        let base = match push.target.environment {
            ApnsEnvironment::Production => &self.production,
            ApnsEnvironment::Sandbox => &self.sandbox,
        };
        let Ok(mut url) = reqwest::Url::parse(base) else {
            return Outcome::Rejected { http_status: None, error: format!("{base} is not a URL") };
        };
        if let Ok(mut path) = url.path_segments_mut() {
            // The token is user input: pushed as one escaped segment, it cannot change the path.
            path.pop_if_empty().extend(["3", "device", push.target.token.as_str()]);
        }
        let expiration = chrono::Utc::now().timestamp() + i64::try_from(push.ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let body = push.message.fit(PAYLOAD_LIMIT, payload);
        let sent = self
            .http
            .post(url)
            .header("authorization", format!("bearer {token}"))
            .header("apns-topic", &self.topic)
            .header("apns-push-type", "alert")
            .header("apns-priority", "10")
            .header("apns-expiration", expiration.to_string())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let Refusal { status, retry_after, body } = match read_answer("APNs", sent).await {
            Ok(refusal) => refusal,
            Err(settled) => return settled,
        };
        let reason = body["reason"].as_str().unwrap_or_default().to_owned();
        let error = format!("APNs answered {status} {reason}");
        match (status, reason.as_str()) {
            (410, _) | (400, "BadDeviceToken" | "DeviceTokenNotForTopic") => {
                let reason = if reason.is_empty() { "Unregistered".to_owned() } else { reason };
                Outcome::TokenRejected { http_status: status, reason }
            }
            (403, "ExpiredProviderToken" | "InvalidProviderToken") => {
                self.forget_provider_token(&token);
                Outcome::Retry { http_status: Some(status), error, retry_after: None }
            }
            (429 | 500..=599, _) => Outcome::Retry { http_status: Some(status), error, retry_after },
            _ => Outcome::Rejected { http_status: Some(status), error },
        }
    }
}

/// The APNs payload: the alert in `aps`, and what the app needs to open the notification
/// beside it.
fn payload(message: &PushMessage) -> Vec<u8> {
    let mut alert = json!({ "title": message.title });
    if let Some(body) = &message.body {
        alert["body"] = json!(body);
    }
    let mut payload = json!({ "aps": { "alert": alert }, "notification_id": message.notification_id });
    if let Some(key) = &message.entity_key {
        payload["entity_key"] = json!(key);
    }
    if let Some(url) = &message.url {
        payload["url"] = json!(url);
    }
    serde_json::to_vec(&payload).unwrap_or_default()
}
