//! Who is asking: the `Authorization: Bearer` token becomes the request's `Viewer`, and
//! the peer address is kept for login throttling.

use crate::AppState;
use crate::domain::auth;
use crate::domain::policy::Viewer;
use crate::error::AppResult;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

/// The client's address, when the server knows it (not in router-only tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

/// The viewer of a request. No token, or a token that is unknown, revoked or expired,
/// makes the request anonymous: the public catalog still answers, and anything that needs
/// an account answers `UNAUTHENTICATED`. A token that could not be checked (the database
/// is down) is an error, never an anonymous viewer: a signed-in shopper must not be told
/// they have no orders.
pub async fn viewer_from_headers(state: &AppState, headers: &HeaderMap) -> AppResult<Viewer> {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
    else {
        return Ok(Viewer::Anonymous);
    };
    Ok(auth::authenticate(&state.db, token)
        .await?
        .unwrap_or_default())
}
