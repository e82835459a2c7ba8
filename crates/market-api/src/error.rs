//! How the domain's errors reach a client. Every error a client sees carries
//! `extensions.code`; database and internal causes are logged, never sent.
//!
//! `market_core::error::AppError` knows nothing of GraphQL; resolvers return
//! [`Result`], whose error converts either a domain error (through [`graphql_error`]) or
//! an error of async-graphql itself, so `?` works on both and no code is ever dropped.

use async_graphql::ErrorExtensions;
pub use market_core::error::{AppError, AppResult, UNAVAILABLE_MESSAGE, UserErrorCode, codes};

/// The result of resolvers.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// An error on its way to the client.
#[derive(Debug)]
pub enum ApiError {
    /// From the domain: coded by [`graphql_error`].
    App(AppError),
    /// From async-graphql (an input value that does not parse, a missing context item).
    Graphql(async_graphql::Error),
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        Self::App(err)
    }
}

impl From<async_graphql::Error> for ApiError {
    fn from(err: async_graphql::Error) -> Self {
        Self::Graphql(err)
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::App(err) => graphql_error(&err),
            ApiError::Graphql(err) => err,
        }
    }
}

/// The GraphQL error for a domain error: its client message and `extensions.code` (and
/// `retryAfter` when throttled). The cause of a server-side failure is logged here.
pub fn graphql_error(err: &AppError) -> async_graphql::Error {
    err.log();
    async_graphql::Error::new(err.message()).extend_with(|_, e| {
        e.set("code", err.code());
        if let Some(secs) = err.retry_after_secs() {
            e.set("retryAfter", secs);
        }
    })
}

/// Why an input was refused. The same codes appear in mutation payloads' `userErrors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "UserErrorCode", remote = "market_core::error::UserErrorCode")]
pub enum GqlUserErrorCode {
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

/// An input problem the user can fix.
#[derive(Debug, Clone, PartialEq, Eq, async_graphql::SimpleObject)]
pub struct UserError {
    /// Path to the input field at fault, e.g. `["input", "price"]`; empty when the problem
    /// is not one field's.
    pub field: Vec<String>,
    /// What is wrong, for people.
    pub message: String,
    /// What is wrong, for programs.
    pub code: GqlUserErrorCode,
}

impl From<market_core::error::UserError> for UserError {
    fn from(e: market_core::error::UserError) -> Self {
        Self {
            field: e.field,
            message: e.message,
            code: e.code.into(),
        }
    }
}

/// The user errors of a payload, from the domain's.
pub fn user_errors(errors: Vec<market_core::error::UserError>) -> Vec<UserError> {
    errors.into_iter().map(UserError::from).collect()
}
