//! Sign-in and registration limits that hold under concurrency and across server
//! instances, and that a stranger cannot turn against an account's owner.
//!
//! Every attempt is **counted before any password is checked**: its rows go into
//! `login_attempts` first (one INSERT, committed), then the window is counted, own rows
//! included. The k-th attempt to commit sees at least k rows, so however many race, at
//! most the limit are verified (the check-then-act version let 100 concurrent guesses
//! through). Three counters:
//!
//! | key | limit | refuses |
//! |---|---|---|
//! | account + source address | `LOGIN_ATTEMPTS_PER_ACCOUNT_AND_SOURCE` (10 / 15 min) | that address, for that account |
//! | source address | `LOGIN_FAILURES_PER_SOURCE` (50 / 15 min) | that address (password spraying) |
//! | account | `LOGIN_ACCOUNT_DELAY_AFTER` (5 / 15 min) | nothing: attempts from places the account never signed in from then wait a delay that doubles with each failure (1 s … `LOGIN_MAX_DELAY_SECS`), one at a time |
//!
//! So an attacker at one address gets 10 guesses per account per window; many addresses
//! together get one guess per delay (60 s at most); and the owner, signing in from a
//! place they signed in from before (`sign_in_sources`), is never refused because of
//! someone else's guesses. A successful sign-in removes its own rows: only failures count.
//!
//! Registrations are counted the same way per source address
//! (`REGISTRATIONS_PER_SOURCE_PER_HOUR`). Unknown e-mails are counted exactly like known
//! ones, so the limits reveal nothing about which accounts exist.

use crate::config::Config;
use crate::entities::{account_throttle, login_attempt, sign_in_source};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect, Set,
};
use std::net::IpAddr;

/// The limits, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub window: Duration,
    pub per_account_and_source: u64,
    pub failures_per_source: u64,
    pub account_delay_after: u64,
    pub max_delay: Duration,
    pub registrations_per_hour: u64,
}

impl Limits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            window: Duration::minutes(config.login_window_minutes),
            per_account_and_source: config.login_attempts_per_account_and_source,
            failures_per_source: config.login_failures_per_source,
            account_delay_after: config.login_account_delay_after,
            max_delay: Duration::seconds(config.login_max_delay_secs),
            registrations_per_hour: config.registrations_per_source_per_hour,
        }
    }
}

/// How long a place the account signed in from stays known.
const KNOWN_SOURCE_DAYS: i64 = 90;

fn source_label(source: Option<IpAddr>) -> String {
    source.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// An admitted sign-in attempt; tell it how it ended.
pub struct Attempt {
    email: String,
    source: String,
    keys: [String; 3],
    at: DateTime<Utc>,
}

fn throttled(message: &str, retry_after: Duration) -> AppError {
    AppError::Throttled {
        message: message.to_owned(),
        retry_after_secs: retry_after.num_seconds().max(1) as u64,
    }
}

#[derive(FromQueryResult)]
struct KeyCount {
    throttle_key: String,
    n: i64,
}

async fn record_and_count(
    db: &impl ConnectionTrait,
    keys: &[String],
    at: DateTime<Utc>,
    since: DateTime<Utc>,
) -> AppResult<Vec<u64>> {
    login_attempt::Entity::insert_many(keys.iter().map(|key| login_attempt::ActiveModel {
        throttle_key: Set(key.clone()),
        attempted_at: Set(at),
        ..Default::default()
    }))
    .exec_without_returning(db)
    .await?;
    let counts = login_attempt::Entity::find()
        .select_only()
        .column(login_attempt::Column::ThrottleKey)
        .column_as(login_attempt::Column::Id.count(), "n")
        .filter(login_attempt::Column::ThrottleKey.is_in(keys.iter().cloned()))
        .filter(login_attempt::Column::AttemptedAt.gt(since))
        .group_by(login_attempt::Column::ThrottleKey)
        .into_model::<KeyCount>()
        .all(db)
        .await?;
    Ok(keys
        .iter()
        .map(|key| {
            counts
                .iter()
                .find(|c| &c.throttle_key == key)
                .map_or(0, |c| c.n.max(0) as u64)
        })
        .collect())
}

/// Counts a sign-in attempt for `email` from `source` and decides whether its password
/// may be checked. Refuses with `THROTTLED` (and `retryAfter`) otherwise.
pub async fn admit_login(
    db: &impl ConnectionTrait,
    limits: Limits,
    email: &str,
    source: Option<IpAddr>,
) -> AppResult<Attempt> {
    let email = email.trim().to_lowercase();
    let src = source_label(source);
    let now = Utc::now();
    let keys = [
        format!("login:{email}|{src}"),
        format!("login-source:{src}"),
        format!("login-account:{email}"),
    ];
    let counts = record_and_count(db, &keys, now, now - limits.window).await?;
    let (pair, by_source, account) = (counts[0], counts[1], counts[2]);
    if pair > limits.per_account_and_source || by_source > limits.failures_per_source {
        return Err(throttled(
            "Too many sign-in attempts from this address; try again later.",
            limits.window,
        ));
    }
    if account > limits.account_delay_after && !known_source(db, &email, &src, now).await? {
        // One attempt at a time from unknown places, each after a delay that doubles with
        // the account's failures: claim the next slot, or wait for it.
        let excess = (account - limits.account_delay_after - 1).min(30) as u32;
        let delay = (Duration::seconds(1) * 2_i32.saturating_pow(excess)).min(limits.max_delay);
        account_throttle::Entity::insert(account_throttle::ActiveModel {
            email: Set(email.clone()),
            next_attempt_at: Set(DateTime::<Utc>::UNIX_EPOCH),
        })
        .on_conflict(
            OnConflict::column(account_throttle::Column::Email)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        let claimed = account_throttle::Entity::update_many()
            .col_expr(
                account_throttle::Column::NextAttemptAt,
                Expr::value(now + delay),
            )
            .filter(account_throttle::Column::Email.eq(email.clone()))
            .filter(account_throttle::Column::NextAttemptAt.lte(now))
            .exec(db)
            .await?
            .rows_affected;
        if claimed == 0 {
            let next = account_throttle::Entity::find_by_id(email.clone())
                .one(db)
                .await?
                .map_or(now + delay, |t| t.next_attempt_at);
            return Err(throttled(
                "Too many failed sign-ins for this account lately; try again shortly.",
                next - now,
            ));
        }
    }
    Ok(Attempt {
        email,
        source: src,
        keys,
        at: now,
    })
}

async fn known_source(
    db: &impl ConnectionTrait,
    email: &str,
    source: &str,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    Ok(sign_in_source::Entity::find()
        .filter(sign_in_source::Column::Email.eq(email))
        .filter(sign_in_source::Column::Source.eq(source))
        .filter(sign_in_source::Column::LastSuccessAt.gt(now - Duration::days(KNOWN_SOURCE_DAYS)))
        .one(db)
        .await?
        .is_some())
}

impl Attempt {
    /// The password was right: this attempt was not a failure (its rows go), the
    /// address's failures for this account are forgiven, and the address becomes a
    /// place this account is known to sign in from.
    pub async fn succeeded(self, db: &impl ConnectionTrait) -> AppResult<()> {
        login_attempt::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(login_attempt::Column::ThrottleKey.eq(self.keys[0].clone()))
                    .add(
                        Condition::all()
                            .add(
                                login_attempt::Column::ThrottleKey
                                    .is_in([self.keys[1].clone(), self.keys[2].clone()]),
                            )
                            .add(login_attempt::Column::AttemptedAt.eq(self.at)),
                    ),
            )
            .exec(db)
            .await?;
        sign_in_source::Entity::insert(sign_in_source::ActiveModel {
            email: Set(self.email),
            source: Set(self.source),
            last_success_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([
                sign_in_source::Column::Email,
                sign_in_source::Column::Source,
            ])
            .update_column(sign_in_source::Column::LastSuccessAt)
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        Ok(())
    }

    /// The password was wrong: the rows stay, as failures. Now and then, rows older than
    /// a day are swept.
    pub async fn failed(self, db: &impl ConnectionTrait) -> AppResult<()> {
        if rand::random::<u8>() < 4 {
            login_attempt::Entity::delete_many()
                .filter(login_attempt::Column::AttemptedAt.lt(self.at - Duration::days(1)))
                .exec(db)
                .await?;
        }
        Ok(())
    }
}

/// Counts a registration from `source` and refuses it with `THROTTLED` beyond the limit.
pub async fn admit_registration(
    db: &impl ConnectionTrait,
    limits: Limits,
    source: Option<IpAddr>,
) -> AppResult<()> {
    let now = Utc::now();
    let key = format!("register:{}", source_label(source));
    let counts = record_and_count(
        db,
        std::slice::from_ref(&key),
        now,
        now - Duration::hours(1),
    )
    .await?;
    if counts[0] > limits.registrations_per_hour {
        return Err(throttled(
            "Too many registrations from this address; try again later.",
            Duration::hours(1),
        ));
    }
    Ok(())
}
