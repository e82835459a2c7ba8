//! Times each sales analytic over a full year through the GraphQL router (in process, no
//! socket), beside the plain `GROUP BY` over the order lines that computes the same
//! answer without rollups. Driven by `bench/analytics.sh`; prints one markdown row per
//! case with the median (and p90) of the runs.
//!
//! ```sh
//! DATABASE_URL=sqlite:///tmp/market.db cargo run --release --example analytics_bench
//! ```
//!
//! Environment: `DATABASE_URL`, `BENCH_YEAR` (default: last year), `BENCH_RUNS` (15 timed
//! runs of each analytic after 3 warm-up runs), `BENCH_RAW_RUNS` (5 runs of each raw
//! query after one warm-up), `BENCH_LABEL` (first column of the rows).

use axum::body::Body;
use axum::http::{Request, header};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use http_body_util::BodyExt;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use solidarity_market::config::Config;
use solidarity_market::domain::{auth, enums::Role};
use solidarity_market::{AppState, app, db};
use std::time::Instant;
use tower::ServiceExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median_p90(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let median = if ms.len() % 2 == 1 {
        ms[ms.len() / 2]
    } else {
        (ms[ms.len() / 2 - 1] + ms[ms.len() / 2]) / 2.0
    };
    let p90 = ms[((ms.len() as f64 * 0.9).ceil() as usize).saturating_sub(1)];
    (median, p90)
}

fn local_start(tz: chrono_tz::Tz, day: NaiveDate) -> DateTime<Utc> {
    tz.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// The raw query of a case, with `?` for the bounds given.
struct Raw {
    sql: String,
    /// (from, to) local days of each execution: one query per range.
    ranges: Vec<(NaiveDate, NaiveDate)>,
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let url = std::env::var("DATABASE_URL")?;
    let runs: usize = env_or("BENCH_RUNS", 15);
    let raw_runs: usize = env_or("BENCH_RAW_RUNS", 5);
    let label: String = env_or("BENCH_LABEL", String::from("-"));
    let config = Config::for_database(url.clone());
    let tz = config.market_timezone;
    let year: i32 = env_or("BENCH_YEAR", {
        use chrono::Datelike;
        config.market_today().year() - 1
    });
    let conn = db::connect(&url, 4).await?;
    db::migrate(&conn).await?;
    solidarity_market::domain::rollups::ensure_built(&conn, tz)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let email = "analytics-bench@solidarity-market.ma";
    let user = match auth::create_user(
        &conn,
        auth::NewUser {
            email: email.into(),
            password: "analytics-bench-2026".into(),
            name: "Analytics benchmark".into(),
            role: Role::Manager,
            cooperative_id: None,
        },
    )
    .await
    {
        Ok(u) => u.id,
        Err(_) => {
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            market_core::entities::user::Entity::find()
                .filter(market_core::entities::user::Column::Email.eq(email))
                .one(&conn)
                .await?
                .ok_or("no benchmark user")?
                .id
        }
    };
    let token = auth::issue_token(&conn, user, chrono::Duration::hours(2))
        .await
        .map_err(|e| format!("{e:?}"))?;
    let router = app(AppState::new(conn.clone(), config));
    let backend = conn.get_database_backend();

    let d = |m, day| NaiveDate::from_ymd_opt(year, m, day).unwrap_or_default();
    let jan1 = d(1, 1);
    let dec31 = d(12, 31);
    let prev = (
        NaiveDate::from_ymd_opt(year - 1, 1, 1).unwrap_or_default(),
        NaiveDate::from_ymd_opt(year - 1, 12, 31).unwrap_or_default(),
    );
    let shifted = (
        NaiveDate::from_ymd_opt(year - 1, 3, 15).unwrap_or_default(),
        d(3, 14),
    );
    let sales = "FROM order_lines l JOIN orders o ON o.id = l.order_id \
                 WHERE o.status IN ('PAID', 'FULFILLED') AND o.placed_at >= ? AND o.placed_at < ?";
    let local_day = match backend {
        DbBackend::Postgres => "date(o.placed_at AT TIME ZONE 'Africa/Casablanca')",
        _ => "date(o.placed_at, '+1 hour')",
    };
    let local_month = match backend {
        DbBackend::Postgres => "date_trunc('month', o.placed_at AT TIME ZONE 'Africa/Casablanca')",
        _ => "strftime('%Y-%m', o.placed_at, '+1 hour')",
    };
    let group = |key: &str| {
        format!(
            "SELECT {key}, SUM(l.total_cents), SUM(l.quantity), COUNT(DISTINCT l.order_id) {sales} GROUP BY {key}"
        )
    };
    let range =
        |from: NaiveDate, to: NaiveDate| json!({ "from": from.to_string(), "to": to.to_string() });
    let year_range = range(jan1, dec31);
    let cases: Vec<(&str, String, Value, Raw)> = vec![
        (
            "salesBySegment(PRODUCT_SEGMENT), year",
            "query($r: DateRangeInput!) { salesBySegment(range: $r, dimension: PRODUCT_SEGMENT) { total { orders } rows { key revenue { amount } itemsSold orders share } } }".into(),
            json!({ "r": year_range }),
            Raw { sql: group("l.segment_id"), ranges: vec![(jan1, dec31)] },
        ),
        (
            "salesBySegment(PRODUCT_SEGMENT, PREVIOUS_YEAR), year",
            "query($r: DateRangeInput!) { salesBySegment(range: $r, dimension: PRODUCT_SEGMENT, compareWith: PREVIOUS_YEAR) { total { orders } growth rows { key revenue { amount } itemsSold orders share growth previous { orders } } } }".into(),
            json!({ "r": year_range }),
            Raw { sql: group("l.segment_id"), ranges: vec![(jan1, dec31), prev] },
        ),
        (
            "salesBySegment(COOPERATIVE), year",
            "query($r: DateRangeInput!) { salesBySegment(range: $r, dimension: COOPERATIVE) { total { orders } rows { key label revenue { amount } itemsSold orders share } } }".into(),
            json!({ "r": year_range }),
            Raw { sql: group("l.cooperative_id"), ranges: vec![(jan1, dec31)] },
        ),
        (
            "salesBySegment(REGION), 15 Mar–14 Mar",
            "query($r: DateRangeInput!) { salesBySegment(range: $r, dimension: REGION) { total { orders } rows { key revenue { amount } itemsSold orders share } } }".into(),
            json!({ "r": range(shifted.0, shifted.1) }),
            Raw { sql: group("l.region_code"), ranges: vec![shifted] },
        ),
        (
            "topProducts(VALUE, 10), year",
            "query($r: DateRangeInput!) { topProducts(range: $r, by: VALUE, limit: 10) { rank itemsSold revenue { amount } product { sku name } } }".into(),
            json!({ "r": year_range }),
            Raw {
                sql: format!("SELECT l.product_id, SUM(l.quantity) AS n, SUM(l.total_cents) AS v {sales} GROUP BY l.product_id ORDER BY v DESC, n DESC, l.product_id LIMIT 10"),
                ranges: vec![(jan1, dec31)],
            },
        ),
        (
            "topProducts(VOLUME, 10, kind TERROIR), year",
            "query($r: DateRangeInput!) { topProducts(range: $r, by: VOLUME, limit: 10, filter: { kind: TERROIR }) { rank itemsSold revenue { amount } product { sku name } } }".into(),
            json!({ "r": year_range }),
            Raw {
                sql: format!("SELECT l.product_id, SUM(l.quantity) AS n, SUM(l.total_cents) AS v {sales} AND l.kind = 'TERROIR' GROUP BY l.product_id ORDER BY n DESC, v DESC, l.product_id LIMIT 10"),
                ranges: vec![(jan1, dec31)],
            },
        ),
        (
            "salesTrend(MONTH, COOPERATIVE_KIND), year",
            "query($r: DateRangeInput!) { salesTrend(range: $r, granularity: MONTH, dimension: COOPERATIVE_KIND) { periodStart key revenue { amount } itemsSold orders } }".into(),
            json!({ "r": year_range }),
            Raw { sql: group(&format!("{local_month}, l.kind")), ranges: vec![(jan1, dec31)] },
        ),
        (
            "salesTrend(WEEK), year",
            "query($r: DateRangeInput!) { salesTrend(range: $r, granularity: WEEK) { periodStart revenue { amount } itemsSold orders } }".into(),
            json!({ "r": year_range }),
            Raw { sql: group(local_day), ranges: vec![(jan1, dec31)] },
        ),
        (
            "salesTrend(DAY, CHANNEL), year",
            "query($r: DateRangeInput!) { salesTrend(range: $r, granularity: DAY, dimension: CHANNEL) { periodStart key revenue { amount } itemsSold orders } }".into(),
            json!({ "r": year_range }),
            Raw { sql: group(&format!("{local_day}, o.channel")), ranges: vec![(jan1, dec31)] },
        ),
        (
            "marketSummary(year)",
            "query($y: Int!) { marketSummary(year: $y) { turnover { amount } itemsSold orders growth cooperatives newCooperatives cooperativesByKind { key count } cooperativesByRegion { key count } } }".into(),
            json!({ "y": year }),
            Raw {
                sql: format!("SELECT SUM(l.total_cents), SUM(l.quantity), COUNT(DISTINCT l.order_id) {sales}"),
                ranges: vec![(jan1, dec31), prev],
            },
        ),
    ];

    for (name, query, variables, raw) in cases {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let mut times = Vec::with_capacity(runs);
        let mut rows = 0;
        for i in 0..runs + 3 {
            let request = Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from(body.clone()))?;
            let started = Instant::now();
            let response = router.clone().oneshot(request).await?;
            let bytes = response.into_body().collect().await?.to_bytes();
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            let value: Value = serde_json::from_slice(&bytes)?;
            if value.get("errors").is_some() {
                return Err(format!("{name}: {value}").into());
            }
            if let Some(data) = value["data"].as_object().and_then(|o| o.values().next()) {
                rows = data
                    .as_array()
                    .map(Vec::len)
                    .or_else(|| data["rows"].as_array().map(Vec::len))
                    .unwrap_or(1);
            }
            if i >= 3 {
                times.push(elapsed);
            }
        }
        let (median, p90) = median_p90(times);
        let mut raw_times = Vec::with_capacity(raw_runs);
        for i in 0..raw_runs + 1 {
            let started = Instant::now();
            for (from, to) in &raw.ranges {
                let values = vec![
                    local_start(tz, *from).into(),
                    local_start(tz, *to + chrono::Duration::days(1)).into(),
                ];
                let sql = if backend == DbBackend::Postgres {
                    raw.sql.replacen('?', "$1", 1).replacen('?', "$2", 1)
                } else {
                    raw.sql.clone()
                };
                conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values))
                    .await?;
            }
            if i >= 1 {
                raw_times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        let (raw_median, _) = median_p90(raw_times);
        println!("| {label} | {name} | {median:.1} | {p90:.1} | {raw_median:.0} | {rows} |");
    }
    Ok(())
}
