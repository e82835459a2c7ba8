//! The catalog in French, Arabic and any configured language: `Accept-Language` with
//! q-values, `@inContext(language:)`, fallback chains, `Content-Language`, the
//! translations of the portal and back office, and the import's translation columns.

use crate::fixtures::{self, account};
use crate::helpers::{TestApp, error_code, send_to};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use solidarity_market::domain::enums::Role;
use solidarity_market::domain::i18n::Languages;
use solidarity_market::domain::import::import_catalog;
use solidarity_market::graphql::ids::{NodeType, encode};

/// Runs `query` with `Accept-Language: accept` (none when `None`) as `token`: the status,
/// the `Content-Language` and the body.
async fn in_language(
    app: &TestApp,
    accept: Option<&str>,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/graphql-response+json");
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT_LANGUAGE, accept);
    }
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = json!({ "query": query, "variables": variables }).to_string();
    let (status, headers, text) =
        send_to(&app.router, request.body(Body::from(body)).unwrap()).await;
    let language = headers
        .get(header::CONTENT_LANGUAGE)
        .map(|v| v.to_str().unwrap().to_owned());
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, language, value)
}

/// The data of a request that must succeed, and its `Content-Language`.
async fn data_in(app: &TestApp, accept: Option<&str>, query: &str) -> (String, Value) {
    let (_, language, response) = in_language(app, accept, None, query, json!({})).await;
    assert!(response.get("errors").is_none(), "{response:#}");
    (
        language.expect("Content-Language"),
        response["data"].clone(),
    )
}

const OLIVE_OIL: &str = r#"{ product(sku: "OLV-OUZ-001") {
    name description language
    segment { name description language }
    cooperative { name description language province region { name language provinces } } } }"#;

#[tokio::test]
async fn accept_language_ar_names_the_demos_products_segments_and_cooperatives_in_arabic() {
    let app = TestApp::with_demo().await;
    let (language, data) = data_in(&app, Some("ar-MA, ar;q=0.9, fr;q=0.5"), OLIVE_OIL).await;
    assert_eq!(language, "ar");
    let p = &data["product"];
    assert_eq!(p["name"], "زيت الزيتون البكر الممتاز");
    assert_eq!(p["language"], "ar");
    assert!(
        p["description"]
            .as_str()
            .unwrap()
            .starts_with("زيت معصور على البارد")
    );
    assert_eq!(p["segment"]["name"], "زيت الزيتون");
    assert_eq!(p["segment"]["language"], "ar");
    assert_eq!(p["cooperative"]["name"], "تعاونية زيتون وزان الفلاحية");
    assert_eq!(p["cooperative"]["language"], "ar");
    assert_eq!(p["cooperative"]["region"]["name"], "طنجة-تطوان-الحسيمة");
    assert!(
        p["cooperative"]["region"]["provinces"]
            .as_array()
            .unwrap()
            .contains(&json!("تطوان")),
        "{p:#}"
    );

    // French by q-value; English (the base) without a header or for an unknown language.
    let (language, data) = data_in(&app, Some("de, fr;q=0.8, ar;q=0.2"), OLIVE_OIL).await;
    assert_eq!(language, "fr");
    assert_eq!(data["product"]["name"], "Huile d'olive vierge extra");
    assert_eq!(data["product"]["segment"]["name"], "Huile d'olive");
    for accept in [None, Some("de-DE"), Some("ar;q=0, en;q=0.1")] {
        let (language, data) = data_in(&app, accept, OLIVE_OIL).await;
        assert_eq!(language, "en", "{accept:?}");
        assert_eq!(data["product"]["name"], "Extra virgin olive oil");
        assert_eq!(data["product"]["language"], "en");
        assert_eq!(data["product"]["segment"]["name"], "Olive oil");
        assert!(
            !data["product"]["segment"]["description"]
                .as_str()
                .unwrap()
                .is_empty(),
            "segments have an English description"
        );
    }

    // Every product, segment and cooperative of the demo has Arabic text (a page of the
    // whole catalog, sellable or not, read by a manager).
    let manager = account(&app.db, "manager@i18n.ma", Role::Manager, None).await;
    let query = r#"query($after: String) { products(first: 100, after: $after, filter: { includeUnsellable: true }) {
        pageInfo { hasNextPage endCursor }
        nodes { sku name language segment { name language } cooperative { name language } } } }"#;
    let mut after = Value::Null;
    let mut seen = 0;
    loop {
        let (_, _, response) = in_language(
            &app,
            Some("ar"),
            Some(&manager),
            query,
            json!({ "after": after }),
        )
        .await;
        let page = &response["data"]["products"];
        for node in page["nodes"].as_array().expect("nodes") {
            for (what, o) in [
                ("product", node),
                ("segment", &node["segment"]),
                ("cooperative", &node["cooperative"]),
            ] {
                assert_eq!(o["language"], "ar", "{what} of {}: {o}", node["sku"]);
                assert!(
                    o["name"]
                        .as_str()
                        .unwrap()
                        .chars()
                        .any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
                    "{what} of {} is not in Arabic: {o}",
                    node["sku"]
                );
            }
            seen += 1;
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    // The demo's catalog and its Hamam gift set (issue #18).
    assert_eq!(seen, 258);
}

#[tokio::test]
async fn any_script_works_and_a_missing_text_falls_back_along_the_chain() {
    let app = TestApp::with_demo_and(|c| {
        c.languages = Languages::parse("en,fr,ar:fr,zgh:fr").unwrap();
    })
    .await;
    let (language, data) = data_in(&app, Some("zgh"), OLIVE_OIL).await;
    assert_eq!(language, "zgh");
    let p = &data["product"];
    // Tamazight names for segments and regions (Tifinagh); the rest falls back to French.
    assert_eq!(p["segment"]["name"], "ⵣⵣⵉⵜ ⵏ ⵓⵣⵎⵎⵓⵔ");
    assert_eq!(p["segment"]["language"], "zgh");
    assert_eq!(p["cooperative"]["region"]["name"], "ⵟⴰⵏⵊⴰ-ⵜⵉⵟⵟⴰⵡⵉⵏ-ⵍⵃⵓⵙⵉⵎⴰ");
    assert_eq!(p["name"], "Huile d'olive vierge extra");
    assert_eq!(p["language"], "fr");
    // The segment's description has no Tamazight text: French, never empty.
    assert!(
        p["segment"]["description"]
            .as_str()
            .unwrap()
            .starts_with("Huiles d'olive")
    );
    let data = app
        .data(
            "{ languages { code direction fallbacks isBase } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["languages"],
        json!([
            { "code": "en", "direction": "LTR", "fallbacks": [], "isBase": true },
            { "code": "fr", "direction": "LTR", "fallbacks": ["en"], "isBase": false },
            { "code": "ar", "direction": "RTL", "fallbacks": ["fr", "en"], "isBase": false },
            { "code": "zgh", "direction": "LTR", "fallbacks": ["fr", "en"], "isBase": false },
        ])
    );
}

#[tokio::test]
async fn in_context_overrides_accept_language_for_one_operation() {
    let app = TestApp::with_demo().await;
    let query = r#"query Names @inContext(language: "fr") { product(sku: "OLV-OUZ-001") { name language } }"#;
    let (_, language, response) = in_language(&app, Some("ar"), None, query, json!({})).await;
    assert_eq!(language.as_deref(), Some("fr"));
    assert_eq!(
        response["data"]["product"]["name"],
        "Huile d'olive vierge extra"
    );

    let query = r#"query Names($l: String!) @inContext(language: $l) { product(sku: "OLV-OUZ-001") { name } }"#;
    let (_, language, response) =
        in_language(&app, None, None, query, json!({ "l": "ar-MA" })).await;
    assert_eq!(language.as_deref(), Some("ar"));
    assert_eq!(
        response["data"]["product"]["name"],
        "زيت الزيتون البكر الممتاز"
    );

    let (status, _, response) = in_language(&app, None, None, query, json!({ "l": "de" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("en, fr, ar")
    );
}

#[tokio::test]
async fn compliance_messages_speak_the_request_language() {
    let app = TestApp::with_demo().await;
    // The spice cooperative of the Chaouia is suspended.
    let query = r#"{ product(sku: "SPC-BRC-001") { complianceIssues { code message language } } }"#;
    let (_, data) = data_in(&app, Some("fr"), query).await;
    let issue = &data["product"]["complianceIssues"][0];
    assert_eq!(issue["code"], "COOPERATIVE_SUSPENDED");
    assert_eq!(issue["language"], "fr");
    assert!(
        issue["message"].as_str().unwrap().contains("est suspendue"),
        "{issue}"
    );
    let (_, data) = data_in(&app, Some("ar"), query).await;
    let issue = &data["product"]["complianceIssues"][0];
    assert!(
        issue["message"].as_str().unwrap().contains("موقوفة"),
        "{issue}"
    );
    let (_, data) = data_in(&app, None, query).await;
    let issue = &data["product"]["complianceIssues"][0];
    assert!(
        issue["message"]
            .as_str()
            .unwrap()
            .ends_with("is suspended."),
        "{issue}"
    );
    // A certification message fills every placeholder.
    let query = r#"{ product(sku: "HON-MAM-001") { complianceIssues { code message } } }"#;
    let (_, data) = data_in(&app, Some("fr"), query).await;
    let message = data["product"]["complianceIssues"][0]["message"]
        .as_str()
        .unwrap();
    assert!(message.contains(" a expiré le "), "{message}");
    assert!(!message.contains('{'), "{message}");
}

async fn catalog_version(app: &TestApp) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT MAX(id) AS v FROM catalog_changes",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "v").unwrap()
}

const SET: &str = "mutation($i: SetTranslationInput!) { setTranslation(input: $i) {
    translation { language direction name description } userErrors { field code message } } }";
const REMOVE: &str = "mutation($i: RemoveTranslationInput!) { removeTranslation(input: $i) {
    removed userErrors { field code } } }";

#[tokio::test]
async fn a_member_translates_its_products_and_readers_see_it_at_once() {
    // With the response cache on: a translation must not be hidden by a cached answer.
    let app = TestApp::spawn_with(|c| {
        c.response_cache = solidarity_market::config::Switch::On;
    })
    .await;
    let p = fixtures::portal(&app.db).await;
    let product = encode(NodeType::Product, p.product.id).to_string();
    let read = r#"{ products(first: 5) { nodes { name description language translations { language name } } } }"#;
    let (_, data) = data_in(&app, Some("ar"), read).await;
    assert_eq!(data["products"]["nodes"][0]["name"], "Thyme honey");
    assert_eq!(data["products"]["nodes"][0]["language"], "en");

    let before = catalog_version(&app).await;
    let response = app
        .graphql_as(
            Some(&p.actors.own_member),
            SET,
            json!({ "i": { "id": product, "language": "AR", "name": "  عسل الزعتر ", "description": "عسل من الأطلس" } }),
        )
        .await;
    assert_eq!(
        response["data"]["setTranslation"],
        json!({ "translation": { "language": "ar", "direction": "RTL", "name": "عسل الزعتر", "description": "عسل من الأطلس" }, "userErrors": [] }),
        "{response}"
    );
    assert!(
        catalog_version(&app).await > before,
        "the catalog version moves"
    );
    let (_, data) = data_in(&app, Some("ar"), read).await;
    let node = &data["products"]["nodes"][0];
    assert_eq!(node["name"], "عسل الزعتر");
    assert_eq!(node["description"], "عسل من الأطلس");
    assert_eq!(
        node["translations"],
        json!([{ "language": "ar", "name": "عسل الزعتر" }])
    );
    // French readers still get English (no French text): nothing leaks across languages.
    let (_, data) = data_in(&app, Some("fr"), read).await;
    assert_eq!(data["products"]["nodes"][0]["name"], "Thyme honey");

    // Replaced, then removed: readers fall back.
    let response = app
        .graphql_as(
            Some(&p.actors.manager),
            SET,
            json!({ "i": { "id": product, "language": "ar", "name": "عسل زعتر" } }),
        )
        .await;
    assert_eq!(
        response["data"]["setTranslation"]["translation"]["description"],
        Value::Null
    );
    let (_, data) = data_in(&app, Some("ar"), read).await;
    assert_eq!(data["products"]["nodes"][0]["name"], "عسل زعتر");
    // No Arabic description: the base one.
    assert_eq!(
        data["products"]["nodes"][0]["description"],
        "Thyme honey from Coopérative Aït Bouguemez"
    );
    let response = app
        .graphql_as(
            Some(&p.actors.own_member),
            REMOVE,
            json!({ "i": { "id": product, "language": "ar" } }),
        )
        .await;
    assert_eq!(
        response["data"]["removeTranslation"],
        json!({ "removed": true, "userErrors": [] })
    );
    let (_, data) = data_in(&app, Some("ar"), read).await;
    assert_eq!(data["products"]["nodes"][0]["name"], "Thyme honey");
    let response = app
        .graphql_as(
            Some(&p.actors.own_member),
            REMOVE,
            json!({ "i": { "id": product, "language": "ar" } }),
        )
        .await;
    assert_eq!(response["data"]["removeTranslation"]["removed"], false);
}

#[tokio::test]
async fn translations_are_validated_and_nothing_is_written_when_refused() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let manager = Some(p.actors.manager.as_str());
    let product = encode(NodeType::Product, p.product.id).to_string();
    let region = encode(NodeType::Region, "MA-05").to_string();
    let cases = [
        (
            json!({ "id": product, "language": "fr", "name": "   " }),
            "name",
            "INVALID",
        ),
        (
            json!({ "id": product, "language": "fr", "name": "x".repeat(201) }),
            "name",
            "TOO_LONG",
        ),
        (
            json!({ "id": product, "language": "fr", "name": "Miel", "description": "x".repeat(5001) }),
            "description",
            "TOO_LONG",
        ),
        (
            json!({ "id": product, "language": "fr", "name": "Mi\u{0}el" }),
            "name",
            "INVALID",
        ),
        (
            json!({ "id": product, "language": "en", "name": "Honey" }),
            "language",
            "INVALID",
        ),
        (
            json!({ "id": product, "language": "de", "name": "Honig" }),
            "language",
            "INVALID",
        ),
        (
            json!({ "id": region, "language": "fr", "name": "Région", "description": "Une région" }),
            "description",
            "INVALID",
        ),
    ];
    let before = catalog_version(&app).await;
    for (input, field, code) in cases {
        let response = app.graphql_as(manager, SET, json!({ "i": input })).await;
        let errors = &response["data"]["setTranslation"]["userErrors"];
        assert_eq!(
            errors[0]["field"],
            json!(["input", field]),
            "{input}: {response}"
        );
        assert_eq!(errors[0]["code"], code, "{input}: {response}");
        assert_eq!(
            response["data"]["setTranslation"]["translation"],
            Value::Null
        );
    }
    assert_eq!(catalog_version(&app).await, before, "nothing was written");
    // Not a translatable thing; an unknown one.
    let order = encode(NodeType::Order, 1).to_string();
    let response = app
        .graphql_as(
            manager,
            SET,
            json!({ "i": { "id": order, "language": "fr", "name": "x" } }),
        )
        .await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    let nothing = encode(NodeType::Segment, 999_999).to_string();
    let response = app
        .graphql_as(
            manager,
            SET,
            json!({ "i": { "id": nothing, "language": "fr", "name": "x" } }),
        )
        .await;
    assert_eq!(error_code(&response), "NOT_FOUND");
    // A region's name in Arabic, by a manager.
    let response = app
        .graphql_as(
            manager,
            SET,
            json!({ "i": { "id": region, "language": "ar", "name": "جهة" } }),
        )
        .await;
    assert_eq!(response["data"]["setTranslation"]["userErrors"], json!([]));
    let (_, data) = data_in(&app, Some("ar"), r#"{ regions { code name } }"#).await;
    let names: Vec<&Value> = data["regions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["code"] == "MA-05")
        .map(|r| &r["name"])
        .collect();
    assert_eq!(names, [&json!("جهة")]);
}

#[tokio::test]
async fn the_response_cache_keeps_one_answer_per_language() {
    let app = TestApp::with_demo_and(|c| {
        c.response_cache = solidarity_market::config::Switch::On;
    })
    .await;
    let query = r#"{ product(sku: "OLV-OUZ-001") { name } }"#;
    for _ in 0..2 {
        for (accept, name) in [
            (Some("ar"), "زيت الزيتون البكر الممتاز"),
            (Some("fr-FR"), "Huile d'olive vierge extra"),
            (None, "Extra virgin olive oil"),
            (Some("fr"), "Huile d'olive vierge extra"),
        ] {
            let (_, data) = data_in(&app, accept, query).await;
            assert_eq!(data["product"]["name"], name, "{accept:?}");
        }
    }
}

#[tokio::test]
async fn a_page_in_arabic_costs_one_statement_more_whatever_its_size() {
    let app = TestApp::with_demo().await;
    let query = r#"query($n: Int!) { products(first: $n) { nodes { name description
        segment { name } cooperative { name region { name } } } } }"#;
    let mut costs = Vec::new();
    for accept in ["en", "ar"] {
        let mut counts = Vec::new();
        for n in [5, 50] {
            let (statements, (_, _, response)) = app
                .count_statements(in_language(
                    &app,
                    Some(accept),
                    None,
                    query,
                    json!({ "n": n }),
                ))
                .await;
            assert!(response.get("errors").is_none(), "{response}");
            assert_eq!(
                response["data"]["products"]["nodes"]
                    .as_array()
                    .unwrap()
                    .len(),
                n
            );
            counts.push(statements);
        }
        assert_eq!(counts[0], counts[1], "{accept}: a page of 5 vs 50");
        costs.push(counts[0]);
    }
    assert_eq!(
        costs[1],
        costs[0] + 1,
        "the translations of a page: one statement"
    );

    // Cooperatives with their products.
    let query = r#"query($n: Int!) { cooperatives(first: $n) { nodes { name region { name }
        products(first: 3) { nodes { name segment { name } } } } } }"#;
    let mut counts = Vec::new();
    for n in [5, 30] {
        let (statements, (_, _, response)) = app
            .count_statements(in_language(
                &app,
                Some("ar"),
                None,
                query,
                json!({ "n": n }),
            ))
            .await;
        assert!(response.get("errors").is_none(), "{response}");
        counts.push(statements);
    }
    assert_eq!(
        counts[0], counts[1],
        "cooperatives with products in Arabic: 5 vs 30"
    );
}

#[tokio::test]
async fn a_catalog_import_takes_names_and_descriptions_in_other_languages() {
    let app = TestApp::spawn().await;
    let file = "\
cooperative_slug,cooperative_name,kind,region,province,listed_since,sku,product_name,segment,format,price,\
product_description,name_fr,name_ar,description_fr,description_ar,cooperative_name_ar
cooperative-tafoukt,Coopérative Tafoukt,TERROIR,MA-09,,2020-05-04,AML-TFK-1,Amlou,amlou-spreads,250 g jar,65,\
Almonds and argan oil.,Amlou aux amandes,أملو باللوز,Amandes et huile d'argan.,لوز وزيت أركان.,تعاونية تافوكت
cooperative-tafoukt,Coopérative Tafoukt,TERROIR,MA-09,,2020-05-04,HON-TFK-2,Honey,honey,250 g jar,80,,,,,,
";
    import_catalog(&app.db, file.as_bytes(), |_, _| {})
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let query = r#"{ a: product(sku: "AML-TFK-1") { name description cooperative { name } }
                     b: product(sku: "HON-TFK-2") { name language } }"#;
    let (_, data) = data_in(&app, Some("ar"), query).await;
    assert_eq!(
        data,
        json!({ "a": { "name": "أملو باللوز", "description": "لوز وزيت أركان.", "cooperative": { "name": "تعاونية تافوكت" } },
                "b": { "name": "Honey", "language": "en" } })
    );
    let (_, data) = data_in(&app, Some("fr"), query).await;
    assert_eq!(data["a"]["name"], "Amlou aux amandes");
    assert_eq!(data["a"]["cooperative"]["name"], "Coopérative Tafoukt");

    let bad = "\
cooperative_slug,cooperative_name,kind,region,province,listed_since,sku,product_name,segment,format,price,description_fr
cooperative-other,Other,TERROIR,MA-09,,2020-05-04,AML-OTH-1,Amlou,amlou-spreads,1 jar,65,Sans nom
";
    let err = import_catalog(&app.db, bad.as_bytes(), |_, _| {})
        .await
        .expect_err("refused");
    assert!(
        format!("{err:?}").contains("description_fr needs name_fr"),
        "{err:?}"
    );
}
