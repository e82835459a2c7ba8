//! Errors and their client codes. Every error a client sees carries
//! `extensions.code`; database and internal causes are logged, never sent.

/// Codes of top-level GraphQL errors (`extensions.code`).
pub mod codes {
    /// No valid bearer token was given where one is needed.
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// The viewer is signed in but not allowed to do this.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// An argument is malformed (an ID of the wrong type, a cursor that is not ours…).
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    /// A page asked for more items than the maximum, or `first` with `last`.
    pub const PAGE_SIZE_EXCEEDED: &str = "PAGE_SIZE_EXCEEDED";
    /// The object asked for directly does not exist.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// Too many attempts; try again later.
    pub const THROTTLED: &str = "THROTTLED";
    /// The document did not parse or validate (unknown field, too deep, too complex…).
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    /// The query costs more than the limit (`extensions.cost`, `extensions.maximumCost`).
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    /// The response would be larger than the limit.
    pub const RESPONSE_TOO_LARGE: &str = "RESPONSE_TOO_LARGE";
    /// The GraphQL document is larger than the limit (`extensions.value`, `maximum`, in
    /// bytes); refused before it is parsed.
    pub const DOCUMENT_TOO_LARGE: &str = "DOCUMENT_TOO_LARGE";
    /// This client sent too many requests of this kind lately (HTTP 429, `Retry-After`).
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    /// The database cannot be reached now (HTTP 503); try again shortly.
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
    /// The request took longer than the limit.
    pub const TIMEOUT: &str = "TIMEOUT";
    /// Something went wrong on our side; details are in the server log.
    pub const INTERNAL: &str = "INTERNAL_SERVER_ERROR";
}

/// What a client is told when the database cannot be reached.
pub const UNAVAILABLE_MESSAGE: &str =
    "the service cannot reach its database right now; try again in a few seconds";

/// The error type of every fallible operation of the domain.
///
/// It deliberately does not implement `Display`: async-graphql converts any `Display`
/// type into an error without a code, so a stray `?` would drop the code (and could leak a
/// database message). Without `Display`, the only conversion is ours, through `extend`.
#[derive(Debug)]
pub enum AppError {
    /// The input was refused for a reason the user can fix; nothing was written. Mutations
    /// return these as `userErrors`.
    User(Vec<UserError>),
    Unauthenticated,
    /// Signed in but not allowed; the message says which rule refused (see
    /// `domain::policy`).
    Forbidden(String),
    NotFound(String),
    BadInput {
        code: &'static str,
        message: String,
    },
    /// Too many attempts lately; `retryAfter` seconds in the error's extensions.
    Throttled {
        message: String,
        retry_after_secs: u64,
    },
    /// The database cannot be reached (or is locked) now; the detail is logged.
    Unavailable(Cause),
    Database(sea_orm::DbErr),
    /// A failure on our side (a broken invariant, a task that died, a write that could not
    /// be encoded): what we were doing and why, logged with its whole cause chain.
    Internal(Cause),
}

/// What the server was doing when it failed, and the error that made it fail. The client
/// is told neither ([`AppError::message`] is generic); [`AppError::log`] writes both, the
/// cause with its whole chain of sources.
///
/// `AppError::Internal("order vanished".into())` still reads as before; errors with a
/// cause use [`AppError::internal_caused`] (or [`Cause::caused_by`]).
#[derive(Debug)]
pub struct Cause {
    context: std::borrow::Cow<'static, str>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Cause {
    /// A failure with no underlying error (a broken invariant).
    pub fn new(context: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        Self {
            context: context.into(),
            source: None,
        }
    }

    /// A failure caused by `source`, kept (with its own sources) for the log.
    pub fn caused_by(
        context: impl Into<std::borrow::Cow<'static, str>>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// What the server was doing.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// `context: cause: cause of the cause: …`, for the log and for people at the CLI.
    pub fn chain(&self) -> String {
        render_chain(self)
    }
}

impl From<&'static str> for Cause {
    fn from(context: &'static str) -> Self {
        Self::new(context)
    }
}

impl From<String> for Cause {
    fn from(context: String) -> Self {
        Self::new(context)
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.context)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// An error and its sources, joined by `": "`, like anyhow's `{:#}`. A source whose text
/// its parent already shows (sea-orm's and sqlx's errors repeat their cause) is skipped.
pub fn render_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut last = text.clone();
    let mut next = err.source();
    while let Some(cause) = next {
        let shown = cause.to_string();
        if !last.contains(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        last = shown;
        next = cause.source();
    }
    text
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Database(err)
    }
}

/// A failed batched read (the API's DataLoader shares one error among the keys of a batch).
impl From<std::sync::Arc<sea_orm::DbErr>> for AppError {
    fn from(err: std::sync::Arc<sea_orm::DbErr>) -> Self {
        let cause = Cause::caused_by("batched load failed", err.clone());
        if crate::db::is_unavailable(&err) {
            AppError::Unavailable(cause)
        } else {
            AppError::Internal(cause)
        }
    }
}

impl AppError {
    /// One user error on `field`.
    pub fn user(code: UserErrorCode, field: &[&str], message: impl Into<String>) -> Self {
        Self::User(vec![UserError::new(code, field, message)])
    }

    /// A failure on our side with no underlying error (a broken invariant).
    pub fn internal(context: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        Self::Internal(Cause::new(context))
    }

    /// A failure on our side caused by `source`, whose chain goes to the log.
    pub fn internal_caused(
        context: impl Into<std::borrow::Cow<'static, str>>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Internal(Cause::caused_by(context, source))
    }

    /// A failure to open the database: `Unavailable` with where it looked and why (see
    /// `db::connect_with`), any other error as it is.
    pub fn from_connect(err: sea_orm::DbErr) -> Self {
        match err {
            sea_orm::DbErr::Conn(sea_orm::RuntimeErr::Internal(why)) => {
                Self::Unavailable(why.into())
            }
            other => Self::Database(other),
        }
    }

    /// A malformed argument, with the generic `BAD_USER_INPUT` code.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadInput {
            code: codes::BAD_USER_INPUT,
            message: message.into(),
        }
    }

    /// The message sent to the client: never a database or internal cause.
    pub fn message(&self) -> String {
        match self {
            Self::User(errors) => errors
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
            Self::Unauthenticated => "authentication required".into(),
            Self::Forbidden(reason) => reason.clone(),
            Self::NotFound(m) | Self::Throttled { message: m, .. } => m.clone(),
            Self::BadInput { message, .. } => message.clone(),
            Self::Unavailable(_) => UNAVAILABLE_MESSAGE.into(),
            Self::Database(e) if crate::db::is_unavailable(e) => UNAVAILABLE_MESSAGE.into(),
            Self::Database(e) if is_data_exception(e) => {
                "a value is outside what the database can store".into()
            }
            Self::Database(_) => "an error occurred with the database".into(),
            Self::Internal(_) => "an internal error occurred".into(),
        }
    }

    /// The code sent to the client.
    pub fn code(&self) -> &'static str {
        match self {
            Self::User(errors) => errors
                .first()
                .map_or(codes::BAD_USER_INPUT, |e| e.code.as_str()),
            Self::Unauthenticated => codes::UNAUTHENTICATED,
            Self::Forbidden(_) => codes::FORBIDDEN,
            Self::NotFound(_) => codes::NOT_FOUND,
            Self::BadInput { code, .. } => code,
            Self::Throttled { .. } => codes::THROTTLED,
            Self::Unavailable(_) => codes::SERVICE_UNAVAILABLE,
            Self::Database(e) if crate::db::is_unavailable(e) => codes::SERVICE_UNAVAILABLE,
            Self::Database(e) if is_data_exception(e) => codes::BAD_USER_INPUT,
            Self::Database(_) | Self::Internal(_) => codes::INTERNAL,
        }
    }
}

/// Whether the database refused a *value* rather than failed: PostgreSQL's class 22
/// ("data exception": a NUL byte in text, a number or date out of range…) or SQLite's
/// "too big" and "pattern too complex". Inputs are validated before they reach the
/// database (`domain::text`, the domain's parse functions); this is the last line of
/// defence, so that a value that slipped through is still the client's `BAD_USER_INPUT`
/// (the statement failed, so nothing was written) and not an internal error.
fn is_data_exception(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    let sqlx = match err {
        DbErr::Query(RuntimeErr::SqlxError(e)) | DbErr::Exec(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    let Some(db) = sqlx.as_database_error() else {
        return false;
    };
    match db.code() {
        // PostgreSQL SQLSTATE class 22.
        Some(code) if code.len() == 5 && code.starts_with("22") => true,
        // SQLite: SQLITE_TOOBIG (18), and LIKE patterns over its length limit.
        Some(code) if code == "18" => true,
        _ => db.message().contains("pattern too complex"),
    }
}

impl<E: std::fmt::Debug> From<sea_orm::TransactionError<E>> for AppError
where
    AppError: From<E>,
{
    fn from(err: sea_orm::TransactionError<E>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(e) => Self::Database(e),
            sea_orm::TransactionError::Transaction(e) => e.into(),
        }
    }
}

impl AppError {
    /// Logs the cause of a server-side failure (database, internal) with its full chain;
    /// the client only ever sees [`AppError::message`] and [`AppError::code`]. The event
    /// carries `code` (as sent to the client) and `error` (the chain), and lands in the
    /// span of the request and of the domain operation that failed.
    pub fn log(&self) {
        let Some(chain) = self.cause_chain() else {
            return;
        };
        let code = self.code();
        match self {
            Self::Unavailable(_) => tracing::warn!(code, error = %chain, "database unavailable"),
            Self::Database(cause) if crate::db::is_unavailable(cause) => {
                tracing::warn!(code, error = %chain, "database unavailable")
            }
            Self::Database(cause) if is_data_exception(cause) => {
                tracing::warn!(code, error = %chain, "the database refused a value")
            }
            Self::Database(_) => tracing::error!(code, error = %chain, "database error"),
            _ => tracing::error!(code, error = %chain, "internal error"),
        }
    }

    /// The whole cause chain of a server-side failure (`None` for the errors a client
    /// caused): what [`AppError::log`] writes, and what the CLI prints. Never sent to a
    /// client.
    pub fn cause_chain(&self) -> Option<String> {
        match self {
            Self::Unavailable(cause) | Self::Internal(cause) => Some(cause.chain()),
            Self::Database(cause) => Some(render_chain(cause)),
            _ => None,
        }
    }

    /// For people at a terminal (the CLI): the cause chain of a server-side failure, or
    /// the client message of any other error. `AppError` has no `Display` on purpose (see
    /// the type's documentation); this is the explicit way to print one.
    pub fn describe(&self) -> String {
        match self {
            Self::Database(_) => format!("database: {}", self.cause_chain().unwrap_or_default()),
            _ => self.cause_chain().unwrap_or_else(|| self.message()),
        }
    }

    /// Seconds to wait before trying again, for a throttled request.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::Throttled {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

/// Result of resolvers and domain functions.
pub type AppResult<T> = Result<T, AppError>;

/// Ends a domain operation: when it failed, records its code in the `error` field of the
/// current span (declared `tracing::field::Empty` by the entry point's `#[instrument]`).
/// The code only: a message can repeat what the user typed, and the cause of a
/// server-side failure is logged once, by [`AppError::log`].
pub fn record_outcome<T>(result: AppResult<T>) -> AppResult<T> {
    if let Err(err) = &result {
        tracing::Span::current().record("error", err.code());
    }
    result
}

/// Why an input was refused. The same codes appear in mutation payloads' `userErrors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserErrorCode {
    /// A value is malformed or out of range.
    Invalid,
    /// Not a usable e-mail address.
    InvalidEmail,
    /// The password is too short or too long.
    WeakPassword,
    /// The e-mail and password do not match an account.
    InvalidCredentials,
    /// Another record already uses this value (e-mail, SKU, slug…).
    Duplicate,
    /// The referenced record does not exist.
    NotFound,
    /// A quantity is out of range (orders: 1 to 1,000 per line, 1 to 100 lines).
    InvalidQuantity,
    /// A price or amount is negative or has more than two decimals.
    InvalidAmount,
    /// The change would take a stock level below zero.
    InsufficientStock,
    /// Not enough stock to fill an order line.
    OutOfStock,
    /// The product cannot be sold now (see its `complianceIssues`).
    NotSellable,
    /// The segment belongs to another kind of cooperative than the product's.
    SegmentKindMismatch,
    /// The record is not in a status that allows this change.
    InvalidStatus,
    /// The idempotency key was already used for a different request.
    IdempotencyConflict,
    /// A date range is empty or reversed, or a date is outside the years the market
    /// deals with.
    InvalidRange,
    /// A text is longer than its field allows (each field's documentation gives its limit).
    TooLong,
    /// The file is not a JPEG, PNG or WebP image that can be decoded (its name and declared type
    /// are not trusted: its bytes are).
    NotAnImage,
    /// The image file is larger than the market accepts (`MAX_IMAGE_BYTES`, 10 MB by default).
    ImageTooLarge,
    /// The image has more pixels than the market accepts (`MAX_IMAGE_PIXELS`, 40 million by
    /// default), whatever its file size.
    ImageTooManyPixels,
    /// A product already has as many images as it may (20).
    TooManyImages,
    /// The delivery method is not offered (inactive, or it does not serve the address).
    DeliveryUnavailable,
}

impl UserErrorCode {
    /// The SCREAMING_SNAKE_CASE spelling, as in the schema.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "INVALID",
            Self::InvalidEmail => "INVALID_EMAIL",
            Self::WeakPassword => "WEAK_PASSWORD",
            Self::InvalidCredentials => "INVALID_CREDENTIALS",
            Self::Duplicate => "DUPLICATE",
            Self::NotFound => "NOT_FOUND",
            Self::InvalidQuantity => "INVALID_QUANTITY",
            Self::InvalidAmount => "INVALID_AMOUNT",
            Self::InsufficientStock => "INSUFFICIENT_STOCK",
            Self::OutOfStock => "OUT_OF_STOCK",
            Self::NotSellable => "NOT_SELLABLE",
            Self::SegmentKindMismatch => "SEGMENT_KIND_MISMATCH",
            Self::InvalidStatus => "INVALID_STATUS",
            Self::IdempotencyConflict => "IDEMPOTENCY_CONFLICT",
            Self::InvalidRange => "INVALID_RANGE",
            Self::TooLong => "TOO_LONG",
            Self::NotAnImage => "NOT_AN_IMAGE",
            Self::ImageTooLarge => "IMAGE_TOO_LARGE",
            Self::ImageTooManyPixels => "IMAGE_TOO_MANY_PIXELS",
            Self::TooManyImages => "TOO_MANY_IMAGES",
            Self::DeliveryUnavailable => "DELIVERY_UNAVAILABLE",
        }
    }
}

/// An input problem the user can fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    /// Path to the input field at fault, e.g. `["input", "price"]`; empty when the problem
    /// is not one field's.
    pub field: Vec<String>,
    /// What is wrong, for people.
    pub message: String,
    /// What is wrong, for programs.
    pub code: UserErrorCode,
}

impl UserError {
    pub fn new(code: UserErrorCode, field: &[&str], message: impl Into<String>) -> Self {
        let mut path = vec!["input".to_owned()];
        path.extend(field.iter().map(|f| (*f).to_owned()));
        Self {
            field: if field.is_empty() { Vec::new() } else { path },
            message: message.into(),
            code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// The log lines written while `f` runs, as the server's text format writes them.
    fn logged(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn an_internal_error_logs_its_whole_cause_chain_and_tells_the_client_none_of_it() {
        let root = std::io::Error::other("disk full at /var/lib/market");
        let middle = Cause::caused_by("writing the statement CSV", root);
        let err = AppError::internal_caused("exporting payout statement 42", middle);

        let chain = "exporting payout statement 42: writing the statement CSV: \
                     disk full at /var/lib/market";
        assert_eq!(err.cause_chain().as_deref(), Some(chain));
        let log = logged(|| err.log());
        assert!(log.contains("ERROR"), "{log}");
        assert!(log.contains("internal error"), "{log}");
        assert!(log.contains(chain), "{log}");
        assert!(log.contains("code=\"INTERNAL_SERVER_ERROR\""), "{log}");

        assert_eq!(err.message(), "an internal error occurred");
        assert_eq!(err.code(), codes::INTERNAL);
        for detail in ["disk", "CSV", "42", "/var/lib"] {
            assert!(!err.message().contains(detail), "{detail} leaked");
        }
    }

    #[test]
    fn a_database_error_logs_its_cause_once_and_tells_the_client_a_generic_message() {
        let err = AppError::from(sea_orm::DbErr::Exec(sea_orm::RuntimeErr::Internal(
            "no such table: sales_cells".into(),
        )));
        let log = logged(|| err.log());
        assert!(log.contains("database error"), "{log}");
        assert_eq!(
            log.matches("no such table: sales_cells").count(),
            1,
            "{log}"
        );
        assert_eq!(err.message(), "an error occurred with the database");
        assert!(!err.message().contains("sales_cells"));
    }

    #[test]
    fn errors_a_client_caused_are_not_logged() {
        let err = AppError::bad_input("`first` is 1 to 100");
        assert_eq!(err.cause_chain(), None);
        assert_eq!(logged(|| err.log()), "");
    }

    #[test]
    fn the_cli_reads_the_cause_chain_of_a_failure_and_the_message_of_the_rest() {
        let unavailable = AppError::Unavailable(Cause::new(
            "cannot open PostgreSQL at 127.0.0.1:5432: connection refused",
        ));
        assert_eq!(
            unavailable.describe(),
            "cannot open PostgreSQL at 127.0.0.1:5432: connection refused"
        );
        assert_eq!(unavailable.message(), UNAVAILABLE_MESSAGE);
        assert_eq!(
            AppError::NotFound("no such order".into()).describe(),
            "no such order"
        );
    }
}
