//! Operability (issue 12, item 8): a request id on every request and on every log line it
//! causes, one structured log line per GraphQL operation, Prometheus metrics at
//! `/metrics` for operators only.

use crate::helpers::{TestApp, graphql_from};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::time::Duration;
use tower::ServiceExt;

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let get = |id: Option<&str>| {
        let mut request = Request::get("/health");
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        request.body(Body::empty()).unwrap()
    };
    let (_, headers, _) = app.send(get(Some("checkout-7f3a:42"))).await;
    assert_eq!(
        headers["x-request-id"], "checkout-7f3a:42",
        "a sane id is kept"
    );
    let (_, headers, _) = app.send(get(None)).await;
    let generated = headers["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    let (_, headers, _) = app.send(get(Some(&"x".repeat(300)))).await;
    assert_eq!(
        headers["x-request-id"].len(),
        36,
        "an insane one is replaced"
    );
    let (_, headers, _) = app
        .send(Request::get("/no-such-page").body(Body::empty()).unwrap())
        .await;
    assert!(headers.contains_key("x-request-id"), "even on a 404");
}

#[tokio::test]
async fn each_operation_logs_one_structured_line_and_every_line_has_the_request_id() {
    let app = TestApp::spawn().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_solidarity-market"))
        .args(["serve", "--seed-demo", "false", "--log-format", "json"])
        .args(["--log-level", "info", "--max-response-bytes", "300"])
        .args(["--database-url", &app.url])
        .args(["--bind-addr", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the server");
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if client.get(format!("{base}/health")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let response = client
        .post(format!("{base}/graphql"))
        .header("x-request-id", "trace-me-1")
        .json(&json!({ "query": "query Regions { regions { code name provinces } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "RESPONSE_TOO_LARGE"
    );

    let mut ours = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        let Ok(line) = lines_rx.recv_timeout(Duration::from_millis(200)) else {
            if ours
                .iter()
                .any(|l: &Value| l["fields"]["message"] == "graphql operation")
            {
                break;
            }
            continue;
        };
        let Ok(event) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let mentions_us = line.contains("trace-me-1");
        let inside_a_request = event["spans"]
            .as_array()
            .is_some_and(|spans| spans.iter().any(|s| s["name"] == "request"));
        if inside_a_request && event["span"]["path"] == "/graphql" {
            assert!(mentions_us, "a line of the request without its id: {line}");
        }
        if mentions_us {
            ours.push(event);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let operations: Vec<&Value> = ours
        .iter()
        .filter(|l| l["fields"]["message"] == "graphql operation")
        .collect();
    assert_eq!(operations.len(), 1, "one line per operation: {ours:#?}");
    let op = &operations[0]["fields"];
    assert_eq!(op["operation"], "Regions");
    assert_eq!(op["kind"], "query");
    assert!(op["cost"].as_u64().unwrap() > 0);
    assert!(op["duration_ms"].is_number());
    assert_eq!(op["error_codes"], "RESPONSE_TOO_LARGE");
    assert!(
        ours.iter().any(|l| l["level"] == "WARN"),
        "the warning inside the request carries its id too: {ours:#?}"
    );
}

async fn scrape(app: &TestApp, peer: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
    let mut request = Request::get("/metrics");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request.body(Body::empty()).unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::new(
            peer.parse().unwrap(),
            50_000,
        )));
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn prometheus_metrics_are_served_to_operators_only() {
    let app = TestApp::spawn_with(|config| {
        config.sign_ins_per_minute = 1;
        config.metrics_token = Some("scrape-secret".into());
    })
    .await;
    let login = r#"mutation MetricsProbeLogin { login(input: { email: "a@example.ma", password: "wrong password" }) { token } }"#;
    for _ in 0..2 {
        graphql_from(app.router.clone(), "192.0.2.77", &[], login, json!({})).await;
    }
    let (status, text) = scrape(&app, "127.0.0.1", &[]).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    for expected in [
        "graphql_operations_total{",
        "operation=\"MetricsProbeLogin\"",
        "graphql_operation_duration_seconds_bucket{",
        "rate_limited_total{class=\"SIGN_IN\"}",
        "http_requests_total{",
        "db_pool_connections{state=\"open\"}",
        "db_pool_connections{state=\"max\"}",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    let (status, _) = scrape(&app, "203.0.113.9", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not for the public");
    let (status, _) = scrape(&app, "127.0.0.1", &[("x-forwarded-for", "203.0.113.9")]).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "not through a proxy on this host"
    );
    let (status, _) = scrape(
        &app,
        "203.0.113.9",
        &[("authorization", "Bearer scrape-secret")],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a scraper with the token, from anywhere"
    );
    let (status, _) = scrape(&app, "203.0.113.9", &[("authorization", "Bearer guess")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
