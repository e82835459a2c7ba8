//! Every list that nests objects reads them in batches: a page of 5 and a page of 50 cost
//! the same number of SQL statements (no N+1), through the requests clients send.

use crate::fixtures::{self, account};
use crate::helpers::TestApp;
use chrono::{Duration, NaiveDate, Utc};
use market_core::entities::{cooperative, order_line, payout_adjustment, payout_statement};
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};
use serde_json::{Value, json};
use solidarity_market::domain::enums::{PayoutAdjustmentKind, PayoutStatus, Role};
use solidarity_market::graphql::ids::{NodeType, encode};

/// Runs `query` as `token` with `$n` = 5 and 50; both must succeed and return `rows(data)`
/// = `$n` items. Asserts they cost the same number of statements and returns it.
async fn same_cost_for_5_and_50(
    app: &TestApp,
    token: Option<&str>,
    what: &str,
    query: &str,
    rows: impl Fn(&Value) -> usize,
) -> usize {
    let mut counts = Vec::new();
    for n in [5, 50] {
        if std::env::var_os("TEST_LOG_SQL").is_some() {
            eprintln!("=== {what}: page of {n}");
        }
        let (statements, response) = app
            .count_statements(app.graphql_as(token, query, json!({ "n": n })))
            .await;
        assert!(
            response.get("errors").is_none(),
            "{what}: unexpected errors: {response:#}"
        );
        assert_eq!(rows(&response["data"]), n, "{what}: page of {n}");
        counts.push(statements);
    }
    assert_eq!(
        counts[0], counts[1],
        "{what}: statements for a page of 5 vs 50"
    );
    eprintln!("{what}: {} statements for a page of 5 or 50", counts[0]);
    counts[0]
}

fn len(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

/// The demo catalog with a manager, a customer, a member of the first cooperative with
/// sellable products, and that cooperative.
struct Market {
    app: TestApp,
    manager: String,
    customer: String,
    member: String,
    /// Sellable products: the member's cooperative's first, then others.
    products: Vec<String>,
}

async fn market() -> Market {
    // Pages of 50 orders with their lines cost more than a client may ask (an order is
    // counted as 100 lines): the limit is raised to measure them.
    let app = TestApp::with_demo_and(|c| c.max_query_cost = 1_000_000).await;
    let manager = account(&app.db, "manager@batch.ma", Role::Manager, None).await;
    let customer = account(&app.db, "customer@batch.ma", Role::Customer, None).await;
    let data = app
        .data(
            "{ products(first: 100, filter: { inStock: true }) { nodes { id cooperative { id } stock { available } } } }",
            json!({}),
        )
        .await;
    let nodes = data["products"]["nodes"].as_array().unwrap().clone();
    let own_coop = nodes[0]["cooperative"]["id"].as_str().unwrap().to_owned();
    let coop_id: i32 =
        solidarity_market::graphql::ids::decode(&own_coop, NodeType::Cooperative).unwrap();
    let coop = cooperative::Entity::find_by_id(coop_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let member = account(
        &app.db,
        "member@batch.ma",
        Role::CooperativeMember,
        Some(&coop),
    )
    .await;
    // The member's product first (it gets a delivery), then those with stock to spare.
    let products = nodes
        .iter()
        .enumerate()
        .filter(|(i, n)| *i == 0 || n["stock"]["available"].as_i64().unwrap() >= 3)
        .map(|(_, n)| n["id"].as_str().unwrap().to_owned())
        .collect();
    Market {
        app,
        manager,
        customer,
        member,
        products,
    }
}

impl Market {
    async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let out = self.app.graphql_as(Some(token), query, variables).await;
        assert!(out.get("errors").is_none(), "unexpected errors: {out:#}");
        out["data"].clone()
    }

    /// `count` deliveries of `product`, alternately by the manager and the member.
    async fn deliveries(&self, product: &str, count: usize) {
        for i in 0..count {
            let token = if i % 2 == 0 {
                &self.manager
            } else {
                &self.member
            };
            let data = self
                .ok(
                    token,
                    "mutation($i: RecordStockDeliveryInput!) { recordStockDelivery(input: $i) { userErrors { code message } } }",
                    json!({ "i": { "productId": product, "quantity": 100, "note": format!("slip {i}") } }),
                )
                .await;
            assert_eq!(data["recordStockDelivery"]["userErrors"], json!([]));
        }
    }

    /// `count` orders by the customer, each holding the member's product and another one;
    /// every other one paid by the manager with a note. Returns their global IDs.
    async fn orders(&self, count: usize) -> Vec<String> {
        self.deliveries(&self.products[0], 1).await;
        let mut ids = Vec::new();
        for i in 0..count {
            let other = &self.products[1 + i % (self.products.len() - 1)];
            let data = self
                .ok(
                    &self.customer,
                    "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { id } userErrors { code message } } }",
                    json!({ "i": { "channel": "ONLINE", "idempotencyKey": format!("batch-{i}"),
                        "lines": [{ "productId": self.products[0], "quantity": 1 }, { "productId": other, "quantity": 1 }] } }),
                )
                .await;
            assert_eq!(data["placeOrder"]["userErrors"], json!([]), "{data}");
            let id = data["placeOrder"]["order"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            if i % 2 == 0 {
                let paid = self
                    .ok(
                        &self.manager,
                        "mutation($i: MarkOrderPaidInput!) { markOrderPaid(input: $i) { userErrors { code } } }",
                        json!({ "i": { "orderId": id, "method": "CARD", "reference": format!("slip {i}") } }),
                    )
                    .await;
                assert_eq!(paid["markOrderPaid"]["userErrors"], json!([]));
            }
            ids.push(id);
        }
        ids
    }
}

const ORDERS: &str = r#"query($n: Int!) { orders(first: $n) { totalCount nodes {
    number status total { amount } itemCount note contact { name }
    customer { email name }
    lines { sku quantity product { sku name } cooperative { slug name } }
    history { fromStatus toStatus note at actor { name email role } } } } }"#;

#[tokio::test]
async fn order_pages_cost_the_same_for_5_and_50_orders_whoever_reads_them() {
    let m = market().await;
    m.orders(50).await;
    let rows = |d: &Value| len(&d["orders"]["nodes"]);
    for (who, token) in [
        ("manager", &m.manager),
        ("customer", &m.customer),
        ("member", &m.member),
    ] {
        let statements = same_cost_for_5_and_50(
            &m.app,
            Some(token),
            &format!("orders as {who}"),
            ORDERS,
            rows,
        )
        .await;
        assert!(statements <= 12, "orders as {who}: {statements} statements");
    }
    // The member's view keeps its privacy: no buyer, no other people's names or notes.
    let data = m.ok(&m.member, ORDERS, json!({ "n": 50 })).await;
    for order in data["orders"]["nodes"].as_array().unwrap() {
        assert_eq!(order["customer"], Value::Null);
        assert_eq!(len(&order["lines"]), 1, "only its own line");
        for event in order["history"].as_array().unwrap() {
            assert_eq!(event["actor"], Value::Null, "{event}");
            assert_eq!(event["note"], Value::Null, "{event}");
        }
    }
    // The manager sees every buyer and actor.
    let data = m.ok(&m.manager, ORDERS, json!({ "n": 50 })).await;
    for order in data["orders"]["nodes"].as_array().unwrap() {
        assert_eq!(order["customer"]["email"], "customer@batch.ma");
        assert!(
            order["history"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["actor"]["role"].is_string())
        );
    }
}

#[tokio::test]
async fn a_stock_ledger_page_costs_the_same_for_5_and_50_lines() {
    let m = market().await;
    m.deliveries(&m.products[0], 55).await;
    let query = r#"query($n: Int!) { node(id: "PRODUCT") { ... on Product {
        stockMovements(first: $n) { totalCount nodes { kind quantityDelta levelAfter note createdAt
            author { name email role cooperative { slug } } } } } } }"#
        .replace("PRODUCT", &m.products[0]);
    let rows = |d: &Value| len(&d["node"]["stockMovements"]["nodes"]);
    for (who, token) in [("manager", &m.manager), ("member", &m.member)] {
        same_cost_for_5_and_50(
            &m.app,
            Some(token),
            &format!("ledger as {who}"),
            &query,
            rows,
        )
        .await;
    }
    let data = m.ok(&m.member, &query, json!({ "n": 50 })).await;
    let authors: Vec<&Value> = data["node"]["stockMovements"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["author"])
        .collect();
    assert!(authors.iter().any(|a| a["role"] == "COOPERATIVE_MEMBER"));
}

#[tokio::test]
async fn cooperative_pages_cost_the_same_for_5_and_50_cooperatives() {
    let app = TestApp::with_demo().await;
    let extra = 50_i64.saturating_sub(
        cooperative::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .len() as i64,
    );
    for i in 0..extra {
        fixtures::coop(
            &app.db,
            fixtures::NewCoop::new(
                &format!("Zz batch cooperative {i}"),
                solidarity_market::domain::enums::CooperativeKind::Handicrafts,
                "MA-01",
            ),
        )
        .await;
    }
    // The first page of 5 holds every kind of relation: a certification listing products.
    let first = app
        .data("{ cooperatives(first: 1) { nodes { id } } }", json!({}))
        .await;
    let first: i32 = solidarity_market::graphql::ids::decode(
        first["cooperatives"]["nodes"][0]["id"].as_str().unwrap(),
        NodeType::Cooperative,
    )
    .unwrap();
    let first = cooperative::Entity::find_by_id(first)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let listed = fixtures::product(
        &app.db,
        &first,
        fixtures::NewProduct::new("BATCH-LISTED", "Listed product", "honey", 1_000, 5),
    )
    .await;
    fixtures::certify(
        &app.db,
        &first,
        solidarity_market::domain::enums::CertificationType::Organic,
        fixtures::days_from_today(-10),
        None,
        &[&listed],
    )
    .await;
    let query = r#"query($n: Int!) { cooperatives(first: $n) { totalCount nodes {
        id slug province logo { url alt } cover { url(width: 1080) }
        products(first: 3, sort: { field: PRICE, direction: DESC }) {
            totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { sku segment { slug } } }
        region { code name provinces listedCooperativeCount }
        certifications(includeInvalid: true) { type number products { sku } cooperative { slug } } } } }"#;
    same_cost_for_5_and_50(&app, None, "cooperatives", query, |d| {
        len(&d["cooperatives"]["nodes"])
    })
    .await;

    // Each cooperative's first page, read in one batch, is the page it has on its own.
    let data = app.data(query, json!({ "n": 50 })).await;
    let mut seen_more = false;
    for coop in data["cooperatives"]["nodes"].as_array().unwrap() {
        let alone = app
            .data(
                r#"query($c: ID!) { products(first: 3, sort: { field: PRICE, direction: DESC }, filter: { cooperativeId: $c }) {
                    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { sku segment { slug } } } }"#,
                json!({ "c": coop["id"] }),
            )
            .await;
        assert_eq!(coop["products"], alone["products"], "{}", coop["slug"]);
        seen_more |= coop["products"]["pageInfo"]["hasNextPage"] == json!(true);
    }
    assert!(seen_more, "some cooperative has more than one page");
}

#[tokio::test]
async fn regions_read_their_provinces_and_counts_in_one_statement_each() {
    let app = TestApp::with_demo().await;
    let (bare, _) = app
        .count_statements(app.data("{ regions { code } }", json!({})))
        .await;
    let (full, data) = app
        .count_statements(app.data(
            "{ regions { code name provinces listedCooperativeCount } }",
            json!({}),
        ))
        .await;
    assert_eq!(len(&data["regions"]), 12);
    assert!(
        data["regions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| len(&r["provinces"]) > 0)
    );
    assert_eq!(
        full,
        bare + 2,
        "one statement for provinces, one for counts"
    );
}

#[tokio::test]
async fn nodes_resolves_each_type_in_one_batch_in_order() {
    let m = market().await;
    let orders = m.orders(10).await;
    let coops: Vec<String> = cooperative::Entity::find()
        .order_by_asc(cooperative::Column::Id)
        .all(&m.app.db)
        .await
        .unwrap()
        .iter()
        .map(|c| encode(NodeType::Cooperative, c.id).to_string())
        .collect();
    let regions: Vec<String> = (1..=12)
        .map(|r| encode(NodeType::Region, format!("MA-{r:02}")).to_string())
        .collect();
    // 50 IDs of four types, with unknown ones (which come back null).
    let mut ids: Vec<(String, bool)> = Vec::new();
    for i in 0..50 {
        ids.push(match i % 5 {
            0 => (m.products[i % m.products.len()].clone(), true),
            1 => (coops[i % coops.len()].clone(), true),
            2 => (regions[i % regions.len()].clone(), true),
            3 => (orders[(i / 5) % orders.len()].clone(), true),
            _ => (encode(NodeType::Product, 900_000 + i).to_string(), false),
        });
    }
    let query = r#"query($ids: [ID!]!) { nodes(ids: $ids) { id
        ... on Product { sku cooperative { slug } segment { slug } }
        ... on Cooperative { slug region { code } }
        ... on Region { code provinces }
        ... on Order { number customer { email } lines { sku } history { actor { email } } } } }"#;
    let mut counts = Vec::new();
    for n in [5, 50] {
        let asked: Vec<&String> = ids[..n].iter().map(|(id, _)| id).collect();
        if std::env::var_os("TEST_LOG_SQL").is_some() {
            eprintln!("=== nodes: {n} IDs");
        }
        let (statements, out) = m
            .app
            .count_statements(
                m.app
                    .graphql_as(Some(&m.manager), query, json!({ "ids": asked })),
            )
            .await;
        assert!(out.get("errors").is_none(), "{out:#}");
        let nodes = out["data"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), n);
        for (node, (id, exists)) in nodes.iter().zip(&ids) {
            if *exists {
                assert_eq!(node["id"].as_str(), Some(id.as_str()), "order kept");
            } else {
                assert_eq!(node, &Value::Null, "unknown {id}");
            }
        }
        counts.push(statements);
    }
    assert_eq!(counts[0], counts[1], "nodes: statements for 5 vs 50 IDs");
    // A customer sees its own orders; a member the orders holding its products; an
    // anonymous viewer none of them.
    let few = json!({ "ids": [orders[0], orders[1]] });
    let simple = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }";
    let anonymous = m.app.data(simple, few.clone()).await;
    assert_eq!(anonymous["nodes"], json!([null, null]));
    let customer = m.ok(&m.customer, simple, few).await;
    assert_eq!(customer["nodes"][1]["id"], orders[1]);
}

#[tokio::test]
async fn payout_statement_pages_cost_the_same_for_5_and_50_statements() {
    let app = TestApp::with_demo().await;
    // Only this test's statements: the demo's own (with refunds of various orders) would
    // make the two pages hold different kinds of adjustment.
    for sql in [
        "UPDATE order_lines SET payout_statement_id = NULL",
        "DELETE FROM payout_adjustments",
        "DELETE FROM payout_statements",
    ] {
        app.execute_sql(sql).await;
    }
    let manager = account(&app.db, "manager@batch.ma", Role::Manager, None).await;
    let coops = cooperative::Entity::find()
        .order_by_asc(cooperative::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    // Two months of statements per cooperative, each with a carried balance from the
    // previous one.
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let mut previous = std::collections::HashMap::new();
    for month in 0..2 {
        let period_start = start + Duration::days(31 * month);
        for coop in coops.iter().take(30) {
            let statement = payout_statement::ActiveModel {
                cooperative_id: Set(coop.id),
                period_start: Set(period_start),
                period_end: Set(period_start + Duration::days(30)),
                gross_cents: Set(10_000),
                commission_cents: Set(1_500),
                refund_adjustment_cents: Set(0),
                carried_in_cents: Set(0),
                net_cents: Set(8_500),
                due_on: Set(period_start + Duration::days(60)),
                status: Set(PayoutStatus::Due),
                paid_on: Set(None),
                bank_reference: Set(None),
                created_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(&app.db)
            .await
            .unwrap();
            if let Some(source) = previous.insert(coop.id, statement.id) {
                payout_adjustment::ActiveModel {
                    cooperative_id: Set(coop.id),
                    order_line_id: Set(None),
                    amount_cents: Set(-100),
                    reason: Set("Carried balance".into()),
                    payout_statement_id: Set(Some(statement.id)),
                    created_at: Set(Utc::now()),
                    kind: Set(PayoutAdjustmentKind::CarriedBalance),
                    source_statement_id: Set(Some(source)),
                    ..Default::default()
                }
                .insert(&app.db)
                .await
                .unwrap();
            }
        }
    }
    // Each statement settles a few of the demo's order lines (0 to 4), so that pages of
    // lines have every shape: empty, shorter than asked, and followed by more. (The lines'
    // cooperatives are not asked for: whether they are among the statements' own, already
    // read, would depend on the page's size.)
    let lines = order_line::Entity::find()
        .order_by_asc(order_line::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let statements = payout_statement::Entity::find()
        .order_by_asc(payout_statement::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let mut settled: std::collections::HashMap<i32, Vec<i64>> = Default::default();
    let mut next = lines.iter();
    for (i, statement) in statements.iter().enumerate() {
        let ids: Vec<i64> = next.by_ref().take(i % 5).map(|l| l.id).collect();
        if ids.is_empty() {
            continue;
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        app.execute_sql(&format!(
            "UPDATE order_lines SET payout_statement_id = {} WHERE id IN ({list})",
            statement.id
        ))
        .await;
        settled.insert(statement.id, ids);
    }
    let query = r#"query($n: Int!) { payoutStatements(first: $n) { totalCount nodes {
        id number periodStart net { amount } overdue csvUrl
        cooperative { slug region { code } }
        lines(first: 3) { totalCount pageInfo { hasNextPage hasPreviousPage }
            nodes { orderNumber sku net { amount } orderLine { id product { sku segment { slug } } } } }
        adjustments { kind amount { amount } reason orderNumber sku carriedFrom { number cooperative { slug } } } } } }"#;
    same_cost_for_5_and_50(&app, Some(&manager), "payout statements", query, |d| {
        len(&d["payoutStatements"]["nodes"])
    })
    .await;
    // Each statement's first page of lines, read in one batch, is its own.
    let data = app
        .graphql_as(Some(&manager), query, json!({ "n": 50 }))
        .await;
    let mut seen_more = false;
    for statement in data["data"]["payoutStatements"]["nodes"]
        .as_array()
        .unwrap()
    {
        let id: i32 = solidarity_market::graphql::ids::decode(
            statement["id"].as_str().unwrap(),
            NodeType::PayoutStatement,
        )
        .unwrap();
        let expected = settled.get(&id).cloned().unwrap_or_default();
        let page = &statement["lines"];
        assert_eq!(page["totalCount"], json!(expected.len()), "{page}");
        assert_eq!(page["pageInfo"]["hasNextPage"], json!(expected.len() > 3));
        let got: Vec<String> = page["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["orderLine"]["id"].as_str().unwrap().to_owned())
            .collect();
        let want: Vec<String> = expected
            .iter()
            .take(3)
            .map(|id| encode(NodeType::OrderLine, *id).to_string())
            .collect();
        assert_eq!(got, want, "lines of statement {id}");
        seen_more |= expected.len() > 3;
    }
    assert!(seen_more, "some statement has more than one page of lines");
}

#[tokio::test]
async fn product_pages_with_their_ledgers_cost_the_same_for_5_and_50_products() {
    let m = market().await;
    // A few ledger lines on the first products (by the manager and the member), none on
    // the others.
    m.deliveries(&m.products[0], 5).await;
    for product in &m.products[1..3] {
        for i in 0..4 {
            let data = m
                .ok(
                    &m.manager,
                    "mutation($i: RecordStockDeliveryInput!) { recordStockDelivery(input: $i) { userErrors { code message } } }",
                    json!({ "i": { "productId": product, "quantity": 10, "note": format!("slip {i}") } }),
                )
                .await;
            assert_eq!(data["recordStockDelivery"]["userErrors"], json!([]));
        }
    }
    let query = r#"query($n: Int!) { products(first: $n) { totalCount pageInfo { hasNextPage endCursor } nodes {
        sku name price { amount } stock { available inStock } isSellable lowStockThreshold
        complianceIssues { code message }
        images { id url alt width height position webp: url(width: 1000, format: WEBP) }
        featuredImage { url(width: 160) }
        cooperative { slug region { code } }
        segment { slug }
        certifications(includeInvalid: true) { type number cooperative { slug } products { sku } }
        stockMovements(first: 3) { totalCount pageInfo { hasNextPage }
            nodes { kind quantityDelta levelAfter note author { name email role } } } } } }"#;
    let rows = |d: &Value| len(&d["products"]["nodes"]);
    same_cost_for_5_and_50(&m.app, Some(&m.manager), "products", query, rows).await;
    // Without the ledger (which only managers and members may read), anyone.
    let public = query.replace(
        "stockMovements(first: 3) { totalCount pageInfo { hasNextPage }\n            nodes { kind quantityDelta levelAfter note author { name email role } } }",
        "",
    );
    assert!(!public.contains("stockMovements"));
    same_cost_for_5_and_50(&m.app, None, "products (public)", &public, rows).await;
    // Each product's first page of ledger lines is the one it has alone.
    let data = m.ok(&m.manager, query, json!({ "n": 50 })).await;
    for product in data["products"]["nodes"].as_array().unwrap() {
        let alone = m
            .ok(
                &m.manager,
                r#"query($sku: String!) { product(sku: $sku) { stockMovements(first: 3) { totalCount pageInfo { hasNextPage }
                    nodes { kind quantityDelta levelAfter note author { name email role } } } } }"#,
                json!({ "sku": product["sku"] }),
            )
            .await;
        assert_eq!(
            product["stockMovements"], alone["product"]["stockMovements"],
            "{}",
            product["sku"]
        );
    }
}

#[tokio::test]
async fn cooperative_pages_with_low_stock_products_cost_the_same_for_5_and_50() {
    let m = market().await;
    let query = r#"query($n: Int!) { cooperatives(first: $n) { nodes {
        slug lowStockProducts(first: 3) { totalCount pageInfo { hasNextPage } nodes { sku stock { available } segment { slug } } } } } }"#;
    let coops = |d: &Value| len(&d["cooperatives"]["nodes"]);
    let total = m
        .app
        .data("{ cooperatives { totalCount } }", json!({}))
        .await["cooperatives"]["totalCount"]
        .as_u64()
        .unwrap();
    if total < 50 {
        for i in 0..(50 - total) {
            fixtures::coop(
                &m.app.db,
                fixtures::NewCoop::new(
                    &format!("Zz low stock cooperative {i}"),
                    solidarity_market::domain::enums::CooperativeKind::Handicrafts,
                    "MA-02",
                ),
            )
            .await;
        }
    }
    // Every product is low in stock under a high threshold.
    m.app
        .execute_sql("UPDATE products SET low_stock_threshold = 1000000")
        .await;
    same_cost_for_5_and_50(&m.app, Some(&m.manager), "lowStockProducts", query, coops).await;
    let data = m.ok(&m.manager, query, json!({ "n": 50 })).await;
    let mut seen = false;
    for coop in data["cooperatives"]["nodes"].as_array().unwrap() {
        let alone = m
            .ok(
                &m.manager,
                r#"query($slug: String!) { cooperative(slug: $slug) { lowStockProducts(first: 3) { totalCount pageInfo { hasNextPage } nodes { sku stock { available } segment { slug } } } } }"#,
                json!({ "slug": coop["slug"] }),
            )
            .await;
        assert_eq!(
            coop["lowStockProducts"],
            alone["cooperative"]["lowStockProducts"]
        );
        seen |= coop["lowStockProducts"]["pageInfo"]["hasNextPage"] == json!(true);
    }
    assert!(
        seen,
        "some cooperative has more than one page of low-stock products"
    );
}

#[tokio::test]
async fn expiring_certification_pages_cost_the_same_for_5_and_50() {
    let app = TestApp::with_demo().await;
    let manager = account(&app.db, "manager@batch.ma", Role::Manager, None).await;
    let coops = cooperative::Entity::find()
        .order_by_asc(cooperative::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let products = market_core::entities::product::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    for i in 0..55_i64 {
        let coop = &coops[i as usize % coops.len()];
        let listed: Vec<_> = products
            .iter()
            .filter(|p| p.cooperative_id == coop.id)
            .take(2)
            .collect();
        fixtures::certify(
            &app.db,
            coop,
            solidarity_market::domain::enums::CertificationType::Organic,
            fixtures::days_from_today(-300),
            Some(fixtures::days_from_today(10 + i)),
            &listed,
        )
        .await;
    }
    let query = r#"query($n: Int!) { expiringCertifications(withinDays: 90, first: $n) { totalCount nodes {
        number type expiresOn isValid coversAllProducts
        cooperative { slug region { code } }
        products { sku segment { slug } cooperative { slug } } } } }"#;
    same_cost_for_5_and_50(&app, Some(&manager), "expiringCertifications", query, |d| {
        len(&d["expiringCertifications"]["nodes"])
    })
    .await;
}

#[tokio::test]
async fn top_product_lists_cost_the_same_for_5_and_50_products() {
    let app = TestApp::with_demo().await;
    let manager = account(&app.db, "manager@batch.ma", Role::Manager, None).await;
    let today = Utc::now().date_naive();
    let query = format!(
        r#"query($n: Int!) {{ topProducts(range: {{ from: "{}", to: "{}" }}, by: VALUE, limit: $n) {{
            rank itemsSold revenue {{ amount }}
            product {{ sku stock {{ available }} cooperative {{ slug region {{ code }} }} segment {{ slug }} }} }} }}"#,
        today - Duration::days(3 * 365),
        today,
    );
    same_cost_for_5_and_50(&app, Some(&manager), "topProducts", &query, |d| {
        len(&d["topProducts"])
    })
    .await;
}
