//! Who is calling: EdDSA-signed tokens (issued by the users service, verified locally against its
//! published keys), the operator's configured token, and the extractors handlers ask for.
//!
//! There are four kinds of principal. An *app* holds an app token (from its API key and secret), a
//! *user* a session token bound to one app, a *service* a token with internal scopes, and the
//! *operator* the admin token from config.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use utoipa::ToSchema;

use crate::problem::Problem;
use crate::rate_limit::{OperationClass, QuotaState, RateLimits};
use crate::revocation::Revocations;
use crate::secrets;

/// The issuer every Chorus token names.
pub const ISSUER: &str = "chorus-users";
/// Clock skew tolerated between services, in seconds.
const LEEWAY_SECS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    User,
    App,
    Service,
}

/// The claims of a Chorus access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The user id, app id or service name.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub kind: TokenKind,
    /// The app a user or app token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("no bearer token was sent")]
    Missing,
    #[error("the token is malformed")]
    Malformed,
    #[error("the token was signed by an unknown key")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token was not issued by Chorus")]
    WrongIssuer,
    #[error("the signing keys could not be fetched")]
    KeysUnavailable,
    #[error("the token's user was erased")]
    Revoked,
}

impl From<AuthError> for Problem {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::KeysUnavailable => {
                Problem::new(crate::problem::ProblemType::Unavailable).with_detail(error.to_string())
            }
            other => Problem::unauthenticated(other.to_string()),
        }
    }
}

/// A public key in JWK form (RFC 8037, OKP / Ed25519).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwk {
    /// Always `OKP`.
    pub kty: String,
    /// Always `Ed25519`.
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    pub kid: String,
    /// Always `EdDSA`.
    pub alg: String,
    #[serde(rename = "use")]
    pub key_use: String,
}

/// A JSON Web Key Set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// A token-signing key with its id.
#[derive(Clone)]
pub struct TokenSigner {
    kid: String,
    key: SigningKey,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl TokenSigner {
    pub fn generate() -> Self {
        let seed: [u8; 32] = secrets::random_bytes(32).try_into().expect("32 bytes");
        Self::from_seed(&seed)
    }

    /// The key id is derived from the public key, so the same seed always has the same `kid`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(seed);
        let kid = secrets::digest(&URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()))[..16].to_owned();
        Self { kid, key }
    }

    /// Parses a base64url seed, as kept in config or the database.
    pub fn from_encoded_seed(encoded: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(encoded.trim()).ok()?;
        Some(Self::from_seed(&bytes.try_into().ok()?))
    }

    pub fn encoded_seed(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.to_bytes())
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes()),
            kid: self.kid.clone(),
            alg: "EdDSA".into(),
            key_use: "sig".into(),
        }
    }

    /// Signs `claims` as a compact JWS.
    pub fn sign(&self, claims: &Claims) -> String {
        let header = serde_json::json!({ "alg": "EdDSA", "typ": "JWT", "kid": self.kid });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"))
        );
        let signature = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

#[derive(Deserialize)]
struct JwsHeader {
    alg: String,
    kid: String,
}

/// The public keys tokens are checked against, by `kid`, and the tokens they verified lately.
///
/// A client sends the same token with every request until it expires, and checking an Ed25519
/// signature is most of a cheap request's cost. So a verified token's claims are kept (by the
/// token's SHA-256, up to [`VERIFIED_CAPACITY`] tokens) and served again while it is unexpired
/// and its key is still in the ring; withdrawing a key ([`KeyRing::replace`]) forgets them all.
/// Revocation is checked on every request regardless (see [`Authenticator::authenticate`]).
pub struct KeyRing {
    keys: RwLock<HashMap<String, VerifyingKey>>,
    verified: quick_cache::sync::Cache<[u8; 32], Verified>,
}

/// Tokens whose claims a key ring keeps.
pub const VERIFIED_CAPACITY: usize = 16_384;

/// A token that verified: its key and its claims.
#[derive(Clone)]
struct Verified {
    kid: String,
    claims: Claims,
}

impl Default for KeyRing {
    fn default() -> Self {
        Self { keys: RwLock::default(), verified: quick_cache::sync::Cache::new(VERIFIED_CAPACITY) }
    }
}

impl KeyRing {
    pub fn insert(&self, jwk: &Jwk) -> bool {
        let Some(key) = decode_jwk(jwk) else { return false };
        self.keys.write().expect("key ring lock").insert(jwk.kid.clone(), key);
        true
    }

    /// Makes `jwks` the whole ring: keys no longer published stop verifying. Keys that do not
    /// decode are skipped; returns how many are trusted now.
    pub fn replace(&self, jwks: &[Jwk]) -> usize {
        let keys: HashMap<String, VerifyingKey> =
            jwks.iter().filter_map(|jwk| Some((jwk.kid.clone(), decode_jwk(jwk)?))).collect();
        let trusted = keys.len();
        let mut ring = self.keys.write().expect("key ring lock");
        if ring.keys().any(|kid| !keys.contains_key(kid)) {
            // A key was withdrawn: tokens it verified must be checked again (and fail).
            self.verified.clear();
        }
        *ring = keys;
        trusted
    }

    pub fn contains(&self, kid: &str) -> bool {
        self.keys.read().expect("key ring lock").contains_key(kid)
    }

    /// The `kid` a token names, without checking anything else.
    pub fn kid_of(token: &str) -> Result<String, AuthError> {
        Ok(parse_header(token)?.kid)
    }

    /// Checks the signature, issuer and expiry, and returns the claims.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, AuthError> {
        let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()).into();
        let verified = match self.verified.get(&digest) {
            Some(verified) if self.contains(&verified.kid) => verified,
            _ => {
                let verified = self.verify_signature(token)?;
                self.verified.insert(digest, verified.clone());
                verified
            }
        };
        let claims = verified.claims;
        if claims.exp + LEEWAY_SECS < now || claims.iat - LEEWAY_SECS > now {
            return Err(AuthError::Expired);
        }
        Ok(claims)
    }

    /// Checks the signature and issuer (not the expiry); returns the key's id and the claims.
    fn verify_signature(&self, token: &str) -> Result<Verified, AuthError> {
        let (signing_input, signature) = token.rsplit_once('.').ok_or(AuthError::Malformed)?;
        let (_, payload) = signing_input.split_once('.').ok_or(AuthError::Malformed)?;
        let header = parse_header(token)?;
        if header.alg != "EdDSA" {
            return Err(AuthError::Malformed);
        }
        let key = *self.keys.read().expect("key ring lock").get(&header.kid).ok_or(AuthError::UnknownKey)?;
        let signature_bytes: [u8; 64] = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| AuthError::Malformed)?
            .try_into()
            .map_err(|_| AuthError::Malformed)?;
        key.verify_strict(signing_input.as_bytes(), &Signature::from_bytes(&signature_bytes))
            .map_err(|_| AuthError::BadSignature)?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(AuthError::Malformed)?;
        if claims.iss != ISSUER {
            return Err(AuthError::WrongIssuer);
        }
        Ok(Verified { kid: header.kid, claims })
    }
}

fn parse_header(token: &str) -> Result<JwsHeader, AuthError> {
    let encoded = token.split('.').next().ok_or(AuthError::Malformed)?;
    URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(AuthError::Malformed)
}

fn decode_jwk(jwk: &Jwk) -> Option<VerifyingKey> {
    if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
        return None;
    }
    let bytes: [u8; 32] = URL_SAFE_NO_PAD.decode(&jwk.x).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;
/// A boxed future that may move between threads, for background work.
pub type SendBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Turns a bearer token into claims. The users service checks its own keys; the other services
/// check the keys they fetched from the users service's JWKS, refreshing on an unknown `kid`.
pub trait TokenVerifier: Send + Sync + 'static {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Claims, AuthError>>;

    /// Fetches the whole key set again, dropping withdrawn keys. The kit calls it on a schedule
    /// (`auth.jwks_refresh_secs`); verifiers with fixed keys need not.
    fn refresh_keys(&self) -> SendBoxFuture<'_, Result<(), AuthError>> {
        Box::pin(async { Ok(()) })
    }
}

/// Refreshes `verifier`'s keys every `interval` until shutdown, so a key the users service
/// withdrew stops verifying everywhere within that interval.
pub async fn refresh_keys_on_schedule(
    verifier: Arc<dyn TokenVerifier>,
    interval: std::time::Duration,
    shutdown: crate::shutdown::Shutdown,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.fired() => return,
        }
        // A failure is logged by the verifier; the keys it had stay until the next success.
        let _ = verifier.refresh_keys().await;
    }
}

impl TokenVerifier for KeyRing {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Claims, AuthError>> {
        Box::pin(async move { KeyRing::verify(self, token, chrono::Utc::now().timestamp()) })
    }
}

/// Everything the extractors need, registered once per service by the kit.
pub struct Authenticator {
    verifier: Arc<dyn TokenVerifier>,
    operator_digest: Option<String>,
    revocations: Arc<Revocations>,
}

impl Authenticator {
    pub fn new(verifier: Arc<dyn TokenVerifier>, operator_token: Option<&str>, revocations: Arc<Revocations>) -> Self {
        Self { verifier, operator_digest: operator_token.map(secrets::digest), revocations }
    }

    /// The principal a bearer token names. A user token whose user was erased is refused
    /// ([`AuthError::Revoked`]) for every operation, however long it has left to live.
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal, AuthError> {
        if let Some(expected) = &self.operator_digest
            && secrets::verify(bearer, expected)
        {
            return Ok(Principal::Operator);
        }
        let claims = self.verifier.verify(bearer).await?;
        let principal = Principal::from_claims(claims)?;
        if let Principal::User { user_id, .. } = &principal
            && self.revocations.is_revoked(user_id)
        {
            return Err(AuthError::Revoked);
        }
        Ok(principal)
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User { app_id: String, user_id: String },
    App { app_id: String },
    Service { name: String, scopes: Vec<String> },
    Operator,
}

impl Principal {
    fn from_claims(claims: Claims) -> Result<Self, AuthError> {
        Ok(match claims.kind {
            TokenKind::User => Self::User { app_id: claims.app.ok_or(AuthError::Malformed)?, user_id: claims.sub },
            TokenKind::App => Self::App { app_id: claims.sub },
            TokenKind::Service => Self::Service { name: claims.sub, scopes: claims.scope },
        })
    }

    /// The app this principal acts within, if it is bound to one.
    pub fn app_id(&self) -> Option<&str> {
        match self {
            Self::User { app_id, .. } | Self::App { app_id } => Some(app_id),
            Self::Service { .. } | Self::Operator => None,
        }
    }

    /// Operators hold every scope; services hold the scopes their token lists.
    pub fn has_scope(&self, scope: &str) -> bool {
        match self {
            Self::Operator => true,
            Self::Service { scopes, .. } => scopes.iter().any(|s| s == scope),
            _ => false,
        }
    }

    /// A stable label for metrics and idempotency scoping.
    pub fn label(&self) -> String {
        match self {
            Self::User { app_id, user_id } => format!("user:{app_id}:{user_id}"),
            Self::App { app_id } => format!("app:{app_id}"),
            Self::Service { name, .. } => format!("service:{name}"),
            Self::Operator => "operator".into(),
        }
    }
}

fn bearer(req: &HttpRequest) -> Result<&str, AuthError> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or(AuthError::Missing)?;
    let value = value.to_str().map_err(|_| AuthError::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Malformed);
    }
    Ok(token.trim())
}

/// Which app a request was made for: the auth extractor leaves it on the request, and the API
/// usage counts read it.
#[derive(Debug, Clone)]
pub struct Consumer(pub String);

impl FromRequest for Principal {
    type Error = Problem;
    type Future = BoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let authenticator = req
                .app_data::<web::Data<Authenticator>>()
                .ok_or_else(|| Problem::internal(&"no authenticator is registered"))?;
            let token = bearer(&req)?;
            let principal = authenticator.authenticate(token).await?;
            if let Some(app_id) = principal.app_id() {
                tracing::Span::current().record("app_id", app_id);
                // For the usage counts: which app this call was made for.
                req.extensions_mut().insert(Consumer(app_id.to_owned()));
            }
            take_quota(&req, &principal)?;
            Ok(principal)
        })
    }
}

/// Takes one request from the caller's budget: per user for a user token, per app for an app
/// token. Operators and services (feed followers among them) are exempt. The state is left on
/// the request for the response headers, once per request.
fn take_quota(req: &HttpRequest, principal: &Principal) -> Result<(), Problem> {
    let key = match principal {
        Principal::User { .. } | Principal::App { .. } => principal.label(),
        Principal::Service { .. } | Principal::Operator => return Ok(()),
    };
    let Some(limits) = req.app_data::<web::Data<RateLimits>>() else { return Ok(()) };
    if req.extensions().get::<QuotaState>().is_some() {
        return Ok(());
    }
    // A route may name its own budget (bulk ingestion, say) with `OperationClass` app data.
    let class = req.app_data::<OperationClass>().copied().unwrap_or_else(|| OperationClass::of_method(req.method()));
    take_quota_of(req, limits, class, &key)
}

/// Takes one request of `class` from `key`'s budget, leaving the state on the request for the
/// response headers; a refusal is the 429. Handlers call it for budgets not keyed by a token
/// (the credential exchanges, keyed by API key).
pub fn take_quota_of(req: &HttpRequest, limits: &RateLimits, class: OperationClass, key: &str) -> Result<(), Problem> {
    match limits.check(class, key) {
        Ok(Some(state)) => {
            req.extensions_mut().insert(state);
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(refused) => {
            let problem = refused.problem();
            req.extensions_mut().insert(refused);
            Err(problem)
        }
    }
}

macro_rules! principal_extractor {
    ($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty),* } from $variant:ident, $needs:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name { $(pub $field: $ty),* }

        impl FromRequest for $name {
            type Error = Problem;
            type Future = BoxFuture<'static, Result<Self, Problem>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let principal = Principal::from_request(req, payload);
                Box::pin(async move {
                    match principal.await? {
                        Principal::$variant { $($field),* } => Ok($name { $($field),* }),
                        _ => Err(Problem::forbidden(concat!("this operation needs ", $needs))),
                    }
                })
            }
        }
    };
}

principal_extractor!(
    /// A user of an app, holding a session token.
    UserPrincipal { app_id: String, user_id: String } from User, "a user session token"
);
principal_extractor!(
    /// An app, holding an app token.
    AppPrincipal { app_id: String } from App, "an app token"
);
principal_extractor!(
    /// An internal service, holding a service token.
    ServicePrincipal { name: String, scopes: Vec<String> } from Service, "a service token"
);

/// The operator, holding the admin token from config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorPrincipal;

impl FromRequest for OperatorPrincipal {
    type Error = Problem;
    type Future = BoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = Principal::from_request(req, payload);
        Box::pin(async move {
            match principal.await? {
                Principal::Operator => Ok(OperatorPrincipal),
                _ => Err(Problem::forbidden("this operation needs the operator token")),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: ISSUER.into(),
            sub: "u1".into(),
            iat: 1_000,
            exp,
            kind: TokenKind::User,
            app: Some("a1".into()),
            scope: vec![],
        }
    }

    #[test]
    fn a_signed_token_verifies_with_its_published_key() {
        let signer = TokenSigner::generate();
        let ring = KeyRing::default();
        assert!(ring.insert(&signer.jwk()));
        let token = signer.sign(&claims(2_000));
        assert_eq!(ring.verify(&token, 1_500).unwrap(), claims(2_000));
        assert_eq!(ring.verify(&token, 2_100), Err(AuthError::Expired));
    }

    #[test]
    fn forged_and_foreign_tokens_fail() {
        let signer = TokenSigner::generate();
        let stranger = TokenSigner::generate();
        let ring = KeyRing::default();
        ring.insert(&signer.jwk());
        assert_eq!(ring.verify(&stranger.sign(&claims(2_000)), 1_500), Err(AuthError::UnknownKey));

        // Swap in another payload under the original signature.
        let token = signer.sign(&claims(2_000));
        let parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims(9_999);
        forged.sub = "admin".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let forged_token = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(ring.verify(&forged_token, 1_500), Err(AuthError::BadSignature));
        assert_eq!(ring.verify("not-a-token", 1_500), Err(AuthError::Malformed));
    }

    #[test]
    fn a_remembered_token_is_still_judged_on_expiry_key_and_bytes() {
        let signer = TokenSigner::generate();
        let ring = KeyRing::default();
        ring.insert(&signer.jwk());
        let token = signer.sign(&claims(2_000));
        assert!(ring.verify(&token, 1_500).is_ok());
        // Remembered, but expired is expired.
        assert_eq!(ring.verify(&token, 2_100), Err(AuthError::Expired));
        // Another payload under the remembered signature is checked afresh, and fails.
        let parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims(2_000);
        forged.sub = "admin".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let forged_token = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(ring.verify(&forged_token, 1_500), Err(AuthError::BadSignature));
        // Once its key is withdrawn, the remembered token no longer verifies.
        let successor = TokenSigner::generate();
        assert_eq!(ring.replace(&[successor.jwk()]), 1);
        assert_eq!(ring.verify(&token, 1_500), Err(AuthError::UnknownKey));
    }

    #[test]
    fn the_same_seed_gives_the_same_key_id() {
        let signer = TokenSigner::generate();
        let again = TokenSigner::from_encoded_seed(&signer.encoded_seed()).unwrap();
        assert_eq!(signer.kid(), again.kid());
        assert_eq!(signer.jwk(), again.jwk());
    }
}

/// Fetches the current signing keys (through the users client, in practice).
pub type KeyFetch = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Vec<Jwk>, String>> + Send>> + Send + Sync>;

/// Verifies tokens against the users service's published keys: fetched once, again when a token
/// names an unknown `kid` (at most every few seconds), and in full on the kit's schedule, when
/// keys that are no longer published are dropped. There is no call per request.
pub struct JwksVerifier {
    ring: KeyRing,
    fetch: KeyFetch,
    last_fetch: tokio::sync::Mutex<Option<std::time::Instant>>,
}

const REFETCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

impl JwksVerifier {
    pub fn new(fetch: KeyFetch) -> Self {
        Self { ring: KeyRing::default(), fetch, last_fetch: tokio::sync::Mutex::new(None) }
    }

    /// Fetches the keys unless another request just did.
    async fn refresh(&self, kid: &str) -> Result<(), AuthError> {
        let mut last_fetch = self.last_fetch.lock().await;
        if self.ring.contains(kid) || last_fetch.is_some_and(|at| at.elapsed() < REFETCH_INTERVAL) {
            return Ok(());
        }
        // Stamped only once the fetch has finished: a request dropped mid-fetch (its body failed
        // to parse, say) must not leave a stamp that stops the next request from fetching.
        let fetched = (self.fetch)().await;
        *last_fetch = Some(std::time::Instant::now());
        let keys = fetched.map_err(|error| {
            tracing::warn!(%error, "fetching the signing keys failed");
            AuthError::KeysUnavailable
        })?;
        for jwk in &keys {
            self.ring.insert(jwk);
        }
        Ok(())
    }
}

impl TokenVerifier for JwksVerifier {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Claims, AuthError>> {
        Box::pin(async move {
            let kid = KeyRing::kid_of(token)?;
            if !self.ring.contains(&kid) {
                self.refresh(&kid).await?;
            }
            self.ring.verify(token, chrono::Utc::now().timestamp())
        })
    }

    fn refresh_keys(&self) -> SendBoxFuture<'_, Result<(), AuthError>> {
        Box::pin(async move {
            // Not stamped as an unknown-`kid` fetch: that throttle is for bursts of strangers,
            // and must not hold off the first sight of a key published since.
            let keys = (self.fetch)().await.map_err(|error| {
                tracing::warn!(%error, "refreshing the signing keys failed; keeping the ones known");
                AuthError::KeysUnavailable
            })?;
            // An empty answer is a broken publisher, not a withdrawal of every key.
            if keys.is_empty() {
                tracing::warn!("the key set came back empty; keeping the keys known");
                return Err(AuthError::KeysUnavailable);
            }
            self.ring.replace(&keys);
            Ok(())
        })
    }
}

#[cfg(test)]
mod jwks_tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A user's claims, valid for a minute.
    fn user_claims() -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            iss: ISSUER.into(),
            sub: "u".into(),
            iat: now,
            exp: now + 60,
            kind: TokenKind::User,
            app: Some("a".into()),
            scope: vec![],
        }
    }

    #[tokio::test]
    async fn fetches_keys_only_for_an_unknown_kid() {
        let signer = TokenSigner::generate();
        let jwk = signer.jwk();
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        let verifier = JwksVerifier::new(Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let keys = vec![jwk.clone()];
            Box::pin(async move { Ok(keys) })
        }));
        let claims = user_claims();
        let token = signer.sign(&claims);
        for _ in 0..3 {
            assert_eq!(TokenVerifier::verify(&verifier, &token).await.unwrap(), claims);
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let stranger = TokenSigner::generate().sign(&claims);
        assert_eq!(TokenVerifier::verify(&verifier, &stranger).await, Err(AuthError::UnknownKey));
        assert_eq!(fetches.load(Ordering::SeqCst), 1, "a second fetch waits for the interval");
    }

    #[tokio::test]
    async fn a_scheduled_refresh_drops_withdrawn_keys_and_keeps_them_on_failure() {
        let (old, new) = (TokenSigner::generate(), TokenSigner::generate());
        let published = Arc::new(std::sync::Mutex::new(Some(vec![old.jwk(), new.jwk()])));
        let source = published.clone();
        let verifier = JwksVerifier::new(Box::new(move || {
            let keys = source.lock().unwrap().clone();
            Box::pin(async move { keys.ok_or_else(|| "users is down".to_owned()) })
        }));
        let claims = user_claims();
        let (old_token, new_token) = (old.sign(&claims), new.sign(&claims));
        verifier.refresh_keys().await.unwrap();
        assert!(TokenVerifier::verify(&verifier, &old_token).await.is_ok());

        // Users withdraws the old key.
        *published.lock().unwrap() = Some(vec![new.jwk()]);
        verifier.refresh_keys().await.unwrap();
        assert_eq!(TokenVerifier::verify(&verifier, &old_token).await, Err(AuthError::UnknownKey));
        assert!(TokenVerifier::verify(&verifier, &new_token).await.is_ok());

        // A failed or empty answer is no withdrawal: the known keys stay.
        *published.lock().unwrap() = None;
        assert_eq!(verifier.refresh_keys().await, Err(AuthError::KeysUnavailable));
        *published.lock().unwrap() = Some(vec![]);
        assert_eq!(verifier.refresh_keys().await, Err(AuthError::KeysUnavailable));
        assert!(TokenVerifier::verify(&verifier, &new_token).await.is_ok());
    }

    #[tokio::test]
    async fn a_fetch_dropped_midway_does_not_hold_off_the_next() {
        let signer = TokenSigner::generate();
        let jwk = signer.jwk();
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let verifier = JwksVerifier::new(Box::new(move || {
            let first = counter.fetch_add(1, Ordering::SeqCst) == 0;
            let keys = vec![jwk.clone()];
            Box::pin(async move {
                if first {
                    // The first fetch hangs; its request is dropped before it finishes.
                    std::future::pending::<()>().await;
                }
                Ok(keys)
            })
        }));
        let claims = user_claims();
        let token = signer.sign(&claims);
        let dropped =
            tokio::time::timeout(std::time::Duration::from_millis(50), TokenVerifier::verify(&verifier, &token));
        assert!(dropped.await.is_err(), "the first verification is cancelled midway");
        assert_eq!(TokenVerifier::verify(&verifier, &token).await.unwrap(), claims);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
