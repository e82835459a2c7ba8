//! GraphQL subscriptions over WebSocket at `/graphql/ws`, with the `graphql-transport-ws`
//! protocol (graphql-ws, Apollo Client) — or the older `graphql-ws` one if a client asks.
//! The bearer token comes in the connection's init payload, `{"authorization": "Bearer
//! …"}` (or `{"token": "…"}`): a browser cannot set headers on a WebSocket. An unknown,
//! expired or revoked token closes the connection (4403); no token leaves it anonymous,
//! and the `events` subscription then answers `UNAUTHENTICATED`.

use crate::AppState;
use async_graphql::Data;
use async_graphql::http::{WebSocket as GraphQLWebSocket, WsMessage};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt, future};
use market_core::domain::auth;
use market_core::domain::policy::Viewer;

/// The protocols spoken, preferred first.
const PROTOCOLS: [&str; 2] = ["graphql-transport-ws", "graphql-ws"];

/// Why a connection is refused at init (closed with 4403, graphql-ws's "Forbidden").
const INVALID_TOKEN: &str = "the token is not valid";

/// Upgrades `GET /graphql/ws` to a GraphQL WebSocket.
pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let protocol = headers
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .map(str::trim)
                .find_map(|p| p.parse::<async_graphql::http::WebSocketProtocols>().ok())
        });
    let Some(protocol) = protocol else {
        return (
            StatusCode::BAD_REQUEST,
            "Ask for the graphql-transport-ws protocol (Sec-WebSocket-Protocol).",
        )
            .into_response();
    };
    ws.protocols(PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, state, protocol))
}

/// The token of an init payload.
fn token(payload: &serde_json::Value) -> Option<String> {
    let field = |name: &str| {
        payload
            .get(name)
            .or_else(|| payload.get(name.to_ascii_uppercase()))
            .and_then(|v| v.as_str())
    };
    let raw = field("authorization")
        .or_else(|| field("Authorization"))
        .map(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .unwrap_or(v)
        })
        .or_else(|| field("token"))?;
    let raw = raw.trim();
    (!raw.is_empty() && raw.len() <= 256).then(|| raw.to_owned())
}

async fn serve(
    socket: WebSocket,
    state: AppState,
    protocol: async_graphql::http::WebSocketProtocols,
) {
    let (mut sink, stream) = socket.split();
    let input = stream
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(|message| {
            future::ready(match message {
                Ok(Message::Text(text)) => Some(text.as_bytes().to_vec()),
                Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                _ => None,
            })
        });
    let db = state.db.clone();
    let mut output = GraphQLWebSocket::new(state.schema.clone(), input, protocol)
        .on_connection_init(move |payload| async move {
            let viewer = match token(&payload) {
                None => Viewer::Anonymous,
                Some(token) => match auth::authenticate(&db, &token).await {
                    Ok(Some(viewer)) => viewer,
                    Ok(None) => {
                        return Err(async_graphql::Error::new(INVALID_TOKEN));
                    }
                    Err(err) => {
                        err.log();
                        return Err(async_graphql::Error::new(
                            "the token could not be checked; try again",
                        ));
                    }
                },
            };
            let mut data = Data::default();
            data.insert(viewer);
            Ok(data)
        })
        .keepalive_timeout(std::time::Duration::from_secs(60))
        .map(|message| match message {
            WsMessage::Text(text) => Message::Text(text.into()),
            WsMessage::Close(code, reason) => Message::Close(Some(CloseFrame {
                // async-graphql closes every refused init with 1002; graphql-ws clients
                // know 4403 as "forbidden" and do not retry it.
                code: if reason == INVALID_TOKEN { 4403 } else { code },
                reason: reason.into(),
            })),
        });
    while let Some(message) = output.next().await {
        if sink.send(message).await.is_err() {
            break;
        }
    }
}
