//! Connecting to SQLite or PostgreSQL, migrating, and starting write transactions the
//! way each database needs.

/// The connection handle and its error, for the API crate (which has no sea-orm of its own:
/// with them it can hold a connection and pass it to the domain, not query a table).
pub use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr};

use crate::config::Config;
use crate::error::AppResult;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, DbBackend, RuntimeErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use std::time::Duration;

/// How the pool waits: a database that does not answer is reported within
/// `acquire_timeout` (a request then gets `503 SERVICE_UNAVAILABLE`), and a SQLite writer
/// waits `sqlite_busy_timeout` for the lock before giving up the same way.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    pub sqlite_busy_timeout: Duration,
}

impl PoolSettings {
    /// The server's settings.
    pub fn from_config(config: &Config) -> Self {
        Self {
            max_connections: config.database_max_connections,
            acquire_timeout: Duration::from_secs(config.database_acquire_timeout_secs),
            sqlite_busy_timeout: Duration::from_secs(config.sqlite_busy_timeout_secs),
        }
    }

    /// The settings of tools and tests: `max_connections`, a database that does not
    /// answer reported within 5 s, and a patient SQLite writer (a tool would rather wait
    /// for the write lock than fail).
    pub fn patient(max_connections: u32) -> Self {
        Self {
            max_connections,
            acquire_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(30),
        }
    }
}

/// Opens a pool with [`PoolSettings::patient`] timeouts (the CLI's tools and the tests).
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, PoolSettings::patient(max_connections)).await
}

/// Opens a pool. SQLite gets WAL, a busy timeout and foreign keys, so readers never block
/// the single writer and writers queue instead of failing. A PostgreSQL on this machine is
/// reached without TLS unless the URL asks for it (see [`without_loopback_tls`]).
///
/// When the database cannot be reached, the error says where it looked and why (which
/// host, port and database; refused, no answer, no such database…), and it says so within
/// `acquire_timeout`.
pub async fn connect_with(url: &str, settings: PoolSettings) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(without_loopback_tls(url));
    opts.max_connections(settings.max_connections)
        .min_connections(1)
        .acquire_timeout(settings.acquire_timeout)
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        let busy = settings.sqlite_busy_timeout;
        opts.map_sqlx_sqlite_opts(move |o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(busy)
                .foreign_keys(true)
                .create_if_missing(true)
        });
    }
    match tokio::time::timeout(
        settings.acquire_timeout + Duration::from_secs(1),
        sea_orm::Database::connect(opts),
    )
    .await
    {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(err)) => Err(DbErr::Conn(RuntimeErr::Internal(
            describe_connect_error(url, Some(&err), settings.acquire_timeout).await,
        ))),
        Err(_) => Err(DbErr::Conn(RuntimeErr::Internal(
            describe_connect_error(url, None, settings.acquire_timeout).await,
        ))),
    }
}

/// Why a database could not be opened, for people: where (host, port, database, user —
/// never the password) and the cause found by one direct connection attempt (the pool
/// only says it timed out).
async fn describe_connect_error(url: &str, err: Option<&DbErr>, timeout: Duration) -> String {
    let Ok(parsed) = url::Url::parse(url) else {
        return format!("cannot open the database: the URL {url:?} is not valid");
    };
    if parsed.scheme() == "sqlite" {
        let cause = err.map_or_else(|| "no answer".to_owned(), root_cause);
        return format!(
            "cannot open the SQLite database {}: {cause}",
            url.trim_start_matches("sqlite://")
                .split('?')
                .next()
                .unwrap_or(url)
        );
    }
    let host = parsed.host_str().unwrap_or("localhost").to_owned();
    let port = parsed.port().unwrap_or(5432);
    let database = parsed.path().trim_start_matches('/').to_owned();
    let user = if parsed.username().is_empty() {
        "(default)".to_owned()
    } else {
        parsed.username().to_owned()
    };
    let place = format!("PostgreSQL at {host}:{port}, database \"{database}\" as user \"{user}\"");
    use sea_orm::sqlx::Connection;
    // A refused connection or a missing database answers at once; only a silent host
    // needs the whole wait, and the pool has already waited for it.
    let probe_timeout = timeout.min(Duration::from_secs(1));
    let probe = tokio::time::timeout(
        probe_timeout,
        sea_orm::sqlx::PgConnection::connect(&without_loopback_tls(url)),
    )
    .await;
    let cause = match probe {
        Err(_) => format!("no answer within {} s", timeout.as_secs_f32()),
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            err.map_or_else(|| "no answer".to_owned(), root_cause)
        }
        Ok(Err(sea_orm::sqlx::Error::Database(db))) if db.code().as_deref() == Some("3D000") => {
            format!(
                "the database does not exist (create it: createdb -h {host} -p {port} -U {user} {database})"
            )
        }
        Ok(Err(sea_orm::sqlx::Error::Database(db)))
            if db.code().is_some_and(|c| c.starts_with("28")) =>
        {
            "the server refused the credentials".to_owned()
        }
        Ok(Err(sea_orm::sqlx::Error::Io(io)))
            if io.kind() == std::io::ErrorKind::ConnectionRefused =>
        {
            "connection refused (is PostgreSQL running there?)".to_owned()
        }
        Ok(Err(other)) => sqlx_cause(&other),
    };
    format!("cannot connect to {place}: {cause}")
}

/// The innermost message of an error, without the wrappers' prefixes.
fn root_cause(err: &DbErr) -> String {
    match err {
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => sqlx_cause(e),
        DbErr::ConnectionAcquire(_) => "no connection could be opened in time".to_owned(),
        other => other.to_string(),
    }
}

fn sqlx_cause(err: &sea_orm::sqlx::Error) -> String {
    match err {
        sea_orm::sqlx::Error::Database(db) => db.message().to_owned(),
        sea_orm::sqlx::Error::Io(io) => io.to_string(),
        sea_orm::sqlx::Error::PoolTimedOut => "no connection could be opened in time".to_owned(),
        other => other.to_string(),
    }
}

/// Whether an error means the database cannot be reached or is locked now (as opposed
/// to a bug or a bad statement): the request may succeed if retried shortly, and the
/// client is told `503 SERVICE_UNAVAILABLE`.
pub fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as E;
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::Internal(_)) => true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => true,
            E::Protocol(_) => true,
            E::Database(db) => {
                let code = db.code().unwrap_or_default();
                // PostgreSQL: connection exceptions (08…), shutting down or starting up
                // (57P01–57P03), too many connections (53300). SQLite: busy or locked
                // (5, 6 and their extended codes), after the busy timeout.
                code.starts_with("08")
                    || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
                    || code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
                    || db.message().contains("database is locked")
            }
            _ => false,
        },
        _ => false,
    }
}

/// The URL to connect with: a PostgreSQL URL whose host is this machine (`localhost`,
/// `127.0.0.0/8`, `::1`, or a Unix socket) and that sets no `sslmode` gets
/// `sslmode=disable`; any other URL is returned as it is.
///
/// sqlx's default, `prefer`, encrypts whenever the server offers TLS (Debian's PostgreSQL
/// does), and on loopback TLS protects nothing while costing a lot: measured here, seeding
/// a year of history ran 4.7 times faster without it (large multi-row statements stall in
/// the TLS stream) and the catalog listing served 20–25 % more requests
/// (BENCHMARKS.md). `PGSSLMODE` or an explicit `sslmode` still wins.
pub fn without_loopback_tls(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_owned();
    };
    if !matches!(parsed.scheme(), "postgres" | "postgresql")
        || std::env::var_os("PGSSLMODE").is_some()
        || parsed
            .query_pairs()
            .any(|(k, _)| k == "sslmode" || k == "ssl-mode")
    {
        return url.to_owned();
    }
    // `postgres:` is not a scheme the URL standard knows, so its host comes as an opaque
    // name even when it is an address.
    let local = match parsed.host() {
        None => true,
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
    } || parsed
        .query_pairs()
        .any(|(k, v)| k == "host" && v.starts_with('/'));
    if !local {
        return url.to_owned();
    }
    parsed.query_pairs_mut().append_pair("sslmode", "disable");
    parsed.into()
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Begins a transaction that will write. On SQLite this is `BEGIN IMMEDIATE`: a deferred
/// transaction that reads and then writes fails with SQLITE_BUSY whatever the timeout.
pub async fn begin_write(db: &DatabaseConnection) -> AppResult<DatabaseTransaction> {
    let options = TransactionOptions {
        sqlite_transaction_mode: (db.get_database_backend() == DbBackend::Sqlite)
            .then_some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    Ok(db.begin_with_options(options).await?)
}

/// SQLite runs one writer at a time. The writers of this process that call this first
/// queue here, in arrival order, and begin their transaction only on their turn: waiting
/// at the database lock instead means SQLite's busy handler, which sleeps 1 to 100 ms
/// between tries and leaves the lock idle meanwhile (placeOrder at 32 clients,
/// BENCHMARKS.md). Other processes still meet at the lock itself, so this is about speed
/// only; `None` on PostgreSQL. Hold the turn until the transaction has ended.
pub async fn sqlite_writer_turn(
    db: &DatabaseConnection,
) -> Option<tokio::sync::OwnedMutexGuard<()>> {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex};
    static TURNS: LazyLock<Mutex<HashMap<std::path::PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
        LazyLock::new(Default::default);
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    let file = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_owned();
    let turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(file)
        .or_default()
        .clone();
    Some(turn.lock_owned().await)
}

/// Ends a write transaction: commits on success, rolls back on any error (including user
/// errors, so a refused input never leaves half a change behind).
pub async fn finish<T>(txn: DatabaseTransaction, result: AppResult<T>) -> AppResult<T> {
    match result {
        Ok(value) => {
            txn.commit().await?;
            Ok(value)
        }
        Err(err) => {
            txn.rollback().await?;
            Err(err)
        }
    }
}

/// Sizes the steps of a long job written in short transactions (an import's chunks, the
/// folding of its rollups) so that each holds the write lock about [`Pacer::TARGET`]: on
/// SQLite the shop's writes wait for at most one step. The size after each step is
/// scaled by how long that step took, within a factor of two of the last size and
/// never below one.
pub struct Pacer {
    size: usize,
    max: usize,
}

impl Pacer {
    /// The time one step should hold the write lock.
    pub const TARGET: Duration = Duration::from_millis(50);

    /// A pacer whose first step has `first` items, never growing beyond 20 times that.
    pub fn new(first: usize) -> Self {
        Self {
            size: first.max(1),
            max: first.max(1) * 20,
        }
    }

    /// A pacer that keeps `size` items a step, whatever they take.
    pub fn fixed(size: usize) -> Self {
        Self {
            size: size.max(1),
            max: 0,
        }
    }

    /// The items of the next step.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Tells how long the last step took (from `BEGIN` to `COMMIT`).
    pub fn took(&mut self, elapsed: Duration) {
        if self.max == 0 {
            return;
        }
        let ratio = Self::TARGET.as_secs_f64() / elapsed.as_secs_f64().max(1e-6);
        let next = (self.size as f64 * ratio.clamp(0.5, 2.0)) as usize;
        self.size = next.clamp(1, self.max);
    }
}

#[cfg(test)]
mod tests {
    use super::without_loopback_tls;

    #[test]
    fn tls_is_dropped_for_a_local_postgres_only() {
        assert_eq!(
            without_loopback_tls("postgres://postgres@127.0.0.1:5432/market"),
            "postgres://postgres@127.0.0.1:5432/market?sslmode=disable"
        );
        assert_eq!(
            without_loopback_tls("postgresql://u:p@localhost/market?application_name=sm"),
            "postgresql://u:p@localhost/market?application_name=sm&sslmode=disable"
        );
        assert_eq!(
            without_loopback_tls("postgres://u@[::1]/market"),
            "postgres://u@[::1]/market?sslmode=disable"
        );
        for kept in [
            "postgres://u@db.example.ma/market",
            "postgres://u@10.0.0.5/market",
            "postgres://u@127.0.0.1/market?sslmode=require",
            "sqlite://market.db?mode=rwc",
        ] {
            assert_eq!(without_loopback_tls(kept), kept);
        }
    }
}

/// How many connections a pool holds open, and how many of them are idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub open: u32,
    pub idle: usize,
}

/// The pool's usage, for the metrics; `None` on a connection without a pool.
pub fn pool_usage(db: &DatabaseConnection) -> Option<PoolUsage> {
    let (open, idle) = match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => return None,
    };
    Some(PoolUsage { open, idle })
}
