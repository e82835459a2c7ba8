//! The cooperative portal and the back office: products, stock ledger, cooperatives, and
//! the authorization matrix of every mutation against every kind of viewer.

use crate::fixtures::{self, Portal};
use crate::helpers::{TestApp, error_code};
use serde_json::{Value, json};
use solidarity_market::graphql::ids::{NodeType, encode};

fn gid(t: NodeType, id: i32) -> String {
    encode(t, id).to_string()
}

/// What each kind of viewer must get from an operation.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Allowed,
    Unauthenticated,
    Forbidden,
    NotFound,
}
use Expect::*;

/// Portal operations: allowed to the product's members and managers.
const PORTAL: [Expect; 5] = [Unauthenticated, Forbidden, Allowed, Forbidden, Allowed];
/// Back-office operations: managers only.
const BACKOFFICE: [Expect; 5] = [Unauthenticated, Forbidden, Forbidden, Forbidden, Allowed];
/// A cooperative's private reads (payout statements, sales): its members and managers;
/// customers are `FORBIDDEN` as well.
const COOPERATIVE_PRIVATE: [Expect; 5] = [Unauthenticated, Forbidden, Allowed, Forbidden, Allowed];

fn actors(p: &Portal) -> [(&'static str, Option<String>); 5] {
    [
        ("anonymous", None),
        ("customer", Some(p.actors.customer.clone())),
        (
            "member of the product's cooperative",
            Some(p.actors.own_member.clone()),
        ),
        (
            "member of another cooperative",
            Some(p.actors.other_member.clone()),
        ),
        ("manager", Some(p.actors.manager.clone())),
    ]
}

/// The operations of the matrix sent as multipart requests, with a file.
const UPLOADS: [&str; 2] = ["addProductImage", "setCooperativeImage"];

/// The variables of an operation for the n-th actor (so creations do not collide).
type Vars = Box<dyn Fn(usize) -> Value>;

#[tokio::test]
async fn every_mutation_and_private_query_obeys_the_authorization_matrix() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let product = gid(NodeType::Product, p.product.id);
    let coop = gid(NodeType::Cooperative, p.coop.id);
    let other = gid(NodeType::Cooperative, p.other.id);
    // A photo per actor (the removal matrix removes its own), added by a manager.
    let mut photos = Vec::new();
    for n in 0..5 {
        let out = app
            .upload_as(
                Some(&p.actors.manager),
                "mutation($i: AddProductImageInput!) { addProductImage(input: $i) { image { id } } }",
                json!({ "i": { "productId": product, "file": null, "alt": format!("photo {n}") } }),
                "variables.i.file",
                &crate::images::jpeg(8 + n, 8),
            )
            .await;
        photos.push(
            out["data"]["addProductImage"]["image"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{out}"))
                .to_owned(),
        );
    }
    // (name, expectations, query, variables per actor index)
    let cases: Vec<(&str, [Expect; 5], &str, Vars)> = vec![
        (
            "createProduct",
            PORTAL,
            "mutation($i: CreateProductInput!) { createProduct(input: $i) { product { sku } userErrors { code } } }",
            Box::new({
                let coop = coop.clone();
                move |n| json!({ "i": { "cooperativeId": coop, "sku": format!("NEW-{n}"), "name": "Walnuts", "format": "500 g bag", "price": "60.00", "segment": "honey" } })
            }),
        ),
        (
            "updateProduct",
            PORTAL,
            "mutation($i: UpdateProductInput!) { updateProduct(input: $i) { product { sku } userErrors { code } } }",
            Box::new({
                let product = product.clone();
                move |n| json!({ "i": { "id": product, "name": format!("Thyme honey {n}") } })
            }),
        ),
        (
            "recordStockDelivery",
            PORTAL,
            "mutation($i: RecordStockDeliveryInput!) { recordStockDelivery(input: $i) { stockMovement { levelAfter } userErrors { code } } }",
            Box::new({
                let product = product.clone();
                move |_| json!({ "i": { "productId": product, "quantity": 3 } })
            }),
        ),
        (
            "adjustStock",
            PORTAL,
            "mutation($i: AdjustStockInput!) { adjustStock(input: $i) { stockMovement { levelAfter } userErrors { code } } }",
            Box::new({
                let product = product.clone();
                move |_| json!({ "i": { "productId": product, "delta": -1, "reason": "DAMAGED" } })
            }),
        ),
        (
            "Product.stockMovements",
            PORTAL,
            "query($id: ID!) { node(id: $id) { ... on Product { stockMovements(first: 5) { totalCount } } } }",
            Box::new({
                let product = product.clone();
                move |_| json!({ "id": product })
            }),
        ),
        (
            "createCooperative",
            BACKOFFICE,
            "mutation($i: CreateCooperativeInput!) { createCooperative(input: $i) { cooperative { slug } userErrors { code } } }",
            Box::new(
                |n| json!({ "i": { "name": format!("Coopérative Nouvelle {n}"), "kind": "HANDICRAFTS", "region": "MA-07" } }),
            ),
        ),
        (
            "updateCooperative",
            BACKOFFICE,
            "mutation($i: UpdateCooperativeInput!) { updateCooperative(input: $i) { cooperative { slug } userErrors { code } } }",
            Box::new({
                let other = other.clone();
                move |n| json!({ "i": { "id": other, "memberCount": 30 + n } })
            }),
        ),
        (
            "setCooperativeStatus",
            BACKOFFICE,
            "mutation($i: SetCooperativeStatusInput!) { setCooperativeStatus(input: $i) { cooperative { status } userErrors { code } } }",
            Box::new({
                let other = other.clone();
                move |_| json!({ "i": { "id": other, "status": "LISTED" } })
            }),
        ),
        (
            "createUser",
            BACKOFFICE,
            "mutation($i: CreateUserInput!) { createUser(input: $i) { user { role } userErrors { code } } }",
            Box::new(
                |n| json!({ "i": { "email": format!("staff{n}@market.ma"), "password": "a long passphrase", "name": "Staff", "role": "MANAGER" } }),
            ),
        ),
        (
            "myCooperative",
            [Unauthenticated, Forbidden, Allowed, Allowed, Forbidden],
            "{ myCooperative { slug } }",
            Box::new(|_| json!({})),
        ),
        (
            // `Viewer::require_product_editor`: managers learn an unknown product is unknown.
            "updateProduct of an unknown product",
            [Unauthenticated, Forbidden, Forbidden, Forbidden, NotFound],
            "mutation($i: UpdateProductInput!) { updateProduct(input: $i) { product { sku } userErrors { code } } }",
            Box::new(
                |_| json!({ "i": { "id": gid(NodeType::Product, 999_999), "name": "Nothing" } }),
            ),
        ),
        (
            // `Viewer::require_order_channel`
            "placeOrder ONLINE",
            [Unauthenticated, Allowed, Forbidden, Forbidden, Allowed],
            "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { number } userErrors { code } } }",
            Box::new({
                let product = product.clone();
                move |n| json!({ "i": { "channel": "ONLINE", "idempotencyKey": format!("matrix-online-{n}"), "lines": [{ "productId": product, "quantity": 1 }] } })
            }),
        ),
        (
            "placeOrder STORE",
            BACKOFFICE,
            "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { number } userErrors { code } } }",
            Box::new({
                let product = product.clone();
                move |n| json!({ "i": { "channel": "STORE", "idempotencyKey": format!("matrix-store-{n}"), "lines": [{ "productId": product, "quantity": 1 }] } })
            }),
        ),
        (
            // `Viewer::require_unsellable_listing`
            "products(includeUnsellable) of a cooperative",
            PORTAL,
            "query($c: ID!) { products(first: 5, filter: { cooperativeId: $c, includeUnsellable: true }) { totalCount } }",
            Box::new({
                let coop = coop.clone();
                move |_| json!({ "c": coop })
            }),
        ),
        (
            "products(includeUnsellable) of every cooperative",
            BACKOFFICE,
            "{ products(first: 5, filter: { includeUnsellable: true }) { totalCount } }",
            Box::new(|_| json!({})),
        ),
        (
            // `Viewer::order_scope`
            "orders",
            [Unauthenticated, Allowed, Allowed, Allowed, Allowed],
            "{ orders(first: 5) { totalCount } }",
            Box::new(|_| json!({})),
        ),
        (
            // `Viewer::statement_scope_for`
            "payoutStatements of a cooperative",
            COOPERATIVE_PRIVATE,
            "query($c: ID!) { payoutStatements(first: 5, filter: { cooperativeId: $c }) { totalCount } }",
            Box::new({
                let coop = coop.clone();
                move |_| json!({ "c": coop })
            }),
        ),
        (
            // `Viewer::statement_scope`: a member's list is its own cooperative's.
            "payoutStatements",
            [Unauthenticated, Forbidden, Allowed, Allowed, Allowed],
            "{ payoutStatements(first: 5) { totalCount } }",
            Box::new(|_| json!({})),
        ),
        (
            // `Viewer::sales_scope_for`
            "topProducts of a cooperative",
            COOPERATIVE_PRIVATE,
            "query($c: ID!) { topProducts(range: { from: \"2025-01-01\", to: \"2025-01-31\" }, by: VOLUME, filter: { cooperativeId: $c }) { rank } }",
            Box::new({
                let coop = coop.clone();
                move |_| json!({ "c": coop })
            }),
        ),
        (
            // `Viewer::sales_scope`
            "topProducts",
            [Unauthenticated, Forbidden, Allowed, Allowed, Allowed],
            "{ topProducts(range: { from: \"2025-01-01\", to: \"2025-01-31\" }, by: VALUE) { rank } }",
            Box::new(|_| json!({})),
        ),
        (
            // `Viewer::require_translation_editor`
            "setTranslation of a product",
            PORTAL,
            "mutation($i: SetTranslationInput!) { setTranslation(input: $i) { translation { name } userErrors { code } } }",
            Box::new({
                let product = product.clone();
                move |n| json!({ "i": { "id": product, "language": "fr", "name": format!("Miel de thym {n}") } })
            }),
        ),
        (
            "removeTranslation of a product",
            PORTAL,
            "mutation($i: RemoveTranslationInput!) { removeTranslation(input: $i) { removed userErrors { code } } }",
            Box::new({
                let product = product.clone();
                move |_| json!({ "i": { "id": product, "language": "fr" } })
            }),
        ),
        (
            "setTranslation of a cooperative",
            PORTAL,
            "mutation($i: SetTranslationInput!) { setTranslation(input: $i) { translation { name } userErrors { code } } }",
            Box::new({
                let coop = coop.clone();
                move |_| json!({ "i": { "id": coop, "language": "ar", "name": "تعاونية أيت بوكماز" } })
            }),
        ),
        (
            "setTranslation of a segment",
            BACKOFFICE,
            "mutation($i: SetTranslationInput!) { setTranslation(input: $i) { translation { name } userErrors { code } } }",
            Box::new({
                let segment = gid(NodeType::Segment, p.product.segment_id);
                move |_| json!({ "i": { "id": segment, "language": "fr", "name": "Miel" } })
            }),
        ),
        (
            "removeTranslation of a region",
            BACKOFFICE,
            "mutation($i: RemoveTranslationInput!) { removeTranslation(input: $i) { removed userErrors { code } } }",
            Box::new(
                |_| json!({ "i": { "id": encode(NodeType::Region, "MA-05").to_string(), "language": "ar" } }),
            ),
        ),
        (
            "setTranslation of an unknown product",
            [Unauthenticated, Forbidden, Forbidden, Forbidden, NotFound],
            "mutation($i: SetTranslationInput!) { setTranslation(input: $i) { translation { name } userErrors { code } } }",
            Box::new(
                |_| json!({ "i": { "id": gid(NodeType::Product, 999_999), "language": "fr", "name": "Rien" } }),
            ),
        ),
        (
            // `Viewer::require_product_image_editor`
            "reorderProductImages",
            PORTAL,
            "mutation($i: ReorderProductImagesInput!) { reorderProductImages(input: $i) { product { sku } userErrors { code } } }",
            Box::new({
                let (product, photos) = (product.clone(), photos.clone());
                move |_| json!({ "i": { "productId": product, "imageIds": photos.iter().rev().collect::<Vec<_>>() } })
            }),
        ),
        (
            "updateProductImage",
            PORTAL,
            "mutation($i: UpdateProductImageInput!) { updateProductImage(input: $i) { product { sku } userErrors { code } } }",
            Box::new({
                let photos = photos.clone();
                move |n| json!({ "i": { "id": photos[n], "alt": format!("alt {n}"), "position": 0 } })
            }),
        ),
        (
            "removeProductImage",
            PORTAL,
            "mutation($i: RemoveProductImageInput!) { removeProductImage(input: $i) { product { sku } userErrors { code } } }",
            Box::new({
                let photos = photos.clone();
                move |n| json!({ "i": { "id": photos[n] } })
            }),
        ),
        (
            // (sent as a multipart request)
            "addProductImage",
            PORTAL,
            "mutation($i: AddProductImageInput!) { addProductImage(input: $i) { image { id } userErrors { code } } }",
            Box::new({
                let product = product.clone();
                move |_| json!({ "i": { "productId": product, "file": null, "alt": "a jar" } })
            }),
        ),
        (
            // `Viewer::require_cooperative_image_editor` (sent as a multipart request)
            "setCooperativeImage",
            PORTAL,
            "mutation($i: SetCooperativeImageInput!) { setCooperativeImage(input: $i) { cooperative { slug } userErrors { code } } }",
            Box::new({
                let coop = coop.clone();
                move |_| json!({ "i": { "cooperativeId": coop, "role": "LOGO", "file": null } })
            }),
        ),
        (
            "removeCooperativeImage",
            PORTAL,
            "mutation($i: RemoveCooperativeImageInput!) { removeCooperativeImage(input: $i) { cooperative { slug } userErrors { code } } }",
            Box::new({
                let coop = coop.clone();
                move |_| json!({ "i": { "cooperativeId": coop, "role": "COVER" } })
            }),
        ),
        (
            "logout",
            [Unauthenticated, Allowed, Allowed, Allowed, Allowed],
            "mutation { logout { revoked } }",
            Box::new(|_| json!({})),
        ),
    ];
    for (name, expectations, query, vars) in &cases {
        for (n, ((who, token), expected)) in actors(&p).into_iter().zip(expectations).enumerate() {
            if *name == "logout" && token.is_some() {
                continue; // checked last, so the matrix's tokens stay valid
            }
            let response = if UPLOADS.contains(name) {
                let file = crate::images::jpeg(16, 16);
                app.upload_as(token.as_deref(), query, vars(n), "variables.i.file", &file)
                    .await
            } else {
                app.graphql_as(token.as_deref(), query, vars(n)).await
            };
            let got = match response.get("errors") {
                None => Allowed,
                Some(_) => match error_code(&response) {
                    "UNAUTHENTICATED" => Unauthenticated,
                    "FORBIDDEN" => Forbidden,
                    "NOT_FOUND" => NotFound,
                    other => panic!("{name} as {who}: unexpected {other}: {response}"),
                },
            };
            assert_eq!(got, *expected, "{name} as {who}: {response}");
            if got == Allowed {
                let data = &response["data"];
                let payload = data.as_object().unwrap().values().next().unwrap();
                assert!(
                    payload.get("userErrors").is_none_or(|e| e == &json!([])),
                    "{name} as {who} should succeed: {response}"
                );
            }
        }
    }
    for (who, token) in actors(&p).into_iter().skip(1) {
        let out = app
            .graphql_as(
                token.as_deref(),
                "mutation { logout { revoked } }",
                json!({}),
            )
            .await;
        assert_eq!(out["data"]["logout"]["revoked"], true, "logout as {who}");
    }
}

/// What each kind of viewer must see of a private value: `Shown`, or `Hidden` (`null`,
/// or the whole object refused or invisible).
const fn visible(v: [bool; 5]) -> [bool; 5] {
    v
}
/// Managers and the cooperative's own members.
const COOPERATIVE_EYES: [bool; 5] = visible([false, false, true, false, true]);
/// Managers and the buyer.
const BUYER_EYES: [bool; 5] = visible([false, true, false, false, true]);

#[tokio::test]
async fn every_private_value_obeys_the_visibility_matrix() {
    use crate::fixtures::{NewProduct, certify, days_from_today};
    use market_core::entities::payout_statement;
    use sea_orm::{ActiveModelTrait, Set};
    use solidarity_market::domain::enums::{CertificationType, PayoutStatus};
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let a = &p.actors;
    // An order of the customer holding a product of each cooperative, paid by a manager
    // with a reference.
    let argan = fixtures::product(
        &app.db,
        &p.other,
        NewProduct::new("ARG-MATRIX", "Argan oil", "cosmetics", 12_000, 5),
    )
    .await;
    // Its certification covers the argan oil only: the rose water cannot be sold.
    certify(
        &app.db,
        &p.other,
        CertificationType::DmpAuthorization,
        days_from_today(-30),
        None,
        &[&argan],
    )
    .await;
    fixtures::product(
        &app.db,
        &p.other,
        NewProduct::new("ROSE-MATRIX", "Rose water", "cosmetics", 4_000, 5),
    )
    .await;
    let placed = app
        .graphql_as(
            Some(&a.customer),
            "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { id } userErrors { code message } } }",
            json!({ "i": { "channel": "ONLINE", "idempotencyKey": "visibility", "lines": [
                { "productId": gid(NodeType::Product, p.product.id), "quantity": 1 },
                { "productId": gid(NodeType::Product, argan.id), "quantity": 1 }] } }),
        )
        .await;
    let order = placed["data"]["placeOrder"]["order"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{placed}"))
        .to_owned();
    let paid = app
        .graphql_as(
            Some(&a.manager),
            "mutation($i: MarkOrderPaidInput!) { markOrderPaid(input: $i) { userErrors { code } } }",
            json!({ "i": { "orderId": order, "method": "CARD", "reference": "slip 1" } }),
        )
        .await;
    assert_eq!(
        paid["data"]["markOrderPaid"]["userErrors"],
        json!([]),
        "{paid}"
    );
    // A ledger line recorded by the cooperative's member, the latest one.
    let delivered = app
        .graphql_as(
            Some(&a.own_member),
            DELIVER,
            json!({ "i": { "productId": gid(NodeType::Product, p.product.id), "quantity": 2, "note": "by mule" } }),
        )
        .await;
    assert_eq!(
        delivered["data"]["recordStockDelivery"]["userErrors"],
        json!([])
    );
    let statement = payout_statement::ActiveModel {
        cooperative_id: Set(p.coop.id),
        period_start: Set(fixtures::ymd(2025, 1, 1)),
        period_end: Set(fixtures::ymd(2025, 1, 31)),
        gross_cents: Set(0),
        commission_cents: Set(0),
        refund_adjustment_cents: Set(0),
        carried_in_cents: Set(0),
        net_cents: Set(0),
        due_on: Set(fixtures::ymd(2025, 3, 2)),
        status: Set(PayoutStatus::Due),
        paid_on: Set(None),
        bank_reference: Set(None),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let statement = gid(NodeType::PayoutStatement, statement.id);
    let product = gid(NodeType::Product, p.product.id);
    let coop = gid(NodeType::Cooperative, p.coop.id);
    let other = gid(NodeType::Cooperative, p.other.id);
    let ledger = "query($id: ID!) { node(id: $id) { ... on Product { stockMovements(first: 1) { nodes { note author { name email } } } } } }";
    let of_order = "query($id: ID!) { node(id: $id) { ... on Order { customer { email } lines { sku } history { actor { name } note } } } }";
    // (policy function, expectations, query, node ID, JSON pointer of the value)
    let cases: Vec<(&str, [bool; 5], &str, &str, &str)> = vec![
        (
            "sees_cooperative_private_details: Cooperative.commissionRate",
            COOPERATIVE_EYES,
            "query($id: ID!) { node(id: $id) { ... on Cooperative { commissionRate } } }",
            &coop,
            "/node/commissionRate",
        ),
        (
            "sees_cooperative_private_details: Product.lowStockThreshold",
            COOPERATIVE_EYES,
            "query($id: ID!) { node(id: $id) { ... on Product { lowStockThreshold } } }",
            &product,
            "/node/lowStockThreshold",
        ),
        (
            // `other` lists a sellable argan oil and an unsellable rose water.
            "sees_unsellable_products_of: Cooperative.products",
            visible([false, false, false, true, true]),
            "query($id: ID!) { node(id: $id) { ... on Cooperative { products(first: 5) { nodes { sku } } } } }",
            &other,
            "/node/products/nodes/1/sku",
        ),
        (
            "order_scope and sees_buyer_details: Order.customer",
            BUYER_EYES,
            of_order,
            &order,
            "/node/customer/email",
        ),
        (
            "order_scope: the order holds a line of each cooperative",
            visible([false, true, true, true, true]),
            of_order,
            &order,
            "/node/lines/0/sku",
        ),
        (
            "order_lines_of_cooperative: a member sees only its own line",
            BUYER_EYES,
            of_order,
            &order,
            "/node/lines/1/sku",
        ),
        (
            "sees_order_event_actor: OrderEvent.actor",
            BUYER_EYES,
            of_order,
            &order,
            "/node/history/0/actor/name",
        ),
        (
            "sees_order_event_note: OrderEvent.note",
            BUYER_EYES,
            of_order,
            &order,
            "/node/history/1/note",
        ),
        (
            "sees_ledger_details: StockMovement.author",
            COOPERATIVE_EYES,
            ledger,
            &product,
            "/node/stockMovements/nodes/0/author/name",
        ),
        (
            "sees_ledger_details: StockMovement.note",
            COOPERATIVE_EYES,
            ledger,
            &product,
            "/node/stockMovements/nodes/0/note",
        ),
        (
            "sees_account_email: User.email of a ledger author",
            visible([false, false, true, false, true]),
            ledger,
            &product,
            "/node/stockMovements/nodes/0/author/email",
        ),
        (
            "sees_statement_of: node(id:) of a payout statement",
            COOPERATIVE_EYES,
            "query($id: ID!) { node(id: $id) { ... on PayoutStatement { number } } }",
            &statement,
            "/node/number",
        ),
    ];
    for (name, expectations, query, id, pointer) in &cases {
        for ((who, token), shown) in actors(&p).into_iter().zip(expectations) {
            let response = app
                .graphql_as(token.as_deref(), query, json!({ "id": id }))
                .await;
            if response.get("errors").is_some() {
                let code = error_code(&response);
                assert!(
                    matches!(code, "UNAUTHENTICATED" | "FORBIDDEN"),
                    "{name} as {who}: {response}"
                );
            }
            let value = response["data"].pointer(pointer).unwrap_or(&Value::Null);
            assert_eq!(!value.is_null(), *shown, "{name} as {who}: {response}");
        }
    }
}

const DELIVER: &str = "mutation($i: RecordStockDeliveryInput!) { recordStockDelivery(input: $i) { stockMovement { kind quantityDelta levelAfter note } userErrors { code field message } } }";
const ADJUST: &str = "mutation($i: AdjustStockInput!) { adjustStock(input: $i) { stockMovement { kind quantityDelta levelAfter reason } userErrors { code field message } } }";
const LEDGER: &str = r#"query($sku: String!) { product(sku: $sku) { stock { available } stockMovements(first: 100) { totalCount
    nodes { kind quantityDelta levelAfter reason note author { name email } } } } }"#;

async fn ledger(app: &TestApp, token: &str, sku: &str) -> Value {
    app.graphql_as(Some(token), LEDGER, json!({ "sku": sku }))
        .await["data"]["product"]
        .clone()
}

fn assert_level_is_sum_of_ledger(product: &Value) {
    let sum: i64 = product["stockMovements"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["quantityDelta"].as_i64().unwrap())
        .sum();
    assert_eq!(
        product["stock"]["available"].as_i64().unwrap(),
        sum,
        "level = sum of ledger: {product}"
    );
}

#[tokio::test]
async fn deliveries_and_adjustments_move_stock_through_the_ledger_never_below_zero() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let member = &p.actors.own_member;
    let product = gid(NodeType::Product, p.product.id);

    let out = app
        .graphql_as(
            Some(member),
            DELIVER,
            json!({ "i": { "productId": product, "quantity": 25, "note": "slip 42" } }),
        )
        .await;
    assert_eq!(
        out["data"]["recordStockDelivery"]["stockMovement"],
        json!({ "kind": "DELIVERY", "quantityDelta": 25, "levelAfter": 35, "note": "slip 42" })
    );
    let out = app
        .graphql_as(
            Some(member),
            ADJUST,
            json!({ "i": { "productId": product, "delta": -5, "reason": "DAMAGED" } }),
        )
        .await;
    assert_eq!(
        out["data"]["adjustStock"]["stockMovement"]["levelAfter"],
        30
    );

    let refused = app
        .graphql_as(
            Some(member),
            ADJUST,
            json!({ "i": { "productId": product, "delta": -31, "reason": "COUNT_CORRECTION" } }),
        )
        .await;
    let payload = &refused["data"]["adjustStock"];
    assert_eq!(payload["stockMovement"], Value::Null);
    assert_eq!(payload["userErrors"][0]["code"], "INSUFFICIENT_STOCK");
    assert!(
        payload["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("30")
    );
    for bad in [json!({ "quantity": 0 }), json!({ "quantity": -3 })] {
        let mut input = bad.clone();
        input["productId"] = json!(product);
        let out = app
            .graphql_as(Some(member), DELIVER, json!({ "i": input }))
            .await;
        assert_eq!(
            out["data"]["recordStockDelivery"]["userErrors"][0]["code"],
            "INVALID_QUANTITY"
        );
    }

    let product_now = ledger(&app, member, "HON-BGZ-1").await;
    assert_eq!(
        product_now["stock"]["available"], 30,
        "refusals changed nothing"
    );
    assert_eq!(product_now["stockMovements"]["totalCount"], 3);
    let newest = &product_now["stockMovements"]["nodes"][0];
    assert_eq!(newest["kind"], "ADJUSTMENT");
    assert_eq!(newest["reason"], "DAMAGED");
    assert_eq!(
        newest["author"]["email"], "member@bouguemez.ma",
        "a user sees their own e-mail"
    );
    assert_level_is_sum_of_ledger(&product_now);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_and_adjustments_lose_no_update() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let product = gid(NodeType::Product, p.product.id);
    let tokens = [p.actors.own_member.clone(), p.actors.manager.clone()];
    let mut tasks = Vec::new();
    for n in 0..40 {
        let router = app.router.clone();
        let token = tokens[n % 2].clone();
        let (query, input) = if n % 4 == 3 {
            (
                ADJUST,
                json!({ "productId": product, "delta": -1, "reason": "COUNT_CORRECTION" }),
            )
        } else {
            (DELIVER, json!({ "productId": product, "quantity": 2 }))
        };
        tasks.push(tokio::spawn(async move {
            crate::helpers::graphql_on(router, Some(&token), query, json!({ "i": input })).await
        }));
    }
    for task in tasks {
        let response = task.await.unwrap();
        assert!(response.get("errors").is_none(), "{response}");
    }
    // 10 + 30 deliveries × 2 − 10 adjustments × 1
    let product_now = ledger(&app, &p.actors.manager, "HON-BGZ-1").await;
    assert_eq!(product_now["stock"]["available"], 60);
    assert_eq!(product_now["stockMovements"]["totalCount"], 41);
    assert_level_is_sum_of_ledger(&product_now);
}

const CREATE_PRODUCT: &str = "mutation($i: CreateProductInput!) { createProduct(input: $i) { product { sku name price { amount } stock { available } isSellable segment { slug } } userErrors { code field } } }";

#[tokio::test]
async fn products_are_created_and_updated_with_coded_errors_and_nothing_half_written() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let member = &p.actors.own_member;
    let coop = gid(NodeType::Cooperative, p.coop.id);
    let input = |sku: &str, price: &str, segment: &str| json!({ "i": { "cooperativeId": coop, "sku": sku, "name": "Walnut kernels", "format": "250 g bag", "price": price, "segment": segment } });

    let out = app
        .graphql_as(
            Some(member),
            CREATE_PRODUCT,
            input("wal-bgz-2", "45.5", "honey"),
        )
        .await;
    let created = &out["data"]["createProduct"];
    assert_eq!(created["userErrors"], json!([]));
    assert_eq!(created["product"]["sku"], "WAL-BGZ-2");
    assert_eq!(created["product"]["price"]["amount"], "45.50");
    assert_eq!(
        created["product"]["stock"]["available"], 0,
        "stock only arrives by delivery"
    );
    assert_eq!(
        created["product"]["isSellable"], true,
        "covered by the cooperative's ONSSA authorization"
    );

    for (sku, price, segment, code, field) in [
        ("WAL-BGZ-2", "45.00", "honey", "DUPLICATE", "sku"),
        ("WAL-BGZ-3", "45.001", "honey", "INVALID_AMOUNT", "price"),
        ("WAL-BGZ-3", "-1", "honey", "INVALID_AMOUNT", "price"),
        (
            "WAL-BGZ-3",
            "45.00",
            "pottery",
            "SEGMENT_KIND_MISMATCH",
            "segment",
        ),
        (
            "WAL-BGZ-3",
            "45.00",
            "no-such-segment",
            "NOT_FOUND",
            "segment",
        ),
        ("a b", "45.00", "honey", "INVALID", "sku"),
    ] {
        let out = app
            .graphql_as(Some(member), CREATE_PRODUCT, input(sku, price, segment))
            .await;
        let payload = &out["data"]["createProduct"];
        assert_eq!(payload["product"], Value::Null, "{sku} {price} {segment}");
        assert_eq!(payload["userErrors"][0]["code"], code, "{out}");
        assert_eq!(payload["userErrors"][0]["field"], json!(["input", field]));
    }
    let count = app
        .graphql_as(
            Some(member),
            "{ myCooperative { products(first: 50) { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        count["data"]["myCooperative"]["products"]["totalCount"], 2,
        "only the valid product was written"
    );

    let update = "mutation($i: UpdateProductInput!) { updateProduct(input: $i) { product { name active isSellable complianceIssues { code } } userErrors { code } } }";
    let product = gid(NodeType::Product, p.product.id);
    let out = app
        .graphql_as(
            Some(member),
            update,
            json!({ "i": { "id": product, "active": false, "name": "Thyme honey (new harvest)" } }),
        )
        .await;
    let updated = &out["data"]["updateProduct"]["product"];
    assert_eq!(updated["name"], "Thyme honey (new harvest)");
    assert_eq!(updated["isSellable"], false);
    assert_eq!(
        updated["complianceIssues"],
        json!([{ "code": "PRODUCT_INACTIVE" }])
    );
}

#[tokio::test]
async fn my_cooperative_shows_all_products_and_those_running_low() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    fixtures::product(
        &app.db,
        &p.coop,
        fixtures::NewProduct::new("HON-BGZ-2", "Lavender honey", "honey", 9500, 2),
    )
    .await;
    fixtures::product(
        &app.db,
        &p.coop,
        fixtures::NewProduct {
            active: false,
            ..fixtures::NewProduct::new("HON-BGZ-3", "Old honey", "honey", 9500, 50)
        },
    )
    .await;
    let query = "{ myCooperative { slug products(first: 10) { totalCount } lowStockProducts(first: 10) { nodes { sku stock { available } lowStockThreshold } } } }";
    let out = app
        .graphql_as(Some(&p.actors.own_member), query, json!({}))
        .await;
    let coop = &out["data"]["myCooperative"];
    assert_eq!(coop["slug"], p.coop.slug);
    assert_eq!(
        coop["products"]["totalCount"], 3,
        "a member sees its unsellable products too"
    );
    assert_eq!(
        coop["lowStockProducts"]["nodes"],
        json!([{ "sku": "HON-BGZ-2", "stock": { "available": 2 }, "lowStockThreshold": 5 }])
    );
    let public = app.graphql(r#"query($s: String!) { cooperative(slug: $s) { products(first: 10) { totalCount } } }"#, json!({ "s": p.coop.slug })).await;
    assert_eq!(
        public["data"]["cooperative"]["products"]["totalCount"], 2,
        "the public sees sellable products only"
    );
}

#[tokio::test]
async fn managers_onboard_cooperatives_and_suspension_stops_sales() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let manager = &p.actors.manager;
    let create = "mutation($i: CreateCooperativeInput!) { createCooperative(input: $i) { cooperative { id slug name status kind region { code } province commissionRate payoutAccount listedSince } userErrors { code field } } }";
    let out = app
        .graphql_as(Some(manager), create, json!({ "i": { "name": "Coopérative Tissage de Taznakht", "kind": "HANDICRAFTS", "region": "MA-08", "province": "ouarzazate", "commissionRate": "0.12", "payoutAccount": "0117 8000 0012 3456 7890 1234" } }))
        .await;
    let coop = &out["data"]["createCooperative"]["cooperative"];
    assert_eq!(coop["slug"], "cooperative-tissage-de-taznakht");
    assert_eq!(coop["status"], "INCUBATED");
    assert_eq!(coop["province"], "Ouarzazate");
    assert_eq!(coop["commissionRate"], "0.1200");
    assert_eq!(coop["payoutAccount"], "011780000012345678901234");

    let bad = app
        .graphql_as(Some(manager), create, json!({ "i": { "name": "Coopérative Tissage de Taznakht", "kind": "HANDICRAFTS", "region": "MA-99", "payoutAccount": "123", "commissionRate": "1.5" } }))
        .await;
    let mut errors: Vec<(String, String)> = bad["data"]["createCooperative"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"][1].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    errors.sort();
    let expected = [
        ("commissionRate", "INVALID"),
        ("payoutAccount", "INVALID"),
        ("region", "NOT_FOUND"),
        ("slug", "DUPLICATE"),
    ];
    assert_eq!(
        errors,
        expected.map(|(f, c)| (f.to_owned(), c.to_owned())),
        "every problem at once: {bad}"
    );
    assert_eq!(bad["data"]["createCooperative"]["cooperative"], Value::Null);

    let status = "mutation($i: SetCooperativeStatusInput!) { setCooperativeStatus(input: $i) { cooperative { status } } }";
    let coop_id = gid(NodeType::Cooperative, p.coop.id);
    let is_sellable = r#"{ product(sku: "HON-BGZ-1") { isSellable complianceIssues { code } } }"#;
    assert_eq!(
        app.data(is_sellable, json!({})).await["product"]["isSellable"],
        true
    );
    app.graphql_as(
        Some(manager),
        status,
        json!({ "i": { "id": coop_id, "status": "SUSPENDED" } }),
    )
    .await;
    let product = app.data(is_sellable, json!({})).await;
    assert_eq!(
        product["product"]["complianceIssues"],
        json!([{ "code": "COOPERATIVE_SUSPENDED" }])
    );
    app.graphql_as(
        Some(manager),
        status,
        json!({ "i": { "id": coop_id, "status": "LISTED" } }),
    )
    .await;
    assert_eq!(
        app.data(is_sellable, json!({})).await["product"]["isSellable"],
        true
    );

    let update = "mutation($i: UpdateCooperativeInput!) { updateCooperative(input: $i) { cooperative { commissionRate memberCount } userErrors { code } } }";
    let out = app
        .graphql_as(
            Some(manager),
            update,
            json!({ "i": { "id": coop_id, "commissionRate": null, "memberCount": 42 } }),
        )
        .await;
    assert_eq!(
        out["data"]["updateCooperative"]["cooperative"],
        json!({ "commissionRate": "0.1500", "memberCount": 42 })
    );
}

/// What each viewer sees of other people on orders and ledger lines (issue 12, item 6):
/// a member sees its own lines, totals and the changes of status, but no buyer (name,
/// contact, account, payment reference, note), nobody who changed the status and none of
/// their notes; on its products' ledger, the authors and notes of its own cooperative's
/// members only. Managers see everything, the buyer its own order.
#[tokio::test]
async fn a_member_sees_no_buyer_and_no_other_peoples_notes_or_names() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let product = gid(NodeType::Product, p.product.id);
    // The buyer's order, with a contact and a note; the manager records the payment (a
    // slip reference) and a refund with a private note; a manager and the member both
    // write on the ledger.
    let placed = app
        .graphql_as(
            Some(&p.actors.customer),
            "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { id } userErrors { code } } }",
            json!({ "i": { "channel": "ONLINE", "idempotencyKey": "privacy-1", "note": "leave it with the neighbour",
                           "contact": { "name": "Nadia Buyer", "email": "nadia@example.ma", "phone": "+212 600 111 222" },
                           "lines": [{ "productId": product, "quantity": 2 }] } }),
        )
        .await;
    let order = placed["data"]["placeOrder"]["order"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{placed}"))
        .to_owned();
    for (query, input) in [
        (
            "mutation($i: MarkOrderPaidInput!) { markOrderPaid(input: $i) { userErrors { code } } }",
            json!({ "orderId": order, "method": "CARD", "reference": "SLIP-4411" }),
        ),
        (
            "mutation($i: RefundOrderInput!) { refundOrder(input: $i) { userErrors { code } } }",
            json!({ "orderId": order, "restock": true, "reason": "fraud suspected: stolen card" }),
        ),
        (
            "mutation($i: RecordStockDeliveryInput!) { recordStockDelivery(input: $i) { userErrors { code } } }",
            json!({ "productId": product, "quantity": 5, "note": "manager's own note" }),
        ),
    ] {
        let out = app
            .graphql_as(Some(&p.actors.manager), query, json!({ "i": input }))
            .await;
        assert!(out.get("errors").is_none(), "{out}");
    }
    let out = app
        .graphql_as(
            Some(&p.actors.own_member),
            "mutation($i: AdjustStockInput!) { adjustStock(input: $i) { userErrors { code } } }",
            json!({ "i": { "productId": product, "delta": -1, "reason": "DAMAGED", "note": "jar cracked" } }),
        )
        .await;
    assert!(out.get("errors").is_none(), "{out}");

    const ORDERS: &str = r#"{ orders(first: 10) { nodes {
        customer { name } contact { name email phone } note paymentReference
        history { toStatus note actor { name email } } } } }"#;
    const LEDGER: &str = r#"query($id: ID!) { node(id: $id) { ... on Product {
        stockMovements(first: 20) { nodes { kind note author { name } } } } } }"#;

    // The member.
    let seen = app
        .graphql_as(Some(&p.actors.own_member), ORDERS, json!({}))
        .await;
    let text = seen.to_string();
    for secret in [
        "Nadia",
        "nadia@",
        "SLIP-4411",
        "fraud",
        "neighbour",
        "customer@example.ma",
        "manager@market.ma",
    ] {
        assert!(!text.contains(secret), "a member reads {secret:?}: {text}");
    }
    let node = &seen["data"]["orders"]["nodes"][0];
    assert_eq!(
        node["history"],
        json!([
            { "toStatus": "PLACED", "note": null, "actor": null },
            { "toStatus": "PAID", "note": null, "actor": null },
            { "toStatus": "REFUNDED", "note": null, "actor": null },
        ]),
        "{seen}"
    );
    let ledger = app
        .graphql_as(Some(&p.actors.own_member), LEDGER, json!({ "id": product }))
        .await;
    let text = ledger.to_string();
    for secret in [
        "customer@example.ma",
        "manager@market.ma",
        "manager's own note",
    ] {
        assert!(!text.contains(secret), "a member reads {secret:?}: {text}");
    }
    let lines = ledger["data"]["node"]["stockMovements"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{ledger}"))
        .clone();
    let line = |kind: &str| {
        lines
            .iter()
            .find(|l| l["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {ledger}"))
            .clone()
    };
    assert_eq!(
        line("ADJUSTMENT"),
        json!({ "kind": "ADJUSTMENT", "note": "jar cracked", "author": { "name": "member@bouguemez.ma" } }),
        "its own line"
    );
    for kind in ["SALE", "RETURN"] {
        assert_eq!(line(kind)["author"], Value::Null, "{kind}: {ledger}");
        assert_eq!(line(kind)["note"], Value::Null, "{kind}: {ledger}");
    }
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["kind"] == "DELIVERY")
            .filter(|l| !l["author"].is_null() || !l["note"].is_null())
            .count(),
        0,
        "the manager's and the system's deliveries show nobody: {ledger}"
    );

    // The manager sees everything; the buyer its own order's notes but no staff names.
    let seen = app
        .graphql_as(Some(&p.actors.manager), ORDERS, json!({}))
        .await
        .to_string();
    for detail in [
        "Nadia Buyer",
        "SLIP-4411",
        "fraud suspected",
        "manager@market.ma",
    ] {
        assert!(seen.contains(detail), "a manager misses {detail:?}: {seen}");
    }
    let ledger = app
        .graphql_as(Some(&p.actors.manager), LEDGER, json!({ "id": product }))
        .await
        .to_string();
    for detail in ["customer@example.ma", "manager's own note", "jar cracked"] {
        assert!(
            ledger.contains(detail),
            "a manager misses {detail:?}: {ledger}"
        );
    }
    let seen = app
        .graphql_as(Some(&p.actors.customer), ORDERS, json!({}))
        .await;
    let history = &seen["data"]["orders"]["nodes"][0]["history"];
    assert_eq!(history[0]["actor"]["name"], "customer@example.ma", "{seen}");
    assert_eq!(history[1]["note"], "SLIP-4411", "{seen}");
    assert_eq!(history[1]["actor"], Value::Null, "no staff names: {seen}");
    // Another cooperative's member sees no order and no ledger at all.
    let other = app
        .graphql_as(Some(&p.actors.other_member), ORDERS, json!({}))
        .await;
    assert_eq!(other["data"]["orders"]["nodes"], json!([]), "{other}");
}
