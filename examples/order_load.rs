//! Load generator for `placeOrder` over HTTP (issue #5), driven by `bench/orders.sh`.
//!
//! `prepare` signs the manager in, registers the customers and signs them in (argon2id on
//! purpose slow, so before any measurement), collects the pool of sellable in-stock products, picks the
//! hot ones and tops their stock up through `recordStockDelivery`, then writes all that
//! to a state file. `run` reads it and keeps `--clients` workers sending requests for
//! `--warmup` + `--duration` seconds; only requests started and finished inside the
//! measured window count. GraphQL answers 200 even when a request failed, so every body
//! is checked: successes, `userErrors` by code, GraphQL errors by `extensions.code`,
//! non-200 statuses and transport failures are counted apart.
//!
//! ```sh
//! cargo run --release --example order_load -- prepare --url http://127.0.0.1:8080 \
//!     --manager-email boss@example.ma --manager-password '…' --state /tmp/load.json
//! cargo run --release --example order_load -- run --state /tmp/load.json --load spread
//! ```
//!
//! Loads: `spread` (1–3 lines over the whole pool), `hot` (1–3 lines over the hot
//! products), and the baselines `health` (`GET /health`), `me` (`{ me { id } }` with a
//! customer's token: HTTP, GraphQL and token check) and `delivery` (`recordStockDelivery`
//! of one unit as the manager: the smallest write transaction).

use clap::{Parser, Subcommand, ValueEnum};
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(about = "placeOrder load generator (see bench/orders.sh)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create customers, collect the product pools, top their stock up; write the state.
    Prepare(PrepareArgs),
    /// Run one load against a prepared server and print (and optionally save) the result.
    Run(RunArgs),
}

#[derive(clap::Args)]
struct PrepareArgs {
    /// Base URL of the server (loopback).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long)]
    manager_email: String,
    #[arg(long)]
    manager_password: String,
    /// Customers to register (each request of a load uses one of them at random).
    #[arg(long, default_value_t = 200)]
    customers: usize,
    /// How many products make up the hot pool.
    #[arg(long, default_value_t = 10)]
    hot: usize,
    /// Stock level every product of the spread pool is topped up to.
    #[arg(long, default_value_t = 2_000)]
    spread_stock: i64,
    /// Stock level every hot product is topped up to.
    #[arg(long, default_value_t = 1_000_000)]
    hot_stock: i64,
    /// Seed of the hot products' choice.
    #[arg(long, default_value_t = 5)]
    seed: u64,
    /// Where to write the state.
    #[arg(long)]
    state: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Load {
    /// placeOrder, 1–3 lines over every sellable product in stock.
    Spread,
    /// placeOrder, 1–3 lines over the hot products.
    Hot,
    /// Baseline: GET /health.
    Health,
    /// Baseline: `{ me { id } }` with a customer's token.
    Me,
    /// Baseline: recordStockDelivery of one unit (manager), one small write transaction.
    Delivery,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The state written by `prepare`.
    #[arg(long)]
    state: PathBuf,
    #[arg(long, value_enum)]
    load: Load,
    /// Concurrent workers, each with its own keep-alive connection.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Seconds measured.
    #[arg(long, default_value_t = 15.0)]
    duration: f64,
    /// Seconds of load before the measured window, not counted.
    #[arg(long, default_value_t = 3.0)]
    warmup: f64,
    /// Most lines per order (each order has 1 to this many distinct products, 1 unit each).
    #[arg(long, default_value_t = 3)]
    max_lines: usize,
    /// Append the result as one JSON line to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Fail (exit 1) when more than this share of the measured requests did not succeed.
    #[arg(long, default_value_t = 0.01)]
    max_error_ratio: f64,
    /// `NAME=TEXT`: also report the CPU time used during the measured window by the
    /// processes whose command line contains TEXT (Linux), e.g.
    /// `server=--bind-addr 127.0.0.1:18081` or `postgres=sm_bench_orders`. Repeatable.
    #[arg(long = "cpu", value_parser = parse_cpu_group)]
    cpu_groups: Vec<(String, String)>,
}

fn parse_cpu_group(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, pattern)) if !name.is_empty() && !pattern.is_empty() => {
            Ok((name.to_owned(), pattern.to_owned()))
        }
        _ => Err("expected NAME=TEXT".into()),
    }
}

#[derive(Serialize, Deserialize)]
struct State {
    url: String,
    manager_token: String,
    customer_tokens: Vec<String>,
    /// Global IDs of every sellable product in stock.
    spread: Vec<String>,
    /// Global IDs of the hot products (a subset of `spread`).
    hot: Vec<String>,
}

fn client(connections: usize) -> Result<reqwest::Client, BoxError> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(60))
        .build()?)
}

/// Posts a GraphQL request and returns the body, failing on transport errors, non-200
/// answers and GraphQL errors (for the setup, where anything but success is fatal).
async fn graphql(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Result<Value, BoxError> {
    let mut request = http
        .post(format!("{url}/graphql"))
        .header("accept", "application/json")
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if status != 200 || body.get("errors").is_some() {
        return Err(format!("HTTP {status}: {body}").into());
    }
    Ok(body)
}

fn user_errors(payload: &Value) -> Result<(), BoxError> {
    match payload["userErrors"].as_array() {
        Some(errors) if errors.is_empty() => Ok(()),
        _ => Err(format!("user errors: {}", payload["userErrors"]).into()),
    }
}

const LOGIN: &str =
    "mutation($i: LoginInput!) { login(input: $i) { token userErrors { code message } } }";
const REGISTER: &str =
    "mutation($i: RegisterInput!) { register(input: $i) { token userErrors { code message } } }";
const PRODUCTS: &str =
    "query($after: String) { products(first: 100, after: $after, filter: { inStock: true }) {
    pageInfo { hasNextPage endCursor } nodes { id isSellable stock { available } } } }";

async fn prepare(args: PrepareArgs) -> Result<(), BoxError> {
    let http = client(8)?;
    let url = args.url.trim_end_matches('/').to_owned();
    let started = Instant::now();

    let body = graphql(
        &http,
        &url,
        None,
        LOGIN,
        json!({ "i": { "email": args.manager_email, "password": args.manager_password } }),
    )
    .await?;
    user_errors(&body["data"]["login"])?;
    let manager_token = body["data"]["login"]["token"]
        .as_str()
        .ok_or("no manager token")?
        .to_owned();

    // Unique e-mails per run, so `prepare` can run twice against one database.
    let tag = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let mut registering = futures::stream::iter((0..args.customers).map(|n| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let input = json!({ "i": {
                "email": format!("load-{tag}-{n}@example.ma"),
                "password": "order-load-password",
                "name": format!("Load customer {n}"),
            } });
            let body = graphql(&http, &url, None, REGISTER, input).await?;
            user_errors(&body["data"]["register"])?;
            // `register` answers without a token (it does not tell whether the address
            // was known): sign in.
            let credentials = json!({ "i": {
                "email": format!("load-{tag}-{n}@example.ma"),
                "password": "order-load-password",
            } });
            let body = graphql(&http, &url, None, LOGIN, credentials).await?;
            user_errors(&body["data"]["login"])?;
            body["data"]["login"]["token"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| BoxError::from("no customer token"))
        }
    }))
    .buffer_unordered(4);
    let mut customer_tokens = Vec::with_capacity(args.customers);
    while let Some(token) = registering.next().await {
        customer_tokens.push(token?);
    }
    drop(registering);
    eprintln!(
        "registered {} customers in {:.1} s",
        customer_tokens.len(),
        started.elapsed().as_secs_f64()
    );

    // The storefront's listing holds only sellable products.
    let mut products: Vec<(String, i64)> = Vec::new();
    let mut after = Value::Null;
    loop {
        let body = graphql(&http, &url, None, PRODUCTS, json!({ "after": after })).await?;
        let page = &body["data"]["products"];
        for node in page["nodes"].as_array().ok_or("no product nodes")? {
            if node["isSellable"] != json!(true) {
                return Err(format!("the storefront listed an unsellable product: {node}").into());
            }
            let id = node["id"].as_str().ok_or("product without id")?.to_owned();
            products.push((id, node["stock"]["available"].as_i64().unwrap_or(0)));
        }
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    if products.len() < args.hot {
        return Err(format!("only {} sellable products in stock", products.len()).into());
    }
    let mut rng = StdRng::seed_from_u64(args.seed);
    let hot: Vec<String> = products
        .choose_multiple(&mut rng, args.hot)
        .map(|(id, _)| id.clone())
        .collect();

    // Stock up through the API, so the ledger stays the sum of its movements: aliased
    // deliveries, 25 to a request (the server allows 30 aliases), 4 requests at a time.
    let mut deliveries = Vec::new();
    for (id, available) in &products {
        let target = if hot.contains(id) {
            args.hot_stock
        } else {
            args.spread_stock
        };
        let mut missing = target - available;
        while missing > 0 {
            let quantity = missing.min(1_000_000);
            deliveries.push((id.clone(), quantity));
            missing -= quantity;
        }
    }
    let batches: Vec<Vec<(String, i64)>> = deliveries.chunks(25).map(<[_]>::to_vec).collect();
    let mut delivering = futures::stream::iter(batches.into_iter().map(|batch| {
        let (http, url, token) = (http.clone(), url.clone(), manager_token.clone());
        async move {
            let fields: Vec<String> = batch
                .iter()
                .enumerate()
                .map(|(n, (id, quantity))| {
                    format!(
                        "d{n}: recordStockDelivery(input: {{ productId: {}, quantity: {quantity}, \
                         note: \"order_load\" }}) {{ stockMovement {{ levelAfter }} userErrors {{ code message }} }}",
                        serde_json::to_string(id).unwrap_or_default()
                    )
                })
                .collect();
            let query = format!("mutation {{ {} }}", fields.join(" "));
            let body = graphql(&http, &url, Some(&token), &query, json!({})).await?;
            for n in 0..batch.len() {
                user_errors(&body["data"][format!("d{n}")])?;
            }
            Ok::<usize, BoxError>(batch.len())
        }
    }))
    .buffer_unordered(4);
    let mut delivered = 0;
    while let Some(done) = delivering.next().await {
        delivered += done?;
    }
    drop(delivering);
    eprintln!(
        "pool: {} products ({} hot); {delivered} deliveries; prepared in {:.1} s",
        products.len(),
        hot.len(),
        started.elapsed().as_secs_f64()
    );

    let state = State {
        url,
        manager_token,
        customer_tokens,
        spread: products.into_iter().map(|(id, _)| id).collect(),
        hot,
    };
    std::fs::write(&args.state, serde_json::to_vec(&state)?)?;
    Ok(())
}

/// How one request ended.
enum Outcome {
    Ok,
    /// `userErrors` of the payload, by code (the first one).
    UserError(String),
    /// GraphQL `errors`, by `extensions.code` (the first one).
    GraphqlError(String),
    /// Any status but 200.
    Http(u16),
    /// Connection, timeout or unreadable body.
    Transport,
}

#[derive(Default)]
struct Tally {
    /// Latencies of the successful requests, in microseconds.
    ok_micros: Vec<u32>,
    /// Latencies of every request, in microseconds.
    all_micros: Vec<u32>,
    lines: u64,
    user_errors: BTreeMap<String, u64>,
    graphql_errors: BTreeMap<String, u64>,
    http_errors: BTreeMap<u16, u64>,
    transport_errors: u64,
}

const PLACE_ORDER: &str = "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { id number } userErrors { code message } } }";
const ME: &str = "{ me { id } }";
const DELIVERY: &str = "mutation($i: RecordStockDeliveryInput!) { recordStockDelivery(input: $i) { stockMovement { levelAfter } userErrors { code message } } }";

fn classify(status: u16, body: &Value, field: &str) -> Outcome {
    if status != 200 {
        return Outcome::Http(status);
    }
    if let Some(errors) = body.get("errors") {
        let code = errors[0]["extensions"]["code"]
            .as_str()
            .unwrap_or("NO_CODE")
            .to_owned();
        return Outcome::GraphqlError(code);
    }
    let payload = &body["data"][field];
    if let Some(first) = payload["userErrors"].as_array().and_then(|e| e.first()) {
        return Outcome::UserError(first["code"].as_str().unwrap_or("NO_CODE").to_owned());
    }
    let done = match field {
        "placeOrder" => payload["order"]["number"].is_string(),
        "recordStockDelivery" => payload["stockMovement"]["levelAfter"].is_number(),
        "me" => payload["id"].is_string(),
        _ => false,
    };
    if done {
        Outcome::Ok
    } else {
        Outcome::GraphqlError("UNEXPECTED_BODY".into())
    }
}

struct Worker {
    state: Arc<State>,
    http: reqwest::Client,
    load: Load,
    max_lines: usize,
    run_tag: String,
    id: usize,
}

impl Worker {
    /// Sends one request; returns its outcome and the number of order lines it asked for.
    async fn request(&self, rng: &mut StdRng, seq: u64) -> (Outcome, u64) {
        let url = &self.state.url;
        let (token, query, variables, field, lines) = match self.load {
            Load::Health => {
                return match self.http.get(format!("{url}/health")).send().await {
                    Ok(r) if r.status() == 200 => match r.bytes().await {
                        Ok(_) => (Outcome::Ok, 0),
                        Err(_) => (Outcome::Transport, 0),
                    },
                    Ok(r) => (Outcome::Http(r.status().as_u16()), 0),
                    Err(_) => (Outcome::Transport, 0),
                };
            }
            Load::Me => (self.customer(rng), ME, json!({}), "me", 0),
            Load::Delivery => {
                let product = self.state.spread.choose(rng).cloned().unwrap_or_default();
                let input = json!({ "i": { "productId": product, "quantity": 1 } });
                (
                    self.state.manager_token.as_str(),
                    DELIVERY,
                    input,
                    "recordStockDelivery",
                    0,
                )
            }
            Load::Spread | Load::Hot => {
                let pool = if self.load == Load::Hot {
                    &self.state.hot
                } else {
                    &self.state.spread
                };
                let count = rng.gen_range(1..=self.max_lines.min(pool.len()));
                let lines: Vec<Value> = pool
                    .choose_multiple(rng, count)
                    .map(|id| json!({ "productId": id, "quantity": 1 }))
                    .collect();
                let input = json!({ "i": {
                    "channel": "ONLINE",
                    "lines": lines,
                    "idempotencyKey": format!("{}-{}-{seq}", self.run_tag, self.id),
                } });
                (
                    self.customer(rng),
                    PLACE_ORDER,
                    input,
                    "placeOrder",
                    count as u64,
                )
            }
        };
        let sent = self
            .http
            .post(format!("{url}/graphql"))
            .header("accept", "application/json")
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(_) => return (Outcome::Transport, lines),
        };
        let status = response.status().as_u16();
        match response.json::<Value>().await {
            Ok(body) => (classify(status, &body, field), lines),
            Err(_) if status != 200 => (Outcome::Http(status), lines),
            Err(_) => (Outcome::Transport, lines),
        }
    }

    fn customer(&self, rng: &mut StdRng) -> &str {
        self.state
            .customer_tokens
            .choose(rng)
            .map(String::as_str)
            .unwrap_or_default()
    }

    async fn run(self, window_start: Instant, window_end: Instant) -> Tally {
        let mut rng = StdRng::seed_from_u64(self.id as u64 + 1);
        let mut tally = Tally::default();
        let mut seq = 0u64;
        loop {
            let started = Instant::now();
            if started >= window_end {
                break;
            }
            seq += 1;
            let (outcome, lines) = self.request(&mut rng, seq).await;
            let finished = Instant::now();
            if started < window_start || finished > window_end {
                continue;
            }
            let micros =
                u32::try_from(finished.duration_since(started).as_micros()).unwrap_or(u32::MAX);
            tally.all_micros.push(micros);
            match outcome {
                Outcome::Ok => {
                    tally.ok_micros.push(micros);
                    tally.lines += lines;
                }
                Outcome::UserError(code) => *tally.user_errors.entry(code).or_default() += 1,
                Outcome::GraphqlError(code) => *tally.graphql_errors.entry(code).or_default() += 1,
                Outcome::Http(status) => *tally.http_errors.entry(status).or_default() += 1,
                Outcome::Transport => tally.transport_errors += 1,
            }
        }
        tally
    }
}

/// CPU accounting from /proc (Linux; zeros elsewhere), in clock ticks of 10 ms
/// (USER_HZ = 100): what the load costs per request, and how busy the rest of the
/// machine was meanwhile.
mod cpu {
    use std::collections::BTreeMap;

    /// User + system ticks of a process, all threads (fields 14 and 15 of its `stat`).
    fn ticks(pid: &str) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    }

    /// Ticks per process, of the processes whose command line contains `pattern`. This
    /// generator is left out: its own command line holds every pattern (`--cpu`), and its
    /// CPU is counted apart (`load_generator`).
    fn matching(pattern: &str) -> BTreeMap<String, u64> {
        let mut found = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return found;
        };
        let own = std::process::id().to_string();
        for entry in entries.flatten() {
            let pid = entry.file_name().to_string_lossy().into_owned();
            if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == own {
                continue;
            }
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                continue;
            };
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(pattern)
                && let Some(t) = ticks(&pid)
            {
                found.insert(pid, t);
            }
        }
        found
    }

    /// Busy and total ticks of the whole machine, all CPUs (first line of /proc/stat).
    fn machine() -> (u64, u64) {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let values: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        let total: u64 = values.iter().take(8).sum();
        let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
        (total - idle, total)
    }

    pub struct Snapshot {
        groups: Vec<BTreeMap<String, u64>>,
        own: u64,
        machine: (u64, u64),
    }

    pub fn snapshot(groups: &[(String, String)]) -> Snapshot {
        Snapshot {
            groups: groups.iter().map(|(_, p)| matching(p)).collect(),
            own: ticks("self").unwrap_or(0),
            machine: machine(),
        }
    }

    /// Milliseconds of CPU per group between two snapshots (processes present in both),
    /// plus `load_generator`, `all_processes` (the whole machine's busy time) and `cores`.
    pub fn used(
        groups: &[(String, String)],
        before: &Snapshot,
        after: &Snapshot,
    ) -> BTreeMap<String, f64> {
        let ms = |ticks: u64| ticks as f64 * 10.0;
        let mut used = BTreeMap::new();
        for (n, (name, _)) in groups.iter().enumerate() {
            let ticks: u64 = after.groups[n]
                .iter()
                .filter_map(|(pid, t)| before.groups[n].get(pid).map(|b| t.saturating_sub(*b)))
                .sum();
            used.insert(name.clone(), ms(ticks));
        }
        used.insert(
            "load_generator".into(),
            ms(after.own.saturating_sub(before.own)),
        );
        used.insert(
            "all_processes".into(),
            ms(after.machine.0.saturating_sub(before.machine.0)),
        );
        used.insert(
            "all_capacity".into(),
            ms(after.machine.1.saturating_sub(before.machine.1)),
        );
        used
    }
}

fn percentile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

async fn run(args: RunArgs) -> Result<bool, BoxError> {
    let state: Arc<State> = Arc::new(serde_json::from_slice(&std::fs::read(&args.state)?)?);
    if state.customer_tokens.is_empty() || state.spread.is_empty() || state.hot.is_empty() {
        return Err("the state has no customers or no products".into());
    }
    let http = client(args.clients)?;
    let run_tag = format!(
        "load-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_micros()
    );
    let start = Instant::now();
    let window_start = start + Duration::from_secs_f64(args.warmup);
    let window_end = window_start + Duration::from_secs_f64(args.duration);
    let workers: Vec<_> = (0..args.clients)
        .map(|id| {
            let worker = Worker {
                state: state.clone(),
                http: http.clone(),
                load: args.load,
                max_lines: args.max_lines.max(1),
                run_tag: run_tag.clone(),
                id,
            };
            tokio::spawn(worker.run(window_start, window_end))
        })
        .collect();
    let groups = args.cpu_groups.clone();
    let sampler = tokio::spawn(async move {
        tokio::time::sleep_until(window_start.into()).await;
        let before = cpu::snapshot(&groups);
        tokio::time::sleep_until(window_end.into()).await;
        let after = cpu::snapshot(&groups);
        cpu::used(&groups, &before, &after)
    });
    let mut total = Tally::default();
    for worker in workers {
        let t = worker.await?;
        total.ok_micros.extend(t.ok_micros);
        total.all_micros.extend(t.all_micros);
        total.lines += t.lines;
        for (k, v) in t.user_errors {
            *total.user_errors.entry(k).or_default() += v;
        }
        for (k, v) in t.graphql_errors {
            *total.graphql_errors.entry(k).or_default() += v;
        }
        for (k, v) in t.http_errors {
            *total.http_errors.entry(k).or_default() += v;
        }
        total.transport_errors += t.transport_errors;
    }
    let cpu_ms = sampler.await?;
    total.ok_micros.sort_unstable();
    total.all_micros.sort_unstable();
    let ok = total.ok_micros.len() as u64;
    let requests = total.all_micros.len() as u64;
    let failed = requests - ok;
    let result = json!({
        "load": args.load,
        "clients": args.clients,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "requests": requests,
        "ok": ok,
        "ok_per_s": ok as f64 / args.duration,
        "lines_per_order": if ok > 0 { total.lines as f64 / ok as f64 } else { 0.0 },
        // Latency of the successful requests.
        "p50_ms": percentile_ms(&total.ok_micros, 50.0),
        "p90_ms": percentile_ms(&total.ok_micros, 90.0),
        "p99_ms": percentile_ms(&total.ok_micros, 99.0),
        "max_ms": percentile_ms(&total.ok_micros, 100.0),
        // Latency of every request, failed ones included.
        "all_p99_ms": percentile_ms(&total.all_micros, 99.0),
        "user_errors": total.user_errors,
        "graphql_errors": total.graphql_errors,
        "http_errors": total.http_errors.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
        "transport_errors": total.transport_errors,
        // CPU used during the measured window, in ms per successful request: by the
        // --cpu groups, this generator, and every process on the machine (`all_processes`;
        // minus ours, it is what other work took). `all_capacity` is cores × window.
        "cpu_ms_per_ok": cpu_ms
            .iter()
            .map(|(k, v)| (k.clone(), if ok > 0 { v / ok as f64 } else { 0.0 }))
            .collect::<BTreeMap<_, _>>(),
        "cpu_ms": cpu_ms,
    });
    println!("{result}");
    if let Some(path) = &args.json {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        writeln!(file, "{result}")?;
    }
    let acceptable = requests > 0 && (failed as f64) <= args.max_error_ratio * requests as f64;
    if !acceptable {
        eprintln!("FAIL: {failed} of {requests} measured requests did not succeed");
    }
    Ok(acceptable)
}

#[tokio::main]
async fn main() -> ExitCode {
    let outcome = match Cli::parse().command {
        Command::Prepare(args) => prepare(args).await.map(|()| true),
        Command::Run(args) => run(args).await,
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("order_load: {e}");
            ExitCode::FAILURE
        }
    }
}
