//! Connecting to SQLite or PostgreSQL, migrating, and starting write transactions the
//! way each database needs.

use crate::error::AppResult;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use std::time::Duration;

/// Opens a pool. SQLite gets WAL, a busy timeout and foreign keys, so readers never block
/// the single writer and writers queue instead of failing. A PostgreSQL on this machine is
/// reached without TLS unless the URL asks for it (see [`without_loopback_tls`]).
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(without_loopback_tls(url));
    opts.max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        opts.map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    }
    sea_orm::Database::connect(opts).await
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
