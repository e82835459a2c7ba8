//! Sales analytics: every analytic compared with a straightforward computation over the
//! raw lines of the orders the test created, on randomized (seeded) data.
//!
//! How the data is made: orders are placed, paid, fulfilled, cancelled and refunded
//! through GraphQL, as the back office does. To spread them over three years, each order's
//! `placed_at` is moved in the database right after it is placed, while it is still
//! `PLACED` and so not yet in the sales: the rollups only ever see it through the normal
//! `markOrderPaid` → `cancelOrder`/`refundOrder` path, with its final date. A last check
//! rebuilds the rollups from scratch (the code path of imports and of
//! `solidarity-market rollups rebuild`) and finds the same figures.

use crate::fixtures::{self, NewCoop, NewProduct};
use crate::helpers::{TestApp, error_code};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use market_core::entities::{cooperative, order};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use solidarity_market::domain::enums::{CertificationType, CooperativeKind as K, Role};
use solidarity_market::graphql::ids::{self, NodeType};
use std::collections::{BTreeMap, BTreeSet};

const TZ: chrono_tz::Tz = chrono_tz::Africa::Casablanca;

/// A product of the test market, with what its lines will snapshot.
#[derive(Clone, Debug)]
struct Item {
    id: i32,
    sku: String,
    price: i64,
    coop: String,
    coop_id: i32,
    segment: &'static str,
    kind: &'static str,
    region: &'static str,
}

/// An order as the test made it: its final status and its lines.
#[derive(Clone, Debug)]
struct Made {
    placed_at: DateTime<Utc>,
    channel: &'static str,
    status: &'static str,
    /// (product index, quantity)
    lines: Vec<(usize, i64)>,
}

/// One raw sales line, for the reference computations.
#[derive(Clone, Debug)]
struct Raw {
    order: usize,
    day: NaiveDate,
    channel: &'static str,
    item: Item,
    quantity: i64,
}

impl Raw {
    fn revenue(&self) -> i64 {
        self.quantity * self.item.price
    }

    fn key(&self, dimension: &str) -> String {
        match dimension {
            "COOPERATIVE_KIND" => self.item.kind.to_owned(),
            "PRODUCT_SEGMENT" => self.item.segment.to_owned(),
            "REGION" => self.item.region.to_owned(),
            "CHANNEL" => self.channel.to_owned(),
            "COOPERATIVE" => self.item.coop.clone(),
            _ => unreachable!(),
        }
    }
}

pub(crate) struct Market {
    pub(crate) app: TestApp,
    pub(crate) manager: String,
    customer: String,
    member: String,
    member_coop: String,
    member_coop_id: i32,
    items: Vec<Item>,
    made: Vec<Made>,
}

const PLACE: &str = r#"mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
    order { id } userErrors { code message } } }"#;

pub(crate) async fn ok(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let out = app.graphql_as(Some(token), query, variables).await;
    assert!(out.get("errors").is_none(), "unexpected errors: {out:#}");
    out["data"].clone()
}

async fn step(app: &TestApp, manager: &str, order_id: &str, step: &str) {
    let (field, input_type, input) = match step {
        "pay" => (
            "markOrderPaid",
            "MarkOrderPaidInput",
            json!({ "orderId": order_id, "method": "CARD" }),
        ),
        "fulfill" => (
            "fulfillOrder",
            "FulfillOrderInput",
            json!({ "orderId": order_id }),
        ),
        "cancel" => (
            "cancelOrder",
            "CancelOrderInput",
            json!({ "orderId": order_id }),
        ),
        "refund" => (
            "refundOrder",
            "RefundOrderInput",
            json!({ "orderId": order_id, "restock": true }),
        ),
        _ => unreachable!(),
    };
    let query = format!(
        "mutation($i: {input_type}!) {{ {field}(input: $i) {{ order {{ status }} userErrors {{ code message }} }} }}"
    );
    let data = ok(app, manager, &query, json!({ "i": input })).await;
    assert_eq!(data[field]["userErrors"], json!([]), "{step}: {data}");
}

/// A cooperative of the test market: name, kind, region and (SKU, segment, price) of its
/// products.
type CoopSpec = (
    &'static str,
    K,
    &'static str,
    &'static [(&'static str, &'static str, i64)],
);

/// Four cooperatives (two Terroir in two regions, one cosmetics, one handicrafts that
/// joined in 2025), nine products, and accounts.
pub(crate) async fn market() -> Market {
    let app = TestApp::spawn().await;
    let db = &app.db;
    let specs: [CoopSpec; 4] = [
        (
            "Cooperative Zitoun Meknes",
            K::Terroir,
            "MA-03",
            &[
                ("HON-1", "honey", 9000),
                ("OLV-1", "olive-oil", 5500),
                ("OLV-2", "olive-oil", 12000),
            ],
        ),
        (
            "Cooperative Argan Souss",
            K::Terroir,
            "MA-09",
            &[("OLV-3", "olive-oil", 8000), ("HON-2", "honey", 4550)],
        ),
        (
            "Cooperative Tighanimine",
            K::Cosmetics,
            "MA-09",
            &[
                ("ARC-1", "argan-cosmetics", 15000),
                ("SOP-1", "soaps-hammam", 2500),
            ],
        ),
        (
            "Poterie de Safi",
            K::Handicrafts,
            "MA-07",
            &[("POT-1", "pottery", 35000), ("WEA-1", "weaving", 80000)],
        ),
    ];
    let mut items = Vec::new();
    let mut coops = Vec::new();
    for (name, kind, region, products) in specs {
        let coop = fixtures::coop(db, NewCoop::new(name, kind, region)).await;
        match kind {
            K::Terroir => {
                fixtures::certify(
                    db,
                    &coop,
                    CertificationType::OnssaAuthorization,
                    fixtures::days_from_today(-30),
                    None,
                    &[],
                )
                .await;
            }
            K::Cosmetics => {
                fixtures::certify(
                    db,
                    &coop,
                    CertificationType::DmpAuthorization,
                    fixtures::days_from_today(-30),
                    None,
                    &[],
                )
                .await;
            }
            K::Handicrafts => {}
        }
        for (sku, segment, price) in products {
            let p = fixtures::product(
                db,
                &coop,
                NewProduct::new(sku, sku, segment, *price, 100_000),
            )
            .await;
            items.push(Item {
                id: p.id,
                sku: (*sku).to_owned(),
                price: *price,
                coop: coop.slug.clone(),
                coop_id: coop.id,
                segment,
                kind: kind.as_str(),
                region,
            });
        }
        coops.push(coop);
    }
    // The handicrafts cooperative joined in 2025.
    cooperative::Entity::update_many()
        .col_expr(
            cooperative::Column::ListedSince,
            Expr::value(NaiveDate::from_ymd_opt(2025, 2, 1).unwrap()),
        )
        .filter(cooperative::Column::Id.eq(coops[3].id))
        .exec(db)
        .await
        .expect("listed since");
    let manager = fixtures::account(db, "manager@market.ma", Role::Manager, None).await;
    let customer = fixtures::account(db, "customer@example.ma", Role::Customer, None).await;
    let member = fixtures::account(
        db,
        "member@zitoun.ma",
        Role::CooperativeMember,
        Some(&coops[0]),
    )
    .await;
    Market {
        app,
        manager,
        customer,
        member,
        member_coop: coops[0].slug.clone(),
        member_coop_id: coops[0].id,
        items,
        made: Vec::new(),
    }
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Places an order through GraphQL, dates it `placed_at`, and takes it to `status`
/// through the back-office mutations.
async fn make(m: &mut Market, made: Made) {
    let token = if made.channel == "STORE" {
        &m.manager
    } else {
        &m.customer
    };
    let lines: Vec<Value> = made
        .lines
        .iter()
        .map(|(i, q)| {
            json!({ "productId": ids::encode(NodeType::Product, m.items[*i].id), "quantity": q })
        })
        .collect();
    let key = format!("analytics-{}", m.made.len());
    let data = ok(
        &m.app,
        token,
        PLACE,
        json!({ "i": { "channel": made.channel, "lines": lines, "idempotencyKey": key } }),
    )
    .await;
    assert_eq!(data["placeOrder"]["userErrors"], json!([]), "{data}");
    let id = data["placeOrder"]["order"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let raw_id: i64 = ids::decode(&id, NodeType::Order).unwrap();
    order::Entity::update_many()
        .col_expr(order::Column::PlacedAt, Expr::value(made.placed_at))
        .filter(order::Column::Id.eq(raw_id))
        .exec(&m.app.db)
        .await
        .expect("date the order");
    let steps: &[&str] = match made.status {
        "PLACED" => &[],
        "PAID" => &["pay"],
        "FULFILLED" => &["pay", "fulfill"],
        "CANCELLED_UNPAID" => &["cancel"],
        "CANCELLED" => &["pay", "cancel"],
        "REFUNDED" => &["pay", "refund"],
        "REFUNDED_FULFILLED" => &["pay", "fulfill", "refund"],
        other => unreachable!("{other}"),
    };
    for s in steps {
        step(&m.app, &m.manager, &id, s).await;
    }
    m.made.push(made);
}

/// Boundaries worth testing: 23:30 UTC on 31 December (already January in Casablanca),
/// a Ramadan evening (Morocco on UTC+0), month ends, 29 February.
fn tricky_instants() -> Vec<DateTime<Utc>> {
    vec![
        utc(2024, 12, 31, 23, 30),
        utc(2024, 12, 31, 23, 30),
        utc(2024, 12, 31, 22, 59),
        utc(2025, 12, 31, 23, 30),
        utc(2023, 12, 31, 23, 45),
        utc(2024, 3, 14, 23, 30),
        utc(2024, 1, 31, 23, 30),
        utc(2024, 2, 29, 12, 0),
        utc(2023, 2, 28, 10, 0),
        utc(2025, 3, 17, 23, 10),
    ]
}

/// A seeded random history: the tricky instants plus random ones over 2023–2025, random
/// baskets, channels and fates (paid, fulfilled, never paid, cancelled before or after
/// payment, refunded after payment or fulfilment).
async fn random_history(m: &mut Market, seed: u64, orders: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let start = utc(2023, 1, 1, 0, 0).timestamp();
    let end = utc(2026, 1, 1, 0, 0).timestamp();
    let mut instants = tricky_instants();
    while instants.len() < orders {
        instants.push(DateTime::from_timestamp(rng.gen_range(start..end), 0).unwrap());
    }
    let fates = [
        ("PAID", 30),
        ("FULFILLED", 30),
        ("PLACED", 5),
        ("CANCELLED_UNPAID", 5),
        ("CANCELLED", 12),
        ("REFUNDED", 9),
        ("REFUNDED_FULFILLED", 9),
    ];
    for (n, placed_at) in instants.into_iter().enumerate() {
        let mut roll = rng.gen_range(0..100);
        let mut status = "PAID";
        for (fate, weight) in fates {
            if roll < weight {
                status = fate;
                break;
            }
            roll -= weight;
        }
        // The first tricky orders are sales, so the boundaries are really exercised.
        if n < 5 {
            status = "FULFILLED";
        }
        let mut picks: Vec<usize> = (0..m.items.len()).collect();
        picks.shuffle(&mut rng);
        let count = rng.gen_range(1..=4);
        let lines = picks[..count]
            .iter()
            .map(|i| (*i, rng.gen_range(1..=3)))
            .collect();
        let channel = if rng.gen_bool(0.4) { "STORE" } else { "ONLINE" };
        make(
            m,
            Made {
                placed_at,
                channel,
                status,
                lines,
            },
        )
        .await;
    }
}

/// The sales lines of the made orders, seen by `member_of` (all when `None`).
fn sales(m: &Market, member_of: Option<i32>) -> Vec<Raw> {
    let mut out = Vec::new();
    for (n, o) in m.made.iter().enumerate() {
        if !matches!(o.status, "PAID" | "FULFILLED") {
            continue;
        }
        for (i, q) in &o.lines {
            let item = m.items[*i].clone();
            if member_of.is_some_and(|c| c != item.coop_id) {
                continue;
            }
            out.push(Raw {
                order: n,
                day: o.placed_at.with_timezone(&TZ).date_naive(),
                channel: o.channel,
                item,
                quantity: *q,
            });
        }
    }
    out
}

#[derive(Debug, Default, Clone, PartialEq)]
struct Fig {
    revenue: i64,
    items: i64,
    orders: BTreeSet<usize>,
}

impl Fig {
    fn add(&mut self, r: &Raw) {
        self.revenue += r.revenue();
        self.items += r.quantity;
        self.orders.insert(r.order);
    }
}

fn in_range(r: &Raw, from: NaiveDate, to: NaiveDate) -> bool {
    r.day >= from && r.day <= to
}

fn money(cents: i64) -> String {
    rust_decimal::Decimal::new(cents, 2).to_string()
}

fn assert_fig(actual: &Value, expected: &Fig, what: &str) {
    assert_eq!(
        actual["revenue"]["amount"].as_str(),
        Some(money(expected.revenue).as_str()),
        "revenue of {what}: {actual}"
    );
    // This history has no promotion: the revenue at list prices is the revenue.
    if actual.get("discounts").is_some() {
        assert_eq!(actual["discounts"]["amount"], "0.00", "{what}: {actual}");
        assert_eq!(
            actual["grossRevenue"], actual["revenue"],
            "{what}: {actual}"
        );
    }
    assert_eq!(
        actual["itemsSold"].as_i64(),
        Some(expected.items),
        "items of {what}: {actual}"
    );
    assert_eq!(
        actual["orders"].as_i64(),
        Some(expected.orders.len() as i64),
        "orders of {what}: {actual}"
    );
}

/// Fractions (`share`, `growth`) come rounded to four decimals: `actual` must be the
/// exact fraction `expected` so rounded, and print with at most four decimals.
fn assert_close(actual: &Value, expected: Option<f64>, what: &str) {
    match expected {
        None => assert!(actual.is_null(), "{what}: expected null, got {actual}"),
        Some(e) => {
            let e = (e * 1e4).round() / 1e4;
            let a = actual
                .as_f64()
                .unwrap_or_else(|| panic!("{what}: expected {e}, got {actual}"));
            assert!((a - e).abs() < 1e-9, "{what}: expected {e}, got {a}");
            let decimals = actual
                .to_string()
                .split_once('.')
                .map_or(0, |(_, d)| d.len());
            assert!(
                decimals <= 4,
                "{what}: {actual} has more than four decimals"
            );
        }
    }
}

fn growth(current: i64, previous: i64) -> Option<f64> {
    (previous != 0).then(|| (current - previous) as f64 / previous as f64)
}

const DIMENSIONS: [&str; 5] = [
    "COOPERATIVE_KIND",
    "PRODUCT_SEGMENT",
    "REGION",
    "CHANNEL",
    "COOPERATIVE",
];

/// Ranges cut at year, month and odd boundaries, single days and several years.
fn ranges() -> Vec<(NaiveDate, NaiveDate)> {
    vec![
        (day(2024, 1, 1), day(2024, 12, 31)),
        (day(2025, 1, 1), day(2025, 1, 1)),
        (day(2024, 12, 31), day(2024, 12, 31)),
        (day(2024, 2, 10), day(2025, 3, 17)),
        (day(2024, 12, 15), day(2025, 1, 20)),
        (day(2024, 3, 1), day(2024, 3, 31)),
        (day(2024, 2, 29), day(2024, 2, 29)),
        (day(2023, 1, 1), day(2025, 12, 31)),
        (day(2023, 6, 14), day(2026, 1, 3)),
    ]
}

fn compared(from: NaiveDate, to: NaiveDate, comparison: &str) -> Option<(NaiveDate, NaiveDate)> {
    match comparison {
        "NONE" => None,
        "PREVIOUS_PERIOD" => {
            let days = (to - from).num_days() + 1;
            Some((from - Duration::days(days), from - Duration::days(1)))
        }
        "PREVIOUS_YEAR" => {
            let back = |d: NaiveDate| {
                NaiveDate::from_ymd_opt(d.year() - 1, d.month(), d.day())
                    .unwrap_or_else(|| NaiveDate::from_ymd_opt(d.year() - 1, 2, 28).unwrap())
            };
            Some((back(from), back(to)))
        }
        _ => unreachable!(),
    }
}

const BY_SEGMENT: &str = r#"query($r: DateRangeInput!, $d: SalesDimension!, $c: SalesComparison!) {
  salesBySegment(range: $r, dimension: $d, compareWith: $c) {
    from to comparedFrom comparedTo growth
    total { revenue { amount } grossRevenue { amount } discounts { amount } itemsSold orders }
    previousTotal { revenue { amount } grossRevenue { amount } discounts { amount } itemsSold orders }
    rows { key label revenue { amount } grossRevenue { amount } discounts { amount } itemsSold
           orders share growth
           previous { revenue { amount } grossRevenue { amount } discounts { amount } itemsSold
                      orders } } } }"#;

async fn check_sales_by_segment(m: &Market, token: &str, raw: &[Raw]) {
    for (from, to) in ranges() {
        for dimension in DIMENSIONS {
            for comparison in ["NONE", "PREVIOUS_PERIOD", "PREVIOUS_YEAR"] {
                let what = format!("{dimension} {from}..{to} vs {comparison}");
                let data = ok(
                    &m.app,
                    token,
                    BY_SEGMENT,
                    json!({ "r": { "from": from.to_string(), "to": to.to_string() },
                            "d": dimension, "c": comparison }),
                )
                .await;
                let b = &data["salesBySegment"];
                let mut total = Fig::default();
                let mut by_key: BTreeMap<String, Fig> = BTreeMap::new();
                for r in raw.iter().filter(|r| in_range(r, from, to)) {
                    total.add(r);
                    by_key.entry(r.key(dimension)).or_default().add(r);
                }
                assert_fig(&b["total"], &total, &what);
                let before = compared(from, to, comparison);
                let mut previous_total = Fig::default();
                let mut previous: BTreeMap<String, Fig> = BTreeMap::new();
                if let Some((pf, pt)) = before {
                    assert_eq!(b["comparedFrom"], json!(pf.to_string()), "{what}");
                    assert_eq!(b["comparedTo"], json!(pt.to_string()), "{what}");
                    for r in raw.iter().filter(|r| in_range(r, pf, pt)) {
                        previous_total.add(r);
                        previous.entry(r.key(dimension)).or_default().add(r);
                    }
                    assert_fig(&b["previousTotal"], &previous_total, &what);
                    assert_close(
                        &b["growth"],
                        growth(total.revenue, previous_total.revenue),
                        &what,
                    );
                    for k in previous.keys() {
                        by_key.entry(k.clone()).or_default();
                    }
                } else {
                    assert!(b["previousTotal"].is_null() && b["growth"].is_null());
                }
                let mut expected: Vec<(String, Fig)> = by_key.into_iter().collect();
                expected.sort_by(|a, b| b.1.revenue.cmp(&a.1.revenue).then(a.0.cmp(&b.0)));
                let rows = b["rows"].as_array().unwrap();
                let keys: Vec<&str> = rows.iter().map(|r| r["key"].as_str().unwrap()).collect();
                let expected_keys: Vec<&str> = expected.iter().map(|(k, _)| k.as_str()).collect();
                assert_eq!(keys, expected_keys, "{what}");
                for (row, (key, fig)) in rows.iter().zip(&expected) {
                    let what = format!("{what} / {key}");
                    assert_fig(row, fig, &what);
                    let share = if total.revenue == 0 {
                        0.0
                    } else {
                        fig.revenue as f64 / total.revenue as f64
                    };
                    assert_close(&row["share"], Some(share), &what);
                    if before.is_some() {
                        let p = previous.get(key).cloned().unwrap_or_default();
                        assert_fig(&row["previous"], &p, &what);
                        assert_close(&row["growth"], growth(fig.revenue, p.revenue), &what);
                    } else {
                        assert!(row["previous"].is_null() && row["growth"].is_null());
                    }
                }
            }
        }
    }
}

const TREND: &str = r#"query($r: DateRangeInput!, $g: SalesGranularity!, $d: SalesDimension) {
  salesTrend(range: $r, granularity: $g, dimension: $d) {
    periodStart key label revenue { amount } grossRevenue { amount } discounts { amount }
    itemsSold orders } }"#;

fn bucket(d: NaiveDate, granularity: &str) -> NaiveDate {
    match granularity {
        "DAY" => d,
        "WEEK" => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
        "MONTH" => d.with_day(1).unwrap(),
        "YEAR" => d.with_ordinal(1).unwrap(),
        _ => unreachable!(),
    }
}

async fn check_sales_trend(m: &Market, token: &str, raw: &[Raw]) {
    for (from, to) in ranges() {
        for granularity in ["DAY", "WEEK", "MONTH", "YEAR"] {
            for dimension in std::iter::once(None).chain(DIMENSIONS.map(Some)) {
                let what = format!("{granularity} {dimension:?} {from}..{to}");
                let data = ok(
                    &m.app,
                    token,
                    TREND,
                    json!({ "r": { "from": from.to_string(), "to": to.to_string() },
                            "g": granularity, "d": dimension }),
                )
                .await;
                let mut expected: BTreeMap<(NaiveDate, Option<String>), Fig> = BTreeMap::new();
                for r in raw.iter().filter(|r| in_range(r, from, to)) {
                    let key = dimension.map(|d| r.key(d));
                    expected
                        .entry((bucket(r.day, granularity), key))
                        .or_default()
                        .add(r);
                }
                let points = data["salesTrend"].as_array().unwrap();
                assert_eq!(points.len(), expected.len(), "{what}: {points:?}");
                for (p, ((start, key), fig)) in points.iter().zip(&expected) {
                    let what = format!("{what} / {start} {key:?}");
                    assert_eq!(p["periodStart"], json!(start.to_string()), "{what}");
                    assert_eq!(p["key"].as_str(), key.as_deref(), "{what}");
                    assert_fig(p, fig, &what);
                }
            }
        }
    }
}

const TOP: &str = r#"query($r: DateRangeInput!, $by: ProductRanking!, $limit: Int!, $f: TopProductsFilter) {
  topProducts(range: $r, by: $by, limit: $limit, filter: $f) {
    rank itemsSold revenue { amount } product { sku } } }"#;

/// Which raw lines a `topProducts` filter keeps.
type Keep<'a> = Box<dyn Fn(&Raw) -> bool + 'a>;

async fn check_top_products(m: &Market, token: &str, raw: &[Raw]) {
    let coop_id = |slug: &str| {
        let item = m.items.iter().find(|i| i.coop == slug).unwrap();
        ids::encode(NodeType::Cooperative, item.coop_id).to_string()
    };
    let filters: Vec<(Value, Keep)> = vec![
        (json!(null), Box::new(|_| true)),
        (
            json!({ "kind": "TERROIR" }),
            Box::new(|r: &Raw| r.item.kind == "TERROIR"),
        ),
        (
            json!({ "segment": "olive-oil" }),
            Box::new(|r: &Raw| r.item.segment == "olive-oil"),
        ),
        (
            json!({ "region": "MA-09" }),
            Box::new(|r: &Raw| r.item.region == "MA-09"),
        ),
        (
            json!({ "cooperativeId": coop_id(&m.member_coop), "segment": "honey" }),
            Box::new(|r: &Raw| r.item.coop_id == m.member_coop_id && r.item.segment == "honey"),
        ),
    ];
    for (from, to) in ranges() {
        for by in ["VOLUME", "VALUE"] {
            for limit in [3, 100] {
                for (filter, keep) in &filters {
                    let what = format!("{by} top {limit} {filter} {from}..{to}");
                    let data = ok(
                        &m.app,
                        token,
                        TOP,
                        json!({ "r": { "from": from.to_string(), "to": to.to_string() },
                                "by": by, "limit": limit, "f": filter }),
                    )
                    .await;
                    let mut per: BTreeMap<i32, (String, i64, i64)> = BTreeMap::new();
                    for r in raw.iter().filter(|r| in_range(r, from, to) && keep(r)) {
                        let e = per.entry(r.item.id).or_insert((r.item.sku.clone(), 0, 0));
                        e.1 += r.quantity;
                        e.2 += r.revenue();
                    }
                    let mut expected: Vec<(i32, (String, i64, i64))> = per.into_iter().collect();
                    expected.sort_by(|a, b| {
                        let (x, y) = (&a.1, &b.1);
                        let order = if by == "VOLUME" {
                            y.1.cmp(&x.1).then(y.2.cmp(&x.2))
                        } else {
                            y.2.cmp(&x.2).then(y.1.cmp(&x.1))
                        };
                        order.then(a.0.cmp(&b.0))
                    });
                    expected.truncate(limit);
                    let rows = data["topProducts"].as_array().unwrap();
                    assert_eq!(rows.len(), expected.len(), "{what}: {rows:?}");
                    for (n, (row, (_, (sku, items, revenue)))) in
                        rows.iter().zip(&expected).enumerate()
                    {
                        assert_eq!(row["rank"], json!(n + 1), "{what}");
                        assert_eq!(row["product"]["sku"], json!(sku), "{what}");
                        assert_eq!(row["itemsSold"], json!(items), "{what}");
                        assert_eq!(row["revenue"]["amount"], json!(money(*revenue)), "{what}");
                    }
                }
            }
        }
    }
}

const SUMMARY: &str = r#"query($y: Int!) { marketSummary(year: $y) {
  year turnover { amount } itemsSold orders growth cooperatives newCooperatives
  previousYear { revenue { amount } itemsSold orders }
  cooperativesByKind { key label count } cooperativesByRegion { key label count } } }"#;

async fn check_market_summary(m: &Market, token: &str, raw: &[Raw], member: bool) {
    for year in [2023, 2024, 2025, 2026] {
        let data = ok(&m.app, token, SUMMARY, json!({ "y": year })).await;
        let s = &data["marketSummary"];
        let of_year = |y: i32| {
            let mut f = Fig::default();
            for r in raw.iter().filter(|r| r.day.year() == y) {
                f.add(r);
            }
            f
        };
        let (current, previous) = (of_year(year), of_year(year - 1));
        assert_eq!(
            s["turnover"]["amount"],
            json!(money(current.revenue)),
            "{year}"
        );
        assert_eq!(s["itemsSold"], json!(current.items), "{year}");
        assert_eq!(s["orders"], json!(current.orders.len()), "{year}");
        assert_fig(&s["previousYear"], &previous, &format!("{year} before"));
        assert_close(
            &s["growth"],
            growth(current.revenue, previous.revenue),
            &format!("{year} growth"),
        );
        let (listed, new) = match (member, year) {
            (true, _) => (1, 0),
            (false, 2025 | 2026) => (4, i64::from(year == 2025)),
            (false, _) => (3, 0),
        };
        assert_eq!(s["cooperatives"], json!(listed), "{year}: {s}");
        assert_eq!(s["newCooperatives"], json!(new), "{year}: {s}");
        let kinds: i64 = s["cooperativesByKind"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["count"].as_i64().unwrap())
            .sum();
        assert_eq!(kinds, listed);
        if !member {
            assert_eq!(
                s["cooperativesByRegion"][0],
                json!({ "key": "MA-09", "label": "Souss–Massa", "count": 2 }),
                "{s}"
            );
        }
    }
}

#[tokio::test]
async fn every_analytic_matches_the_raw_lines_for_managers_and_members() {
    let mut m = market().await;
    random_history(&mut m, 20_261_124, 70).await;
    let manager = m.manager.clone();
    let member = m.member.clone();
    let all = sales(&m, None);
    assert!(all.len() > 60, "enough sales lines: {}", all.len());
    check_sales_by_segment(&m, &manager, &all).await;
    check_sales_trend(&m, &manager, &all).await;
    check_top_products(&m, &manager, &all).await;
    check_market_summary(&m, &manager, &all, false).await;

    let own = sales(&m, Some(m.member_coop_id));
    check_sales_by_segment(&m, &member, &own).await;
    check_sales_trend(&m, &member, &own).await;
    check_market_summary(&m, &member, &own, true).await;

    // A rebuild from the raw lines (what imports and `rollups rebuild` run) gives the
    // same answers as the rollups kept by each status change.
    let txn = solidarity_market::db::begin_write(&m.app.db).await.unwrap();
    solidarity_market::domain::rollups::rebuild(&txn, TZ, |_| {})
        .await
        .expect("rebuild");
    txn.commit().await.unwrap();
    check_sales_by_segment(&m, &manager, &all).await;
    check_top_products(&m, &manager, &all).await;
}

#[tokio::test]
async fn a_sale_at_half_past_eleven_utc_on_new_years_eve_counts_in_january() {
    let mut m = market().await;
    make(
        &mut m,
        Made {
            placed_at: utc(2024, 12, 31, 23, 30),
            channel: "STORE",
            status: "FULFILLED",
            lines: vec![(0, 2)],
        },
    )
    .await;
    let query = r#"query($r: DateRangeInput!) {
      salesBySegment(range: $r, dimension: CHANNEL) { total { revenue { amount } itemsSold orders } } }"#;
    let on = |from: &str, to: &str| json!({ "r": { "from": from, "to": to } });
    let january = ok(&m.app, &m.manager, query, on("2025-01-01", "2025-01-01")).await;
    assert_eq!(
        january["salesBySegment"]["total"],
        json!({ "revenue": { "amount": "180.00" }, "itemsSold": 2, "orders": 1 })
    );
    let december = ok(&m.app, &m.manager, query, on("2024-12-01", "2024-12-31")).await;
    assert_eq!(december["salesBySegment"]["total"]["itemsSold"], json!(0));
    let summary = ok(&m.app, &m.manager, SUMMARY, json!({ "y": 2025 })).await;
    assert_eq!(
        summary["marketSummary"]["turnover"]["amount"],
        json!("180.00")
    );
    assert_eq!(summary["marketSummary"]["growth"], json!(null));
}

#[tokio::test]
async fn cancelling_or_refunding_after_the_fact_takes_the_sale_out_and_unpaid_orders_never_count() {
    let mut m = market().await;
    let when = utc(2025, 6, 10, 10, 0);
    let query = r#"query($r: DateRangeInput!) {
      salesBySegment(range: $r, dimension: PRODUCT_SEGMENT) { total { revenue { amount } itemsSold orders }
        rows { key orders } } }"#;
    let june = json!({ "r": { "from": "2025-06-01", "to": "2025-06-30" } });
    for (status, lines) in [
        ("PAID", vec![(0, 1), (1, 1)]),
        ("PLACED", vec![(0, 5)]),
        ("CANCELLED", vec![(0, 7)]),
        ("REFUNDED_FULFILLED", vec![(1, 9)]),
    ] {
        make(
            &mut m,
            Made {
                placed_at: when,
                channel: "ONLINE",
                status,
                lines,
            },
        )
        .await;
    }
    let data = ok(&m.app, &m.manager, query, june.clone()).await;
    assert_eq!(
        data["salesBySegment"]["total"],
        json!({ "revenue": { "amount": "145.00" }, "itemsSold": 2, "orders": 1 })
    );
    assert_eq!(
        data["salesBySegment"]["rows"],
        json!([{ "key": "honey", "orders": 1 }, { "key": "olive-oil", "orders": 1 }])
    );
}

#[tokio::test]
async fn analytics_are_for_managers_and_members_and_ranges_are_checked() {
    let m = market().await;
    let query = r#"query($r: DateRangeInput!) { salesBySegment(range: $r, dimension: REGION) { rows { key } } }"#;
    let range = |from: &str, to: &str| json!({ "r": { "from": from, "to": to } });
    let anonymous = m
        .app
        .graphql(query, range("2025-01-01", "2025-12-31"))
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let customer = m
        .app
        .graphql_as(Some(&m.customer), query, range("2025-01-01", "2025-12-31"))
        .await;
    assert_eq!(error_code(&customer), "FORBIDDEN");
    for (from, to) in [("2025-02-01", "2025-01-31"), ("2015-01-01", "2025-01-01")] {
        let out = m
            .app
            .graphql_as(Some(&m.manager), query, range(from, to))
            .await;
        assert_eq!(error_code(&out), "INVALID_RANGE", "{from}..{to}");
    }
    let ten_years = m
        .app
        .graphql_as(Some(&m.manager), query, range("2015-01-01", "2024-12-31"))
        .await;
    assert!(ten_years.get("errors").is_none(), "{ten_years}");
    // A member may not look at another cooperative's products.
    let other = m.items.iter().find(|i| i.coop != m.member_coop).unwrap();
    let out = m
        .app
        .graphql_as(
            Some(&m.member),
            TOP,
            json!({ "r": { "from": "2025-01-01", "to": "2025-12-31" }, "by": "VALUE", "limit": 5,
                    "f": { "cooperativeId": ids::encode(NodeType::Cooperative, other.coop_id) } }),
        )
        .await;
    assert_eq!(error_code(&out), "FORBIDDEN");
    let too_many = m
        .app
        .graphql_as(
            Some(&m.manager),
            TOP,
            json!({ "r": { "from": "2025-01-01", "to": "2025-12-31" }, "by": "VALUE", "limit": 101 }),
        )
        .await;
    assert_eq!(error_code(&too_many), "BAD_USER_INPUT");
}

/// A member's `COOPERATIVE` breakdown holds its own cooperative only.
#[tokio::test]
async fn a_member_sees_only_its_own_cooperative() {
    let mut m = market().await;
    for i in [0, 3, 5, 7] {
        make(
            &mut m,
            Made {
                placed_at: utc(2025, 5, 5, 9, 0),
                channel: "ONLINE",
                status: "PAID",
                lines: vec![(i, 1), (8, 1)],
            },
        )
        .await;
    }
    let query = r#"{ salesBySegment(range: { from: "2025-01-01", to: "2025-12-31" }, dimension: COOPERATIVE) {
        total { orders } rows { key orders } } }"#;
    let data = ok(&m.app, &m.member, query, json!({})).await;
    assert_eq!(
        data["salesBySegment"],
        json!({ "total": { "orders": 1 }, "rows": [{ "key": m.member_coop, "orders": 1 }] })
    );
    let all = ok(&m.app, &m.manager, query, json!({})).await;
    assert_eq!(all["salesBySegment"]["total"]["orders"], json!(4));
}

/// Payments and cancellations running at the same time on the same rollup rows (same
/// cooperative, segment, channel and days) neither fail nor lose a sale.
#[tokio::test]
async fn concurrent_payments_and_cancellations_keep_the_rollups_exact() {
    use crate::helpers::graphql_on;
    let mut m = market().await;
    for _ in 0..24 {
        make(
            &mut m,
            Made {
                placed_at: utc(2025, 4, 2, 10, 0),
                channel: "STORE",
                status: "PLACED",
                lines: vec![(0, 1), (1, 2)],
            },
        )
        .await;
    }
    let ids: Vec<String> = {
        use sea_orm::QueryOrder;
        order::Entity::find()
            .order_by_asc(order::Column::Id)
            .all(&m.app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|o| ids::encode(NodeType::Order, o.id).to_string())
            .collect()
    };
    let send = |query: &'static str, id: String| {
        let router = m.app.router.clone();
        let token = m.manager.clone();
        async move {
            let out = graphql_on(
                router,
                Some(&token),
                query,
                json!({ "i": { "orderId": id, "method": "CASH" } }),
            )
            .await;
            assert!(out.get("errors").is_none(), "{out}");
            out
        }
    };
    const PAY: &str =
        "mutation($i: MarkOrderPaidInput!) { markOrderPaid(input: $i) { userErrors { code } } }";
    let paid = futures::future::join_all(ids.iter().map(|id| send(PAY, id.clone()))).await;
    for out in &paid {
        assert_eq!(
            out["data"]["markOrderPaid"]["userErrors"],
            json!([]),
            "{out}"
        );
    }
    let cancel =
        "mutation($i: CancelOrderInput!) { cancelOrder(input: $i) { userErrors { code } } }";
    let cancelled = futures::future::join_all(ids.iter().step_by(3).map(|id| {
        let router = m.app.router.clone();
        let token = m.manager.clone();
        let id = id.clone();
        async move {
            graphql_on(
                router,
                Some(&token),
                cancel,
                json!({ "i": { "orderId": id } }),
            )
            .await
        }
    }))
    .await;
    for out in &cancelled {
        assert_eq!(out["data"]["cancelOrder"]["userErrors"], json!([]), "{out}");
    }
    let kept = 24 - 8;
    let query = r#"{ salesBySegment(range: { from: "2025-04-01", to: "2025-04-30" }, dimension: PRODUCT_SEGMENT) {
        total { revenue { amount } itemsSold orders } } }"#;
    let data = ok(&m.app, &m.manager, query, json!({})).await;
    assert_eq!(
        data["salesBySegment"]["total"],
        json!({ "revenue": { "amount": money(kept * (9000 + 2 * 5500)) }, "itemsSold": kept * 3, "orders": kept })
    );
}

const GROSS_BY: &str = r#"query($r: DateRangeInput!, $d: SalesDimension!) {
  salesBySegment(range: $r, dimension: $d) {
    total { revenue { amount } grossRevenue { amount } discounts { amount } itemsSold orders }
    rows { key revenue { amount } grossRevenue { amount } discounts { amount } itemsSold orders } } }"#;

const GROSS_TOP: &str = r#"query($r: DateRangeInput!, $packs: Boolean!) {
  topProducts(range: $r, by: VALUE, limit: 100, includePacks: $packs) {
    itemsSold revenue { amount } grossRevenue { amount } discounts { amount } product { sku } } }"#;

const GROSS_TREND: &str = r#"query($r: DateRangeInput!, $d: SalesDimension) {
  salesTrend(range: $r, granularity: DAY, dimension: $d) {
    key revenue { amount } grossRevenue { amount } discounts { amount } itemsSold orders } }"#;

const GROSS_SUMMARY: &str = r#"query($y: Int!) { marketSummary(year: $y) {
  turnover { amount } grossTurnover { amount } discounts { amount } itemsSold orders } }"#;

/// One sales line as the oracle sees it: its keys in every dimension, its product (or,
/// for a pack's component, also its pack), and what it sold.
struct SoldLine {
    order_id: i64,
    keys: BTreeMap<&'static str, String>,
    sku: String,
    pack: Option<(String, i64)>,
    coop_id: i32,
    quantity: i64,
    revenue: i64,
    discount: i64,
}

/// (revenue, gross, discounts, items, orders) of some lines.
#[derive(Debug, Default, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Gross {
    revenue: i64,
    gross: i64,
    discounts: i64,
    items: i64,
    orders: BTreeSet<i64>,
}

impl Gross {
    fn add(&mut self, l: &SoldLine) {
        self.revenue += l.revenue;
        self.gross += l.revenue + l.discount;
        self.discounts += l.discount;
        self.items += l.quantity;
        self.orders.insert(l.order_id);
    }

    /// The figures as the API answers them.
    fn json(&self) -> Value {
        json!({ "revenue": { "amount": money(self.revenue) },
                "grossRevenue": { "amount": money(self.gross) },
                "discounts": { "amount": money(self.discounts) },
                "itemsSold": self.items, "orders": self.orders.len() })
    }
}

/// The sales lines in the database (`PAID` and `FULFILLED` orders), with their keys.
async fn sold_lines(db: &sea_orm::DatabaseConnection) -> Vec<SoldLine> {
    use market_core::entities::{order_line, segment};
    let orders: BTreeMap<i64, order::Model> = order::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| matches!(o.status.as_str(), "PAID" | "FULFILLED"))
        .map(|o| (o.id, o))
        .collect();
    let segments: BTreeMap<i32, String> = segment::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.slug))
        .collect();
    let coops: BTreeMap<i32, String> = cooperative::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.slug))
        .collect();
    order_line::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|l| {
            let o = orders.get(&l.order_id)?;
            let keys = BTreeMap::from([
                ("COOPERATIVE_KIND", l.kind.as_str().to_owned()),
                ("PRODUCT_SEGMENT", segments[&l.segment_id].clone()),
                ("REGION", l.region_code.clone()),
                ("CHANNEL", o.channel.as_str().to_owned()),
                ("COOPERATIVE", coops[&l.cooperative_id].clone()),
            ]);
            Some(SoldLine {
                order_id: l.order_id,
                keys,
                sku: l.sku.clone(),
                pack: l
                    .pack_sku
                    .clone()
                    .map(|sku| (sku, i64::from(l.pack_quantity.unwrap_or(0)))),
                coop_id: l.cooperative_id,
                quantity: i64::from(l.quantity),
                revenue: l.total_cents,
                discount: l.discount_cents,
            })
        })
        .collect()
}

/// Every analytic's revenue, gross revenue and discounts (and items, orders) against the
/// raw lines: by each dimension for the manager and the member, top products through
/// packs and with packs ranked, the daily trend by channel, the year's summary.
async fn check_gross(m: &Market, lines: &[SoldLine]) {
    let today = solidarity_market::domain::market_time::market_date(Utc::now(), TZ);
    let range = json!({ "from": today.to_string(), "to": today.to_string() });
    for (token, member_of) in [(&m.manager, None), (&m.member, Some(m.member_coop_id))] {
        let lines: Vec<&SoldLine> = lines
            .iter()
            .filter(|l| member_of.is_none_or(|c| c == l.coop_id))
            .collect();
        for dimension in DIMENSIONS {
            let what = format!("{dimension} for {member_of:?}");
            let data = ok(
                &m.app,
                token,
                GROSS_BY,
                json!({ "r": range, "d": dimension }),
            )
            .await;
            let b = &data["salesBySegment"];
            let mut total = Gross::default();
            let mut by_key: BTreeMap<String, Gross> = BTreeMap::new();
            for l in &lines {
                total.add(l);
                by_key.entry(l.keys[dimension].clone()).or_default().add(l);
            }
            assert_eq!(b["total"], total.json(), "{what}");
            let got: BTreeMap<String, Value> = b["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    let key = r["key"].as_str().unwrap().to_owned();
                    r.as_object_mut().unwrap().remove("key");
                    (key, r)
                })
                .collect();
            let want: BTreeMap<String, Value> =
                by_key.iter().map(|(k, g)| (k.clone(), g.json())).collect();
            assert_eq!(got, want, "{what}");
        }
        let data = ok(
            &m.app,
            token,
            GROSS_TREND,
            json!({ "r": range, "d": "CHANNEL" }),
        )
        .await;
        let mut by_channel: BTreeMap<String, Gross> = BTreeMap::new();
        for l in &lines {
            by_channel
                .entry(l.keys["CHANNEL"].clone())
                .or_default()
                .add(l);
        }
        let want: Vec<Value> = by_channel
            .iter()
            .map(|(k, g)| {
                let mut v = g.json();
                v["key"] = json!(k);
                v
            })
            .collect();
        assert_eq!(data["salesTrend"], json!(want), "trend for {member_of:?}");
        let data = ok(&m.app, token, GROSS_SUMMARY, json!({ "y": today.year() })).await;
        let mut year = Gross::default();
        for l in &lines {
            year.add(l);
        }
        assert_eq!(
            data["marketSummary"],
            json!({ "turnover": { "amount": money(year.revenue) },
                    "grossTurnover": { "amount": money(year.gross) },
                    "discounts": { "amount": money(year.discounts) },
                    "itemsSold": year.items, "orders": year.orders.len() }),
            "summary for {member_of:?}"
        );
    }
    for packs in [false, true] {
        // sku -> (items, revenue, gross, discounts)
        let mut per: BTreeMap<String, (i64, i64, i64, i64)> = BTreeMap::new();
        let mut counted: BTreeSet<(i64, String)> = BTreeSet::new();
        for l in lines {
            let e = match &l.pack {
                Some((pack, packs_sold)) if packs => {
                    let e = per.entry(pack.clone()).or_default();
                    if counted.insert((l.order_id, pack.clone())) {
                        e.0 += packs_sold;
                    }
                    e
                }
                _ => {
                    let e = per.entry(l.sku.clone()).or_default();
                    e.0 += l.quantity;
                    e
                }
            };
            e.1 += l.revenue;
            e.2 += l.revenue + l.discount;
            e.3 += l.discount;
        }
        let data = ok(
            &m.app,
            &m.manager,
            GROSS_TOP,
            json!({ "r": range, "packs": packs }),
        )
        .await;
        let got: BTreeMap<String, (i64, String, String, String)> = data["topProducts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let amount = |f: &str| r[f]["amount"].as_str().unwrap().to_owned();
                (
                    r["product"]["sku"].as_str().unwrap().to_owned(),
                    (
                        r["itemsSold"].as_i64().unwrap(),
                        amount("revenue"),
                        amount("grossRevenue"),
                        amount("discounts"),
                    ),
                )
            })
            .collect();
        let want: BTreeMap<String, (i64, String, String, String)> = per
            .into_iter()
            .map(|(sku, (items, revenue, gross, discounts))| {
                (sku, (items, money(revenue), money(gross), money(discounts)))
            })
            .collect();
        assert_eq!(got, want, "topProducts, includePacks: {packs}");
    }
}

/// Issue #18, "analytics report gross and discounted revenue": with promotions running
/// (on a segment, half funded by the market; on a gift pack; on a cooperative) and packs
/// sold across cooperatives, every analytic's revenue (what shoppers paid), gross revenue
/// (at list prices) and discounts equal the raw lines' — after payments, fulfilments,
/// cancellations and refunds of discounted orders, after a rebuild from the lines, and
/// after the migration that brought the discounts into the rollups, which has the
/// server rebuild them when it starts.
#[tokio::test]
async fn gross_revenue_and_discounts_match_the_raw_lines_with_promotions_and_packs() {
    let m = market().await;
    let (manager, customer) = (m.manager.clone(), m.customer.clone());
    let pid = |i: usize| ids::encode(NodeType::Product, m.items[i].id).to_string();
    // 0 HON-1, 1 OLV-1, 5 ARC-1, 6 SOP-1, 7 POT-1: three cooperatives in each pack, listed
    // by the first component's (whose kind must suit the pack's segment).
    let mut packs = Vec::new();
    for (sku, price, segment, components) in [
        (
            "GIFT-BIG",
            "333.33",
            "soaps-hammam",
            [(6, 3), (0, 2), (7, 1)],
        ),
        ("GIFT-SMALL", "99.99", "honey", [(1, 1), (5, 1), (6, 1)]),
    ] {
        let components: Vec<Value> = components
            .iter()
            .map(|(i, q)| json!({ "productId": pid(*i), "quantity": q }))
            .collect();
        let data = ok(
            &m.app,
            &manager,
            crate::packs::CREATE_PACK,
            json!({ "i": { "sku": sku, "name": sku, "format": "gift box", "price": price,
                           "segment": segment, "components": components } }),
        )
        .await;
        assert_eq!(data["createPack"]["userErrors"], json!([]), "{data}");
        packs.push(
            data["createPack"]["product"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let now = Utc::now();
    let window = |i: Value| {
        let mut i = i;
        i["startsAt"] = json!((now - Duration::days(1)).to_rfc3339());
        i["endsAt"] = json!((now + Duration::days(1)).to_rfc3339());
        json!({ "i": i })
    };
    let tighanimine = ids::encode(NodeType::Cooperative, m.items[5].coop_id).to_string();
    for promotion in [
        json!({ "name": "Honey days", "percentOff": "0.20", "target": "SEGMENT",
                "segment": "honey", "marketShare": "0.5" }),
        json!({ "name": "Gift", "amountOff": "30.01", "target": "PRODUCT",
                "productId": packs[0], "marketShare": "0" }),
        json!({ "name": "Argan", "percentOff": "0.15", "target": "COOPERATIVE",
                "cooperativeId": tighanimine }),
    ] {
        let data = ok(
            &m.app,
            &manager,
            r#"mutation($i: CreatePromotionInput!) { createPromotion(input: $i) {
                userErrors { field code message } } }"#,
            window(promotion),
        )
        .await;
        assert_eq!(data["createPromotion"]["userErrors"], json!([]), "{data}");
    }

    let choices: Vec<String> = packs
        .iter()
        .cloned()
        .chain([0, 1, 2, 4, 5, 6, 7].map(pid))
        .collect();
    let mut rng = StdRng::seed_from_u64(20_261_209);
    let mut refunded_or_cancelled = Vec::new();
    for n in 0..30 {
        // The first orders (refunded, cancelled) hold the discounted pack and honey.
        let mut lines: Vec<Value> = if n < 2 {
            vec![
                json!({ "productId": packs[0], "quantity": 1 }),
                json!({ "productId": pid(0), "quantity": 2 }),
            ]
        } else {
            let mut lines = Vec::new();
            for id in &choices {
                if rng.gen_bool(0.35) {
                    lines.push(json!({ "productId": id, "quantity": rng.gen_range(1..=3) }));
                }
            }
            lines
        };
        if lines.is_empty() {
            lines.push(json!({ "productId": packs[1], "quantity": 1 }));
        }
        let (channel, token) = if rng.gen_bool(0.3) {
            ("STORE", &manager)
        } else {
            ("ONLINE", &customer)
        };
        let data = ok(
            &m.app,
            token,
            PLACE,
            json!({ "i": { "channel": channel, "lines": lines,
                           "idempotencyKey": format!("gross-{n}") } }),
        )
        .await;
        assert_eq!(data["placeOrder"]["userErrors"], json!([]), "{data}");
        let id = data["placeOrder"]["order"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let steps: &[&str] = match n % 6 {
            0 => &["pay", "refund"],
            1 => &["pay", "cancel"],
            2 => &[],
            3 => &["pay", "fulfill"],
            4 => &["pay", "fulfill", "refund"],
            _ => &["pay"],
        };
        for s in steps {
            step(&m.app, &manager, &id, s).await;
        }
        if matches!(n % 6, 0 | 1 | 4) {
            refunded_or_cancelled.push(ids::decode::<i64>(&id, NodeType::Order).unwrap());
        }
    }

    let lines = sold_lines(&m.app.db).await;
    // The promotions did their work, on packs and on single products.
    assert!(lines.iter().any(|l| l.pack.is_some() && l.discount > 0));
    assert!(lines.iter().any(|l| l.pack.is_none() && l.discount > 0));
    assert!(lines.iter().any(|l| l.discount == 0));
    // The orders taken out of the sales had discounts too.
    let left: i64 = {
        use market_core::entities::order_line;
        order_line::Entity::find()
            .filter(order_line::Column::OrderId.is_in(refunded_or_cancelled))
            .all(&m.app.db)
            .await
            .unwrap()
            .iter()
            .map(|l| l.discount_cents)
            .sum()
    };
    assert!(left > 0, "refunded and cancelled orders had discounts");
    check_gross(&m, &lines).await;

    // A rebuild from the raw lines finds the same figures.
    let txn = solidarity_market::db::begin_write(&m.app.db).await.unwrap();
    solidarity_market::domain::rollups::rebuild(&txn, TZ, |_| {})
        .await
        .expect("rebuild");
    txn.commit().await.unwrap();
    check_gross(&m, &lines).await;

    // Rollups written before the discounts were kept: the migration's columns start at
    // zero, and it has them rebuilt when the server next starts.
    use migration::{MigratorTrait, SchemaManager};
    let discounts = migration::Migrator::migrations()
        .into_iter()
        .find(|migration| migration.name() == "m20261209_700001_rollup_discounts")
        .expect("the migration");
    // On one connection: SQLite parses an `ALTER` against the schema its connection last
    // read, so another connection's `down` would make this `up` see the column still there.
    let txn = solidarity_market::db::begin_write(&m.app.db).await.unwrap();
    let schema = SchemaManager::new(&txn);
    discounts.down(&schema).await.expect("down");
    discounts.up(&schema).await.expect("up");
    txn.commit().await.unwrap();
    let data = ok(
        &m.app,
        &manager,
        GROSS_SUMMARY,
        json!({ "y": solidarity_market::domain::market_time::market_date(now, TZ).year() }),
    )
    .await;
    assert_eq!(data["marketSummary"]["discounts"]["amount"], "0.00");
    solidarity_market::domain::rollups::ensure_built(&m.app.db, TZ)
        .await
        .expect("rebuilt at start");
    check_gross(&m, &lines).await;
}
