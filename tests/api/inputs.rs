//! Bad input is a coded user error, never an internal one, and writes nothing: NUL
//! characters, over-long text, malformed e-mails, integers at the type's edges, dates
//! outside the market's years, non-canonical IDs (issue 12, item 7), plus a property
//! test that feeds such values to every mutation and filter argument.

use crate::fixtures::{self, Portal};
use crate::helpers::{TestApp, error_code};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use market_core::entities::{cooperative, order, order_event, product, stock_movement, user};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use solidarity_market::graphql::ids::{NodeType, encode};

fn gid(t: NodeType, id: i32) -> String {
    encode(t, id).to_string()
}

/// A global ID as a client could forge it: any text, base64url-encoded.
fn forged(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

/// Every error of a response, as (code, message).
fn errors(response: &Value) -> Vec<(String, String)> {
    response["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["extensions"]["code"].as_str().unwrap_or("").to_owned(),
                        e["message"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The (field path, code) pairs of a payload's user errors.
fn user_errors(payload: &Value) -> Vec<(String, String)> {
    payload["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("no userErrors in {payload}"))
        .iter()
        .map(|e| {
            let field: Vec<&str> = e["field"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap())
                .collect();
            (field.join("."), e["code"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn pair(field: &str, code: &str) -> (String, String) {
    (field.to_owned(), code.to_owned())
}

/// What the database holds, coarsely: enough to tell that a refused request wrote nothing.
async fn fingerprint(app: &TestApp) -> Vec<i64> {
    let db = &app.db;
    let stock: i64 = product::Entity::find()
        .all(db)
        .await
        .unwrap()
        .iter()
        .map(|p| i64::from(p.stock))
        .sum();
    vec![
        product::Entity::find().count(db).await.unwrap() as i64,
        cooperative::Entity::find().count(db).await.unwrap() as i64,
        order::Entity::find().count(db).await.unwrap() as i64,
        order_event::Entity::find().count(db).await.unwrap() as i64,
        stock_movement::Entity::find().count(db).await.unwrap() as i64,
        user::Entity::find().count(db).await.unwrap() as i64,
        stock,
    ]
}

const PLACE: &str = r#"mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
    order { number note contact { email } } userErrors { field code message } } }"#;
const DELIVER: &str = r#"mutation($i: RecordStockDeliveryInput!) { recordStockDelivery(input: $i) {
    stockMovement { levelAfter } userErrors { field code message } } }"#;
const ADJUST: &str = r#"mutation($i: AdjustStockInput!) { adjustStock(input: $i) {
    stockMovement { levelAfter } userErrors { field code message } } }"#;
const CREATE_PRODUCT: &str = r#"mutation($i: CreateProductInput!) { createProduct(input: $i) {
    product { sku } userErrors { field code message } } }"#;
const CREATE_COOP: &str = r#"mutation($i: CreateCooperativeInput!) { createCooperative(input: $i) {
    cooperative { slug } userErrors { field code message } } }"#;
const REGISTER: &str = r#"mutation($i: RegisterInput!) { register(input: $i) {
    token userErrors { field code message } } }"#;
const LOGIN: &str = r#"mutation($i: LoginInput!) { login(input: $i) {
    token userErrors { field code message } } }"#;

/// NUL characters were `INTERNAL_SERVER_ERROR`s on PostgreSQL (it refuses them in text):
/// they are `BAD_USER_INPUT` in arguments and `userErrors` in mutations, nothing written.
#[tokio::test]
async fn nul_characters_are_refused_with_a_code_wherever_they_come() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let before = fingerprint(&app).await;
    for (query, variables) in [
        (
            "query($s: String) { products(filter: { search: $s }) { totalCount } }",
            json!({ "s": "hon\u{0}ey" }),
        ),
        (
            "query($s: String) { cooperatives(filter: { search: $s }) { totalCount } }",
            json!({ "s": "\u{0}" }),
        ),
        (
            "query($s: String) { product(sku: $s) { name } }",
            json!({ "s": "HON-BGZ-1\u{0}" }),
        ),
        (
            "query($s: String) { cooperative(slug: $s) { name } }",
            json!({ "s": "a\u{0}" }),
        ),
        (
            "query($s: String) { products(filter: { segment: $s }) { totalCount } }",
            json!({ "s": "honey\u{0}" }),
        ),
        (
            "query($s: String) { products(filter: { region: $s }) { totalCount } }",
            json!({ "s": "MA-05\u{0}" }),
        ),
        (
            "query($s: ID!) { node(id: $s) { id } }",
            json!({ "s": forged("Region:MA-05\u{0}") }),
        ),
    ] {
        let response = app.graphql(query, variables.clone()).await;
        assert_eq!(
            error_code(&response),
            "BAD_USER_INPUT",
            "{query} {variables}: {response}"
        );
    }
    let order = app
        .graphql_as(
            Some(&p.actors.customer),
            "query($n: String) { order(number: $n) { id } }",
            json!({ "n": "SM-\u{0}" }),
        )
        .await;
    assert_eq!(error_code(&order), "BAD_USER_INPUT", "{order}");

    // Sign-up and sign-in: user errors, the same answer as a wrong password for login.
    let out = app
        .graphql(
            REGISTER,
            json!({ "i": { "email": "shop\u{0}per@example.ma", "password": "long enough\u{0}pass", "name": "Nadia\u{0}" } }),
        )
        .await;
    assert_eq!(
        user_errors(&out["data"]["register"]),
        [
            pair("input.email", "INVALID_EMAIL"),
            pair("input.password", "WEAK_PASSWORD"),
            pair("input.name", "INVALID"),
        ],
        "{out}"
    );
    let out = app
        .graphql(
            LOGIN,
            json!({ "i": { "email": "customer@example.ma\u{0}", "password": "correct horse battery" } }),
        )
        .await;
    assert_eq!(
        user_errors(&out["data"]["login"]),
        [pair("", "INVALID_CREDENTIALS")],
        "{out}"
    );

    // An order whose note holds a NUL.
    let product = gid(NodeType::Product, p.product.id);
    let out = app
        .graphql_as(
            Some(&p.actors.customer),
            PLACE,
            json!({ "i": { "channel": "ONLINE", "idempotencyKey": "k-1", "note": "ring\u{0}twice",
                           "lines": [{ "productId": product, "quantity": 1 }] } }),
        )
        .await;
    assert_eq!(
        user_errors(&out["data"]["placeOrder"]),
        [pair("input.note", "INVALID")],
        "{out}"
    );
    let out = app
        .graphql_as(
            Some(&p.actors.own_member),
            DELIVER,
            json!({ "i": { "productId": product, "quantity": 3, "note": "slip\u{0}42" } }),
        )
        .await;
    assert_eq!(
        user_errors(&out["data"]["recordStockDelivery"]),
        [pair("input.note", "INVALID")],
        "{out}"
    );
    assert_eq!(fingerprint(&app).await, before, "nothing written");
}

/// SQLite refuses LIKE patterns over 50,000 bytes: a long search was an internal error.
#[tokio::test]
async fn a_50_000_character_search_is_a_bad_user_input() {
    let app = TestApp::spawn().await;
    fixtures::portal(&app.db).await;
    let long = "olive ".repeat(8_400);
    for query in [
        "query($s: String) { products(filter: { search: $s }) { totalCount } }",
        "query($s: String) { cooperatives(filter: { search: $s }) { totalCount } }",
    ] {
        let response = app.graphql(query, json!({ "s": long })).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{response}");
        assert!(
            errors(&response)[0].1.contains("at most 200 characters"),
            "{response}"
        );
    }
    // 200 characters are fine.
    let response = app
        .graphql(
            "query($s: String) { products(filter: { search: $s }) { totalCount } }",
            json!({ "s": "x".repeat(200) }),
        )
        .await;
    assert!(response.get("errors").is_none(), "{response}");
}

/// Free-text fields took 650–900 KB: each has a documented limit now (`TOO_LONG`).
#[tokio::test]
async fn every_free_text_field_has_a_length_limit() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let product = gid(NodeType::Product, p.product.id);
    let coop = gid(NodeType::Cooperative, p.coop.id);
    let huge = "x".repeat(900_000);
    let before = fingerprint(&app).await;

    let out = app
        .graphql_as(
            Some(&p.actors.own_member),
            CREATE_PRODUCT,
            json!({ "i": { "cooperativeId": coop, "sku": "NEW-1", "name": "n".repeat(201),
                           "description": huge, "format": "f".repeat(81), "price": "10.00",
                           "segment": "honey" } }),
        )
        .await;
    assert_eq!(
        user_errors(&out["data"]["createProduct"]),
        [
            pair("input.name", "TOO_LONG"),
            pair("input.format", "TOO_LONG"),
            pair("input.description", "TOO_LONG"),
        ],
        "{out}"
    );
    let out = app
        .graphql_as(
            Some(&p.actors.customer),
            PLACE,
            json!({ "i": { "channel": "ONLINE", "idempotencyKey": "k-long", "note": "n".repeat(650_000),
                           "contact": { "name": "c".repeat(201), "phone": "6".repeat(40) },
                           "lines": [{ "productId": product, "quantity": 1 }] } }),
        )
        .await;
    assert_eq!(
        user_errors(&out["data"]["placeOrder"]),
        [
            pair("input.contact.name", "TOO_LONG"),
            pair("input.contact.phone", "INVALID"),
            pair("input.note", "TOO_LONG"),
        ],
        "{out}"
    );
    let out = app
        .graphql_as(
            Some(&p.actors.own_member),
            ADJUST,
            json!({ "i": { "productId": product, "delta": -1, "reason": "OTHER", "note": "n".repeat(501) } }),
        )
        .await;
    assert_eq!(
        user_errors(&out["data"]["adjustStock"]),
        [pair("input.note", "TOO_LONG")],
        "{out}"
    );
    let out = app
        .graphql_as(
            Some(&p.actors.manager),
            CREATE_COOP,
            json!({ "i": { "name": "Coopérative Longue", "kind": "TERROIR", "region": "MA-05",
                           "description": "d".repeat(5_001), "province": "p".repeat(101),
                           "contactPhone": "call me maybe" } }),
        )
        .await;
    assert_eq!(
        user_errors(&out["data"]["createCooperative"]),
        [
            pair("input.description", "TOO_LONG"),
            pair("input.province", "TOO_LONG"),
            pair("input.contactPhone", "INVALID"),
        ],
        "{out}"
    );
    assert_eq!(fingerprint(&app).await, before, "nothing written");

    // At the limit, accepted.
    let out = app
        .graphql_as(
            Some(&p.actors.own_member),
            CREATE_PRODUCT,
            json!({ "i": { "cooperativeId": coop, "sku": "NEW-2", "name": "n".repeat(200),
                           "description": "d".repeat(5_000), "format": "f".repeat(80),
                           "price": "10.00", "segment": "honey" } }),
        )
        .await;
    assert_eq!(
        out["data"]["createProduct"]["userErrors"],
        json!([]),
        "{out}"
    );
}

/// `not-an-email` was accepted as an order's contact e-mail.
#[tokio::test]
async fn contact_emails_must_be_addresses() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let product = gid(NodeType::Product, p.product.id);
    let before = fingerprint(&app).await;
    for bad in ["not-an-email", "a@b", "a@b..ma", "a b@c.ma"] {
        let out = app
            .graphql_as(
                Some(&p.actors.customer),
                PLACE,
                json!({ "i": { "channel": "ONLINE", "idempotencyKey": format!("k-{bad}"),
                               "contact": { "email": bad },
                               "lines": [{ "productId": product, "quantity": 1 }] } }),
            )
            .await;
        assert_eq!(
            user_errors(&out["data"]["placeOrder"]),
            [pair("input.contact.email", "INVALID_EMAIL")],
            "{bad}: {out}"
        );
        let out = app
            .graphql_as(
                Some(&p.actors.manager),
                CREATE_COOP,
                json!({ "i": { "name": format!("Coop {}", bad.len()), "kind": "TERROIR", "region": "MA-05",
                               "contactEmail": bad } }),
            )
            .await;
        assert_eq!(
            user_errors(&out["data"]["createCooperative"]),
            [pair("input.contactEmail", "INVALID_EMAIL")],
            "{bad}: {out}"
        );
    }
    assert_eq!(fingerprint(&app).await, before, "nothing written");
    let out = app
        .graphql_as(
            Some(&p.actors.customer),
            PLACE,
            json!({ "i": { "channel": "ONLINE", "idempotencyKey": "k-ok",
                           "contact": { "email": " Nadia@Example.MA ", "phone": "+212 6 61 23 45 67" },
                           "lines": [{ "productId": product, "quantity": 1 }] } }),
        )
        .await;
    assert_eq!(
        out["data"]["placeOrder"]["order"]["contact"]["email"], "nadia@example.ma",
        "{out}"
    );
}

/// Deliveries could push stock past the 32-bit column (an internal error), and
/// `adjustStock(delta: -2147483648)` slipped past the bound check.
#[tokio::test]
async fn stock_movements_at_the_integers_edges_are_refused() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let product = gid(NodeType::Product, p.product.id);
    // A product already holding more than any shelf: the ledger is made to agree.
    product::Entity::update_many()
        .col_expr(product::Column::Stock, Expr::value(2_147_000_000))
        .filter(product::Column::Id.eq(p.product.id))
        .exec(&app.db)
        .await
        .unwrap();
    stock_movement::Entity::update_many()
        .col_expr(stock_movement::Column::Delta, Expr::value(2_147_000_000))
        .col_expr(
            stock_movement::Column::LevelAfter,
            Expr::value(2_147_000_000),
        )
        .filter(stock_movement::Column::ProductId.eq(p.product.id))
        .exec(&app.db)
        .await
        .unwrap();
    let before = fingerprint(&app).await;
    let out = app
        .graphql_as(
            Some(&p.actors.own_member),
            DELIVER,
            json!({ "i": { "productId": product, "quantity": 1_000_000 } }),
        )
        .await;
    assert_eq!(
        user_errors(&out["data"]["recordStockDelivery"]),
        [pair("input.quantity", "INVALID_QUANTITY")],
        "{out}"
    );
    for delta in [i32::MIN, i32::MAX, -1_000_001, 0] {
        let out = app
            .graphql_as(
                Some(&p.actors.own_member),
                ADJUST,
                json!({ "i": { "productId": product, "delta": delta, "reason": "COUNT_CORRECTION" } }),
            )
            .await;
        assert_eq!(
            user_errors(&out["data"]["adjustStock"]),
            [pair("input.delta", "INVALID_QUANTITY")],
            "{delta}: {out}"
        );
    }
    // Integers beyond 32 bits are refused by the GraphQL layer, with a code.
    let out = app
        .graphql_as(
            Some(&p.actors.own_member),
            ADJUST,
            json!({ "i": { "productId": product, "delta": 4_294_967_296_i64, "reason": "OTHER" } }),
        )
        .await;
    assert_eq!(error_code(&out), "BAD_USER_INPUT", "{out}");
    assert_eq!(fingerprint(&app).await, before, "nothing written");
    // Taking stock back down still works.
    let out = app
        .graphql_as(
            Some(&p.actors.own_member),
            ADJUST,
            json!({ "i": { "productId": product, "delta": -1_000_000, "reason": "COUNT_CORRECTION" } }),
        )
        .await;
    assert_eq!(
        out["data"]["adjustStock"]["stockMovement"]["levelAfter"], 2_146_000_000,
        "{out}"
    );
}

/// Dates far outside the market's years were stored (or refused by PostgreSQL as internal
/// errors); hours and years at the edges of their types too.
#[tokio::test]
async fn dates_and_periods_outside_the_markets_years_are_refused() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let coop = gid(NodeType::Cooperative, p.coop.id);
    let before = fingerprint(&app).await;
    for day in [
        "0001-01-01",
        "1899-12-31",
        "2200-01-01",
        "9999-12-31",
        "2026-02-30",
        "+10000-01-01",
    ] {
        let out = app
            .graphql_as(
                Some(&p.actors.manager),
                r#"mutation($i: AddCertificationInput!) { addCertification(input: $i) {
                    certification { id } userErrors { field code } } }"#,
                json!({ "i": { "cooperativeId": coop, "type": "ORGANIC", "number": "X-1",
                               "issuer": "Ecocert", "issuedOn": day } }),
            )
            .await;
        assert_eq!(error_code(&out), "BAD_USER_INPUT", "{day}: {out}");
        let out = app
            .graphql_as(
                Some(&p.actors.manager),
                "query($d: Date!) { salesBySegment(range: { from: $d, to: $d }, dimension: CHANNEL) { growth } }",
                json!({ "d": day }),
            )
            .await;
        assert_eq!(error_code(&out), "BAD_USER_INPUT", "{day}: {out}");
    }
    for year in [i32::MIN, -1, 0, 1899, 2200, i32::MAX] {
        let out = app
            .graphql_as(
                Some(&p.actors.manager),
                "query($y: Int!) { marketSummary(year: $y) { orders } }",
                json!({ "y": year }),
            )
            .await;
        assert_eq!(error_code(&out), "INVALID_RANGE", "{year}: {out}");
    }
    let out = app
        .graphql_as(
            Some(&p.actors.manager),
            "mutation($h: Int) { cancelStaleOrders(input: { olderThanHours: $h }) { userErrors { field code } } }",
            json!({ "h": i32::MAX }),
        )
        .await;
    assert_eq!(
        user_errors(&out["data"]["cancelStaleOrders"]),
        [pair("input.olderThanHours", "INVALID")],
        "{out}"
    );
    assert_eq!(fingerprint(&app).await, before, "nothing written");
}

/// `Product:+89` resolved product 89: an object has exactly one ID, other spellings are
/// refused.
#[tokio::test]
async fn non_canonical_ids_are_refused() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let id = p.product.id;
    let canonical = gid(NodeType::Product, id);
    let out = app
        .graphql(
            "query($id: ID!) { node(id: $id) { id } product(id: $id) { sku } }",
            json!({ "id": canonical }),
        )
        .await;
    assert_eq!(out["data"]["node"]["id"], canonical.as_str(), "{out}");
    for spelling in [
        format!("Product:+{id}"),
        format!("Product:0{id}"),
        format!("Product: {id}"),
        format!("Product:{id} "),
        format!("Product:{id}.0"),
        "Product:99999999999999999999".to_owned(),
        "Product:".to_owned(),
    ] {
        let id = forged(&spelling);
        for query in [
            "query($id: ID!) { node(id: $id) { id } }",
            "query($id: ID!) { product(id: $id) { sku } }",
            "query($id: ID!) { nodes(ids: [$id]) { id } }",
            "query($id: ID) { products(filter: { cooperativeId: $id }) { totalCount } }",
        ] {
            let out = app.graphql(query, json!({ "id": id })).await;
            assert_eq!(
                error_code(&out),
                "BAD_USER_INPUT",
                "{spelling} in {query}: {out}"
            );
        }
    }
    // Padding or characters outside base64url are not ours either.
    for id in [
        format!("{canonical}="),
        format!("{canonical}!"),
        "x".repeat(500),
    ] {
        let out = app
            .graphql(
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(error_code(&out), "BAD_USER_INPUT", "{id}: {out}");
    }
}

// --- The property test -------------------------------------------------------------

mod property {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    /// A value no well-behaved client sends.
    #[derive(Debug, Clone)]
    pub enum Bad {
        Text(String),
        Int(i64),
        Date(String),
        Id(String),
    }

    fn texts() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\u{0}".to_owned()),
            Just("a\u{0}b".to_owned()),
            Just(String::new()),
            Just("   ".to_owned()),
            Just("not-an-email".to_owned()),
            Just("'; DROP TABLE products; --".to_owned()),
            Just("%_\\".to_owned()),
            Just("\u{202e}\u{feff}\u{1b}[31m".to_owned()),
            (1usize..4).prop_map(|n| "é".repeat(n * 20_000)),
            (1usize..4).prop_map(|n| "x".repeat(n * 50_000)),
            "\\PC{0,40}",
            any::<String>().prop_map(|s| s.chars().take(60).collect()),
        ]
    }

    fn ints() -> impl Strategy<Value = i64> {
        prop_oneof![
            Just(i64::from(i32::MIN)),
            Just(i64::from(i32::MAX)),
            Just(-1),
            Just(0),
            Just(1_000_001),
            Just(4_294_967_296),
            any::<i32>().prop_map(i64::from),
        ]
    }

    fn dates() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("0001-01-01".to_owned()),
            Just("9999-12-31".to_owned()),
            Just("2026-02-30".to_owned()),
            Just("+10000-01-01".to_owned()),
            Just("-0044-03-15".to_owned()),
            Just("2026-1-1".to_owned()),
            (1000i32..3000, 1u32..13, 1u32..29)
                .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        ]
    }

    fn ids() -> impl Strategy<Value = String> {
        prop_oneof![
            (0i64..1000).prop_map(|n| forged(&format!("Product:+{n}"))),
            (0i64..1000).prop_map(|n| forged(&format!("Cooperative:0{n}"))),
            Just(forged("Order:-1")),
            Just(forged("Product:2147483648")),
            Just(forged("Region:\u{0}")),
            Just(forged("Nope:1")),
            Just("not an id".to_owned()),
            Just("=".repeat(300)),
            texts().prop_map(|t| forged(&t)),
        ]
    }

    pub fn bad() -> impl Strategy<Value = Bad> {
        prop_oneof![
            texts().prop_map(Bad::Text),
            ints().prop_map(Bad::Int),
            dates().prop_map(Bad::Date),
            ids().prop_map(Bad::Id),
        ]
    }

    /// What kind of value a spot of an operation takes.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    enum Kind {
        Text,
        Int,
        Date,
        Id,
    }

    /// An operation: who runs it, its document, its variables, and the spots (JSON
    /// pointers into the variables) where a bad value goes.
    struct Operation {
        who: usize,
        query: &'static str,
        variables: Value,
        spots: Vec<(&'static str, Kind)>,
    }

    /// Every mutation, and every argument of the lists' filters and lookups.
    fn operations(p: &Portal) -> Vec<Operation> {
        use Kind::*;
        let product = gid(NodeType::Product, p.product.id);
        let coop = gid(NodeType::Cooperative, p.coop.id);
        let m = 4; // manager
        let op = |who, query, variables, spots| Operation {
            who,
            query,
            variables,
            spots,
        };
        vec![
            op(
                0,
                "query($v: String, $c: ID, $p: Decimal) { products(filter: { search: $v, segment: $v, cooperativeId: $c, priceMin: $p }) { totalCount } }",
                json!({ "v": "honey", "c": coop, "p": "1" }),
                vec![("/v", Text), ("/c", Id)],
            ),
            op(
                0,
                "query($v: String) { products(filter: { region: $v }) { totalCount } }",
                json!({ "v": "MA-05" }),
                vec![("/v", Text)],
            ),
            op(
                0,
                "query($v: String, $a: String) { products(first: 5, after: $a, filter: { search: $v }) { totalCount } }",
                json!({ "v": "x", "a": null }),
                vec![("/v", Text), ("/a", Text)],
            ),
            op(
                0,
                "query($v: String) { cooperatives(filter: { search: $v, region: $v }) { totalCount } }",
                json!({ "v": "MA-05" }),
                vec![("/v", Text)],
            ),
            op(
                0,
                "query($v: String, $i: ID) { product(sku: $v) { id } cooperative(slug: $v) { id } a: product(id: $i) { id } }",
                json!({ "v": "HON-BGZ-1", "i": product }),
                vec![("/v", Text), ("/i", Id)],
            ),
            op(
                0,
                "query($i: ID!) { node(id: $i) { id } nodes(ids: [$i]) { id } }",
                json!({ "i": product }),
                vec![("/i", Id)],
            ),
            op(
                0,
                "query($f: Int, $l: Int) { products(first: $f) { totalCount } cooperatives(last: $l) { totalCount } }",
                json!({ "f": 5, "l": 5 }),
                vec![("/f", Int), ("/l", Int)],
            ),
            op(
                m,
                "query($v: String, $c: ID, $d: Date) { orders(filter: { cooperativeId: $c, from: $d, to: $d }) { totalCount } order(number: $v) { id } }",
                json!({ "v": "SM-1", "c": coop, "d": "2026-01-01" }),
                vec![("/v", Text), ("/c", Id), ("/d", Date)],
            ),
            op(
                m,
                "query($c: ID, $d: Date!, $v: String, $n: Int!) { topProducts(range: { from: $d, to: $d }, by: VALUE, limit: $n, filter: { segment: $v, region: $v, cooperativeId: $c }) { rank } }",
                json!({ "c": coop, "d": "2026-01-01", "v": "honey", "n": 5 }),
                vec![("/c", Id), ("/d", Date), ("/v", Text), ("/n", Int)],
            ),
            op(
                m,
                "query($d: Date!, $y: Int!) { salesBySegment(range: { from: $d, to: $d }, dimension: REGION) { growth } salesTrend(range: { from: $d, to: $d }, granularity: DAY) { orders } marketSummary(year: $y) { orders } }",
                json!({ "d": "2026-01-01", "y": 2025 }),
                vec![("/d", Date), ("/y", Int)],
            ),
            op(
                m,
                "query($n: Int!, $c: ID) { expiringCertifications(withinDays: $n) { totalCount } payoutStatements(filter: { cooperativeId: $c }) { totalCount } }",
                json!({ "n": 30, "c": coop }),
                vec![("/n", Int), ("/c", Id)],
            ),
            op(
                m,
                "query($d: Date!) { payoutPerformance(range: { from: $d, to: $d }) { overdue } }",
                json!({ "d": "2026-01-01" }),
                vec![("/d", Date)],
            ),
            op(
                0,
                REGISTER,
                json!({ "i": { "email": "new@example.ma", "password": "a long passphrase", "name": "New" } }),
                vec![("/i/email", Text), ("/i/password", Text), ("/i/name", Text)],
            ),
            op(
                0,
                LOGIN,
                json!({ "i": { "email": "customer@example.ma", "password": "wrong password" } }),
                vec![("/i/email", Text), ("/i/password", Text)],
            ),
            op(
                m,
                "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } userErrors { code } } }",
                json!({ "i": { "email": "staff@example.ma", "password": "a long passphrase", "name": "Staff", "role": "COOPERATIVE_MEMBER", "cooperativeId": coop } }),
                vec![
                    ("/i/email", Text),
                    ("/i/name", Text),
                    ("/i/cooperativeId", Id),
                ],
            ),
            op(
                2,
                CREATE_PRODUCT,
                json!({ "i": { "cooperativeId": coop, "sku": "PROP-1", "name": "Walnuts", "format": "500 g", "price": "60.00", "segment": "honey", "description": "d", "lowStockThreshold": 5 } }),
                vec![
                    ("/i/cooperativeId", Id),
                    ("/i/sku", Text),
                    ("/i/name", Text),
                    ("/i/format", Text),
                    ("/i/segment", Text),
                    ("/i/description", Text),
                    ("/i/lowStockThreshold", Int),
                ],
            ),
            op(
                2,
                "mutation($i: UpdateProductInput!) { updateProduct(input: $i) { product { id } userErrors { code } } }",
                json!({ "i": { "id": product, "name": "Thyme honey", "description": "d", "format": "250 g", "segment": "honey", "lowStockThreshold": 5 } }),
                vec![
                    ("/i/id", Id),
                    ("/i/name", Text),
                    ("/i/description", Text),
                    ("/i/format", Text),
                    ("/i/segment", Text),
                    ("/i/lowStockThreshold", Int),
                ],
            ),
            op(
                2,
                DELIVER,
                json!({ "i": { "productId": product, "quantity": 1, "note": "slip" } }),
                vec![
                    ("/i/productId", Id),
                    ("/i/quantity", Int),
                    ("/i/note", Text),
                ],
            ),
            op(
                2,
                ADJUST,
                json!({ "i": { "productId": product, "delta": -1, "reason": "DAMAGED", "note": "broken" } }),
                vec![("/i/productId", Id), ("/i/delta", Int), ("/i/note", Text)],
            ),
            op(
                1,
                PLACE,
                json!({ "i": { "channel": "ONLINE", "idempotencyKey": "prop", "note": "n",
                               "contact": { "name": "Nadia", "email": "nadia@example.ma", "phone": "+212 600 000 000" },
                               "lines": [{ "productId": product, "quantity": 1 }] } }),
                vec![
                    ("/i/idempotencyKey", Text),
                    ("/i/note", Text),
                    ("/i/contact/name", Text),
                    ("/i/contact/email", Text),
                    ("/i/contact/phone", Text),
                    ("/i/lines/0/productId", Id),
                    ("/i/lines/0/quantity", Int),
                ],
            ),
            op(
                m,
                "mutation($i: MarkOrderPaidInput!) { markOrderPaid(input: $i) { order { id } userErrors { code } } }",
                json!({ "i": { "orderId": gid(NodeType::Order, 1), "method": "CARD", "reference": "r" } }),
                vec![("/i/orderId", Id), ("/i/reference", Text)],
            ),
            op(
                m,
                "mutation($i: CancelOrderInput!) { cancelOrder(input: $i) { order { id } userErrors { code } } }",
                json!({ "i": { "orderId": gid(NodeType::Order, 1), "reason": "r" } }),
                vec![("/i/orderId", Id), ("/i/reason", Text)],
            ),
            op(
                m,
                "mutation($i: RefundOrderInput!) { refundOrder(input: $i) { order { id } userErrors { code } } }",
                json!({ "i": { "orderId": gid(NodeType::Order, 1), "restock": true, "reason": "r" } }),
                vec![("/i/orderId", Id), ("/i/reason", Text)],
            ),
            op(
                m,
                "mutation($i: FulfillOrderInput!) { fulfillOrder(input: $i) { order { id } userErrors { code } } }",
                json!({ "i": { "orderId": gid(NodeType::Order, 1) } }),
                vec![("/i/orderId", Id)],
            ),
            op(
                m,
                "mutation($h: Int) { cancelStaleOrders(input: { olderThanHours: $h }) { userErrors { code } } }",
                json!({ "h": 48 }),
                vec![("/h", Int)],
            ),
            op(
                m,
                CREATE_COOP,
                json!({ "i": { "name": "Coop Prop", "slug": "coop-prop", "kind": "TERROIR", "region": "MA-05", "province": "",
                               "description": "d", "foundedOn": "2001-01-01", "listedSince": "2020-01-01", "memberCount": 3,
                               "contactEmail": "c@example.ma", "contactPhone": "+212 600", "payoutAccount": "" } }),
                vec![
                    ("/i/name", Text),
                    ("/i/slug", Text),
                    ("/i/region", Text),
                    ("/i/province", Text),
                    ("/i/description", Text),
                    ("/i/foundedOn", Date),
                    ("/i/listedSince", Date),
                    ("/i/memberCount", Int),
                    ("/i/contactEmail", Text),
                    ("/i/contactPhone", Text),
                    ("/i/payoutAccount", Text),
                ],
            ),
            op(
                m,
                "mutation($i: UpdateCooperativeInput!) { updateCooperative(input: $i) { cooperative { id } userErrors { code } } }",
                json!({ "i": { "id": coop, "name": "Coopérative Aït Bouguemez", "description": "d", "memberCount": 3, "foundedOn": "2001-01-01" } }),
                vec![
                    ("/i/id", Id),
                    ("/i/name", Text),
                    ("/i/description", Text),
                    ("/i/memberCount", Int),
                    ("/i/foundedOn", Date),
                ],
            ),
            op(
                m,
                "mutation($i: SetCooperativeStatusInput!) { setCooperativeStatus(input: $i) { cooperative { id } userErrors { code } } }",
                json!({ "i": { "id": coop, "status": "LISTED" } }),
                vec![("/i/id", Id)],
            ),
            op(
                m,
                "mutation($i: AddCertificationInput!) { addCertification(input: $i) { certification { id } userErrors { code } } }",
                json!({ "i": { "cooperativeId": coop, "type": "ORGANIC", "number": "N-1", "issuer": "Ecocert", "issuedOn": "2025-01-01",
                               "expiresOn": "2027-01-01", "productIds": [product] } }),
                vec![
                    ("/i/cooperativeId", Id),
                    ("/i/number", Text),
                    ("/i/issuer", Text),
                    ("/i/issuedOn", Date),
                    ("/i/expiresOn", Date),
                    ("/i/productIds/0", Id),
                ],
            ),
            op(
                m,
                "mutation($i: UpdateCertificationInput!) { updateCertification(input: $i) { certification { id } userErrors { code } } }",
                json!({ "i": { "id": gid(NodeType::Certification, 1), "number": "N-2", "issuer": "ONSSA", "issuedOn": "2025-01-01" } }),
                vec![
                    ("/i/id", Id),
                    ("/i/number", Text),
                    ("/i/issuer", Text),
                    ("/i/issuedOn", Date),
                ],
            ),
            op(
                m,
                "mutation($i: RevokeCertificationInput!) { revokeCertification(input: $i) { certification { id } userErrors { code } } }",
                json!({ "i": { "id": gid(NodeType::Certification, 999), "reason": "r" } }),
                vec![("/i/id", Id), ("/i/reason", Text)],
            ),
            op(
                m,
                "mutation($i: GeneratePayoutStatementsInput!) { generatePayoutStatements(input: $i) { userErrors { code } } }",
                json!({ "i": { "periodStart": "2025-01-01", "periodEnd": "2025-01-31" } }),
                vec![("/i/periodStart", Date), ("/i/periodEnd", Date)],
            ),
            op(
                m,
                "mutation($i: MarkPayoutPaidInput!) { markPayoutPaid(input: $i) { userErrors { code } } }",
                json!({ "i": { "statementId": gid(NodeType::PayoutStatement, 1), "paidOn": "2025-02-01", "reference": "VIR-1" } }),
                vec![
                    ("/i/statementId", Id),
                    ("/i/paidOn", Date),
                    ("/i/reference", Text),
                ],
            ),
        ]
    }

    fn as_json(bad: &Bad) -> (Kind, Value) {
        match bad {
            Bad::Text(t) => (Kind::Text, json!(t)),
            Bad::Int(n) => (Kind::Int, json!(n)),
            Bad::Date(d) => (Kind::Date, json!(d)),
            Bad::Id(i) => (Kind::Id, json!(i)),
        }
    }

    /// The stock of every product equals the sum of its ledger.
    async fn ledger_agrees(app: &TestApp) -> bool {
        let rows = app
            .db
            .query_all_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                "SELECT p.id FROM products p WHERE p.stock <> \
                 (SELECT COALESCE(SUM(m.delta), 0) FROM stock_movements m WHERE m.product_id = p.id)",
            ))
            .await
            .unwrap();
        rows.is_empty()
    }

    async fn check(
        app: &TestApp,
        ops: &[Operation],
        tokens: &[Option<String>],
        bad: &Bad,
    ) -> Result<(), String> {
        let (kind, value) = as_json(bad);
        for op in ops {
            for (pointer, spot_kind) in &op.spots {
                if *spot_kind != kind {
                    continue;
                }
                let mut variables = op.variables.clone();
                *variables
                    .pointer_mut(pointer)
                    .expect("a spot of the variables") = value.clone();
                let before = fingerprint(app).await;
                let response = app
                    .graphql_as(tokens[op.who].as_deref(), op.query, variables)
                    .await;
                for (code, message) in errors(&response) {
                    if code.is_empty() || code == "INTERNAL_SERVER_ERROR" {
                        return Err(format!(
                            "{} with {pointer} = {bad:?}: {code:?} {message}",
                            op.query
                        ));
                    }
                }
                let refused = response.get("errors").is_some()
                    || response["data"]
                        .as_object()
                        .into_iter()
                        .flat_map(|d| d.values())
                        .any(|p| p["userErrors"].as_array().is_some_and(|e| !e.is_empty()));
                if refused && fingerprint(app).await != before {
                    return Err(format!(
                        "{} with {pointer} = {bad:?} was refused but wrote something: {response}",
                        op.query
                    ));
                }
            }
        }
        if !ledger_agrees(app).await {
            return Err(format!("stock and ledger disagree after {bad:?}"));
        }
        Ok(())
    }

    /// Feeds bad values to every spot of every operation: never an internal error or an
    /// error without a code, and a refused request writes nothing. `PROPTEST_CASES`
    /// runs more cases (the default keeps the suite fast).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_bad_input_becomes_an_internal_error_or_a_half_write() {
        let app = TestApp::spawn().await;
        let p = fixtures::portal(&app.db).await;
        let ops = operations(&p);
        let tokens = vec![
            None,
            Some(p.actors.customer.clone()),
            Some(p.actors.own_member.clone()),
            Some(p.actors.other_member.clone()),
            Some(p.actors.manager.clone()),
        ];
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(12);
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let handle = tokio::runtime::Handle::current();
        let result = runner.run(&bad(), |bad| {
            tokio::task::block_in_place(|| handle.block_on(check(&app, &ops, &tokens, &bad)))
                .map_err(proptest::test_runner::TestCaseError::fail)
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }
}
