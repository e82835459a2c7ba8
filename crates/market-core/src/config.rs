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

/// A feature turned on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
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

    /// Seconds to wait for a database connection before answering `503
    /// SERVICE_UNAVAILABLE` (and before giving up at startup).
    #[arg(
        long,
        env = "DATABASE_ACQUIRE_TIMEOUT_SECS",
        default_value_t = 3,
        global = true
    )]
    pub database_acquire_timeout_secs: u64,

    /// Seconds a SQLite writer waits for the write lock held by another before answering
    /// `503 SERVICE_UNAVAILABLE`.
    #[arg(
        long,
        env = "SQLITE_BUSY_TIMEOUT_SECS",
        default_value_t = 5,
        global = true
    )]
    pub sqlite_busy_timeout_secs: u64,

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

    /// The languages of the catalog, the first being the one of its own columns (names
    /// and descriptions as entered; English in the demo). `ar:fr` makes Arabic fall back
    /// to French, then to the first language, when a text has no Arabic translation. Any
    /// BCP 47 language tag and any script work (e.g. `zgh`, Tamazight in Tifinagh).
    #[arg(
        long,
        env = "LANGUAGES",
        default_value = "en,fr,ar:fr",
        value_parser = crate::domain::i18n::Languages::parse,
        global = true
    )]
    pub languages: crate::domain::i18n::Languages,

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

    /// Largest cost of a query's data fields: each field counts 1, a list multiplies its
    /// selection by its page size (`first`/`last`, default 20), `nodes(ids:)` by the
    /// number of IDs, `limit` by its value; a mutation field counts 10 more. Refused with
    /// `QUERY_TOO_COMPLEX` before any work.
    #[arg(long, env = "MAX_QUERY_COST", default_value_t = 10_000, global = true)]
    pub max_query_cost: u64,

    /// Deepest nesting of data fields (introspection fields have their own limit).
    #[arg(long, env = "MAX_QUERY_DEPTH", default_value_t = 16, global = true)]
    pub max_query_depth: usize,

    /// Largest cost of the introspection part of a query (`__schema`, `__type`), costed
    /// with the schema's real list sizes; the standard introspection queries of graphql-js
    /// and graphql-core cost about 37,000 here (185 KB of answer).
    #[arg(
        long,
        env = "MAX_INTROSPECTION_COST",
        default_value_t = 100_000,
        global = true
    )]
    pub max_introspection_cost: u64,

    /// Deepest nesting inside `__schema` / `__type` (graphql-js's `TypeRef` needs 13).
    #[arg(
        long,
        env = "MAX_INTROSPECTION_DEPTH",
        default_value_t = 20,
        global = true
    )]
    pub max_introspection_depth: usize,

    /// Most aliases in a document.
    #[arg(long, env = "MAX_ALIASES", default_value_t = 30, global = true)]
    pub max_aliases: usize,

    /// Most selections in a document once its fragments are expanded (a "fragment bomb"
    /// is refused before anything walks it).
    #[arg(long, env = "MAX_SELECTIONS", default_value_t = 20_000, global = true)]
    pub max_selections: u64,

    /// Largest GraphQL document (the `query` text), in bytes: a bigger one is refused with
    /// `DOCUMENT_TOO_LARGE` before it is parsed. The standard introspection query is
    /// about 2 KB and the storefront's documents well under 4 KB.
    #[arg(
        long,
        env = "MAX_DOCUMENT_BYTES",
        default_value_t = 32 * 1024,
        global = true
    )]
    pub max_document_bytes: usize,

    /// The size from which a document is "expensive" whatever its cost (parsing it is the
    /// work): limited per client like the queries over `EXPENSIVE_QUERY_COST`.
    #[arg(
        long,
        env = "EXPENSIVE_DOCUMENT_BYTES",
        default_value_t = 8 * 1024,
        global = true
    )]
    pub expensive_document_bytes: usize,

    /// Largest response body, in bytes; a bigger answer is replaced by a
    /// `RESPONSE_TOO_LARGE` error.
    #[arg(
        long,
        env = "MAX_RESPONSE_BYTES",
        default_value_t = 4 * 1024 * 1024,
        global = true
    )]
    pub max_response_bytes: usize,

    /// Largest request body, in bytes (413 beyond).
    #[arg(
        long,
        env = "MAX_BODY_BYTES",
        default_value_t = 1024 * 1024,
        global = true
    )]
    pub max_body_bytes: usize,

    /// Minutes over which failed sign-ins are counted.
    #[arg(
        long,
        env = "LOGIN_WINDOW_MINUTES",
        default_value_t = 15,
        global = true
    )]
    pub login_window_minutes: i64,

    /// Sign-in attempts for one account from one client address per window; more are
    /// refused with `THROTTLED` before any password is checked (this address only).
    #[arg(
        long,
        env = "LOGIN_ATTEMPTS_PER_ACCOUNT_AND_SOURCE",
        default_value_t = 10,
        global = true
    )]
    pub login_attempts_per_account_and_source: u64,

    /// Failed sign-ins from one client address, all accounts together, per window
    /// (password spraying).
    #[arg(
        long,
        env = "LOGIN_FAILURES_PER_SOURCE",
        default_value_t = 50,
        global = true
    )]
    pub login_failures_per_source: u64,

    /// Failed sign-ins of one account, from anywhere, per window before each further
    /// attempt from a place the account never signed in from waits a growing delay
    /// (1 s, 2 s, 4 s… up to `LOGIN_MAX_DELAY_SECS`). Places it signed in from before
    /// are never delayed, so a stranger cannot lock the owner out.
    #[arg(
        long,
        env = "LOGIN_ACCOUNT_DELAY_AFTER",
        default_value_t = 5,
        global = true
    )]
    pub login_account_delay_after: u64,

    /// Longest delay between two sign-ins of one account from unknown places.
    #[arg(
        long,
        env = "LOGIN_MAX_DELAY_SECS",
        default_value_t = 60,
        global = true
    )]
    pub login_max_delay_secs: i64,

    /// Registrations from one client address per hour (counted in the database, so the
    /// limit holds across server instances).
    #[arg(
        long,
        env = "REGISTRATIONS_PER_SOURCE_PER_HOUR",
        default_value_t = 10,
        global = true
    )]
    pub registrations_per_source_per_hour: u64,

    /// Reverse proxies whose `X-Forwarded-For` is believed, as addresses or CIDR blocks,
    /// comma-separated (e.g. `127.0.0.1,10.0.0.0/8`). The client is the right-most address
    /// of that header not in this list; with an empty list (the default) it is the peer.
    /// Every per-client limit is keyed by that address.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net, global = true)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// `login` mutations one client may send per minute (HTTP 429 `RATE_LIMITED` beyond),
    /// before the per-account limits kept in the database.
    #[arg(long, env = "SIGN_INS_PER_MINUTE", default_value_t = 30, global = true)]
    pub sign_ins_per_minute: u32,

    /// `register` mutations one client may send per minute.
    #[arg(
        long,
        env = "REGISTRATIONS_PER_MINUTE",
        default_value_t = 5,
        global = true
    )]
    pub registrations_per_minute: u32,

    /// Other mutations one client may send per minute.
    #[arg(
        long,
        env = "MUTATIONS_PER_MINUTE",
        default_value_t = 300,
        global = true
    )]
    pub mutations_per_minute: u32,

    /// The cost from which a query is "expensive": limited per client in rate and in
    /// concurrency.
    #[arg(
        long,
        env = "EXPENSIVE_QUERY_COST",
        default_value_t = 1_000,
        global = true
    )]
    pub expensive_query_cost: u64,

    /// Expensive queries one client may send per minute.
    #[arg(
        long,
        env = "EXPENSIVE_QUERIES_PER_MINUTE",
        default_value_t = 60,
        global = true
    )]
    pub expensive_queries_per_minute: u32,

    /// Requests of the expensive kinds (sign-in, registration, mutations, expensive
    /// queries) one client may have running at once.
    #[arg(
        long,
        env = "MAX_CONCURRENT_EXPENSIVE_PER_CLIENT",
        default_value_t = 2,
        global = true
    )]
    pub max_concurrent_expensive_per_client: usize,

    /// Seconds a client has to send a request's headers (slow connections are closed).
    #[arg(
        long,
        env = "HEADER_READ_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    pub header_read_timeout_secs: u64,

    /// Seconds a client has to send a whole request body (408 beyond).
    #[arg(
        long,
        env = "BODY_READ_TIMEOUT_SECS",
        default_value_t = 15,
        global = true
    )]
    pub body_read_timeout_secs: u64,

    /// Password hashes (argon2id, ~19 MiB and tens of milliseconds each) computed at once;
    /// more sign-ins wait their turn. `0`: one per core.
    #[arg(
        long,
        env = "MAX_CONCURRENT_PASSWORD_HASHES",
        default_value_t = 0,
        global = true
    )]
    pub max_concurrent_password_hashes: usize,

    /// Seconds the requests in flight have to finish once shutdown begins (SIGTERM,
    /// ctrl-c); connections still open then are dropped.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 30, global = true)]
    pub shutdown_grace_secs: u64,

    /// Most connections open at once; more wait to be accepted.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 4_096, global = true)]
    pub max_connections: usize,

    /// Bearer token that lets a scraper read `/metrics` from any address.
    #[arg(long, env = "METRICS_TOKEN", global = true, hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Client addresses (CIDR) allowed to read `/metrics` without the token.
    #[arg(long, env = "METRICS_ALLOW", value_delimiter = ',', value_parser = parse_net, default_value = "127.0.0.0/8,::1/128", global = true)]
    pub metrics_allow: Vec<ipnet::IpNet>,

    /// The in-memory response cache of public catalog queries (`off` to measure the
    /// uncached path). It is never stale: entries are keyed by the catalog's version.
    #[arg(long, env = "RESPONSE_CACHE", value_enum, default_value_t = Switch::On, global = true)]
    pub response_cache: Switch,

    /// Megabytes the response cache may hold (the least used answers go first).
    #[arg(long, env = "RESPONSE_CACHE_MB", default_value_t = 64, global = true)]
    pub response_cache_mb: u64,

    /// `max-age` (seconds) of the `Cache-Control` of public catalog answers to `GET
    /// /graphql`: how stale a CDN or browser copy may be.
    #[arg(
        long,
        env = "HTTP_CACHE_MAX_AGE_SECS",
        default_value_t = 5,
        global = true
    )]
    pub http_cache_max_age_secs: u32,

    /// `stale-while-revalidate` (seconds) of those answers.
    #[arg(
        long,
        env = "HTTP_CACHE_STALE_WHILE_REVALIDATE_SECS",
        default_value_t = 30,
        global = true
    )]
    pub http_cache_stale_while_revalidate_secs: u32,

    /// Where product and cooperative images are kept: a folder (`./images`,
    /// `file:///var/lib/market/images`) or S3-compatible storage (`s3://bucket/prefix`,
    /// with the `AWS_*` variables: `AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`…).
    /// Default: a folder beside the SQLite file (`solidarity-market-images` for
    /// `solidarity-market.db`), or `./solidarity-market-images` on PostgreSQL.
    #[arg(long, env = "IMAGE_STORE", global = true)]
    pub image_store: Option<String>,

    /// Largest image file accepted by an upload, in bytes (`IMAGE_TOO_LARGE` above it).
    #[arg(
        long,
        env = "MAX_IMAGE_BYTES",
        default_value_t = 10 * 1024 * 1024,
        global = true
    )]
    pub max_image_bytes: usize,

    /// Largest image accepted, in pixels (width × height): a small file can hold a
    /// huge image (a decompression bomb), refused with `IMAGE_TOO_MANY_PIXELS` before
    /// it is decoded.
    #[arg(
        long,
        env = "MAX_IMAGE_PIXELS",
        default_value_t = 40_000_000,
        global = true
    )]
    pub max_image_pixels: u64,

    /// Prefix of the image URLs the API gives (`https://cdn.example.ma`); empty: paths
    /// on this server (`/images/…`).
    #[arg(long, env = "IMAGE_BASE_URL", default_value = "", global = true)]
    pub image_base_url: String,

    /// Whether this instance delivers webhooks (`off`: an instance that only serves the
    /// API; the others deliver, and deliveries wait in the database while none runs).
    #[arg(long, env = "WEBHOOK_DELIVERY", value_enum, default_value_t = Switch::On, global = true)]
    pub webhook_delivery: Switch,

    /// Webhooks: the first retry's delay in milliseconds; each next one doubles it (up to
    /// an hour), with random jitter (half to all of it).
    #[arg(
        long,
        env = "WEBHOOK_RETRY_BASE_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub webhook_retry_base_ms: u64,

    /// Webhooks: attempts of one delivery before it is given up (`FAILED`).
    #[arg(
        long,
        env = "WEBHOOK_MAX_ATTEMPTS",
        default_value_t = 12,
        global = true
    )]
    pub webhook_max_attempts: u32,

    /// Webhooks: failed attempts in a row (any delivery) after which a webhook is disabled.
    #[arg(
        long,
        env = "WEBHOOK_DISABLE_AFTER",
        default_value_t = 30,
        global = true
    )]
    pub webhook_disable_after: u32,

    /// Webhooks: seconds a receiver has to answer one delivery.
    #[arg(
        long,
        env = "WEBHOOK_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    pub webhook_timeout_secs: u64,

    /// Seconds between two runs of the scheduled checks (certificates expiring, orders
    /// left unpaid, payouts overdue); 0 turns them off on this instance.
    #[arg(
        long,
        env = "SCHEDULED_CHECKS_SECS",
        default_value_t = 300,
        global = true
    )]
    pub scheduled_checks_secs: u64,

    /// The instant "today" is reckoned from, instead of the system clock. Not a flag: tests
    /// set it to stand on a given day (or minute) in the market's time zone.
    #[arg(skip)]
    pub now_override: Option<chrono::DateTime<chrono::Utc>>,
}

impl Config {
    /// Every setting at its default, whatever the environment says. The defaults are
    /// written once, in the `default_value`s of the flags above: this parses an empty
    /// command line with the environment fallbacks switched off.
    pub fn defaults() -> Self {
        use clap::{Args, Command, FromArgMatches};
        let command =
            Self::augment_args(Command::new("defaults")).mut_args(|arg| arg.env(None::<&str>));
        let parsed = command
            .try_get_matches_from(["defaults"])
            .and_then(|matches| Self::from_arg_matches(&matches));
        match parsed {
            Ok(config) => config,
            // Only a flag without a default (or a default its parser refuses) gets here,
            // and the unit tests parse the defaults.
            Err(err) => panic!("the configuration's defaults do not parse: {err}"),
        }
    }

    /// The defaults, on `database_url`, for tests and tools: any free port, and no demo
    /// catalog.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            bind_addr: ([127, 0, 0, 1], 0).into(),
            seed_demo: false,
            ..Self::defaults()
        }
    }

    /// The current instant: the system clock, or the pinned one.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.now_override.unwrap_or_else(chrono::Utc::now)
    }

    /// Today's date in the market's time zone.
    pub fn market_today(&self) -> chrono::NaiveDate {
        crate::domain::market_time::market_date(self.now(), self.market_timezone)
    }
}

/// An address (`10.0.0.1`) or a block (`10.0.0.0/8`).
fn parse_net(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is neither an IP address nor a CIDR block"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_defaults_are_the_flags_defaults() {
        let config = Config::defaults();
        assert_eq!(config.max_query_depth, 16);
        assert_eq!(
            config.database_url,
            "sqlite://solidarity-market.db?mode=rwc"
        );
        assert_eq!(config.bind_addr, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(config.market_timezone, chrono_tz::Africa::Casablanca);
        assert!(config.seed_demo);
        assert_eq!(config.max_document_bytes, 32 * 1024);
        assert_eq!(config.metrics_allow.len(), 2);
        assert!(config.trusted_proxies.is_empty());
        assert_eq!(config.now_override, None);
        assert_eq!(
            config.languages.find("ar").unwrap().chain,
            ["ar", "fr", "en"]
        );

        let tools = Config::for_database("sqlite::memory:");
        assert_eq!(tools.database_url, "sqlite::memory:");
        assert_eq!(tools.bind_addr.port(), 0);
        assert!(!tools.seed_demo);
        assert_eq!(tools.request_timeout_secs, config.request_timeout_secs);
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
