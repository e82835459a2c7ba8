//! Who is asking: the `Authorization: Bearer` token becomes the request's `Viewer`, and
//! the peer address is kept for login throttling.

use crate::AppState;
use crate::error::AppResult;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use market_core::domain::auth;
use market_core::domain::policy::Viewer;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

/// The client's address, when the server knows it (not in router-only tests): the peer,
/// or, when the peer is a trusted proxy, the right-most address of `X-Forwarded-For` that
/// is not one (see [`client_ip`]). Every per-client limit is keyed by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        Ok(ClientAddr(client_ip(
            peer,
            &parts.headers,
            &state.config.trusted_proxies,
        )))
    }
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy; then the
/// right-most `X-Forwarded-For` entry that is not a trusted proxy (entries to its left were
/// written by the client and prove nothing). A malformed entry ends the walk at the last
/// trusted hop.
pub fn client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
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

#[cfg(test)]
mod tests {
    use super::client_ip;
    use axum::http::HeaderMap;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in xff {
            map.append("x-forwarded-for", value.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_forwarded_address() {
        let trusted = vec![
            "10.0.0.0/8".parse().unwrap(),
            "127.0.0.1/32".parse().unwrap(),
        ];
        let ip = |s: &str| Some(s.parse().unwrap());
        // Not behind a trusted proxy: the peer, whatever the header says.
        assert_eq!(
            client_ip(ip("203.0.113.9"), &headers(&["198.51.100.1"]), &trusted),
            ip("203.0.113.9")
        );
        // Behind two proxies: the first address they did not write; what the client
        // wrote to the left is ignored.
        assert_eq!(
            client_ip(
                ip("127.0.0.1"),
                &headers(&["6.6.6.6, 198.51.100.1", "10.1.2.3"]),
                &trusted
            ),
            ip("198.51.100.1")
        );
        // A malformed entry ends the walk at the last trusted hop.
        assert_eq!(
            client_ip(
                ip("127.0.0.1"),
                &headers(&["198.51.100.1, garbage"]),
                &trusted
            ),
            ip("127.0.0.1")
        );
        // No header: the proxy itself.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers(&[]), &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(client_ip(None, &headers(&["198.51.100.1"]), &trusted), None);
    }
}
