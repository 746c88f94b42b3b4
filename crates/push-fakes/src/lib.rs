//! Loopback fakes of the push providers, answering as the real ones do, so Chorus's push code
//! runs its production paths in tests and the bench:
//!
//! - [`ApnsFake`]: HTTP/2 (h2c) `POST /3/device/{token}`; checks the ES256 provider token
//!   (`kid`, `iss`, signature) and the `apns-*` headers.
//! - [`FcmFake`]: the OAuth 2.0 token endpoint (a JWT-bearer grant whose RS256 assertion it
//!   verifies) and `POST /v1/projects/{project}/messages:send` (which checks the access token).
//! - [`WebPushFake`]: a push service endpoint per subscription; checks the VAPID token and
//!   decrypts each payload with the subscription's private key (RFC 8291).
//!
//! Each fake answers every token with [`Answer::Accept`] unless told otherwise with
//! `answer(token, [...])`: a script of answers, one per send, the last one repeating.

mod apns;
mod fcm;
mod keys;
mod webpush;

pub use apns::ApnsFake;
pub use fcm::FcmFake;
pub use webpush::{Subscription, WebPushFake};

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// How a fake answers one send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Delivered (APNs 200, FCM 200, Web Push 201).
    Accept,
    /// The device is gone: APNs 410 `Unregistered`, FCM 404 `NOT_FOUND` with `UNREGISTERED` in
    /// its details, Web Push 410.
    Gone,
    /// The token is not one the provider knows for this sender, as when the configuration is
    /// mixed up: APNs 400 `BadDeviceToken`, FCM 403 `SENDER_ID_MISMATCH`, Web Push 404.
    BadToken,
    /// 429 with `Retry-After`.
    TooManyRequests { retry_after_secs: u64 },
    /// 503.
    Unavailable,
}

/// One push a fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The device token (Web Push: the subscription's id).
    pub token: String,
    /// The payload as the device gets it (Web Push: decrypted).
    pub payload: serde_json::Value,
}

/// What a fake was told to answer, and what it saw.
#[derive(Default)]
struct Recorder {
    scripts: Mutex<HashMap<String, VecDeque<Answer>>>,
    received: Mutex<Vec<Received>>,
    /// Every send, accepted or not: `(token, answer)`.
    attempts: Mutex<Vec<(String, Answer)>>,
}

impl Recorder {
    fn script(&self, token: &str, answers: impl IntoIterator<Item = Answer>) {
        self.scripts.lock().expect("fake lock").insert(token.to_owned(), answers.into_iter().collect());
    }

    /// The answer for this send of `token`: the script's next one; its last one repeats.
    fn next(&self, token: &str) -> Answer {
        let mut scripts = self.scripts.lock().expect("fake lock");
        let answer = match scripts.get_mut(token) {
            Some(script) if script.len() > 1 => script.pop_front().unwrap_or(Answer::Accept),
            Some(script) => script.front().copied().unwrap_or(Answer::Accept),
            None => Answer::Accept,
        };
        self.attempts.lock().expect("fake lock").push((token.to_owned(), answer));
        answer
    }

    fn accept(&self, token: &str, payload: serde_json::Value) {
        self.received.lock().expect("fake lock").push(Received { token: token.to_owned(), payload });
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("fake lock").clone()
    }

    fn attempts(&self, token: &str) -> usize {
        self.attempts.lock().expect("fake lock").iter().filter(|(t, _)| t == token).count()
    }
}

/// Serves the routes `configure` sets up on a loopback port; answers the base URL. HTTP/2
/// without TLS (h2c) when `h2c`.
fn serve(configure: impl Fn(&mut actix_web::web::ServiceConfig) + Send + Clone + 'static, h2c: bool) -> String {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("a loopback port for a fake");
    let port = listener.local_addr().expect("a bound port").port();
    let server = actix_web::HttpServer::new(move || actix_web::App::new().configure(configure.clone()))
        .workers(1)
        .disable_signals();
    let server = if h2c { server.listen_auto_h2c(listener) } else { server.listen(listener) };
    tokio::spawn(server.expect("the fake listens").run());
    format!("http://127.0.0.1:{port}")
}
