//! Payouts: statements per cooperative and period, refunds and negative balances carried
//! forward, payment, the on-time figures, the CSV export, who may see what, and the
//! settlement invariants under random orders and concurrent generations.
//!
//! The server's clock is pinned 60 days ahead (`TestApp::spawn_at`) so that periods
//! reaching past the real "now" are over and can be settled; orders are paid through the
//! API and their `paidAt` then dated into the period under test (`fixtures::set_paid_at`).

use crate::fixtures::{self, NewCoop, NewProduct, Portal};
use crate::helpers::{TestApp, error_code, graphql_on};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{Duration, NaiveDate, Utc};
use market_core::entities::{cooperative, order_line, payout_adjustment};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use solidarity_market::domain::enums::CooperativeKind as K;
use solidarity_market::domain::market_time::market_date;
use solidarity_market::domain::market_time::{day_end, day_start};
use solidarity_market::graphql::ids::{NodeType, decode, encode};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub(super) const TZ: chrono_tz::Tz = chrono_tz::Africa::Casablanca;

pub(super) fn gid(t: NodeType, id: i32) -> String {
    encode(t, id).to_string()
}

/// Centimes of a `Money.amount` (or any decimal string).
pub(super) fn cents(v: &Value) -> i64 {
    let text = v
        .as_str()
        .or_else(|| v["amount"].as_str())
        .unwrap_or_else(|| panic!("not an amount: {v}"));
    solidarity_market::graphql::money::to_centimes(text.parse().unwrap()).unwrap()
}

/// The commission rule, written independently of the server's: half-even on decimals.
pub(super) fn commission(total: i64, rate_bp: i32) -> i64 {
    use rust_decimal::{Decimal, RoundingStrategy};
    let exact = Decimal::from(total) * Decimal::from(rate_bp) / Decimal::from(10_000);
    exact
        .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven)
        .to_string()
        .parse()
        .unwrap()
}

pub(super) fn net(total: i64, rate_bp: i32) -> i64 {
    total - commission(total, rate_bp)
}

pub(super) fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

// Page sizes within the query cost limit (10,000): ten statements of fifty lines
// each cost about 7,500 (100 × 100 would be 10,000 lines, refused as QUERY_TOO_COMPLEX).
pub(super) const STATEMENT: &str = r#"id number cooperative { id slug } periodStart periodEnd
    grossSales { amount } commission { amount } refundAdjustments { amount } carriedIn { amount }
    net { amount } amountDue { amount currencyCode } dueOn status overdue paidOn bankReference csvUrl
    adjustments { kind amount { amount } reason orderNumber sku carriedFrom { id } }
    lines(first: 50) { totalCount pageInfo { hasNextPage }
        nodes { orderNumber sku quantity paidAt gross { amount } commissionRate commission { amount } net { amount } orderLine { id } } }"#;

pub(super) fn generate_query() -> String {
    format!(
        "mutation($i: GeneratePayoutStatementsInput!) {{ generatePayoutStatements(input: $i) {{ statements {{ {STATEMENT} }} userErrors {{ field code message }} }} }}"
    )
}

pub(super) fn list_query() -> String {
    format!(
        "query($f: PayoutStatementFilterInput, $after: String) {{ payoutStatements(first: 10, after: $after, filter: $f) {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {STATEMENT} }} }} }}"
    )
}

pub(super) const PAY_STATEMENT: &str = r#"mutation($i: MarkPayoutPaidInput!) { markPayoutPaid(input: $i) {
    payoutStatement { id status paidOn bankReference net { amount } } userErrors { field code message } } }"#;

/// An order as placed: its ID, number and lines (line ID, total, cooperative ID).
#[derive(Debug, Clone)]
pub(super) struct Placed {
    id: String,
    number: String,
    lines: Vec<(String, i64, String)>,
}

/// A portal (certified Terroir cooperative, its members, a customer and a manager), plus
/// a Handicrafts cooperative (no certification needed) and stock enough for many orders.
pub(super) struct Shop {
    app: TestApp,
    p: Portal,
    safi: cooperative::Model,
    products: HashMap<&'static str, i32>,
    /// The real "today" in the market (payments are dated relative to it).
    t: NaiveDate,
    /// The server's pinned "today".
    today: NaiveDate,
    keys: std::sync::atomic::AtomicUsize,
}

pub(super) async fn shop() -> Shop {
    let pinned = Utc::now() + Duration::days(60);
    let app = TestApp::spawn_at(pinned).await;
    let p = fixtures::portal(&app.db).await;
    let safi = fixtures::coop(
        &app.db,
        NewCoop::new("Poterie de Safi", K::Handicrafts, "MA-07"),
    )
    .await;
    let mut products = HashMap::new();
    products.insert("HON-BGZ-1", p.product.id);
    for (coop, sku, name, segment, price) in [
        (&p.coop, "OIL-BGZ-1", "Olive oil 1 l", "olive-oil", 12_345),
        (&p.coop, "AML-BGZ-1", "Amlou 250 g", "amlou-spreads", 1_999),
        (&safi, "TAJ-30", "Tajine 30 cm", "pottery", 25_001),
        (&safi, "BWL-12", "Bowl 12 cm", "pottery", 4_999),
    ] {
        let product = fixtures::product(
            &app.db,
            coop,
            NewProduct::new(sku, name, segment, price, 1_000),
        )
        .await;
        products.insert(sku, product.id);
    }
    Shop {
        app,
        p,
        safi,
        products,
        t: market_date(Utc::now(), TZ),
        today: market_date(pinned, TZ),
        keys: Default::default(),
    }
}

impl Shop {
    fn manager(&self) -> &str {
        &self.p.actors.manager
    }

    fn coop_id(&self) -> String {
        gid(NodeType::Cooperative, self.p.coop.id)
    }

    fn safi_id(&self) -> String {
        gid(NodeType::Cooperative, self.safi.id)
    }

    /// A day relative to the real market date.
    fn d(&self, offset: i64) -> NaiveDate {
        self.t + Duration::days(offset)
    }

    /// Period A: three to six weeks ago, due nine days from the real today.
    fn a(&self) -> (NaiveDate, NaiveDate) {
        (self.d(-40), self.d(-21))
    }

    /// Period B: the last three weeks and the next month, due on the server's today; it
    /// takes in refunds made during the test.
    fn b(&self) -> (NaiveDate, NaiveDate) {
        (self.d(-20), self.today - Duration::days(30))
    }

    /// Period C: the twenty days after B, over on the server's today.
    fn c(&self) -> (NaiveDate, NaiveDate) {
        let b_end = self.b().1;
        (b_end + Duration::days(1), b_end + Duration::days(20))
    }

    async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let out = self.app.graphql_as(Some(token), query, variables).await;
        assert!(out.get("errors").is_none(), "unexpected errors: {out:#}");
        out["data"].clone()
    }

    /// Places an online order as the customer.
    async fn order(&self, lines: &[(&str, i32)]) -> Placed {
        let key = self.keys.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let lines: Vec<Value> = lines
            .iter()
            .map(|(sku, q)| json!({ "productId": gid(NodeType::Product, self.products[sku]), "quantity": q }))
            .collect();
        let data = self
            .ok(
                &self.p.actors.customer,
                "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { id number lines { id total { amount } cooperative { id } } } userErrors { code message } } }",
                json!({ "i": { "channel": "ONLINE", "lines": lines, "idempotencyKey": format!("payout-{key}") } }),
            )
            .await;
        let payload = &data["placeOrder"];
        assert_eq!(payload["userErrors"], json!([]), "{payload}");
        let order = &payload["order"];
        Placed {
            id: order["id"].as_str().unwrap().to_owned(),
            number: order["number"].as_str().unwrap().to_owned(),
            lines: order["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    (
                        l["id"].as_str().unwrap().to_owned(),
                        cents(&l["total"]),
                        l["cooperative"]["id"].as_str().unwrap().to_owned(),
                    )
                })
                .collect(),
        }
    }

    /// Changes an order's status as the manager (`markOrderPaid`, `cancelOrder`, …).
    async fn change(&self, mutation: &str, input: Value) {
        let query = format!(
            "mutation($i: {}Input!) {{ {mutation}(input: $i) {{ order {{ status }} userErrors {{ code message }} }} }}",
            capitalized(mutation)
        );
        let data = self.ok(self.manager(), &query, json!({ "i": input })).await;
        assert_eq!(
            data[mutation]["userErrors"],
            json!([]),
            "{mutation}: {data}"
        );
    }

    /// Marks `order` paid and dates the payment at noon (market time) on `on`.
    async fn pay(&self, order: &Placed, on: NaiveDate) {
        self.pay_at(order, day_start(on, TZ) + Duration::hours(12))
            .await;
    }

    /// Marks `order` paid and dates the payment at `at`.
    async fn pay_at(&self, order: &Placed, at: chrono::DateTime<Utc>) {
        self.change(
            "markOrderPaid",
            json!({ "orderId": order.id, "method": "CARD" }),
        )
        .await;
        fixtures::set_paid_at(&self.app.db, &order.number, at).await;
    }

    async fn refund(&self, order: &Placed) {
        self.change(
            "refundOrder",
            json!({ "orderId": order.id, "restock": true }),
        )
        .await;
    }

    async fn cancel(&self, order: &Placed) {
        self.change("cancelOrder", json!({ "orderId": order.id }))
            .await;
    }

    async fn fulfill(&self, order: &Placed) {
        self.change("fulfillOrder", json!({ "orderId": order.id }))
            .await;
    }

    /// `generatePayoutStatements` as `token`; the whole response.
    async fn generate_as(&self, token: Option<&str>, start: NaiveDate, end: NaiveDate) -> Value {
        self.app
            .graphql_as(
                token,
                &generate_query(),
                json!({ "i": { "periodStart": day(start), "periodEnd": day(end) } }),
            )
            .await
    }

    /// Generates a period as the manager; the statements issued.
    async fn generate(&self, start: NaiveDate, end: NaiveDate) -> Vec<Value> {
        let out = self.generate_as(Some(self.manager()), start, end).await;
        assert!(out.get("errors").is_none(), "{out:#}");
        let payload = &out["data"]["generatePayoutStatements"];
        assert_eq!(payload["userErrors"], json!([]), "{payload:#}");
        payload["statements"].as_array().unwrap().clone()
    }

    /// Every statement `token` may read with `filter`, following the pages.
    async fn statements(&self, token: &str, filter: Value) -> Vec<Value> {
        let mut all = Vec::new();
        let mut after = Value::Null;
        loop {
            let data = self
                .ok(token, &list_query(), json!({ "f": filter, "after": after }))
                .await;
            let page = &data["payoutStatements"];
            all.extend(page["nodes"].as_array().unwrap().iter().cloned());
            if page["pageInfo"]["hasNextPage"] != json!(true) {
                return all;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
    }

    /// One statement by global ID, as the manager.
    async fn statement(&self, id: &str) -> Value {
        let query = format!(
            "query($id: ID!) {{ node(id: $id) {{ ... on PayoutStatement {{ {STATEMENT} }} }} }}"
        );
        self.ok(self.manager(), &query, json!({ "id": id })).await["node"].clone()
    }

    async fn set_rate(&self, coop: &str, rate: &str) {
        let data = self
            .ok(
                self.manager(),
                "mutation($i: UpdateCooperativeInput!) { updateCooperative(input: $i) { cooperative { commissionRate } userErrors { code } } }",
                json!({ "i": { "id": coop, "commissionRate": rate } }),
            )
            .await;
        assert_eq!(data["updateCooperative"]["userErrors"], json!([]));
    }

    async fn pay_statement(&self, id: &str, on: NaiveDate, reference: &str) -> Value {
        self.ok(
            self.manager(),
            PAY_STATEMENT,
            json!({ "i": { "statementId": id, "paidOn": day(on), "reference": reference } }),
        )
        .await["markPayoutPaid"]
            .clone()
    }
}

pub(super) fn capitalized(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

pub(super) fn of<'a>(statements: &'a [Value], coop: &str) -> &'a Value {
    let found: Vec<&Value> = statements
        .iter()
        .filter(|s| s["cooperative"]["id"] == coop)
        .collect();
    assert_eq!(found.len(), 1, "one statement of {coop} in {statements:#?}");
    found[0]
}

pub(super) fn order_numbers(statement: &Value) -> BTreeSet<String> {
    statement["lines"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["orderNumber"].as_str().unwrap().to_owned())
        .collect()
}

mod access;
mod delivery;
mod invariants;
mod packs;
mod payment;
mod promotions;
mod statements;
