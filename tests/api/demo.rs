//! The demo seeded on first start holds a believable recent history that every client
//! sees — the manager's orders, analytics and payouts, the member's portal, the
//! customer's orders — and that keeps the rules: stock equals its ledger, the analytics
//! match the order lines, the payout statements reconcile to the centime.

use crate::helpers::TestApp;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use market_core::entities::payout_adjustment;
use rust_decimal::{Decimal, RoundingStrategy};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use solidarity_market::graphql::ids::{NodeType, decode};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const MANAGER: (&str, &str) = ("manager@solidarity-market.ma", "manager-demo-2026");
const MEMBER: (&str, &str) = ("member@ait-bouguemez.coop.ma", "member-demo-2026");
const CUSTOMER: (&str, &str) = ("customer@example.ma", "customer-demo-2026");

async fn login(app: &TestApp, (email, password): (&str, &str)) -> String {
    let response = app
        .graphql(
            "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { token userErrors { code } } }",
            json!({ "e": email, "p": password }),
        )
        .await;
    response["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{email} cannot sign in: {response}"))
        .to_owned()
}

async fn ok(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let response = app.graphql_as(Some(token), query, variables).await;
    assert!(response.get("errors").is_none(), "{query}: {response:#}");
    response["data"].clone()
}

fn cents(money: &Value) -> i64 {
    let amount: Decimal = money["amount"]
        .as_str()
        .unwrap_or_else(|| panic!("no amount in {money}"))
        .parse()
        .expect("decimal amount");
    (amount * Decimal::from(100))
        .trunc()
        .to_string()
        .parse()
        .expect("cents")
}

/// A decimal rate ("0.1500") in basis points.
fn basis_points(rate: &Value) -> i32 {
    let rate: Decimal = rate.as_str().expect("rate").parse().expect("decimal rate");
    (rate * Decimal::from(10_000))
        .trunc()
        .to_string()
        .parse()
        .expect("bp")
}

/// What the cooperative earns on a line: its total less the commission rounded half to
/// even (README, Payouts).
fn net(total: i64, rate_bp: i32) -> i64 {
    let commission = (Decimal::from(total) * Decimal::from(rate_bp) / Decimal::from(10_000))
        .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
    total - commission.to_string().parse::<i64>().expect("commission")
}

/// The market-local date of an instant.
fn market_day(instant: &Value) -> NaiveDate {
    let at: DateTime<Utc> = instant
        .as_str()
        .expect("instant")
        .parse()
        .expect("RFC 3339");
    at.with_timezone(&chrono_tz::Africa::Casablanca)
        .date_naive()
}

fn today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Africa::Casablanca)
        .date_naive()
}

const ORDER_FIELDS: &str = "id number channel status placedAt paidAt total { amount }
    customer { email }
    lines { id quantity total { amount } product { sku } cooperative { id commissionRate } }";

/// Every order the viewer may read, newest first, all pages.
async fn all_orders(app: &TestApp, token: &str) -> Vec<Value> {
    let query = format!(
        "query($after: String) {{ orders(first: 8, after: $after) {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {ORDER_FIELDS} }} }} }}"
    );
    let (mut after, mut orders) = (Value::Null, Vec::new());
    loop {
        let data = ok(app, token, &query, json!({ "after": after })).await;
        let page = &data["orders"];
        orders.extend(page["nodes"].as_array().expect("nodes").iter().cloned());
        if page["pageInfo"]["hasNextPage"] != true {
            assert_eq!(page["totalCount"].as_u64(), Some(orders.len() as u64));
            return orders;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

fn is_sale(order: &Value) -> bool {
    order["status"] == "PAID" || order["status"] == "FULFILLED"
}

#[tokio::test]
async fn the_demo_holds_months_of_orders_that_the_analytics_add_up() {
    let app = TestApp::with_demo().await;
    let manager = login(&app, MANAGER).await;
    let orders = all_orders(&app, &manager).await;
    let today = today();

    // A few hundred orders over the last six months, in the shop and online, in every
    // state a real history has.
    assert!(orders.len() >= 200, "{} orders", orders.len());
    let count = |f: &dyn Fn(&Value) -> bool| orders.iter().filter(|o| f(o)).count();
    assert!(count(&|o| o["channel"] == "STORE") >= 50);
    assert!(count(&|o| o["channel"] == "ONLINE") >= 50);
    assert!(count(&|o| o["status"] == "FULFILLED") >= 100);
    assert!(count(&|o| o["status"] == "CANCELLED") >= 1);
    assert!(count(&|o| o["status"] == "REFUNDED") >= 1);
    let days: BTreeSet<NaiveDate> = orders.iter().map(|o| market_day(&o["placedAt"])).collect();
    let (first, last) = (*days.first().unwrap(), *days.last().unwrap());
    assert!(
        last <= today && today - last <= Duration::days(7),
        "latest {last}"
    );
    assert!(
        (150..=215).contains(&(today - first).num_days()),
        "earliest {first}"
    );
    let months: BTreeSet<(i32, u32)> = days.iter().map(|d| (d.year(), d.month())).collect();
    assert!(months.len() >= 6, "{months:?}");
    // Online orders are the shoppers'; the till's have no customer account.
    for order in &orders {
        let online = order["channel"] == "ONLINE";
        assert!(order["customer"]["email"].is_string(), "{order}");
        let by_manager = order["customer"]["email"] == MANAGER.0;
        assert_eq!(online, !by_manager, "{order}");
    }

    // The analytics are the sums of those lines: month by month, by kind, and at the top.
    let mut by_month: BTreeMap<NaiveDate, (i64, i64)> = BTreeMap::new();
    let mut revenue = 0;
    for order in orders.iter().filter(|o| is_sale(o)) {
        let day = market_day(&order["placedAt"]);
        let month = NaiveDate::from_ymd_opt(day.year(), day.month(), 1).unwrap();
        for line in order["lines"].as_array().unwrap() {
            let entry = by_month.entry(month).or_default();
            entry.0 += cents(&line["total"]);
            entry.1 += line["quantity"].as_i64().unwrap();
            revenue += cents(&line["total"]);
        }
    }
    let range = json!({ "from": first.to_string(), "to": today.to_string() });
    let data = ok(
        &app,
        &manager,
        r#"query($r: DateRangeInput!, $year: Int!) {
            salesTrend(range: $r, granularity: MONTH) { periodStart revenue { amount } itemsSold orders }
            salesBySegment(range: $r, dimension: COOPERATIVE_KIND) { total { revenue { amount } itemsSold orders } rows { key revenue { amount } share } }
            topProducts(range: $r, by: VALUE, limit: 5) { rank product { sku } revenue { amount } }
            byChannel: salesBySegment(range: $r, dimension: CHANNEL) { rows { key revenue { amount } orders } }
            marketSummary(year: $year) { turnover { amount } orders itemsSold cooperatives }
            expiringCertifications(withinDays: 30, first: 10) { totalCount nodes { number expiresOn } } }"#,
        json!({ "r": range, "year": (today - Duration::days(31)).year() }),
    )
    .await;
    let trend: BTreeMap<NaiveDate, (i64, i64)> = data["salesTrend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["periodStart"].as_str().unwrap().parse().unwrap(),
                (cents(&p["revenue"]), p["itemsSold"].as_i64().unwrap()),
            )
        })
        .collect();
    assert_eq!(trend, by_month, "monthly sales vs the order lines");
    let total = &data["salesBySegment"]["total"];
    assert_eq!(cents(&total["revenue"]), revenue);
    assert_eq!(
        total["orders"].as_u64(),
        Some(orders.iter().filter(|o| is_sale(o)).count() as u64)
    );
    let kinds: BTreeSet<&str> = data["salesBySegment"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 3, "every kind sells: {kinds:?}");
    let top: Vec<i64> = data["topProducts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| cents(&t["revenue"]))
        .collect();
    assert_eq!(top.len(), 5);
    assert!(
        top[4] > 0 && top.windows(2).all(|w| w[0] >= w[1]),
        "{top:?}"
    );
    // Both channels sell, each counted as often as the orders say.
    let channels: BTreeMap<&str, (i64, u64)> = data["byChannel"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let key = r["key"].as_str().unwrap();
            (key, (cents(&r["revenue"]), r["orders"].as_u64().unwrap()))
        })
        .collect();
    for channel in ["ONLINE", "STORE"] {
        let sales = orders
            .iter()
            .filter(|o| is_sale(o) && o["channel"] == channel)
            .count() as u64;
        assert!(sales > 0, "{channel}");
        assert!(
            channels
                .get(channel)
                .is_some_and(|(revenue, n)| *revenue > 0 && *n == sales),
            "{channel}: {channels:?}, {sales} orders"
        );
    }
    assert!(cents(&data["marketSummary"]["turnover"]) > 0);
    assert!(data["marketSummary"]["orders"].as_i64().unwrap() > 0);
    // A certificate to renew within the month.
    let expiring = &data["expiringCertifications"];
    assert!(expiring["totalCount"].as_i64().unwrap() >= 1, "{expiring}");
    for cert in expiring["nodes"].as_array().unwrap() {
        let on: NaiveDate = cert["expiresOn"].as_str().unwrap().parse().unwrap();
        assert!(on >= today && on <= today + Duration::days(30), "{cert}");
    }

    // The demo customer has orders of their own; the other shoppers cannot sign in.
    let customer = login(&app, CUSTOMER).await;
    let mine = all_orders(&app, &customer).await;
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|o| o["customer"]["email"] == CUSTOMER.0));
    let shopper = orders
        .iter()
        .filter_map(|o| o["customer"]["email"].as_str())
        .find(|e| *e != CUSTOMER.0 && *e != MANAGER.0)
        .expect("a shopper");
    let attempt = app
        .graphql(
            "mutation($e: String!) { login(input: { email: $e, password: \"any-password-at-all\" }) { token userErrors { code } } }",
            json!({ "e": shopper }),
        )
        .await;
    assert_eq!(
        attempt["data"]["login"]["userErrors"][0]["code"], "INVALID_CREDENTIALS",
        "{attempt}"
    );
}

#[tokio::test]
async fn the_demo_member_sees_their_cooperatives_sales_stock_and_payouts() {
    let app = TestApp::with_demo().await;
    let member = login(&app, MEMBER).await;
    let today = today();
    let range =
        json!({ "from": (today - Duration::days(200)).to_string(), "to": today.to_string() });
    let data = ok(
        &app,
        &member,
        r#"query($r: DateRangeInput!) {
            myCooperative { id slug lowStockProducts(first: 10) { totalCount } }
            salesBySegment(range: $r, dimension: PRODUCT_SEGMENT) { total { revenue { amount } itemsSold orders } rows { key } }
            salesTrend(range: $r, granularity: MONTH) { periodStart revenue { amount } }
            topProducts(range: $r, by: VOLUME, limit: 3) { product { sku cooperative { slug } } itemsSold }
            payoutStatements(first: 20) { totalCount nodes { status periodStart amountDue { amount } lines(first: 5) { totalCount } } }
            orders(first: 20) { totalCount nodes { lines { cooperative { slug } } } } }"#,
        json!({ "r": range }),
    )
    .await;
    let slug = data["myCooperative"]["slug"].as_str().unwrap();
    assert_eq!(slug, "cooperative-ait-bouguemez");
    let total = &data["salesBySegment"]["total"];
    assert!(cents(&total["revenue"]) > 0, "{total}");
    assert!(total["orders"].as_i64().unwrap() >= 5, "{total}");
    assert!(
        data["salesTrend"].as_array().unwrap().len() >= 4,
        "{data:#}"
    );
    assert!(
        !data["topProducts"].as_array().unwrap().is_empty(),
        "{data:#}"
    );
    for top in data["topProducts"].as_array().unwrap() {
        assert_eq!(top["product"]["cooperative"]["slug"], slug);
    }
    // Its orders show only its own lines.
    let orders = &data["orders"];
    assert!(orders["totalCount"].as_i64().unwrap() >= 5);
    for order in orders["nodes"].as_array().unwrap() {
        for line in order["lines"].as_array().unwrap() {
            assert_eq!(line["cooperative"]["slug"], slug);
        }
    }
    // Monthly statements, the older ones paid.
    let statements = data["payoutStatements"]["nodes"].as_array().unwrap();
    assert!(statements.len() >= 4, "{statements:?}");
    assert!(statements.iter().any(|s| s["status"] == "PAID"));
    assert!(
        statements
            .iter()
            .any(|s| s["status"] == "PAID" && cents(&s["amountDue"]) > 0),
        "{statements:?}"
    );
    assert!(
        statements
            .iter()
            .any(|s| s["lines"]["totalCount"].as_i64().unwrap() > 0)
    );

    // Its products' stock is its ledger: deliveries in, sales out.
    let coop = data["myCooperative"]["id"].clone();
    let products = ok(
        &app,
        &member,
        r#"query($c: ID!) { products(first: 15, filter: { cooperativeId: $c, includeUnsellable: true }) {
            nodes { sku stock { available } stockMovements(first: 100) { pageInfo { hasNextPage }
                    nodes { kind quantityDelta levelAfter author { email } } } } } }"#,
        json!({ "c": coop }),
    )
    .await;
    let mut kinds = BTreeSet::new();
    for p in products["products"]["nodes"].as_array().unwrap() {
        let ledger = &p["stockMovements"];
        assert_eq!(ledger["pageInfo"]["hasNextPage"], false);
        let movements = ledger["nodes"].as_array().unwrap();
        let sum: i64 = movements
            .iter()
            .map(|m| m["quantityDelta"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, p["stock"]["available"].as_i64().unwrap(), "{p}");
        for m in movements {
            kinds.insert(m["kind"].as_str().unwrap().to_owned());
            if m["kind"] == "DELIVERY" {
                assert_eq!(
                    m["author"]["email"], MEMBER.0,
                    "the member records deliveries"
                );
            }
        }
    }
    assert!(
        kinds.contains("DELIVERY") && kinds.contains("SALE"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn the_demos_stock_equals_its_ledger_with_products_to_reorder() {
    let app = TestApp::with_demo().await;
    let manager = login(&app, MANAGER).await;
    let query = r#"query($after: String) { products(first: 15, after: $after, filter: { includeUnsellable: true }) {
        pageInfo { hasNextPage endCursor }
        nodes { sku isPack lowStockThreshold stock { available }
                stockMovements(first: 100) { pageInfo { hasNextPage } nodes { kind quantityDelta levelAfter createdAt } } } } }"#;
    let (mut after, mut products) = (Value::Null, Vec::new());
    loop {
        let data = ok(&app, &manager, query, json!({ "after": after })).await;
        let page = &data["products"];
        products.extend(page["nodes"].as_array().unwrap().iter().cloned());
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert!(products.len() >= 220);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let (mut low, mut sold_out) = (0, 0);
    for p in &products {
        // A gift pack has no ledger of its own: its stock is its components' (issue #18).
        if p["isPack"] == true {
            assert_eq!(p["stockMovements"]["nodes"], json!([]), "{}", p["sku"]);
            continue;
        }
        let ledger = &p["stockMovements"];
        assert_eq!(ledger["pageInfo"]["hasNextPage"], false, "{}", p["sku"]);
        // Newest first: walking back from the current level never goes below zero.
        let available = p["stock"]["available"].as_i64().unwrap();
        let mut level = available;
        for m in ledger["nodes"].as_array().unwrap() {
            assert_eq!(
                m["levelAfter"].as_i64().unwrap(),
                level,
                "{}: {m}",
                p["sku"]
            );
            assert!(level >= 0);
            level -= m["quantityDelta"].as_i64().unwrap();
            *kinds
                .entry(m["kind"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        assert_eq!(level, 0, "{}: the ledger sums to the level", p["sku"]);
        let threshold = p["lowStockThreshold"].as_i64().unwrap();
        low += usize::from(available > 0 && available <= threshold);
        sold_out += usize::from(available == 0);
    }
    for kind in ["DELIVERY", "SALE", "CANCELLATION", "RETURN"] {
        assert!(kinds.get(kind).is_some_and(|n| *n > 0), "{kind}: {kinds:?}");
    }
    assert!(kinds["SALE"] >= 300, "{kinds:?}");
    assert!(low >= 3, "{low} products running low");
    assert!(sold_out >= 3, "{sold_out} products sold out");
}

#[tokio::test]
async fn the_demos_payouts_are_paid_or_due_and_reconcile_to_the_centime() {
    let app = TestApp::with_demo().await;
    let manager = login(&app, MANAGER).await;
    let query = r#"query($after: String) { payoutStatements(first: 10, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { number status periodStart periodEnd dueOn paidOn cooperative { id }
                grossSales { amount } commission { amount } refundAdjustments { amount }
                carriedIn { amount } net { amount } amountDue { amount }
                adjustments { kind amount { amount } }
                lines(first: 100) { pageInfo { hasNextPage } nodes { orderLine { id } gross { amount } commissionRate commission { amount } net { amount } } } } } }"#;
    let (mut after, mut statements) = (Value::Null, Vec::new());
    loop {
        let data = ok(&app, &manager, query, json!({ "after": after })).await;
        let page = &data["payoutStatements"];
        statements.extend(page["nodes"].as_array().unwrap().iter().cloned());
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let status_count = |s: &str| statements.iter().filter(|st| st["status"] == s).count();
    assert!(status_count("PAID") >= 20, "paid statements");
    assert!(status_count("DUE") >= 1, "due statements");
    let periods: BTreeSet<&str> = statements
        .iter()
        .map(|s| s["periodStart"].as_str().unwrap())
        .collect();
    assert!(periods.len() >= 5, "{periods:?}");

    // Each statement adds up.
    let mut settled: BTreeSet<String> = BTreeSet::new();
    let mut due_by_coop: BTreeMap<String, i64> = BTreeMap::new();
    for st in &statements {
        let lines = &st["lines"];
        assert_eq!(lines["pageInfo"]["hasNextPage"], false, "{}", st["number"]);
        let (mut gross, mut commission) = (0, 0);
        for line in lines["nodes"].as_array().unwrap() {
            let total = cents(&line["gross"]);
            let line_net = net(total, basis_points(&line["commissionRate"]));
            assert_eq!(cents(&line["net"]), line_net, "{line}");
            assert_eq!(cents(&line["commission"]), total - line_net, "{line}");
            gross += total;
            commission += total - line_net;
            assert!(
                settled.insert(line["orderLine"]["id"].as_str().unwrap().to_owned()),
                "a line in two statements: {line}"
            );
        }
        let adjustments = |kind: &str| -> i64 {
            st["adjustments"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["kind"] == kind)
                .map(|a| cents(&a["amount"]))
                .sum()
        };
        assert_eq!(cents(&st["grossSales"]), gross, "{}", st["number"]);
        assert_eq!(cents(&st["commission"]), commission, "{}", st["number"]);
        assert_eq!(cents(&st["refundAdjustments"]), adjustments("REFUND"));
        assert_eq!(cents(&st["carriedIn"]), adjustments("CARRIED_BALANCE"));
        let statement_net =
            gross - commission + adjustments("REFUND") + adjustments("CARRIED_BALANCE");
        assert_eq!(cents(&st["net"]), statement_net, "{}", st["number"]);
        assert_eq!(cents(&st["amountDue"]), statement_net.max(0));
        assert_eq!(st["status"] == "CARRIED_FORWARD", statement_net < 0);
        if st["status"] == "PAID" {
            let paid_on: NaiveDate = st["paidOn"].as_str().unwrap().parse().unwrap();
            let period_end: NaiveDate = st["periodEnd"].as_str().unwrap().parse().unwrap();
            assert!(paid_on > period_end && paid_on <= today());
        }
        *due_by_coop
            .entry(st["cooperative"]["id"].as_str().unwrap().to_owned())
            .or_default() += cents(&st["amountDue"]);
    }

    // For each cooperative: what its statements owe, plus the corrections not yet taken
    // in, plus its paid lines not settled yet, is exactly the net of its paid sales that
    // still stand (refunds and cancellations after payment taken out).
    let orders = all_orders(&app, &manager).await;
    let mut standing: HashMap<String, i64> = HashMap::new();
    let mut unsettled: HashMap<String, i64> = HashMap::new();
    for order in orders.iter().filter(|o| is_sale(o)) {
        for line in order["lines"].as_array().unwrap() {
            let coop = line["cooperative"]["id"].as_str().unwrap().to_owned();
            let line_net = net(
                cents(&line["total"]),
                basis_points(&line["cooperative"]["commissionRate"]),
            );
            *standing.entry(coop.clone()).or_default() += line_net;
            if !settled.contains(line["id"].as_str().unwrap()) {
                *unsettled.entry(coop).or_default() += line_net;
            }
        }
    }
    let pending = payout_adjustment::Entity::find()
        .filter(payout_adjustment::Column::PayoutStatementId.is_null())
        .all(&app.db)
        .await
        .unwrap();
    let coops: BTreeSet<&String> = standing.keys().chain(due_by_coop.keys()).collect();
    assert!(coops.len() >= 20, "{} cooperatives sold", coops.len());
    for coop in coops {
        let id: i32 = decode(coop, NodeType::Cooperative).unwrap();
        let pending_sum: i64 = pending
            .iter()
            .filter(|a| a.cooperative_id == id)
            .map(|a| a.amount_cents)
            .sum();
        assert_eq!(
            due_by_coop.get(coop).copied().unwrap_or(0)
                + pending_sum
                + unsettled.get(coop).copied().unwrap_or(0),
            standing.get(coop).copied().unwrap_or(0),
            "the books of cooperative {coop} do not reconcile"
        );
    }

    // The market's record: mostly on time, one late payment a month.
    let performance = ok(
        &app,
        &manager,
        r#"query($r: PayoutRangeInput!) { payoutPerformance(range: $r) {
            statementsIssued paidOnTime paidLate onTimeRate averageDaysLate } }"#,
        json!({ "r": { "from": (today() - Duration::days(240)).to_string(), "to": (today() + Duration::days(60)).to_string() } }),
    )
    .await;
    let p = &performance["payoutPerformance"];
    assert_eq!(
        p["statementsIssued"].as_u64(),
        Some(statements.len() as u64)
    );
    assert!(p["paidOnTime"].as_i64().unwrap() >= 20, "{p}");
    assert!(p["paidLate"].as_i64().unwrap() >= 1, "{p}");
    assert!(p["onTimeRate"].is_string(), "{p}");
}

#[tokio::test]
async fn the_demo_sells_a_hamam_gift_set_of_cosmetics_cooperatives() {
    let app = TestApp::with_demo().await;
    let customer = login(&app, CUSTOMER).await;
    let data = ok(
        &app,
        &customer,
        r#"{ product(sku: "GIFT-HAMAM-01") { id name isPack isSellable price { amount } stock { available }
             packComponents { quantity product { sku price { amount } stock { available } cooperative { slug kind } } } } }"#,
        json!({}),
    )
    .await;
    let pack = &data["product"];
    assert_eq!(pack["isPack"], true, "{data}");
    assert_eq!(pack["isSellable"], true, "{data}");
    let components = pack["packComponents"].as_array().unwrap();
    let coops: BTreeSet<&str> = components
        .iter()
        .map(|c| c["product"]["cooperative"]["slug"].as_str().unwrap())
        .collect();
    assert!(coops.len() >= 3, "{data}");
    assert!(
        components
            .iter()
            .all(|c| c["product"]["cooperative"]["kind"] == "COSMETICS")
    );
    let available = components
        .iter()
        .map(|c| {
            c["product"]["stock"]["available"].as_i64().unwrap() / c["quantity"].as_i64().unwrap()
        })
        .min()
        .unwrap();
    assert!(available > 0, "{data}");
    assert_eq!(pack["stock"]["available"], available);
    // A shopper buys one: the price splits among the three cooperatives.
    let placed = ok(
        &app,
        &customer,
        r#"mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
            order { total { amount } lines { total { amount } pack { sku } cooperative { slug } } }
            userErrors { code message } } }"#,
        json!({ "i": { "channel": "ONLINE", "idempotencyKey": "hamam-1",
                       "lines": [{ "productId": pack["id"], "quantity": 1 }] } }),
    )
    .await;
    let order = &placed["placeOrder"]["order"];
    assert_eq!(order["total"]["amount"], "99.00", "{placed}");
    let lines = order["lines"].as_array().unwrap();
    assert_eq!(lines.len(), components.len());
    assert_eq!(lines.iter().map(|l| cents(&l["total"])).sum::<i64>(), 9_900);

    // The next Ramadan's promotion on the soaps and hammam segment, the set included,
    // funded half by the market; it starts at midnight in Casablanca.
    let manager = login(&app, MANAGER).await;
    let promotions = ok(
        &app,
        &manager,
        "{ promotions { name percentOff marketShare target startsAt endsAt } }",
        json!({}),
    )
    .await;
    let ramadan = promotions["promotions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str().unwrap().starts_with("Ramadan "))
        .unwrap_or_else(|| panic!("{promotions}"))
        .clone();
    assert_eq!(ramadan["percentOff"], "0.1500");
    assert_eq!(ramadan["marketShare"], "0.5000");
    assert_eq!(ramadan["target"], "SEGMENT");
    let starts: DateTime<Utc> = ramadan["startsAt"].as_str().unwrap().parse().unwrap();
    let local = starts.with_timezone(&chrono_tz::Africa::Casablanca);
    assert_eq!(local.format("%H:%M").to_string(), "00:00", "{ramadan}");
}
