//! One `Config`, read from command-line flags with environment-variable fallbacks.

use chrono_tz::Tz;
use clap::{Args, ValueEnum};
use std::net::SocketAddr;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Everything the server and the CLI need to know about their environment.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database to use: `sqlite://FILE?mode=rwc` (embedded, the default) or
    /// `postgres://USER@HOST:PORT/DB`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://solidarity-market.db?mode=rwc",
        global = true
    )]
    pub database_url: String,

    /// Largest number of pooled database connections.
    #[arg(
        long,
        env = "DATABASE_MAX_CONNECTIONS",
        default_value_t = 16,
        global = true
    )]
    pub database_max_connections: u32,

    /// Address the HTTP server listens on.
    #[arg(
        long,
        env = "BIND_ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind_addr: SocketAddr,

    /// Log filter, as `info`, `debug` or `solidarity_market=debug,sqlx=warn`.
    #[arg(long, env = "LOG_LEVEL", default_value = "info", global = true)]
    pub log_level: String,

    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// IANA time zone of the market: dates (sales days, certification expiry, payout
    /// periods) are reckoned there.
    #[arg(
        long,
        env = "MARKET_TIMEZONE",
        default_value = "Africa/Casablanca",
        global = true
    )]
    pub market_timezone: Tz,

    /// Fill an empty database with the demo catalog when the server starts.
    #[arg(long, env = "SEED_DEMO", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub seed_demo: bool,

    /// Seconds a GraphQL request may run before it is answered with a timeout.
    #[arg(
        long,
        env = "REQUEST_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub request_timeout_secs: u64,

    /// Hours a sign-in token stays valid.
    #[arg(long, env = "TOKEN_TTL_HOURS", default_value_t = 168, global = true)]
    pub token_ttl_hours: i64,

    /// Hours after which an unpaid `PLACED` order counts as stale (`cancelStaleOrders`).
    #[arg(long, env = "STALE_ORDER_HOURS", default_value_t = 48, global = true)]
    pub stale_order_hours: i32,

    /// Days after the end of a payout period by which its statement must be paid (the
    /// statement's `dueOn`).
    #[arg(
        long,
        env = "PAYMENT_TERMS_DAYS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u16).range(0..=366),
        global = true
    )]
    pub payment_terms_days: u16,

    /// Microseconds the DataLoader waits to gather keys into one batch.
    #[arg(
        long,
        env = "DATALOADER_DELAY_US",
        default_value_t = 200,
        global = true
    )]
    pub dataloader_delay_us: u64,

    /// The instant "today" is reckoned from, instead of the system clock. Not a flag: tests
    /// set it to stand on a given day (or minute) in the market's time zone.
    #[arg(skip)]
    pub now_override: Option<chrono::DateTime<chrono::Utc>>,
}

impl Config {
    /// A configuration with every default, for tests and tools.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            database_max_connections: 16,
            bind_addr: ([127, 0, 0, 1], 0).into(),
            log_level: "info".into(),
            log_format: LogFormat::Text,
            market_timezone: chrono_tz::Africa::Casablanca,
            seed_demo: false,
            request_timeout_secs: 30,
            token_ttl_hours: 168,
            stale_order_hours: 48,
            payment_terms_days: 30,
            dataloader_delay_us: 200,
            now_override: None,
        }
    }

    /// The current instant: the system clock, or the pinned one.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.now_override.unwrap_or_else(chrono::Utc::now)
    }

    /// Today's date in the market's time zone.
    pub fn market_today(&self) -> chrono::NaiveDate {
        market_date(self.now(), self.market_timezone)
    }
}

/// The calendar date of `instant` in `tz`: 23:30 UTC on 31 December is already 1 January
/// in Casablanca (UTC+1), except during Ramadan when Morocco keeps UTC+0.
pub fn market_date(instant: chrono::DateTime<chrono::Utc>, tz: Tz) -> chrono::NaiveDate {
    instant.with_timezone(&tz).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_market_date_is_reckoned_in_casablanca_not_utc() {
        let casablanca = chrono_tz::Africa::Casablanca;
        // Winter: Morocco is UTC+1, so the market's day starts at 23:00 UTC.
        let new_year_eve = Utc.with_ymd_and_hms(2025, 12, 31, 23, 30, 0).unwrap();
        assert_eq!(new_year_eve.date_naive(), date(2025, 12, 31));
        assert_eq!(market_date(new_year_eve, casablanca), date(2026, 1, 1));
        let before = Utc.with_ymd_and_hms(2025, 12, 31, 22, 59, 59).unwrap();
        assert_eq!(market_date(before, casablanca), date(2025, 12, 31));
        // Ramadan 2026 (from mid-February to mid-March): Morocco keeps UTC+0.
        let ramadan = Utc.with_ymd_and_hms(2026, 3, 1, 23, 30, 0).unwrap();
        assert_eq!(market_date(ramadan, casablanca), date(2026, 3, 1));
    }

    #[test]
    fn a_pinned_instant_overrides_the_clock() {
        let config = Config {
            now_override: Some(Utc.with_ymd_and_hms(2025, 12, 31, 23, 30, 0).unwrap()),
            ..Config::for_database("sqlite::memory:")
        };
        assert_eq!(config.market_today(), date(2026, 1, 1));
    }
}
