//! Operability: a request id on every request and every log line it causes, one
//! structured log line per GraphQL operation, and Prometheus metrics at `/metrics`.
//!
//! Request ids: `X-Request-Id` is kept when the client (or a proxy) sends a sane one
//! (1–128 characters of `A–Z a–z 0–9 . _ : -`), generated (UUID v4) otherwise; it is
//! returned in the response's `X-Request-Id` and carried by the `request` span that
//! encloses every log event of the request (DataLoader batches included).
//!
//! Metrics (the `metrics` facade, rendered by `metrics-exporter-prometheus`):
//!
//! | metric | labels |
//! |---|---|
//! | `http_requests_total`, `http_request_duration_seconds` | `path` (the route), `status` |
//! | `graphql_operations_total`, `graphql_operation_duration_seconds` | `operation` (its name, at most 200 distinct, then `other`), `kind`, `outcome` (`ok`, `error`, `refused`) |
//! | `graphql_operation_cost` | `kind` |
//! | `graphql_errors_total` | `code` |
//! | `rate_limited_total` | `class` |
//! | `db_pool_connections` | `state` (`open`, `idle`, `max`) |
//!
//! `/metrics` tells sales volumes and sign-in failures, so it is not public: it answers
//! clients whose address is in `METRICS_ALLOW` (loopback by default) and that did not come
//! through a proxy, or any client presenting `Authorization: Bearer $METRICS_TOKEN`.

use crate::AppState;
use crate::http::auth::ClientAddr;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;
use tracing::Instrument;

/// The request id of a request (in its extensions).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const REQUEST_ID: &str = "x-request-id";

fn sane_request_id(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    (!text.is_empty()
        && text.len() <= 128
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-')))
    .then(|| text.to_owned())
}

/// Middleware: the request id, the request span, and the HTTP metrics.
pub async fn around_request(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(sane_request_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    request.extensions_mut().insert(RequestId(id.clone()));
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "path" => path.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "path" => path)
        .record(started.elapsed().as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The process's Prometheus recorder (installed once, shared by every app in the
/// process: the tests build many).
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let buckets = [
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ];
        let costs = [
            1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1_000.0, 2_500.0, 5_000.0, 10_000.0,
        ];
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full("graphql_operation_cost".into()), &costs)
            })
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed");
        }
        handle
    })
}

/// The label of an operation name: itself when sane and among the first 200 seen,
/// `other` after (clients choose names; labels must stay bounded), `anonymous` without.
pub fn operation_label(name: Option<&str>) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Some(name) = name else {
        return "anonymous".into();
    };
    if name.len() > 64 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return "other".into();
    }
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if seen.contains(name) || (seen.len() < 200 && seen.insert(name.to_owned())) {
        name.to_owned()
    } else {
        "other".into()
    }
}

fn allowed(state: &AppState, client: ClientAddr, headers: &HeaderMap) -> bool {
    if let Some(token) = &state.config.metrics_token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if presented.is_some_and(|p| constant_time_eq(p.as_bytes(), token.as_bytes())) {
            return true;
        }
    }
    let proxied = ["x-forwarded-for", "forwarded", "x-real-ip"]
        .iter()
        .any(|h| headers.contains_key(*h));
    !proxied
        && client.0.is_some_and(|ip| {
            state
                .config
                .metrics_allow
                .iter()
                .any(|net| net.contains(&ip))
        })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /metrics`: Prometheus text, for allowed clients (see the module's notes).
pub async fn metrics_endpoint(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
) -> Response {
    if !allowed(&state, client, &headers) {
        return (
            StatusCode::FORBIDDEN,
            "metrics are for the operators: scrape from an address in METRICS_ALLOW or with the METRICS_TOKEN bearer token\n",
        )
            .into_response();
    }
    record_pool(&state);
    let handle = prometheus();
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle.render(),
    )
        .into_response()
}

/// The pool's gauges, read when scraped.
fn record_pool(state: &AppState) {
    let Some(market_core::db::PoolUsage { open, idle }) = market_core::db::pool_usage(&state.db)
    else {
        return;
    };
    metrics::gauge!("db_pool_connections", "state" => "open").set(open as f64);
    metrics::gauge!("db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("db_pool_connections", "state" => "max")
        .set(state.config.database_max_connections as f64);
}
