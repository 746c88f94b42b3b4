//! `Idempotency-Key` for creates: a replay returns the stored first response, and the same key
//! with a different request gets 422. The record is written in the same transaction as the
//! create, so a crash can never leave one without the other.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use diesel::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::{Ready, ready};

use crate::db::{DbConnection, DbError};
use crate::problem::{Problem, ProblemType};
use crate::schema::chorus_idempotency;
use crate::secrets;

pub const HEADER: &str = "Idempotency-Key";
const MAX_KEY_LEN: usize = 255;

/// The `Idempotency-Key` request header, as every create declares it: `params(IdempotencyKeyHeader)`.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// Makes a retried request safe: for 24 hours, the same key from the same caller answers with
    /// the first result, and with a different request gets 422. 1 to 255 visible ASCII
    /// characters.
    #[param(
        rename = "Idempotency-Key",
        pattern = r"^[!-~]{1,255}$",
        min_length = 1,
        max_length = 255,
        nullable = false
    )]
    pub idempotency_key: Option<String>,
}

/// The optional `Idempotency-Key` header, validated when present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(value) = req.headers().get(HEADER) else { return ready(Ok(Self(None))) };
        let key = value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|key| !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic()));
        ready(match key {
            Some(key) => Ok(Self(Some(key.to_owned()))),
            None => Err(Problem::invalid(HEADER, "must be 1 to 255 visible ASCII characters")),
        })
    }
}

/// One create request, as far as idempotency is concerned.
#[derive(Debug, Clone)]
pub struct IdempotentRequest {
    scope: String,
    key: Option<String>,
    fingerprint: String,
}

/// A stored response, replayed.
#[derive(Debug, Clone)]
pub struct Replay<T> {
    pub status: u16,
    pub body: T,
}

impl IdempotentRequest {
    /// `scope` keeps callers apart (one caller's key never replays another's response);
    /// `operation` and `body` identify the request.
    pub fn new(key: IdempotencyKey, scope: &str, operation: &str, body: &impl Serialize) -> Self {
        let canonical = serde_json::to_string(body).unwrap_or_default();
        Self {
            scope: format!("{scope}|{operation}"),
            key: key.0,
            fingerprint: secrets::digest(&format!("{operation}\n{canonical}")),
        }
    }

    /// A create, made once per key: runs `create` and stores its result (status 201), or, when
    /// the key was seen before, returns the stored first result without running it. Call it
    /// inside the write transaction, so the record commits with the create or not at all. The
    /// result is what a replay returns, so it must not hold a secret shown once.
    pub fn create_once<T, E>(
        &self,
        conn: &mut DbConnection,
        create: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        E: From<Problem> + From<DbError>,
    {
        if let Some(replay) = self.replay::<T>(conn)? {
            return Ok(replay.body);
        }
        let created = create(conn)?;
        self.record(conn, 201, &created)?;
        Ok(created)
    }

    /// [`Self::create_once`] for a write run outside a transaction
    /// ([`crate::db::Db::write_unwrapped`]): without a key, `create` runs as it is (it may commit
    /// by itself); with one, the replay check, `create` and the record run in one transaction.
    pub fn create_once_unwrapped<T, E>(
        &self,
        conn: &mut DbConnection,
        create: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        E: From<Problem> + From<DbError>,
    {
        if !self.has_key() {
            return create(conn);
        }
        crate::db::transaction(conn, |conn| self.create_once(conn, create))
    }

    /// What identifies the request's stored response, when it carries a key: two requests of
    /// the same identity are one request sent again, or (if their fingerprints differ) a key
    /// reused for another request.
    pub fn identity(&self) -> Option<(&str, &str, &str)> {
        Some((&self.scope, self.key.as_deref()?, &self.fingerprint))
    }

    /// True when the request carries an `Idempotency-Key`: only then do [`Self::replay`] and
    /// [`Self::record`] read or write anything, so a writer may take a shorter way without one.
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// The stored response for this key, if the request was seen before.
    pub fn replay<T: DeserializeOwned>(&self, conn: &mut DbConnection) -> Result<Option<Replay<T>>, Problem> {
        let Some(key) = &self.key else { return Ok(None) };
        let stored: Option<(String, i32, String)> = chorus_idempotency::table
            .find((&self.scope, key))
            .select((chorus_idempotency::fingerprint, chorus_idempotency::status, chorus_idempotency::body))
            .first(conn)
            .optional()
            .map_err(DbError::from)?;
        let Some((fingerprint, status, body)) = stored else { return Ok(None) };
        if fingerprint != self.fingerprint {
            return Err(Problem::new(ProblemType::IdempotencyKeyReused)
                .with_detail("this Idempotency-Key was first used with a different request"));
        }
        let body = serde_json::from_str(&body).map_err(|error| Problem::internal(&error))?;
        Ok(Some(Replay { status: u16::try_from(status).unwrap_or(200), body }))
    }

    /// Stores the response to replay. `body` is what a replay returns, so it must not hold a
    /// secret shown once: pass the redacted form.
    pub fn record(&self, conn: &mut DbConnection, status: u16, body: &impl Serialize) -> Result<(), DbError> {
        let Some(key) = &self.key else { return Ok(()) };
        diesel::insert_into(chorus_idempotency::table)
            .values((
                chorus_idempotency::scope.eq(&self.scope),
                chorus_idempotency::idempotency_key.eq(key),
                chorus_idempotency::fingerprint.eq(&self.fingerprint),
                chorus_idempotency::status.eq(i32::from(status)),
                chorus_idempotency::body.eq(serde_json::to_string(body).unwrap_or_default()),
                chorus_idempotency::created_at.eq(crate::db::now()),
            ))
            .execute(conn)?;
        Ok(())
    }
}

/// Forgets every stored response of one caller (erasure: a replay must not return their data).
pub fn forget_caller(conn: &mut DbConnection, scope: &str) -> Result<usize, DbError> {
    let escaped = crate::db::like_escape(scope);
    Ok(diesel::delete(
        chorus_idempotency::table.filter(chorus_idempotency::scope.like(format!("{escaped}|%")).escape('\\')),
    )
    .execute(conn)?)
}

/// Forgets keys older than `max_age`; a later request with such a key runs again.
pub fn prune(conn: &mut DbConnection, max_age: chrono::TimeDelta) -> Result<usize, DbError> {
    let cutoff = crate::db::now() - max_age;
    Ok(diesel::delete(chorus_idempotency::table.filter(chorus_idempotency::created_at.lt(cutoff))).execute(conn)?)
}
