//! HTTP routes: `/graphql` (GraphQL over HTTP, and multipart requests for uploads),
//! GraphiQL at `/` (with its embedded files under `/graphiql/`), `/health`, image
//! renditions (`/images/{hash}/{width}.{ext}`), and the CSV export of payout statements
//! (`/payouts/{id}.csv`).

pub mod auth;
pub mod fairness;
pub mod graphiql;
pub mod graphql;
pub mod images;
pub mod payouts;
pub mod response_cache;
pub mod telemetry;
pub mod ws;

use crate::AppState;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

/// The application's routes over `state`.
pub fn router(state: AppState) -> Router {
    telemetry::prometheus();
    Router::new()
        .route("/", get(graphiql::page))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route(
            "/graphql",
            get(graphql::get_graphql).post(graphql::post_graphql),
        )
        .route("/graphql/ws", get(ws::upgrade))
        .route("/health", get(health))
        .route("/images/{hash}/{file}", get(images::rendition))
        .route("/payouts/{file}", get(payouts::statement_csv))
        .route("/metrics", get(telemetry::metrics_endpoint))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(telemetry::around_request))
        .with_state(state)
}

/// Liveness and readiness: 200 when the database answers, 503 otherwise.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    // The pool's acquire timeout bounds the ping; the outer bound covers a connection
    // that was handed out but never answers.
    let bound = std::time::Duration::from_secs(state.config.database_acquire_timeout_secs + 1);
    let ping = match tokio::time::timeout(bound, state.db.ping()).await {
        Ok(result) => result,
        Err(_) => Err(market_core::db::DbErr::Custom(format!(
            "no answer within {bound:?}"
        ))),
    };
    match ping {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "database": "ok" })),
        ),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": "unreachable" })),
            )
        }
    }
}
