//! GraphQL over HTTP (the GraphQL-over-HTTP spec): GET for queries, POST with
//! `application/json`, and `Accept` negotiation between `application/json` (status 200
//! for every well-formed request) and `application/graphql-response+json` (4xx when the
//! request failed before execution).

use crate::AppState;
use crate::error::codes;
use crate::graphql::extensions::ExecutionStarted;
use crate::graphql::loaders;
use crate::http::auth::{ClientAddr, viewer_from_headers};
use async_graphql::{Request, Response, Variables};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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
    query: String,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
    extensions: Option<Map<String, Value>>,
}

fn read_params(
    query: Option<Value>,
    operation_name: Option<Value>,
    variables: Option<Value>,
    extensions: Option<Value>,
) -> Result<Params, &'static str> {
    let query = match query {
        Some(Value::String(q)) => q,
        Some(_) => return Err("`query` must be a string"),
        None => return Err("a `query` parameter is required"),
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
    })
}

async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    media: MediaType,
    params: Params,
    method: Method,
    client: ClientAddr,
) -> HttpResponse {
    let mut request = Request::new(params.query);
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
    if method == Method::GET {
        // Only queries over GET: a mutation must not run from a link or a prefetch.
        if let Ok(doc) = async_graphql::parser::parse_query(&request.query) {
            {
                let op = doc
                    .operations
                    .iter()
                    .find(|(name, _)| match &request.operation_name {
                        Some(wanted) => name.is_some_and(|n| n.as_str() == wanted),
                        None => true,
                    });
                if let Some((_, op)) = op
                    && op.node.ty != async_graphql::parser::types::OperationType::Query
                {
                    return (
                        StatusCode::METHOD_NOT_ALLOWED,
                        [(header::ALLOW, HeaderValue::from_static("POST")), (header::CONTENT_TYPE, media.header())],
                        json!({ "errors": [{ "message": "only queries may be sent with GET; use POST" }] }).to_string(),
                    )
                        .into_response();
                }
            }
        }
    }

    let started = Arc::new(AtomicBool::new(false));
    let viewer = viewer_from_headers(state, headers).await;
    let request = request
        .data(viewer)
        .data(client)
        .data(loaders::loaders(
            state.db.clone(),
            Duration::from_micros(state.config.dataloader_delay_us),
        ))
        .data(ExecutionStarted(started.clone()));

    let timeout = Duration::from_secs(state.config.request_timeout_secs);
    let response = match tokio::time::timeout(timeout, state.schema.execute(request)).await {
        Ok(response) => response,
        Err(_) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, media.header())],
                json!({ "errors": [{ "message": "the request took too long", "extensions": { "code": "TIMEOUT" } }] })
                    .to_string(),
            )
                .into_response();
        }
    };
    respond(media, response, started.load(Ordering::SeqCst))
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

fn respond(media: MediaType, mut response: Response, executed: bool) -> HttpResponse {
    code_errors(&mut response.errors, executed);
    let body = if executed {
        serde_json::to_string(&response)
    } else {
        // A request error (the document did not parse or validate): no `data` entry at
        // all, and a code on every error.
        serde_json::to_string(&json!({ "errors": response.errors }))
    };
    let body = body
        .unwrap_or_else(|_| r#"{"errors":[{"message":"could not encode the response"}]}"#.into());
    let status = if executed || media == MediaType::Json {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    (status, [(header::CONTENT_TYPE, media.header())], body).into_response()
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
    match params {
        Ok(params) => execute(&state, &headers, media, params, Method::GET, client).await,
        Err(message) => request_error(media, StatusCode::BAD_REQUEST, message),
    }
}

/// `POST /graphql` with an `application/json` body.
pub async fn post_graphql(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
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
    match content_type.as_deref() {
        Some(JSON) | Some(GRAPHQL_RESPONSE_JSON) => {}
        Some(_) => {
            return request_error(
                media,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the request body must be application/json",
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
