//! GraphQL over HTTP (the GraphQL-over-HTTP spec): GET for queries, POST with
//! `application/json`, and `Accept` negotiation between `application/json` (status 200
//! for every well-formed request) and `application/graphql-response+json` (4xx when the
//! request failed before execution).

use crate::AppState;
use crate::error::{AppError, codes};
use crate::graphql::cacheability;
use crate::graphql::cost::QueryCost;
use crate::graphql::i18n::{self, RequestLanguage};
use crate::graphql::loaders;
use crate::http::auth::{ClientAddr, viewer_from_headers};
use crate::http::fairness::Limited;
use crate::http::response_cache::{self, ViewerClass};
use crate::http::telemetry;
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Request, Response, ServerError, Variables};
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use http_body_util::BodyExt;
use market_core::domain::catalog_version;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type of the response, chosen from `Accept`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphQLResponseJson,
    Json,
}

impl MediaType {
    fn name(self) -> &'static str {
        match self {
            MediaType::GraphQLResponseJson => GRAPHQL_RESPONSE_JSON,
            MediaType::Json => JSON,
        }
    }

    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            MediaType::GraphQLResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        })
    }
}

/// Picks the response type: `application/graphql-response+json` when accepted,
/// `application/json` when accepted (or no `Accept` at all), `None` when neither is.
fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    let mut best: Option<(f32, MediaType)> = None;
    for part in accept.split(',') {
        let mut params = part.split(';');
        let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = params
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let kind = match media.as_str() {
            GRAPHQL_RESPONSE_JSON => MediaType::GraphQLResponseJson,
            JSON | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        if q > 0.0
            && best.is_none_or(|(bq, bk)| {
                q > bq || (q == bq && kind == MediaType::GraphQLResponseJson && bk != kind)
            })
        {
            best = Some((q, kind));
        }
    }
    best.map(|(_, kind)| kind)
}

/// A request error: the request could not be read as a GraphQL request at all.
fn request_error(media: MediaType, status: StatusCode, message: &str) -> HttpResponse {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": codes::BAD_USER_INPUT } }] });
    (
        status,
        [(header::CONTENT_TYPE, media.header())],
        body.to_string(),
    )
        .into_response()
}

fn not_acceptable() -> HttpResponse {
    (
        StatusCode::NOT_ACCEPTABLE,
        [(header::CONTENT_TYPE, MediaType::Json.header())],
        json!({ "errors": [{ "message": "Accept must allow application/graphql-response+json or application/json" }] })
            .to_string(),
    )
        .into_response()
}

/// The GraphQL parameters of a request, checked for their JSON types.
struct Params {
    /// Absent when an automatic persisted query names its document by hash.
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
    extensions: Option<Map<String, Value>>,
    /// The files of a multipart request, which its variables name.
    uploads: Vec<async_graphql::UploadValue>,
}

fn read_params(
    query: Option<Value>,
    operation_name: Option<Value>,
    variables: Option<Value>,
    extensions: Option<Value>,
) -> Result<Params, &'static str> {
    let query = match query {
        Some(Value::String(q)) => Some(q),
        Some(_) => return Err("`query` must be a string"),
        None => None,
    };
    let operation_name = match operation_name {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err("`operationName` must be a string"),
    };
    let map = |value: Option<Value>, what: &'static str| match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(what),
    };
    Ok(Params {
        query,
        operation_name,
        variables: map(variables, "`variables` must be an object")?,
        extensions: map(extensions, "`extensions` must be an object")?,
        uploads: Vec::new(),
    })
}

/// What the operation log line and the metrics say about one GraphQL request.
#[derive(Default)]
struct Outcome {
    operation: Option<String>,
    kind: &'static str,
    cost: u64,
    /// Whether it was refused before it ran (limits, rate limits).
    refused: bool,
    /// `hit` or `miss` when the response cache was asked, empty otherwise.
    cache: &'static str,
    codes: Vec<String>,
    /// The language the operation was answered in (`Content-Language`).
    language: Option<String>,
}

/// Runs one GraphQL request, then writes its log line (operation name, kind, cost,
/// duration, status, error codes) and its metrics.
async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    media: MediaType,
    params: Params,
    method: Method,
    client: ClientAddr,
) -> HttpResponse {
    let started = std::time::Instant::now();
    let mut outcome = Outcome {
        operation: params.operation_name.clone(),
        kind: "unknown",
        ..Default::default()
    };
    let mut response = run(state, headers, media, params, method, client, &mut outcome).await;
    if let Some(value) = outcome
        .language
        .as_deref()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        response
            .headers_mut()
            .insert(header::CONTENT_LANGUAGE, value);
    }
    let elapsed = started.elapsed();
    outcome.codes.sort();
    outcome.codes.dedup();
    let codes = outcome.codes.join(",");
    tracing::info!(
        target: "solidarity_market::graphql",
        operation = outcome.operation.as_deref().unwrap_or(""),
        kind = outcome.kind,
        cost = outcome.cost,
        duration_ms = (elapsed.as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
        status = response.status().as_u16(),
        error_codes = %codes,
        cache = outcome.cache,
        "graphql operation"
    );
    let label = telemetry::operation_label(outcome.operation.as_deref());
    let result = if outcome.refused {
        "refused"
    } else if outcome.codes.is_empty() {
        "ok"
    } else {
        "error"
    };
    metrics::counter!("graphql_operations_total", "operation" => label.clone(), "kind" => outcome.kind, "outcome" => result).increment(1);
    metrics::histogram!("graphql_operation_duration_seconds", "operation" => label, "kind" => outcome.kind)
        .record(elapsed.as_secs_f64());
    if !outcome.refused {
        metrics::histogram!("graphql_operation_cost", "kind" => outcome.kind)
            .record(outcome.cost as f64);
    }
    for code in &outcome.codes {
        if code.len() <= 40 && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
            metrics::counter!("graphql_errors_total", "code" => code.clone()).increment(1);
        }
    }
    response
}

fn codes_of(response: &Response) -> Vec<String> {
    response
        .errors
        .iter()
        .map(|e| {
            e.extensions
                .as_ref()
                .and_then(|ext| ext.get("code"))
                .and_then(|code| match code {
                    async_graphql::Value::String(s) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| codes::GRAPHQL_VALIDATION_FAILED.to_owned())
        })
        .collect()
}

async fn run(
    state: &AppState,
    headers: &HeaderMap,
    media: MediaType,
    mut params: Params,
    method: Method,
    client: ClientAddr,
    outcome: &mut Outcome,
) -> HttpResponse {
    let uploads = std::mem::take(&mut params.uploads);
    let hash = match persisted_hash(params.extensions.as_ref()) {
        Ok(hash) => hash,
        Err(message) => return request_error(media, StatusCode::BAD_REQUEST, message),
    };
    let query = match (params.query, &hash) {
        (Some(query), Some(hash)) => {
            if response_cache::sha256_hex(&query) != *hash {
                return request_error(
                    media,
                    StatusCode::BAD_REQUEST,
                    "provided sha does not match query",
                );
            }
            query
        }
        (Some(query), None) => query,
        (None, Some(hash)) => match state.persisted_queries.get(hash) {
            Some(query) => query.to_string(),
            None => {
                outcome.codes.push(PERSISTED_QUERY_NOT_FOUND.to_owned());
                return persisted_query_not_found(media);
            }
        },
        (None, None) => {
            return request_error(
                media,
                StatusCode::BAD_REQUEST,
                "a `query` parameter is required",
            );
        }
    };
    let variables_json = params
        .variables
        .clone()
        .map(Value::Object)
        .unwrap_or(Value::Null);
    let mut request = Request::new(query);
    request.uploads = uploads;
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(vars) = params.variables {
        request = request.variables(Variables::from_json(Value::Object(vars)));
    }
    if let Some(ext) = params.extensions {
        for (k, v) in ext {
            if let Ok(v) = async_graphql::Value::from_json(v) {
                request.extensions.insert(k, v);
            }
        }
    }
    // Parsed once here: the GET rule and the cost check read it, and the schema runs it.
    // A document that does not parse is left to async-graphql, which reports why.
    let mut cost = QueryCost::default();
    if let Err(refusal) = state.cost.check_size(&request.query) {
        outcome.refused = true;
        outcome.codes.push(refusal.code.to_owned());
        metrics::counter!("queries_refused_total", "limit" => refusal.limit_name).increment(1);
        return refused(media, vec![refusal.to_server_error()]);
    }
    if let Some(hash) = hash {
        // Registered once the document is within the size limit; a document that does
        // not parse or validate is only ever answered with errors.
        state.persisted_queries.register(hash, &request.query);
    }
    let mut catalog_only = false;
    // The document and variables, kept to put the answer's members in order.
    let mut ordering = None;
    // The language: `Accept-Language`, unless the operation says `@inContext(language:)`.
    let languages = &state.config.languages;
    let mut language = languages.negotiate(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    if let Ok(mut doc) = async_graphql::parser::parse_query(&request.query) {
        match i18n::operation_language(
            &doc,
            request.operation_name.as_deref(),
            &request.variables,
            languages,
        ) {
            Ok(Some(asked)) => language = asked,
            Ok(None) => {}
            Err(message) => {
                outcome.codes.push(codes::BAD_USER_INPUT.to_owned());
                return request_error(media, StatusCode::BAD_REQUEST, &message);
            }
        }
        catalog_only = cacheability::reads_only_catalog(&doc, request.operation_name.as_deref());
        if method == Method::GET && !only_queries(&doc, request.operation_name.as_deref()) {
            return (
                StatusCode::METHOD_NOT_ALLOWED,
                [
                    (header::ALLOW, HeaderValue::from_static("POST")),
                    (header::CONTENT_TYPE, media.header()),
                ],
                json!({ "errors": [{ "message": "only queries may be sent with GET; use POST" }] })
                    .to_string(),
            )
                .into_response();
        }
        match state.cost.check(
            &mut doc,
            request.operation_name.as_deref(),
            &request.variables,
        ) {
            Ok(measured) => cost = measured,
            Err(refusal) => {
                outcome.refused = true;
                outcome.codes.push(refusal.code.to_owned());
                outcome.cost = refusal.value;
                metrics::counter!("queries_refused_total", "limit" => refusal.limit_name)
                    .increment(1);
                return refused(media, vec![refusal.to_server_error()]);
            }
        }
        outcome.kind = if cost.is_mutation {
            "mutation"
        } else {
            "query"
        };
        outcome.cost = cost.requested;
        if cost.operation_name.is_some() {
            outcome.operation = cost.operation_name.clone();
        }
        ordering = Some((doc.clone(), request.variables.clone()));
        request.set_parsed_query(doc);
    }

    // Fairness: the expensive kinds of request are limited per client, before any
    // database work (the token is checked after this).
    let _slot = match state.fairness.admit(client.0, &cost, request.query.len()) {
        Ok(slot) => slot,
        Err(limited) => {
            outcome.refused = true;
            outcome.codes.push(codes::RATE_LIMITED.to_owned());
            metrics::counter!("rate_limited_total", "class" => limited.class.as_str()).increment(1);
            return rate_limited(media, &limited);
        }
    };

    let viewer = match viewer_from_headers(state, headers).await {
        Ok(viewer) => viewer,
        Err(err) => {
            outcome.codes.push(err.code().to_owned());
            return failed_before_execution(media, &err);
        }
    };
    // The response cache: public catalog queries of anonymous and customer viewers.
    let class = ViewerClass::of(&viewer).filter(|_| catalog_only);
    outcome.language = Some(language.tag.clone());
    let mut cache_key = None;
    if let (Some(cache), Some(class)) = (&state.response_cache, class) {
        let parts = response_cache::KeyParts {
            document: &request.query,
            operation_name: request.operation_name.as_deref(),
            variables: &variables_json,
            media: media.name(),
            language: &language.tag,
            class,
        };
        match cache.key(&parts, state.config.market_today()).await {
            Ok(key) => {
                outcome.cache = "miss";
                if let Some(entry) = cache.get(&key) {
                    outcome.cache = "hit";
                    return cached_response(media, method, headers, class, &entry, &state.config);
                }
                cache_key = Some(key);
            }
            Err(err) => {
                tracing::warn!(error = %err, "could not read the catalog version; not caching")
            }
        }
    }
    let uncacheable = cacheability::Uncacheable::default();
    let idle = loaders::Idle::default();
    let request = request
        .data(uncacheable.clone())
        .data(state.images.clone())
        .data(viewer)
        .data(RequestLanguage(language.clone()))
        .data(client)
        .data(loaders::loaders(
            state.db.clone(),
            Duration::from_micros(state.config.dataloader_delay_us),
            &idle,
        ));
    let operation_name = request.operation_name.clone();

    let timeout = Duration::from_secs(state.config.request_timeout_secs);
    let (response, written) = catalog_version::track(tokio::time::timeout(
        timeout,
        idle.track(state.schema.execute(request)),
    ))
    .await;
    let response = match response {
        Ok(response) => response,
        Err(_) => {
            outcome.codes.push(codes::TIMEOUT.to_owned());
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, media.header())],
                json!({ "errors": [{ "message": "the request took too long", "extensions": { "code": codes::TIMEOUT } }] })
                    .to_string(),
            )
                .into_response();
        }
    };
    let mut response = response;
    let executed = executed(&response);
    if executed && let Some((document, variables)) = &ordering {
        state.types.order(
            document,
            operation_name.as_deref(),
            variables,
            &mut response,
        );
    }
    code_errors(&mut response.errors, executed);
    outcome.codes.extend(codes_of(&response));
    if executed {
        let limits = state.cost.limits();
        let mut figures = vec![
            ("requestedQueryCost", cost.requested),
            ("maximumQueryCost", limits.max_cost),
        ];
        if cost.introspection > 0 {
            figures.push(("introspectionCost", cost.introspection));
            figures.push(("maximumIntrospectionCost", limits.max_introspection_cost));
        }
        response.extensions.insert(
            "cost".to_owned(),
            async_graphql::Value::Object(
                figures
                    .into_iter()
                    .map(|(k, v)| (async_graphql::Name::new(k), v.into()))
                    .collect(),
            ),
        );
    }
    let shareable = class.is_some()
        && response.errors.is_empty()
        && response.cache_control.public
        && response.cache_control.max_age >= 0
        && !uncacheable.is_marked();
    let (http, too_large, body) =
        respond(media, response, executed, state.config.max_response_bytes);
    if too_large {
        outcome.codes.push(codes::RESPONSE_TOO_LARGE.to_owned());
    }
    if written.events
        && let Some(hub) = state.schema.data::<Arc<market_core::domain::events::Hub>>()
    {
        // Committed: published now, not at the hub's next poll.
        hub.poke();
    }
    if written.catalog > 0 {
        // Committed: the other instances hear of it before the client does.
        state.announcer.announce().await;
    }
    if cost.is_mutation
        && let Some(cache) = &state.response_cache
    {
        // This instance's next request sees its own writes at once (other instances
        // learn of them by notification or by their own check).
        cache.after_write(written.catalog).await;
    }
    match class {
        Some(class) if shareable && !too_large && http.status() == StatusCode::OK => {
            let entry = Arc::new(response_cache::Entry::new(body));
            if let (Some(cache), Some(key)) = (&state.response_cache, cache_key) {
                cache.insert(key, entry.clone());
            }
            cached_response(media, method, headers, class, &entry, &state.config)
        }
        _ => {
            let mut http = http;
            if method == Method::GET {
                http.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-store"),
                );
            }
            http
        }
    }
}

/// The code of an automatic persisted query whose hash is not registered (Apollo's).
const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";

/// The `extensions.persistedQuery.sha256Hash` of a request (version 1), lowercased.
fn persisted_hash(extensions: Option<&Map<String, Value>>) -> Result<Option<String>, &'static str> {
    let Some(persisted) = extensions.and_then(|e| e.get("persistedQuery")) else {
        return Ok(None);
    };
    let hash = persisted
        .get("sha256Hash")
        .and_then(Value::as_str)
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or("`extensions.persistedQuery.sha256Hash` must be a SHA-256 in hexadecimal")?;
    if persisted.get("version").and_then(Value::as_i64) != Some(1) {
        return Err("only version 1 of persisted queries is supported");
    }
    Ok(Some(hash.to_ascii_lowercase()))
}

/// Apollo's answer to an unknown hash: the client then sends the document with its hash.
fn persisted_query_not_found(media: MediaType) -> HttpResponse {
    let body = json!({ "errors": [{ "message": "PersistedQueryNotFound",
        "extensions": { "code": PERSISTED_QUERY_NOT_FOUND } }] });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, media.header()),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        body.to_string(),
    )
        .into_response()
}

/// A shareable answer: `ETag`, and for `GET` the `Cache-Control` a CDN may follow —
/// `public` with a short `max-age` for anonymous requests, `private, no-cache` (a
/// browser may keep it and revalidate) for a signed-in customer's — and `304 Not
/// Modified` when `If-None-Match` holds its tag.
fn cached_response(
    media: MediaType,
    method: Method,
    request_headers: &HeaderMap,
    class: ViewerClass,
    entry: &response_cache::Entry,
    config: &market_core::config::Config,
) -> HttpResponse {
    let etag = HeaderValue::from_str(&entry.etag).ok();
    let mut response =
        if method == Method::GET && etag.is_some() && if_none_match(request_headers, &entry.etag) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, media.header())],
                Body::from(entry.body.clone()),
            )
                .into_response()
        };
    if method == Method::GET {
        let headers = response.headers_mut();
        if let Some(etag) = etag {
            headers.insert(header::ETAG, etag);
        }
        let control = match class {
            ViewerClass::Anonymous => format!(
                "public, max-age={}, stale-while-revalidate={}",
                config.http_cache_max_age_secs, config.http_cache_stale_while_revalidate_secs
            ),
            ViewerClass::Customer => "private, no-cache".to_owned(),
        };
        if let Ok(value) = HeaderValue::from_str(&control) {
            headers.insert(header::CACHE_CONTROL, value);
        }
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Accept, Accept-Language, Authorization"),
        );
    }
    response
}

/// Whether `If-None-Match` names `etag` (or is `*`); weak tags compare by their value.
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

/// The values of every enum of the schema, to name them when a client sends another.
fn enum_values() -> &'static HashMap<String, Vec<String>> {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    static VALUES: std::sync::OnceLock<HashMap<String, Vec<String>>> = std::sync::OnceLock::new();
    VALUES.get_or_init(|| {
        let Ok(doc) = async_graphql::parser::parse_schema(crate::graphql::sdl()) else {
            return HashMap::new();
        };
        doc.definitions
            .into_iter()
            .filter_map(|d| match d {
                TypeSystemDefinition::Type(t) => match &t.node.kind {
                    TypeKind::Enum(e) => Some((
                        t.node.name.node.to_string(),
                        e.values
                            .iter()
                            .map(|v| v.node.value.node.to_string())
                            .collect(),
                    )),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    })
}

/// Whether async-graphql refused a *value* the client gave for an argument or variable:
/// the document is fine, the input is not (`BAD_USER_INPUT`).
fn is_bad_value(message: &str) -> bool {
    message.starts_with("Invalid value for argument")
        || message.starts_with("Failed to parse")
        || message.starts_with("Variable \"")
}

/// A refused value's message, with the accepted values when it was an enum's.
fn explain_value(message: &str) -> String {
    let type_name = ["enumeration type \"", "Failed to parse \""]
        .iter()
        .find_map(|marker| {
            let start = message.find(marker)? + marker.len();
            let end = message[start..].find('"')? + start;
            Some(&message[start..end])
        });
    match type_name.and_then(|name| enum_values().get(name)) {
        Some(values) => format!("{message}; the values are {}", values.join(", ")),
        None => message.to_owned(),
    }
}

/// Whether the operation ran: parsing and validation passed. A request error has no
/// `data` and no error with a path; once execution begins there is data, or an error
/// raised by a field (which has its path) left it null.
fn executed(response: &Response) -> bool {
    !matches!(response.data, async_graphql::Value::Null)
        || response.errors.iter().any(|e| !e.path.is_empty())
}

/// Gives every error a code. Ours carry theirs; async-graphql's own are request errors
/// (`GRAPHQL_VALIDATION_FAILED`) or, for a value it could not coerce into an argument's
/// type — during validation or execution — `BAD_USER_INPUT`. An error that is neither
/// is internal: logged, and answered as such.
fn code_errors(errors: &mut [async_graphql::ServerError], executed: bool) {
    for error in errors {
        let coded = error
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if coded {
            continue;
        }
        let code = if is_bad_value(&error.message) {
            error.message = explain_value(&error.message);
            codes::BAD_USER_INPUT
        } else if !executed {
            codes::GRAPHQL_VALIDATION_FAILED
        } else {
            tracing::error!(error = %error.message, "an error without a code");
            error.message = "an internal error occurred".into();
            codes::INTERNAL
        };
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code);
    }
}

/// A request that failed on our side before it ran (the token could not be checked):
/// 503 when the database cannot be reached, 500 otherwise, with the error's code.
fn failed_before_execution(media: MediaType, err: &AppError) -> HttpResponse {
    let error = crate::error::graphql_error(err);
    let body =
        json!({ "errors": [{ "message": error.message, "extensions": { "code": err.code() } }] });
    let status = if err.code() == codes::SERVICE_UNAVAILABLE {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let mut response = (
        status,
        [(header::CONTENT_TYPE, media.header())],
        body.to_string(),
    )
        .into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_UNAVAILABLE_SECS),
        );
    }
    response
}

/// HTTP 429 with `Retry-After`, `RATE_LIMITED` and the class that was limited.
fn rate_limited(media: MediaType, limited: &Limited) -> HttpResponse {
    let retry = limited.retry_after.as_secs_f64().ceil().max(1.0) as u64;
    tracing::info!(
        class = limited.class.as_str(),
        retry_after = retry,
        "rate limited"
    );
    let body = json!({ "errors": [{ "message": limited.message, "extensions": {
        "code": codes::RATE_LIMITED, "class": limited.class.as_str(), "retryAfter": retry } }] });
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::CONTENT_TYPE, media.header())],
        body.to_string(),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&retry.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// What `Retry-After` says when the database cannot be reached.
const RETRY_UNAVAILABLE_SECS: &str = "5";

/// Whether the operation a GET request would run is a query.
fn only_queries(doc: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    let op = doc
        .operations
        .iter()
        .find(|(name, _)| match operation_name {
            Some(wanted) => name.is_some_and(|n| n.as_str() == wanted),
            None => true,
        });
    !matches!(op, Some((_, op)) if op.node.ty != OperationType::Query)
}

/// A request refused before it ran (its errors already carry their codes).
fn refused(media: MediaType, errors: Vec<ServerError>) -> HttpResponse {
    respond(media, Response::from_errors(errors), false, usize::MAX).0
}

/// The HTTP response of a GraphQL response, whether it was replaced for its size, and
/// its body.
fn respond(
    media: MediaType,
    mut response: Response,
    executed: bool,
    max_bytes: usize,
) -> (HttpResponse, bool, Bytes) {
    code_errors(&mut response.errors, executed);
    let mut too_large = false;
    // A database that cannot be reached is a 503 whatever else the answer holds: the
    // client should retry, not believe a partial answer.
    let unavailable = response.errors.iter().any(|e| {
        e.extensions
            .as_ref()
            .and_then(|ext| ext.get("code"))
            .is_some_and(|code| *code == async_graphql::Value::from(codes::SERVICE_UNAVAILABLE))
    });
    let body = if executed {
        serde_json::to_string(&response).map(|body| {
            if body.len() <= max_bytes {
                body
            } else {
                too_large = true;
                tracing::warn!(bytes = body.len(), max_bytes, "response too large; refused");
                json!({ "data": null, "errors": [{
                    "message": format!("The response would be {} bytes; at most {max_bytes} are sent. Ask for smaller pages or fewer fields.", body.len()),
                    "extensions": { "code": codes::RESPONSE_TOO_LARGE, "bytes": body.len(), "maximumBytes": max_bytes }
                }] })
                .to_string()
            }
        })
    } else {
        // A request error (the document did not parse or validate): no `data` entry at
        // all, and a code on every error.
        serde_json::to_string(&json!({ "errors": response.errors }))
    };
    let body =
        Bytes::from(body.unwrap_or_else(|_| {
            r#"{"errors":[{"message":"could not encode the response"}]}"#.into()
        }));
    let status = if unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else if executed || media == MediaType::Json {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut response = (
        status,
        [(header::CONTENT_TYPE, media.header())],
        Body::from(body.clone()),
    )
        .into_response();
    if unavailable {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_UNAVAILABLE_SECS),
        );
    }
    (response, too_large, body)
}

/// `GET /graphql?query=…&variables=…`: queries only.
pub async fn get_graphql(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Query(raw): Query<HashMap<String, String>>,
) -> HttpResponse {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let json_param = |name: &str| -> Result<Option<Value>, &'static str> {
        raw.get(name)
            .map(|s| {
                serde_json::from_str(s)
                    .map_err(|_| "`variables` and `extensions` must be JSON objects")
            })
            .transpose()
    };
    let params = json_param("variables").and_then(|variables| {
        read_params(
            raw.get("query").cloned().map(Value::String),
            raw.get("operationName").cloned().map(Value::String),
            variables,
            json_param("extensions")?,
        )
    });
    let mut response = match params {
        Ok(params) => execute(&state, &headers, media, params, Method::GET, client).await,
        Err(message) => request_error(media, StatusCode::BAD_REQUEST, message),
    };
    // Only shareable answers say how long they may be kept; nothing else may be.
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("private, no-store"));
    response
}

/// Reads a whole body within `limit` bytes (413) and `BODY_READ_TIMEOUT_SECS` (408: a
/// client trickling its body does not hold a request open).
async fn read_body(state: &AppState, body: Body, limit: usize) -> Result<Bytes, StatusCode> {
    let limited = http_body_util::Limited::new(body, limit);
    let deadline = Duration::from_secs(state.config.body_read_timeout_secs);
    match tokio::time::timeout(deadline, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(err)) if err.is::<http_body_util::LengthLimitError>() => {
            Err(StatusCode::PAYLOAD_TOO_LARGE)
        }
        Ok(Err(_)) => Err(StatusCode::BAD_REQUEST),
        Err(_) => Err(StatusCode::REQUEST_TIMEOUT),
    }
}

/// `POST /graphql` with an `application/json` body.
pub async fn post_graphql(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> HttpResponse {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let multipart = content_type.as_deref() == Some(MULTIPART);
    if multipart && !preflighted(&headers) {
        return coded_request_error(
            media,
            StatusCode::BAD_REQUEST,
            PREFLIGHT_REQUIRED,
            "a multipart request must carry the header `Apollo-Require-Preflight: true` (or `X-Apollo-Operation-Name`), which a cross-site form cannot send",
        );
    }
    // A multipart request holds a file: its body may be as large as the largest image
    // plus the operation (a larger file inside it is refused as IMAGE_TOO_LARGE).
    let limit = if multipart {
        state
            .config
            .max_body_bytes
            .saturating_add(state.config.max_image_bytes)
    } else {
        state.config.max_body_bytes
    };
    let body = match read_body(&state, body, limit).await {
        Ok(bytes) => bytes,
        Err(status) => {
            let message = match status {
                StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large",
                StatusCode::REQUEST_TIMEOUT => "the request body was not sent in time",
                _ => "the request body could not be read",
            };
            return request_error(media, status, message);
        }
    };
    if multipart {
        return match multipart_params(&headers, body, state.config.max_image_bytes).await {
            Ok(params) => execute(&state, &headers, media, params, Method::POST, client).await,
            Err((status, message)) => request_error(media, status, &message),
        };
    }
    match content_type.as_deref() {
        Some(JSON) | Some(GRAPHQL_RESPONSE_JSON) => {}
        Some(_) => {
            return request_error(
                media,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the request body must be application/json (or multipart/form-data, for uploads)",
            );
        }
        None => {
            return request_error(
                media,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "a Content-Type of application/json is required",
            );
        }
    }
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(&body) else {
        return request_error(
            media,
            StatusCode::BAD_REQUEST,
            "the request body must be a JSON object",
        );
    };
    match read_params(
        map.remove("query"),
        map.remove("operationName"),
        map.remove("variables"),
        map.remove("extensions"),
    ) {
        Ok(params) => execute(&state, &headers, media, params, Method::POST, client).await,
        Err(message) => request_error(media, StatusCode::BAD_REQUEST, message),
    }
}

const MULTIPART: &str = "multipart/form-data";

/// The code of a multipart request without the header that proves it is no cross-site
/// form post.
const PREFLIGHT_REQUIRED: &str = "PREFLIGHT_REQUIRED";

/// Whether a request carries a header that a browser sends cross-site only after a CORS
/// preflight. Uploads follow the GraphQL multipart request specification, whose
/// `multipart/form-data` is a "simple" content type: any web page could make a browser
/// post one. Bearer tokens (not cookies) already keep such a post anonymous, but the
/// specification's advice is followed as Apollo Server does: a multipart request must
/// carry `Apollo-Require-Preflight` or `X-Apollo-Operation-Name`, which no plain form can.
fn preflighted(headers: &HeaderMap) -> bool {
    headers.contains_key("apollo-require-preflight")
        || headers.contains_key("x-apollo-operation-name")
}

/// A request error with its own code.
fn coded_request_error(
    media: MediaType,
    status: StatusCode,
    code: &str,
    message: &str,
) -> HttpResponse {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (
        status,
        [(header::CONTENT_TYPE, media.header())],
        body.to_string(),
    )
        .into_response()
}

/// The parameters of a multipart request (the GraphQL multipart request specification):
/// `operations`, `map` and the files, parsed by async-graphql; at most a few files.
async fn multipart_params(
    headers: &HeaderMap,
    body: Bytes,
    max_file_bytes: usize,
) -> Result<Params, (StatusCode, String)> {
    use async_graphql::ParseRequestError as E;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(MULTIPART);
    let options = async_graphql::http::MultipartOptions::default()
        .max_num_files(MAX_FILES)
        .max_file_size(max_file_bytes.saturating_add(1024 * 1024));
    let request = async_graphql::http::receive_body(
        Some(content_type),
        futures::io::Cursor::new(body),
        options,
    )
    .await
    .map_err(|err| match err {
        E::PayloadTooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large".to_owned(),
        ),
        E::UnsupportedBatch => (
            StatusCode::BAD_REQUEST,
            "batched operations are not supported".to_owned(),
        ),
        other => (
            StatusCode::BAD_REQUEST,
            format!("the multipart request could not be read: {other}"),
        ),
    })?;
    let variables = match serde_json::to_value(&request.variables) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    };
    let extensions = serde_json::to_value(&request.extensions)
        .ok()
        .and_then(|v| match v {
            Value::Object(map) if !map.is_empty() => Some(map),
            _ => None,
        });
    Ok(Params {
        query: Some(request.query).filter(|q| !q.is_empty()),
        operation_name: request.operation_name,
        variables,
        extensions,
        uploads: request.uploads,
    })
}

/// The most files one multipart request may hold.
const MAX_FILES: usize = 4;
