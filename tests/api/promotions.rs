//! Seasonal promotions (issue #18) in the storefront and at checkout, on both sides of a
//! promotion's start at midnight in Casablanca.

use crate::fixtures;
use crate::helpers::{TestApp, error_code};
use chrono::{Duration, NaiveDate};
use serde_json::{Value, json};
use solidarity_market::domain::market_time::day_start;
use solidarity_market::graphql::ids::{NodeType, encode};

const TZ: chrono_tz::Tz = chrono_tz::Africa::Casablanca;

const CREATE: &str = r#"mutation($i: CreatePromotionInput!) { createPromotion(input: $i) {
    promotion { id name percentOff marketShare startsAt endsAt target } userErrors { field code message } } }"#;

const PRODUCT: &str = r#"{ product(sku: "HON-BGZ-1") { price { amount }
    promotion { compareAtPrice { amount } price { amount } discount { amount } promotion { name } } } }"#;

const PLACE: &str = r#"mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
    order { total { amount } lines { unitPrice { amount } total { amount } discount { amount } marketFundedDiscount { amount } } }
    userErrors { code message } } }"#;

/// The server's clock pinned at `offset` from midnight on the first day of Ramadan 2027
/// in Casablanca; a promotion of 20 % on the honey from that midnight, half funded by
/// the market. Returns the product as the storefront shows it and an order's first line.
async fn on_the_clock(offset: Duration) -> (Value, Value) {
    let start = day_start(NaiveDate::from_ymd_opt(2027, 2, 8).unwrap(), TZ);
    let app = TestApp::spawn_at(start + offset).await;
    let p = fixtures::portal(&app.db).await;
    let honey = encode(NodeType::Product, p.product.id).to_string();
    let input = json!({ "i": { "name": "Ramadan 2027", "percentOff": "0.20", "target": "PRODUCT",
        "productId": honey, "startsAt": start.to_rfc3339(),
        "endsAt": (start + Duration::days(30)).to_rfc3339(), "marketShare": "0.5" } });
    let by_customer = app
        .graphql_as(Some(&p.actors.customer), CREATE, input.clone())
        .await;
    assert_eq!(error_code(&by_customer), "FORBIDDEN");
    let created = app.graphql_as(Some(&p.actors.manager), CREATE, input).await;
    let promotion = &created["data"]["createPromotion"];
    assert_eq!(promotion["userErrors"], json!([]), "{created}");
    assert_eq!(promotion["promotion"]["percentOff"], "0.2000");
    assert_eq!(promotion["promotion"]["marketShare"], "0.5000");
    let shown = app.data(PRODUCT, json!({})).await["product"].clone();
    let placed = app
        .graphql_as(
            Some(&p.actors.customer),
            PLACE,
            json!({ "i": { "channel": "ONLINE", "idempotencyKey": "ramadan",
                           "lines": [{ "productId": honey, "quantity": 2 }] } }),
        )
        .await;
    let order = &placed["data"]["placeOrder"];
    assert_eq!(order["userErrors"], json!([]), "{placed}");
    (shown, order["order"].clone())
}

#[tokio::test]
async fn a_promotion_starts_at_midnight_in_casablanca() {
    // Ramadan 2027 begins on 8 February; Morocco is then on UTC+0 (not its usual +1):
    // the start is 2027-02-08T00:00Z.
    assert_eq!(
        day_start(NaiveDate::from_ymd_opt(2027, 2, 8).unwrap(), TZ).to_rfc3339(),
        "2027-02-08T00:00:00+00:00"
    );
    let (before, order) = on_the_clock(-Duration::seconds(1)).await;
    assert_eq!(before["price"]["amount"], "90.00");
    assert_eq!(before["promotion"], Value::Null);
    assert_eq!(order["total"]["amount"], "180.00");
    assert_eq!(order["lines"][0]["discount"]["amount"], "0.00");

    let (after, order) = on_the_clock(Duration::zero()).await;
    assert_eq!(
        after["promotion"],
        json!({ "compareAtPrice": { "amount": "90.00" }, "price": { "amount": "72.00" },
                "discount": { "amount": "18.00" }, "promotion": { "name": "Ramadan 2027" } })
    );
    assert_eq!(
        order,
        json!({ "total": { "amount": "144.00" }, "lines": [{ "unitPrice": { "amount": "90.00" },
            "total": { "amount": "144.00" }, "discount": { "amount": "36.00" },
            "marketFundedDiscount": { "amount": "18.00" } }] })
    );
}

#[tokio::test]
async fn a_promotion_is_checked_before_it_is_recorded() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let now = chrono::Utc::now();
    let out = app
        .graphql_as(
            Some(&p.actors.manager),
            CREATE,
            json!({ "i": { "name": "Broken", "percentOff": "1.5", "target": "SEGMENT", "segment": "honey",
                "startsAt": now.to_rfc3339(), "endsAt": (now - Duration::days(1)).to_rfc3339(),
                "marketShare": "2" } }),
        )
        .await;
    let codes: Vec<&str> = out["data"]["createPromotion"]["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("{out}"))
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["INVALID", "INVALID_RANGE", "INVALID"], "{out}");
}

#[tokio::test]
async fn a_promotion_on_a_pack_is_split_among_its_components_to_the_centime() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let safi = fixtures::coop(
        &app.db,
        fixtures::NewCoop::new(
            "Poterie de Safi",
            solidarity_market::domain::enums::CooperativeKind::Handicrafts,
            "MA-07",
        ),
    )
    .await;
    let tajine = fixtures::product(
        &app.db,
        &safi,
        fixtures::NewProduct::new("TAJ-30", "Tajine 30 cm", "pottery", 25_000, 6),
    )
    .await;
    let pid = |id: i32| encode(NodeType::Product, id).to_string();
    let pack = app
        .graphql_as(
            Some(&p.actors.manager),
            crate::packs::CREATE_PACK,
            json!({ "i": { "sku": "GIFT-BGZ", "name": "Gift", "format": "box", "price": "300.00",
                "segment": "honey", "components": [
                    { "productId": pid(p.product.id), "quantity": 2 },
                    { "productId": pid(tajine.id), "quantity": 1 }] } }),
        )
        .await["data"]["createPack"]["product"]["id"]
        .clone();
    let now = chrono::Utc::now();
    let created = app
        .graphql_as(
            Some(&p.actors.manager),
            CREATE,
            json!({ "i": { "name": "Year end", "amountOff": "30.01", "target": "PRODUCT", "productId": pack,
                "startsAt": (now - Duration::days(1)).to_rfc3339(),
                "endsAt": (now + Duration::days(1)).to_rfc3339(), "marketShare": "0" } }),
        )
        .await;
    assert_eq!(
        created["data"]["createPromotion"]["userErrors"],
        json!([]),
        "{created}"
    );
    let placed = app
        .graphql_as(
            Some(&p.actors.customer),
            PLACE,
            json!({ "i": { "channel": "ONLINE", "idempotencyKey": "gift",
                           "lines": [{ "productId": pack, "quantity": 1 }] } }),
        )
        .await;
    let order = &placed["data"]["placeOrder"]["order"];
    assert_eq!(order["total"]["amount"], "269.99", "{placed}");
    // 300.00 and its 30.01 off split 18,000 : 25,000 each: 125.58 + 174.42 and
    // 12.56 + 17.45 (the odd centimes to the largest remainders).
    assert_eq!(
        order["lines"],
        json!([
            { "unitPrice": { "amount": "90.00" }, "total": { "amount": "113.02" },
              "discount": { "amount": "12.56" }, "marketFundedDiscount": { "amount": "0.00" } },
            { "unitPrice": { "amount": "250.00" }, "total": { "amount": "156.97" },
              "discount": { "amount": "17.45" }, "marketFundedDiscount": { "amount": "0.00" } }
        ])
    );
}
