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
    Unavailable(String),
    Database(sea_orm::DbErr),
    Internal(String),
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Database(err)
    }
}

/// A failed batched read (the API's DataLoader shares one error among the keys of a batch).
impl From<std::sync::Arc<sea_orm::DbErr>> for AppError {
    fn from(err: std::sync::Arc<sea_orm::DbErr>) -> Self {
        if crate::db::is_unavailable(&err) {
            AppError::Unavailable(format!("batched load failed: {err}"))
        } else {
            AppError::Internal(format!("batched load failed: {err}"))
        }
    }
}

impl AppError {
    /// One user error on `field`.
    pub fn user(code: UserErrorCode, field: &[&str], message: impl Into<String>) -> Self {
        Self::User(vec![UserError::new(code, field, message)])
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
    /// the client only ever sees [`AppError::message`] and [`AppError::code`].
    pub fn log(&self) {
        match self {
            Self::Unavailable(cause) => tracing::warn!(error = %cause, "database unavailable"),
            Self::Database(cause) if crate::db::is_unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable")
            }
            Self::Database(cause) if is_data_exception(cause) => {
                tracing::warn!(error = %cause, "the database refused a value")
            }
            Self::Database(cause) => tracing::error!(error = %cause, "database error"),
            Self::Internal(cause) => tracing::error!(error = %cause, "internal error"),
            _ => {}
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
