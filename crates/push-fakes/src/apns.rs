//! A fake APNs: HTTP/2 only, token-based authentication.

use std::path::PathBuf;
use std::sync::Arc;

use actix_web::http::Version;
use actix_web::{HttpRequest, HttpResponse, web};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use crate::{Answer, Received, Recorder, keys, serve};

struct State {
    recorder: Recorder,
    key: DecodingKey,
    key_id: String,
    team_id: String,
    topic: String,
}

/// A fake APNs on loopback, with its own signing key.
pub struct ApnsFake {
    /// Where `push.apns.base_url` points.
    pub url: String,
    pub key_id: String,
    pub team_id: String,
    pub topic: String,
    /// The `.p8` key to put in `push.apns.key_file`.
    pub key_file: PathBuf,
    state: Arc<State>,
    _dir: tempfile::TempDir,
}

impl ApnsFake {
    pub async fn start() -> Self {
        let key = keys::ec_key();
        let dir = tempfile::tempdir().expect("a directory for the key");
        let key_file = dir.path().join("AuthKey_FAKEKEY123.p8");
        std::fs::write(&key_file, &key.pem).expect("the key is written");
        let state = Arc::new(State {
            recorder: Recorder::default(),
            key: DecodingKey::from_ec_der(&key.public_point),
            key_id: "FAKEKEY123".into(),
            team_id: "FAKETEAM12".into(),
            topic: "com.example.chorus".into(),
        });
        let shared = state.clone();
        let url = serve(
            move |routes: &mut web::ServiceConfig| {
                routes.app_data(web::Data::from(shared.clone())).route("/3/device/{token}", web::post().to(push));
            },
            true,
        );
        Self {
            url,
            key_id: state.key_id.clone(),
            team_id: state.team_id.clone(),
            topic: state.topic.clone(),
            key_file,
            state,
            _dir: dir,
        }
    }

    /// Answers the next sends to `token` with `answers`, in order; the last one repeats.
    pub fn answer(&self, token: &str, answers: impl IntoIterator<Item = Answer>) {
        self.state.recorder.script(token, answers);
    }

    /// The pushes accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.recorder.received()
    }

    /// Sends to `token` so far, whatever the answer.
    pub fn attempts(&self, token: &str) -> usize {
        self.state.recorder.attempts(token)
    }
}

fn reason(status: actix_web::http::StatusCode, reason: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "reason": reason }))
}

async fn push(
    state: web::Data<State>,
    request: HttpRequest,
    token: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    if request.version() != Version::HTTP_2 {
        return HttpResponse::build(StatusCode::HTTP_VERSION_NOT_SUPPORTED).finish();
    }
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let Some(jwt) = header("authorization").strip_prefix("bearer ").map(str::to_owned) else {
        return reason(StatusCode::FORBIDDEN, "MissingProviderToken");
    };
    let mut validation = Validation::new(Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.set_issuer(&[&state.team_id]);
    let verified = jsonwebtoken::decode_header(&jwt)
        .ok()
        .filter(|h| h.kid.as_deref() == Some(state.key_id.as_str()))
        .and_then(|_| jsonwebtoken::decode::<Value>(&jwt, &state.key, &validation).ok())
        .filter(|data| data.claims["iat"].is_i64());
    if verified.is_none() {
        return reason(StatusCode::FORBIDDEN, "InvalidProviderToken");
    }
    if header("apns-topic") != state.topic {
        return reason(StatusCode::BAD_REQUEST, "TopicDisallowed");
    }
    if header("apns-push-type") != "alert" || header("apns-expiration").parse::<i64>().is_err() {
        return reason(StatusCode::BAD_REQUEST, "BadExpirationDate");
    }
    if body.len() > 4_096 {
        return reason(StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge");
    }
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return reason(StatusCode::BAD_REQUEST, "PayloadEmpty");
    };
    match state.recorder.next(&token) {
        Answer::Accept => {
            state.recorder.accept(&token, payload);
            HttpResponse::Ok().insert_header(("apns-id", "00000000-0000-0000-0000-000000000000")).finish()
        }
        Answer::Gone => {
            HttpResponse::Gone().json(json!({ "reason": "Unregistered", "timestamp": 1_700_000_000_000_i64 }))
        }
        Answer::BadToken => reason(StatusCode::BAD_REQUEST, "BadDeviceToken"),
        Answer::TooManyRequests { retry_after_secs } => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", retry_after_secs.to_string()))
            .json(json!({ "reason": "TooManyRequests" })),
        Answer::Unavailable => reason(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
    }
}
