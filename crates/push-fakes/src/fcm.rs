//! A fake FCM HTTP v1, with the OAuth 2.0 token endpoint of its service account.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use crate::{Answer, Received, Recorder, keys, serve};

const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

struct State {
    recorder: Recorder,
    key: DecodingKey,
    key_id: String,
    client_email: String,
    project_id: String,
    /// Where the assertion's `aud` must point.
    token_url: Mutex<String>,
    /// Access tokens handed out.
    issued: Mutex<Vec<String>>,
}

/// A fake FCM on loopback, with a service account of its own.
pub struct FcmFake {
    /// Where `push.fcm.base_url` points; `GET {url}/fake/received` answers how many messages
    /// were accepted.
    pub url: String,
    pub project_id: String,
    /// The service account's JSON key to put in `push.fcm.credentials_file`; its `token_uri` is
    /// this fake's token endpoint.
    pub credentials_file: PathBuf,
    state: Arc<State>,
    _dir: tempfile::TempDir,
}

impl FcmFake {
    pub async fn start() -> Self {
        let key = keys::rsa_key();
        let state = Arc::new(State {
            recorder: Recorder::default(),
            key: DecodingKey::from_rsa_der(&key.public_der),
            key_id: "fake-key-1".into(),
            client_email: "chorus@fake-project.iam.gserviceaccount.com".into(),
            project_id: "fake-project".into(),
            token_url: Mutex::default(),
            issued: Mutex::default(),
        });
        let shared = state.clone();
        let url = serve(
            move |routes: &mut web::ServiceConfig| {
                routes
                    .app_data(web::Data::from(shared.clone()))
                    .route("/token", web::post().to(token))
                    .route("/fake/received", web::get().to(received))
                    .route("/v1/projects/{project}/messages:send", web::post().to(send));
            },
            false,
        );
        let token_url = format!("{url}/token");
        *state.token_url.lock().expect("fake lock") = token_url.clone();
        let account = json!({
            "type": "service_account",
            "project_id": state.project_id,
            "private_key_id": state.key_id,
            "private_key": key.pem,
            "client_email": state.client_email,
            "token_uri": token_url,
        });
        let dir = tempfile::tempdir().expect("a directory for the key");
        let credentials_file = dir.path().join("service-account.json");
        std::fs::write(&credentials_file, account.to_string()).expect("the key is written");
        Self { url, project_id: state.project_id.clone(), credentials_file, state, _dir: dir }
    }

    /// Answers the next sends to `token` with `answers`, in order; the last one repeats.
    pub fn answer(&self, token: &str, answers: impl IntoIterator<Item = Answer>) {
        self.state.recorder.script(token, answers);
    }

    /// The messages accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.recorder.received()
    }

    /// Sends to `token` so far, whatever the answer.
    pub fn attempts(&self, token: &str) -> usize {
        self.state.recorder.attempts(token)
    }

    /// Access tokens the token endpoint granted so far.
    pub fn tokens_granted(&self) -> usize {
        self.state.issued.lock().expect("fake lock").len()
    }
}

/// `{"received": n}`: the messages accepted so far, for a process that does not hold the fake
/// (the bench's loader).
async fn received(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "received": state.recorder.received.lock().expect("fake lock").len() }))
}

/// The JWT-bearer grant (RFC 7523): checks the RS256 assertion and hands out an access token.
async fn token(state: web::Data<State>, form: web::Form<HashMap<String, String>>) -> HttpResponse {
    let invalid = |description: &str| {
        HttpResponse::BadRequest().json(json!({ "error": "invalid_grant", "error_description": description }))
    };
    if form.get("grant_type").map(String::as_str) != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return invalid("unsupported grant_type");
    }
    let Some(assertion) = form.get("assertion") else { return invalid("no assertion") };
    let audience = state.token_url.lock().expect("fake lock").clone();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&audience]);
    validation.set_issuer(&[&state.client_email]);
    let kid_matches = jsonwebtoken::decode_header(assertion).ok().and_then(|h| h.kid) == Some(state.key_id.clone());
    let Ok(claims) = jsonwebtoken::decode::<Value>(assertion, &state.key, &validation) else {
        return invalid("Invalid JWT Signature.");
    };
    if !kid_matches || claims.claims["scope"] != SCOPE {
        return invalid("Invalid key id or scope.");
    }
    let mut issued = state.issued.lock().expect("fake lock");
    let access_token = format!("ya29.fake-{}", issued.len() + 1);
    issued.push(access_token.clone());
    HttpResponse::Ok().json(json!({ "access_token": access_token, "expires_in": 3_599, "token_type": "Bearer" }))
}

/// A message name (`projects/…/messages/<this>`) unique enough for a fake: the token and the time.
fn message_name(token: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("{token}-{nanos}")
}

fn error(status: u16, code: &str, error_code: Option<&str>) -> HttpResponse {
    let mut details = Vec::new();
    if let Some(error_code) = error_code {
        details
            .push(json!({ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code }));
    }
    let status = actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(status).json(json!({
        "error": { "code": status.as_u16(), "message": code, "status": code, "details": details },
    }))
}

async fn send(
    state: web::Data<State>,
    request: HttpRequest,
    project: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let bearer = request.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let known = bearer
        .strip_prefix("Bearer ")
        .is_some_and(|token| state.issued.lock().expect("fake lock").iter().any(|issued| issued == token));
    if !known {
        return error(401, "UNAUTHENTICATED", None);
    }
    if *project != state.project_id {
        return error(403, "PERMISSION_DENIED", None);
    }
    if body.len() > 4_096 {
        return error(400, "INVALID_ARGUMENT", Some("INVALID_ARGUMENT"));
    }
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return error(400, "INVALID_ARGUMENT", Some("INVALID_ARGUMENT"));
    };
    let Some(token) = message["message"]["token"].as_str().map(str::to_owned) else {
        return error(400, "INVALID_ARGUMENT", Some("INVALID_ARGUMENT"));
    };
    // FCM refuses a `data` map with values other than strings.
    let data = message["message"]["data"].as_object();
    if data.is_some_and(|data| data.values().any(|value| !value.is_string())) {
        return error(400, "INVALID_ARGUMENT", Some("INVALID_ARGUMENT"));
    }
    match state.recorder.next(&token) {
        Answer::Accept => {
            state.recorder.accept(&token, message["message"].clone());
            let name = format!("projects/{}/messages/0:{}", state.project_id, message_name(&token));
            HttpResponse::Ok().json(json!({ "name": name }))
        }
        Answer::Gone => error(404, "NOT_FOUND", Some("UNREGISTERED")),
        Answer::BadToken => error(403, "PERMISSION_DENIED", Some("SENDER_ID_MISMATCH")),
        Answer::TooManyRequests { retry_after_secs } => {
            let mut response = error(429, "RESOURCE_EXHAUSTED", Some("QUOTA_EXCEEDED"));
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(retry_after_secs),
            );
            response
        }
        Answer::Unavailable => error(503, "UNAVAILABLE", Some("UNAVAILABLE")),
    }
}
