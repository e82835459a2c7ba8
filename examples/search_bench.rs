//! Times catalog search on a seeded database: the build of the in-process index, one
//! search in the index alone, and the storefront's search request through the GraphQL
//! router (in process, no socket, response cache off): a 20-product page by relevance
//! with names, prices and stock, for each query of the relevance set
//! (`seed/data/i18n/relevance_*queries.csv`). Driven by `bench/search.sh`; prints one
//! markdown row.
//!
//! ```sh
//! DATABASE_URL=sqlite:///tmp/market.db cargo run --release --example search_bench
//! ```
//!
//! Environment: `DATABASE_URL`, `BENCH_RUNS` (10 timed rounds of every query after 2
//! warm-up rounds), `BENCH_LABEL` (first column of the row).

use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use solidarity_market::config::{Config, Switch};
use solidarity_market::domain::search::SearchIndex;
use solidarity_market::{AppState, app, db};
use std::time::Instant;
use tower::ServiceExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const QUERIES: &str =
    include_str!("../crates/market-core/src/seed/data/i18n/relevance_queries.csv");
const BROAD: &str =
    include_str!("../crates/market-core/src/seed/data/i18n/relevance_broad_queries.csv");

fn percentiles(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let median = ms[ms.len() / 2];
    let p90 = ms[((ms.len() as f64 * 0.9).ceil() as usize).saturating_sub(1)];
    (median, p90)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let url = std::env::var("DATABASE_URL")?;
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let label = std::env::var("BENCH_LABEL").unwrap_or_else(|_| "-".into());
    let mut queries = Vec::new();
    for file in [QUERIES, BROAD] {
        let mut reader = csv::Reader::from_reader(file.as_bytes());
        for row in reader.records() {
            queries.push(row?[0].to_owned());
        }
    }
    let conn = db::connect(&url, 4).await?;
    db::migrate(&conn).await?;

    // The index alone: its build, then one search.
    let index = SearchIndex::new();
    let started = Instant::now();
    index
        .search(&conn, "warm")
        .await
        .map_err(|e| format!("{e:?}"))?;
    let build_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut alone = Vec::new();
    for _ in 0..runs {
        for q in &queries {
            let started = Instant::now();
            index.search(&conn, q).await.map_err(|e| format!("{e:?}"))?;
            alone.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }

    let mut config = Config::for_database(url.clone());
    config.response_cache = Switch::Off;
    let router = app(AppState::new(conn.clone(), config));
    let document = r#"query($q: String!) { products(first: 20, filter: { search: $q }) {
        nodes { sku name language price { amount } stock { available } } } }"#;
    let mut through_api = Vec::new();
    let mut found = 0usize;
    for round in 0..runs + 2 {
        for q in &queries {
            let body = json!({ "query": document, "variables": { "q": q } }).to_string();
            let request = Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT_LANGUAGE, "fr")
                .body(Body::from(body))?;
            let started = Instant::now();
            let response = router.clone().oneshot(request).await?;
            let bytes = response.into_body().collect().await?.to_bytes();
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            let value: Value = serde_json::from_slice(&bytes)?;
            if value.get("errors").is_some() {
                return Err(format!("{q}: {value}").into());
            }
            if round >= 2 {
                through_api.push(elapsed);
                if value["data"]["products"]["nodes"]
                    .as_array()
                    .is_some_and(|n| !n.is_empty())
                {
                    found += 1;
                }
            }
        }
    }
    let (alone_median, alone_p90) = percentiles(alone);
    let total = through_api.len();
    let (api_median, api_p90) = percentiles(through_api);
    println!(
        "| {label} | {} | {build_ms:.0} ms | {alone_median:.2} / {alone_p90:.2} ms | {api_median:.2} / {api_p90:.2} ms | {found}/{total} |",
        queries.len()
    );
    Ok(())
}
