//! GraphiQL at `/`: the page and its embedded files with their caching headers, and a
//! real browser — headless Chromium driven over the DevTools protocol — rendering it with
//! its editor, docs pane and autocompletion, while nothing it requests leaves 127.0.0.1.
//!
//! The browser test needs Debian's `chromium` (or `CHROMIUM=/path/to/chrome`). Without
//! one it says so and passes, so `cargo test` runs anywhere; CI sets `REQUIRE_CHROMIUM=1`
//! (`.ci/run` installs the package), and then a missing browser fails the test.

use crate::helpers::{TestApp, graphql_http};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::Message;

/// The introspection query GraphiQL 3 sends: graphql-js 16's `getIntrospectionQuery()`
/// with its default options, as printed by graphql@16.15.0.
const GRAPHIQL_INTROSPECTION: &str = include_str!("graphiql_introspection.graphql");

/// The `src`/`href` URLs of the page's scripts and stylesheets.
fn linked_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attr) {
            rest = &rest[start + attr.len()..];
            if let Some(end) = rest.find('"') {
                urls.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
        }
    }
    urls
}

async fn get(
    app: &TestApp,
    uri: &str,
    etag: Option<&str>,
) -> (StatusCode, header::HeaderMap, String) {
    let mut request = Request::get(uri);
    if let Some(etag) = etag {
        request = request.header(header::IF_NONE_MATCH, etag);
    }
    app.send(request.body(Body::empty()).expect("request"))
        .await
}

#[tokio::test]
async fn graphiql_is_served_from_the_binary_with_cache_validators() {
    let app = TestApp::spawn().await;
    let (status, headers, html) = get(&app, "/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(!html.contains("://"), "the page names another host: {html}");

    // Revalidating the page costs a 304 without a body.
    let page_etag = headers[header::ETAG].to_str().unwrap().to_owned();
    let (status, headers, body) = get(&app, "/", Some(&page_etag)).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(headers[header::ETAG], page_etag.as_str());
    assert!(body.is_empty());
    let (status, _, _) = get(&app, "/", Some("\"something-else\"")).await;
    assert_eq!(status, StatusCode::OK);

    let urls = linked_urls(&html);
    let files: Vec<&String> = urls
        .iter()
        .filter(|u| u.starts_with("/graphiql/"))
        .collect();
    assert_eq!(files.len(), 8, "{urls:?}");
    for url in files {
        let (status, headers, body) = get(&app, url, None).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        let expected_type = if url.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(headers[header::CONTENT_TYPE], expected_type, "{url}");
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable",
            "{url}"
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(body.len() > 50, "{url}");
        let etag = headers[header::ETAG].to_str().unwrap().to_owned();
        // The name carries the same digest as the ETag: new bytes, new name.
        assert!(url.contains(etag.trim_matches('"')), "{url} vs {etag}");
        let (status, again, body) = get(&app, url, Some(&etag)).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{url}");
        assert_eq!(again[header::ETAG], etag.as_str());
        assert!(body.is_empty());
        let (status, _, _) = get(&app, url, Some(&format!("W/{etag}, \"other\""))).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "weak comparison, {url}");
    }
    let (status, headers, _) = get(&app, "/graphiql/graphiql.min.0000000000000000.js", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
}

/// The browser to drive: `CHROMIUM`, or the first of the usual names on `PATH`.
fn find_chromium() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(path.into());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| {
        ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .map(|name| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// A headless Chromium started by the test (killed when dropped), and its profile.
struct Browser {
    _child: tokio::process::Child,
    _profile: tempfile::TempDir,
    devtools_port: u16,
}

impl Browser {
    async fn launch(executable: &std::path::Path) -> Self {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = tokio::process::Command::new(executable)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                // Any host but the test server's fails to resolve, so even a request the
                // page should not make cannot leave the machine.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", executable.display()));
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let port = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split("DevTools listening on ws://127.0.0.1:").nth(1) {
                    return rest.split('/').next().and_then(|p| p.parse::<u16>().ok());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("Chromium did not open its DevTools port");
        // Keep draining stderr so the browser never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            _child: child,
            _profile: profile,
            devtools_port: port,
        }
    }

    /// A DevTools session on the browser's first tab.
    async fn page(&self) -> Cdp {
        let targets: Vec<Value> =
            reqwest::get(format!("http://127.0.0.1:{}/json/list", self.devtools_port))
                .await
                .expect("DevTools targets")
                .json()
                .await
                .expect("DevTools targets as JSON");
        let url = targets
            .iter()
            .find(|t| t["type"] == "page")
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("a page target")
            .to_owned();
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("DevTools WebSocket");
        Cdp {
            ws,
            next_id: 0,
            events: Vec::new(),
        }
    }
}

/// A minimal Chrome DevTools Protocol client: commands, their answers, and the events seen.
struct Cdp {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
    events: Vec<Value>,
}

impl Cdp {
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({ "id": id, "method": method, "params": params }).to_string();
        self.ws
            .send(Message::text(message))
            .await
            .expect("DevTools send");
        loop {
            let message = tokio::time::timeout(Duration::from_secs(30), self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("no answer to {method}"))
                .expect("DevTools connection open")
                .expect("DevTools message");
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(&text).expect("DevTools JSON");
            if value["id"] == id {
                assert!(value.get("error").is_none(), "{method}: {value}");
                return value["result"].clone();
            }
            if value.get("method").is_some() {
                self.events.push(value);
            }
        }
    }

    /// Evaluates `expression` in the page and returns its value.
    async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is true in the page; false when `within` runs out.
    async fn wait_for(&mut self, expression: &str, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if self.eval(expression).await == json!(true) {
                return true;
            }
            if tokio::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Presses `key` (a letter) in the focused element, as a keyboard would.
    async fn press(&mut self, key: char) {
        let code = format!("Key{}", key.to_ascii_uppercase());
        let vk = key.to_ascii_uppercase() as u32;
        for kind in ["keyDown", "keyUp"] {
            let mut params = json!({ "type": kind, "key": key.to_string(), "code": code,
                                      "windowsVirtualKeyCode": vk });
            if kind == "keyDown" {
                params["text"] = json!(key.to_string());
            }
            self.call("Input.dispatchKeyEvent", params).await;
        }
    }

    fn events_named<'a>(&'a self, method: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.events.iter().filter(move |e| e["method"] == method)
    }
}

#[tokio::test]
async fn graphiql_renders_its_editor_and_docs_in_a_browser_without_leaving_the_machine() {
    let Some(chromium) = find_chromium() else {
        assert!(
            std::env::var_os("REQUIRE_CHROMIUM").is_none(),
            "REQUIRE_CHROMIUM is set but no Chromium was found (install Debian's `chromium` or set CHROMIUM)"
        );
        eprintln!(
            "SKIPPED graphiql browser test: no Chromium (install Debian's `chromium`; CI requires it)"
        );
        return;
    };
    let app = TestApp::spawn().await;
    let server = app.serve().await;
    let browser = Browser::launch(&chromium).await;
    let mut page = browser.page().await;
    for domain in ["Network", "Runtime", "Log", "Page"] {
        page.call(&format!("{domain}.enable"), json!({})).await;
    }
    page.call(
        "Page.navigate",
        json!({ "url": format!("{}/", server.base_url) }),
    )
    .await;

    let patience = Duration::from_secs(60);
    assert!(
        page.wait_for(
            "!!document.querySelector('.graphiql-container .graphiql-query-editor .CodeMirror')",
            patience
        )
        .await,
        "the GraphiQL editor did not render: {}",
        page.eval("document.body.innerText").await
    );
    let editor_text = page
        .eval("document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()")
        .await;
    assert!(
        editor_text
            .as_str()
            .is_some_and(|t| t.contains("Welcome to the Solidarity Market API")),
        "{editor_text}"
    );
    assert!(
        page.wait_for(
            "!!document.querySelector('section.graphiql-doc-explorer')",
            patience
        )
        .await,
        "the docs pane did not open"
    );
    // The docs pane either lists the schema or says it could not fetch it.
    assert!(
        page.wait_for(
            "!!document.querySelector('.graphiql-doc-explorer-root-type, .graphiql-doc-explorer-error')",
            patience
        )
        .await,
        "the docs pane never settled"
    );
    let docs = page
        .eval("document.querySelector('section.graphiql-doc-explorer').innerText")
        .await;
    let docs = docs.as_str().unwrap_or_default().to_owned();

    if docs.contains("Root Types") {
        for name in [
            "query",
            "mutation",
            "Product",
            "Cooperative",
            "PayoutStatement",
        ] {
            assert!(docs.contains(name), "the docs list {name}: {docs}");
        }
        // Autocompletion from the loaded schema: typing `{ pro` offers `products`.
        page.eval(
            "(() => { const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror; \
             cm.setValue('{ '); cm.focus(); cm.setCursor(cm.lineCount(), 0); return true; })()",
        )
        .await;
        for key in ['p', 'r', 'o'] {
            page.press(key).await;
        }
        assert!(
            page.wait_for(
                "!!document.querySelector('.CodeMirror-hints') && \
                 [...document.querySelectorAll('.CodeMirror-hint')].some(h => h.innerText.trim() === 'products')",
                patience
            )
            .await,
            "no `products` suggestion after typing `{{ pro`"
        );
    } else {
        // GraphiQL could not introspect. That is only acceptable while the server refuses
        // the standard introspection query itself (its depth limit did, before issue 11's
        // introspection fix); once the server answers it, the docs must show the schema.
        let client = reqwest::Client::new();
        let answer = graphql_http(
            &client,
            &server.base_url,
            None,
            GRAPHIQL_INTROSPECTION,
            json!({}),
        )
        .await;
        assert!(
            answer.get("errors").is_some(),
            "the server answers GraphiQL's introspection query, yet the docs pane shows: {docs}"
        );
        assert!(docs.contains("Error fetching schema"), "{docs}");
        eprintln!(
            "NOTE graphiql browser test: the docs pane rendered without the schema because the \
             server refuses the standard introspection query ({}); docs and autocompletion are \
             checked once it is accepted",
            answer["errors"][0]["message"]
        );
    }

    // Everything the page asked for came from the test server.
    let requested: BTreeSet<String> = page
        .events_named("Network.requestWillBeSent")
        .filter_map(|e| e["params"]["request"]["url"].as_str())
        .map(str::to_owned)
        .collect();
    let foreign: Vec<&String> = requested
        .iter()
        .filter(|u| !u.starts_with(&format!("{}/", server.base_url)) && !u.starts_with("data:"))
        .collect();
    assert!(
        foreign.is_empty(),
        "requests that left 127.0.0.1: {foreign:?}"
    );
    let graphql = format!("{}/graphql", server.base_url);
    assert!(requested.contains(&graphql), "{requested:?}");
    let files = requested
        .iter()
        .filter(|u| u.contains("/graphiql/"))
        .count();
    assert_eq!(
        files, 8,
        "every embedded file, from this server: {requested:?}"
    );

    // Nothing broke on the way: no script error, no Content-Security-Policy violation.
    let exceptions: Vec<&Value> = page.events_named("Runtime.exceptionThrown").collect();
    assert!(exceptions.is_empty(), "script errors: {exceptions:?}");
    let refused: Vec<String> = page
        .events_named("Log.entryAdded")
        .chain(page.events_named("Runtime.consoleAPICalled"))
        .map(Value::to_string)
        .filter(|e| e.contains("Content Security Policy") || e.contains("Refused to"))
        .collect();
    assert!(refused.is_empty(), "blocked by the page's CSP: {refused:?}");
}
