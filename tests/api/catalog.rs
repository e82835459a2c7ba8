//! The storefront's catalog: listing, filters, sorting, pagination, lookups, batching.

use crate::fixtures::{self, NewCoop, NewProduct, days_from_today};
use crate::helpers::{TestApp, error_code};
use serde_json::{Value, json};
use solidarity_market::domain::enums::{CertificationType as C, CooperativeKind as K};

/// Four cooperatives: certified Terroir in Fès, certified Cosmetics, Handicrafts (no
/// certificate needed) and an uncertified Terroir one whose honey cannot be sold.
async fn small_catalog() -> TestApp {
    let app = TestApp::spawn().await;
    let db = &app.db;
    let fes = fixtures::coop(
        db,
        NewCoop::new("Coopérative Fès Saïss", K::Terroir, "MA-03"),
    )
    .await;
    fixtures::product(
        db,
        &fes,
        NewProduct {
            age: 3,
            ..NewProduct::new("OIL-1L", "Extra virgin olive oil", "olive-oil", 8500, 10)
        },
    )
    .await;
    fixtures::product(
        db,
        &fes,
        NewProduct {
            age: 2,
            ..NewProduct::new("OLV-500", "Black olives", "olives", 3000, 0)
        },
    )
    .await;
    fixtures::product(
        db,
        &fes,
        NewProduct {
            age: 1,
            ..NewProduct::new("LEM-250", "Preserved lemons", "preserves", 2550, 5)
        },
    )
    .await;
    fixtures::certify(
        db,
        &fes,
        C::OnssaAuthorization,
        days_from_today(-100),
        Some(days_from_today(300)),
        &[],
    )
    .await;

    let argan = fixtures::coop(db, NewCoop::new("Tighanimine", K::Cosmetics, "MA-09")).await;
    fixtures::product(
        db,
        &argan,
        NewProduct {
            age: 4,
            ..NewProduct::new("ARG-100", "Argan oil", "cosmetics", 12000, 3)
        },
    )
    .await;
    fixtures::certify(
        db,
        &argan,
        C::DmpAuthorization,
        days_from_today(-10),
        None,
        &[],
    )
    .await;

    let safi = fixtures::coop(db, NewCoop::new("Poterie de Safi", K::Handicrafts, "MA-07")).await;
    fixtures::product(
        db,
        &safi,
        NewProduct {
            age: 5,
            ..NewProduct::new("TAJ-30", "Tajine 30 cm", "pottery", 25000, 2)
        },
    )
    .await;

    let honey = fixtures::coop(db, NewCoop::new("Miel de l'Atlas", K::Terroir, "MA-09")).await;
    fixtures::product(
        db,
        &honey,
        NewProduct::new("HON-500", "Thyme honey", "honey", 9000, 7),
    )
    .await;
    app
}

const LIST: &str = r#"
query($first: Int, $after: String, $last: Int, $before: String, $filter: ProductFilterInput, $sort: ProductSort) {
  products(first: $first, after: $after, last: $last, before: $before, filter: $filter, sort: $sort) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { sku name price { amount currencyCode } stock { available inStock } } }
  }
}"#;

fn skus(data: &Value) -> Vec<String> {
    data["products"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["sku"].as_str().unwrap().to_owned())
        .collect()
}

async fn list(app: &TestApp, vars: Value) -> Value {
    app.data(LIST, vars).await
}

#[tokio::test]
async fn storefront_lists_only_sellable_products_with_money_as_decimal_strings() {
    let app = small_catalog().await;
    let data = list(&app, json!({ "sort": { "field": "PRICE" } })).await;
    assert_eq!(
        skus(&data),
        ["LEM-250", "OLV-500", "OIL-1L", "ARG-100", "TAJ-30"]
    );
    assert_eq!(data["products"]["totalCount"], 5);
    let first = &data["products"]["edges"][0]["node"];
    assert_eq!(
        first["price"],
        json!({ "amount": "25.50", "currencyCode": "MAD" })
    );
    assert_eq!(first["stock"], json!({ "available": 5, "inStock": true }));
}

#[tokio::test]
async fn search_is_case_and_accent_insensitive_and_covers_cooperative_names() {
    let app = small_catalog().await;
    for needle in ["fes", "FÈS", "Saiss"] {
        let data = list(
            &app,
            json!({ "filter": { "search": needle }, "sort": { "field": "PRICE" } }),
        )
        .await;
        assert_eq!(
            skus(&data),
            ["LEM-250", "OLV-500", "OIL-1L"],
            "search {needle}"
        );
    }
    let data = list(&app, json!({ "filter": { "search": "ARGAN" } })).await;
    assert_eq!(skus(&data), ["ARG-100"]);
    let data = list(&app, json!({ "filter": { "search": "100%_" } })).await;
    assert_eq!(
        skus(&data),
        Vec::<String>::new(),
        "LIKE wildcards are literal"
    );
}

#[tokio::test]
async fn filters_combine_kind_region_segment_certification_stock_and_price() {
    let app = small_catalog().await;
    let cases = [
        (
            json!({ "kind": "TERROIR" }),
            vec!["LEM-250", "OLV-500", "OIL-1L"],
        ),
        (json!({ "region": "MA-07" }), vec!["TAJ-30"]),
        (json!({ "segment": "olives" }), vec!["OLV-500"]),
        (
            json!({ "certification": "DMP_AUTHORIZATION" }),
            vec!["ARG-100"],
        ),
        (
            json!({ "certification": "ONSSA_AUTHORIZATION", "inStock": true }),
            vec!["LEM-250", "OIL-1L"],
        ),
        (json!({ "inStock": false }), vec!["OLV-500"]),
        (
            json!({ "priceMin": "30", "priceMax": "120.00" }),
            vec!["OLV-500", "OIL-1L", "ARG-100"],
        ),
    ];
    for (filter, expected) in cases {
        let data = list(
            &app,
            json!({ "filter": filter, "sort": { "field": "PRICE" } }),
        )
        .await;
        assert_eq!(skus(&data), expected, "filter {filter}");
        assert_eq!(
            data["products"]["totalCount"],
            expected.len(),
            "count for {filter}"
        );
    }
    let response = app
        .graphql(LIST, json!({ "filter": { "priceMin": "1.005" } }))
        .await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
}

#[tokio::test]
async fn sorts_by_name_price_and_newest_both_ways() {
    let app = small_catalog().await;
    let order = |field: &str, direction: &str| json!({ "sort": { "field": field, "direction": direction } });
    assert_eq!(
        skus(&list(&app, order("NAME", "ASC")).await),
        ["ARG-100", "OLV-500", "OIL-1L", "LEM-250", "TAJ-30"]
    );
    assert_eq!(
        skus(&list(&app, order("PRICE", "DESC")).await),
        ["TAJ-30", "ARG-100", "OIL-1L", "OLV-500", "LEM-250"]
    );
    assert_eq!(
        skus(&list(&app, order("NEWEST", "ASC")).await),
        ["TAJ-30", "ARG-100", "OIL-1L", "OLV-500", "LEM-250"]
    );
    assert_eq!(
        skus(&list(&app, order("NEWEST", "DESC")).await),
        ["LEM-250", "OLV-500", "OIL-1L", "ARG-100", "TAJ-30"]
    );
}

#[tokio::test]
async fn cursors_page_forward_and_backward_through_the_whole_list() {
    let app = small_catalog().await;
    let sort = json!({ "field": "PRICE", "direction": "DESC" });
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let data = list(&app, json!({ "first": 2, "after": after, "sort": sort })).await;
        seen.extend(skus(&data));
        let info = &data["products"]["pageInfo"];
        assert_eq!(info["hasPreviousPage"], after.is_some());
        if info["hasNextPage"] == false {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, ["TAJ-30", "ARG-100", "OIL-1L", "OLV-500", "LEM-250"]);

    let last = list(&app, json!({ "last": 2, "sort": sort })).await;
    assert_eq!(skus(&last), ["OLV-500", "LEM-250"]);
    assert_eq!(last["products"]["pageInfo"]["hasPreviousPage"], true);
    let before = last["products"]["pageInfo"]["startCursor"]
        .as_str()
        .unwrap();
    let earlier = list(&app, json!({ "last": 2, "before": before, "sort": sort })).await;
    assert_eq!(skus(&earlier), ["ARG-100", "OIL-1L"]);
    assert_eq!(earlier["products"]["pageInfo"]["hasNextPage"], true);
}

#[tokio::test]
async fn oversized_pages_and_bad_cursors_are_refused_with_codes() {
    let app = small_catalog().await;
    let response = app.graphql(LIST, json!({ "first": 101 })).await;
    assert_eq!(error_code(&response), "PAGE_SIZE_EXCEEDED");
    let response = app.graphql(LIST, json!({ "first": 2, "last": 2 })).await;
    assert_eq!(error_code(&response), "PAGE_SIZE_EXCEEDED");
    let response = app.graphql(LIST, json!({ "first": -1 })).await;
    assert_eq!(error_code(&response), "PAGE_SIZE_EXCEEDED");
    let response = app
        .graphql(LIST, json!({ "after": "bm90IGEgY3Vyc29y" }))
        .await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
}

#[tokio::test]
async fn products_and_cooperatives_resolve_by_readable_key_global_id_and_node() {
    let app = small_catalog().await;
    let data = app
        .data(
            r#"{ product(sku: "HON-500") { id sku isSellable cooperative { id slug name kind region { code name } } } }"#,
            json!({}),
        )
        .await;
    let product = &data["product"];
    assert_eq!(
        product["isSellable"], false,
        "unsellable products still resolve by SKU"
    );
    let (pid, cid) = (product["id"].clone(), product["cooperative"]["id"].clone());
    let slug = product["cooperative"]["slug"].clone();

    let data = app
        .data(
            r#"query($p: ID!, $c: ID!, $slug: String!) {
                 product(id: $p) { sku }
                 cooperative(slug: $slug) { id }
                 nodes(ids: [$p, $c]) { id ... on Product { sku } ... on Cooperative { name } }
                 node(id: $c) { ... on Cooperative { slug } }
               }"#,
            json!({ "p": pid, "c": cid, "slug": slug }),
        )
        .await;
    assert_eq!(data["product"]["sku"], "HON-500");
    assert_eq!(data["cooperative"]["id"], cid);
    assert_eq!(data["nodes"][0]["sku"], "HON-500");
    assert_eq!(data["nodes"][1]["name"], "Miel de l'Atlas");
    assert_eq!(data["node"]["slug"], slug);

    let response = app
        .graphql(
            r#"query($c: ID!) { product(id: $c) { sku } }"#,
            json!({ "c": cid }),
        )
        .await;
    assert_eq!(
        error_code(&response),
        "BAD_USER_INPUT",
        "a cooperative ID is not a product ID"
    );
    let data = app
        .data(r#"{ product(sku: "NOPE") { sku } }"#, json!({}))
        .await;
    assert_eq!(data["product"], Value::Null);
}

#[tokio::test]
async fn cooperatives_list_filters_and_hides_private_fields_from_the_public() {
    let app = small_catalog().await;
    let data = app
        .data(
            r#"{ cooperatives(filter: { kind: TERROIR }) { totalCount edges { node { name payoutAccount contactEmail
                 products(first: 10) { totalCount } } } } }"#,
            json!({}),
        )
        .await;
    let coops = &data["cooperatives"];
    assert_eq!(coops["totalCount"], 2);
    assert_eq!(coops["edges"][0]["node"]["name"], "Coopérative Fès Saïss");
    assert_eq!(coops["edges"][0]["node"]["products"]["totalCount"], 3);
    assert_eq!(coops["edges"][0]["node"]["payoutAccount"], Value::Null);
    assert_eq!(coops["edges"][0]["node"]["contactEmail"], Value::Null);
    assert_eq!(
        coops["edges"][1]["node"]["products"]["totalCount"], 0,
        "uncertified honey is not listed"
    );

    let data = app
        .data(r#"{ cooperatives(filter: { search: "fes", region: "MA-03" }) { edges { node { slug } } } }"#, json!({}))
        .await;
    assert_eq!(data["cooperatives"]["edges"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn regions_and_segments_are_reference_data() {
    let app = small_catalog().await;
    let data = app
        .data(r#"{ regions { code name listedCooperativeCount provinces } segments(kind: HANDICRAFTS) { slug kind } }"#, json!({}))
        .await;
    let regions = data["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 12);
    let souss = regions.iter().find(|r| r["code"] == "MA-09").unwrap();
    assert_eq!(souss["listedCooperativeCount"], 2);
    assert!(!souss["provinces"].as_array().unwrap().is_empty());
    assert!(
        data["segments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["kind"] == "HANDICRAFTS")
    );
}

/// A page of products with everything the storefront shows must cost the same number of
/// SQL statements for 5 products as for 100: the page joined to its cooperatives, regions
/// and segments; the certifications of the page with their coverage; and `totalCount`.
#[tokio::test]
async fn a_catalog_page_needs_the_same_number_of_statements_whatever_its_size() {
    let app = TestApp::with_demo().await;
    let query = r#"query($n: Int!, $sort: ProductSort) { products(first: $n, sort: $sort, filter: { includeUnsellable: false }) {
        totalCount
        edges { node { sku price { amount } isSellable complianceIssues { code }
          segment { slug name }
          cooperative { name slug region { code name } certifications { type number } }
          certifications { type expiresOn }
          stock { available inStock } } } } }"#;
    // Oldest first: pages of single products (the demo's gift pack is its newest product).
    let oldest = json!({ "field": "NEWEST", "direction": "DESC" });
    let (small, data) = app
        .count_statements(app.data(query, json!({ "n": 5, "sort": oldest })))
        .await;
    assert_eq!(data["products"]["edges"].as_array().unwrap().len(), 5);
    let (large, data) = app
        .count_statements(app.data(query, json!({ "n": 100, "sort": oldest })))
        .await;
    assert_eq!(data["products"]["edges"].as_array().unwrap().len(), 100);
    assert_eq!(small, large, "statements for 5 products vs 100");
    assert_eq!(
        large, 3,
        "statements for one page with its relations and count"
    );
    // Newest first, both pages hold the demo's gift pack (issue #18): its components'
    // stock and compliance take two more statements, for any number of packs.
    let newest = json!({ "field": "NEWEST" });
    let (small, data) = app
        .count_statements(app.data(query, json!({ "n": 5, "sort": newest })))
        .await;
    assert_eq!(data["products"]["edges"][0]["node"]["sku"], "GIFT-HAMAM-01");
    let (large, _) = app
        .count_statements(app.data(query, json!({ "n": 100, "sort": newest })))
        .await;
    assert_eq!(
        (small, large),
        (5, 5),
        "statements with a gift pack, 5 vs 100"
    );
}

/// A product page's query — the product with its segment, cooperative and region, its
/// certifications and sellability — costs two statements, by SKU or by ID: the product
/// joined to its relations, then its cooperative's certifications with their coverage.
#[tokio::test]
async fn one_product_with_its_relations_needs_two_statements() {
    let app = TestApp::with_demo().await;
    let fields = r#"sku name price { amount } isSellable complianceIssues { code }
        stock { available } segment { slug name }
        cooperative { name kind region { code name } }
        certifications { type number expiresOn }"#;
    let listed = app
        .data(
            "{ products(first: 50) { nodes { sku certifications { type } } } }",
            json!({}),
        )
        .await;
    let sku = listed["products"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| !p["certifications"].as_array().unwrap().is_empty())
        .expect("a certified product in the demo")["sku"]
        .clone();
    let by_sku = format!("query($sku: String!) {{ product(sku: $sku) {{ id {fields} }} }}");
    let (statements, data) = app
        .count_statements(app.data(&by_sku, json!({ "sku": sku })))
        .await;
    let product = &data["product"];
    assert_eq!(product["sku"], sku, "{data}");
    assert!(
        product["cooperative"]["region"]["code"].is_string(),
        "{data}"
    );
    assert!(product["segment"]["slug"].is_string(), "{data}");
    assert!(
        !product["certifications"].as_array().unwrap().is_empty(),
        "{data}"
    );
    assert_eq!(statements, 2, "product by SKU with its relations");

    let by_id = format!("query($id: ID!) {{ product(id: $id) {{ {fields} }} }}");
    let (statements, same) = app
        .count_statements(app.data(&by_id, json!({ "id": product["id"] })))
        .await;
    assert_eq!(same["product"]["sku"], sku);
    assert_eq!(same["product"]["certifications"], product["certifications"]);
    assert_eq!(statements, 2, "product by ID with its relations");

    // An unknown SKU is null, in one statement.
    let (statements, none) = app
        .count_statements(app.data(&by_sku, json!({ "sku": "NOPE-000" })))
        .await;
    assert!(none["product"].is_null(), "{none}");
    assert_eq!(statements, 1);
}

/// The storefront's cooperatives page with each cooperative's region and first products
/// costs two statements whatever its size: the cooperatives joined to their regions, then
/// the first page of products of every cooperative at once. Counts are read only when asked.
#[tokio::test]
async fn cooperatives_with_their_products_need_two_statements_whatever_the_page_size() {
    let app = TestApp::with_demo().await;
    let query = r#"query($n: Int!) { cooperatives(first: $n) {
        nodes { slug region { code name }
          products(first: 5) { nodes { sku name price { amount } stock { available } } } } } }"#;
    let (small, data) = app
        .count_statements(app.data(query, json!({ "n": 2 })))
        .await;
    assert_eq!(data["cooperatives"]["nodes"].as_array().unwrap().len(), 2);
    let (large, data) = app
        .count_statements(app.data(query, json!({ "n": 20 })))
        .await;
    let nodes = data["cooperatives"]["nodes"].as_array().unwrap();
    assert!(nodes.len() > 2, "the demo has more than two cooperatives");
    assert!(
        nodes
            .iter()
            .any(|c| !c["products"]["nodes"].as_array().unwrap().is_empty())
    );
    assert_eq!(
        small,
        large,
        "statements for 2 cooperatives vs {}",
        nodes.len()
    );
    assert_eq!(large, 2, "cooperatives with regions, then their products");

    // Asking for the counts adds their statements, not one per cooperative.
    let counted = r#"query($n: Int!) { cooperatives(first: $n) { totalCount
        nodes { slug products(first: 5) { totalCount nodes { sku } } } } }"#;
    let (small, _) = app
        .count_statements(app.data(counted, json!({ "n": 2 })))
        .await;
    let (large, _) = app
        .count_statements(app.data(counted, json!({ "n": 20 })))
        .await;
    assert_eq!(small, large, "counted: statements for 2 cooperatives vs 20");
}

#[tokio::test]
async fn cooperatives_page_by_listing_date_with_cursors() {
    let app = TestApp::with_demo().await;
    let query = r#"query($after: String) { cooperatives(first: 7, after: $after, sort: { field: NEWEST }) {
        totalCount pageInfo { hasNextPage endCursor } nodes { slug listedSince } } }"#;
    let (mut after, mut seen) = (None::<String>, Vec::new());
    loop {
        let data = app.data(query, json!({ "after": after })).await;
        let page = &data["cooperatives"];
        for node in page["nodes"].as_array().unwrap() {
            seen.push((
                node["listedSince"].as_str().unwrap().to_owned(),
                node["slug"].as_str().unwrap().to_owned(),
            ));
        }
        if page["pageInfo"]["hasNextPage"] == false {
            assert_eq!(seen.len() as i64, page["totalCount"].as_i64().unwrap());
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    let dates: Vec<&String> = seen.iter().map(|(d, _)| d).collect();
    assert!(
        dates.windows(2).all(|w| w[0] >= w[1]),
        "newest first across pages: {dates:?}"
    );
    let mut slugs: Vec<&String> = seen.iter().map(|(_, s)| s).collect();
    slugs.sort();
    slugs.dedup();
    assert_eq!(slugs.len(), seen.len(), "no cooperative twice");
}
