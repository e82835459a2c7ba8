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

    /// Microseconds the DataLoader waits to gather keys into one batch.
    #[arg(
        long,
        env = "DATALOADER_DELAY_US",
        default_value_t = 200,
        global = true
    )]
    pub dataloader_delay_us: u64,
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
            dataloader_delay_us: 200,
        }
    }

    /// Today's date in the market's time zone.
    pub fn market_today(&self) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.market_timezone)
            .date_naive()
    }
}
