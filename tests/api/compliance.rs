//! Certifications and compliance: only certified products are sold. The rules of each
//! kind, coverage by list or of all products, the expiry boundary in the market's time
//! zone, the certification mutations, and the managers' reports.

use crate::fixtures::{self, Actors, NewCoop, NewProduct, ymd};
use crate::helpers::{TestApp, error_code};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use market_core::entities::{certification, certification_product, cooperative, product};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use solidarity_market::domain::enums::{
    CertificationType as C, CooperativeKind as K, CooperativeStatus,
};
use solidarity_market::graphql::ids::{NodeType, encode};
use std::collections::BTreeSet;

/// The instant the tests stand on: 15 January 2026, 11:00 in Casablanca.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap()
}

/// `n` days from the tests' today (15 January 2026).
fn days(n: i64) -> NaiveDate {
    ymd(2026, 1, 15) + chrono::Duration::days(n)
}

fn gid(t: NodeType, id: i32) -> String {
    encode(t, id).to_string()
}

async fn coop(db: &DatabaseConnection, name: &str, kind: K) -> cooperative::Model {
    fixtures::coop(db, NewCoop::new(name, kind, "MA-03")).await
}

async fn suspended(db: &DatabaseConnection, name: &str, kind: K) -> cooperative::Model {
    fixtures::coop(
        db,
        NewCoop {
            status: CooperativeStatus::Suspended,
            ..NewCoop::new(name, kind, "MA-03")
        },
    )
    .await
}

async fn product(
    db: &DatabaseConnection,
    coop: &cooperative::Model,
    sku: &str,
    name: &str,
    segment: &str,
) -> product::Model {
    fixtures::product(db, coop, NewProduct::new(sku, name, segment, 5000, 10)).await
}

async fn inactive(
    db: &DatabaseConnection,
    coop: &cooperative::Model,
    sku: &str,
    name: &str,
    segment: &str,
) -> product::Model {
    fixtures::product(
        db,
        coop,
        NewProduct {
            active: false,
            ..NewProduct::new(sku, name, segment, 5000, 10)
        },
    )
    .await
}

/// A certification valid from 100 days ago, without expiry; `products` empty: all.
async fn certify(
    db: &DatabaseConnection,
    coop: &cooperative::Model,
    kind: C,
    products: &[&product::Model],
) -> certification::Model {
    fixtures::certify(db, coop, kind, days(-100), None, products).await
}

const PRODUCT: &str = "query($sku: String!) { product(sku: $sku) { sku isSellable complianceIssues { code message } } }";

/// Whether the storefront may sell `sku`, and the codes of why not (asked anonymously).
async fn sellability(app: &TestApp, sku: &str) -> (bool, Vec<String>) {
    let data = app.data(PRODUCT, json!({ "sku": sku })).await;
    let p = &data["product"];
    assert_eq!(
        p["sku"], sku,
        "product(sku:) resolves {sku} sellable or not"
    );
    let codes = p["complianceIssues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap().to_owned())
        .collect();
    (p["isSellable"].as_bool().unwrap(), codes)
}

async fn issues(app: &TestApp, sku: &str) -> Vec<String> {
    sellability(app, sku).await.1
}

/// The SKUs the storefront lists to an anonymous shopper.
async fn storefront(app: &TestApp) -> BTreeSet<String> {
    let data = app
        .data("{ products(first: 100) { nodes { sku } } }", json!({}))
        .await;
    skus(&data["products"]["nodes"])
}

fn skus(nodes: &Value) -> BTreeSet<String> {
    nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["sku"].as_str().unwrap().to_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Runs an operation as `token` that must not fail, returning its `data`.
async fn data_as(app: &TestApp, token: &str, query: &str, vars: Value) -> Value {
    let response = app.graphql_as(Some(token), query, vars).await;
    assert!(
        response.get("errors").is_none(),
        "unexpected errors: {response:#}"
    );
    response["data"].clone()
}

async fn certification_count(app: &TestApp) -> (u64, u64) {
    (
        certification::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        certification_product::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
    )
}

const ADD: &str = r#"mutation($i: AddCertificationInput!) { addCertification(input: $i) {
    certification { id type number issuer issuedOn expiresOn coversAllProducts isValid
                    revokedAt revokedReason products { sku } cooperative { slug } }
    userErrors { field message code } } }"#;
const UPDATE: &str = r#"mutation($i: UpdateCertificationInput!) { updateCertification(input: $i) {
    certification { id number issuer issuedOn expiresOn coversAllProducts isValid products { sku } }
    userErrors { field message code } } }"#;
const REVOKE: &str = r#"mutation($i: RevokeCertificationInput!) { revokeCertification(input: $i) {
    certification { id isValid revokedAt revokedReason }
    userErrors { field message code } } }"#;
const EXPIRING: &str = r#"query($d: Int!, $first: Int, $after: String) {
    expiringCertifications(withinDays: $d, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { number expiresOn isValid } } }"#;
const REPORT: &str = r#"{ complianceReport { cooperative { slug name region { code } }
    products { product { sku } issues { code message } } } }"#;

/// The user errors of a payload as (field path, code) pairs, sorted.
fn user_errors(payload: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = payload["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let path: Vec<&str> = e["field"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap())
                .collect();
            (path.join("."), e["code"].as_str().unwrap().to_owned())
        })
        .collect();
    out.sort();
    out
}

fn pair(field: &str, code: &str) -> (String, String) {
    (field.to_owned(), code.to_owned())
}

#[tokio::test]
async fn each_kind_needs_its_own_certification_and_suspended_or_inactive_products_are_not_sold() {
    let app = TestApp::spawn_at(now()).await;
    let db = &app.db;
    let fes = coop(db, "Fes Saiss", K::Terroir).await;
    product(db, &fes, "OIL", "Olive oil", "olive-oil").await;
    inactive(db, &fes, "OFF", "Old olive oil", "olive-oil").await;
    certify(db, &fes, C::OnssaAuthorization, &[]).await;

    let mek = coop(db, "Meknes Olives", K::Terroir).await;
    product(db, &mek, "OLV", "Black olives", "olives").await;
    certify(db, &mek, C::OnssaApproval, &[]).await;

    // Labels of origin and organic farming are no sanitary authorization.
    let lay = coop(db, "Laayoune Camel Milk", K::Terroir).await;
    product(db, &lay, "CML", "Camel milk", "camel-milk").await;
    certify(db, &lay, C::Organic, &[]).await;
    certify(db, &lay, C::Pgi, &[]).await;
    certify(db, &lay, C::TerroirDuMaroc, &[]).await;

    let tgh = coop(db, "Tighanimine Argan", K::Cosmetics).await;
    product(db, &tgh, "ARG", "Argan oil", "argan-cosmetics").await;
    certify(db, &tgh, C::Iso22716, &[]).await;

    let rose = coop(db, "Rose Valley", K::Cosmetics).await;
    product(db, &rose, "ROS", "Rose water", "rose-water").await;
    certify(db, &rose, C::DmpAuthorization, &[]).await;

    // A food authorization does not make cosmetics sellable.
    let ksb = coop(db, "Ksabi Ghassoul", K::Cosmetics).await;
    product(db, &ksb, "GHS", "Ghassoul", "soaps-hammam").await;
    certify(db, &ksb, C::OnssaAuthorization, &[]).await;

    let safi = coop(db, "Safi Pottery", K::Handicrafts).await;
    product(db, &safi, "POT", "Tajine", "pottery").await;

    let sus = suspended(db, "Suspended Honey", K::Terroir).await;
    product(db, &sus, "SUS", "Honey", "honey").await;
    inactive(db, &sus, "ALL", "Old honey", "honey").await;
    certify(db, &sus, C::OnssaAuthorization, &[]).await;

    let bare = suspended(db, "Bare Cosmetics", K::Cosmetics).await;
    inactive(db, &bare, "BAD", "Soap", "soaps-hammam").await;

    let expected: &[(&str, &[&str])] = &[
        ("OIL", &[]),
        ("OLV", &[]),
        ("ARG", &[]),
        ("ROS", &[]),
        ("POT", &[]),
        ("CML", &["MISSING_ONSSA_AUTHORIZATION"]),
        ("GHS", &["MISSING_DMP_AUTHORIZATION"]),
        ("OFF", &["PRODUCT_INACTIVE"]),
        ("SUS", &["COOPERATIVE_SUSPENDED"]),
        ("ALL", &["PRODUCT_INACTIVE", "COOPERATIVE_SUSPENDED"]),
        (
            "BAD",
            &[
                "PRODUCT_INACTIVE",
                "COOPERATIVE_SUSPENDED",
                "MISSING_DMP_AUTHORIZATION",
            ],
        ),
    ];
    for (sku, codes) in expected {
        let (sellable, got) = sellability(&app, sku).await;
        assert_eq!(got, *codes, "issues of {sku}");
        assert_eq!(sellable, codes.is_empty(), "isSellable of {sku}");
    }
    let message = app.data(PRODUCT, json!({ "sku": "CML" })).await["product"]["complianceIssues"]
        [0]["message"]
        .clone();
    assert!(
        message.as_str().unwrap().contains("ONSSA"),
        "the message says what is needed: {message}"
    );

    // The storefront lists exactly the sellable products; the database agrees with `assess`.
    assert_eq!(
        storefront(&app).await,
        set(&["ARG", "OIL", "OLV", "POT", "ROS"])
    );
    let manager = fixtures::account(
        db,
        "manager@market.ma",
        solidarity_market::domain::enums::Role::Manager,
        None,
    )
    .await;
    let all = data_as(
        &app,
        &manager,
        "{ products(first: 100, filter: { includeUnsellable: true }) { nodes { sku isSellable } } }",
        json!({}),
    )
    .await;
    assert_eq!(skus(&all["products"]["nodes"]).len(), expected.len());
}

#[tokio::test]
async fn a_list_coverage_covers_only_its_products_and_an_all_products_one_covers_new_ones_too() {
    let app = TestApp::spawn_at(now()).await;
    let db = &app.db;
    let bgz = coop(db, "Ait Bouguemez", K::Terroir).await;
    let hon1 = product(db, &bgz, "HON-1", "Thyme honey", "honey").await;
    let hon2 = product(db, &bgz, "HON-2", "Euphorbia honey", "honey").await;
    product(db, &bgz, "WAL", "Walnuts", "seeds-grains").await;
    certify(db, &bgz, C::OnssaAuthorization, &[&hon1, &hon2]).await;

    let atlas = coop(db, "Atlas Oils", K::Terroir).await;
    product(db, &atlas, "OIL-1", "Olive oil 1 L", "olive-oil").await;
    certify(db, &atlas, C::OnssaAuthorization, &[]).await;
    // Added after its certification: an all-products coverage covers it at once.
    product(db, &atlas, "OIL-2", "Olive oil 5 L", "olive-oil").await;

    assert_eq!(issues(&app, "WAL").await, ["MISSING_ONSSA_AUTHORIZATION"]);
    assert_eq!(
        storefront(&app).await,
        set(&["HON-1", "HON-2", "OIL-1", "OIL-2"])
    );

    let coverage = r#"query($slug: String!) { cooperative(slug: $slug) {
        certifications { coversAllProducts products { sku } } } }"#;
    let listed = app.data(coverage, json!({ "slug": bgz.slug })).await;
    assert_eq!(
        listed["cooperative"]["certifications"],
        json!([{ "coversAllProducts": false, "products": [{ "sku": "HON-2" }, { "sku": "HON-1" }] }]),
        "a list coverage names its products, by name"
    );
    let everything = app.data(coverage, json!({ "slug": atlas.slug })).await;
    assert_eq!(
        everything["cooperative"]["certifications"],
        json!([{ "coversAllProducts": true, "products": [] }])
    );

    // Product.certifications shows what covers each product.
    let certs = app
        .data(
            r#"{ a: product(sku: "HON-1") { certifications { type } }
                 b: product(sku: "WAL") { certifications { type } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        certs["a"]["certifications"],
        json!([{ "type": "ONSSA_AUTHORIZATION" }])
    );
    assert_eq!(certs["b"]["certifications"], json!([]));
}

/// A Terroir cooperative whose three products are each covered by one certification:
/// END's expires on 31 December 2025, NEXT's on 1 January 2026, and NEW's takes effect on
/// 1 January 2026.
async fn new_year(at: DateTime<Utc>) -> TestApp {
    let app = TestApp::spawn_at(at).await;
    let db = &app.db;
    let c = coop(db, "New Year Dates", K::Terroir).await;
    let end = product(db, &c, "END", "Dates 2025", "dates").await;
    let next = product(db, &c, "NEXT", "Dates 2026", "dates").await;
    let new = product(db, &c, "NEW", "Dates new", "dates").await;
    for (p, issued, expires) in [
        (&end, ymd(2024, 1, 1), Some(ymd(2025, 12, 31))),
        (&next, ymd(2024, 1, 1), Some(ymd(2026, 1, 1))),
        (&new, ymd(2026, 1, 1), None),
    ] {
        let cert = fixtures::certify(db, &c, C::OnssaAuthorization, issued, expires, &[p]).await;
        renumber(db, cert, &format!("AS-{}", p.sku)).await;
    }
    app
}

/// Gives `cert` a number of its own, to tell certifications apart in lists.
async fn renumber(
    db: &DatabaseConnection,
    cert: certification::Model,
    number: &str,
) -> certification::Model {
    let mut m: certification::ActiveModel = cert.into();
    m.number = sea_orm::Set(number.to_owned());
    sea_orm::ActiveModelTrait::update(m, db).await.unwrap()
}

async fn expiring_numbers(app: &TestApp, token: &str, within: i32) -> Vec<String> {
    let data = data_as(app, token, EXPIRING, json!({ "d": within, "first": 100 })).await;
    data["expiringCertifications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["number"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_manager(app: &TestApp) -> String {
    fixtures::account(
        &app.db,
        "manager@market.ma",
        solidarity_market::domain::enums::Role::Manager,
        None,
    )
    .await
}

#[tokio::test]
async fn a_certification_is_valid_through_its_expiry_day_in_casablanca_not_in_utc() {
    // 23:59:59 on 31 December in Casablanca (UTC+1): the last day of END's certificate.
    let eve = new_year(Utc.with_ymd_and_hms(2025, 12, 31, 22, 59, 59).unwrap()).await;
    assert_eq!(sellability(&eve, "END").await, (true, vec![]));
    assert_eq!(sellability(&eve, "NEXT").await, (true, vec![]));
    assert_eq!(issues(&eve, "NEW").await, ["CERTIFICATION_NOT_YET_VALID"]);
    assert_eq!(storefront(&eve).await, set(&["END", "NEXT"]));
    let manager = a_manager(&eve).await;
    assert_eq!(expiring_numbers(&eve, &manager, 0).await, ["AS-END"]);

    // One second later it is 1 January in Casablanca, though still 31 December in UTC:
    // END's certificate has expired, NEXT's is on its last day, NEW's has begun.
    let midnight = Utc.with_ymd_and_hms(2025, 12, 31, 23, 0, 0).unwrap();
    assert_eq!(midnight.date_naive(), ymd(2025, 12, 31));
    let day = new_year(midnight).await;
    let (sellable, codes) = sellability(&day, "END").await;
    assert!(!sellable);
    assert_eq!(codes, ["CERTIFICATION_EXPIRED"]);
    let message = day.data(PRODUCT, json!({ "sku": "END" })).await["product"]["complianceIssues"]
        [0]["message"]
        .clone();
    assert!(
        message.as_str().unwrap().contains("2025-12-31"),
        "{message}"
    );
    assert_eq!(sellability(&day, "NEXT").await, (true, vec![]));
    assert_eq!(sellability(&day, "NEW").await, (true, vec![]));
    assert_eq!(storefront(&day).await, set(&["NEW", "NEXT"]));
    let manager = a_manager(&day).await;
    assert_eq!(expiring_numbers(&day, &manager, 0).await, ["AS-NEXT"]);
    let validity = day
        .data(
            r#"{ product(sku: "END") { certifications(includeInvalid: true) { number isValid expiresOn } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        validity["product"]["certifications"],
        json!([{ "number": "AS-END", "isValid": false, "expiresOn": "2025-12-31" }])
    );

    // And the day after NEXT's last day, it has expired too.
    let after = new_year(Utc.with_ymd_and_hms(2026, 1, 1, 23, 0, 0).unwrap()).await;
    assert_eq!(issues(&after, "NEXT").await, ["CERTIFICATION_EXPIRED"]);
    assert_eq!(storefront(&after).await, set(&["NEW"]));
}

#[tokio::test]
async fn revoked_expired_and_future_certifications_do_not_count_but_one_valid_one_suffices() {
    let app = TestApp::spawn_at(now()).await;
    let db = &app.db;
    let c = coop(db, "Mamounia Honey", K::Terroir).await;
    let revoked = product(db, &c, "REV", "Revoked honey", "honey").await;
    let expired = product(db, &c, "EXP", "Expired honey", "honey").await;
    let future = product(db, &c, "FUT", "Future honey", "honey").await;
    let renewed = product(db, &c, "REN", "Renewed honey", "honey").await;
    let cert = certify(db, &c, C::OnssaAuthorization, &[&revoked]).await;
    fixtures::revoke(db, &cert, "Failed inspection").await;
    fixtures::certify(
        db,
        &c,
        C::OnssaAuthorization,
        days(-400),
        Some(days(-1)),
        &[&expired, &renewed],
    )
    .await;
    fixtures::certify(
        db,
        &c,
        C::OnssaApproval,
        days(1),
        Some(days(365)),
        &[&future],
    )
    .await;
    // The renewal: a new certificate from today.
    fixtures::certify(
        db,
        &c,
        C::OnssaAuthorization,
        days(0),
        Some(days(365)),
        &[&renewed],
    )
    .await;

    assert_eq!(issues(&app, "REV").await, ["CERTIFICATION_REVOKED"]);
    assert_eq!(issues(&app, "EXP").await, ["CERTIFICATION_EXPIRED"]);
    assert_eq!(issues(&app, "FUT").await, ["CERTIFICATION_NOT_YET_VALID"]);
    assert_eq!(sellability(&app, "REN").await, (true, vec![]));
    assert_eq!(storefront(&app).await, set(&["REN"]));
}

#[tokio::test]
async fn adding_correcting_and_revoking_a_certification_changes_what_is_sold_at_once() {
    let app = TestApp::spawn_at(now()).await;
    let db = &app.db;
    let c = coop(db, "Tadla Honey", K::Terroir).await;
    let hon = product(db, &c, "HON", "Orange blossom honey", "honey").await;
    let manager = a_manager(&app).await;
    assert!(storefront(&app).await.is_empty());

    let added = data_as(
        &app,
        &manager,
        ADD,
        json!({ "i": {
            "cooperativeId": gid(NodeType::Cooperative, c.id),
            "type": "ONSSA_AUTHORIZATION", "number": " AS.05.0312 ", "issuer": "ONSSA",
            "issuedOn": days(-10).to_string(), "expiresOn": days(100).to_string() } }),
    )
    .await;
    let payload = &added["addCertification"];
    assert_eq!(payload["userErrors"], json!([]));
    let cert = &payload["certification"];
    assert_eq!(cert["type"], "ONSSA_AUTHORIZATION");
    assert_eq!(cert["number"], "AS.05.0312", "trimmed");
    assert_eq!(cert["coversAllProducts"], true);
    assert_eq!(cert["isValid"], true);
    assert_eq!(cert["products"], json!([]));
    assert_eq!(cert["cooperative"]["slug"], c.slug.as_str());
    let id = cert["id"].as_str().unwrap().to_owned();
    assert_eq!(storefront(&app).await, set(&["HON"]));

    // Expired by a correction of its date: off the shelves at once.
    let update = |vars: Value| {
        let (app, manager, id) = (&app, manager.clone(), id.clone());
        async move {
            let mut input = vars;
            input["id"] = json!(id);
            let data = data_as(app, &manager, UPDATE, json!({ "i": input })).await;
            let payload = data["updateCertification"].clone();
            assert_eq!(payload["userErrors"], json!([]), "{payload:#}");
            payload["certification"].clone()
        }
    };
    let cert = update(json!({ "expiresOn": days(-1).to_string() })).await;
    assert_eq!(cert["isValid"], false);
    assert!(storefront(&app).await.is_empty());
    assert_eq!(issues(&app, "HON").await, ["CERTIFICATION_EXPIRED"]);

    // `expiresOn: null` makes it permanent.
    let cert = update(json!({ "expiresOn": null, "issuer": "ONSSA Tadla-Azilal" })).await;
    assert_eq!(cert["expiresOn"], Value::Null);
    assert_eq!(cert["issuer"], "ONSSA Tadla-Azilal");
    assert_eq!(cert["issuedOn"], days(-10).to_string(), "unchanged");
    assert_eq!(storefront(&app).await, set(&["HON"]));

    // Narrowed to a list that leaves HON out, then widened to all products again.
    let wax = product(db, &c, "WAX", "Beeswax", "honey").await;
    let cert = update(json!({ "productIds": [gid(NodeType::Product, wax.id)] })).await;
    assert_eq!(cert["coversAllProducts"], false);
    assert_eq!(cert["products"], json!([{ "sku": "WAX" }]));
    assert_eq!(storefront(&app).await, set(&["WAX"]));
    assert_eq!(issues(&app, "HON").await, ["MISSING_ONSSA_AUTHORIZATION"]);
    let cert = update(
        json!({ "productIds": [gid(NodeType::Product, hon.id), gid(NodeType::Product, wax.id)] }),
    )
    .await;
    assert_eq!(
        cert["products"],
        json!([{ "sku": "WAX" }, { "sku": "HON" }])
    );
    assert_eq!(storefront(&app).await, set(&["HON", "WAX"]));
    let cert = update(json!({ "productIds": [] })).await;
    assert_eq!(cert["coversAllProducts"], true);
    assert_eq!(cert["products"], json!([]));
    assert_eq!(
        certification_count(&app).await,
        (1, 0),
        "no coverage rows left"
    );

    // Revoked: nothing of it is sold any more.
    let revoked = data_as(
        &app,
        &manager,
        REVOKE,
        json!({ "i": { "id": id, "reason": "Hygiene failure at the inspection of 12 January" } }),
    )
    .await;
    let cert = &revoked["revokeCertification"]["certification"];
    assert_eq!(cert["isValid"], false);
    assert!(cert["revokedAt"].is_string());
    assert_eq!(
        cert["revokedReason"],
        "Hygiene failure at the inspection of 12 January"
    );
    assert!(storefront(&app).await.is_empty());
    assert_eq!(issues(&app, "HON").await, ["CERTIFICATION_REVOKED"]);
    assert_eq!(issues(&app, "WAX").await, ["CERTIFICATION_REVOKED"]);
}

#[tokio::test]
async fn certification_mutations_report_every_input_error_at_once_and_write_nothing() {
    let app = TestApp::spawn_at(now()).await;
    let db = &app.db;
    let c = coop(db, "Zerhoun Olives", K::Terroir).await;
    let own = product(db, &c, "OWN", "Olives", "olives").await;
    let other = coop(db, "Other Oils", K::Terroir).await;
    let foreign = product(db, &other, "FOREIGN", "Oil", "olive-oil").await;
    let manager = a_manager(&app).await;
    let add = |input: Value| {
        let (app, manager) = (&app, manager.clone());
        async move {
            data_as(app, &manager, ADD, json!({ "i": input })).await["addCertification"].clone()
        }
    };

    // An unknown cooperative, a blank number and issuer, a reversed range: all at once.
    let payload = add(json!({
        "cooperativeId": gid(NodeType::Cooperative, 999_999),
        "type": "ONSSA_APPROVAL", "number": "   ", "issuer": "",
        "issuedOn": "2026-01-10", "expiresOn": "2026-01-09" }))
    .await;
    assert_eq!(payload["certification"], Value::Null);
    assert_eq!(
        user_errors(&payload),
        [
            pair("input.cooperativeId", "NOT_FOUND"),
            pair("input.expiresOn", "INVALID_RANGE"),
            pair("input.issuer", "INVALID"),
            pair("input.number", "INVALID"),
        ]
    );

    // Coverage: a product of another cooperative and an unknown one, by position.
    let payload = add(json!({
        "cooperativeId": gid(NodeType::Cooperative, c.id),
        "type": "ONSSA_APPROVAL", "number": "X".repeat(81), "issuer": "ONSSA",
        "issuedOn": "2026-01-10",
        "productIds": [gid(NodeType::Product, own.id), gid(NodeType::Product, foreign.id), gid(NodeType::Product, 999_999)] }))
    .await;
    assert_eq!(
        user_errors(&payload),
        [
            pair("input.number", "TOO_LONG"),
            pair("input.productIds.1", "INVALID"),
            pair("input.productIds.2", "NOT_FOUND"),
        ]
    );
    assert_eq!(certification_count(&app).await, (0, 0), "nothing written");

    // A malformed ID is a malformed argument, not a user error.
    let response = app
        .graphql_as(
            Some(&manager),
            ADD,
            json!({ "i": { "cooperativeId": gid(NodeType::Product, own.id), "type": "PDO",
                           "number": "1", "issuer": "Normacert", "issuedOn": "2026-01-10" } }),
        )
        .await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");

    // The same expiry and issue date is a one-day certificate; duplicates in the list are one.
    let payload = add(json!({
        "cooperativeId": gid(NodeType::Cooperative, c.id),
        "type": "ONSSA_APPROVAL", "number": "AG.03.0042", "issuer": "ONSSA",
        "issuedOn": days(-30).to_string(), "expiresOn": days(300).to_string(),
        "productIds": [gid(NodeType::Product, own.id), gid(NodeType::Product, own.id)] }))
    .await;
    assert_eq!(payload["userErrors"], json!([]));
    let id = payload["certification"]["id"].as_str().unwrap().to_owned();
    assert_eq!(certification_count(&app).await, (1, 1));
    let stored = || async {
        certification::Entity::find()
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
    };
    let before = stored().await;

    // Corrections are checked against the stored dates, and every error comes at once.
    let update = |input: Value| {
        let (app, manager) = (&app, manager.clone());
        async move {
            data_as(app, &manager, UPDATE, json!({ "i": input })).await["updateCertification"]
                .clone()
        }
    };
    let payload = update(json!({ "id": id, "expiresOn": days(-31).to_string() })).await;
    assert_eq!(
        user_errors(&payload),
        [pair("input.expiresOn", "INVALID_RANGE")]
    );
    let payload = update(json!({ "id": id, "number": "", "issuer": " ",
        "productIds": [gid(NodeType::Product, foreign.id)] }))
    .await;
    assert_eq!(
        user_errors(&payload),
        [
            pair("input.issuer", "INVALID"),
            pair("input.number", "INVALID"),
            pair("input.productIds.0", "INVALID"),
        ]
    );
    assert_eq!(stored().await, before, "nothing written");
    assert_eq!(certification_count(&app).await, (1, 1));

    // Unknown certifications are NOT_FOUND, like every unknown object of a mutation.
    let response = app
        .graphql_as(
            Some(&manager),
            UPDATE,
            json!({ "i": { "id": gid(NodeType::Certification, 999_999), "number": "1" } }),
        )
        .await;
    assert_eq!(error_code(&response), "NOT_FOUND");
    let response = app
        .graphql_as(
            Some(&manager),
            REVOKE,
            json!({ "i": { "id": gid(NodeType::Certification, 999_999), "reason": "Gone" } }),
        )
        .await;
    assert_eq!(error_code(&response), "NOT_FOUND");

    // A revocation needs a reason, and is final.
    let revoke = |reason: &'static str| {
        let (app, manager, id) = (&app, manager.clone(), id.clone());
        async move {
            data_as(
                app,
                &manager,
                REVOKE,
                json!({ "i": { "id": id, "reason": reason } }),
            )
            .await["revokeCertification"]
                .clone()
        }
    };
    let payload = revoke("  ").await;
    assert_eq!(user_errors(&payload), [pair("input.reason", "INVALID")]);
    assert_eq!(stored().await, before, "not revoked");
    let payload = revoke("Closed the workshop").await;
    assert_eq!(payload["userErrors"], json!([]));
    let revoked = stored().await;
    assert!(revoked.revoked_at.is_some());
    let payload = revoke("Again").await;
    assert_eq!(user_errors(&payload), [pair("input.id", "INVALID_STATUS")]);
    let payload = update(json!({ "id": id, "expiresOn": days(900).to_string() })).await;
    assert_eq!(user_errors(&payload), [pair("input.id", "INVALID_STATUS")]);
    assert_eq!(
        stored().await,
        revoked,
        "a revoked certification stays as it was"
    );
}

/// What each kind of viewer must get from an operation.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Allowed,
    Unauthenticated,
    Forbidden,
}
use Expect::*;

#[tokio::test]
async fn only_managers_record_certifications_and_read_the_compliance_reports() {
    let app = TestApp::spawn_at(now()).await;
    let db = &app.db;
    let c = coop(db, "Amazigh Saffron", K::Terroir).await;
    let other = coop(db, "Other Argan", K::Cosmetics).await;
    product(db, &c, "SAF", "Saffron", "spices").await;
    let Actors {
        customer,
        own_member,
        other_member,
        manager,
    } = fixtures::actors_of(db, &c, &other).await;
    // One certification per viewer, so each attempt at a revocation has its own target.
    let mut targets = Vec::new();
    for _ in 0..5 {
        let cert = certify(db, &c, C::OnssaAuthorization, &[]).await;
        targets.push(gid(NodeType::Certification, cert.id));
    }
    let viewers = [
        ("anonymous", None, Unauthenticated),
        ("customer", Some(customer), Forbidden),
        ("member of the cooperative", Some(own_member), Forbidden),
        (
            "member of another cooperative",
            Some(other_member),
            Forbidden,
        ),
        ("manager", Some(manager), Allowed),
    ];
    let coop_id = gid(NodeType::Cooperative, c.id);
    for (n, (who, token, expected)) in viewers.iter().enumerate() {
        let target = &targets[n];
        let cases = [
            (
                "addCertification",
                ADD,
                json!({ "i": { "cooperativeId": coop_id, "type": "ORGANIC", "number": format!("BIO-{n}"),
                               "issuer": "Ecocert Maroc", "issuedOn": "2026-01-01" } }),
            ),
            (
                "updateCertification",
                UPDATE,
                json!({ "i": { "id": target, "number": format!("AS-{n}") } }),
            ),
            (
                "revokeCertification",
                REVOKE,
                json!({ "i": { "id": target, "reason": "Test" } }),
            ),
            ("expiringCertifications", EXPIRING, json!({ "d": 30 })),
            ("complianceReport", REPORT, json!({})),
        ];
        for (name, query, vars) in cases {
            let response = app.graphql_as(token.as_deref(), query, vars).await;
            let got = match response.get("errors") {
                None => Allowed,
                Some(_) => match error_code(&response) {
                    "UNAUTHENTICATED" => Unauthenticated,
                    "FORBIDDEN" => Forbidden,
                    other => panic!("{name} as {who}: unexpected {other}: {response}"),
                },
            };
            assert_eq!(got, *expected, "{name} as {who}: {response}");
            if got == Allowed {
                let payload = response["data"]
                    .as_object()
                    .unwrap()
                    .values()
                    .next()
                    .unwrap();
                assert!(
                    payload.get("userErrors").is_none_or(|e| e == &json!([])),
                    "{name} as {who} should succeed: {response}"
                );
            }
        }
    }
    // Only the manager's attempts wrote anything.
    assert_eq!(certification_count(&app).await.0, 6);
    let revoked = certification::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.revoked_at.is_some())
        .count();
    assert_eq!(revoked, 1);
}

#[tokio::test]
async fn members_read_their_cooperatives_invalid_certifications_and_the_public_sees_labels_without_revocation_reasons()
 {
    let app = TestApp::spawn_at(now()).await;
    let db = &app.db;
    let c = coop(db, "Ourika Herbs", K::Terroir).await;
    let other = coop(db, "Other Herbs", K::Terroir).await;
    let Actors {
        own_member,
        other_member,
        ..
    } = fixtures::actors_of(db, &c, &other).await;
    certify(db, &c, C::OnssaAuthorization, &[]).await;
    fixtures::certify(db, &c, C::Organic, days(-800), Some(days(-5)), &[]).await;
    let bad = certify(db, &c, C::OnssaApproval, &[]).await;
    fixtures::revoke(db, &bad, "Inspection report 2026-014").await;

    let mine = data_as(
        &app,
        &own_member,
        "{ myCooperative { certifications(includeInvalid: true) { type isValid revokedReason } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        mine["myCooperative"]["certifications"],
        json!([
            { "type": "ONSSA_AUTHORIZATION", "isValid": true, "revokedReason": null },
            { "type": "ORGANIC", "isValid": false, "revokedReason": null },
            { "type": "ONSSA_APPROVAL", "isValid": false, "revokedReason": "Inspection report 2026-014" },
        ])
    );

    // Labels are public, valid ones by default and the others on request; the reason of
    // a revocation stays between the market and the cooperative.
    let public = r#"query($slug: String!) { cooperative(slug: $slug) {
        valid: certifications { type }
        all: certifications(includeInvalid: true) { type isValid revokedAt revokedReason } } }"#;
    for token in [None, Some(other_member.as_str())] {
        let seen = app
            .graphql_as(token, public, json!({ "slug": c.slug }))
            .await;
        let coop = &seen["data"]["cooperative"];
        assert_eq!(coop["valid"], json!([{ "type": "ONSSA_AUTHORIZATION" }]));
        let all = coop["all"].as_array().unwrap();
        assert_eq!(all.len(), 3);
        assert!(all[2]["revokedAt"].is_string());
        assert!(all.iter().all(|c| c["revokedReason"].is_null()), "{seen}");
    }
}

#[tokio::test]
async fn expiring_certifications_lists_the_valid_ones_ending_within_the_window_soonest_first() {
    let app = TestApp::spawn_at(now()).await;
    let db = &app.db;
    let c = coop(db, "Figuig Dates", K::Terroir).await;
    let manager = a_manager(&app).await;
    let numbered = |number: &'static str, issued: i64, expires: Option<i64>| {
        let c = &c;
        async move {
            let cert = fixtures::certify(
                db,
                c,
                C::OnssaAuthorization,
                days(issued),
                expires.map(days),
                &[],
            )
            .await;
            renumber(db, cert, number).await
        }
    };
    numbered("IN-30", -100, Some(30)).await;
    numbered("TODAY", -100, Some(0)).await;
    numbered("IN-10-B", -50, Some(10)).await;
    numbered("IN-10-A", -100, Some(10)).await;
    numbered("IN-31", -100, Some(31)).await;
    numbered("YESTERDAY", -100, Some(-1)).await;
    numbered("FOREVER", -100, None).await;
    numbered("NOT-YET", 5, Some(20)).await;
    let revoked = numbered("REVOKED", -100, Some(5)).await;
    fixtures::revoke(db, &revoked, "Closed").await;

    assert_eq!(
        expiring_numbers(&app, &manager, 30).await,
        ["TODAY", "IN-10-B", "IN-10-A", "IN-30"]
    );
    assert_eq!(expiring_numbers(&app, &manager, 0).await, ["TODAY"]);
    assert_eq!(
        expiring_numbers(&app, &manager, 3660).await,
        ["TODAY", "IN-10-B", "IN-10-A", "IN-30", "IN-31"]
    );

    // Paged like every list, with the count of the whole window.
    let page = data_as(&app, &manager, EXPIRING, json!({ "d": 30, "first": 2 })).await;
    let conn = &page["expiringCertifications"];
    assert_eq!(conn["totalCount"], 4);
    assert_eq!(conn["pageInfo"]["hasNextPage"], true);
    assert_eq!(
        conn["nodes"],
        json!([
            { "number": "TODAY", "expiresOn": "2026-01-15", "isValid": true },
            { "number": "IN-10-B", "expiresOn": "2026-01-25", "isValid": true },
        ])
    );
    let next = data_as(
        &app,
        &manager,
        EXPIRING,
        json!({ "d": 30, "first": 2, "after": conn["pageInfo"]["endCursor"] }),
    )
    .await;
    let numbers: Vec<&str> = next["expiringCertifications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["IN-10-A", "IN-30"]);
    assert_eq!(
        next["expiringCertifications"]["pageInfo"]["hasNextPage"],
        false
    );

    for bad in [-1, 3661] {
        let response = app
            .graphql_as(Some(&manager), EXPIRING, json!({ "d": bad }))
            .await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "withinDays {bad}");
    }
}

/// Cooperatives with `n` unsellable products each, of several kinds and reasons.
async fn unsellable_catalog(db: &DatabaseConnection, tag: &str, n: usize) {
    let food = coop(db, &format!("Food {tag}"), K::Terroir).await;
    let cosmetics = coop(db, &format!("Cosmetics {tag}"), K::Cosmetics).await;
    let closed = suspended(db, &format!("Crafts {tag}"), K::Handicrafts).await;
    let mut listed = Vec::new();
    for i in 0..n {
        product(
            db,
            &food,
            &format!("F-{tag}-{i}"),
            &format!("Food {i}"),
            "honey",
        )
        .await;
        listed.push(
            product(
                db,
                &cosmetics,
                &format!("C-{tag}-{i}"),
                &format!("Soap {i}"),
                "soaps-hammam",
            )
            .await,
        );
        product(
            db,
            &closed,
            &format!("H-{tag}-{i}"),
            &format!("Rug {i}"),
            "weaving",
        )
        .await;
    }
    let refs: Vec<&product::Model> = listed.iter().collect();
    let cert = certify(db, &cosmetics, C::DmpAuthorization, &refs).await;
    fixtures::revoke(db, &cert, "Withdrawn").await;
}

#[tokio::test]
async fn the_compliance_report_groups_every_unsellable_product_with_its_issues_by_cooperative() {
    let app = TestApp::spawn_at(now()).await;
    let db = &app.db;
    let good = coop(db, "Good Oils", K::Terroir).await;
    product(db, &good, "GOOD", "Olive oil", "olive-oil").await;
    inactive(db, &good, "RETIRED", "Old oil", "olive-oil").await;
    certify(db, &good, C::OnssaAuthorization, &[]).await;
    let crafts = coop(db, "Fine Crafts", K::Handicrafts).await;
    product(db, &crafts, "RUG", "Rug", "weaving").await;
    unsellable_catalog(db, "A", 2).await;
    let manager = a_manager(&app).await;

    let report = data_as(&app, &manager, REPORT, json!({})).await;
    #[allow(clippy::type_complexity)] // (cooperative, [(sku, [issue code])])
    let summary: Vec<(String, Vec<(String, Vec<String>)>)> = report["complianceReport"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let products = c["products"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let codes = p["issues"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|i| i["code"].as_str().unwrap().to_owned())
                        .collect();
                    (p["product"]["sku"].as_str().unwrap().to_owned(), codes)
                })
                .collect();
            (
                c["cooperative"]["name"].as_str().unwrap().to_owned(),
                products,
            )
        })
        .collect();
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        summary,
        vec![
            (
                "Cosmetics A".to_owned(),
                vec![
                    ("C-A-0".to_owned(), s(&["CERTIFICATION_REVOKED"])),
                    ("C-A-1".to_owned(), s(&["CERTIFICATION_REVOKED"])),
                ]
            ),
            (
                "Crafts A".to_owned(),
                vec![
                    ("H-A-0".to_owned(), s(&["COOPERATIVE_SUSPENDED"])),
                    ("H-A-1".to_owned(), s(&["COOPERATIVE_SUSPENDED"])),
                ]
            ),
            (
                "Food A".to_owned(),
                vec![
                    ("F-A-0".to_owned(), s(&["MISSING_ONSSA_AUTHORIZATION"])),
                    ("F-A-1".to_owned(), s(&["MISSING_ONSSA_AUTHORIZATION"])),
                ]
            ),
            (
                "Good Oils".to_owned(),
                vec![("RETIRED".to_owned(), s(&["PRODUCT_INACTIVE"]))]
            ),
        ]
    );
    assert!(
        report["complianceReport"][0]["products"][0]["issues"][0]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );

    // The report reads the same number of statements whatever the number of products.
    let (small, _) = app
        .count_statements(data_as(&app, &manager, REPORT, json!({})))
        .await;
    unsellable_catalog(db, "B", 10).await;
    unsellable_catalog(db, "C", 10).await;
    let (large, data) = app
        .count_statements(data_as(&app, &manager, REPORT, json!({})))
        .await;
    assert_eq!(data["complianceReport"].as_array().unwrap().len(), 10);
    assert_eq!(
        small, large,
        "statements: {small} for 7 products, {large} for 67"
    );

    // Once certified, a cooperative leaves the report.
    let food_a = cooperative::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "Food A")
        .unwrap();
    certify(db, &food_a, C::OnssaApproval, &[]).await;
    let report = data_as(&app, &manager, REPORT, json!({})).await;
    let names: Vec<&str> = report["complianceReport"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cooperative"]["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"Food A"), "{names:?}");
    assert_eq!(names.len(), 9);
}

#[tokio::test]
async fn the_demo_catalog_stages_every_compliance_case() {
    let app = TestApp::with_demo().await;
    let login = app
        .data(
            r#"mutation { login(input: { email: "manager@solidarity-market.ma", password: "manager-demo-2026" }) { token } }"#,
            json!({}),
        )
        .await;
    let manager = login["login"]["token"].as_str().unwrap().to_owned();
    let report = data_as(&app, &manager, REPORT, json!({})).await;
    let codes: BTreeSet<&str> = report["complianceReport"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["products"].as_array().unwrap())
        .flat_map(|p| p["issues"].as_array().unwrap())
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    for code in [
        "MISSING_ONSSA_AUTHORIZATION",
        "MISSING_DMP_AUTHORIZATION",
        "CERTIFICATION_EXPIRED",
        "CERTIFICATION_REVOKED",
        "COOPERATIVE_SUSPENDED",
        "PRODUCT_INACTIVE",
    ] {
        assert!(codes.contains(code), "the demo shows {code}: {codes:?}");
    }
    // Something to renew soon, too.
    let soon = data_as(&app, &manager, EXPIRING, json!({ "d": 30 })).await;
    assert!(
        soon["expiringCertifications"]["totalCount"]
            .as_i64()
            .unwrap()
            >= 1,
        "{soon}"
    );
}
