//! Orders: checkout and in-store sales that never oversell, idempotent replays, the life
//! cycle and its stock effects, who sees which orders, and concurrency over real HTTP.

use crate::fixtures::{self, NewCoop, NewProduct, Portal};
use crate::helpers::{TestApp, error_code, graphql_http};
use serde_json::{Value, json};
use solidarity_market::domain::enums::{CooperativeKind as K, Role};
use solidarity_market::graphql::ids::{NodeType, encode};

fn pid(id: i32) -> String {
    encode(NodeType::Product, id).to_string()
}

const PLACE: &str = r#"mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
    order { id number status channel total { amount } itemCount placedAt
            lines { sku productName quantity unitPrice { amount } total { amount } cooperative { slug } } }
    userErrors { field message code } } }"#;
const STOCK: &str = r#"query($sku: String!) { product(sku: $sku) { stock { available }
    stockMovements(first: 100) { totalCount nodes { kind quantityDelta levelAfter } } } }"#;

/// A portal (certified Terroir cooperative with HON-BGZ-1 × 10, another cooperative, an
/// account of each kind) plus a pottery product of the other cooperative's kind.
async fn shop() -> (TestApp, Portal, i32) {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let safi = fixtures::coop(
        &app.db,
        NewCoop::new("Poterie de Safi", K::Handicrafts, "MA-07"),
    )
    .await;
    let tajine = fixtures::product(
        &app.db,
        &safi,
        NewProduct::new("TAJ-30", "Tajine 30 cm", "pottery", 25000, 5),
    )
    .await;
    (app, p, tajine.id)
}

fn order_input(lines: Value, key: &str) -> Value {
    json!({ "i": { "channel": "ONLINE", "lines": lines, "idempotencyKey": key } })
}

async fn stock_of(app: &TestApp, manager: &str, sku: &str) -> (i64, Value) {
    let data = app
        .graphql_as(Some(manager), STOCK, json!({ "sku": sku }))
        .await;
    let product = data["data"]["product"].clone();
    let level = product["stock"]["available"].as_i64().unwrap();
    let sum: i64 = product["stockMovements"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["quantityDelta"].as_i64().unwrap())
        .sum();
    assert_eq!(
        level, sum,
        "the level equals the sum of its ledger: {product}"
    );
    (level, product)
}

#[tokio::test]
async fn placing_an_order_takes_the_stock_and_snapshots_the_lines() {
    let (app, p, tajine) = shop().await;
    let customer = &p.actors.customer;
    let lines = json!([
        { "productId": pid(p.product.id), "quantity": 2 },
        { "productId": pid(tajine), "quantity": 1 },
        { "productId": pid(p.product.id), "quantity": 1 },
    ]);
    let out = app
        .graphql_as(Some(customer), PLACE, order_input(lines, "k-1"))
        .await;
    let payload = &out["data"]["placeOrder"];
    assert_eq!(payload["userErrors"], json!([]), "{out}");
    let order = &payload["order"];
    assert_eq!(order["status"], "PLACED");
    assert_eq!(order["channel"], "ONLINE");
    assert_eq!(order["total"]["amount"], "520.00", "3 × 90.00 + 250.00");
    assert_eq!(order["itemCount"], 4);
    assert_eq!(
        order["lines"].as_array().unwrap().len(),
        2,
        "repeated products are merged"
    );
    assert_eq!(order["lines"][0]["quantity"], 3);
    assert_eq!(order["lines"][0]["unitPrice"]["amount"], "90.00");
    assert_eq!(order["lines"][0]["cooperative"]["slug"], p.coop.slug);

    let (level, product) = stock_of(&app, &p.actors.manager, "HON-BGZ-1").await;
    assert_eq!(level, 7);
    assert_eq!(
        product["stockMovements"]["nodes"][0],
        json!({ "kind": "SALE", "quantityDelta": -3, "levelAfter": 7 })
    );

    // The snapshot does not move when the product's price changes afterwards.
    let update =
        "mutation($i: UpdateProductInput!) { updateProduct(input: $i) { userErrors { code } } }";
    app.graphql_as(
        Some(&p.actors.manager),
        update,
        json!({ "i": { "id": pid(p.product.id), "price": "99.00" } }),
    )
    .await;
    let mine = app
        .graphql_as(
            Some(customer),
            "{ orders(first: 5) { nodes { total { amount } lines { unitPrice { amount } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine["data"]["orders"]["nodes"][0]["total"]["amount"],
        "520.00"
    );
    assert_eq!(
        mine["data"]["orders"]["nodes"][0]["lines"][0]["unitPrice"]["amount"],
        "90.00"
    );
}

#[tokio::test]
async fn invalid_orders_are_refused_with_codes_and_write_nothing() {
    let (app, p, tajine) = shop().await;
    let customer = &p.actors.customer;
    let honey = pid(p.product.id);
    let unsellable = {
        let coop = fixtures::coop(
            &app.db,
            NewCoop::new("Miel sans ONSSA", K::Terroir, "MA-09"),
        )
        .await;
        fixtures::product(
            &app.db,
            &coop,
            NewProduct::new("HON-NO-1", "Uncertified honey", "honey", 5000, 50),
        )
        .await
    };
    let many: Vec<Value> = (0..101)
        .map(|_| json!({ "productId": honey, "quantity": 1 }))
        .collect();
    let cases = [
        (json!([]), "INVALID_QUANTITY", vec!["input", "lines"]),
        (json!(many), "INVALID_QUANTITY", vec!["input", "lines"]),
        (
            json!([{ "productId": honey, "quantity": 0 }]),
            "INVALID_QUANTITY",
            vec!["input", "lines", "0", "quantity"],
        ),
        (
            json!([{ "productId": honey, "quantity": 1001 }]),
            "INVALID_QUANTITY",
            vec!["input", "lines", "0", "quantity"],
        ),
        (
            json!([{ "productId": honey, "quantity": 600 }, { "productId": honey, "quantity": 600 }]),
            "INVALID_QUANTITY",
            vec!["input", "lines", "0", "quantity"],
        ),
        (
            json!([{ "productId": pid(999_999), "quantity": 1 }]),
            "NOT_FOUND",
            vec!["input", "lines", "0", "productId"],
        ),
        (
            json!([{ "productId": pid(tajine), "quantity": 1 }, { "productId": pid(unsellable.id), "quantity": 1 }]),
            "NOT_SELLABLE",
            vec!["input", "lines", "1", "productId"],
        ),
        (
            json!([{ "productId": pid(tajine), "quantity": 1 }, { "productId": honey, "quantity": 11 }]),
            "OUT_OF_STOCK",
            vec!["input", "lines", "1", "quantity"],
        ),
    ];
    for (n, (lines, code, field)) in cases.into_iter().enumerate() {
        let out = app
            .graphql_as(
                Some(customer),
                PLACE,
                order_input(lines, &format!("bad-{n}")),
            )
            .await;
        let payload = &out["data"]["placeOrder"];
        assert_eq!(payload["order"], Value::Null, "case {n}: {out}");
        assert_eq!(payload["userErrors"][0]["code"], code, "case {n}: {out}");
        assert_eq!(payload["userErrors"][0]["field"], json!(field), "case {n}");
        if code == "OUT_OF_STOCK" {
            assert!(
                payload["userErrors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("Only 10"),
                "{out}"
            );
        }
        if code == "NOT_SELLABLE" {
            assert!(
                payload["userErrors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("ONSSA"),
                "{out}"
            );
        }
    }
    assert_eq!(stock_of(&app, &p.actors.manager, "HON-BGZ-1").await.0, 10);
    assert_eq!(
        stock_of(&app, &p.actors.manager, "TAJ-30").await.0,
        5,
        "no line of a refused order took stock"
    );
    let all = app
        .graphql_as(
            Some(&p.actors.manager),
            "{ orders { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(all["data"]["orders"]["totalCount"], 0);
}

#[tokio::test]
async fn channels_are_restricted_by_role() {
    let (app, p, tajine) = shop().await;
    let line = json!([{ "productId": pid(tajine), "quantity": 1 }]);
    let store =
        |key: &str| json!({ "i": { "channel": "STORE", "lines": line, "idempotencyKey": key } });
    assert_eq!(
        error_code(&app.graphql(PLACE, order_input(line.clone(), "a")).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        error_code(
            &app.graphql_as(Some(&p.actors.customer), PLACE, store("b"))
                .await
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(
            &app.graphql_as(
                Some(&p.actors.own_member),
                PLACE,
                order_input(line.clone(), "c")
            )
            .await
        ),
        "FORBIDDEN"
    );
    let till = app
        .graphql_as(Some(&p.actors.manager), PLACE, store("d"))
        .await;
    assert_eq!(till["data"]["placeOrder"]["order"]["channel"], "STORE");
    let online = app
        .graphql_as(
            Some(&p.actors.manager),
            PLACE,
            order_input(line.clone(), "e"),
        )
        .await;
    assert_eq!(online["data"]["placeOrder"]["order"]["channel"], "ONLINE");
}

#[tokio::test]
async fn replaying_a_key_returns_the_same_order_and_a_different_content_conflicts() {
    let (app, p, tajine) = shop().await;
    let customer = &p.actors.customer;
    let lines = json!([{ "productId": pid(tajine), "quantity": 2 }]);
    let first = app
        .graphql_as(
            Some(customer),
            PLACE,
            order_input(lines.clone(), "same-key"),
        )
        .await;
    let again = app
        .graphql_as(Some(customer), PLACE, order_input(lines, "same-key"))
        .await;
    assert_eq!(
        first["data"]["placeOrder"]["order"]["id"],
        again["data"]["placeOrder"]["order"]["id"]
    );
    assert_eq!(
        stock_of(&app, &p.actors.manager, "TAJ-30").await.0,
        3,
        "the replay took no stock"
    );
    let other = app
        .graphql_as(
            Some(customer),
            PLACE,
            order_input(
                json!([{ "productId": pid(tajine), "quantity": 1 }]),
                "same-key",
            ),
        )
        .await;
    assert_eq!(
        other["data"]["placeOrder"]["userErrors"][0]["code"],
        "IDEMPOTENCY_CONFLICT"
    );
    // Keys belong to their user: the manager may use the same key for another order.
    let manager = app
        .graphql_as(
            Some(&p.actors.manager),
            PLACE,
            order_input(
                json!([{ "productId": pid(tajine), "quantity": 1 }]),
                "same-key",
            ),
        )
        .await;
    assert_eq!(manager["data"]["placeOrder"]["userErrors"], json!([]));
}

const PAY: &str = "mutation($i: MarkOrderPaidInput!) { markOrderPaid(input: $i) { order { status paidAt paymentMethod } userErrors { code message } } }";
const FULFILL: &str = "mutation($i: FulfillOrderInput!) { fulfillOrder(input: $i) { order { status fulfilledAt } userErrors { code } } }";
const CANCEL: &str = "mutation($i: CancelOrderInput!) { cancelOrder(input: $i) { order { status cancelledAt } userErrors { code } } }";
const REFUND: &str = "mutation($i: RefundOrderInput!) { refundOrder(input: $i) { order { status refundedAt } userErrors { code } } }";

async fn place(app: &TestApp, token: &str, product: i32, quantity: i32, key: &str) -> String {
    let out = app
        .graphql_as(
            Some(token),
            PLACE,
            order_input(
                json!([{ "productId": pid(product), "quantity": quantity }]),
                key,
            ),
        )
        .await;
    out["data"]["placeOrder"]["order"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned()
}

/// Applies a transition by name; returns the first user error code, or the new status.
async fn apply(app: &TestApp, manager: &str, order: &str, step: &str) -> String {
    let (query, input) = match step {
        "pay" => (
            PAY,
            json!({ "orderId": order, "method": "CARD", "reference": "slip-1" }),
        ),
        "fulfill" => (FULFILL, json!({ "orderId": order })),
        "cancel" => (
            CANCEL,
            json!({ "orderId": order, "reason": "changed mind" }),
        ),
        "refund" => (
            REFUND,
            json!({ "orderId": order, "restock": true, "reason": "broken" }),
        ),
        "refund-no-restock" => (REFUND, json!({ "orderId": order, "restock": false })),
        _ => unreachable!(),
    };
    let out = app
        .graphql_as(Some(manager), query, json!({ "i": input }))
        .await;
    let payload = out["data"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    match payload["userErrors"][0]["code"].as_str() {
        Some(code) => code.to_owned(),
        None => payload["order"]["status"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn every_transition_is_allowed_or_refused_with_its_stock_effect() {
    let (app, p, tajine) = shop().await;
    let (customer, manager) = (&p.actors.customer, &p.actors.manager);
    // (path of steps, expected outcome of each step, stock of TAJ-30 after: starts at 5, each order takes 1)
    let paths: [(&[&str], &[&str], i64); 11] = [
        (&["pay", "fulfill"], &["PAID", "FULFILLED"], 4),
        (&["cancel"], &["CANCELLED"], 5),
        (&["pay", "cancel"], &["PAID", "CANCELLED"], 5),
        (&["pay", "refund"], &["PAID", "REFUNDED"], 5),
        (
            &["pay", "fulfill", "refund"],
            &["PAID", "FULFILLED", "REFUNDED"],
            5,
        ),
        (
            &["pay", "fulfill", "refund-no-restock"],
            &["PAID", "FULFILLED", "REFUNDED"],
            4,
        ),
        (
            &["fulfill", "refund", "pay"],
            &["INVALID_STATUS", "INVALID_STATUS", "PAID"],
            4,
        ),
        (&["pay", "pay"], &["PAID", "INVALID_STATUS"], 4),
        (
            &["pay", "fulfill", "cancel"],
            &["PAID", "FULFILLED", "INVALID_STATUS"],
            4,
        ),
        (
            &["cancel", "pay", "cancel", "refund"],
            &[
                "CANCELLED",
                "INVALID_STATUS",
                "INVALID_STATUS",
                "INVALID_STATUS",
            ],
            5,
        ),
        (
            &["pay", "refund", "refund", "cancel", "fulfill"],
            &[
                "PAID",
                "REFUNDED",
                "INVALID_STATUS",
                "INVALID_STATUS",
                "INVALID_STATUS",
            ],
            5,
        ),
    ];
    for (n, (steps, expected, stock_after)) in paths.iter().enumerate() {
        let order = place(&app, customer, tajine, 1, &format!("path-{n}")).await;
        for (step, want) in steps.iter().zip(expected.iter()) {
            assert_eq!(
                &apply(&app, manager, &order, step).await,
                want,
                "path {n}: {steps:?}"
            );
        }
        assert_eq!(
            stock_of(&app, manager, "TAJ-30").await.0,
            *stock_after,
            "stock after path {n}: {steps:?}"
        );
        // Reset the level for the next path through the ledger itself.
        let level = stock_of(&app, manager, "TAJ-30").await.0;
        if level != 5 {
            let adjust = "mutation($i: AdjustStockInput!) { adjustStock(input: $i) { userErrors { code } } }";
            app.graphql_as(Some(manager), adjust, json!({ "i": { "productId": pid(tajine), "delta": 5 - level, "reason": "COUNT_CORRECTION" } })).await;
        }
    }
    let history = app
        .graphql_as(Some(manager), r#"query($n: String!) { order(number: $n) { history { fromStatus toStatus actor { role } note } } }"#,
            json!({ "n": app.graphql_as(Some(manager), "{ orders(first: 1, filter: { status: FULFILLED }) { nodes { number } } }", json!({})).await["data"]["orders"]["nodes"][0]["number"] }))
        .await;
    assert_eq!(
        history["data"]["order"]["history"],
        json!([
            { "fromStatus": null, "toStatus": "PLACED", "actor": { "role": "CUSTOMER" }, "note": null },
            { "fromStatus": "PLACED", "toStatus": "PAID", "actor": { "role": "MANAGER" }, "note": "slip-1" },
            { "fromStatus": "PAID", "toStatus": "FULFILLED", "actor": { "role": "MANAGER" }, "note": null },
        ])
    );
    // Only managers move orders.
    let order = place(&app, customer, tajine, 1, "not-yours").await;
    let out = app
        .graphql_as(
            Some(customer),
            PAY,
            json!({ "i": { "orderId": order, "method": "CASH" } }),
        )
        .await;
    assert_eq!(error_code(&out), "FORBIDDEN");
}

#[tokio::test]
async fn stale_unpaid_orders_are_cancelled_in_bulk_returning_their_stock() {
    let (app, p, tajine) = shop().await;
    let (customer, manager) = (&p.actors.customer, &p.actors.manager);
    let stale = place(&app, customer, tajine, 2, "stale").await;
    let paid = place(&app, customer, tajine, 1, "paid").await;
    apply(&app, manager, &paid, "pay").await;
    let fresh = place(&app, customer, tajine, 1, "fresh").await;
    app.execute_sql(
        "UPDATE orders SET placed_at = '2020-01-01 00:00:00+00:00' WHERE idempotency_key IN ('stale', 'paid')",
    )
    .await;
    let out = app
        .graphql_as(
            Some(manager),
            "mutation { cancelStaleOrders { cancelledOrders { id status } userErrors { code } } }",
            json!({}),
        )
        .await;
    let cancelled = &out["data"]["cancelStaleOrders"]["cancelledOrders"];
    assert_eq!(
        cancelled,
        &json!([{ "id": stale, "status": "CANCELLED" }]),
        "{out}"
    );
    assert_eq!(
        stock_of(&app, manager, "TAJ-30").await.0,
        3,
        "5 − 1 paid − 1 fresh"
    );
    let fresh_now = app
        .graphql_as(
            Some(manager),
            "query($id: ID!) { node(id: $id) { ... on Order { status } } }",
            json!({ "id": fresh }),
        )
        .await;
    assert_eq!(fresh_now["data"]["node"]["status"], "PLACED");
    let out = app
        .graphql_as(
            Some(customer),
            "mutation { cancelStaleOrders { cancelledOrders { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&out), "FORBIDDEN");
}

#[tokio::test]
async fn each_viewer_reads_only_the_orders_and_lines_that_concern_them() {
    let (app, p, tajine) = shop().await;
    let customer = &p.actors.customer;
    let other_customer = fixtures::account(&app.db, "other@example.ma", Role::Customer, None).await;
    let mixed = json!([{ "productId": pid(p.product.id), "quantity": 1 }, { "productId": pid(tajine), "quantity": 1 }]);
    app.graphql_as(Some(customer), PLACE, order_input(mixed, "mixed"))
        .await;
    app.graphql_as(
        Some(&other_customer),
        PLACE,
        order_input(
            json!([{ "productId": pid(tajine), "quantity": 1 }]),
            "pottery",
        ),
    )
    .await;

    let list = "{ orders { totalCount nodes { total { amount } itemCount lines { sku } contact { name } } } }";
    let mine = app.graphql_as(Some(customer), list, json!({})).await;
    assert_eq!(mine["data"]["orders"]["totalCount"], 1);
    assert_eq!(
        mine["data"]["orders"]["nodes"][0]["total"]["amount"],
        "340.00"
    );

    let member = app
        .graphql_as(Some(&p.actors.own_member), list, json!({}))
        .await;
    assert_eq!(
        member["data"]["orders"]["totalCount"], 1,
        "only the order holding its honey"
    );
    let seen = &member["data"]["orders"]["nodes"][0];
    assert_eq!(
        seen["lines"],
        json!([{ "sku": "HON-BGZ-1" }]),
        "only its own lines"
    );
    assert_eq!(seen["total"]["amount"], "90.00", "and its own total");
    assert_eq!(seen["itemCount"], 1);
    assert_eq!(seen["contact"], Value::Null, "not the buyer's contact");

    let manager = app
        .graphql_as(Some(&p.actors.manager), list, json!({}))
        .await;
    assert_eq!(manager["data"]["orders"]["totalCount"], 2);
    let filtered = app
        .graphql_as(Some(&p.actors.manager), "query($c: ID!) { orders(filter: { cooperativeId: $c, status: PLACED, channel: ONLINE }) { totalCount } }", json!({ "c": encode(NodeType::Cooperative, p.coop.id) }))
        .await;
    assert_eq!(filtered["data"]["orders"]["totalCount"], 1);
    let today = chrono::Utc::now().date_naive();
    let dated = app
        .graphql_as(Some(&p.actors.manager), "query($from: Date!, $to: Date!) { orders(filter: { from: $from, to: $to }) { totalCount } }",
            json!({ "from": (today - chrono::Duration::days(1)).to_string(), "to": (today + chrono::Duration::days(1)).to_string() }))
        .await;
    assert_eq!(dated["data"]["orders"]["totalCount"], 2);
    let past = app
        .graphql_as(
            Some(&p.actors.manager),
            "{ orders(filter: { from: \"2020-01-01\", to: \"2020-12-31\" }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(past["data"]["orders"]["totalCount"], 0);

    let by_other = app.graphql_as(Some(&other_customer), list, json!({})).await;
    assert_eq!(by_other["data"]["orders"]["totalCount"], 1);
    assert_eq!(
        error_code(&app.graphql(list, json!({})).await),
        "UNAUTHENTICATED"
    );
}

/// Customers racing for the same 10 jars, over real HTTP.
async fn race_for_the_last_jars(app: &TestApp, base_urls: Vec<String>, p: &Portal) {
    let buyers = 100;
    let mut tokens = Vec::new();
    for n in 0..buyers {
        tokens.push(
            fixtures::account(
                &app.db,
                &format!("buyer{n}@example.ma"),
                Role::Customer,
                None,
            )
            .await,
        );
    }
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for (n, token) in tokens.into_iter().enumerate() {
        let (client, url) = (client.clone(), base_urls[n % base_urls.len()].clone());
        let input = order_input(
            json!([{ "productId": pid(p.product.id), "quantity": 1 }]),
            &format!("race-{n}"),
        );
        tasks.push(tokio::spawn(async move {
            graphql_http(&client, &url, Some(&token), PLACE, input).await
        }));
    }
    let (mut sold, mut refused) = (0, 0);
    for task in tasks {
        let out = task.await.unwrap();
        let payload = &out["data"]["placeOrder"];
        if payload["order"].is_object() {
            sold += 1;
        } else {
            assert_eq!(payload["userErrors"][0]["code"], "OUT_OF_STOCK", "{out}");
            refused += 1;
        }
    }
    assert_eq!((sold, refused), (10, 90));
    assert_eq!(stock_of(app, &p.actors.manager, "HON-BGZ-1").await.0, 0);
    let orders = app
        .graphql_as(
            Some(&p.actors.manager),
            "{ orders { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(orders["data"]["orders"]["totalCount"], 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_simultaneous_orders_for_ten_jars_sell_exactly_ten() {
    let (app, p, _) = shop().await;
    let server = app.serve().await;
    race_for_the_last_jars(&app, vec![server.base_url.clone()], &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_server_processes_on_one_database_never_oversell() {
    let (app, p, _) = shop().await;
    let (a, b) = (app.spawn_process().await, app.spawn_process().await);
    race_for_the_last_jars(&app, vec![a.base_url.clone(), b.base_url.clone()], &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_orders_never_deadlock_into_errors() {
    let (app, p, tajine) = shop().await;
    let add = "mutation($i: RecordStockDeliveryInput!) { recordStockDelivery(input: $i) { userErrors { code } } }";
    for product in [p.product.id, tajine] {
        app.graphql_as(
            Some(&p.actors.manager),
            add,
            json!({ "i": { "productId": pid(product), "quantity": 100 } }),
        )
        .await;
    }
    let server = app.serve().await;
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for n in 0..60 {
        let (a, b) = if n % 2 == 0 {
            (p.product.id, tajine)
        } else {
            (tajine, p.product.id)
        };
        let input = order_input(
            json!([{ "productId": pid(a), "quantity": 1 }, { "productId": pid(b), "quantity": 1 }]),
            &format!("overlap-{n}"),
        );
        let (client, url, token) = (
            client.clone(),
            server.base_url.clone(),
            p.actors.customer.clone(),
        );
        tasks.push(tokio::spawn(async move {
            graphql_http(&client, &url, Some(&token), PLACE, input).await
        }));
    }
    for task in tasks {
        let out = task.await.unwrap();
        assert!(
            out.get("errors").is_none(),
            "no error the client cannot act on: {out}"
        );
        assert_eq!(out["data"]["placeOrder"]["userErrors"], json!([]), "{out}");
    }
    assert_eq!(stock_of(&app, &p.actors.manager, "HON-BGZ-1").await.0, 50);
    assert_eq!(stock_of(&app, &p.actors.manager, "TAJ-30").await.0, 45);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replays_of_one_key_create_one_order() {
    let (app, p, tajine) = shop().await;
    let server = app.serve().await;
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let input = order_input(
            json!([{ "productId": pid(tajine), "quantity": 1 }]),
            "one-checkout",
        );
        let (client, url, token) = (
            client.clone(),
            server.base_url.clone(),
            p.actors.customer.clone(),
        );
        tasks.push(tokio::spawn(async move {
            graphql_http(&client, &url, Some(&token), PLACE, input).await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let out = task.await.unwrap();
        ids.insert(
            out["data"]["placeOrder"]["order"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{out}"))
                .to_owned(),
        );
    }
    assert_eq!(ids.len(), 1, "one order for one key");
    assert_eq!(stock_of(&app, &p.actors.manager, "TAJ-30").await.0, 4);
}

/// One number from the database (`SELECT CAST(COUNT(*) AS BIGINT) …`).
async fn scalar(app: &TestApp, sql: &str) -> i64 {
    use sea_orm::ConnectionTrait;
    app.db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .expect("query")
        .expect("a row")
        .try_get_by_index::<i64>(0)
        .expect("a number")
}

/// 32 clients, each placing orders of one to three lines (in any order, one or two units
/// each) over six products that run out: every order takes all its lines or nothing, the
/// levels go down by exactly what the placed orders hold, never below zero, the ledger
/// matches, and each placed order makes one catalog version (not one per line).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_clients_on_six_hot_products_take_all_lines_or_none() {
    let (app, p, tajine) = shop().await;
    let safi = fixtures::coop(
        &app.db,
        NewCoop::new("Poterie de Fès", K::Handicrafts, "MA-03"),
    )
    .await;
    let mut products = vec![(p.product.id, "HON-BGZ-1", 10), (tajine, "TAJ-30", 5)];
    for (sku, stock) in [("HOT-1", 30), ("HOT-2", 20), ("HOT-3", 15)] {
        let made = fixtures::product(
            &app.db,
            &p.coop,
            NewProduct::new(sku, "Hot jar", "honey", 1000, stock),
        )
        .await;
        products.push((made.id, sku, stock));
    }
    let bowl = fixtures::product(
        &app.db,
        &safi,
        NewProduct::new("HOT-4", "Hot bowl", "pottery", 500, 25),
    )
    .await;
    products.push((bowl.id, "HOT-4", 25));
    let versions_before =
        scalar(&app, "SELECT CAST(COUNT(*) AS BIGINT) FROM catalog_changes").await;

    let server = app.serve().await;
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for worker in 0..32usize {
        let (client, url, token) = (
            client.clone(),
            server.base_url.clone(),
            p.actors.customer.clone(),
        );
        let ids: Vec<i32> = products.iter().map(|(id, _, _)| *id).collect();
        tasks.push(tokio::spawn(async move {
            let mut placed: Vec<Vec<(i32, i64)>> = Vec::new();
            let mut refused = 0;
            for n in 0..6usize {
                let seed = worker * 31 + n * 7;
                let count = 1 + seed % 3;
                let lines: Vec<(i32, i64)> = (0..count)
                    .map(|k| (ids[(seed + k * 5) % ids.len()], 1 + ((seed + k) % 2) as i64))
                    .collect();
                let body: Vec<Value> = lines
                    .iter()
                    .map(|(id, q)| json!({ "productId": pid(*id), "quantity": q }))
                    .collect();
                let out = graphql_http(
                    &client,
                    &url,
                    Some(&token),
                    PLACE,
                    order_input(json!(body), &format!("hot-{worker}-{n}")),
                )
                .await;
                assert!(out.get("errors").is_none(), "{out}");
                let payload = &out["data"]["placeOrder"];
                let errors = payload["userErrors"].as_array().expect("userErrors");
                if errors.is_empty() {
                    assert!(payload["order"].is_object(), "{out}");
                    placed.push(lines);
                } else {
                    assert!(errors.iter().all(|e| e["code"] == "OUT_OF_STOCK"), "{out}");
                    assert!(payload["order"].is_null(), "{out}");
                    refused += 1;
                }
            }
            (placed, refused)
        }));
    }
    let mut placed = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let (mut p, r) = task.await.unwrap();
        placed.append(&mut p);
        refused += r;
    }
    assert!(refused > 0, "the products ran out");
    assert!(!placed.is_empty(), "some orders went through");
    for (id, sku, initial) in &products {
        let sold: i64 = placed
            .iter()
            .flatten()
            .filter(|(product, _)| product == id)
            .map(|(_, q)| q)
            .sum();
        let (level, _) = stock_of(&app, &p.actors.manager, sku).await;
        assert_eq!(
            level,
            i64::from(*initial) - sold,
            "{sku}: level after the placed orders"
        );
        assert!(level >= 0);
    }
    let lines: i64 = placed.iter().map(|l| l.len() as i64).sum();
    assert_eq!(
        scalar(&app, "SELECT CAST(COUNT(*) AS BIGINT) FROM orders").await,
        placed.len() as i64,
        "refused orders leave no row"
    );
    assert_eq!(
        scalar(&app, "SELECT CAST(COUNT(*) AS BIGINT) FROM order_lines").await,
        lines,
        "every placed order has all its lines"
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT CAST(COUNT(*) AS BIGINT) FROM stock_movements WHERE kind = 'SALE'"
        )
        .await,
        lines,
        "one movement per line"
    );
    assert_eq!(
        scalar(&app, "SELECT CAST(COUNT(*) AS BIGINT) FROM order_events").await,
        placed.len() as i64,
        "one history line per placed order"
    );
    assert_eq!(
        scalar(&app, "SELECT CAST(COUNT(*) AS BIGINT) FROM catalog_changes").await
            - versions_before,
        placed.len() as i64,
        "one catalog version per placed order"
    );
}

/// A certification that lists some products makes only those sellable; one that expired
/// covers nothing — both read in the one statement that checks an order.
#[tokio::test]
async fn only_the_products_a_valid_certification_lists_can_be_ordered() {
    use solidarity_market::domain::enums::CertificationType as T;
    let (app, p, _) = shop().await;
    let coop = fixtures::coop(
        &app.db,
        NewCoop::new("Coopérative Atlas Safran", K::Terroir, "MA-09"),
    )
    .await;
    let listed = fixtures::product(
        &app.db,
        &coop,
        NewProduct::new("SAF-1", "Saffron 1 g", "honey", 6000, 10),
    )
    .await;
    let unlisted = fixtures::product(
        &app.db,
        &coop,
        NewProduct::new("SAF-5", "Saffron 5 g", "honey", 25000, 10),
    )
    .await;
    let old = fixtures::product(
        &app.db,
        &coop,
        NewProduct::new("SAF-10", "Saffron 10 g", "honey", 45000, 10),
    )
    .await;
    let valid = fixtures::days_from_today(-30);
    fixtures::certify(
        &app.db,
        &coop,
        T::OnssaAuthorization,
        valid,
        None,
        &[&listed],
    )
    .await;
    let expired = Some(fixtures::days_from_today(-1));
    fixtures::certify(&app.db, &coop, T::OnssaApproval, valid, expired, &[&old]).await;
    let order =
        |id: i32, key: &str| order_input(json!([{ "productId": pid(id), "quantity": 1 }]), key);
    let customer = Some(p.actors.customer.as_str());
    let ok = app
        .graphql_as(customer, PLACE, order(listed.id, "saf-1"))
        .await;
    assert_eq!(ok["data"]["placeOrder"]["userErrors"], json!([]), "{ok}");
    for (product, key) in [(unlisted.id, "saf-5"), (old.id, "saf-10")] {
        let out = app.graphql_as(customer, PLACE, order(product, key)).await;
        assert_eq!(
            out["data"]["placeOrder"]["userErrors"][0]["code"], "NOT_SELLABLE",
            "{out}"
        );
    }
}
