//! Rate limits per app and per user: one token bucket (GCRA, from `governor`) per caller and class
//! of operation, shared by every worker of the process.
//!
//! A user token is limited per user, an app token per app, and the credential exchanges (opening
//! a session, getting an app token) per API key. Operator and service tokens are exempt, so
//! feed followers are never slowed. Every limited answer carries the quota left in the `RateLimit`
//! and `RateLimit-Policy` headers, and a 429 carries `Retry-After` (RFC 9110, section 10.2.3),
//! following the IETF httpapi draft "RateLimit header fields for HTTP"
//! (draft-ietf-httpapi-ratelimit-headers-09).

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota};
use serde::Deserialize;
use std::num::NonZeroU32;
use std::time::Duration;

use crate::config::ConfigError;
use crate::problem::{Problem, ProblemType};
use crate::shutdown::Shutdown;

/// The classes of operation that get their own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationClass {
    /// `GET` operations.
    Read,
    /// Every other method.
    Write,
    /// Credential exchanges: opening a session, getting an app token. Limited per API key.
    Session,
    /// Bulk ingestion of analytics events.
    Ingest,
}

impl OperationClass {
    /// The policy name the `RateLimit` headers quote.
    pub fn name(self) -> &'static str {
        match self {
            Self::Read => "reads",
            Self::Write => "writes",
            Self::Session => "sessions",
            Self::Ingest => "ingest",
        }
    }

    /// The class of an authenticated request, by its method.
    pub fn of_method(method: &actix_web::http::Method) -> Self {
        if method == actix_web::http::Method::GET || method == actix_web::http::Method::HEAD {
            Self::Read
        } else {
            Self::Write
        }
    }
}

/// One budget: a sustained rate, and a burst the bucket holds when full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// Requests per second, sustained.
    pub per_second: u32,
    /// Requests a full bucket allows at once.
    pub burst: u32,
}

/// The `[rate_limits]` section of a service's configuration. Every budget is per caller (user,
/// app or API key) and per process.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Off only for load tests and local experiments.
    pub enabled: bool,
    pub read: Limit,
    pub write: Limit,
    pub session: Limit,
    pub ingest: Limit,
}

impl Default for RateLimitSettings {
    /// Generous for an SDK (a screen of action bars, a burst of views while scrolling), far below
    /// what one token bursting thousands of requests a second asks for.
    fn default() -> Self {
        Self {
            enabled: true,
            read: Limit { per_second: 50, burst: 200 },
            write: Limit { per_second: 20, burst: 100 },
            session: Limit { per_second: 20, burst: 100 },
            ingest: Limit { per_second: 20, burst: 50 },
        }
    }
}

impl RateLimitSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, limit) in
            [("read", self.read), ("write", self.write), ("session", self.session), ("ingest", self.ingest)]
        {
            if limit.per_second == 0 || limit.burst == 0 {
                return Err(ConfigError::invalid(
                    format!("rate_limits.{key}"),
                    "per_second and burst must be at least 1",
                ));
            }
        }
        Ok(())
    }

    fn limit(&self, class: OperationClass) -> Limit {
        match class {
            OperationClass::Read => self.read,
            OperationClass::Write => self.write,
            OperationClass::Session => self.session,
            OperationClass::Ingest => self.ingest,
        }
    }
}

type Limiter = DefaultKeyedRateLimiter<String, StateInformationMiddleware>;

/// Every budget of one process. Registered once as app data, so all workers share it.
pub struct RateLimits {
    enabled: bool,
    settings: RateLimitSettings,
    limiters: Vec<(OperationClass, Limiter)>,
    clock: DefaultClock,
}

/// Where a caller stands against one budget, for the response headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaState {
    pub class: OperationClass,
    pub limit: Limit,
    /// Requests left right now.
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
    /// Set when the request was refused: whole seconds until one more is allowed.
    pub retry_after_secs: Option<u64>,
}

impl RateLimits {
    pub fn new(settings: &RateLimitSettings) -> Self {
        let classes = [OperationClass::Read, OperationClass::Write, OperationClass::Session, OperationClass::Ingest];
        let limiters = classes
            .into_iter()
            .map(|class| {
                let limit = settings.limit(class);
                let quota = Quota::per_second(NonZeroU32::new(limit.per_second).unwrap_or(NonZeroU32::MIN))
                    .allow_burst(NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN));
                (class, DefaultKeyedRateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>())
            })
            .collect();
        Self { enabled: settings.enabled, settings: settings.clone(), limiters, clock: DefaultClock::default() }
    }

    /// Takes one request from `key`'s budget for `class`: the state after it, `None` when limits
    /// are off, or `Err` with the state of a refusal ([`QuotaState::problem`] is its 429).
    pub fn check(&self, class: OperationClass, key: &str) -> Result<Option<QuotaState>, QuotaState> {
        if !self.enabled {
            return Ok(None);
        }
        let Some((_, limiter)) = self.limiters.iter().find(|(c, _)| *c == class) else { return Ok(None) };
        let limit = self.settings.limit(class);
        let refill = |missing: u32| (u64::from(missing)).div_ceil(u64::from(limit.per_second));
        match limiter.check_key(&key.to_owned()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let reset_secs = refill(limit.burst.saturating_sub(remaining));
                Ok(Some(QuotaState { class, limit, remaining, reset_secs, retry_after_secs: None }))
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Err(QuotaState {
                    class,
                    limit,
                    remaining: 0,
                    reset_secs: refill(limit.burst),
                    retry_after_secs: Some(retry_after.max(1)),
                })
            }
        }
    }

    /// Forgets buckets that have refilled, so idle callers cost no memory.
    fn shrink(&self) {
        for (_, limiter) in &self.limiters {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

impl QuotaState {
    /// The 429 of a refusal, saying which budget ran out and when to retry.
    pub fn problem(&self) -> Problem {
        Problem::new(ProblemType::RateLimited).with_detail(format!(
            "over the {} limit of {} per second (bursts up to {}); retry in {} s",
            self.class.name(),
            self.limit.per_second,
            self.limit.burst,
            self.retry_after_secs.unwrap_or(1)
        ))
    }

    /// Writes `RateLimit-Policy`, `RateLimit` and, on a refusal, `Retry-After`.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let name = self.class.name();
        let window = u64::from(self.limit.burst).div_ceil(u64::from(self.limit.per_second)).max(1);
        let policy = format!("\"{name}\";q={};w={window}", self.limit.burst);
        let current = format!("\"{name}\";r={};t={}", self.remaining, self.reset_secs);
        for (header, value) in [("ratelimit-policy", policy), ("ratelimit", current)] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(header), value);
            }
        }
        if let Some(seconds) = self.retry_after_secs {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
    }
}

/// Drops refilled buckets every minute until shutdown.
pub async fn housekeeping(limits: std::sync::Arc<RateLimits>, shutdown: Shutdown) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => limits.shrink(),
            _ = shutdown.fired() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tight() -> RateLimits {
        RateLimits::new(&RateLimitSettings { write: Limit { per_second: 1, burst: 3 }, ..RateLimitSettings::default() })
    }

    #[test]
    fn a_burst_past_the_bucket_is_refused_with_when_to_retry() {
        let limits = tight();
        for left in [2, 1, 0] {
            let state = limits.check(OperationClass::Write, "user:a:u").unwrap().unwrap();
            assert_eq!(state.remaining, left);
        }
        let state = limits.check(OperationClass::Write, "user:a:u").unwrap_err();
        assert_eq!(state.problem().status, 429);
        assert_eq!(state.retry_after_secs, Some(1));
        let mut headers = HeaderMap::new();
        state.write_headers(&mut headers);
        assert_eq!(headers.get("ratelimit-policy").unwrap(), "\"writes\";q=3;w=3");
        assert_eq!(headers.get("ratelimit").unwrap(), "\"writes\";r=0;t=3");
        assert_eq!(headers.get(RETRY_AFTER).unwrap(), "1");
    }

    #[test]
    fn callers_and_classes_have_their_own_buckets() {
        let limits = tight();
        for _ in 0..3 {
            limits.check(OperationClass::Write, "user:a:u").unwrap();
        }
        assert!(limits.check(OperationClass::Write, "user:a:u").is_err());
        assert!(limits.check(OperationClass::Write, "user:a:v").is_ok(), "another user");
        assert!(limits.check(OperationClass::Read, "user:a:u").is_ok(), "another class");
    }

    #[test]
    fn disabled_limits_let_everything_through() {
        let limits = RateLimits::new(&RateLimitSettings { enabled: false, ..tight_settings() });
        for _ in 0..10 {
            assert_eq!(limits.check(OperationClass::Write, "k").unwrap(), None);
        }
    }

    fn tight_settings() -> RateLimitSettings {
        RateLimitSettings { write: Limit { per_second: 1, burst: 1 }, ..RateLimitSettings::default() }
    }

    #[test]
    fn a_zero_budget_is_a_config_error_naming_its_key() {
        let settings = RateLimitSettings { session: Limit { per_second: 0, burst: 5 }, ..RateLimitSettings::default() };
        assert!(settings.validate().unwrap_err().to_string().contains("rate_limits.session"));
    }
}
