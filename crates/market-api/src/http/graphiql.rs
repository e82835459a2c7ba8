//! GraphiQL at `GET /`, served entirely from the binary: the page, its script and the
//! vendored GraphiQL, React and Explorer builds (`assets/graphiql/`, re-vendored by
//! `assets/graphiql/vendor.sh`) are embedded at build time, so the explorer works on a
//! network with no internet. The page references nothing outside this server.
//!
//! Caching: each file is served under a content-addressed name
//! (`/graphiql/graphiql.min.<hash>.js`), so browsers may keep it for a year without asking
//! again (`Cache-Control: public, max-age=31536000, immutable`); a new build with other
//! bytes has other names. The page itself is revalidated on every visit (`no-cache`) and
//! answered `304 Not Modified` when the browser's `If-None-Match` holds its `ETag`.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use headers::{ETag, HeaderMapExt, IfNoneMatch};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::LazyLock;

/// The path prefix of the embedded files.
pub const ASSET_PREFIX: &str = "/graphiql/";

/// What the page allows: scripts, styles and requests from this server only; images and
/// fonts also from `data:` URLs (GraphiQL's stylesheet inlines its fonts and icons).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Content-addressed files may be kept for a year: their name changes with their bytes.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The page is checked again on each visit (a cheap `304` when unchanged).
const REVALIDATE: &str = "no-cache";

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

/// The embedded files, in the order the page loads them: (file name, content type, bytes).
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "graphiql.min.css",
        CSS,
        include_bytes!("assets/graphiql/graphiql.min.css"),
    ),
    (
        "plugin-explorer.css",
        CSS,
        include_bytes!("assets/graphiql/plugin-explorer.css"),
    ),
    (
        "graphiql-page.css",
        CSS,
        include_bytes!("assets/graphiql-page.css"),
    ),
    (
        "react.production.min.js",
        JS,
        include_bytes!("assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        JS,
        include_bytes!("assets/graphiql/react-dom.production.min.js"),
    ),
    (
        "graphiql.min.js",
        JS,
        include_bytes!("assets/graphiql/graphiql.min.js"),
    ),
    (
        "plugin-explorer.umd.js",
        JS,
        include_bytes!("assets/graphiql/plugin-explorer.umd.js"),
    ),
    (
        "graphiql-page.js",
        JS,
        include_bytes!("assets/graphiql-page.js"),
    ),
];

/// A response body with what it takes to cache it.
struct Served {
    content_type: &'static str,
    body: Bytes,
    etag: ETag,
    etag_header: HeaderValue,
}

impl Served {
    fn new(content_type: &'static str, body: Bytes) -> Self {
        let quoted = format!("\"{}\"", digest(&body));
        Self {
            content_type,
            body,
            // A quoted hex digest is always a valid entity tag and header value.
            etag: quoted.parse().expect("a quoted hex digest is an ETag"),
            etag_header: HeaderValue::from_str(&quoted).expect("a quoted hex digest is ASCII"),
        }
    }

    /// `200` with the body, or `304` when the request's `If-None-Match` holds the ETag.
    fn respond(&self, request: &HeaderMap, cache_control: &'static str) -> Response {
        let fresh = request
            .typed_get::<IfNoneMatch>()
            .is_some_and(|condition| !condition.precondition_passes(&self.etag));
        let mut response = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(self.content_type),
                )],
                self.body.clone(),
            )
                .into_response()
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, self.etag_header.clone());
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        response
    }
}

/// The first 16 hex digits of the SHA-256 of `bytes`: names and ETags.
fn digest(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..8])
}

/// `graphiql.min.js` → `graphiql.min.<digest>.js`.
fn addressed_name(file: &str, digest: &str) -> String {
    match file.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{digest}.{ext}"),
        None => format!("{file}.{digest}"),
    }
}

/// The embedded files by content-addressed name, and the page that loads them.
struct Site {
    assets: HashMap<String, Served>,
    page: Served,
}

static SITE: LazyLock<Site> = LazyLock::new(|| {
    let mut assets = HashMap::new();
    let (mut styles, mut scripts) = (String::new(), String::new());
    for (file, content_type, body) in FILES {
        let digest = digest(body);
        let name = addressed_name(file, &digest);
        let url = format!("{ASSET_PREFIX}{name}");
        if *content_type == CSS {
            styles.push_str(&format!("<link rel=\"stylesheet\" href=\"{url}\">\n"));
        } else {
            scripts.push_str(&format!("<script src=\"{url}\"></script>\n"));
        }
        assets.insert(name, Served::new(content_type, Bytes::from_static(body)));
    }
    // `data:,` as the icon: the browser asks for no /favicon.ico.
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Solidarity Market API</title>\n<link rel=\"icon\" href=\"data:,\">\n\
         {styles}</head>\n<body>\n\
         <div id=\"graphiql\" data-endpoint=\"/graphql\">Loading GraphiQL…</div>\n\
         <noscript>GraphiQL needs JavaScript. The API itself is at POST /graphql.</noscript>\n\
         {scripts}</body>\n</html>\n"
    );
    let page = Served::new(HTML, Bytes::from(html));
    Site { assets, page }
});

/// `GET /`: the GraphiQL page.
pub async fn page(headers: HeaderMap) -> Response {
    let mut response = SITE.page.respond(&headers, REVALIDATE);
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    out.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// `GET /graphiql/{file}`: an embedded file by its content-addressed name.
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match SITE.assets.get(&file) {
        Some(served) => served.respond(&headers, IMMUTABLE),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            "no such file",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_digest_before_the_extension() {
        assert_eq!(
            addressed_name("graphiql.min.js", "0123abcd"),
            "graphiql.min.0123abcd.js"
        );
        assert_eq!(addressed_name("LICENSE", "0123abcd"), "LICENSE.0123abcd");
    }

    #[test]
    fn the_page_loads_every_file_from_this_server_only() {
        let html = std::str::from_utf8(&SITE.page.body).expect("UTF-8");
        for name in SITE.assets.keys() {
            assert!(
                html.contains(&format!("\"{ASSET_PREFIX}{name}\"")),
                "{name}"
            );
        }
        assert!(!html.contains("://"), "an absolute URL in the page: {html}");
        assert_eq!(SITE.assets.len(), FILES.len());
    }
}
