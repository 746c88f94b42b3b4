//! Web Push: delivery to the subscription's endpoint (RFC 8030), the payload encrypted to the
//! subscription's keys with `aes128gcm` (RFC 8291, through `web-push-native`), and the sender
//! identified by VAPID (RFC 8292): `Authorization: vapid t=<ES256 JWT of aud, exp, sub>,
//! k=<the public key>`.
//!
//! The endpoint is user input, so it is held to the outbound rules (`chorus_kit::outbound`):
//! never an address inside the platform's network unless
//! `push.webpush.allow_private_endpoints` says so.
//!
//! Answers: 201 (any 2xx) is delivered; 404 and 410 mean the subscription is gone; 429 and 5xx
//! retry; anything else (413 too large, 400, 401/403 on VAPID) is final.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::DecodePrivateKey;
use serde_json::json;
use web_push_native::{Auth, WebPushBuilder};

use super::{ChannelError, Outcome, Refusal, Send, WebPushSettings, read_answer, read_file};
use crate::domain::model::PushMessage;

/// The plaintext that fits one 4,096-byte record: 4,096 less the header with its 65-byte key
/// (86), the AEAD tag (16) and the padding delimiter (1) (RFC 8291 §4).
pub const PAYLOAD_LIMIT: usize = 3_993;
/// How long a VAPID token is valid (RFC 8292 §2: at most 24 hours).
const VAPID_LIFETIME: i64 = 12 * 3_600;

/// The Web Push channel.
pub struct WebPush {
    http: reqwest::Client,
    key: EncodingKey,
    /// The VAPID public key, uncompressed and base64url: what browsers subscribe with.
    public_key: String,
    subject: String,
    allow_private: bool,
}

impl WebPush {
    /// The channel, when `push.webpush` has a VAPID key; fails on an unreadable or invalid key.
    pub fn load(settings: &WebPushSettings, timeout: Duration) -> Result<Option<Self>, ChannelError> {
        let (Some(file), Some(subject)) = (&settings.vapid_key_file, &settings.subject) else { return Ok(None) };
        let invalid = |message: String| ChannelError::Invalid { setting: "push.webpush.vapid_key_file", message };
        let pem = read_file("push.webpush.vapid_key_file", file)?;
        let pem_text = String::from_utf8(pem.clone()).map_err(|_| invalid("not a PEM file".into()))?;
        let secret = p256::SecretKey::from_pkcs8_pem(&pem_text)
            .map_err(|error| invalid(format!("not a PKCS#8 P-256 key: {error}")))?;
        let public_key = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes());
        let key = EncodingKey::from_ec_pem(&pem).map_err(|error| invalid(error.to_string()))?;
        let http = chorus_kit::outbound::client(settings.allow_private_endpoints, None, timeout)
            .map_err(|error| ChannelError::Client(error.to_string()))?;
        tracing::info!(application_server_key = %public_key, "Web Push is on");
        Ok(Some(Self {
            http,
            key,
            public_key,
            subject: subject.clone(),
            allow_private: settings.allow_private_endpoints,
        }))
    }

    pub async fn send(&self, push: &Send<'_>) -> Outcome {
        let rejected = |error: String| Outcome::Rejected { http_status: None, error };
        let endpoint = push.target.token.as_str();
        if let Err(refused) = chorus_kit::outbound::check_literal(endpoint, self.allow_private) {
            return rejected(format!("the subscription's endpoint was refused: {refused}"));
        }
        let Some(keys) = &push.target.web_push_keys else {
            return rejected("the device was registered without Web Push keys".into());
        };
        let Some(user_agent_key) =
            URL_SAFE_NO_PAD.decode(&keys.p256dh).ok().and_then(|bytes| p256::PublicKey::from_sec1_bytes(&bytes).ok())
        else {
            return rejected("the subscription's p256dh is not a P-256 public key".into());
        };
        let Some(auth) = URL_SAFE_NO_PAD.decode(&keys.auth).ok().filter(|auth| auth.len() == 16) else {
            return rejected("the subscription's auth is not 16 bytes".into());
        };
        let (Ok(uri), Ok(url)) = (endpoint.parse::<http::Uri>(), reqwest::Url::parse(endpoint)) else {
            return rejected("the subscription's endpoint is not a URL".into());
        };
        // RFC 8030 §5: push services are reached over https (plain http only where private
        // endpoints are allowed, for local development).
        if url.scheme() != "https" && !self.allow_private {
            return rejected("the subscription's endpoint must be an https URL".into());
        }
        let body = push.message.fit(PAYLOAD_LIMIT, payload);
        let builder =
            WebPushBuilder::new(uri, user_agent_key, Auth::clone_from_slice(&auth)).with_valid_duration(push.ttl);
        let request = match builder.build(body) {
            Ok(request) => request,
            Err(error) => return rejected(format!("encrypting the payload failed: {error}")),
        };
        let vapid = match self.vapid(&url) {
            Ok(vapid) => vapid,
            Err(error) => return rejected(format!("signing the VAPID token failed: {error}")),
        };
        let mut sending = self.http.post(url).header("authorization", vapid).header("urgency", "normal");
        for (name, value) in request.headers() {
            sending = sending.header(name.as_str(), value.as_bytes());
        }
        let Refusal { status, retry_after, .. } =
            match read_answer("the push service", sending.body(request.into_body()).send().await).await {
                Ok(refusal) => refusal,
                Err(settled) => return settled,
            };
        let reason = http::StatusCode::from_u16(status).map(|code| code.to_string()).unwrap_or_default();
        let error = format!("the push service answered {reason}");
        match status {
            404 | 410 => Outcome::TokenRejected { http_status: status, reason },
            429 | 500..=599 => Outcome::Retry { http_status: Some(status), error, retry_after },
            _ => Outcome::Rejected { http_status: Some(status), error },
        }
    }

    /// The VAPID `Authorization` for a push to `endpoint`: its audience is the endpoint's origin.
    fn vapid(&self, endpoint: &reqwest::Url) -> Result<String, jsonwebtoken::errors::Error> {
        let audience = endpoint.origin().ascii_serialization();
        let claims = json!({
            "aud": audience, "exp": chrono::Utc::now().timestamp() + VAPID_LIFETIME, "sub": self.subject,
        });
        let token = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &self.key)?;
        Ok(format!("vapid t={token}, k={}", self.public_key))
    }
}

/// The decrypted payload the service worker receives.
fn payload(message: &PushMessage) -> Vec<u8> {
    let payload = json!({
        "notification_id": message.notification_id,
        "title": message.title,
        "body": message.body,
        "entity_key": message.entity_key,
        "url": message.url,
    });
    serde_json::to_vec(&payload).unwrap_or_default()
}
