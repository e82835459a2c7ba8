//! The catalog's version: what lets a response cache be fresh without asking the database
//! each time what changed.
//!
//! Every transaction that changes what the public catalog shows (stock, a product, a
//! cooperative, a certification, an import or a seed) calls [`touch`], which appends one row
//! to `catalog_changes` — an append-only log, so concurrent orders never queue on a
//! counter row. On PostgreSQL, once the change has committed, the writer [`announce`]s it
//! with `NOTIFY catalog_changes` in a transaction of its own (the HTTP layer does it for
//! every request whose writes touched the log, through an [`Announcer`] that lets
//! concurrent requests share one notification). Not inside the writing transaction: from
//! a notifying transaction's pre-commit until its commit record is on disk, PostgreSQL
//! holds a database-wide lock (so that notifications queue in commit order), which makes
//! notifying transactions commit one disk flush at a time — measured here with pgbench's
//! update-and-insert at 32 clients: 2,700 TPS without `NOTIFY`, 450 with it.
//!
//! [`Watcher`] keeps an instance's version of the catalog, a number that moves whenever
//! the catalog may have changed (a cache key, meaningful to its instance only):
//! - PostgreSQL: the instance's own count of changes seen. Ids come from a sequence
//!   *before* commit, so a change can commit after one with a larger id: the log's
//!   largest id would not move and a cached answer read before that commit would be
//!   served after it. So every notification moves the version, as does every
//!   (re)connection of the `LISTEN` connection (anything may have been missed), every
//!   write through the instance, and every [`Watcher::POLL`] that finds the log's
//!   largest id *or* its number of rows changed (a missed notification costs at most
//!   that long).
//! - SQLite (one machine, microsecond reads): the log's largest id, read by
//!   [`Watcher::current`] for each request, shared by the requests that arrive while a
//!   read is under way, so the next request after any commit — from any process — sees
//!   the new version. One writer at a time holds the database, so ids are taken in
//!   commit order there.

use crate::error::AppResult;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "catalog_changes";

/// How many of the newest log rows [`prune`] keeps.
const KEEP: i64 = 1_000;

/// Records that this transaction changes what the catalog shows, and returns the new
/// version. Call it inside the transaction of the change, once: the new version exists if
/// and only if the change commits. Inside [`track`] the version is also noted for the
/// request being served.
pub async fn touch(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    append(
        db,
        "INSERT INTO catalog_changes DEFAULT VALUES RETURNING id",
    )
    .await
}

async fn append(db: &impl ConnectionTrait, sql: &str) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| DbErr::RecordNotInserted)?;
    let version = row.try_get::<i64>("", "id")?;
    wrote(version);
    Ok(version)
}

tokio::task_local! {
    /// What the writes of the request being served created.
    static WRITTEN: std::cell::Cell<Writes>;
}

/// What a request's writes created (see [`track`]): what the instance must announce once
/// they committed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Writes {
    /// The newest catalog version (0 when none).
    pub catalog: i64,
    /// Whether events were written to the outbox (`domain::events`).
    pub events: bool,
}

/// Runs `work` and returns, with its output, what its writes created: the server then
/// knows what its own next request must see without reading the version back, and what
/// to announce.
pub async fn track<F: std::future::Future>(work: F) -> (F::Output, Writes) {
    WRITTEN
        .scope(std::cell::Cell::new(Writes::default()), async move {
            let out = work.await;
            (out, WRITTEN.with(std::cell::Cell::get))
        })
        .await
}

/// Notes a version created by a write of the request being served (see [`track`]).
pub(crate) fn wrote(version: i64) {
    let _ = WRITTEN.try_with(|written| {
        let mut writes = written.get();
        writes.catalog = writes.catalog.max(version);
        written.set(writes);
    });
}

/// Notes that the request being served wrote events (see [`track`]).
pub(crate) fn emitted() {
    let _ = WRITTEN.try_with(|written| {
        let mut writes = written.get();
        writes.events = true;
        written.set(writes);
    });
}

/// Like [`touch`], for a change of the catalog's *texts* (names, descriptions,
/// translations, products or cooperatives added): the search index rebuilds on it.
pub async fn touch_texts(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    append(
        db,
        "INSERT INTO catalog_changes (texts) VALUES (TRUE) RETURNING id",
    )
    .await?;
    Ok(())
}

/// PostgreSQL: tells every instance listening that the catalog changed — call it after
/// the change committed (nothing to do on SQLite, whose instances read the log). One
/// statement, its own transaction, with `synchronous_commit` off: a notification is not
/// durable anyway (what a crash loses, each instance's poll finds within
/// [`Watcher::POLL`]), so it need not wait for a disk flush while holding the lock that
/// orders notifications.
pub async fn announce(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(
            "BEGIN; SET LOCAL synchronous_commit = off; \
             SELECT pg_notify('catalog_changes', ''); COMMIT",
        )
        .await?;
    }
    Ok(())
}

/// An instance's [`announce`]s, shared: the requests that finish writing while one
/// notification is under way are announced together by the next, so writes never queue
/// one notification each. (SQLite: nothing to do.)
pub struct Announcer {
    queue: Option<tokio::sync::mpsc::UnboundedSender<tokio::sync::oneshot::Sender<()>>>,
}

impl Announcer {
    /// The announcer of `db`'s instance (on PostgreSQL, a task sending the notifications,
    /// which ends when the announcer is dropped). Needs a Tokio runtime.
    pub fn new(db: DatabaseConnection) -> Self {
        if db.get_database_backend() != DbBackend::Postgres {
            return Self { queue: None };
        }
        let (queue, mut waiting) =
            tokio::sync::mpsc::unbounded_channel::<tokio::sync::oneshot::Sender<()>>();
        tokio::spawn(async move {
            while let Some(first) = waiting.recv().await {
                let mut done = vec![first];
                while let Ok(next) = waiting.try_recv() {
                    done.push(next);
                }
                if let Err(err) = announce(&db).await {
                    // The other instances' polls will find the change.
                    tracing::warn!(error = %err, "could not announce a catalog change");
                }
                for waiter in done {
                    let _ = waiter.send(());
                }
            }
        });
        Self { queue: Some(queue) }
    }

    /// Announces the changes committed so far, returning once the notification that
    /// covers them has been sent.
    pub async fn announce(&self) {
        if let Some(queue) = &self.queue {
            let (sent, wait) = tokio::sync::oneshot::channel();
            if queue.send(sent).is_ok() {
                let _ = wait.await;
            }
        }
    }
}

/// The version of the catalog's texts: the largest id of a text change in the log and
/// how many text changes it holds. The count matters on PostgreSQL, where ids are drawn
/// before commit: a transaction that drew a smaller id may commit after a larger one was
/// seen, leaving the largest id unchanged but not the count. Pruning changes it too, which
/// only costs the search index one more rebuild. One read of a partial index
/// (`ix_catalog_changes_texts`), however many stock movements the log holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextVersion {
    /// The largest id of a text change (`None` once pruned away).
    pub last: Option<i64>,
    /// How many text changes the log holds.
    pub count: i64,
}

/// The catalog's [`TextVersion`] now.
pub async fn text_version(db: &impl ConnectionTrait) -> Result<TextVersion, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT MAX(id) AS v, COUNT(*) AS n FROM catalog_changes WHERE texts = TRUE",
        ))
        .await?;
    Ok(match row {
        Some(row) => TextVersion {
            last: row.try_get::<Option<i64>>("", "v")?,
            count: row.try_get::<i64>("", "n")?,
        },
        None => TextVersion {
            last: None,
            count: 0,
        },
    })
}

/// The log's largest id: the catalog's version on SQLite.
pub async fn current(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    Ok(signature(db).await?.last)
}

/// What a poll compares: the log's largest id and how many rows it holds. A change that
/// commits after one with a larger id (PostgreSQL) moves the count, not the largest id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Signature {
    last: i64,
    rows: i64,
}

async fn signature(db: &impl ConnectionTrait) -> Result<Signature, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COALESCE(MAX(id), 0) AS v, COUNT(*) AS n FROM catalog_changes",
        ))
        .await?;
    Ok(match row {
        Some(row) => Signature {
            last: row.try_get::<i64>("", "v")?,
            rows: row.try_get::<i64>("", "n")?,
        },
        None => Signature::default(),
    })
}

/// Deletes all but the newest [`KEEP`] rows of the log (the newest always stays, so the
/// version never goes back).
pub async fn prune(db: &impl ConnectionTrait) -> AppResult<u64> {
    let sql = format!(
        "DELETE FROM catalog_changes WHERE id < (SELECT MAX(id) FROM catalog_changes) - {KEEP}"
    );
    Ok(db.execute_unprepared(&sql).await?.rows_affected())
}

/// An instance's knowledge of the catalog version (see the module's documentation).
pub struct Watcher {
    db: DatabaseConnection,
    version: AtomicI64,
    /// PostgreSQL: notifications received so far (operators and tests see that the
    /// `LISTEN` path works, not only the poll).
    notifications: AtomicU64,
    /// SQLite: reads started so far; a request may use a read that started after it
    /// arrived.
    started: AtomicU64,
    /// SQLite: the number of the last finished read and the version it found.
    last: tokio::sync::Mutex<(u64, i64)>,
    /// PostgreSQL: the log as the last poll found it.
    polled: tokio::sync::Mutex<Option<Signature>>,
}

impl Watcher {
    /// How often PostgreSQL instances read the version even without notifications.
    pub const POLL: Duration = Duration::from_secs(1);

    /// A watcher of `db`; on PostgreSQL it starts listening at once, and reads the
    /// version when it does (the task ends when the watcher is dropped). Needs a Tokio
    /// runtime.
    pub fn new(db: DatabaseConnection) -> Arc<Self> {
        let watcher = Arc::new(Self {
            db,
            version: AtomicI64::new(0),
            notifications: AtomicU64::new(0),
            started: AtomicU64::new(0),
            last: tokio::sync::Mutex::new((0, 0)),
            polled: tokio::sync::Mutex::new(None),
        });
        if watcher.db.get_database_backend() == DbBackend::Postgres {
            tokio::spawn(listen(Arc::downgrade(&watcher)));
        }
        watcher
    }

    /// The version a request arriving now must see.
    pub async fn current(&self) -> Result<i64, DbErr> {
        if self.is_postgres() {
            return Ok(self.version.load(Ordering::Acquire));
        }
        let arrived = self.started.load(Ordering::Acquire);
        let mut last = self.last.lock().await;
        if last.0 > arrived {
            // A read that started after this request arrived: it saw every commit before.
            return Ok(last.1);
        }
        let number = self.started.fetch_add(1, Ordering::AcqRel) + 1;
        let version = current(&self.db).await?;
        *last = (number, version);
        self.raise(version);
        Ok(version)
    }

    /// Reads the log now and moves the version if it changed (after a write through this
    /// instance whose version is unknown, so its next request sees it without waiting
    /// for the notification; and on each poll).
    pub async fn refresh(&self) -> Result<i64, DbErr> {
        if self.is_postgres() {
            let mut polled = self.polled.lock().await;
            let now = signature(&self.db).await?;
            if *polled != Some(now) {
                *polled = Some(now);
                self.moved();
            }
        } else {
            let version = current(&self.db).await?;
            self.raise(version);
        }
        Ok(self.version.load(Ordering::Acquire))
    }

    fn is_postgres(&self) -> bool {
        self.db.get_database_backend() == DbBackend::Postgres
    }

    /// PostgreSQL: the catalog may have changed.
    fn moved(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    /// How many notifications this watcher has received (PostgreSQL).
    pub fn notifications(&self) -> u64 {
        self.notifications.load(Ordering::Acquire)
    }

    /// Prunes the change log (see [`prune`]).
    pub async fn prune_log(&self) -> AppResult<u64> {
        prune(&self.db).await
    }

    /// Learns of a version this instance's own write created (see [`track`]).
    pub fn saw(&self, version: i64) {
        if self.is_postgres() {
            self.moved();
        } else {
            self.raise(version);
        }
    }

    fn raise(&self, version: i64) {
        self.version.fetch_max(version, Ordering::AcqRel);
    }
}

/// PostgreSQL: move the version on each notification and (re)connection, and when a poll
/// every [`Watcher::POLL`] finds the log changed.
async fn listen(watcher: Weak<Watcher>) {
    use sea_orm::sqlx::postgres::PgListener;
    let mut poll = tokio::time::interval(Watcher::POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut listener: Option<PgListener> = None;
    loop {
        let Some(strong) = watcher.upgrade() else {
            return;
        };
        if listener.is_none() {
            let pool = strong.db.get_postgres_connection_pool();
            match PgListener::connect_with(pool).await {
                Ok(mut l) => match l.listen(CHANNEL).await {
                    Ok(()) => listener = Some(l),
                    Err(err) => tracing::warn!(error = %err, "LISTEN catalog_changes failed"),
                },
                Err(err) => tracing::warn!(error = %err, "no connection to LISTEN on"),
            }
            // Whatever was missed while not listening.
            strong.moved();
            let _ = strong.refresh().await;
        }
        drop(strong);
        let event = match listener.as_mut() {
            Some(l) => tokio::select! {
                n = l.try_recv() => Some(n),
                _ = poll.tick() => None,
            },
            None => {
                poll.tick().await;
                None
            }
        };
        let Some(strong) = watcher.upgrade() else {
            return;
        };
        match event {
            Some(Ok(Some(_))) => {
                strong.notifications.fetch_add(1, Ordering::AcqRel);
                strong.moved();
            }
            // The connection was lost (and is being re-established): anything may have
            // been missed.
            Some(Ok(None)) => {
                strong.moved();
                let _ = strong.refresh().await;
            }
            Some(Err(err)) => {
                tracing::warn!(error = %err, "catalog notifications interrupted");
                listener = None;
            }
            None => {
                if let Err(err) = strong.refresh().await {
                    tracing::debug!(error = %err, "could not read the catalog version");
                }
            }
        }
    }
}
