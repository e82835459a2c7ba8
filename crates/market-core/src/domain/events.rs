//! Events (issue #19): what the portal, the back office and partners hear as it happens.
//!
//! **The outbox.** Every event is a row of `events`, written by the transaction of the
//! change it reports ([`emit`]; `placeOrder` writes its own in the same statement or
//! transaction as the order): nothing is announced that did not commit, nothing committed
//! is lost. Clients see an event's `seq`, a monotonic id:
//! - SQLite runs one writer at a time, so `seq` is taken in the writing transaction and
//!   commit order is `seq` order.
//! - PostgreSQL draws ids before commit, so a transaction can commit after one with a
//!   larger id; `seq` is therefore given *after* commit by [`publish`], which one instance
//!   at a time runs (an advisory lock): a reader that saw `seq` n never later finds a
//!   smaller one, so resuming "after n" misses nothing.
//!
//! **Delivery.** Each instance keeps a [`Hub`]: the largest published `seq`, which
//! subscriptions and the webhook dispatcher wait on. After a request's writes that
//! emitted events commit, the instance pokes its hub ([`Hub::poke`]), which publishes
//! them (waiting [`Hub::GATHER`] first, so that one sequencer run publishes the commits
//! of several requests); the publisher's `pg_notify('market_events', '<newest seq>')`
//! (in the sequencer's transaction) then tells every instance's listener how far the
//! events go, without a query — an event committed through one instance reaches
//! subscribers on all of them. (Not a `NOTIFY` in the
//! writing transaction: PostgreSQL holds a database-wide lock from a notifying
//! transaction's pre-commit until its commit is flushed, which would make every order
//! commit one disk flush at a time — `catalog_version`.) A poll every
//! [`Hub::POLL_POSTGRES`] publishes what a crash between commit and poke left behind.
//! On SQLite (one machine) the hub reads the largest `seq` when poked and every
//! [`Hub::POLL_SQLITE`], one index lookup.
//!
//! **Time-based events** ([`run_scheduled_checks`]) carry an `occurrence` key, unique in
//! the table: however many instances run the check, each occurrence is written once.

use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, Statement, TransactionTrait,
};
use serde_json::Value;
use std::sync::{Arc, Weak};

/// The PostgreSQL notification channel of events.
pub const CHANNEL: &str = "market_events";

/// The advisory lock key of the PostgreSQL sequencer ("EVNT").
const SEQUENCER_LOCK: i64 = 0x4556_4E54;

/// Most events one run of the sequencer publishes.
const PUBLISH_BATCH: u64 = 1000;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    OrderPlaced,
    OrderPaid,
    OrderCancelled,
    OrderRefunded,
    /// An order left unpaid (`PLACED`) for more than [`STALE_ORDER_HOURS`].
    OrderStale,
    /// A product's stock fell to its low-stock threshold or below (still above zero).
    StockLow,
    /// A product's stock reached zero.
    StockOut,
    /// A certification expires within 30 days, then within 7 (one event each).
    CertificationExpiring,
    CertificationExpired,
    PayoutIssued,
    PayoutPaid,
    /// A payout statement still `DUE` after its due date.
    PayoutOverdue,
}

impl EventKind {
    pub const ALL: [EventKind; 12] = [
        EventKind::OrderPlaced,
        EventKind::OrderPaid,
        EventKind::OrderCancelled,
        EventKind::OrderRefunded,
        EventKind::OrderStale,
        EventKind::StockLow,
        EventKind::StockOut,
        EventKind::CertificationExpiring,
        EventKind::CertificationExpired,
        EventKind::PayoutIssued,
        EventKind::PayoutPaid,
        EventKind::PayoutOverdue,
    ];

    /// The event's name on the wire (`order.placed`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::OrderPlaced => "order.placed",
            EventKind::OrderPaid => "order.paid",
            EventKind::OrderCancelled => "order.cancelled",
            EventKind::OrderRefunded => "order.refunded",
            EventKind::OrderStale => "order.stale",
            EventKind::StockLow => "stock.low",
            EventKind::StockOut => "stock.out",
            EventKind::CertificationExpiring => "certification.expiring",
            EventKind::CertificationExpired => "certification.expired",
            EventKind::PayoutIssued => "payout.issued",
            EventKind::PayoutPaid => "payout.paid",
            EventKind::PayoutOverdue => "payout.overdue",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// An event about to be written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NewEvent {
    #[serde(serialize_with = "kind_name")]
    pub kind: EventKind,
    /// What it is about: an order number, a SKU, a certification or statement id.
    pub subject: String,
    /// The customer it concerns (order events), who alone of the customers hears of it.
    pub user_id: Option<i32>,
    /// The cooperatives it concerns, whose members hear of it (JSON array text).
    #[serde(serialize_with = "json_text")]
    pub cooperatives: Vec<i32>,
    /// The event's data (JSON text when written).
    #[serde(serialize_with = "json_text")]
    pub payload: Value,
    /// For an event that must happen once: its unique key.
    pub occurrence: Option<String>,
}

fn kind_name<S: serde::Serializer>(kind: &EventKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.as_str())
}

fn json_text<T: serde::Serialize, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&serde_json::to_string(v).map_err(serde::ser::Error::custom)?)
}

/// A published event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The published, monotonic id.
    pub seq: i64,
    pub kind: String,
    pub subject: String,
    pub user_id: Option<i32>,
    pub cooperatives: Vec<i32>,
    pub payload: Value,
    pub created_at: DateTime<Utc>,
}

#[derive(FromQueryResult)]
struct EventRow {
    seq: i64,
    kind: String,
    subject: String,
    user_id: Option<i32>,
    cooperatives: String,
    payload: String,
    created_at: DateTime<Utc>,
}

impl From<EventRow> for Event {
    fn from(r: EventRow) -> Self {
        Event {
            seq: r.seq,
            kind: r.kind,
            subject: r.subject,
            user_id: r.user_id,
            cooperatives: serde_json::from_str(&r.cooperatives).unwrap_or_default(),
            payload: serde_json::from_str(&r.payload).unwrap_or(Value::Null),
            created_at: r.created_at,
        }
    }
}

/// Writes `events` in the caller's transaction, in one statement; an event whose
/// `occurrence` exists already is skipped. Returns how many were written.
pub async fn emit(
    db: &impl ConnectionTrait,
    events: &[NewEvent],
    at: DateTime<Utc>,
) -> AppResult<u64> {
    if events.is_empty() {
        return Ok(0);
    }
    let json = serde_json::to_string(events)
        .map_err(|e| AppError::internal_caused("events as JSON", e))?;
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "WITH e AS (INSERT INTO events (kind, subject, user_id, cooperatives, payload, \
             occurrence, created_at) \
             SELECT r.kind, r.subject, r.user_id, r.cooperatives, r.payload, r.occurrence, $2 \
             FROM json_to_recordset($1::json) AS r(kind text, subject text, user_id int, \
             cooperatives text, payload text, occurrence text) \
             ON CONFLICT (occurrence) DO NOTHING RETURNING id) \
             SELECT (SELECT count(*) FROM e) AS n"
        }
        _ => {
            "WITH r AS (SELECT key, value FROM json_each(?)) \
             INSERT INTO events (seq, kind, subject, user_id, cooperatives, payload, occurrence, \
             created_at) \
             SELECT (SELECT COALESCE(MAX(seq), 0) FROM events) + r.key + 1, r.value ->> 'kind', \
             r.value ->> 'subject', r.value ->> 'user_id', r.value ->> 'cooperatives', \
             r.value ->> 'payload', r.value ->> 'occurrence', ? FROM r WHERE true \
             ON CONFLICT (occurrence) DO NOTHING RETURNING id"
        }
    };
    let statement = Statement::from_sql_and_values(backend, sql, [json.into(), at.into()]);
    let rows = db.query_all_raw(statement).await?;
    let written = match backend {
        DbBackend::Postgres => rows
            .first()
            .map(|r| r.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0) as u64,
        _ => rows.len() as u64,
    };
    if written > 0 {
        crate::domain::catalog_version::emitted();
    }
    Ok(written)
}

/// Writes one event about order `order_id` (its buyer and the cooperatives of its lines)
/// in the caller's transaction: `order.paid`, `order.cancelled`, `order.refunded`.
pub async fn emit_for_order(
    db: &impl ConnectionTrait,
    kind: EventKind,
    order_id: i64,
    at: DateTime<Utc>,
) -> AppResult<()> {
    #[derive(FromQueryResult)]
    struct Row {
        number: String,
        user_id: Option<i32>,
        status: String,
        coop: i32,
    }
    let backend = db.get_database_backend();
    let rows = Row::find_by_statement(Statement::from_sql_and_values(
        backend,
        match backend {
            DbBackend::Postgres => {
                "SELECT DISTINCT o.number, o.user_id, o.status, l.cooperative_id AS coop \
                 FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.id = $1"
            }
            _ => {
                "SELECT DISTINCT o.number, o.user_id, o.status, l.cooperative_id AS coop \
                 FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.id = ?"
            }
        },
        [order_id.into()],
    ))
    .all(db)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let mut cooperatives: Vec<i32> = rows.iter().map(|r| r.coop).collect();
    cooperatives.sort_unstable();
    cooperatives.dedup();
    let event = NewEvent {
        kind,
        subject: first.number.clone(),
        user_id: first.user_id,
        cooperatives,
        payload: serde_json::json!({ "number": first.number, "status": first.status }),
        occurrence: None,
    };
    emit(db, &[event], at).await?;
    Ok(())
}

/// The cooperatives whose products order `order_id` holds.
async fn order_cooperatives(db: &impl ConnectionTrait, order_id: i64) -> AppResult<Vec<i32>> {
    use crate::entities::order_line;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    let mut coops: Vec<i32> = order_line::Entity::find()
        .select_only()
        .column(order_line::Column::CooperativeId)
        .filter(order_line::Column::OrderId.eq(order_id))
        .into_tuple()
        .all(db)
        .await?;
    coops.sort_unstable();
    coops.dedup();
    Ok(coops)
}

/// The stock events of a product whose level went from `before` to `after`: `stock.out`
/// on reaching zero, `stock.low` on crossing its threshold downwards (still above zero).
pub fn stock_crossing(
    sku: &str,
    cooperative_id: i32,
    before: i32,
    after: i32,
    threshold: i32,
) -> Option<NewEvent> {
    let kind = if after <= 0 && before > 0 {
        EventKind::StockOut
    } else if after > 0 && after <= threshold && before > threshold {
        EventKind::StockLow
    } else {
        return None;
    };
    Some(NewEvent {
        kind,
        subject: sku.to_owned(),
        user_id: None,
        cooperatives: vec![cooperative_id],
        payload: serde_json::json!({ "sku": sku, "stock": after, "threshold": threshold }),
        occurrence: None,
    })
}

/// What one run of the sequencer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Published {
    /// Events given their `seq`.
    pub count: u64,
    /// The largest `seq` it gave (0 when none): the largest published, since one
    /// sequencer runs at a time.
    pub last: i64,
}

/// PostgreSQL: gives the committed events their `seq`, one instance at a time (see the
/// module's documentation), and notifies the instances when it published any. A no-op
/// on SQLite, where `seq` is given on write.
pub async fn publish(db: &DatabaseConnection) -> AppResult<Published> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(Published::default());
    }
    let txn = db.begin().await?;
    txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({SEQUENCER_LOCK})"))
        .await?;
    // A fresh statement after the lock: it sees every sequencer run before it committed.
    // The ids come in order from the sorted subquery, so a transaction's events keep
    // their order.
    let row = txn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "WITH p AS (UPDATE events e SET seq = p.seq \
                 FROM (SELECT id, nextval('events_seq') AS seq FROM \
                 (SELECT id FROM events WHERE seq IS NULL ORDER BY id LIMIT {PUBLISH_BATCH}) q) p \
                 WHERE e.id = p.id RETURNING e.seq) \
                 SELECT COUNT(*) AS n, COALESCE(MAX(seq), 0) AS last FROM p"
            ),
        ))
        .await?;
    let published = match row {
        Some(row) => Published {
            count: u64::try_from(row.try_get::<i64>("", "n")?).unwrap_or(0),
            last: row.try_get::<i64>("", "last")?,
        },
        None => Published::default(),
    };
    if published.count > 0 {
        // The payload is the newest `seq`: listeners need no query to learn it.
        txn.execute_unprepared(&format!(
            "SELECT pg_notify('{CHANNEL}', '{}')",
            published.last
        ))
        .await?;
    }
    txn.commit().await?;
    Ok(published)
}

/// The largest published `seq` (0 when none).
pub async fn last_seq(db: &impl ConnectionTrait) -> AppResult<i64> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COALESCE(MAX(seq), 0) AS n FROM events",
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get::<i64>("", "n")?,
        None => 0,
    })
}

/// Up to `limit` published events after `after`, in `seq` order.
pub async fn after(db: &impl ConnectionTrait, after: i64, limit: u64) -> AppResult<Vec<Event>> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT seq, kind, subject, user_id, cooperatives, payload, created_at FROM events \
             WHERE seq > $1 ORDER BY seq LIMIT $2"
        }
        _ => {
            "SELECT seq, kind, subject, user_id, cooperatives, payload, created_at FROM events \
             WHERE seq > ? ORDER BY seq LIMIT ?"
        }
    };
    let rows = EventRow::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [after.into(), (limit as i64).into()],
    ))
    .all(db)
    .await?;
    Ok(rows.into_iter().map(Event::from).collect())
}

/// The published events of `seqs` (those that exist), in `seq` order.
pub async fn with_seqs(db: &impl ConnectionTrait, seqs: &[i64]) -> AppResult<Vec<Event>> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let placeholders: Vec<String> = (1..=seqs.len())
        .map(|n| match backend {
            DbBackend::Postgres => format!("${n}"),
            _ => "?".to_owned(),
        })
        .collect();
    let sql = format!(
        "SELECT seq, kind, subject, user_id, cooperatives, payload, created_at FROM events \
         WHERE seq IN ({}) ORDER BY seq",
        placeholders.join(", ")
    );
    let rows = EventRow::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        seqs.iter().map(|s| (*s).into()),
    ))
    .all(db)
    .await?;
    Ok(rows.into_iter().map(Event::from).collect())
}

/// Which events a viewer hears of: the same policy as its queries (`policy::Viewer::event_scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventScope {
    /// Managers: every event.
    All,
    /// Members: the events concerning their cooperative.
    Cooperative(i32),
    /// Customers: the events of their own orders.
    Customer(i32),
}

impl EventScope {
    pub fn admits(self, event: &Event) -> bool {
        match self {
            EventScope::All => true,
            EventScope::Cooperative(c) => event.cooperatives.contains(&c),
            EventScope::Customer(u) => event.user_id == Some(u) && event.kind.starts_with("order."),
        }
    }
}

/// An instance's knowledge of the newest published event, which subscriptions and the
/// webhook dispatcher wait on (see the module's documentation).
pub struct Hub {
    db: DatabaseConnection,
    latest: tokio::sync::watch::Sender<i64>,
    /// Wakes the hub's task: events committed through this instance.
    poked: Arc<tokio::sync::Notify>,
}

impl Hub {
    /// How often a PostgreSQL instance publishes and looks for new events without a
    /// notification.
    pub const POLL_POSTGRES: std::time::Duration = std::time::Duration::from_secs(1);
    /// How often a SQLite instance looks for new events (one index lookup).
    pub const POLL_SQLITE: std::time::Duration = std::time::Duration::from_millis(100);
    /// How long a PostgreSQL instance waits, once poked, for more commits to publish in
    /// the same sequencer run (each run is a transaction; one per order would double
    /// the database's work under load).
    pub const GATHER: std::time::Duration = std::time::Duration::from_millis(3);

    /// A hub over `db`, watching at once (the task ends when the hub is dropped). Needs a
    /// Tokio runtime.
    pub fn new(db: DatabaseConnection) -> Arc<Self> {
        let db = background_handle(&db);
        let (latest, _) = tokio::sync::watch::channel(0);
        let poked = Arc::new(tokio::sync::Notify::new());
        let hub = Arc::new(Self {
            db,
            latest,
            poked: poked.clone(),
        });
        tokio::spawn(watch(Arc::downgrade(&hub), poked));
        hub
    }

    /// Events written through this instance have committed: publish them now (the pokes
    /// that arrive while the hub is busy are answered together by its next round).
    pub fn poke(&self) {
        self.poked.notify_one();
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// A receiver of the newest published `seq`.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<i64> {
        self.latest.subscribe()
    }

    /// Publishes (PostgreSQL) and reads the newest `seq`, waking the waiters if it moved.
    pub async fn refresh(&self) -> AppResult<i64> {
        // A backlog (a seed, an outage) goes in batches, all of them now.
        let mut published = publish(&self.db).await?;
        while published.count >= PUBLISH_BATCH {
            published = publish(&self.db).await?;
        }
        if published.count > 0 {
            // The sequencer's largest `seq` is the largest published: no read needed.
            self.advance(published.last);
            return Ok(published.last);
        }
        self.read_latest().await
    }

    /// Reads the newest published `seq` without publishing (another instance's sequencer
    /// just announced it published), waking the waiters if it moved.
    pub async fn read_latest(&self) -> AppResult<i64> {
        let last = last_seq(&self.db).await?;
        self.advance(last);
        Ok(last)
    }

    fn advance(&self, last: i64) {
        self.latest.send_if_modified(|seen| {
            let moved = last > *seen;
            *seen = (*seen).max(last);
            moved
        });
    }

    /// The newest published `seq` this instance knows of.
    pub fn latest(&self) -> i64 {
        *self.latest.borrow()
    }

    /// The events in `scope` (of `kinds`, all when empty) published after `after` — or,
    /// without `after`, from now on — as they are published.
    pub fn stream(
        self: Arc<Self>,
        scope: EventScope,
        kinds: Vec<EventKind>,
        after: Option<i64>,
    ) -> impl futures::Stream<Item = AppResult<Event>> + Send + 'static {
        let names: Vec<&'static str> = kinds.iter().map(|k| k.as_str()).collect();
        let state = Cursor {
            hub: self.clone(),
            rx: self.subscribe(),
            position: after,
            buffer: std::collections::VecDeque::new(),
        };
        futures::stream::unfold(Some(state), move |state| {
            let names = names.clone();
            async move {
                let mut state = state?;
                match state.next(scope, &names).await {
                    Ok(event) => Some((Ok(event), Some(state))),
                    Err(e) => Some((Err(e), None)),
                }
            }
        })
    }
}

/// A handle on `db`'s pool for work done in the background, outside any request: the
/// metrics a request's handle counts (its statements) do not include it.
fn background_handle(db: &DatabaseConnection) -> DatabaseConnection {
    match db.get_database_backend() {
        DbBackend::Postgres => sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(
            db.get_postgres_connection_pool().clone(),
        ),
        DbBackend::Sqlite => sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(
            db.get_sqlite_connection_pool().clone(),
        ),
        _ => db.clone(),
    }
}

struct Cursor {
    hub: Arc<Hub>,
    rx: tokio::sync::watch::Receiver<i64>,
    position: Option<i64>,
    buffer: std::collections::VecDeque<Event>,
}

impl Cursor {
    async fn next(&mut self, scope: EventScope, names: &[&str]) -> AppResult<Event> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                return Ok(event);
            }
            // Marked seen before reading, so a change after the read wakes the wait.
            self.rx.borrow_and_update();
            let position = match self.position {
                Some(p) => p,
                None => {
                    let last = last_seq(&self.hub.db).await?;
                    self.position = Some(last);
                    last
                }
            };
            let batch = after(&self.hub.db, position, 200).await?;
            if let Some(last) = batch.last() {
                self.position = Some(last.seq);
                self.buffer.extend(batch.into_iter().filter(|e| {
                    scope.admits(e) && (names.is_empty() || names.contains(&e.kind.as_str()))
                }));
                continue;
            }
            if self.rx.changed().await.is_err() {
                return Err(AppError::internal("the event hub stopped"));
            }
        }
    }
}

/// Moves the hub on notifications (PostgreSQL) and polls.
async fn watch(hub: Weak<Hub>, poked: Arc<tokio::sync::Notify>) {
    let postgres = match hub.upgrade() {
        Some(h) => h.db.get_database_backend() == DbBackend::Postgres,
        None => return,
    };
    let period = if postgres {
        Hub::POLL_POSTGRES
    } else {
        Hub::POLL_SQLITE
    };
    let mut poll = tokio::time::interval(period);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut listener: Option<sea_orm::sqlx::postgres::PgListener> = None;
    loop {
        if postgres && listener.is_none() {
            let Some(strong) = hub.upgrade() else {
                return;
            };
            let pool = strong.db.get_postgres_connection_pool();
            match sea_orm::sqlx::postgres::PgListener::connect_with(pool).await {
                Ok(mut l) => match l.listen(CHANNEL).await {
                    Ok(()) => listener = Some(l),
                    Err(err) => tracing::warn!(error = %err, "LISTEN market_events failed"),
                },
                Err(err) => tracing::warn!(error = %err, "no connection to LISTEN on"),
            }
        }
        // Notified: a sequencer (this instance's or another's) published, and says up to
        // which `seq`. Poked or polled: publish first.
        let mut notified: Option<Option<i64>> = None;
        match listener.as_mut() {
            Some(l) => tokio::select! {
                n = l.try_recv() => match n {
                    // The largest `seq` of the notifications already received (None
                    // when one does not say: read it).
                    Ok(Some(first)) => {
                        let seq = |n: Option<sea_orm::sqlx::postgres::PgNotification>| {
                            n.and_then(|n| n.payload().parse::<i64>().ok())
                        };
                        let mut newest = seq(Some(first));
                        while let Some(next) = l.next_buffered() {
                            newest = match (newest, seq(Some(next))) {
                                (Some(a), Some(b)) => Some(a.max(b)),
                                _ => None,
                            };
                        }
                        notified = Some(newest);
                    }
                    // The connection was lost and is back: some may have been missed.
                    Ok(None) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, "event notifications interrupted");
                        listener = None;
                    }
                },
                _ = poked.notified() => {
                    // Under load, commits arrive every few hundred microseconds: the
                    // ones of the next moments are published by the same run.
                    tokio::time::sleep(Hub::GATHER).await;
                }
                _ = poll.tick() => {}
            },
            None => tokio::select! {
                _ = poked.notified() => {
                    if postgres {
                        tokio::time::sleep(Hub::GATHER).await;
                    }
                }
                _ = poll.tick() => {}
            },
        }
        let Some(strong) = hub.upgrade() else {
            return;
        };
        let done = match notified {
            Some(Some(seq)) => {
                strong.advance(seq);
                Ok(seq)
            }
            Some(None) => strong.read_latest().await,
            None => strong.refresh().await,
        };
        if let Err(err) = done {
            tracing::debug!(error = %err.cause_chain().unwrap_or_default(), "could not read the events");
        }
    }
}

/// How long an order may stay unpaid before `order.stale`.
pub const STALE_ORDER_HOURS: i64 = 48;

/// The time-based checks: certifications expiring within 30 days and within 7 days, and
/// expired (in the last 7 days); orders unpaid for [`STALE_ORDER_HOURS`] (placed in the
/// last 30 days); payout statements due and unpaid after their due date. Each occurrence
/// is written once however often and on however many instances this runs (its
/// `occurrence` key is unique). Returns how many events it wrote.
pub async fn run_scheduled_checks(
    db: &DatabaseConnection,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    #[derive(FromQueryResult)]
    struct Cert {
        id: i32,
        cooperative_id: i32,
        kind: String,
        number: String,
        expires_on: NaiveDate,
    }
    #[derive(FromQueryResult)]
    struct Stale {
        id: i64,
        number: String,
        user_id: Option<i32>,
    }
    #[derive(FromQueryResult)]
    struct Due {
        id: i32,
        cooperative_id: i32,
        due_on: NaiveDate,
        net_cents: i64,
    }
    let backend = db.get_database_backend();
    let p = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    let mut events = Vec::new();
    let certs = Cert::find_by_statement(Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT id, cooperative_id, type AS kind, number, expires_on FROM certifications \
             WHERE expires_on IS NOT NULL AND expires_on <= {} AND expires_on >= {}",
            p(1),
            p(2)
        ),
        [
            (today + Duration::days(30)).into(),
            (today - Duration::days(7)).into(),
        ],
    ))
    .all(db)
    .await?;
    for c in certs {
        let days_left = (c.expires_on - today).num_days();
        let (kind, occurrence) = if days_left <= 0 {
            (
                EventKind::CertificationExpired,
                format!("certification.expired:{}:{}", c.id, c.expires_on),
            )
        } else if days_left <= 7 {
            (
                EventKind::CertificationExpiring,
                format!("certification.expiring.7:{}:{}", c.id, c.expires_on),
            )
        } else {
            (
                EventKind::CertificationExpiring,
                format!("certification.expiring.30:{}:{}", c.id, c.expires_on),
            )
        };
        events.push(NewEvent {
            kind,
            subject: c.id.to_string(),
            user_id: None,
            cooperatives: vec![c.cooperative_id],
            payload: serde_json::json!({
                "certificationId": c.id, "type": c.kind, "number": c.number,
                "expiresOn": c.expires_on, "daysLeft": days_left.max(0),
            }),
            occurrence: Some(occurrence),
        });
    }
    let stale = Stale::find_by_statement(Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT id, number, user_id FROM orders WHERE status = 'PLACED' \
             AND placed_at < {} AND placed_at >= {}",
            p(1),
            p(2)
        ),
        [
            (now - Duration::hours(STALE_ORDER_HOURS)).into(),
            (now - Duration::days(30)).into(),
        ],
    ))
    .all(db)
    .await?;
    for o in stale {
        let coops = order_cooperatives(db, o.id).await?;
        events.push(NewEvent {
            kind: EventKind::OrderStale,
            subject: o.number.clone(),
            user_id: o.user_id,
            cooperatives: coops,
            payload: serde_json::json!({ "number": o.number, "status": "PLACED" }),
            occurrence: Some(format!("order.stale:{}", o.id)),
        });
    }
    let overdue = Due::find_by_statement(Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT id, cooperative_id, due_on, net_cents FROM payout_statements \
             WHERE status = 'DUE' AND due_on < {} AND due_on >= {}",
            p(1),
            p(2)
        ),
        [today.into(), (today - Duration::days(90)).into()],
    ))
    .all(db)
    .await?;
    for s in overdue {
        events.push(NewEvent {
            kind: EventKind::PayoutOverdue,
            subject: s.id.to_string(),
            user_id: None,
            cooperatives: vec![s.cooperative_id],
            payload: serde_json::json!({
                "statementId": s.id, "dueOn": s.due_on, "netCents": s.net_cents,
            }),
            occurrence: Some(format!("payout.overdue:{}", s.id)),
        });
    }
    let mut written = 0;
    for chunk in events.chunks(200) {
        written += emit(db, chunk, now).await?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_crossings() {
        let kind = |b, a, t| stock_crossing("X", 1, b, a, t).map(|e| e.kind);
        assert_eq!(kind(10, 5, 5), Some(EventKind::StockLow));
        assert_eq!(kind(10, 6, 5), None);
        assert_eq!(kind(5, 4, 5), None, "already low");
        assert_eq!(kind(3, 0, 5), Some(EventKind::StockOut));
        assert_eq!(kind(10, 0, 5), Some(EventKind::StockOut));
        assert_eq!(kind(0, 3, 5), None, "a delivery");
    }

    #[test]
    fn names_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
    }
}
