//! Gift packs (issue #18): composed by managers, sold as products whose stock and
//! sellability are their components', taking every component's stock in the order's
//! transaction — never oversold when packs and single products race for the same jars.

use crate::fixtures::{self, NewCoop, NewProduct, Portal};
use crate::helpers::{TestApp, error_code, graphql_http};
use serde_json::{Value, json};
use solidarity_market::domain::enums::{CooperativeKind as K, Role};
use solidarity_market::graphql::ids::{NodeType, encode};

fn pid(id: i32) -> String {
    encode(NodeType::Product, id).to_string()
}

pub(crate) const CREATE_PACK: &str = r#"mutation($i: CreatePackInput!) { createPack(input: $i) {
    product { id sku isPack price { amount } stock { available inStock } isSellable
              packComponents { quantity product { sku } } }
    userErrors { field code message } } }"#;

const PLACE: &str = r#"mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
    order { id number total { amount } itemCount
            lines { sku quantity unitPrice { amount } total { amount } cooperative { slug }
                    pack { sku name quantity unitPrice { amount } total { amount } } } }
    userErrors { field message code } } }"#;

const PRODUCT: &str = r#"query($sku: String!) { product(sku: $sku) { sku isPack isSellable
    stock { available inStock } complianceIssues { code message }
    packComponents { quantity product { sku stock { available } } } } }"#;

/// The portal (certified Terroir honey × 10), a Handicrafts pottery (tajines × 6) and a
/// Cosmetics cooperative without certification (its soap is not sellable).
struct Shop {
    app: TestApp,
    p: Portal,
    tajine: i32,
    soap: i32,
}

async fn shop() -> Shop {
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
        NewProduct::new("TAJ-30", "Tajine 30 cm", "pottery", 25_000, 6),
    )
    .await;
    let soap = fixtures::product(
        &app.db,
        &p.other,
        NewProduct::new("SAV-NOIR", "Black soap", "cosmetics", 3_500, 50),
    )
    .await;
    Shop {
        app,
        p,
        tajine: tajine.id,
        soap: soap.id,
    }
}

fn pack_input(sku: &str, price: &str, components: &[(i32, i32)]) -> Value {
    let components: Vec<Value> = components
        .iter()
        .map(|(id, q)| json!({ "productId": pid(*id), "quantity": q }))
        .collect();
    json!({ "i": { "sku": sku, "name": format!("Gift set {sku}"), "format": "gift box",
                   "price": price, "segment": "honey", "components": components } })
}

async fn create_pack(s: &Shop, sku: &str, price: &str, components: &[(i32, i32)]) -> Value {
    let out = s
        .app
        .graphql_as(
            Some(&s.p.actors.manager),
            CREATE_PACK,
            pack_input(sku, price, components),
        )
        .await;
    assert!(out.get("errors").is_none(), "{out:#}");
    let payload = out["data"]["createPack"].clone();
    assert_eq!(payload["userErrors"], json!([]), "{payload:#}");
    payload["product"].clone()
}

async fn place(app: &TestApp, token: &str, lines: Value, key: &str) -> Value {
    let out = app
        .graphql_as(
            Some(token),
            PLACE,
            json!({ "i": { "channel": "ONLINE", "lines": lines, "idempotencyKey": key } }),
        )
        .await;
    assert!(out.get("errors").is_none(), "{out:#}");
    out["data"]["placeOrder"].clone()
}

#[tokio::test]
async fn a_pack_is_a_product_whose_stock_and_sellability_are_its_components() {
    let s = shop().await;
    // Two jars of honey (10) and one tajine (6) a pack: 5 whole packs in stock.
    let pack = create_pack(
        &s,
        "GIFT-BGZ",
        "300.00",
        &[(s.p.product.id, 2), (s.tajine, 1)],
    )
    .await;
    assert_eq!(pack["isPack"], true);
    assert_eq!(pack["stock"], json!({ "available": 5, "inStock": true }));
    assert_eq!(pack["isSellable"], true);
    assert_eq!(
        pack["packComponents"],
        json!([{ "quantity": 2, "product": { "sku": "HON-BGZ-1" } },
               { "quantity": 1, "product": { "sku": "TAJ-30" } }])
    );
    // The storefront lists it with the products in stock, and finds it by SKU.
    let listed = s
        .app
        .data(
            r#"{ products(first: 50, filter: { inStock: true }) { nodes { sku stock { available } } } }"#,
            json!({}),
        )
        .await;
    let nodes = listed["products"]["nodes"].as_array().unwrap();
    assert!(
        nodes
            .iter()
            .any(|n| n["sku"] == "GIFT-BGZ" && n["stock"]["available"] == 5),
        "{listed}"
    );
    let one = s.app.data(PRODUCT, json!({ "sku": "GIFT-BGZ" })).await;
    assert_eq!(one["product"]["stock"]["available"], 5);

    // A member cannot change it, nor can stock be delivered to it.
    let update = s
        .app
        .graphql_as(
            Some(&s.p.actors.own_member),
            "mutation($i: UpdateProductInput!) { updateProduct(input: $i) { product { sku } } }",
            json!({ "i": { "id": pack["id"], "price": "1.00" } }),
        )
        .await;
    assert_eq!(error_code(&update), "FORBIDDEN");
    let delivery = s
        .app
        .graphql_as(
            Some(&s.p.actors.manager),
            "mutation($i: RecordStockDeliveryInput!) { recordStockDelivery(input: $i) { userErrors { code message } } }",
            json!({ "i": { "productId": pack["id"], "quantity": 3 } }),
        )
        .await;
    assert_eq!(
        delivery["data"]["recordStockDelivery"]["userErrors"][0]["code"], "INVALID",
        "{delivery}"
    );

    // Only managers compose packs; components are single, distinct, existing products.
    let by_member = s
        .app
        .graphql_as(
            Some(&s.p.actors.own_member),
            CREATE_PACK,
            pack_input("GIFT-X", "10.00", &[(s.p.product.id, 1)]),
        )
        .await;
    assert_eq!(error_code(&by_member), "FORBIDDEN");
    let pack_id: i32 =
        solidarity_market::graphql::ids::decode(pack["id"].as_str().unwrap(), NodeType::Product)
            .unwrap();
    let refused = s
        .app
        .graphql_as(
            Some(&s.p.actors.manager),
            CREATE_PACK,
            pack_input(
                "GIFT-Y",
                "10.00",
                &[(pack_id, 1), (s.tajine, 0), (s.tajine, 1)],
            ),
        )
        .await;
    let codes: Vec<&str> = refused["data"]["createPack"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["INVALID", "INVALID_QUANTITY", "DUPLICATE"],
        "{refused}"
    );

    // A pack holding an unsellable component (uncertified soap) is not sellable: it says
    // why, naming the component, is not listed, and cannot be ordered.
    let soapy = create_pack(
        &s,
        "GIFT-SOAP",
        "120.00",
        &[(s.p.product.id, 1), (s.soap, 2)],
    )
    .await;
    assert_eq!(soapy["isSellable"], false);
    let one = s.app.data(PRODUCT, json!({ "sku": "GIFT-SOAP" })).await;
    let issues = one["product"]["complianceIssues"].as_array().unwrap();
    assert_eq!(issues.len(), 1, "{one}");
    assert_eq!(issues[0]["code"], "MISSING_DMP_AUTHORIZATION");
    assert!(
        issues[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("SAV-NOIR: "),
        "{one}"
    );
    let all = s
        .app
        .data(r#"{ products(first: 50) { nodes { sku } } }"#, json!({}))
        .await;
    let skus: Vec<&str> = all["products"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["sku"].as_str().unwrap())
        .collect();
    assert!(
        skus.contains(&"GIFT-BGZ") && !skus.contains(&"GIFT-SOAP"),
        "{skus:?}"
    );
    let order = place(
        &s.app,
        &s.p.actors.customer,
        json!([{ "productId": soapy["id"], "quantity": 1 }]),
        "soapy",
    )
    .await;
    assert_eq!(order["userErrors"][0]["code"], "NOT_SELLABLE", "{order}");
    assert!(
        order["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("SAV-NOIR"),
        "{order}"
    );
}

#[tokio::test]
async fn selling_a_pack_takes_every_components_stock_and_splits_its_revenue() {
    let s = shop().await;
    // Honey 90.00 × 2 and a tajine 250.00: weights 180 and 250; a pack costs 300.00.
    let pack = create_pack(
        &s,
        "GIFT-BGZ",
        "300.00",
        &[(s.p.product.id, 2), (s.tajine, 1)],
    )
    .await;
    let order = place(
        &s.app,
        &s.p.actors.customer,
        json!([{ "productId": pack["id"], "quantity": 2 },
               { "productId": pid(s.p.product.id), "quantity": 1 }]),
        "gift-1",
    )
    .await;
    assert_eq!(order["userErrors"], json!([]), "{order}");
    let o = &order["order"];
    // 2 packs (600.00) and one jar alone (90.00).
    assert_eq!(o["total"]["amount"], "690.00");
    let lines = o["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3, "{o}");
    let pack_lines: Vec<&Value> = lines.iter().filter(|l| l["pack"].is_object()).collect();
    // 60,000 centimes in proportion 18,000 : 25,000 → 25,116.27… and 34,883.72…; the
    // remainder centime goes to the larger remainder (the tajine).
    assert_eq!(
        pack_lines
            .iter()
            .map(|l| (
                l["sku"].as_str().unwrap(),
                l["quantity"].as_i64().unwrap(),
                l["total"]["amount"].as_str().unwrap()
            ))
            .collect::<Vec<_>>(),
        [("HON-BGZ-1", 4, "251.16"), ("TAJ-30", 2, "348.84")]
    );
    for l in &pack_lines {
        assert_eq!(
            l["pack"],
            json!({ "sku": "GIFT-BGZ", "name": "Gift set GIFT-BGZ", "quantity": 2,
                    "unitPrice": { "amount": "300.00" }, "total": { "amount": "600.00" } })
        );
    }
    // The list prices are snapshotted as the lines' unit prices.
    assert_eq!(pack_lines[0]["unitPrice"]["amount"], "90.00");
    assert_eq!(pack_lines[1]["unitPrice"]["amount"], "250.00");
    // Honey: 10 − 4 − 1 = 5; tajines: 6 − 2 = 4; the pack: min(5 / 2, 4 / 1) = 2.
    let one = s.app.data(PRODUCT, json!({ "sku": "GIFT-BGZ" })).await;
    assert_eq!(one["product"]["stock"]["available"], 2, "{one}");
    assert_eq!(
        one["product"]["packComponents"],
        json!([{ "quantity": 2, "product": { "sku": "HON-BGZ-1", "stock": { "available": 5 } } },
               { "quantity": 1, "product": { "sku": "TAJ-30", "stock": { "available": 4 } } }])
    );
    // Each component's ledger has one SALE for the order, of all its units.
    let ledger = s
        .app
        .graphql_as(
            Some(&s.p.actors.manager),
            r#"query($sku: String!) { product(sku: $sku) { stockMovements(first: 10) { nodes { kind quantityDelta levelAfter note } } } }"#,
            json!({ "sku": "HON-BGZ-1" }),
        )
        .await;
    let sales: Vec<&Value> = ledger["data"]["product"]["stockMovements"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "SALE")
        .collect();
    assert_eq!(sales.len(), 1, "{ledger}");
    assert_eq!(sales[0]["quantityDelta"], -5);
    assert_eq!(
        sales[0]["note"],
        format!("Order {}", o["number"].as_str().unwrap())
    );

    // Three packs would need 6 jars: 5 are left.
    let short = place(
        &s.app,
        &s.p.actors.customer,
        json!([{ "productId": pack["id"], "quantity": 3 }]),
        "gift-2",
    )
    .await;
    assert_eq!(short["userErrors"][0]["code"], "OUT_OF_STOCK", "{short}");

    // Cancelling the order gives every component its units back.
    let cancel = s
        .app
        .graphql_as(
            Some(&s.p.actors.manager),
            "mutation($i: CancelOrderInput!) { cancelOrder(input: $i) { userErrors { code } } }",
            json!({ "i": { "orderId": o["id"] } }),
        )
        .await;
    assert_eq!(
        cancel["data"]["cancelOrder"]["userErrors"],
        json!([]),
        "{cancel}"
    );
    let one = s.app.data(PRODUCT, json!({ "sku": "GIFT-BGZ" })).await;
    assert_eq!(one["product"]["stock"]["available"], 5, "{one}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn packs_and_single_jars_racing_for_the_same_jars_never_oversell() {
    let s = shop().await;
    // 10 jars of honey; a pack takes 2 jars and a tajine (6, then 100 more).
    let pack = create_pack(
        &s,
        "GIFT-BGZ",
        "300.00",
        &[(s.p.product.id, 2), (s.tajine, 1)],
    )
    .await;
    s.app
        .graphql_as(
            Some(&s.p.actors.manager),
            "mutation($i: RecordStockDeliveryInput!) { recordStockDelivery(input: $i) { userErrors { code } } }",
            json!({ "i": { "productId": pid(s.tajine), "quantity": 100 } }),
        )
        .await;
    let server = s.app.serve().await;
    let client = reqwest::Client::new();
    let mut tokens = Vec::new();
    for n in 0..30 {
        tokens.push(
            fixtures::account(
                &s.app.db,
                &format!("racer{n}@example.ma"),
                Role::Customer,
                None,
            )
            .await,
        );
    }
    let mut tasks = Vec::new();
    for (n, token) in tokens.into_iter().enumerate() {
        let is_pack = n % 2 == 0;
        let line = if is_pack {
            json!([{ "productId": pack["id"], "quantity": 1 }])
        } else {
            // A jar alone, and the same jar's pack partner (a tajine) alone too.
            json!([{ "productId": pid(s.p.product.id), "quantity": 1 },
                   { "productId": pid(s.tajine), "quantity": 1 }])
        };
        let input = json!({ "i": { "channel": "ONLINE", "lines": line, "idempotencyKey": format!("race-{n}") } });
        let (client, url) = (client.clone(), server.base_url.clone());
        tasks.push(tokio::spawn(async move {
            (
                is_pack,
                graphql_http(&client, &url, Some(&token), PLACE, input).await,
            )
        }));
    }
    let (mut packs, mut singles) = (0, 0);
    for task in tasks {
        let (is_pack, out) = task.await.unwrap();
        assert!(out.get("errors").is_none(), "{out}");
        let payload = &out["data"]["placeOrder"];
        if payload["order"].is_object() {
            if is_pack {
                packs += 1;
            } else {
                singles += 1;
            }
        } else {
            assert_eq!(payload["userErrors"][0]["code"], "OUT_OF_STOCK", "{out}");
        }
    }
    // Every jar is sold, none twice: 2 per pack, 1 per single order.
    assert_eq!(2 * packs + singles, 10, "packs {packs}, singles {singles}");
    let levels = s
        .app
        .graphql_as(
            Some(&s.p.actors.manager),
            r#"query { honey: product(sku: "HON-BGZ-1") { stock { available } stockMovements(first: 100) { nodes { quantityDelta } } }
                       tajine: product(sku: "TAJ-30") { stock { available } stockMovements(first: 100) { nodes { quantityDelta } } }
                       pack: product(sku: "GIFT-BGZ") { stock { available } } }"#,
            json!({}),
        )
        .await;
    let d = &levels["data"];
    assert_eq!(d["honey"]["stock"]["available"], 0, "{levels}");
    assert_eq!(d["tajine"]["stock"]["available"], 106 - packs - singles);
    assert_eq!(d["pack"]["stock"]["available"], 0);
    for p in ["honey", "tajine"] {
        let sum: i64 = d[p]["stockMovements"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["quantityDelta"].as_i64().unwrap())
            .sum();
        assert_eq!(
            d[p]["stock"]["available"].as_i64().unwrap(),
            sum,
            "{p}: level = ledger"
        );
    }
}
