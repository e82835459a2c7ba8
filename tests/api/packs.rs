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

const BY_SEGMENT: &str = r#"query($r: DateRangeInput!, $d: SalesDimension!) {
  salesBySegment(range: $r, dimension: $d, compareWith: NONE) {
    total { revenue { amount } itemsSold orders }
    rows { key revenue { amount } itemsSold orders } } }"#;

const TOP: &str = r#"query($r: DateRangeInput!, $by: ProductRanking!, $packs: Boolean!) {
  topProducts(range: $r, by: $by, limit: 100, includePacks: $packs) {
    rank itemsSold revenue { amount } product { sku isPack } } }"#;

fn cents(v: &Value) -> i64 {
    solidarity_market::graphql::money::to_centimes(v["amount"].as_str().unwrap().parse().unwrap())
        .unwrap()
}

/// (revenue, items, orders) by key.
type Figures = std::collections::BTreeMap<String, (i64, i64, std::collections::BTreeSet<i64>)>;

#[tokio::test]
async fn analytics_see_through_packs_to_the_centime() {
    use market_core::entities::{cooperative, order, order_line, segment};
    use rand::{Rng, SeedableRng};
    use sea_orm::EntityTrait;
    use solidarity_market::domain::enums::CertificationType;
    use std::collections::{BTreeMap, BTreeSet, HashMap};

    let s = shop().await;
    fixtures::certify(
        &s.app.db,
        &s.p.other,
        CertificationType::DmpAuthorization,
        fixtures::days_from_today(-30),
        None,
        &[],
    )
    .await;
    let manager = s.p.actors.manager.clone();
    for id in [s.p.product.id, s.tajine, s.soap] {
        s.app
            .graphql_as(
                Some(&manager),
                "mutation($i: RecordStockDeliveryInput!) { recordStockDelivery(input: $i) { userErrors { code } } }",
                json!({ "i": { "productId": pid(id), "quantity": 5_000 } }),
            )
            .await;
    }
    // Three kinds, three regions, three segments; awkward prices for the remainders.
    let big = create_pack(
        &s,
        "GIFT-BIG",
        "333.33",
        &[(s.p.product.id, 2), (s.tajine, 1), (s.soap, 3)],
    )
    .await;
    let small = create_pack(
        &s,
        "GIFT-SMALL",
        "99.99",
        &[(s.p.product.id, 1), (s.soap, 1)],
    )
    .await;
    let choices = [
        (big["id"].as_str().unwrap().to_owned(), 33_333),
        (small["id"].as_str().unwrap().to_owned(), 9_999),
        (pid(s.p.product.id), 9_000),
        (pid(s.tajine), 25_000),
        (pid(s.soap), 3_500),
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(18);
    // What the shop sold, from the prices alone.
    let mut expected_revenue = 0;
    for n in 0..24 {
        let mut lines = Vec::new();
        let mut total = 0;
        for (id, price) in &choices {
            if rng.gen_bool(0.45) {
                let q: i64 = rng.gen_range(1..=3);
                lines.push(json!({ "productId": id, "quantity": q }));
                total += q * price;
            }
        }
        if lines.is_empty() {
            lines.push(json!({ "productId": choices[0].0, "quantity": 1 }));
            total += choices[0].1;
        }
        let placed = place(
            &s.app,
            &s.p.actors.customer,
            json!(lines),
            &format!("mix-{n}"),
        )
        .await;
        assert_eq!(placed["userErrors"], json!([]), "{placed}");
        let id = placed["order"]["id"].clone();
        assert_eq!(cents(&placed["order"]["total"]), total);
        let fate = rng.gen_range(0..10);
        if fate == 0 {
            continue; // left unpaid: not a sale
        }
        let pay = s
            .app
            .graphql_as(
                Some(&manager),
                "mutation($i: MarkOrderPaidInput!) { markOrderPaid(input: $i) { userErrors { code } } }",
                json!({ "i": { "orderId": id, "method": "CARD" } }),
            )
            .await;
        assert_eq!(
            pay["data"]["markOrderPaid"]["userErrors"],
            json!([]),
            "{pay}"
        );
        if fate == 1 {
            let refund = s
                .app
                .graphql_as(
                    Some(&manager),
                    "mutation($i: RefundOrderInput!) { refundOrder(input: $i) { userErrors { code } } }",
                    json!({ "i": { "orderId": id, "restock": true } }),
                )
                .await;
            assert_eq!(
                refund["data"]["refundOrder"]["userErrors"],
                json!([]),
                "{refund}"
            );
            continue;
        }
        expected_revenue += total;
    }

    // The oracle: the raw lines of the paid orders.
    let live: HashMap<i64, order::Model> = order::Entity::find()
        .all(&s.app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| matches!(o.status.as_str(), "PAID" | "FULFILLED"))
        .map(|o| (o.id, o))
        .collect();
    let lines: Vec<order_line::Model> = order_line::Entity::find()
        .all(&s.app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|l| live.contains_key(&l.order_id))
        .collect();
    let segments: HashMap<i32, String> = segment::Entity::find()
        .all(&s.app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.slug))
        .collect();
    let coops: HashMap<i32, String> = cooperative::Entity::find()
        .all(&s.app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.slug))
        .collect();
    assert_eq!(
        lines.iter().map(|l| l.total_cents).sum::<i64>(),
        expected_revenue,
        "the lines hold exactly what was sold"
    );
    // Each pack line's shares add up to the pack's total, each within a centime of its
    // list-price proportion.
    let mut groups: BTreeMap<(i64, i32), Vec<&order_line::Model>> = BTreeMap::new();
    for l in lines.iter().filter(|l| l.pack_id.is_some()) {
        groups
            .entry((l.order_id, l.pack_id.unwrap()))
            .or_default()
            .push(l);
    }
    assert!(groups.len() > 5, "packs were sold: {}", groups.len());
    for parts in groups.values() {
        let total =
            parts[0].pack_unit_price_cents.unwrap() * i64::from(parts[0].pack_quantity.unwrap());
        assert_eq!(parts.iter().map(|l| l.total_cents).sum::<i64>(), total);
        let weight: i64 = parts
            .iter()
            .map(|l| l.unit_price_cents * i64::from(l.quantity))
            .sum();
        for l in parts {
            let exact = i128::from(total) * i128::from(l.unit_price_cents * i64::from(l.quantity));
            let got = i128::from(l.total_cents) * i128::from(weight);
            assert!((exact - got).abs() < i128::from(weight), "{l:?}");
        }
    }

    let today = solidarity_market::domain::market_time::market_date(
        chrono::Utc::now(),
        chrono_tz::Africa::Casablanca,
    )
    .to_string();
    let range = json!({ "from": today, "to": today });
    for dimension in [
        "PRODUCT_SEGMENT",
        "COOPERATIVE",
        "REGION",
        "COOPERATIVE_KIND",
    ] {
        let mut by_key: Figures = BTreeMap::new();
        for l in &lines {
            let key = match dimension {
                "PRODUCT_SEGMENT" => segments[&l.segment_id].clone(),
                "COOPERATIVE" => coops[&l.cooperative_id].clone(),
                "REGION" => l.region_code.clone(),
                _ => l.kind.as_str().to_owned(),
            };
            let e = by_key.entry(key).or_default();
            e.0 += l.total_cents;
            e.1 += i64::from(l.quantity);
            e.2.insert(l.order_id);
        }
        let data = s
            .app
            .graphql_as(
                Some(&manager),
                BY_SEGMENT,
                json!({ "r": range, "d": dimension }),
            )
            .await;
        let b = &data["data"]["salesBySegment"];
        assert_eq!(
            cents(&b["total"]["revenue"]),
            expected_revenue,
            "{dimension}: {data}"
        );
        let got: BTreeMap<String, (i64, i64, i64)> = b["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["key"].as_str().unwrap().to_owned(),
                    (
                        cents(&r["revenue"]),
                        r["itemsSold"].as_i64().unwrap(),
                        r["orders"].as_i64().unwrap(),
                    ),
                )
            })
            .collect();
        let want: BTreeMap<String, (i64, i64, i64)> = by_key
            .into_iter()
            .map(|(k, (rev, items, orders))| (k, (rev, items, orders.len() as i64)))
            .collect();
        assert_eq!(got, want, "{dimension}");
    }

    // topProducts: through packs by default; packs ranked themselves with `includePacks`.
    let sku_of = |id: i32| -> String {
        lines
            .iter()
            .find(|l| l.product_id == id)
            .map(|l| l.sku.clone())
            .or_else(|| {
                lines
                    .iter()
                    .find(|l| l.pack_id == Some(id))
                    .and_then(|l| l.pack_sku.clone())
            })
            .unwrap()
    };
    for packs in [false, true] {
        let mut per: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
        let mut counted: BTreeSet<(i64, i32)> = BTreeSet::new();
        for l in &lines {
            match l.pack_id {
                Some(pack) if packs => {
                    let e = per.entry(pack).or_default();
                    if counted.insert((l.order_id, pack)) {
                        e.0 += i64::from(l.pack_quantity.unwrap());
                    }
                    e.1 += l.total_cents;
                }
                _ => {
                    let e = per.entry(l.product_id).or_default();
                    e.0 += i64::from(l.quantity);
                    e.1 += l.total_cents;
                }
            }
        }
        let want: BTreeSet<(String, i64, i64)> = per
            .iter()
            .map(|(id, (items, revenue))| (sku_of(*id), *items, *revenue))
            .collect();
        for by in ["VALUE", "VOLUME"] {
            let data = s
                .app
                .graphql_as(
                    Some(&manager),
                    TOP,
                    json!({ "r": range, "by": by, "packs": packs }),
                )
                .await;
            let rows = data["data"]["topProducts"]
                .as_array()
                .unwrap_or_else(|| panic!("{data}"));
            let got: BTreeSet<(String, i64, i64)> = rows
                .iter()
                .map(|r| {
                    (
                        r["product"]["sku"].as_str().unwrap().to_owned(),
                        r["itemsSold"].as_i64().unwrap(),
                        cents(&r["revenue"]),
                    )
                })
                .collect();
            assert_eq!(got, want, "includePacks: {packs}, by {by}");
            assert_eq!(
                rows.iter().any(|r| r["product"]["isPack"] == true),
                packs,
                "{data}"
            );
            // Ranked: by the measure, then the other.
            let key = |r: &Value| {
                let (items, revenue) = (r["itemsSold"].as_i64().unwrap(), cents(&r["revenue"]));
                if by == "VALUE" {
                    (revenue, items)
                } else {
                    (items, revenue)
                }
            };
            assert!(rows.windows(2).all(|w| key(&w[0]) >= key(&w[1])), "{data}");
        }
    }
}
