//! Checkout the way Moroccan shoppers buy (issue #17): address books, delivery methods and
//! their fees, cash on delivery and the delivery states, customers cancelling their own
//! unpaid orders, till sales in one call, and carts that follow the customer.

use crate::fixtures::{self, NewProduct, Portal};
use crate::helpers::{TestApp, error_code, graphql_http};
use serde_json::{Value, json};
use solidarity_market::domain::enums::Role;
use solidarity_market::graphql::ids::{NodeType, encode};

fn pid(id: i32) -> String {
    encode(NodeType::Product, id).to_string()
}

const ORDER: &str = r#"id number status total { amount } subtotal { amount } deliveryFee { amount }
    deliveryMethod { code } shippingAddress { recipient phone city province regionCode }
    deliveryStatus trackingReference paymentMethod contact { email }
    history { fromStatus toStatus deliveryStatus note }"#;

fn place_query() -> String {
    format!(
        "mutation($i: PlaceOrderInput!) {{ placeOrder(input: $i) {{ order {{ {ORDER} }} userErrors {{ field code message }} }} }}"
    )
}

const CASABLANCA: &str = r#"{ "recipient": "Salma Benali", "phone": "06 61 23 45 67",
    "street": "12 rue des Oudayas, apt 3", "city": "Casablanca", "province": "casablanca",
    "regionCode": "MA-06", "postalCode": "20250" }"#;

fn casablanca() -> Value {
    serde_json::from_str(CASABLANCA).unwrap()
}

fn marrakech() -> Value {
    json!({ "recipient": "Omar Idrissi", "phone": "+212 7 00 11 22 33",
        "street": "Derb Sidi Bouloukat 5", "city": "Marrakech", "province": "Marrakech",
        "regionCode": "MA-07" })
}

/// The portal with the honey (90.00 × 10) and a manager, plus the market's delivery
/// methods by code.
async fn market() -> (TestApp, Portal, String, String) {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let methods = app
        .graphql_as(
            Some(&p.actors.manager),
            "{ allDeliveryMethods { id code kind rates { zone { code } fee { amount } } } }",
            json!({}),
        )
        .await;
    let list = methods["data"]["allDeliveryMethods"].as_array().unwrap();
    let id = |code: &str| {
        list.iter().find(|m| m["code"] == code).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (pickup, home) = (id("PICKUP_CASABLANCA"), id("HOME_DELIVERY"));
    (app, p, pickup, home)
}

async fn ok(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let out = app.graphql_as(Some(token), query, variables).await;
    assert!(out.get("errors").is_none(), "unexpected errors: {out:#}");
    out["data"].clone()
}

async fn place(app: &TestApp, token: &str, input: Value) -> Value {
    let data = ok(app, token, &place_query(), json!({ "i": input })).await;
    let payload = &data["placeOrder"];
    assert_eq!(payload["userErrors"], json!([]), "{payload:#}");
    payload["order"].clone()
}

async fn level(app: &TestApp, manager: &str, sku: &str) -> (i64, Vec<Value>) {
    let data = ok(
        app,
        manager,
        "query($s: String!) { product(sku: $s) { stock { available } stockMovements(first: 50) { nodes { kind quantityDelta } } } }",
        json!({ "s": sku }),
    )
    .await;
    (
        data["product"]["stock"]["available"].as_i64().unwrap(),
        data["product"]["stockMovements"]["nodes"]
            .as_array()
            .unwrap()
            .clone(),
    )
}

/// Runs an order mutation as `token`; the payload.
async fn change(app: &TestApp, token: &str, mutation: &str, input: Value) -> Value {
    let mut name = mutation.to_owned();
    name[..1].make_ascii_uppercase();
    let query = format!(
        "mutation($i: {name}Input!) {{ {mutation}(input: $i) {{ order {{ {ORDER} }} userErrors {{ field code message }} }} }}"
    );
    ok(app, token, &query, json!({ "i": input })).await[mutation].clone()
}

#[tokio::test]
async fn an_address_book_keeps_checked_moroccan_addresses_and_a_default() {
    let (app, p, _, _) = market().await;
    let customer = &p.actors.customer;
    let create = r#"mutation($i: CreateAddressInput!) { createAddress(input: $i) {
        address { id isDefault address { recipient phone street city province regionCode postalCode } }
        userErrors { field code } } }"#;
    let first = ok(
        &app,
        customer,
        create,
        json!({ "i": { "address": casablanca() } }),
    )
    .await;
    let first = &first["createAddress"];
    assert_eq!(first["userErrors"], json!([]));
    assert_eq!(
        first["address"]["isDefault"], true,
        "the first is the default"
    );
    assert_eq!(
        first["address"]["address"],
        json!({ "recipient": "Salma Benali", "phone": "+212661234567",
            "street": "12 rue des Oudayas, apt 3", "city": "Casablanca", "province": "Casablanca",
            "regionCode": "MA-06", "postalCode": "20250" }),
        "the phone in international form, the province as the reference spells it"
    );

    let bad = json!({ "recipient": " ", "phone": "+33 6 12 34 56 78", "street": "x",
        "city": "Rabat", "province": "Casablanca", "regionCode": "MA-04", "postalCode": "1000" });
    let refused = ok(&app, customer, create, json!({ "i": { "address": bad } })).await;
    let mut fields: Vec<String> = refused["createAddress"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["field"][2].as_str().unwrap(),
                e["code"].as_str().unwrap()
            )
        })
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "phone:INVALID",
            "postalCode:INVALID",
            "province:NOT_FOUND",
            "recipient:INVALID"
        ],
        "{refused}"
    );

    let second = ok(
        &app,
        customer,
        create,
        json!({ "i": { "address": marrakech(), "makeDefault": true } }),
    )
    .await;
    let second_id = second["createAddress"]["address"]["id"].clone();
    let list = ok(&app, customer, "{ addresses { id isDefault } }", json!({})).await;
    assert_eq!(list["addresses"][0]["id"], second_id, "the default first");
    assert_eq!(list["addresses"][1]["isDefault"], false);

    // Another account sees none of them and cannot change them.
    let other = fixtures::account(&app.db, "other@example.ma", Role::Customer, None).await;
    let theirs = ok(&app, &other, "{ addresses { id } }", json!({})).await;
    assert_eq!(theirs["addresses"], json!([]));
    let delete = "mutation($i: DeleteAddressInput!) { deleteAddress(input: $i) { deletedAddressId userErrors { code } } }";
    let denied = ok(&app, &other, delete, json!({ "i": { "id": second_id } })).await;
    assert_eq!(
        denied["deleteAddress"]["userErrors"][0]["code"],
        "NOT_FOUND"
    );
    let deleted = ok(&app, customer, delete, json!({ "i": { "id": second_id } })).await;
    assert_eq!(deleted["deleteAddress"]["deletedAddressId"], second_id);
    let list = ok(
        &app,
        customer,
        "{ addresses { isDefault address { city } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        list["addresses"],
        json!([{ "isDefault": true, "address": { "city": "Casablanca" } }]),
        "the remaining address became the default"
    );
    assert_eq!(
        error_code(&app.graphql("{ addresses { id } }", json!({})).await),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn delivery_methods_are_priced_by_the_zone_of_the_address() {
    let (app, p, _, _) = market().await;
    let query = r#"query($a: AddressInput) { deliveryMethods(address: $a) {
        method { code kind } zone { code } fee { amount } free: fee(subtotal: "500.00") { amount }
        freeAbove { amount } estimatedDelivery { minDays maxDays } } }"#;
    let options = |address: Value| {
        let app = &app;
        async move {
            let data = app.data(query, json!({ "a": address })).await;
            data["deliveryMethods"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    (
                        o["method"]["code"].as_str().unwrap().to_owned(),
                        o["zone"]["code"].as_str().unwrap().to_owned(),
                        o["fee"]["amount"].as_str().unwrap().to_owned(),
                        o["free"]["amount"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let s = |a: &str, b: &str, c: &str, d: &str| {
        (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned())
    };
    assert_eq!(
        options(casablanca()).await,
        [
            s("PICKUP_CASABLANCA", "MOROCCO", "0.00", "0.00"),
            s("HOME_DELIVERY", "CASABLANCA", "20.00", "0.00"),
        ]
    );
    let settat = json!({ "recipient": "Ali", "phone": "0522123456", "street": "Bd Hassan II",
        "city": "Settat", "province": "Settat", "regionCode": "MA-06" });
    assert_eq!(
        options(settat).await[1],
        s("HOME_DELIVERY", "CASABLANCA_SETTAT", "30.00", "0.00")
    );
    assert_eq!(
        options(marrakech()).await[1],
        s("HOME_DELIVERY", "MOROCCO", "45.00", "0.00")
    );
    assert_eq!(
        options(Value::Null).await,
        [s("PICKUP_CASABLANCA", "MOROCCO", "0.00", "0.00")],
        "without an address only pickup"
    );

    // Managers change the offer; shoppers see it at once, and cannot change it themselves.
    let update = r#"mutation($i: UpdateDeliveryMethodInput!) { updateDeliveryMethod(input: $i) {
        deliveryMethod { active freeAbove { amount } rates { zone { code } fee { amount } } } userErrors { field code } } }"#;
    let methods = ok(
        &app,
        &p.actors.manager,
        "{ allDeliveryMethods { id code } }",
        json!({}),
    )
    .await;
    let home = methods["allDeliveryMethods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["code"] == "HOME_DELIVERY")
        .unwrap()["id"]
        .clone();
    let input = json!({ "i": { "id": home, "clearFreeAbove": true, "rates": [
        { "zoneCode": "CASABLANCA", "fee": "15", "minDays": 1, "maxDays": 1 }] } });
    assert_eq!(
        error_code(
            &app.graphql_as(Some(&p.actors.customer), update, input.clone())
                .await
        ),
        "FORBIDDEN"
    );
    let changed = ok(&app, &p.actors.manager, update, input).await;
    assert_eq!(changed["updateDeliveryMethod"]["userErrors"], json!([]));
    assert_eq!(
        changed["updateDeliveryMethod"]["deliveryMethod"]["freeAbove"],
        Value::Null
    );
    assert_eq!(
        options(casablanca()).await[1],
        s("HOME_DELIVERY", "CASABLANCA", "15.00", "15.00")
    );
    assert_eq!(
        options(marrakech()).await.len(),
        1,
        "Marrakech is not served any more"
    );
    let bad = ok(
        &app,
        &p.actors.manager,
        update,
        json!({ "i": { "id": home, "rates": [{ "zoneCode": "MARS", "fee": "-1", "minDays": 3, "maxDays": 1 }] } }),
    )
    .await;
    let codes: Vec<&str> = bad["updateDeliveryMethod"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["NOT_FOUND"], "{bad}");
}

#[tokio::test]
async fn home_delivery_adds_its_fee_to_the_total_and_pickup_costs_nothing() {
    let (app, p, pickup, home) = market().await;
    let customer = &p.actors.customer;
    let line = json!([{ "productId": pid(p.product.id), "quantity": 2 }]);

    let delivered = place(
        &app,
        customer,
        json!({ "channel": "ONLINE", "lines": line, "idempotencyKey": "home-1",
            "deliveryMethodId": home, "shippingAddress": casablanca() }),
    )
    .await;
    assert_eq!(delivered["subtotal"]["amount"], "180.00");
    assert_eq!(delivered["deliveryFee"]["amount"], "20.00");
    assert_eq!(
        delivered["total"]["amount"], "200.00",
        "the fee is in the total"
    );
    assert_eq!(delivered["deliveryMethod"]["code"], "HOME_DELIVERY");
    assert_eq!(
        delivered["shippingAddress"],
        json!({ "recipient": "Salma Benali", "phone": "+212661234567", "city": "Casablanca",
            "province": "Casablanca", "regionCode": "MA-06" })
    );
    assert_eq!(
        delivered["contact"]["email"], "customer@example.ma",
        "the account's e-mail is the default contact"
    );

    let collected = place(
        &app,
        customer,
        json!({ "channel": "ONLINE", "lines": line, "idempotencyKey": "pickup-1",
            "deliveryMethodId": pickup }),
    )
    .await;
    assert_eq!(collected["deliveryFee"]["amount"], "0.00");
    assert_eq!(
        collected["total"]["amount"], "180.00",
        "pickup costs nothing"
    );
    assert_eq!(collected["shippingAddress"], Value::Null);

    // Free above the threshold (500.00): six jars.
    let big = place(
        &app,
        customer,
        json!({ "channel": "ONLINE", "lines": [{ "productId": pid(p.product.id), "quantity": 6 }],
            "idempotencyKey": "home-big", "deliveryMethodId": home, "shippingAddress": marrakech() }),
    )
    .await;
    assert_eq!(
        (
            big["subtotal"]["amount"].as_str(),
            big["deliveryFee"]["amount"].as_str(),
            big["total"]["amount"].as_str()
        ),
        (Some("540.00"), Some("0.00"), Some("540.00"))
    );

    // A replay answers with the first order; the same key with another address conflicts.
    let replay = place(
        &app,
        customer,
        json!({ "channel": "ONLINE", "lines": line, "idempotencyKey": "home-1",
            "deliveryMethodId": home, "shippingAddress": casablanca() }),
    )
    .await;
    assert_eq!(replay["id"], delivered["id"]);
    let conflict = ok(
        &app,
        customer,
        &place_query(),
        json!({ "i": { "channel": "ONLINE", "lines": line, "idempotencyKey": "home-1",
            "deliveryMethodId": home, "shippingAddress": marrakech() } }),
    )
    .await;
    assert_eq!(
        conflict["placeOrder"]["userErrors"][0]["code"],
        "IDEMPOTENCY_CONFLICT"
    );

    // Home delivery needs an address it serves; nothing is written otherwise.
    let refused = ok(
        &app,
        customer,
        &place_query(),
        json!({ "i": { "channel": "ONLINE", "lines": line, "idempotencyKey": "home-2",
            "deliveryMethodId": home } }),
    )
    .await;
    assert_eq!(
        refused["placeOrder"]["userErrors"][0]["field"],
        json!(["input", "shippingAddress"])
    );
    assert_eq!(
        level(&app, &p.actors.manager, "HON-BGZ-1").await.0,
        0,
        "10 - 2 - 2 - 6"
    );

    // A cooperative member sees its own lines, never the fee.
    let seen = ok(
        &app,
        &p.actors.own_member,
        "query($id: ID!) { order(id: $id) { total { amount } subtotal { amount } deliveryFee { amount } shippingAddress { city } } }",
        json!({ "id": delivered["id"] }),
    )
    .await;
    assert_eq!(
        seen["order"],
        json!({ "total": { "amount": "180.00" }, "subtotal": { "amount": "180.00" },
            "deliveryFee": null, "shippingAddress": null })
    );
}

#[tokio::test]
async fn a_customer_cancels_their_own_unpaid_order_but_not_anothers() {
    let (app, p, _, _) = market().await;
    let customer = &p.actors.customer;
    let other = fixtures::account(&app.db, "other@example.ma", Role::Customer, None).await;
    let line = json!([{ "productId": pid(p.product.id), "quantity": 3 }]);
    let mine = place(
        &app,
        customer,
        json!({ "channel": "ONLINE", "lines": line, "idempotencyKey": "c-1" }),
    )
    .await;
    let theirs = place(
        &app,
        &other,
        json!({ "channel": "ONLINE", "lines": line, "idempotencyKey": "c-2" }),
    )
    .await;
    assert_eq!(level(&app, &p.actors.manager, "HON-BGZ-1").await.0, 4);

    let denied = change(
        &app,
        customer,
        "cancelOrder",
        json!({ "orderId": theirs["id"] }),
    )
    .await;
    assert_eq!(
        denied["userErrors"][0]["code"], "NOT_FOUND",
        "as if it did not exist"
    );
    assert_eq!(level(&app, &p.actors.manager, "HON-BGZ-1").await.0, 4);

    let cancelled = change(
        &app,
        customer,
        "cancelOrder",
        json!({ "orderId": mine["id"], "reason": "Ordered twice" }),
    )
    .await;
    assert_eq!(cancelled["userErrors"], json!([]));
    assert_eq!(cancelled["order"]["status"], "CANCELLED");
    assert_eq!(
        cancelled["order"]["history"][1],
        json!({ "fromStatus": "PLACED", "toStatus": "CANCELLED", "deliveryStatus": null, "note": "Ordered twice" })
    );
    let (stock, movements) = level(&app, &p.actors.manager, "HON-BGZ-1").await;
    assert_eq!(stock, 7, "its stock came back");
    assert_eq!(
        movements[0],
        json!({ "kind": "CANCELLATION", "quantityDelta": 3 })
    );

    // Once paid, only the market can cancel it.
    change(
        &app,
        &p.actors.manager,
        "markOrderPaid",
        json!({ "orderId": theirs["id"], "method": "CARD" }),
    )
    .await;
    let paid = change(
        &app,
        &other,
        "cancelOrder",
        json!({ "orderId": theirs["id"] }),
    )
    .await;
    assert_eq!(paid["userErrors"][0]["code"], "INVALID_STATUS");
    let member = app
        .graphql_as(
            Some(&p.actors.own_member),
            "mutation($i: CancelOrderInput!) { cancelOrder(input: $i) { userErrors { code } } }",
            json!({ "i": { "orderId": theirs["id"] } }),
        )
        .await;
    assert_eq!(error_code(&member), "FORBIDDEN");
}

#[tokio::test]
async fn cash_on_delivery_ships_delivers_and_is_paid_when_the_courier_brings_the_money() {
    let (app, p, pickup, home) = market().await;
    let manager = &p.actors.manager;
    let line = json!([{ "productId": pid(p.product.id), "quantity": 2 }]);
    let order = place(
        &app,
        &p.actors.customer,
        json!({ "channel": "ONLINE", "lines": line, "idempotencyKey": "cod-1",
            "deliveryMethodId": home, "shippingAddress": marrakech() }),
    )
    .await;
    let id = order["id"].clone();

    let shipped = change(
        &app,
        manager,
        "shipOrder",
        json!({ "orderId": id, "trackingReference": "AMANA-123" }),
    )
    .await;
    assert_eq!(shipped["userErrors"], json!([]));
    assert_eq!(
        (
            shipped["order"]["status"].as_str(),
            shipped["order"]["deliveryStatus"].as_str(),
            shipped["order"]["trackingReference"].as_str()
        ),
        (Some("PLACED"), Some("SHIPPED"), Some("AMANA-123")),
        "unpaid until the courier brings the cash"
    );
    let again = change(&app, manager, "shipOrder", json!({ "orderId": id })).await;
    assert_eq!(again["userErrors"][0]["code"], "INVALID_STATUS");
    let cancel = change(&app, manager, "cancelOrder", json!({ "orderId": id })).await;
    assert_eq!(
        cancel["userErrors"][0]["code"], "INVALID_STATUS",
        "{cancel}"
    );
    let by_customer = change(
        &app,
        &p.actors.customer,
        "cancelOrder",
        json!({ "orderId": id }),
    )
    .await;
    assert_eq!(by_customer["userErrors"][0]["code"], "INVALID_STATUS");

    let delivered = change(
        &app,
        manager,
        "markOrderDelivered",
        json!({ "orderId": id }),
    )
    .await;
    assert_eq!(
        (
            delivered["order"]["status"].as_str(),
            delivered["order"]["deliveryStatus"].as_str()
        ),
        (Some("PLACED"), Some("DELIVERED"))
    );
    let paid = change(
        &app,
        manager,
        "markOrderPaid",
        json!({ "orderId": id, "method": "CASH_ON_DELIVERY" }),
    )
    .await;
    assert_eq!(paid["order"]["status"], "FULFILLED", "paid and handed over");
    assert_eq!(paid["order"]["paymentMethod"], "CASH_ON_DELIVERY");
    assert_eq!(
        paid["order"]["history"],
        json!([
            { "fromStatus": null, "toStatus": "PLACED", "deliveryStatus": null, "note": null },
            { "fromStatus": "PLACED", "toStatus": "PLACED", "deliveryStatus": "SHIPPED", "note": "AMANA-123" },
            { "fromStatus": "PLACED", "toStatus": "PLACED", "deliveryStatus": "DELIVERED", "note": null },
            { "fromStatus": "PLACED", "toStatus": "FULFILLED", "deliveryStatus": null, "note": null },
        ])
    );
    // The customer sees where their order stands.
    let seen = ok(
        &app,
        &p.actors.customer,
        "query($id: ID!) { order(id: $id) { status deliveryStatus trackingReference deliveredAt } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(seen["order"]["deliveryStatus"], "DELIVERED");
    assert!(seen["order"]["deliveredAt"].is_string());

    // A pickup is never shipped.
    let collected = place(
        &app,
        &p.actors.customer,
        json!({ "channel": "ONLINE", "lines": line, "idempotencyKey": "cod-2", "deliveryMethodId": pickup }),
    )
    .await;
    let refused = change(
        &app,
        manager,
        "shipOrder",
        json!({ "orderId": collected["id"] }),
    )
    .await;
    assert_eq!(refused["userErrors"][0]["code"], "INVALID_STATUS");
}

#[tokio::test]
async fn a_returned_parcel_puts_its_goods_back_in_stock() {
    let (app, p, _, home) = market().await;
    let manager = &p.actors.manager;
    let order = |key: &str, quantity: i32| {
        json!({ "channel": "ONLINE", "lines": [{ "productId": pid(p.product.id), "quantity": quantity }],
            "idempotencyKey": key, "deliveryMethodId": home, "shippingAddress": casablanca() })
    };
    // Refused at the door (cash on delivery, unpaid): cancelled, restocked.
    let refused = place(&app, &p.actors.customer, order("r-1", 4)).await;
    assert_eq!(level(&app, manager, "HON-BGZ-1").await.0, 6);
    let returned = change(
        &app,
        manager,
        "returnOrder",
        json!({ "orderId": refused["id"] }),
    )
    .await;
    assert_eq!(
        returned["userErrors"][0]["code"], "INVALID_STATUS",
        "not shipped yet: {returned}"
    );
    change(
        &app,
        manager,
        "shipOrder",
        json!({ "orderId": refused["id"] }),
    )
    .await;
    assert_eq!(
        level(&app, manager, "HON-BGZ-1").await.0,
        6,
        "shipping moves no stock"
    );
    let returned = change(
        &app,
        manager,
        "returnOrder",
        json!({ "orderId": refused["id"], "reason": "Refused at the door" }),
    )
    .await;
    assert_eq!(
        (
            returned["order"]["status"].as_str(),
            returned["order"]["deliveryStatus"].as_str()
        ),
        (Some("CANCELLED"), Some("RETURNED"))
    );
    let (stock, movements) = level(&app, manager, "HON-BGZ-1").await;
    assert_eq!(stock, 10);
    assert_eq!(
        movements[0],
        json!({ "kind": "RETURN", "quantityDelta": 4 })
    );

    // Paid, delivered, then sent back: refunded, restocked.
    let prepaid = place(&app, &p.actors.customer, order("r-2", 3)).await;
    change(
        &app,
        manager,
        "markOrderPaid",
        json!({ "orderId": prepaid["id"], "method": "CARD" }),
    )
    .await;
    change(
        &app,
        manager,
        "shipOrder",
        json!({ "orderId": prepaid["id"] }),
    )
    .await;
    let delivered = change(
        &app,
        manager,
        "markOrderDelivered",
        json!({ "orderId": prepaid["id"] }),
    )
    .await;
    assert_eq!(delivered["order"]["status"], "FULFILLED");
    assert_eq!(level(&app, manager, "HON-BGZ-1").await.0, 7);
    let back = change(
        &app,
        manager,
        "returnOrder",
        json!({ "orderId": prepaid["id"] }),
    )
    .await;
    assert_eq!(
        (
            back["order"]["status"].as_str(),
            back["order"]["deliveryStatus"].as_str()
        ),
        (Some("REFUNDED"), Some("RETURNED"))
    );
    assert_eq!(level(&app, manager, "HON-BGZ-1").await.0, 10);
    let twice = change(
        &app,
        manager,
        "returnOrder",
        json!({ "orderId": prepaid["id"] }),
    )
    .await;
    assert_eq!(twice["userErrors"][0]["code"], "INVALID_STATUS");
    assert_eq!(
        level(&app, manager, "HON-BGZ-1").await.0,
        10,
        "returned once only"
    );
}

#[tokio::test]
async fn a_till_sale_is_recorded_and_paid_in_one_call() {
    let (app, p, _, _) = market().await;
    let sale = r#"mutation($i: RecordStoreSaleInput!) { recordStoreSale(input: $i) {
        order { id channel status paymentMethod total { amount } deliveryFee { amount } history { toStatus } }
        userErrors { code } } }"#;
    let input = json!({ "i": { "lines": [{ "productId": pid(p.product.id), "quantity": 2 }],
        "idempotencyKey": "till-1", "paymentMethod": "CASH" } });
    let first = ok(&app, &p.actors.manager, sale, input.clone()).await;
    let order = &first["recordStoreSale"]["order"];
    assert_eq!(
        (
            order["channel"].as_str(),
            order["status"].as_str(),
            order["paymentMethod"].as_str()
        ),
        (Some("STORE"), Some("PAID"), Some("CASH"))
    );
    assert_eq!(order["total"]["amount"], "180.00");
    assert_eq!(
        order["history"],
        json!([{ "toStatus": "PLACED" }, { "toStatus": "PAID" }])
    );
    let replay = ok(&app, &p.actors.manager, sale, input.clone()).await;
    assert_eq!(replay["recordStoreSale"]["order"]["id"], order["id"]);
    assert_eq!(
        level(&app, &p.actors.manager, "HON-BGZ-1").await.0,
        8,
        "taken once"
    );
    assert_eq!(
        error_code(&app.graphql_as(Some(&p.actors.customer), sale, input).await),
        "FORBIDDEN"
    );
    let short = ok(
        &app,
        &p.actors.manager,
        sale,
        json!({ "i": { "lines": [{ "productId": pid(p.product.id), "quantity": 9 }],
            "idempotencyKey": "till-2", "paymentMethod": "CARD" } }),
    )
    .await;
    assert_eq!(
        short["recordStoreSale"]["userErrors"][0]["code"],
        "OUT_OF_STOCK"
    );
}

const CART: &str = r#"id owned totalQuantity subtotal { amount }
    lines { quantity unitPrice { amount } total { amount } available availableQuantity sellable product { sku } }"#;

async fn cart_mutation(app: &TestApp, token: Option<&str>, mutation: &str, input: Value) -> Value {
    let mut name = mutation.to_owned();
    name[..1].make_ascii_uppercase();
    let input_type = match mutation {
        "cartLinesAdd" | "cartLinesUpdate" => "CartLinesInput".to_owned(),
        _ => format!("{name}Input"),
    };
    let query = format!(
        "mutation($i: {input_type}!) {{ {mutation}(input: $i) {{ cart {{ {CART} }} userErrors {{ field code message }} }} }}"
    );
    let out = app.graphql_as(token, &query, json!({ "i": input })).await;
    assert!(out.get("errors").is_none(), "{out:#}");
    out["data"][mutation].clone()
}

#[tokio::test]
async fn an_anonymous_cart_is_merged_into_the_customers_cart_at_sign_in() {
    let (app, p, _, home) = market().await;
    let tajine = fixtures::product(
        &app.db,
        &p.other,
        NewProduct::new("ARG-TGH-1", "Argan oil 100 ml", "argan", 15000, 1),
    )
    .await;
    let honey = pid(p.product.id);
    // The customer's own cart, from another device.
    let own = cart_mutation(
        &app,
        Some(&p.actors.customer),
        "cartCreate",
        json!({ "lines": [{ "productId": honey, "quantity": 1 }] }),
    )
    .await;
    assert_eq!(own["cart"]["owned"], true);

    // Signed out: an anonymous cart.
    let anonymous = cart_mutation(&app, None, "cartCreate", json!({})).await;
    let cart_id = anonymous["cart"]["id"].as_str().unwrap().to_owned();
    assert_eq!(anonymous["cart"]["owned"], false);
    let added = cart_mutation(
        &app,
        None,
        "cartLinesAdd",
        json!({ "cartId": cart_id, "lines": [
        { "productId": honey, "quantity": 2 }, { "productId": pid(tajine.id), "quantity": 2 }] }),
    )
    .await;
    assert_eq!(added["userErrors"], json!([]));
    let lines = &added["cart"]["lines"];
    assert_eq!(
        lines[0],
        json!({ "quantity": 2, "unitPrice": { "amount": "90.00" }, "total": { "amount": "180.00" },
            "available": true, "availableQuantity": 10, "sellable": true, "product": { "sku": "HON-BGZ-1" } })
    );
    assert_eq!(
        (
            lines[1]["available"].as_bool(),
            lines[1]["sellable"].as_bool()
        ),
        (Some(false), Some(false)),
        "one in stock for two wanted; a cosmetic without its DMP authorization: {lines}"
    );
    let updated = cart_mutation(
        &app,
        None,
        "cartLinesUpdate",
        json!({ "cartId": cart_id, "lines": [
        { "productId": honey, "quantity": 3 }] }),
    )
    .await;
    assert_eq!(updated["cart"]["totalQuantity"], 5);
    let removed = cart_mutation(
        &app,
        None,
        "cartLinesRemove",
        json!({ "cartId": cart_id, "productIds": [pid(tajine.id)] }),
    )
    .await;
    assert_eq!(removed["cart"]["subtotal"]["amount"], "270.00");
    let bad = cart_mutation(
        &app,
        None,
        "cartLinesAdd",
        json!({ "cartId": cart_id, "lines": [
        { "productId": honey, "quantity": 0 }] }),
    )
    .await;
    assert_eq!(bad["userErrors"][0]["code"], "INVALID_QUANTITY");

    // Signing in merges it: units summed, the anonymous cart gone.
    let login = r#"mutation($i: LoginInput!) { login(input: $i) { token userErrors { code } } }"#;
    let signed = app
        .data(login, json!({ "i": { "email": "customer@example.ma", "password": "correct horse battery", "cartId": cart_id } }))
        .await;
    let token = signed["login"]["token"].as_str().unwrap().to_owned();
    let mine = ok(&app, &token, &format!("{{ cart {{ {CART} }} }}"), json!({})).await;
    assert_eq!(mine["cart"]["id"], own["cart"]["id"]);
    assert_eq!(mine["cart"]["lines"][0]["quantity"], 4, "1 + 3");
    let gone = app
        .data(
            "query($id: ID!) { cart(id: $id) { id } }",
            json!({ "id": cart_id }),
        )
        .await;
    assert_eq!(gone["cart"], Value::Null);
    let others = app
        .graphql_as(
            None,
            "query($id: ID!) { cart(id: $id) { id } }",
            json!({ "id": mine["cart"]["id"] }),
        )
        .await;
    assert_eq!(
        others["data"]["cart"],
        Value::Null,
        "a customer's cart is theirs only"
    );

    // Checking out places the order and empties the cart; the key replays it.
    let checkout = format!(
        "mutation($i: CheckoutCompleteInput!) {{ checkoutComplete(input: $i) {{ order {{ {ORDER} }} userErrors {{ field code message }} }} }}"
    );
    let input = json!({ "i": { "cartId": mine["cart"]["id"], "idempotencyKey": "cart-1",
        "deliveryMethodId": home, "shippingAddress": casablanca() } });
    let done = ok(&app, &token, &checkout, input.clone()).await;
    let order = &done["checkoutComplete"]["order"];
    assert_eq!(done["checkoutComplete"]["userErrors"], json!([]));
    assert_eq!(
        order["total"]["amount"], "380.00",
        "4 × 90.00 + 20.00 delivery"
    );
    assert_eq!(level(&app, &p.actors.manager, "HON-BGZ-1").await.0, 6);
    let again = ok(&app, &token, &checkout, input).await;
    assert_eq!(again["checkoutComplete"]["order"]["id"], order["id"]);
    let empty = ok(&app, &token, "{ cart { id } }", json!({})).await;
    assert_eq!(empty["cart"], Value::Null);
}

#[tokio::test]
async fn carts_expire_when_abandoned() {
    let (app, p, _, _) = market().await;
    let cart = cart_mutation(
        &app,
        None,
        "cartCreate",
        json!({ "lines": [{ "productId": pid(p.product.id), "quantity": 1 }] }),
    )
    .await;
    let id = cart["cart"]["id"].as_str().unwrap().to_owned();
    app.execute_sql("UPDATE carts SET updated_at = '2020-01-01 00:00:00+00:00'")
        .await;
    let found = app
        .data(
            "query($id: ID!) { cart(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(found["cart"], Value::Null, "expired carts are not found");
    let expire = "mutation { expireCarts { deleted userErrors { code } } }";
    let out = ok(&app, &p.actors.manager, expire, json!({})).await;
    assert_eq!(out["expireCarts"]["deleted"], 1);
    assert_eq!(
        error_code(
            &app.graphql_as(Some(&p.actors.customer), expire, json!({}))
                .await
        ),
        "FORBIDDEN"
    );
}

/// Two customers, each with the last jar in their cart, check out at the same moment over
/// real HTTP: one order, one `OUT_OF_STOCK`, the stock at zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_carts_racing_for_the_last_jar_make_one_order() {
    let (app, p, _, _) = market().await;
    app.execute_sql(&format!(
        "UPDATE products SET stock = 1 WHERE id = {}",
        p.product.id
    ))
    .await;
    let server = app.serve().await;
    for round in 0..5 {
        if round > 0 {
            // Put the jar back for the next round (a delivery through the ledger).
            let delivered = ok(
                &app,
                &p.actors.manager,
                "mutation($i: RecordStockDeliveryInput!) { recordStockDelivery(input: $i) { userErrors { code } } }",
                json!({ "i": { "productId": pid(p.product.id), "quantity": 1 } }),
            )
            .await;
            assert_eq!(
                delivered["recordStockDelivery"]["userErrors"],
                json!([]),
                "{delivered}"
            );
        }
        let mut buyers = Vec::new();
        for n in 0..2 {
            let token = fixtures::account(
                &app.db,
                &format!("racer{round}-{n}@example.ma"),
                Role::Customer,
                None,
            )
            .await;
            let cart = cart_mutation(
                &app,
                Some(&token),
                "cartCreate",
                json!({ "lines": [{ "productId": pid(p.product.id), "quantity": 1 }] }),
            )
            .await;
            buyers.push((token, cart["cart"]["id"].as_str().unwrap().to_owned()));
        }
        let client = reqwest::Client::new();
        let tasks: Vec<_> = buyers
            .into_iter()
            .enumerate()
            .map(|(n, (token, cart))| {
                let (client, url) = (client.clone(), server.base_url.clone());
                tokio::spawn(async move {
                    graphql_http(
                        &client,
                        &url,
                        Some(&token),
                        "mutation($i: CheckoutCompleteInput!) { checkoutComplete(input: $i) { order { id } userErrors { code } } }",
                        json!({ "i": { "cartId": cart, "idempotencyKey": format!("race-{round}-{n}") } }),
                    )
                    .await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            let out = task.await.unwrap();
            let payload = &out["data"]["checkoutComplete"];
            outcomes.push(if payload["order"].is_object() {
                "ORDER".to_owned()
            } else {
                payload["userErrors"][0]["code"]
                    .as_str()
                    .unwrap_or("?")
                    .to_owned()
            });
        }
        outcomes.sort();
        assert_eq!(outcomes, ["ORDER", "OUT_OF_STOCK"], "round {round}");
        assert_eq!(level(&app, &p.actors.manager, "HON-BGZ-1").await.0, 0);
    }
}

#[tokio::test]
async fn an_anonymous_cart_becomes_the_customers_when_they_have_none_and_reserves_nothing() {
    let (app, p, _, _) = market().await;
    let anonymous = cart_mutation(
        &app,
        None,
        "cartCreate",
        json!({ "lines": [{ "productId": pid(p.product.id), "quantity": 10 }] }),
    )
    .await;
    let cart_id = anonymous["cart"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        level(&app, &p.actors.manager, "HON-BGZ-1").await.0,
        10,
        "a cart holds no stock"
    );
    let login = r#"mutation($i: LoginInput!) { login(input: $i) { token } }"#;
    let signed = app
        .data(
            login,
            json!({ "i": { "email": "customer@example.ma", "password": "correct horse battery", "cartId": cart_id } }),
        )
        .await;
    let token = signed["login"]["token"].as_str().unwrap().to_owned();
    let mine = ok(
        &app,
        &token,
        "{ cart { id owned totalQuantity } }",
        json!({}),
    )
    .await;
    assert_eq!(
        mine["cart"],
        json!({ "id": cart_id, "owned": true, "totalQuantity": 10 })
    );
    let anonymous_now = app
        .data(
            "query($id: ID!) { cart(id: $id) { id } }",
            json!({ "id": cart_id }),
        )
        .await;
    assert_eq!(
        anonymous_now["cart"],
        Value::Null,
        "only its customer reaches it now"
    );
}
