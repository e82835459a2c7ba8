//! Flood benchmark (issue 12), driven by `bench/flood.sh`: a cheap storefront query's
//! latency alone and while each abuse of issue 12's table runs against the same server.
//!
//! For each scenario: the cheap query alone for `--duration` seconds (the baseline of that
//! scenario, measured in the same run), then the abuse starts (`--abusers` workers, or 600
//! slow connections), and the cheap query is measured again for `--duration` seconds. Every
//! body is read: abusive requests are counted by outcome (HTTP status and
//! `extensions.code`), and a cheap query that fails aborts the run. One JSON line per
//! scenario on stdout.
//!
//! ```sh
//! cargo run --release --example flood -- --url http://127.0.0.1:18200 --duration 10
//! ```
//!
//! Scenarios: `nested` (the five-level page query), `repeated` (1,200 copies of a
//! 100-product page), `login` (wrong passwords for one account from one address),
//! `login-spread` (the same from 1,000 addresses, through a trusted proxy's
//! `X-Forwarded-For`: the server must run with `--trusted-proxies 127.0.0.1`),
//! `register` and `register-spread` (new accounts), `slow` (600 connections trickling
//! their headers a byte a second).

use clap::Parser;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Parser)]
#[command(about = "cheap-query latency during abusive floods (see bench/flood.sh)")]
struct Cli {
    /// Base URL of the server (loopback).
    #[arg(long, default_value = "http://127.0.0.1:18200")]
    url: String,
    /// Seconds of each measurement (alone, then during the abuse).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Concurrent abusive workers.
    #[arg(long, default_value_t = 8)]
    abusers: usize,
    /// Scenarios to run, comma-separated.
    #[arg(
        long,
        default_value = "nested,repeated,login,login-spread,register,register-spread,slow"
    )]
    scenarios: String,
}

const CHEAP: &str = "{ products(first: 5) { nodes { sku name price { amount } } } }";

fn nested() -> String {
    let level = "cooperative { products(first: 100) { nodes { ";
    format!(
        "{{ products(first: 100) {{ nodes {{ {} sku {} }} }} }}",
        level.repeat(4),
        "} } } ".repeat(4)
    )
}

fn repeated() -> String {
    format!(
        "{{ {} }}",
        "products(first: 100) { nodes { sku name cooperative { name } } } ".repeat(1_200)
    )
}

struct Percentiles {
    p50: f64,
    p99: f64,
    n: usize,
}

fn percentiles(mut ms: Vec<f64>) -> Percentiles {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    Percentiles {
        p50: at(0.5),
        p99: at(0.99),
        n: ms.len(),
    }
}

/// The cheap query, one at a time, for `seconds`; latencies in ms.
async fn measure_cheap(client: &reqwest::Client, url: &str, seconds: u64) -> Percentiles {
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut times = Vec::new();
    while Instant::now() < end {
        let started = Instant::now();
        let response = client
            .post(format!("{url}/graphql"))
            .json(&json!({ "query": CHEAP }))
            .send()
            .await
            .expect("the cheap query reaches the server");
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON answer");
        assert!(
            status.is_success() && body.get("errors").is_none(),
            "the cheap query failed: {status} {body}"
        );
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    percentiles(times)
}

/// What an abusive request got: its HTTP status and first error code.
fn outcome(status: u16, body: &Value) -> String {
    match body["errors"][0]["extensions"]["code"].as_str() {
        Some(code) => format!("{status} {code}"),
        None => match body["data"]
            .as_object()
            .and_then(|d| d.values().next())
            .and_then(|p| p["userErrors"][0]["code"].as_str())
        {
            Some(code) => format!("{status} {code}"),
            None => format!("{status} ok"),
        },
    }
}

async fn abuse_http(
    client: reqwest::Client,
    url: String,
    scenario: String,
    worker: usize,
    stop: Arc<AtomicBool>,
    seq: Arc<AtomicU64>,
) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    let (nested, repeated) = (nested(), repeated());
    while !stop.load(Ordering::Relaxed) {
        let n = seq.fetch_add(1, Ordering::Relaxed);
        let spread = scenario.ends_with("-spread");
        let (query, variables) = match scenario.as_str() {
            "nested" => (nested.clone(), json!({})),
            "repeated" => (repeated.clone(), json!({})),
            "login" | "login-spread" => (
                "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { token userErrors { code } } }".to_owned(),
                json!({ "e": "customer@example.ma", "p": format!("guess {worker} {n}") }),
            ),
            _ => (
                "mutation($e: String!) { register(input: { email: $e, password: \"a long passphrase\", name: \"Flood\" }) { userErrors { code } } }".to_owned(),
                json!({ "e": format!("flood-{worker}-{n}@example.ma") }),
            ),
        };
        let mut request = client
            .post(format!("{url}/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if spread {
            request = request.header(
                "x-forwarded-for",
                format!("198.18.{}.{}", (n / 250) % 4, n % 250 + 1),
            );
        }
        let key = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or_default();
                outcome(status, &body)
            }
            Err(_) => "transport error".to_owned(),
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
}

/// A connection that sends its request headers a byte a second; returns whether the
/// server closed it before `stop`.
async fn slow_connection(addr: String, stop: Arc<AtomicBool>) -> bool {
    let Ok(mut stream) = tokio::net::TcpStream::connect(&addr).await else {
        return false;
    };
    let head =
        b"POST /graphql HTTP/1.1\r\nHost: flood\r\nContent-Type: application/json\r\nX-Slow: ";
    for byte in head.iter().cycle() {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        if stream.write_all(&[*byte]).await.is_err() {
            return true;
        }
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            _ => {}
        }
    }
    false
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("HTTP client");
    let url = cli.url.trim_end_matches('/').to_owned();
    // Warm up.
    measure_cheap(&client, &url, 2).await;
    for scenario in cli.scenarios.split(',').map(str::trim) {
        let alone = measure_cheap(&client, &url, cli.duration).await;
        let stop = Arc::new(AtomicBool::new(false));
        let seq = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let (http_tasks, slow_tasks) = if scenario == "slow" {
            let addr = url.trim_start_matches("http://").to_owned();
            let tasks: Vec<_> = (0..600)
                .map(|_| tokio::spawn(slow_connection(addr.clone(), stop.clone())))
                .collect();
            (Vec::new(), tasks)
        } else {
            let tasks: Vec<_> = (0..cli.abusers)
                .map(|w| {
                    tokio::spawn(abuse_http(
                        client.clone(),
                        url.clone(),
                        scenario.to_owned(),
                        w,
                        stop.clone(),
                        seq.clone(),
                    ))
                })
                .collect();
            (tasks, Vec::new())
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        let during = measure_cheap(&client, &url, cli.duration).await;
        stop.store(true, Ordering::Relaxed);
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for task in http_tasks {
            for (k, v) in task.await.unwrap_or_default() {
                *counts.entry(k).or_default() += v;
            }
        }
        for task in slow_tasks {
            let closed = task.await.unwrap_or(false);
            *counts
                .entry(
                    if closed {
                        "slow: closed by the server"
                    } else {
                        "slow: still open at the end"
                    }
                    .to_owned(),
                )
                .or_default() += 1;
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{}",
            json!({
                "scenario": scenario,
                "alone": { "p50_ms": alone.p50, "p99_ms": alone.p99, "n": alone.n },
                "during": { "p50_ms": during.p50, "p99_ms": during.p99, "n": during.n },
                "abuse_outcomes": counts,
                "abuse_seconds": seconds,
            })
        );
    }
}
