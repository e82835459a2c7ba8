//! The receiving end of the events benchmark (issue #19), driven by `bench/events.sh`.
//!
//! It stands for the partners and the portal listening to a busy market: a webhook
//! receiver (a local HTTP server that checks every delivery's `Market-Signature`) and
//! `--subscribers` GraphQL subscriptions over `graphql-transport-ws` (`events`, every
//! type, as a manager: each hears every event). It registers its webhook through
//! `createWebhook`, prints `ready` on stdout, and listens until it is sent SIGTERM or
//! SIGINT (the load is over); it then waits until nothing has arrived for `--quiet`
//! seconds (the last events are still on their way), disables its webhook, and prints
//! one JSON object: for each channel the events received, the distinct ids, the events
//! per second while they arrived, and the lag from the change's commit (`createdAt`,
//! `occurredAt`) to receipt. It fails when a channel misses an event the other received
//! or a signature does not verify: every event must reach every listener.
//!
//! With `--replay-after ID` it measures a subscriber catching up instead: one
//! subscription from `after: ID` reads the backlog as fast as the server sends it, until
//! `--replay-count` events have arrived.
//!
//! ```sh
//! cargo run --release --example event_sink -- --url http://127.0.0.1:8080 \
//!     --token "$MANAGER_TOKEN" --port 18091 --subscribers 4
//! ```

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use clap::Parser;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(about = "events benchmark receiver (see bench/events.sh)")]
struct Args {
    /// Base URL of the server (loopback).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A manager's token (creates the webhook; subscriptions hear every event).
    #[arg(long)]
    token: String,
    /// Port of the webhook receiver on 127.0.0.1.
    #[arg(long, default_value_t = 18091)]
    port: u16,
    /// Concurrent subscriptions.
    #[arg(long, default_value_t = 4)]
    subscribers: usize,
    /// Seconds without any arrival, after the stop signal, that end the listening.
    #[arg(long, default_value_t = 3.0)]
    quiet: f64,
    /// Longest wait after the stop signal, in seconds.
    #[arg(long, default_value_t = 120.0)]
    drain_limit: f64,
    /// Replay mode: one subscription resuming after this event id.
    #[arg(long)]
    replay_after: Option<i64>,
    /// Replay mode: events to receive before stopping.
    #[arg(long, default_value_t = 10_000)]
    replay_count: usize,
}

/// What one channel received: (event id, receipt instant, lag in ms).
#[derive(Default)]
struct Received {
    ids: Vec<i64>,
    lags_ms: Vec<f64>,
    first: Option<Instant>,
    last: Option<Instant>,
    bad: Vec<String>,
}

impl Received {
    fn record(&mut self, id: i64, occurred: Option<&str>) {
        let now = Instant::now();
        self.first.get_or_insert(now);
        self.last = Some(now);
        self.ids.push(id);
        match occurred.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) {
            Some(at) => {
                let lag = chrono::Utc::now().signed_duration_since(at);
                self.lags_ms
                    .push(lag.num_microseconds().unwrap_or(0) as f64 / 1000.0);
            }
            None => self.bad.push(format!("event {id} without a readable time")),
        }
    }

    fn summary(&self) -> Value {
        let distinct: BTreeSet<i64> = self.ids.iter().copied().collect();
        let span = match (self.first, self.last) {
            (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
            _ => 0.0,
        };
        let mut lags = self.lags_ms.clone();
        lags.sort_by(f64::total_cmp);
        let pct = |p: f64| -> f64 {
            if lags.is_empty() {
                return 0.0;
            }
            let i = ((lags.len() as f64 - 1.0) * p).round() as usize;
            lags[i]
        };
        json!({
            "received": self.ids.len(),
            "distinct": distinct.len(),
            "first_id": distinct.first(),
            "last_id": distinct.last(),
            "seconds": span,
            "per_second": if span > 0.0 { self.ids.len() as f64 / span } else { 0.0 },
            "lag_ms": { "p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0) },
            "problems": self.bad,
        })
    }
}

const EVENTS: &str = "subscription($types: [EventType!], $after: ID) { \
    events(types: $types, after: $after) { id occurredAt } }";

async fn graphql(url: &str, token: &str, query: &str, variables: Value) -> Result<Value, BoxError> {
    let body: Value = reqwest::Client::builder()
        .no_proxy()
        .build()?
        .post(format!("{url}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await?
        .json()
        .await?;
    if body.get("errors").is_some() {
        return Err(format!("GraphQL errors: {body}").into());
    }
    Ok(body)
}

/// The event types the server knows (from introspection), so the webhook and the
/// subscriptions listen to all of them.
async fn event_types(url: &str, token: &str) -> Result<Vec<String>, BoxError> {
    let body = graphql(
        url,
        token,
        "{ __type(name: \"EventType\") { enumValues { name } } }",
        json!({}),
    )
    .await?;
    let names: Vec<String> = body["data"]["__type"]["enumValues"]
        .as_array()
        .ok_or("no EventType in the schema")?
        .iter()
        .filter_map(|v| v["name"].as_str().map(str::to_owned))
        .collect();
    if names.is_empty() {
        return Err("EventType has no values".into());
    }
    Ok(names)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A subscription to every event type, acknowledged and started.
async fn subscribe(
    url: &str,
    token: &str,
    types: &[String],
    after: Option<i64>,
) -> Result<Socket, BoxError> {
    let ws_url = format!("{}/graphql/ws", url.replacen("http://", "ws://", 1));
    let mut request = ws_url.into_client_request()?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header value"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    let init = json!({ "type": "connection_init",
        "payload": { "authorization": format!("Bearer {token}") } });
    ws.send(Message::Text(init.to_string().into())).await?;
    loop {
        match ws.next().await.ok_or("closed before connection_ack")?? {
            Message::Text(text) => {
                let message: Value = serde_json::from_str(text.as_str())?;
                if message["type"] == "connection_ack" {
                    break;
                }
                return Err(format!("expected connection_ack, got {message}").into());
            }
            Message::Close(frame) => return Err(format!("closed: {frame:?}").into()),
            _ => continue,
        }
    }
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": {
        "query": EVENTS,
        "variables": { "types": types, "after": after.map(|a| a.to_string()) } } });
    ws.send(Message::Text(subscribe.to_string().into())).await?;
    Ok(ws)
}

/// Reads events from `ws` into `into` until the socket closes or `limit` events arrived.
async fn listen(
    mut ws: Socket,
    into: Arc<Mutex<Received>>,
    limit: Option<usize>,
) -> Result<(), BoxError> {
    let mut count = 0;
    while let Some(message) = ws.next().await {
        match message? {
            Message::Text(text) => {
                let message: Value = serde_json::from_str(text.as_str())?;
                match message["type"].as_str() {
                    Some("next") => {
                        if let Some(errors) = message["payload"].get("errors") {
                            return Err(format!("subscription errors: {errors}").into());
                        }
                        let event = &message["payload"]["data"]["events"];
                        let id: i64 = event["id"].as_str().unwrap_or("").parse()?;
                        into.lock()
                            .expect("lock")
                            .record(id, event["occurredAt"].as_str());
                        count += 1;
                        if limit.is_some_and(|l| count >= l) {
                            return Ok(());
                        }
                    }
                    Some("ping") => {
                        ws.send(Message::Text(json!({ "type": "pong" }).to_string().into()))
                            .await?
                    }
                    Some("error") | Some("complete") => {
                        return Err(format!("subscription ended: {message}").into());
                    }
                    _ => {}
                }
            }
            Message::Close(frame) => return Err(format!("closed: {frame:?}").into()),
            _ => {}
        }
    }
    Ok(())
}

struct Hook {
    secret: String,
    received: Mutex<Received>,
}

async fn receive(
    axum::extract::State(hook): axum::extract::State<Arc<Hook>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let signature = header("market-signature");
    let id: i64 = header("market-event-id").parse().unwrap_or(-1);
    let timestamp: i64 = signature
        .split(',')
        .find_map(|part| part.strip_prefix("t="))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let expected = market_core::domain::webhooks::signature(&hook.secret, timestamp, &body);
    let mut received = hook.received.lock().expect("lock");
    if expected != signature {
        received
            .bad
            .push(format!("event {id}: the signature does not verify"));
        return StatusCode::BAD_REQUEST;
    }
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if payload["id"].as_str() != Some(id.to_string().as_str()) {
        received.bad.push(format!(
            "event {id}: the body's id differs from the header's"
        ));
    }
    received.record(id, payload["createdAt"].as_str());
    StatusCode::NO_CONTENT
}

async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

async fn replay(args: &Args, after: i64) -> Result<Value, BoxError> {
    let url = args.url.trim_end_matches('/');
    let types = event_types(url, &args.token).await?;
    let received = Arc::new(Mutex::new(Received::default()));
    let started = Instant::now();
    let ws = subscribe(url, &args.token, &types, Some(after)).await?;
    listen(ws, received.clone(), Some(args.replay_count)).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let received = received.lock().expect("lock");
    let distinct: BTreeSet<i64> = received.ids.iter().copied().collect();
    if distinct.len() != received.ids.len() {
        return Err("the replay sent an event twice".into());
    }
    if received.ids.windows(2).any(|w| w[0] >= w[1]) {
        return Err("the replay is not in id order".into());
    }
    Ok(json!({
        "replay": {
            "after": after,
            "received": received.ids.len(),
            "seconds": elapsed,
            "per_second": received.ids.len() as f64 / elapsed,
        }
    }))
}

async fn run(args: Args) -> Result<Value, BoxError> {
    if let Some(after) = args.replay_after {
        return replay(&args, after).await;
    }
    let url = args.url.trim_end_matches('/').to_owned();
    let types = event_types(&url, &args.token).await?;
    let secret = format!("bench-secret-{}", std::process::id()).repeat(2);
    let hook = Arc::new(Hook {
        secret: secret.clone(),
        received: Mutex::new(Received::default()),
    });
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(hook.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let created = graphql(
        &url,
        &args.token,
        "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { webhook { id } userErrors { code message } } }",
        json!({ "i": { "url": format!("http://127.0.0.1:{}/hook", args.port), "events": types, "secret": secret } }),
    )
    .await?;
    let webhook_id = created["data"]["createWebhook"]["webhook"]["id"]
        .as_str()
        .ok_or_else(|| format!("no webhook: {created}"))?
        .to_owned();

    let subscribers: Vec<Arc<Mutex<Received>>> = (0..args.subscribers)
        .map(|_| Arc::new(Mutex::new(Received::default())))
        .collect();
    let mut tasks = Vec::new();
    for into in &subscribers {
        let ws = subscribe(&url, &args.token, &types, None).await?;
        tasks.push(tokio::spawn(listen(ws, into.clone(), None)));
    }
    println!("ready");

    stop_signal().await;
    let stopped = Instant::now();
    // Drain: until nothing arrived for `quiet` seconds (or the limit).
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let last = std::iter::once(hook.received.lock().expect("lock").last)
            .chain(subscribers.iter().map(|s| s.lock().expect("lock").last))
            .flatten()
            .max();
        let idle = last.map_or(stopped.elapsed(), |l| l.elapsed().min(stopped.elapsed()));
        if idle.as_secs_f64() >= args.quiet || stopped.elapsed().as_secs_f64() >= args.drain_limit {
            break;
        }
    }
    let drained_s = stopped.elapsed().as_secs_f64() - args.quiet;
    for task in &tasks {
        if task.is_finished() {
            return Err("a subscription ended before the stop signal".into());
        }
    }
    for task in tasks {
        task.abort();
    }
    graphql(
        &url,
        &args.token,
        "mutation($i: DisableWebhookInput!) { disableWebhook(input: $i) { userErrors { code } } }",
        json!({ "i": { "id": webhook_id } }),
    )
    .await?;

    let webhook = hook.received.lock().expect("lock");
    let hook_ids: BTreeSet<i64> = webhook.ids.iter().copied().collect();
    let mut problems: Vec<String> = webhook.bad.clone();
    let mut subscriptions = Vec::new();
    for (n, s) in subscribers.iter().enumerate() {
        let s = s.lock().expect("lock");
        let ids: BTreeSet<i64> = s.ids.iter().copied().collect();
        if ids.len() != s.ids.len() {
            problems.push(format!("subscription {n} received an event twice"));
        }
        if s.ids.windows(2).any(|w| w[0] >= w[1]) {
            problems.push(format!("subscription {n} received events out of order"));
        }
        // The webhook started first: it may hold a few events the subscriptions began
        // after; from the subscriptions' first event on, both must hold the same ids.
        let from = ids.first().copied().unwrap_or(i64::MAX);
        let hook_tail: BTreeSet<i64> = hook_ids.range(from..).copied().collect();
        if hook_tail != ids {
            problems.push(format!(
                "subscription {n} and the webhook differ: {} events only in the subscription, {} only in the webhook",
                ids.difference(&hook_tail).count(),
                hook_tail.difference(&ids).count()
            ));
        }
        subscriptions.push(s.summary());
        problems.extend(s.bad.iter().cloned());
    }
    Ok(json!({
        "webhook": webhook.summary(),
        "webhook_duplicates": webhook.ids.len() - hook_ids.len(),
        "subscriptions": subscriptions,
        "drain_seconds_after_stop": drained_s.max(0.0),
        "problems": problems,
    }))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(report) => {
            println!("{report}");
            let problems = report["problems"].as_array().map_or(0, Vec::len);
            if problems > 0 {
                eprintln!("event_sink: {problems} problem(s): {}", report["problems"]);
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("event_sink: {e}");
            ExitCode::FAILURE
        }
    }
}
