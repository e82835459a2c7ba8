//! The response cache of public catalog queries and HTTP caching (issue #13): never stale
//! across instances, never shared between viewers it should not be, keyed by the market's
//! date; `ETag`, `Cache-Control`, `304`, automatic persisted queries; `RESPONSE_CACHE=off`.

use crate::fixtures::{self, NewCoop, NewProduct, ymd};
use crate::helpers::{TestApp, error_code, send_to as send};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use solidarity_market::config::{Config, Switch};
use solidarity_market::domain::enums::{CertificationType, CooperativeKind, Role};
use solidarity_market::graphql::ids::{NodeType, encode};
use solidarity_market::{AppState, db};
use std::time::{Duration, Instant};

const STOCK: &str = "{ products(first: 10) { nodes { sku stock { available } } } }";

/// A page whose relations take several statements when it runs.
const RICH: &str = "{ products(first: 10) { nodes { sku cooperative { name region { name } } certifications { type } } } }";

fn cached(config: &mut Config) {
    config.response_cache = Switch::On;
}

fn gid(t: NodeType, id: i32) -> String {
    encode(t, id).to_string()
}

/// `POST /graphql` on any router, as `token`.
async fn post(router: &Router, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/graphql-response+json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = json!({ "query": query, "variables": variables }).to_string();
    let (_, _, text) = send(router, request.body(Body::from(body)).unwrap()).await;
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// `GET /graphql` with these parameters and headers.
async fn get(
    router: &Router,
    params: &[(&str, &str)],
    headers: &[(header::HeaderName, &str)],
) -> (StatusCode, HeaderMap, String) {
    let url = reqwest::Url::parse_with_params("http://localhost/graphql", params).unwrap();
    let mut request = Request::get(format!("/graphql?{}", url.query().unwrap_or("")));
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    send(router, request.body(Body::empty()).unwrap()).await
}

/// The available stock of `sku` in the storefront's list.
fn stock_of(response: &Value, sku: &str) -> Option<i64> {
    response["data"]["products"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{response}"))
        .iter()
        .find(|n| n["sku"] == sku)
        .map(|n| n["stock"]["available"].as_i64().unwrap())
}

/// Another server instance on the same database, with its own pool and its own cache.
async fn second_instance(app: &TestApp) -> (Router, AppState) {
    let conn = db::connect(&app.url, 4).await.expect("connect");
    let state = AppState::new(conn, app.config.clone());
    (solidarity_market::app(state.clone()), state)
}

async fn deliver(app: &TestApp, token: &str, product: i32, quantity: i32) {
    let answer = app
        .graphql_as(
            Some(token),
            "mutation($i: RecordStockDeliveryInput!) { recordStockDelivery(input: $i) { userErrors { code } } }",
            json!({ "i": { "productId": gid(NodeType::Product, product), "quantity": quantity } }),
        )
        .await;
    assert_eq!(
        answer["data"]["recordStockDelivery"]["userErrors"],
        json!([]),
        "{answer}"
    );
}

#[tokio::test]
async fn a_repeated_catalog_query_is_answered_from_the_cache_until_the_catalog_changes() {
    let app = TestApp::spawn_with(cached).await;
    let p = fixtures::portal(&app.db).await;
    let (first_statements, first) = app.count_statements(app.graphql(STOCK, json!({}))).await;
    assert_eq!(stock_of(&first, "HON-BGZ-1"), Some(10));
    // Served from memory: at most the version check (SQLite), no catalog statement.
    let (statements, again) = app.count_statements(app.graphql(STOCK, json!({}))).await;
    assert_eq!(again, first);
    assert!(
        statements <= 1 && first_statements > statements,
        "{statements} statements for a cached answer, {first_statements} uncached"
    );
    // The same document laid out differently is the same entry.
    let reformatted = "{products(first:10){nodes{sku stock{available}}}}";
    let (statements, _) = app
        .count_statements(app.graphql(reformatted, json!({})))
        .await;
    assert!(statements <= 1, "{statements}");

    deliver(&app, &p.actors.own_member, p.product.id, 5).await;
    let after = app.graphql(STOCK, json!({})).await;
    assert_eq!(stock_of(&after, "HON-BGZ-1"), Some(15));
}

#[tokio::test]
async fn a_write_through_one_instance_is_seen_by_the_next_request_to_another() {
    let a = TestApp::spawn_with(cached).await;
    let p = fixtures::portal(&a.db).await;
    let (b, b_state) = second_instance(&a).await;
    assert_eq!(
        stock_of(&post(&b, None, STOCK, json!({})).await, "HON-BGZ-1"),
        Some(10)
    );
    assert_eq!(
        stock_of(&post(&b, None, STOCK, json!({})).await, "HON-BGZ-1"),
        Some(10)
    );

    deliver(&a, &p.actors.own_member, p.product.id, 7).await;
    // SQLite: the very next request. PostgreSQL: as soon as the commit's notification
    // arrives (milliseconds), and within the watcher's one-second poll if it were lost.
    let on_postgres = a.url.starts_with("postgres");
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let seen = stock_of(&post(&b, None, STOCK, json!({})).await, "HON-BGZ-1");
        if seen == Some(17) {
            break;
        }
        assert!(
            on_postgres && Instant::now() < deadline,
            "instance B still answers {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if on_postgres {
        // Learned by `LISTEN`, not only by the one-second poll.
        let watcher = b_state.response_cache.as_ref().unwrap().watcher();
        let deadline = Instant::now() + Duration::from_secs(2);
        while watcher.notifications() == 0 {
            assert!(
                Instant::now() < deadline,
                "no notification reached instance B"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // A suspension hides the cooperative's products on the other instance too.
    let suspended = a
        .graphql_as(
            Some(&p.actors.manager),
            "mutation($i: SetCooperativeStatusInput!) { setCooperativeStatus(input: $i) { userErrors { code } } }",
            json!({ "i": { "id": gid(NodeType::Cooperative, p.coop.id), "status": "SUSPENDED" } }),
        )
        .await;
    assert!(suspended.get("errors").is_none(), "{suspended}");
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let seen = stock_of(&post(&b, None, STOCK, json!({})).await, "HON-BGZ-1");
        if seen.is_none() {
            break;
        }
        assert!(
            on_postgres && Instant::now() < deadline,
            "instance B still lists the suspended cooperative's product"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// PostgreSQL takes a change's id from a sequence before it commits, so a change can
/// commit after one with a larger id. An answer cached between the two commits (it holds
/// the larger one, not the smaller) must not be served once the smaller one commits.
/// (SQLite has one writer at a time, so its ids follow commit order; the open transaction
/// below would block the other write there.)
#[tokio::test]
async fn a_change_committing_after_a_later_numbered_one_is_not_hidden_by_the_cache() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let app = TestApp::spawn_with(cached).await;
    if !app.url.starts_with("postgres") {
        eprintln!("PostgreSQL only: SQLite takes its ids in commit order");
        return;
    }
    let p = fixtures::portal(&app.db).await;
    let other = fixtures::product(
        &app.db,
        &p.coop,
        NewProduct::new("HON-BGZ-9", "Other honey", "honey", 9_000, 3),
    )
    .await;
    assert_eq!(
        stock_of(&app.graphql(STOCK, json!({})).await, "HON-BGZ-1"),
        Some(10)
    );

    // A slow change takes its number first...
    let slow = app.db.begin().await.unwrap();
    solidarity_market::domain::catalog_version::touch(&slow)
        .await
        .unwrap();
    slow.execute_unprepared(&format!(
        "UPDATE products SET stock = stock + 100 WHERE id = {}",
        p.product.id
    ))
    .await
    .unwrap();
    // ...a later one commits before it, and an answer is cached meanwhile.
    deliver(&app, &p.actors.own_member, other.id, 2).await;
    let between = app.graphql(STOCK, json!({})).await;
    assert_eq!(stock_of(&between, "HON-BGZ-9"), Some(5));
    assert_eq!(stock_of(&between, "HON-BGZ-1"), Some(10));
    assert_eq!(app.graphql(STOCK, json!({})).await, between, "cached");

    slow.commit().await.unwrap();
    // Announced after commit, as every writer does (a lost announcement is found by the
    // one-second poll).
    solidarity_market::domain::catalog_version::announce(&app.db)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let seen = stock_of(&app.graphql(STOCK, json!({})).await, "HON-BGZ-1");
        if seen == Some(110) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cache still answers {seen:?} after the slower change committed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_viewer_specific_answer_is_never_served_to_another_viewer() {
    let app = TestApp::spawn_with(cached).await;
    let p = fixtures::portal(&app.db).await;
    let other_customer = fixtures::account(&app.db, "other@example.ma", Role::Customer, None).await;

    // A member's answer (private fields, unsellable products) is neither stored nor served.
    let private = format!(
        r#"{{ cooperative(slug: "{}") {{ name payoutAccount }} }}"#,
        p.coop.slug
    );
    let member = app
        .graphql_as(Some(&p.actors.own_member), &private, json!({}))
        .await;
    assert_eq!(
        member["data"]["cooperative"]["payoutAccount"],
        "011780000012345678901234"
    );
    for token in [None, Some(p.actors.customer.as_str())] {
        let answer = app.graphql_as(token, &private, json!({})).await;
        assert_eq!(answer["data"]["cooperative"]["payoutAccount"], Value::Null);
    }
    let unsellable = "query($c: ID!) { products(filter: { cooperativeId: $c, includeUnsellable: true }) { nodes { sku } } }";
    let vars = json!({ "c": gid(NodeType::Cooperative, p.coop.id) });
    let member = app
        .graphql_as(Some(&p.actors.own_member), unsellable, vars.clone())
        .await;
    assert!(member.get("errors").is_none(), "{member}");
    assert_eq!(
        error_code(&app.graphql(unsellable, vars.clone()).await),
        "UNAUTHENTICATED"
    );
    // And a public answer cached for anonymous viewers is not what a member gets.
    app.graphql(RICH, json!({})).await;
    let (statements, _) = app
        .count_statements(app.graphql_as(Some(&p.actors.own_member), RICH, json!({})))
        .await;
    assert!(statements > 1, "a member was answered from the cache");

    // A customer's own order, even through `node` with only its `id`, is not shared.
    let placed = app
        .graphql_as(
            Some(&p.actors.customer),
            "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { id } userErrors { code } } }",
            json!({ "i": { "channel": "ONLINE", "idempotencyKey": "cache-1",
                           "lines": [{ "productId": gid(NodeType::Product, p.product.id), "quantity": 1 }] } }),
        )
        .await;
    let order = placed["data"]["placeOrder"]["order"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{placed}"))
        .to_owned();
    let node = "query($id: ID!) { node(id: $id) { id } }";
    let mine = app
        .graphql_as(Some(&p.actors.customer), node, json!({ "id": order }))
        .await;
    assert_eq!(mine["data"]["node"]["id"], order.as_str());
    let theirs = app
        .graphql_as(Some(&other_customer), node, json!({ "id": order }))
        .await;
    assert_eq!(theirs["data"]["node"], Value::Null, "{theirs}");
    // `me` beside the catalog makes the whole answer private.
    let me = "{ products(first: 1) { nodes { sku } } me { email } }";
    app.graphql_as(Some(&p.actors.customer), me, json!({}))
        .await;
    let other = app.graphql_as(Some(&other_customer), me, json!({})).await;
    assert_eq!(other["data"]["me"]["email"], "other@example.ma");
}

#[tokio::test]
async fn a_certificate_expiring_today_takes_its_products_off_sale_at_midnight_in_casablanca() {
    // 23:59:59 on 31 December in Casablanca (UTC+1), then one second later: 1 January.
    let eve = Utc.with_ymd_and_hms(2025, 12, 31, 22, 59, 59).unwrap();
    let app = TestApp::spawn_with(|c| {
        cached(c);
        c.now_override = Some(eve);
    })
    .await;
    let coop = fixtures::coop(
        &app.db,
        NewCoop::new("Coopérative Nour", CooperativeKind::Terroir, "MA-05"),
    )
    .await;
    let product = fixtures::product(
        &app.db,
        &coop,
        NewProduct::new("END-1", "Argan oil", "olive-oil", 9000, 10),
    )
    .await;
    fixtures::certify(
        &app.db,
        &coop,
        CertificationType::OnssaAuthorization,
        ymd(2025, 1, 1),
        Some(ymd(2025, 12, 31)),
        &[&product],
    )
    .await;
    let listed = |answer: &Value| stock_of(answer, "END-1").is_some();
    assert!(listed(&app.graphql(STOCK, json!({})).await));
    assert!(listed(&app.graphql(STOCK, json!({})).await));

    // The same instance (the same cache) a second later: no write, a new day.
    let mut state = AppState::new(
        app.db.clone(),
        Config {
            now_override: Some(Utc.with_ymd_and_hms(2025, 12, 31, 23, 0, 0).unwrap()),
            ..app.config.clone()
        },
    );
    let before = AppState::new(app.db.clone(), app.config.clone());
    state.response_cache = before.response_cache.clone();
    let (_, _, text) = send(
        &solidarity_market::app(before),
        Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({ "query": STOCK }).to_string()))
            .unwrap(),
    )
    .await;
    assert!(listed(&serde_json::from_str(&text).unwrap()));
    let midnight = solidarity_market::app(state);
    let answer = post(&midnight, None, STOCK, json!({})).await;
    assert!(!listed(&answer), "still on sale after midnight: {answer}");
}

#[tokio::test]
async fn get_answers_carry_an_etag_and_cache_control_and_if_none_match_gets_304() {
    let app = TestApp::spawn_with(cached).await;
    let p = fixtures::portal(&app.db).await;
    let (status, headers, body) = get(&app.router, &[("query", STOCK)], &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("HON-BGZ-1"), "{body}");
    let etag = headers[header::ETAG].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=5, stale-while-revalidate=30"
    );
    assert!(
        headers[header::VARY]
            .to_str()
            .unwrap()
            .contains("Authorization")
    );

    // The same answer has the same tag; a client holding it gets 304 and no body.
    let (_, again, _) = get(&app.router, &[("query", STOCK)], &[]).await;
    assert_eq!(again[header::ETAG], etag.as_str());
    let (status, headers, body) = get(
        &app.router,
        &[("query", STOCK)],
        &[(header::IF_NONE_MATCH, &etag)],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(headers[header::ETAG], etag.as_str());

    // After a change the tag no longer matches.
    deliver(&app, &p.actors.own_member, p.product.id, 1).await;
    let (status, headers, body) = get(
        &app.router,
        &[("query", STOCK)],
        &[(header::IF_NONE_MATCH, &etag)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(headers[header::ETAG], etag.as_str());
    assert!(body.contains("11"), "{body}");

    // A customer's catalog answer is for its browser only; private answers are not kept.
    let bearer = format!("Bearer {}", p.actors.customer);
    let (_, headers, _) = get(
        &app.router,
        &[("query", STOCK)],
        &[(header::AUTHORIZATION, &bearer)],
    )
    .await;
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-cache");
    assert!(headers.contains_key(header::ETAG));
    for query in [
        "{ me { email } }",
        "{ products(first: 1) { nodes { lowStockThreshold } } }",
    ] {
        let (_, headers, _) = get(
            &app.router,
            &[("query", query)],
            &[(header::AUTHORIZATION, &bearer)],
        )
        .await;
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "private, no-store",
            "{query}"
        );
        assert!(!headers.contains_key(header::ETAG), "{query}");
    }
    let member = format!("Bearer {}", p.actors.own_member);
    let (_, headers, _) = get(
        &app.router,
        &[("query", STOCK)],
        &[(header::AUTHORIZATION, &member)],
    )
    .await;
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-store");
}

#[tokio::test]
async fn persisted_queries_are_registered_then_sent_by_hash_alone() {
    let app = TestApp::spawn_with(cached).await;
    fixtures::portal(&app.db).await;
    let hash = solidarity_market::http::response_cache::sha256_hex(STOCK);
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }).to_string();

    // Unknown hash: Apollo's PERSISTED_QUERY_NOT_FOUND, so the client sends the document.
    let (status, _, body) = get(&app.router, &[("extensions", &extensions)], &[]).await;
    assert_eq!(status, StatusCode::OK);
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error_code(&answer), "PERSISTED_QUERY_NOT_FOUND");

    // A hash that is not the document's is refused, and registers nothing.
    let wrong =
        json!({ "persistedQuery": { "version": 1, "sha256Hash": "0".repeat(64) } }).to_string();
    let (status, _, _) = get(
        &app.router,
        &[("query", STOCK), ("extensions", &wrong)],
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, _, body) = get(&app.router, &[("extensions", &wrong)], &[]).await;
    assert!(body.contains("PERSISTED_QUERY_NOT_FOUND"), "{body}");

    // Registered with the document (here by POST), then answered by hash over GET.
    let registered = app
        .send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({ "query": STOCK, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } })
                        .to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert!(registered.2.contains("HON-BGZ-1"), "{}", registered.2);
    let (status, headers, body) = get(&app.router, &[("extensions", &extensions)], &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("HON-BGZ-1"), "{body}");
    assert!(headers.contains_key(header::ETAG));

    // A persisted mutation is still refused over GET.
    let mutation = "mutation { logout { revoked } }";
    let hash = solidarity_market::http::response_cache::sha256_hex(mutation);
    let ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }).to_string();
    let (status, _, _) = get(
        &app.router,
        &[("query", mutation), ("extensions", &ext)],
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _, _) = get(&app.router, &[("extensions", &ext)], &[]).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn with_the_response_cache_off_every_request_runs() {
    let app = TestApp::spawn_with(|c| c.response_cache = Switch::Off).await;
    fixtures::portal(&app.db).await;
    app.graphql(RICH, json!({})).await;
    let (statements, answer) = app.count_statements(app.graphql(RICH, json!({}))).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    assert!(statements > 1, "{statements}");
    // HTTP caching still works: it does not need the memory cache.
    let (_, headers, _) = get(&app.router, &[("query", STOCK)], &[]).await;
    assert!(headers.contains_key(header::ETAG));
}

#[tokio::test]
async fn orders_and_revocations_through_the_api_change_the_cached_storefront_at_once() {
    let app = TestApp::spawn_with(cached).await;
    let p = fixtures::portal(&app.db).await;
    assert_eq!(
        stock_of(&app.graphql(STOCK, json!({})).await, "HON-BGZ-1"),
        Some(10)
    );
    let placed = app
        .graphql_as(
            Some(&p.actors.customer),
            "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { userErrors { code } } }",
            json!({ "i": { "channel": "ONLINE", "idempotencyKey": "cache-2",
                           "lines": [{ "productId": gid(NodeType::Product, p.product.id), "quantity": 3 }] } }),
        )
        .await;
    assert_eq!(
        placed["data"]["placeOrder"]["userErrors"],
        json!([]),
        "{placed}"
    );
    assert_eq!(
        stock_of(&app.graphql(STOCK, json!({})).await, "HON-BGZ-1"),
        Some(7)
    );

    let certs = app
        .data(
            r#"{ product(sku: "HON-BGZ-1") { certifications { id } } }"#,
            json!({}),
        )
        .await;
    let cert = certs["product"]["certifications"][0]["id"].clone();
    let revoked = app
        .graphql_as(
            Some(&p.actors.manager),
            "mutation($i: RevokeCertificationInput!) { revokeCertification(input: $i) { userErrors { code } } }",
            json!({ "i": { "id": cert, "reason": "withdrawn by ONSSA" } }),
        )
        .await;
    assert_eq!(
        revoked["data"]["revokeCertification"]["userErrors"],
        json!([]),
        "{revoked}"
    );
    assert_eq!(
        stock_of(&app.graphql(STOCK, json!({})).await, "HON-BGZ-1"),
        None
    );
}
