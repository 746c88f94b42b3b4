//! The database: one diesel code path over SQLite (the embedded default, in WAL mode) and
//! PostgreSQL (production), an r2d2 pool, blocking work kept off the async threads, and embedded
//! per-backend migrations.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, R2D2Connection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

pub use crate::config::Backend;
use crate::config::DatabaseSettings;

/// A connection to either backend. Queries written once with diesel's DSL run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// The kit's own tables (event log, idempotency keys, feed cursors), migrated before each
/// service's tables.
const KIT_SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const KIT_POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A service's embedded migrations, one set per backend.
pub struct Migrations {
    pub sqlite: EmbeddedMigrations,
    pub postgres: EmbeddedMigrations,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database connection: {0}")]
    Connect(String),
    #[error("no database connection became free in time: {0}")]
    PoolTimeout(#[source] ::r2d2::Error),
    #[error("database query: {0}")]
    Query(#[from] DieselError),
    #[error("migration: {0}")]
    Migration(String),
    #[error("database task panicked or was cancelled")]
    Task,
    /// A group of writes could not commit; none of it took effect.
    #[error("commit: {0}")]
    Commit(String),
}

impl DbError {
    /// True when a unique constraint rejected the write (a concurrent duplicate, usually).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Query(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)))
    }

    /// True when PostgreSQL refused a text containing U+0000, which its TEXT type cannot hold
    /// (SQLite stores it). That is bad input, not a fault.
    pub fn is_nul_in_text(&self) -> bool {
        matches!(self, Self::Query(DieselError::DatabaseError(_, info)) if info.message().contains("0x00"))
    }
}

/// Opens connections for the pool. The backend is chosen by URL scheme, never by trial, so a
/// mistyped PostgreSQL URL can never silently become a SQLite file.
#[derive(Debug)]
struct Manager {
    backend: Backend,
}

/// A pooled connection: when it last served a request that succeeded, and whether it was found
/// dead.
pub struct Pooled {
    conn: DbConnection,
    last_success: std::time::Instant,
    broken: bool,
}

/// A connection that has not succeeded for this long is pinged before it is handed out (a
/// `SELECT 1` before every checkout would cost a round trip per request; a connection that just
/// succeeded is known to be alive). One the server dropped therefore fails requests for at most
/// this long, then is replaced.
const VALIDATE_AFTER: Duration = Duration::from_millis(500);

impl Pooled {
    /// Runs `f` on the connection, noting when it succeeds.
    fn run<T, E>(&mut self, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E> {
        let result = f(&mut self.conn);
        if result.is_ok() {
            self.last_success = std::time::Instant::now();
        }
        result
    }
}

/// A live connection from `pool`: one without a recent success is pinged first, and a dead one
/// is dropped for another.
fn checkout(pool: &Pool) -> Result<::r2d2::PooledConnection<Manager>, DbError> {
    loop {
        let mut pooled = pool.get().map_err(DbError::PoolTimeout)?;
        if pooled.last_success.elapsed() < VALIDATE_AFTER {
            return Ok(pooled);
        }
        if pooled.conn.ping().is_ok() {
            pooled.last_success = std::time::Instant::now();
            return Ok(pooled);
        }
        // Dead: the pool discards it on return, and opens a new one when asked.
        pooled.broken = true;
    }
}

impl ::r2d2::ManageConnection for Manager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        self.open().map(|conn| Pooled { conn, last_success: std::time::Instant::now(), broken: false })
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), r2d2::Error> {
        pooled.conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.broken || pooled.conn.is_broken()
    }
}

impl Manager {
    fn open(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.backend {
            Backend::Postgres(url) => {
                let conn = PgConnection::establish(url).map_err(r2d2::Error::ConnectionError)?;
                Ok(DbConnection::Postgresql(conn))
            }
            Backend::Sqlite(path) => {
                let mut conn =
                    SqliteConnection::establish(&path.to_string_lossy()).map_err(r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the single writer; FULL makes every acknowledged
                // commit durable across a crash; foreign keys are off by default in SQLite.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

type Pool = ::r2d2::Pool<Manager>;

/// Pool figures for the metrics endpoint.
#[derive(Debug, Clone, Copy)]
pub struct PoolState {
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
}

/// The service's database handle. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    readers: Pool,
    /// SQLite allows one writer at a time; funnelling writes through a one-connection pool makes
    /// them queue here instead of failing with SQLITE_BUSY. PostgreSQL shares the reader pool.
    writer: Pool,
    /// SQLite only: the writer thread that commits queued writes in groups.
    group_commit: Option<std::sync::mpsc::Sender<WriteJob>>,
    backend: Arc<Backend>,
    changes: Arc<Notify>,
}

/// One queued write for the group-commit thread: it runs in the group's transaction, inside
/// its own savepoint, and returns what to do once the group's commit is known (`Err` holds why
/// the commit failed).
type WriteJob = Box<dyn FnOnce(&mut DbConnection) -> Box<dyn FnOnce(Result<(), String>) + Send> + Send>;

/// The most writes one SQLite commit carries.
const MAX_GROUP: usize = 128;

/// SQLite's one writer, committing in groups: it takes every write already queued (up to
/// [`MAX_GROUP`]), runs each in its own savepoint of one transaction, so a failed write rolls
/// back alone, commits once (one fsync for the group) and only then answers each request. Under
/// load, requests share commits; when quiet, a write commits on its own at once.
fn group_commit_thread(writer: Pool, jobs: std::sync::mpsc::Receiver<WriteJob>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP
            && let Ok(job) = jobs.try_recv()
        {
            group.push(job);
        }
        let mut conn = match checkout(&writer) {
            Ok(conn) => conn,
            Err(error) => {
                // Dropping the jobs unrun answers each request with an error.
                tracing::error!(%error, writes = group.len(), "no connection for the writer; a group of writes failed");
                continue;
            }
        };
        let mut completions = Vec::with_capacity(group.len());
        let committed = conn.run(|conn| {
            conn.transaction::<_, DieselError, _>(|conn| {
                for job in group {
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(conn))) {
                        Ok(complete) => completions.push(complete),
                        // A write panicked: the group does not commit (the writes not yet run are
                        // dropped, which answers them with an error), and the thread lives on.
                        Err(_) => return Err(DieselError::RollbackTransaction),
                    }
                }
                Ok(())
            })
        });
        let outcome = committed.map_err(|error| error.to_string());
        for complete in completions {
            complete(outcome.clone());
        }
    }
}

impl Db {
    pub fn connect(settings: &DatabaseSettings) -> Result<Self, DbError> {
        let backend = Backend::of_url(settings.url.expose()).map_err(DbError::Connect)?;
        if let Backend::Sqlite(path) = &backend
            && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|error| DbError::Connect(error.to_string()))?;
        }
        let timeout = Duration::from_secs(settings.connect_timeout_secs.max(1));
        let build = |size: u32| {
            ::r2d2::Pool::builder()
                .max_size(size)
                .min_idle(Some(1))
                .connection_timeout(timeout)
                // No `SELECT 1` before every checkout: that is a round trip on every request.
                // A connection that broke is noticed when its query fails, and the pool drops it
                // (`has_broken`) instead of handing it out again.
                .test_on_check_out(false)
                .build(Manager { backend: backend.clone() })
                .map_err(|error| DbError::Connect(error.to_string()))
        };
        let readers = build(settings.pool_size)?;
        let (writer, group_commit) = match backend {
            Backend::Sqlite(_) => {
                let writer = build(1)?;
                let (jobs, queue) = std::sync::mpsc::channel();
                let thread_writer = writer.clone();
                std::thread::Builder::new()
                    .name("chorus-sqlite-writer".into())
                    .spawn(move || group_commit_thread(thread_writer, queue))
                    .map_err(|error| DbError::Connect(error.to_string()))?;
                (writer, Some(jobs))
            }
            Backend::Postgres(_) => (readers.clone(), None),
        };
        Ok(Self { readers, writer, group_commit, backend: Arc::new(backend), changes: Arc::new(Notify::new()) })
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Runs `f` on a pooled connection on the blocking thread pool.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        run_on(&self.readers, f).await
    }

    /// Runs `f` in one transaction: everything it writes commits together or not at all.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let result = match &self.group_commit {
            Some(queue) => Self::write_in_group(queue, f).await,
            None => run_on(&self.writer, |conn| transaction(conn, f)).await,
        };
        self.wake_readers_if_committed(result)
    }

    /// Runs `f` on a writer connection outside any transaction, for a write that usually commits
    /// by itself: one statement, which PostgreSQL commits alone, two round trips fewer than
    /// `BEGIN` and `COMMIT` around it. `f` opens a transaction with [`transaction`] for anything
    /// more. Wakes the feed's readers when `f` succeeds, as [`Db::write`] does.
    ///
    /// On SQLite this is [`Db::write`]: `f` runs in its group's savepoint, and a transaction it
    /// opens nests inside that.
    pub async fn write_unwrapped<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        if self.group_commit.is_some() {
            return self.write(f).await;
        }
        let result = run_on(&self.writer, f).await;
        self.wake_readers_if_committed(result)
    }

    /// Wakes the feed's readers (streams, the live tail) after a write that committed.
    fn wake_readers_if_committed<T, E>(&self, result: Result<T, E>) -> Result<T, E> {
        if result.is_ok() {
            self.changes.notify_waiters();
        }
        result
    }

    /// Queues `f` for SQLite's group-commit thread and waits until its group is durable.
    async fn write_in_group<T, E, F>(queue: &std::sync::mpsc::Sender<WriteJob>, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel::<Result<T, E>>();
        let span = tracing::Span::current();
        let job: WriteJob = Box::new(move |conn| {
            // Its own savepoint: a failed write rolls back alone, and the group goes on.
            let outcome = span.in_scope(|| conn.transaction(|conn| f(conn).map_err(TxError::Inner)));
            Box::new(move |committed| {
                let result = match (outcome, committed) {
                    (Err(TxError::Inner(inner)), _) => Err(inner),
                    (Err(TxError::Db(db)), _) => Err(E::from(DbError::Query(db))),
                    (Ok(value), Ok(())) => Ok(value),
                    (Ok(_), Err(message)) => Err(E::from(DbError::Commit(message))),
                };
                let _ = answer.send(result);
            })
        });
        queue.send(job).map_err(|_| E::from(DbError::Task))?;
        answered.await.map_err(|_| E::from(DbError::Task))?
    }

    /// Notified after every committed write from this process; streams use it to wake up.
    pub fn change_notifier(&self) -> Arc<Notify> {
        self.changes.clone()
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.read(|conn| conn.batch_execute("SELECT 1").map_err(DbError::from)).await
    }

    pub fn pool_state(&self) -> PoolState {
        let state = self.readers.state();
        PoolState { connections: state.connections, idle: state.idle_connections, max: self.readers.max_size() }
    }

    /// Applies the kit's and then the service's pending migrations; returns what ran.
    pub async fn migrate(&self, service: Migrations) -> Result<Vec<String>, DbError> {
        let pool = self.writer.clone();
        run_blocking(move || {
            let mut conn = checkout(&pool)?;
            let applied = match &mut conn.conn {
                DbConnection::Sqlite(conn) => run_migrations(conn, [KIT_SQLITE, service.sqlite]),
                DbConnection::Postgresql(conn) => run_migrations(conn, [KIT_POSTGRES, service.postgres]),
            };
            applied.map_err(|error| DbError::Migration(error.to_string()))
        })
        .await
    }
}

/// Applies the kit's and the service's PostgreSQL migrations on `conn`, outside any pool (the
/// test harness's template databases); returns what ran, and the names of every migration of
/// the two sets, in order (what identifies a template).
pub fn migrate_postgres(conn: &mut diesel::pg::PgConnection, service: Migrations) -> Result<Vec<String>, DbError> {
    run_migrations(conn, [KIT_POSTGRES, service.postgres]).map_err(|error| DbError::Migration(error.to_string()))
}

/// The names of every PostgreSQL migration of the kit and `service`, in order.
pub fn postgres_migration_names(service: Migrations) -> Vec<String> {
    use diesel::migration::MigrationSource;
    [KIT_POSTGRES, service.postgres]
        .iter()
        .flat_map(|set| MigrationSource::<diesel::pg::Pg>::migrations(set).unwrap_or_default())
        .map(|migration| migration.name().to_string())
        .collect()
}

fn run_migrations<C>(
    conn: &mut C,
    sets: [EmbeddedMigrations; 2],
) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>>
where
    C: MigrationHarness<<C as Connection>::Backend> + Connection,
    EmbeddedMigrations: diesel::migration::MigrationSource<<C as Connection>::Backend>,
{
    let mut applied = Vec::new();
    for set in sets {
        applied.extend(conn.run_pending_migrations(set)?.into_iter().map(|v| v.to_string()));
    }
    Ok(applied)
}

/// Runs `f` in a transaction of its own on `conn` (a savepoint, inside one already open): it
/// commits when `f` succeeds and rolls back when it fails, as [`Db::write`] runs a write. For the
/// long way of a write run with [`Db::write_unwrapped`].
pub fn transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<DbError>,
{
    conn.transaction(|conn| f(conn).map_err(TxError::Inner)).map_err(|error| match error {
        TxError::Inner(inner) => inner,
        TxError::Db(db) => E::from(DbError::Query(db)),
    })
}

enum TxError<E> {
    Inner(E),
    Db(DieselError),
}

impl<E> From<DieselError> for TxError<E> {
    fn from(error: DieselError) -> Self {
        Self::Db(error)
    }
}

/// Runs `f` on a live connection from `pool`, on the blocking thread pool.
async fn run_on<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    let pool = pool.clone();
    run_blocking(move || checkout(&pool)?.run(f)).await
}

async fn run_blocking<T, E, F>(f: F) -> Result<T, E>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f)).await.map_err(|_| E::from(DbError::Task))?
}

/// Runs `$body` with `$c` bound to the backend's own connection: for statements diesel's
/// either-backend connection does not build, though both backends speak them (`ON CONFLICT`
/// upserts, say). The query is written once and type-checked for each backend.
///
/// ```ignore
/// chorus_kit::on_backend!(conn, |c| insert.on_conflict_do_nothing().execute(c))?;
/// ```
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

/// Runs an insert in a savepoint. When a unique constraint rejects it (a concurrent request
/// inserted the same row first), only the insert is rolled back and the answer is `false`, so the
/// caller can read the winner's row and go on in the same transaction.
pub fn insert_once(
    conn: &mut DbConnection,
    insert: impl FnOnce(&mut DbConnection) -> QueryResult<usize>,
) -> Result<bool, DbError> {
    match conn.transaction(insert) {
        Ok(_) => Ok(true),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// The row a write just made or changed, read back in the same transaction: absent only if the
/// database broke its word, which is a storage failure like any other.
pub fn written<T>(row: Option<T>) -> Result<T, DbError> {
    row.ok_or(DbError::Query(DieselError::NotFound))
}

/// Bound parameters per `IN (…)` list: SQLite allows at most 32,766 per statement, so long id
/// lists are queried in chunks of this size.
pub const IN_LIST_CHUNK: usize = 500;

/// `text` for use inside a `LIKE` pattern with `ESCAPE '\\'`: its `%` and `_` match only themselves.
pub fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Current time, truncated to microseconds so it round-trips through both backends unchanged.
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    chrono::DurationRound::duration_trunc(now, chrono::TimeDelta::microseconds(1)).unwrap_or(now)
}
