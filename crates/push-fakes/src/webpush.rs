//! A fake Web Push service: each subscription has an endpoint and keys, as a browser's
//! `pushManager.subscribe()` would give; each push is checked for VAPID and decrypted.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::Value;

use crate::{Answer, Received, Recorder, keys, serve};

/// A subscription to register as a Web Push device: `endpoint` is the device's token.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    pub endpoint: String,
    /// The user agent's public key, base64url (65 bytes uncompressed).
    pub p256dh: String,
    /// The authentication secret, base64url (16 bytes).
    pub auth: String,
}

struct Keys {
    id: String,
    secret: p256::SecretKey,
    auth: [u8; 16],
}

struct State {
    recorder: Recorder,
    url: Mutex<String>,
    subscriptions: Mutex<Vec<Keys>>,
}

/// A fake push service on loopback.
pub struct WebPushFake {
    pub url: String,
    /// A fresh VAPID key for `push.webpush.vapid_key_file`.
    pub vapid_key_file: PathBuf,
    state: Arc<State>,
    _dir: tempfile::TempDir,
}

impl WebPushFake {
    pub async fn start() -> Self {
        let state =
            Arc::new(State { recorder: Recorder::default(), url: Mutex::default(), subscriptions: Mutex::default() });
        let shared = state.clone();
        let url = serve(
            move |routes: &mut web::ServiceConfig| {
                routes.app_data(web::Data::from(shared.clone())).route("/push/{id}", web::post().to(push));
            },
            false,
        );
        *state.url.lock().expect("fake lock") = url.clone();
        let dir = tempfile::tempdir().expect("a directory for the key");
        let vapid_key_file = dir.path().join("vapid.pem");
        std::fs::write(&vapid_key_file, keys::ec_key().pem).expect("the key is written");
        Self { url, vapid_key_file, state, _dir: dir }
    }

    /// A new subscription, as a browser would create.
    pub fn subscribe(&self) -> Subscription {
        let mut subscriptions = self.state.subscriptions.lock().expect("fake lock");
        let secret = loop {
            let mut bytes = [0u8; 32];
            aws_lc_rs::rand::fill(&mut bytes).expect("randomness");
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                break secret;
            }
        };
        let mut auth = [0u8; 16];
        aws_lc_rs::rand::fill(&mut auth).expect("randomness");
        let id = format!("sub-{}", subscriptions.len() + 1);
        let subscription = Subscription {
            id: id.clone(),
            endpoint: format!("{}/push/{id}", self.url),
            p256dh: URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes()),
            auth: URL_SAFE_NO_PAD.encode(auth),
        };
        subscriptions.push(Keys { id, secret, auth });
        subscription
    }

    /// Answers the next pushes to the subscription `id` with `answers`; the last one repeats.
    pub fn answer(&self, id: &str, answers: impl IntoIterator<Item = Answer>) {
        self.state.recorder.script(id, answers);
    }

    /// The pushes accepted so far, decrypted.
    pub fn received(&self) -> Vec<Received> {
        self.state.recorder.received()
    }

    /// Pushes to the subscription `id` so far, whatever the answer.
    pub fn attempts(&self, id: &str) -> usize {
        self.state.recorder.attempts(id)
    }
}

/// The VAPID token's claims are right and signed by the key in `k` (RFC 8292 §2-3).
fn vapid_holds(header: &str, audience: &str) -> bool {
    let Some(rest) = header.strip_prefix("vapid ") else { return false };
    let field = |name: &str| {
        rest.split(',').map(str::trim).find_map(|part| part.strip_prefix(name)).map(str::to_owned).unwrap_or_default()
    };
    let (token, key) = (field("t="), field("k="));
    let Ok(key) = URL_SAFE_NO_PAD.decode(key) else { return false };
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_ec_der(&key), &validation).is_ok_and(|data| {
        let exp = data.claims["exp"].as_i64().unwrap_or_default();
        exp - unix_now() <= 24 * 3_600
    })
}

fn unix_now() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX)
}

async fn push(state: web::Data<State>, request: HttpRequest, id: web::Path<String>, body: web::Bytes) -> HttpResponse {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let audience = state.url.lock().expect("fake lock").clone();
    if !vapid_holds(&header("authorization"), &audience) {
        return HttpResponse::Unauthorized().body("VAPID authorization missing or invalid");
    }
    if header("content-encoding") != "aes128gcm" || header("ttl").parse::<u64>().is_err() {
        return HttpResponse::BadRequest().body("aes128gcm and a TTL are required");
    }
    if body.len() > 4_096 {
        return HttpResponse::PayloadTooLarge().finish();
    }
    let plaintext = {
        let subscriptions = state.subscriptions.lock().expect("fake lock");
        let Some(keys) = subscriptions.iter().find(|keys| keys.id == *id) else {
            return HttpResponse::NotFound().finish();
        };
        let auth = web_push_native::Auth::clone_from_slice(&keys.auth);
        web_push_native::decrypt(body.to_vec(), &keys.secret, &auth)
    };
    let Ok(payload) =
        plaintext.map_err(|_| ()).and_then(|bytes| serde_json::from_slice::<Value>(&bytes).map_err(|_| ()))
    else {
        return HttpResponse::BadRequest().body("the payload does not decrypt to JSON");
    };
    match state.recorder.next(&id) {
        Answer::Accept => {
            state.recorder.accept(&id, payload);
            HttpResponse::Created().finish()
        }
        Answer::Gone => HttpResponse::Gone().finish(),
        Answer::BadToken => HttpResponse::NotFound().finish(),
        Answer::TooManyRequests { retry_after_secs } => {
            HttpResponse::TooManyRequests().insert_header(("retry-after", retry_after_secs.to_string())).finish()
        }
        Answer::Unavailable => HttpResponse::ServiceUnavailable().finish(),
    }
}
