//! Fairness under load (issue 12, item 2): the expensive kinds of request are limited per
//! client (429 `RATE_LIMITED`, `Retry-After`) before any database work; cheap queries are
//! never; slow connections are closed; and a cheap query stays fast while abusive
//! requests run.

use crate::helpers::{TestApp, graphql_from};
use axum::http::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WRONG_LOGIN: &str = r#"mutation { login(input: { email: "x@example.ma", password: "not the password" }) { token } }"#;

#[tokio::test]
async fn sign_ins_are_rate_limited_per_client_before_any_sql() {
    let app = TestApp::spawn_with(|config| config.sign_ins_per_minute = 3).await;
    for _ in 0..3 {
        let (status, _, body) =
            graphql_from(app.router.clone(), "192.0.2.1", &[], WRONG_LOGIN, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (statements, (status, headers, body)) = app
        .count_statements(graphql_from(
            app.router.clone(),
            "192.0.2.1",
            &[],
            WRONG_LOGIN,
            json!({}),
        ))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    assert_eq!(body["errors"][0]["extensions"]["class"], "SIGN_IN");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(statements, 0, "refused before the database");
    // Another client is not affected.
    let (status, _, _) =
        graphql_from(app.router.clone(), "192.0.2.2", &[], WRONG_LOGIN, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    // Aliases count: five sign-ins in one request are five.
    let five: String = (0..5)
        .map(|n| format!(r#"l{n}: login(input: {{ email: "x@example.ma", password: "guess {n} guess" }}) {{ token }} "#))
        .collect();
    let (status, _, body) = graphql_from(
        app.router.clone(),
        "192.0.2.3",
        &[],
        &format!("mutation {{ {five} }}"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
}

#[tokio::test]
async fn expensive_queries_are_limited_per_client_and_cheap_ones_never() {
    let app = TestApp::spawn_with(|config| {
        config.expensive_query_cost = 100;
        config.expensive_queries_per_minute = 2;
    })
    .await;
    let expensive = "{ products(first: 100) { nodes { sku } } }";
    for _ in 0..2 {
        let (status, _, body) =
            graphql_from(app.router.clone(), "192.0.2.1", &[], expensive, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, _, body) =
        graphql_from(app.router.clone(), "192.0.2.1", &[], expensive, json!({})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["errors"][0]["extensions"]["class"], "EXPENSIVE_QUERY");
    for _ in 0..20 {
        let (status, _, body) = graphql_from(
            app.router.clone(),
            "192.0.2.1",
            &[],
            "{ regions { code } }",
            json!({}),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "cheap queries are never limited: {body}"
        );
    }
}

#[tokio::test]
async fn large_documents_are_expensive_whatever_they_cost() {
    let app = TestApp::spawn_with(|config| {
        config.expensive_document_bytes = 2_000;
        config.expensive_queries_per_minute = 2;
    })
    .await;
    // Cheap once merged (one field), but 3,400 bytes to parse.
    let large = format!("{{ {} }}", "regions { code } ".repeat(200));
    assert!(large.len() > 2_000);
    for _ in 0..2 {
        let (status, _, body) =
            graphql_from(app.router.clone(), "192.0.2.1", &[], &large, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            body["extensions"]["cost"]["requestedQueryCost"]
                .as_u64()
                .unwrap()
                < 100,
            "{body}"
        );
    }
    let (status, _, body) =
        graphql_from(app.router.clone(), "192.0.2.1", &[], &large, json!({})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["class"], "EXPENSIVE_QUERY");
    // The same query written once is cheap and short: never limited.
    let (status, _, body) = graphql_from(
        app.router.clone(),
        "192.0.2.1",
        &[],
        "{ regions { code } }",
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_has_a_bounded_number_of_expensive_requests_running() {
    let app = TestApp::spawn_with(|config| {
        config.max_concurrent_expensive_per_client = 1;
        config.sqlite_busy_timeout_secs = 10;
    })
    .await;
    let token = crate::fixtures::account(
        &app.db,
        "c@example.ma",
        solidarity_market::domain::enums::Role::Customer,
        None,
    )
    .await;
    let auth = format!("Bearer {token}");
    // Hold the tokens table so the first change waits inside the server.
    let lock = crate::helpers::TableLock::take(&app, "auth_tokens").await;
    let first = {
        let router = app.router.clone();
        let auth = auth.clone();
        tokio::spawn(async move {
            graphql_from(
                router,
                "192.0.2.1",
                &[("authorization", auth.as_str())],
                "mutation { logout { revoked } }",
                json!({}),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, _, body) = graphql_from(
        app.router.clone(),
        "192.0.2.1",
        &[("authorization", auth.as_str())],
        "mutation { logout { revoked } }",
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("running")
    );
    lock.release().await;
    let (status, _, body) = first.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["logout"]["revoked"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_connections_are_closed_and_do_not_hold_the_server() {
    let app = TestApp::spawn_with(|config| {
        config.header_read_timeout_secs = 1;
        config.body_read_timeout_secs = 1;
    })
    .await;
    let server = app.serve().await;
    let addr = server.base_url.trim_start_matches("http://").to_owned();
    // Fifty clients trickle their headers a byte at a time.
    let trickles: Vec<_> = (0..50)
        .map(|_| {
            let addr = addr.clone();
            tokio::spawn(async move {
                let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
                let started = Instant::now();
                for byte in b"POST /graphql HTTP/1.1\r\nHost: a\r\nX-Slow: "
                    .iter()
                    .cycle()
                {
                    if stream.write_all(&[*byte]).await.is_err() {
                        break;
                    }
                    let mut buf = [0u8; 256];
                    match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf))
                        .await
                    {
                        Ok(Ok(0)) | Ok(Err(_)) => break,
                        _ => {}
                    }
                    if started.elapsed() > Duration::from_secs(30) {
                        return None;
                    }
                }
                Some(started.elapsed())
            })
        })
        .collect();
    // Meanwhile the API answers.
    let client = reqwest::Client::new();
    let response = crate::helpers::graphql_http(
        &client,
        &server.base_url,
        None,
        "{ regions { code } }",
        json!({}),
    )
    .await;
    assert_eq!(response["data"]["regions"].as_array().unwrap().len(), 12);
    for trickle in trickles {
        let closed = trickle.await.unwrap();
        assert!(closed.is_some(), "a slow connection was kept open for 30 s");
    }
    // A body trickled past its deadline gets 408.
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = async {
        loop {
            let _ = stream.write_all(b" ").await;
            let mut buf = [0u8; 1024];
            match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => {
                    answer.extend_from_slice(&buf[..n]);
                    break;
                }
                Err(_) => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("the server answered the slow body");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

/// Median of request latencies, in milliseconds.
async fn median_latency(client: &reqwest::Client, base: &str, n: usize) -> f64 {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let body = crate::helpers::graphql_http(
            client,
            base,
            None,
            "{ regions { code name } }",
            json!({}),
        )
        .await;
        assert!(body.get("errors").is_none(), "{body}");
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    times[n / 2]
}

/// Issue 12's table, measured the way the benchmark does but with a generous margin: the
/// abusive requests (the nested page query, 1,200 repeated fields — refused before they
/// are parsed —, a sign-in flood) are refused before any work, so a cheap query's median stays within 2× of its median alone
/// (plus 25 ms of slack for a shared machine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cheap_query_stays_fast_while_abusive_requests_run() {
    let app = TestApp::with_demo().await;
    // The real binary in its own process: the test's abusive loops do not share the
    // server's runtime, as real clients would not.
    let server = app.spawn_process().await;
    let client = reqwest::Client::new();
    let base = server.base_url.clone();
    median_latency(&client, &base, 5).await;
    // The machine is shared: a round disturbed by something else is measured again (at
    // most three rounds). Abuse that really starved the server fails every round.
    let mut rounds = Vec::new();
    for _ in 0..3 {
        let (alone, during) = abuse_round(&client, &base).await;
        rounds.push(format!(
            "{during:.1} ms during abuse vs {alone:.1} ms alone"
        ));
        if during <= alone * 2.0 + 25.0 {
            return;
        }
    }
    panic!("a cheap query's median was slowed by abuse in every round: {rounds:?}");
}

/// One round: a cheap query's median alone, then while abusive requests run (which must
/// all be refused).
async fn abuse_round(client: &reqwest::Client, base: &str) -> (f64, f64) {
    let alone = median_latency(client, base, 30).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let level = "cooperative { products(first: 100) { nodes { ";
    let nested = format!(
        "{{ products(first: 100) {{ nodes {{ {} sku {} }} }} }}",
        level.repeat(4),
        "} } } ".repeat(4)
    );
    let repeated = format!(
        "{{ {} }}",
        "products(first: 100) { nodes { sku name cooperative { name } } } ".repeat(1_200)
    );
    let abuses = [nested, repeated, WRONG_LOGIN.to_owned()];
    let mut tasks = Vec::new();
    // One client per abuse, each sending as fast as it is answered (the abusers run on
    // the same two cores as the server here, unlike real ones).
    for abuse in abuses {
        let (client, base, stop) = (client.clone(), base.to_owned(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut refused = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let response = client
                    .post(format!("{base}/graphql"))
                    .json(&json!({ "query": abuse }))
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                let code = body["errors"][0]["extensions"]["code"]
                    .as_str()
                    .unwrap_or("");
                if status == 429
                    || ["QUERY_TOO_COMPLEX", "DOCUMENT_TOO_LARGE", "THROTTLED"].contains(&code)
                {
                    refused += 1;
                }
            }
            refused
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = median_latency(client, base, 30).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut refused = 0;
    for task in tasks {
        refused += task.await.unwrap();
    }
    assert!(refused > 0, "the abusive requests were refused");
    (alone, during)
}
