//! Mutation payloads: the changed object plus `userErrors`. A user error becomes part of
//! the payload; authentication, permission and internal failures stay GraphQL errors.

use crate::error::{AppError, AppResult};
use market_core::error::UserError;

/// A payload that can carry user errors instead of its object.
pub trait Payload: Sized {
    fn with_errors(errors: Vec<UserError>) -> Self;
}

/// Turns a domain result into a payload: `Ok` through `ok`, user errors into `userErrors`,
/// anything else into a coded GraphQL error.
pub fn respond<T, P: Payload>(
    result: AppResult<T>,
    ok: impl FnOnce(T) -> P,
) -> crate::error::Result<P> {
    match result {
        Ok(value) => Ok(ok(value)),
        Err(AppError::User(errors)) => Ok(P::with_errors(errors)),
        Err(err) => Err(err.into()),
    }
}

/// Declares a documented payload type holding one optional object and `userErrors`.
#[macro_export]
macro_rules! payload {
    ($(#[$meta:meta])* $name:ident { $(#[$fmeta:meta])* $field:ident : $ty:ty }) => {
        $(#[$meta])*
        #[derive(async_graphql::SimpleObject, Default)]
        pub struct $name {
            $(#[$fmeta])*
            pub $field: Option<$ty>,
            /// Problems with the input; empty when the mutation succeeded. Nothing is
            /// written when there are any.
            pub user_errors: Vec<$crate::error::UserError>,
        }

        impl $crate::graphql::payload::Payload for $name {
            fn with_errors(errors: Vec<market_core::error::UserError>) -> Self {
                Self { user_errors: $crate::error::user_errors(errors), ..Default::default() }
            }
        }

        impl $name {
            #[allow(dead_code)]
            pub fn ok(value: $ty) -> Self {
                Self { $field: Some(value), user_errors: Vec::new() }
            }
        }
    };
}
