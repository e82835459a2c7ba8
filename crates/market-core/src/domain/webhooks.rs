//! Webhooks (issue #19): partners' URLs that receive the market's events, signed.
//!
//! Driven by the outbox (`domain::events`), so nothing is lost to a restart:
//! 1. **Fan-out.** One instance at a time (the `event_cursors` row, locked `FOR UPDATE
//!    SKIP LOCKED` on PostgreSQL; SQLite's single writer) reads the events published after
//!    the cursor and writes one `webhook_deliveries` row per enabled webhook listening to
//!    each (unique per webhook and event), then moves the cursor, in one transaction.
//! 2. **Delivery.** An instance claims due deliveries with one conditional `UPDATE` (rows
//!    chosen `FOR UPDATE SKIP LOCKED` on PostgreSQL), which counts the attempt and leases
//!    the row for [`LEASE`] plus the timeout: several instances never send the same
//!    attempt, and a delivery claimed by an instance that dies is sent again once its lease
//!    runs out. Delivery is therefore *at least once*; every attempt carries the event's
//!    id (`Market-Event-Id`) for the receiver to drop duplicates.
//! 3. **Outcome.** A 2xx answer marks the delivery `DELIVERED`. Anything else is retried
//!    after an exponential back-off with jitter, until [`Settings::max_attempts`]
//!    (then `FAILED`); [`Settings::disable_after`] failed attempts in a row disable the
//!    webhook (its pending deliveries become `SKIPPED`).
//!
//! Each request is signed like Stripe's: `Market-Signature: t=<unix seconds>,v1=<hex
//! HMAC-SHA256 of "<t>.<body>" with the webhook's secret>` (README: verifying a delivery).

use crate::domain::events::{self, EventKind, Hub};
use crate::error::{AppError, AppResult, UserError, UserErrorCode};
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, Statement};
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How long a claimed delivery is reserved for the instance that claimed it, beyond the
/// request's timeout.
pub const LEASE: Duration = Duration::from_secs(10);
/// The shortest time between two rounds of an instance's dispatcher (fan-out, then
/// delivery): a busy market's events are handled a few milliseconds' worth at a time.
const MIN_ROUND: Duration = Duration::from_millis(5);
/// Deliveries claimed at once by one instance.
const CLAIM_BATCH: i64 = 32;
/// The longest back-off.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Longest URL and secret.
const MAX_URL_LEN: usize = 2048;
const SECRET_LEN: std::ops::RangeInclusive<usize> = 16..=256;

/// A webhook as managers see it (never its secret: only its last four characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i32,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub consecutive_failures: i32,
    pub disabled_reason: Option<String>,
    pub secret_hint: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(FromQueryResult)]
struct WebhookRow {
    id: i32,
    url: String,
    events: String,
    secret: String,
    enabled: bool,
    consecutive_failures: i32,
    disabled_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<WebhookRow> for Webhook {
    fn from(r: WebhookRow) -> Self {
        let hint: String = r
            .secret
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        Webhook {
            id: r.id,
            url: r.url,
            events: serde_json::from_str(&r.events).unwrap_or_default(),
            enabled: r.enabled,
            consecutive_failures: r.consecutive_failures,
            disabled_reason: r.disabled_reason,
            secret_hint: format!("…{hint}"),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// One delivery of an event to a webhook: its log line.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i32,
    /// The event's id (`Market-Event-Id`).
    pub event_seq: i64,
    pub event_kind: String,
    /// `PENDING`, `DELIVERED`, `FAILED` (attempts exhausted) or `SKIPPED` (webhook disabled).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// `?` placeholders as the backend writes them.
fn sql(backend: DbBackend, text: &str) -> String {
    if backend != DbBackend::Postgres {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut n = 0;
    for c in text.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

fn statement(
    db: &impl ConnectionTrait,
    text: &str,
    values: impl IntoIterator<Item = sea_orm::Value>,
) -> Statement {
    let backend = db.get_database_backend();
    Statement::from_sql_and_values(backend, sql(backend, text), values)
}

const WEBHOOK_COLUMNS: &str = "id, url, events, secret, enabled, consecutive_failures, \
     disabled_reason, created_at, updated_at";

fn check_secret(errors: &mut Vec<UserError>, secret: &str) {
    if !SECRET_LEN.contains(&secret.chars().count()) || secret.chars().any(char::is_control) {
        errors.push(UserError::new(
            UserErrorCode::Invalid,
            &["secret"],
            format!(
                "A secret has {} to {} characters, none of them control characters.",
                SECRET_LEN.start(),
                SECRET_LEN.end()
            ),
        ));
    }
}

/// Registers a webhook: an `http(s)` URL, the events it hears (at least one) and the
/// secret its deliveries are signed with. It receives the events published from then on.
pub async fn create(
    db: &DatabaseConnection,
    author: i32,
    url: &str,
    kinds: &[EventKind],
    secret: &str,
) -> AppResult<Webhook> {
    let mut errors = Vec::new();
    let url = url.trim();
    let parsed = url::Url::parse(url).ok();
    if url.len() > MAX_URL_LEN
        || !parsed
            .as_ref()
            .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
    {
        errors.push(UserError::new(
            UserErrorCode::Invalid,
            &["url"],
            format!("Give an http or https URL of at most {MAX_URL_LEN} characters."),
        ));
    }
    if kinds.is_empty() {
        errors.push(UserError::new(
            UserErrorCode::Invalid,
            &["events"],
            "Choose at least one event.",
        ));
    }
    check_secret(&mut errors, secret);
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }
    let mut names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let names = serde_json::to_string(&names)
        .map_err(|e| AppError::internal_caused("event names as JSON", e))?;
    let now = Utc::now();
    let row = WebhookRow::find_by_statement(statement(
        db,
        &format!(
            "INSERT INTO webhooks (url, events, secret, enabled, consecutive_failures, \
             created_by, created_at, updated_at) VALUES (?, ?, ?, TRUE, 0, ?, ?, ?) \
             RETURNING {WEBHOOK_COLUMNS}"
        ),
        [
            url.to_owned().into(),
            names.into(),
            secret.to_owned().into(),
            author.into(),
            now.into(),
            now.into(),
        ],
    ))
    .one(db)
    .await?
    .ok_or_else(|| AppError::internal("a webhook was not written"))?;
    Ok(row.into())
}

/// Every webhook, oldest first.
pub async fn list(db: &impl ConnectionTrait) -> AppResult<Vec<Webhook>> {
    let rows = WebhookRow::find_by_statement(statement(
        db,
        &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id"),
        [],
    ))
    .all(db)
    .await?;
    Ok(rows.into_iter().map(Webhook::from).collect())
}

/// Webhook `id`, or `NOT_FOUND`.
pub async fn get(db: &impl ConnectionTrait, id: i32) -> AppResult<Webhook> {
    WebhookRow::find_by_statement(statement(
        db,
        &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?"),
        [id.into()],
    ))
    .one(db)
    .await?
    .map(Webhook::from)
    .ok_or_else(|| AppError::user(UserErrorCode::NotFound, &["id"], "No such webhook."))
}

/// Disables webhook `id`: nothing more is sent to it (its pending deliveries are skipped).
pub async fn disable(db: &impl ConnectionTrait, id: i32) -> AppResult<Webhook> {
    db.execute_raw(statement(
        db,
        "UPDATE webhooks SET enabled = FALSE, disabled_reason = 'disabled by a manager', \
         updated_at = ? WHERE id = ?",
        [Utc::now().into(), id.into()],
    ))
    .await?;
    get(db, id).await
}

/// Replaces the secret of webhook `id`: the next attempts are signed with the new one.
pub async fn rotate_secret(db: &impl ConnectionTrait, id: i32, secret: &str) -> AppResult<Webhook> {
    let mut errors = Vec::new();
    check_secret(&mut errors, secret);
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }
    db.execute_raw(statement(
        db,
        "UPDATE webhooks SET secret = ?, updated_at = ? WHERE id = ?",
        [secret.to_owned().into(), Utc::now().into(), id.into()],
    ))
    .await?;
    get(db, id).await
}

/// The newest `limit` deliveries of webhook `id`, newest first.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    webhook_id: i32,
    limit: u64,
) -> AppResult<Vec<Delivery>> {
    Ok(Delivery::find_by_statement(statement(
        db,
        "SELECT d.id, d.webhook_id, d.event_seq, COALESCE(e.kind, '') AS event_kind, d.status, \
         d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, d.created_at, \
         d.delivered_at FROM webhook_deliveries d LEFT JOIN events e ON e.seq = d.event_seq \
         WHERE d.webhook_id = ? ORDER BY d.id DESC LIMIT ?",
        [webhook_id.into(), (limit as i64).into()],
    ))
    .all(db)
    .await?)
}

/// The `Market-Signature` header of `body` sent at `timestamp` (unix seconds):
/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length: `new_from_slice` cannot fail here.
    let mut mac = match Hmac::<sha2_hmac::Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// How deliveries are retried.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub retry_base: Duration,
    pub max_attempts: u32,
    pub disable_after: u32,
    pub timeout: Duration,
    /// Whether this instance delivers webhooks.
    pub deliver: bool,
    /// How often the scheduled checks run on this instance (`None`: never).
    pub scheduled_every: Option<Duration>,
    pub timezone: chrono_tz::Tz,
}

impl Settings {
    pub fn from_config(config: &crate::config::Config) -> Self {
        Settings {
            retry_base: Duration::from_millis(config.webhook_retry_base_ms.max(1)),
            max_attempts: config.webhook_max_attempts.max(1),
            disable_after: config.webhook_disable_after.max(1),
            timeout: Duration::from_secs(config.webhook_timeout_secs.max(1)),
            deliver: config.webhook_delivery == crate::config::Switch::On,
            scheduled_every: (config.scheduled_checks_secs > 0)
                .then(|| Duration::from_secs(config.scheduled_checks_secs)),
            timezone: config.market_timezone,
        }
    }

    /// The wait before attempt `attempts + 1`: the base doubled per attempt made, capped,
    /// times a random factor in [0.5, 1] (so receivers that failed together do not all
    /// get their retries at the same instant).
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doubled = self
            .retry_base
            .saturating_mul(1u32 << attempts.saturating_sub(1).min(20))
            .min(MAX_BACKOFF);
        doubled.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
    }
}

/// Fans the events published since the cursor, up to `latest` (the hub's newest `seq`),
/// out to the webhooks listening to them (see the module's documentation). Returns how
/// many deliveries it wrote.
pub async fn fan_out(db: &DatabaseConnection, latest: i64) -> AppResult<u64> {
    let cursor_sql = "SELECT position FROM event_cursors WHERE name = 'webhooks'";
    let position = |row: Option<sea_orm::QueryResult>| -> AppResult<Option<i64>> {
        Ok(match row {
            Some(row) => Some(row.try_get::<i64>("", "position")?),
            None => None,
        })
    };
    // A cheap look first: nothing new, no write transaction.
    let seen = position(db.query_one_raw(statement(db, cursor_sql, [])).await?)?.unwrap_or(0);
    if latest <= seen {
        return Ok(0);
    }
    // Nobody listening (the usual case): the cursor moves past the events in one
    // statement. A webhook enabled after this statement's snapshot was created after
    // these events were published, so it is not owed them.
    let skipped = db
        .execute_raw(statement(
            db,
            "UPDATE event_cursors SET position = ? WHERE name = 'webhooks' AND position < ? \
             AND NOT EXISTS (SELECT 1 FROM webhooks WHERE enabled)",
            [latest.into(), latest.into()],
        ))
        .await?
        .rows_affected();
    if skipped > 0 {
        return Ok(0);
    }
    let txn = crate::db::begin_write(db).await?;
    let locked = match db.get_database_backend() {
        DbBackend::Postgres => format!("{cursor_sql} FOR UPDATE SKIP LOCKED"),
        _ => cursor_sql.to_owned(),
    };
    let Some(from) = position(txn.query_one_raw(statement(&txn, &locked, [])).await?)? else {
        // Another instance is fanning out.
        txn.rollback().await?;
        return Ok(0);
    };
    let batch = events::after(&txn, from, 500).await?;
    let Some(last) = batch.last().map(|e| e.seq) else {
        txn.rollback().await?;
        return Ok(0);
    };
    let hooks: Vec<Webhook> = list(&txn)
        .await?
        .into_iter()
        .filter(|w| w.enabled)
        .collect();
    let pairs: Vec<(i32, i64)> = batch
        .iter()
        .flat_map(|e| {
            hooks
                .iter()
                .filter(|w| w.events.contains(&e.kind))
                .map(|w| (w.id, e.seq))
        })
        .collect();
    let mut written = 0;
    let now = Utc::now();
    for chunk in pairs.chunks(500) {
        let json = serde_json::to_string(chunk)
            .map_err(|e| AppError::internal_caused("deliveries as JSON", e))?;
        let text = match txn.get_database_backend() {
            DbBackend::Postgres => {
                "INSERT INTO webhook_deliveries (webhook_id, event_seq, status, attempts, \
                 next_attempt_at, created_at) \
                 SELECT (r.value ->> 0)::int, (r.value ->> 1)::bigint, 'PENDING', 0, ?, ? \
                 FROM json_array_elements(?::json) AS r(value) \
                 ON CONFLICT (webhook_id, event_seq) DO NOTHING"
            }
            _ => {
                "INSERT INTO webhook_deliveries (webhook_id, event_seq, status, attempts, \
                 next_attempt_at, created_at) \
                 SELECT value ->> 0, value ->> 1, 'PENDING', 0, ?, ? FROM json_each(?) WHERE true \
                 ON CONFLICT (webhook_id, event_seq) DO NOTHING"
            }
        };
        written += txn
            .execute_raw(statement(&txn, text, [now.into(), now.into(), json.into()]))
            .await?
            .rows_affected();
    }
    txn.execute_raw(statement(
        &txn,
        "UPDATE event_cursors SET position = ? WHERE name = 'webhooks'",
        [last.into()],
    ))
    .await?;
    txn.commit().await?;
    Ok(written)
}

#[derive(FromQueryResult)]
struct Claimed {
    id: i64,
    webhook_id: i32,
    event_seq: i64,
    attempts: i32,
}

/// Claims the due deliveries, sends them and records the outcomes. Returns how many
/// attempts it made.
pub async fn deliver_due(
    db: &DatabaseConnection,
    client: &reqwest::Client,
    settings: &Settings,
) -> AppResult<usize> {
    let now = Utc::now();
    let lease = chrono::Duration::from_std(LEASE + settings.timeout)
        .unwrap_or_else(|_| chrono::Duration::seconds(60));
    let text = match db.get_database_backend() {
        DbBackend::Postgres => {
            "UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = ? \
             FROM (SELECT id FROM webhook_deliveries WHERE status = 'PENDING' \
             AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED) due \
             WHERE d.id = due.id RETURNING d.id, d.webhook_id, d.event_seq, d.attempts"
        }
        _ => {
            "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ? \
             WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'PENDING' \
             AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?) \
             RETURNING id, webhook_id, event_seq, attempts"
        }
    };
    let claimed = Claimed::find_by_statement(statement(
        db,
        text,
        [(now + lease).into(), now.into(), CLAIM_BATCH.into()],
    ))
    .all(db)
    .await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    // The batch's webhooks and events in one read each.
    let list = |n: usize| vec!["?"; n].join(", ");
    let mut hook_ids: Vec<i32> = claimed.iter().map(|c| c.webhook_id).collect();
    hook_ids.sort_unstable();
    hook_ids.dedup();
    let hooks: HashMap<i32, WebhookRow> = WebhookRow::find_by_statement(statement(
        db,
        &format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id IN ({})",
            list(hook_ids.len())
        ),
        hook_ids.iter().map(|id| (*id).into()),
    ))
    .all(db)
    .await?
    .into_iter()
    .map(|h| (h.id, h))
    .collect();
    let seqs: Vec<i64> = claimed.iter().map(|c| c.event_seq).collect();
    let found: HashMap<i64, events::Event> = events::with_seqs(db, &seqs)
        .await?
        .into_iter()
        .map(|e| (e.seq, e))
        .collect();
    let sends = claimed.iter().map(|c| {
        let hook = hooks.get(&c.webhook_id).filter(|h| h.enabled);
        let event = found.get(&c.event_seq);
        async move {
            match (hook, event) {
                (Some(hook), Some(event)) => {
                    Outcome::Sent(send(client, settings, c, hook, event).await)
                }
                _ => Outcome::Skipped,
            }
        }
    });
    let outcomes = futures::future::join_all(sends).await;
    if let Err(err) = record(db, settings, &claimed, &outcomes).await {
        tracing::warn!(error = %err.cause_chain().unwrap_or_default(), "webhook deliveries could not be recorded");
    }
    Ok(claimed.len())
}

/// What became of one claimed delivery.
enum Outcome {
    /// Its webhook is disabled or gone, or its event is gone: not sent.
    Skipped,
    /// Sent: the answer's status code (none without an answer) and the error, if any.
    Sent((Option<i32>, Option<String>)),
}

/// One attempt of one claimed delivery: the status code (none without an answer) and
/// what went wrong, if anything.
async fn send(
    client: &reqwest::Client,
    settings: &Settings,
    claimed: &Claimed,
    hook: &WebhookRow,
    event: &events::Event,
) -> (Option<i32>, Option<String>) {
    let body = serde_json::json!({
        "id": event.seq.to_string(),
        "type": event.kind,
        "subject": event.subject,
        "createdAt": event.created_at,
        "data": event.payload,
    })
    .to_string();
    let timestamp = Utc::now().timestamp();
    let sent = client
        .post(&hook.url)
        .timeout(settings.timeout)
        .header("content-type", "application/json")
        .header("user-agent", "solidarity-market-webhooks")
        .header("market-event-id", event.seq.to_string())
        .header("market-event-type", event.kind.as_str())
        .header("market-delivery-attempt", claimed.attempts.to_string())
        .header(
            "market-signature",
            signature(&hook.secret, timestamp, body.as_bytes()),
        )
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => {
            (Some(i32::from(response.status().as_u16())), None)
        }
        Ok(response) => (
            Some(i32::from(response.status().as_u16())),
            Some(format!("answered {}", response.status())),
        ),
        Err(err) => (
            None,
            Some(if err.is_timeout() {
                "no answer in time".to_owned()
            } else if err.is_connect() {
                "could not connect".to_owned()
            } else {
                "the request failed".to_owned()
            }),
        ),
    }
}

/// Records a batch's outcomes in one write transaction: the deliveries that succeeded in
/// one statement, and their webhooks' failure counts reset; each failure on its own
/// (rare), counting towards its webhook's disabling.
async fn record(
    db: &DatabaseConnection,
    settings: &Settings,
    claimed: &[Claimed],
    outcomes: &[Outcome],
) -> AppResult<()> {
    let now = Utc::now();
    let list = |n: usize| vec!["?"; n].join(", ");
    let mut skipped = Vec::new();
    let mut delivered: Vec<(&Claimed, i32)> = Vec::new();
    let mut failed = Vec::new();
    for (c, outcome) in claimed.iter().zip(outcomes) {
        match outcome {
            Outcome::Skipped => skipped.push(c.id),
            Outcome::Sent((code, None)) => delivered.push((c, code.unwrap_or(200))),
            Outcome::Sent((code, Some(error))) => failed.push((c, *code, error.clone())),
        }
    }
    let txn = crate::db::begin_write(db).await?;
    if !skipped.is_empty() {
        txn.execute_raw(statement(
            &txn,
            &format!(
                "UPDATE webhook_deliveries SET status = 'SKIPPED' WHERE id IN ({})",
                list(skipped.len())
            ),
            skipped.iter().map(|id| (*id).into()),
        ))
        .await?;
    }
    if !delivered.is_empty() {
        // Successful answers are 2xx; the code kept is each delivery's own.
        let cases: String = delivered.iter().map(|_| " WHEN ? THEN ?").collect();
        let mut values: Vec<sea_orm::Value> = vec![now.into()];
        for (c, code) in &delivered {
            values.push(c.id.into());
            values.push((*code).into());
        }
        values.extend(delivered.iter().map(|(c, _)| c.id.into()));
        txn.execute_raw(statement(
            &txn,
            &format!(
                "UPDATE webhook_deliveries SET status = 'DELIVERED', delivered_at = ?, \
                 last_status_code = CASE id{cases} END, last_error = NULL WHERE id IN ({})",
                list(delivered.len())
            ),
            values,
        ))
        .await?;
        let mut hooks: Vec<i32> = delivered.iter().map(|(c, _)| c.webhook_id).collect();
        hooks.sort_unstable();
        hooks.dedup();
        txn.execute_raw(statement(
            &txn,
            &format!(
                "UPDATE webhooks SET consecutive_failures = 0 WHERE id IN ({}) \
                 AND consecutive_failures <> 0",
                list(hooks.len())
            ),
            hooks.iter().map(|id| (*id).into()),
        ))
        .await?;
    }
    let limit = i32::try_from(settings.disable_after).unwrap_or(i32::MAX);
    for (c, code, error) in failed {
        let attempts = u32::try_from(c.attempts).unwrap_or(u32::MAX);
        let exhausted = attempts >= settings.max_attempts;
        let next = now
            + chrono::Duration::from_std(settings.backoff(attempts))
                .unwrap_or_else(|_| chrono::Duration::seconds(60));
        txn.execute_raw(statement(
            &txn,
            "UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?, \
             last_status_code = ?, last_error = ? WHERE id = ?",
            [
                if exhausted { "FAILED" } else { "PENDING" }.into(),
                next.into(),
                code.into(),
                error.into(),
                c.id.into(),
            ],
        ))
        .await?;
        txn.execute_raw(statement(
            &txn,
            "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1, \
             enabled = CASE WHEN consecutive_failures + 1 >= ? THEN FALSE ELSE enabled END, \
             disabled_reason = CASE WHEN consecutive_failures + 1 >= ? \
             THEN 'too many failed deliveries in a row' ELSE disabled_reason END, \
             updated_at = ? WHERE id = ?",
            [limit.into(), limit.into(), now.into(), c.webhook_id.into()],
        ))
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// An instance's background work on events: publishing is the [`Hub`]'s; this fans
/// events out to webhooks, delivers them and runs the scheduled checks. It stops when the
/// hub is dropped.
pub fn start(hub: &Arc<Hub>, settings: Settings) {
    if !settings.deliver && settings.scheduled_every.is_none() {
        return;
    }
    let rx = hub.subscribe();
    tokio::spawn(run(Arc::downgrade(hub), rx, settings));
}

async fn run(hub: Weak<Hub>, mut rx: tokio::sync::watch::Receiver<i64>, settings: Settings) {
    let client = match reqwest::Client::builder()
        .connect_timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(error = %err, "no HTTP client: webhooks are not delivered");
            return;
        }
    };
    let tick = settings
        .retry_base
        .clamp(Duration::from_millis(20), Duration::from_secs(1));
    let mut last_checks: Option<std::time::Instant> = None;
    loop {
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(tick) => {}
        }
        // Under load the hub moves every few milliseconds: one round answers them all.
        let round = tokio::time::Instant::now();
        let Some(strong) = hub.upgrade() else {
            return;
        };
        let db = strong.db().clone();
        let latest = strong.latest();
        drop(strong);
        if settings.deliver {
            deliver(&db, latest, &client, &settings).await;
        }
        if let Some(every) = settings.scheduled_every
            && last_checks.is_none_or(|at| at.elapsed() >= every)
        {
            last_checks = Some(std::time::Instant::now());
            let now = Utc::now();
            let today = crate::domain::market_time::market_date(now, settings.timezone);
            match events::run_scheduled_checks(&db, today, now).await {
                Ok(0) => {}
                Ok(_) => {
                    if let Some(hub) = hub.upgrade() {
                        hub.poke();
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err.cause_chain().unwrap_or_default(), "scheduled checks failed")
                }
            }
        }
        tokio::time::sleep_until(round + MIN_ROUND).await;
    }
}

/// Fans out, then delivers until nothing is due (a burst drains without waiting for ticks).
async fn deliver(
    db: &DatabaseConnection,
    latest: i64,
    client: &reqwest::Client,
    settings: &Settings,
) {
    if let Err(err) = fan_out(db, latest).await {
        tracing::warn!(error = %err.cause_chain().unwrap_or_default(), "webhook fan-out failed");
    }
    loop {
        match deliver_due(db, client, settings).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => break,
            Err(err) => {
                tracing::warn!(error = %err.cause_chain().unwrap_or_default(), "webhook delivery failed");
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently:
        // `printf '1700000000.{}' | openssl dgst -sha256 -hmac whsec_test_secret_123`.
        let sig = signature("whsec_test_secret_123", 1_700_000_000, b"{}");
        assert_eq!(
            sig,
            "t=1700000000,v1=c61da39a83078801eed36e027527ac71718ca621c86556f5c44b6213bd6952cd"
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let s = Settings {
            retry_base: Duration::from_secs(10),
            max_attempts: 5,
            disable_after: 5,
            timeout: Duration::from_secs(1),
            deliver: true,
            scheduled_every: None,
            timezone: chrono_tz::Africa::Casablanca,
        };
        for (attempts, full) in [(1, 10), (2, 20), (3, 40), (30, 3600)] {
            let d = s.backoff(attempts);
            assert!(
                d >= Duration::from_secs(full) / 2 && d <= Duration::from_secs(full),
                "{attempts}: {d:?}"
            );
        }
    }

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(
            sql(DbBackend::Postgres, "a = ? AND b = ?"),
            "a = $1 AND b = $2"
        );
        assert_eq!(sql(DbBackend::Sqlite, "a = ?"), "a = ?");
    }
}
