//! `GET /images/{hash}/{width}.{ext}`: the renditions of stored images, at stable
//! content-addressed URLs — the URL names the picture's bytes, so its answer never
//! changes: `Cache-Control: public, max-age=31536000, immutable` and a strong `ETag`
//! (`If-None-Match` gets `304`), ready for a CDN. A rendition is made on its first
//! request and kept in the image store; the ones served lately are also kept in memory.
//! No database is read here.

use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use market_core::domain::images::{self, RenditionFormat};

/// What a rendition answer says about caching: forever, anywhere.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The renditions served lately, by (hash, width, format), within a memory budget.
pub struct RenditionCache(moka::sync::Cache<(String, u32, RenditionFormat), Bytes>);

impl RenditionCache {
    /// A cache of at most `bytes` of renditions.
    pub fn new(bytes: u64) -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(bytes)
                .weigher(|_, v: &Bytes| u32::try_from(v.len() + 128).unwrap_or(u32::MAX))
                .build(),
        )
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CACHE_CONTROL, "no-store")],
        "no such image",
    )
        .into_response()
}

/// The strong entity tag of a rendition: its URL names its bytes.
fn etag(hash: &str, width: u32, format: RenditionFormat) -> String {
    format!("\"{hash}-{width}.{}\"", format.extension())
}

/// Whether `If-None-Match` names `tag` (or is `*`).
fn matches(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag)
}

/// `GET /images/{hash}/{width}.{ext}`.
pub async fn rendition(
    State(state): State<AppState>,
    Path((hash, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some((width, ext)) = file.split_once('.') else {
        return not_found();
    };
    let (Ok(width), Some(format)) = (width.parse::<u32>(), RenditionFormat::from_extension(ext))
    else {
        return not_found();
    };
    if !images::is_hash(&hash) || !images::WIDTHS.contains(&width) {
        return not_found();
    }
    let tag = etag(&hash, width, format);
    let cache_headers = |response: &mut Response| {
        let h = response.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
        if let Ok(value) = HeaderValue::from_str(&tag) {
            h.insert(header::ETAG, value);
        }
    };
    let key = (hash, width, format);
    let bytes = match state.renditions.0.get(&key) {
        Some(bytes) => bytes,
        None => {
            // Not answered with 304 before it is known to exist: a tag for a deleted
            // image must not be confirmed.
            match state.images.rendition(&key.0, width, format).await {
                Ok(Some(bytes)) => {
                    state.renditions.0.insert(key, bytes.clone());
                    bytes
                }
                Ok(None) => return not_found(),
                Err(err) => {
                    err.log();
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        [(header::CACHE_CONTROL, "no-store")],
                        "the image cannot be read now",
                    )
                        .into_response();
                }
            }
        }
    };
    let mut response = if matches(&headers, &tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, format.content_type())],
            Body::from(bytes),
        )
            .into_response()
    };
    cache_headers(&mut response);
    response
}
