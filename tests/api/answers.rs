//! Clear answers where a newcomer stumbled (issue 11, item 5): refusals that say why,
//! unknown filter values named with the accepted ones, user errors on the fields that
//! exist, every invalid field at once, and CLI commands that say what they did.

use crate::fixtures;
use crate::helpers::{TestApp, error_code};
use serde_json::{Value, json};
use solidarity_market::graphql::ids::{NodeType, encode};

fn gid(t: NodeType, id: i32) -> String {
    encode(t, id).to_string()
}

fn message(response: &Value) -> &str {
    response["errors"][0]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {response}"))
}

#[tokio::test]
async fn forbidden_says_which_rule_refused() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let product = gid(NodeType::Product, p.product.id);
    let coop = gid(NodeType::Cooperative, p.coop.id);
    let cases = [
        (
            &p.actors.own_member,
            "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { id } } }",
            json!({ "i": { "channel": "STORE", "idempotencyKey": "k", "lines": [{ "productId": product, "quantity": 1 }] } }),
            "STORE orders are placed by managers",
        ),
        (
            &p.actors.customer,
            "query($c: ID) { products(filter: { includeUnsellable: true, cooperativeId: $c }) { totalCount } }",
            json!({ "c": coop }),
            "only managers and this cooperative's members may list unsellable products",
        ),
        (
            &p.actors.other_member,
            "query($c: ID) { products(filter: { includeUnsellable: true, cooperativeId: $c }) { totalCount } }",
            json!({ "c": coop }),
            "only managers and this cooperative's members may list unsellable products",
        ),
        (
            &p.actors.customer,
            "mutation { createCooperative(input: { name: \"X\", kind: TERROIR, region: \"MA-01\" }) { cooperative { id } } }",
            json!({}),
            "only market managers may onboard cooperatives",
        ),
        (
            &p.actors.other_member,
            "mutation($i: RecordStockDeliveryInput!) { recordStockDelivery(input: $i) { stockMovement { id } } }",
            json!({ "i": { "productId": product, "quantity": 1 } }),
            "only managers and this cooperative's members may change its products and stock",
        ),
        (
            &p.actors.customer,
            "{ payoutStatements { totalCount } }",
            json!({}),
            "payout statements are for market managers and cooperative members",
        ),
        (
            &p.actors.customer,
            "{ myCooperative { id } }",
            json!({}),
            "only cooperative members have a cooperative of their own",
        ),
        (
            &p.actors.other_member,
            "query($c: ID) { payoutStatements(filter: { cooperativeId: $c }) { totalCount } }",
            json!({ "c": coop }),
            "a cooperative member sees only its own cooperative's payout statements",
        ),
    ];
    for (token, query, variables, why) in cases {
        let out = app.graphql_as(Some(token), query, variables).await;
        assert_eq!(error_code(&out), "FORBIDDEN", "{query}: {out}");
        assert_eq!(message(&out), why, "{query}");
    }
}

#[tokio::test]
async fn an_unknown_filter_value_is_named_with_the_accepted_ones() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let products = "query($f: ProductFilterInput) { products(filter: $f) { totalCount } }";
    let out = app
        .graphql(products, json!({ "f": { "segment": "olive-oyl" } }))
        .await;
    assert_eq!(error_code(&out), "BAD_USER_INPUT", "{out}");
    assert!(message(&out).contains("\"olive-oyl\""), "{out}");
    assert!(
        message(&out).contains("olive-oil"),
        "lists the segments: {out}"
    );
    for query in [
        products.to_owned(),
        "query($f: CooperativeFilterInput) { cooperatives(filter: $f) { totalCount } }".to_owned(),
    ] {
        let out = app
            .graphql(&query, json!({ "f": { "region": "MA-13" } }))
            .await;
        assert_eq!(error_code(&out), "BAD_USER_INPUT", "{out}");
        assert!(message(&out).contains("\"MA-13\""), "{out}");
        assert!(
            message(&out).contains("MA-01") && message(&out).contains("MA-12"),
            "{out}"
        );
    }
    let unknown = gid(NodeType::Cooperative, 999_999);
    let out = app
        .graphql(products, json!({ "f": { "cooperativeId": unknown } }))
        .await;
    assert_eq!(error_code(&out), "BAD_USER_INPUT", "{out}");
    assert!(message(&out).contains(&unknown), "{out}");
    let out = app
        .graphql_as(
            Some(&p.actors.manager),
            "query($f: TopProductsFilter) { topProducts(range: { from: \"2026-01-01\", to: \"2026-01-31\" }, by: VALUE, filter: $f) { rank } }",
            json!({ "f": { "segment": "honney" } }),
        )
        .await;
    assert_eq!(error_code(&out), "BAD_USER_INPUT", "{out}");
    assert!(message(&out).contains("honey"), "{out}");
    // An unknown certification type names the accepted ones too.
    let out = app
        .graphql(products, json!({ "f": { "certification": "ONSSA" } }))
        .await;
    assert_eq!(error_code(&out), "BAD_USER_INPUT", "{out}");
    assert!(message(&out).contains("ONSSA_AUTHORIZATION"), "{out}");
    // Known values still filter.
    let out = app
        .graphql(
            products,
            json!({ "f": { "segment": "honey", "region": "MA-05", "certification": "ONSSA_AUTHORIZATION" } }),
        )
        .await;
    assert_eq!(out["data"]["products"]["totalCount"], 1, "{out}");
}

#[tokio::test]
async fn adjust_stock_errors_point_at_delta() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let product = gid(NodeType::Product, p.product.id);
    for delta in [0, 1_000_001, -11] {
        let out = app
            .graphql_as(
                Some(&p.actors.own_member),
                "mutation($i: AdjustStockInput!) { adjustStock(input: $i) { userErrors { field code } } }",
                json!({ "i": { "productId": product, "delta": delta, "reason": "COUNT_CORRECTION" } }),
            )
            .await;
        assert_eq!(
            out["data"]["adjustStock"]["userErrors"][0]["field"],
            json!(["input", "delta"]),
            "{delta}: {out}"
        );
    }
}

#[tokio::test]
async fn register_reports_every_invalid_field_at_once() {
    let app = TestApp::spawn().await;
    let out = app
        .graphql(
            "mutation($i: RegisterInput!) { register(input: $i) { token userErrors { field code } } }",
            json!({ "i": { "email": "not-an-email", "password": "short", "name": " " } }),
        )
        .await;
    assert_eq!(
        out["data"]["register"],
        json!({ "token": null, "userErrors": [
            { "field": ["input", "email"], "code": "INVALID_EMAIL" },
            { "field": ["input", "password"], "code": "WEAK_PASSWORD" },
            { "field": ["input", "name"], "code": "INVALID" },
        ] }),
        "{out}"
    );
}

// --- The command line --------------------------------------------------------------

fn binary(app: &TestApp) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_solidarity-market"));
    command
        .args(["--database-url", &app.url])
        .env("NO_PROGRESS", "1")
        .env_remove("NEW_USER_PASSWORD")
        .env_remove("LOG_FORMAT");
    command
}

#[tokio::test]
async fn seed_on_a_database_that_holds_a_catalog_says_why_and_fails() {
    let app = TestApp::spawn().await;
    fixtures::portal(&app.db).await;
    let out = binary(&app).arg("seed").output().expect("run seed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("already holds 2 cooperatives") && stderr.contains("empty database"),
        "{stderr}"
    );
}

#[tokio::test]
async fn export_schema_says_where_it_wrote() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api.graphql");
    let out = binary(&app)
        .args(["export-schema", "-o"])
        .arg(&path)
        .output()
        .expect("run export-schema");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let written = std::fs::canonicalize(&path).unwrap();
    assert!(stdout.contains(&written.display().to_string()), "{stdout}");
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("type Query")
    );
}

#[tokio::test]
async fn create_user_reads_the_password_from_stdin_or_the_environment() {
    use std::io::Write;
    let app = TestApp::spawn().await;
    let login = |email: &'static str, password: &'static str| {
        let app = &app;
        async move {
            let out = app
                .graphql(
                    "mutation($i: LoginInput!) { login(input: $i) { token userErrors { code } } }",
                    json!({ "i": { "email": email, "password": password } }),
                )
                .await;
            out["data"]["login"]["token"].is_string()
        }
    };
    let mut child = binary(&app)
        .args([
            "create-user",
            "--email",
            "boss@example.ma",
            "--role",
            "MANAGER",
        ])
        .arg("--password-stdin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run create-user");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from standard input\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(login("boss@example.ma", "from standard input").await);

    let out = binary(&app)
        .args([
            "create-user",
            "--email",
            "deputy@example.ma",
            "--role",
            "MANAGER",
        ])
        .env("NEW_USER_PASSWORD", "from the environment")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(login("deputy@example.ma", "from the environment").await);

    // Neither: a clear refusal, no account.
    let out = binary(&app)
        .args([
            "create-user",
            "--email",
            "nobody@example.ma",
            "--role",
            "MANAGER",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--password-stdin"),
        "{out:?}"
    );
}

#[tokio::test]
async fn log_lines_written_to_a_file_carry_no_colour_codes() {
    let app = TestApp::spawn().await;
    let out = binary(&app)
        .args(["--log-level", "info", "migrate"])
        .output()
        .expect("run migrate");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("migrations applied"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes in {stderr:?}");
}
