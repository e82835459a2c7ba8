//! What a request may cost: page sizes multiply, identical fields run once, fragments
//! cannot explode, refusals come before any SQL with the cost and the limit, and accepted
//! queries say what they cost (issue 12, item 1).

use crate::helpers::{TestApp, error_code};
use serde_json::{Value, json};

/// The storefront example of the README: one page of olive oils with their cooperative,
/// region and certifications.
const STOREFRONT_PAGE: &str = r#"{
  products(first: 10, filter: { segment: "olive-oil", region: "MA-03", inStock: true },
           sort: { field: PRICE, direction: ASC }) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      sku name format
      price { amount currencyCode }
      stock { available }
      cooperative { name region { name } }
      certifications { type number expiresOn }
    }
  }
}"#;

/// The reproduction of issue 12: pages of 100 nested five levels deep (~250 bytes).
fn nested_pages(levels: usize, page: u32) -> String {
    let open = format!("cooperative {{ products(first: {page}) {{ nodes {{ ");
    format!(
        "{{ products(first: {page}) {{ nodes {{ {} sku {} }} }} }}",
        open.repeat(levels),
        "} } } ".repeat(levels)
    )
}

#[tokio::test]
async fn the_nested_page_query_is_refused_before_any_sql_with_its_cost() {
    let app = TestApp::with_demo().await;
    let query = nested_pages(4, 100);
    assert!(query.len() < 300, "the attack is a short request");
    let (statements, response) = app.count_statements(app.graphql(&query, json!({}))).await;
    assert_eq!(error_code(&response), "QUERY_TOO_COMPLEX", "{response}");
    assert!(response.get("data").is_none(), "{response}");
    let ext = &response["errors"][0]["extensions"];
    assert!(ext["cost"].as_u64().unwrap() > 1_000_000_000, "{ext}");
    assert_eq!(ext["maximumCost"], 10_000);
    assert_eq!(
        statements, 0,
        "refused before the database was asked anything"
    );
}

#[tokio::test]
async fn page_sizes_multiply_down_the_tree() {
    let app = TestApp::with_demo().await;
    // 10 × 10 products: a hundred rows, cheap enough.
    let small = app.graphql(&nested_pages(1, 10), json!({})).await;
    assert!(small.get("errors").is_none(), "{small}");
    let cost = small["extensions"]["cost"]["requestedQueryCost"]
        .as_u64()
        .unwrap();
    assert!((100..1_000).contains(&cost), "{cost}");
    // 100 × 100: ten thousand rows; refused although it has the same fields.
    let big = app.graphql(&nested_pages(1, 100), json!({})).await;
    assert_eq!(error_code(&big), "QUERY_TOO_COMPLEX", "{big}");
    // A page size given by a variable counts the same.
    let with_variable = app
        .graphql(
            "query($n: Int) { products(first: $n) { nodes { cooperative { products(first: $n) { nodes { sku } } } } } }",
            json!({ "n": 100 }),
        )
        .await;
    assert_eq!(error_code(&with_variable), "QUERY_TOO_COMPLEX");
    // No size: the default page of 20.
    let default = app
        .graphql("{ products { nodes { sku } } }", json!({}))
        .await;
    assert_eq!(
        default["extensions"]["cost"]["requestedQueryCost"],
        1 + 1 + 20,
        "{default}"
    );
}

#[tokio::test]
async fn accepted_queries_report_their_cost_and_the_limit() {
    let app = TestApp::with_demo().await;
    let response = app.graphql(STOREFRONT_PAGE, json!({})).await;
    assert!(response.get("errors").is_none(), "{response}");
    let cost = &response["extensions"]["cost"];
    assert_eq!(cost["maximumQueryCost"], 10_000);
    let requested = cost["requestedQueryCost"].as_u64().unwrap();
    assert!(
        (100..2_000).contains(&requested),
        "the README's storefront page costs {requested}"
    );
    // A mutation costs its writes.
    let login = app
        .graphql(
            r#"mutation { login(input: { email: "nobody@example.ma", password: "wrong wrong" }) { userErrors { code } } }"#,
            json!({}),
        )
        .await;
    assert!(
        login["extensions"]["cost"]["requestedQueryCost"]
            .as_u64()
            .unwrap()
            >= 10
    );
}

#[tokio::test]
async fn identical_repeated_fields_run_once() {
    let app = TestApp::with_demo().await;
    let one = "products(first: 100) { nodes { sku name cooperative { name } } }";
    let (single_statements, single) = app
        .count_statements(app.graphql(&format!("{{ {one} }}"), json!({})))
        .await;
    assert!(single.get("errors").is_none(), "{single}");
    // 400 copies: as many as fit in the largest document accepted (32 KiB).
    let repeated = format!("{{ {} }}", one.repeat(400));
    assert!(repeated.len() < 32 * 1024);
    let (repeated_statements, response) = app
        .count_statements(app.graphql(&repeated, json!({})))
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(response["data"], single["data"], "the same answer");
    assert_eq!(
        repeated_statements, single_statements,
        "400 copies ran as one"
    );
    assert_eq!(
        response["extensions"]["cost"], single["extensions"]["cost"],
        "and cost as one"
    );
}

#[tokio::test]
async fn repeated_fields_with_different_arguments_each_count() {
    let app = TestApp::with_demo().await;
    // Copies that differ (here by alias) are distinct work and each pays.
    let fields: String = (0..30)
        .map(|n| {
            format!(
                "p{n}: products(first: 100) {{ nodes {{ sku name format price {{ amount }} }} }} "
            )
        })
        .collect();
    let response = app.graphql(&format!("{{ {fields} }}"), json!({})).await;
    assert_eq!(error_code(&response), "QUERY_TOO_COMPLEX", "{response}");
    // Different page sizes under one name are a conflict, refused by validation.
    let conflict = app
        .graphql(
            "{ products(first: 1) { nodes { sku } } products(first: 2) { nodes { sku } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&conflict), "GRAPHQL_VALIDATION_FAILED");
}

#[tokio::test]
async fn fragment_bombs_and_cycles_are_refused_before_anything_walks_them() {
    let app = TestApp::spawn().await;
    // Ten fragments a level, each spreading the ten of the next level: 10^15 selections
    // once expanded, in a 30 KB document.
    let mut doc = String::from("{ ...F0_0 }\n");
    for level in 0..15 {
        let next: String = (0..10).map(|i| format!("...F{}_{i} ", level + 1)).collect();
        for i in 0..10 {
            doc += &format!("fragment F{level}_{i} on QueryRoot {{ {next} }}\n");
        }
    }
    for i in 0..10 {
        doc += &format!("fragment F15_{i} on QueryRoot {{ regions {{ code }} }}\n");
    }
    let started = std::time::Instant::now();
    let response = app.graphql(&doc, json!({})).await;
    assert_eq!(
        error_code(&response),
        "GRAPHQL_VALIDATION_FAILED",
        "{response}"
    );
    assert_eq!(response["errors"][0]["extensions"]["limit"], "selections");
    // Not a timing assertion: without memoized costing this request never ends.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));

    // The same bomb made of one fragment a level spread ten times is merged into a chain.
    let mut chain = String::from("{ ...F0 }\n");
    for level in 0..15 {
        chain += &format!(
            "fragment F{level} on QueryRoot {{ {} }}\n",
            format!("...F{} ", level + 1).repeat(10)
        );
    }
    chain += "fragment F15 on QueryRoot { regions { code } }\n";
    let merged = app.graphql(&chain, json!({})).await;
    assert!(merged.get("errors").is_none(), "{merged}");
    assert_eq!(merged["data"]["regions"].as_array().unwrap().len(), 12);

    let cycle = app
        .graphql(
            "{ ...A } fragment A on QueryRoot { regions { code } ...B } fragment B on QueryRoot { ...A }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&cycle), "GRAPHQL_VALIDATION_FAILED", "{cycle}");
    assert!(
        cycle["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("within itself")
    );
}

#[tokio::test]
async fn skipped_selections_cost_nothing() {
    let app = TestApp::with_demo().await;
    let query = "query($skip: Boolean!) { products(first: 100) @skip(if: $skip) { nodes { cooperative { products(first: 100) { nodes { sku } } } } } regions { code } }";
    let skipped = app.graphql(query, json!({ "skip": true })).await;
    assert!(skipped.get("errors").is_none(), "{skipped}");
    let run = app.graphql(query, json!({ "skip": false })).await;
    assert_eq!(error_code(&run), "QUERY_TOO_COMPLEX");
}

#[tokio::test]
async fn oversized_responses_are_replaced_by_a_coded_error() {
    let app = TestApp::spawn_with(|config| config.max_response_bytes = 500).await;
    let small = app.graphql("{ regions { code } }", json!({})).await;
    assert!(small.get("errors").is_none(), "{small}");
    let big = app
        .graphql("{ regions { code name provinces } }", json!({}))
        .await;
    assert_eq!(error_code(&big), "RESPONSE_TOO_LARGE", "{big}");
    assert_eq!(big["data"], Value::Null);
    assert_eq!(big["errors"][0]["extensions"]["maximumBytes"], 500);
}

#[tokio::test]
async fn every_limit_comes_from_the_configuration() {
    let app = TestApp::spawn_with(|config| {
        config.max_query_cost = 50;
        config.max_query_depth = 3;
        config.max_aliases = 2;
    })
    .await;
    let response = app
        .graphql("{ regions { code name } segments { slug } }", json!({}))
        .await;
    assert_eq!(error_code(&response), "QUERY_TOO_COMPLEX", "{response}");
    assert_eq!(response["errors"][0]["extensions"]["maximumCost"], 50);
    let deep = app
        .graphql(
            "{ products(first: 1) { nodes { cooperative { region { name } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&deep), "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(deep["errors"][0]["extensions"]["limit"], "depth");
    assert_eq!(deep["errors"][0]["extensions"]["maximum"], 3);
    let aliases = app
        .graphql(
            "{ a: regions { code } b: regions { code } c: regions { code } }",
            json!({}),
        )
        .await;
    assert_eq!(aliases["errors"][0]["extensions"]["limit"], "aliases");
}

#[tokio::test]
async fn a_huge_document_is_refused_before_it_is_parsed() {
    let app = TestApp::with_demo().await;
    // Issue 12's 1,200 repeated pages: 80 KB that merge into one cheap operation, but
    // whose parsing was the work (BENCHMARKS.md, flood).
    let one = "products(first: 100) { nodes { sku name cooperative { name } } } ";
    let huge = format!("{{ {} }}", one.repeat(1_200));
    let (statements, response) = app.count_statements(app.graphql(&huge, json!({}))).await;
    assert_eq!(error_code(&response), "DOCUMENT_TOO_LARGE", "{response}");
    let ext = &response["errors"][0]["extensions"];
    assert_eq!(ext["limit"], "documentBytes");
    assert_eq!(ext["value"], huge.len());
    assert_eq!(ext["maximum"], 32 * 1024);
    assert!(response.get("data").is_none(), "{response}");
    assert_eq!(statements, 0, "refused before the database");
    // Not even parsed: a document that would not parse gets the same answer.
    let garbage = format!("{{ {}", "{".repeat(40_000));
    let response = app.graphql(&garbage, json!({})).await;
    assert_eq!(error_code(&response), "DOCUMENT_TOO_LARGE", "{response}");
    // The limit is the configuration's.
    let strict = TestApp::spawn_with(|config| config.max_document_bytes = 100).await;
    let response = strict
        .graphql(
            &format!("{{ {} }}", "regions { code } ".repeat(10)),
            json!({}),
        )
        .await;
    assert_eq!(error_code(&response), "DOCUMENT_TOO_LARGE", "{response}");
    assert_eq!(response["errors"][0]["extensions"]["maximum"], 100);
    let response = strict.graphql("{ regions { code } }", json!({})).await;
    assert!(response.get("errors").is_none(), "{response}");
}
