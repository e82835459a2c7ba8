//! Errors and their client codes. Every error a client sees carries
//! `extensions.code`; database and internal causes are logged, never sent.

use async_graphql::ErrorExtensions;

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
    /// Something went wrong on our side; details are in the server log.
    pub const INTERNAL: &str = "INTERNAL_SERVER_ERROR";
}

/// The error type of every fallible operation in the crate.
///
/// It deliberately does not implement `Display`: async-graphql converts any `Display`
/// type into an error without a code, so a stray `?` would drop the code (and could leak a
/// database message). Without `Display`, the only conversion is ours, through `extend`.
#[derive(Debug)]
pub enum AppError {
    Unauthenticated,
    Forbidden,
    NotFound(String),
    BadInput { code: &'static str, message: String },
    Throttled(String),
    Database(sea_orm::DbErr),
    Internal(String),
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Database(err)
    }
}

impl AppError {
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
            Self::Unauthenticated => "authentication required".into(),
            Self::Forbidden => "you are not allowed to do this".into(),
            Self::NotFound(m) | Self::Throttled(m) => m.clone(),
            Self::BadInput { message, .. } => message.clone(),
            Self::Database(_) => "an error occurred with the database".into(),
            Self::Internal(_) => "an internal error occurred".into(),
        }
    }

    /// The code sent to the client.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => codes::UNAUTHENTICATED,
            Self::Forbidden => codes::FORBIDDEN,
            Self::NotFound(_) => codes::NOT_FOUND,
            Self::BadInput { code, .. } => code,
            Self::Throttled(_) => codes::THROTTLED,
            Self::Database(_) | Self::Internal(_) => codes::INTERNAL,
        }
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

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        match self {
            Self::Database(cause) => tracing::error!(error = %cause, "database error"),
            Self::Internal(cause) => tracing::error!(error = %cause, "internal error"),
            _ => {}
        }
        async_graphql::Error::new(self.message()).extend_with(|_, e| e.set("code", self.code()))
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.extend()
    }
}

/// Result of resolvers and domain functions.
pub type AppResult<T> = Result<T, AppError>;
