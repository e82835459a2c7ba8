//! Events (issue #19): the outbox written with each change, subscriptions over
//! `graphql-transport-ws` scoped like the queries and delivered across instances, signed
//! webhooks retried at least once, scheduled checks written once per occurrence.

use crate::fixtures::{self, NewProduct, Portal};
use crate::helpers::{MANY_CLIENTS_FLAGS, TestApp};
use futures::{SinkExt, StreamExt};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use solidarity_market::domain::enums::CertificationType;
use solidarity_market::graphql::ids::{NodeType, encode};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// How long a test waits for something that should come at once: a bound against hanging,
/// not a measure.
const PATIENCE: Duration = Duration::from_secs(60);

const PLACE: &str = r#"mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
    order { id number } userErrors { code } } }"#;

const EVENTS: &str = r#"subscription($types: [EventType!], $after: ID) {
    events(types: $types, after: $after) { id type name subject data } }"#;

/// Places an order of `quantity` × `product`; returns (global id, number), or the first
/// user error code as the number with an empty id.
async fn place(
    app: &TestApp,
    token: &str,
    product: i32,
    quantity: i32,
    key: &str,
) -> (String, String) {
    let out = app
        .graphql_as(
            Some(token),
            PLACE,
            json!({ "i": { "channel": "ONLINE", "idempotencyKey": key, "lines": [
                { "productId": encode(NodeType::Product, product).to_string(), "quantity": quantity }
            ] } }),
        )
        .await;
    let payload = &out["data"]["placeOrder"];
    match payload["userErrors"][0]["code"].as_str() {
        Some(code) => (String::new(), code.to_owned()),
        None => (
            payload["order"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{out}"))
                .to_owned(),
            payload["order"]["number"].as_str().unwrap().to_owned(),
        ),
    }
}

/// A `graphql-transport-ws` client with one subscription.
struct Subscriber {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Subscriber {
    /// Connects to `base_url`'s `/graphql/ws` with `token` in the init payload.
    async fn connect(base_url: &str, token: Option<&str>) -> Self {
        let url = format!("{}/graphql/ws", base_url.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().expect("request");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (ws, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("WebSocket");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        let mut s = Subscriber { ws };
        let payload = match token {
            Some(t) => json!({ "authorization": format!("Bearer {t}") }),
            None => json!({}),
        };
        s.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        let ack = s.message().await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        s
    }

    async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("send");
    }

    /// The next protocol message (pings answered).
    async fn message(&mut self) -> Value {
        loop {
            let next = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("a message in time")
                .expect("the connection is open")
                .expect("a message");
            match next {
                Message::Text(text) => {
                    let value: Value = serde_json::from_str(text.as_str()).expect("JSON");
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return value;
                }
                Message::Close(frame) => {
                    return json!({ "type": "closed", "frame": format!("{frame:?}") });
                }
                _ => continue,
            }
        }
    }

    async fn subscribe(&mut self, variables: Value) {
        self.send(json!({ "id": "1", "type": "subscribe",
            "payload": { "query": EVENTS, "variables": variables } }))
            .await;
    }

    /// The next event, or the panic of an error.
    async fn event(&mut self) -> Value {
        let message = self.message().await;
        assert_eq!(message["type"], "next", "{message}");
        assert!(message["payload"].get("errors").is_none(), "{message}");
        message["payload"]["data"]["events"].clone()
    }
}

/// The kinds of the events written so far, in order (straight from the outbox).
async fn outbox(app: &TestApp) -> Vec<String> {
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT kind FROM events ORDER BY id",
        ))
        .await
        .expect("events");
    rows.iter()
        .map(|r| r.try_get::<String>("", "kind").unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_on_another_instance_receives_an_order_placed_through_this_one() {
    let a = TestApp::spawn().await;
    let p = fixtures::portal(&a.db).await;
    let b = TestApp::spawn_on(&a.url, |_| {}).await;
    let server_b = b.serve().await;
    let mut manager = Subscriber::connect(&server_b.base_url, Some(&p.actors.manager)).await;
    manager
        .subscribe(json!({ "types": ["ORDER_PLACED"], "after": "0" }))
        .await;
    let (_, number) = place(&a, &p.actors.customer, p.product.id, 2, "k-1").await;
    let event = manager.event().await;
    assert_eq!(event["type"], "ORDER_PLACED", "{event}");
    assert_eq!(event["name"], "order.placed");
    assert_eq!(event["subject"], number.as_str());
    assert_eq!(
        event["data"],
        json!({ "number": number, "status": "PLACED" })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_order_emits_nothing() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let server = app.serve().await;
    let mut manager = Subscriber::connect(&server.base_url, Some(&p.actors.manager)).await;
    manager
        .subscribe(json!({ "types": ["ORDER_PLACED", "STOCK_LOW", "STOCK_OUT"], "after": "0" }))
        .await;
    // 11 of 10 jars: refused after the order row was written, so it is rolled back.
    let (_, refused) = place(&app, &p.actors.customer, p.product.id, 11, "k-1").await;
    assert_eq!(refused, "OUT_OF_STOCK");
    let (_, number) = place(&app, &p.actors.customer, p.product.id, 2, "k-2").await;
    let event = manager.event().await;
    assert_eq!(event["subject"], number.as_str(), "{event}");
    assert_eq!(
        outbox(&app)
            .await
            .iter()
            .filter(|k| k.starts_with("order.") || k.starts_with("stock."))
            .collect::<Vec<_>>(),
        vec!["order.placed"],
        "only the order that committed was announced"
    );
}

/// The portal's other cooperative made sellable (a DMP authorization) with a product.
async fn sellable_other(app: &TestApp, p: &Portal) -> i32 {
    fixtures::certify(
        &app.db,
        &p.other,
        CertificationType::DmpAuthorization,
        fixtures::days_from_today(-30),
        None,
        &[],
    )
    .await;
    fixtures::product(
        &app.db,
        &p.other,
        NewProduct::new("ARG-1", "Argan oil", "argan-cosmetics", 15000, 20),
    )
    .await
    .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_subscription_hears_nothing_of_another_cooperative() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let argan = sellable_other(&app, &p).await;
    let server = app.serve().await;
    let all =
        json!({ "after": "0", "types": ["ORDER_PLACED", "ORDER_PAID", "STOCK_LOW", "STOCK_OUT"] });
    let mut other = Subscriber::connect(&server.base_url, Some(&p.actors.other_member)).await;
    other.subscribe(all.clone()).await;
    let mut own = Subscriber::connect(&server.base_url, Some(&p.actors.own_member)).await;
    own.subscribe(all.clone()).await;
    let mut customer = Subscriber::connect(&server.base_url, Some(&p.actors.customer)).await;
    customer.subscribe(all.clone()).await;

    // Honey (own cooperative) 10 → 5: placed, and low (threshold 5); then argan (other).
    let (_, honey) = place(&app, &p.actors.customer, p.product.id, 5, "k-1").await;
    let (_, oil) = place(&app, &p.actors.manager, argan, 1, "k-2").await;
    let (_, last) = place(&app, &p.actors.customer, p.product.id, 5, "k-3").await;

    let first = other.event().await;
    assert_eq!(
        first["subject"],
        oil.as_str(),
        "the other cooperative's first event is its own order: {first}"
    );
    assert_eq!(first["type"], "ORDER_PLACED");

    let mut heard = Vec::new();
    for _ in 0..4 {
        let e = own.event().await;
        heard.push((
            e["name"].as_str().unwrap().to_owned(),
            e["subject"].as_str().unwrap().to_owned(),
        ));
    }
    assert_eq!(
        heard,
        vec![
            ("order.placed".to_owned(), honey.clone()),
            ("stock.low".to_owned(), "HON-BGZ-1".to_owned()),
            ("order.placed".to_owned(), last.clone()),
            ("stock.out".to_owned(), "HON-BGZ-1".to_owned()),
        ],
        "the member hears its own orders and stock, not the argan order"
    );
    // The customer hears of its own two orders, not of the manager's (nor of stock).
    assert_eq!(customer.event().await["subject"], honey.as_str());
    assert_eq!(customer.event().await["subject"], last.as_str());

    // Anonymous: refused.
    let mut anonymous = Subscriber::connect(&server.base_url, None).await;
    anonymous.subscribe(all).await;
    let refused = anonymous.message().await;
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{refused}"
    );
    assert_eq!(anonymous.message().await["type"], "complete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_closes_the_connection() {
    let app = TestApp::spawn().await;
    let server = app.serve().await;
    let url = format!(
        "{}/graphql/ws",
        server.base_url.replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut s = Subscriber { ws };
    s.send(json!({ "type": "connection_init", "payload": { "authorization": "Bearer nope" } }))
        .await;
    let answer = s.message().await;
    assert_eq!(answer["type"], "closed", "{answer}");
    assert!(
        answer["frame"].as_str().unwrap().contains("4403"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_resuming_after_an_event_id_gets_what_it_missed() {
    let app = TestApp::spawn().await;
    let p = fixtures::portal(&app.db).await;
    let server = app.serve().await;
    let token = Some(p.actors.manager.as_str());
    let types = json!(["ORDER_PLACED", "ORDER_PAID", "ORDER_CANCELLED"]);
    let mut first = Subscriber::connect(&server.base_url, token).await;
    first
        .subscribe(json!({ "types": types, "after": "0" }))
        .await;
    let (id, _) = place(&app, &p.actors.customer, p.product.id, 1, "k-1").await;
    let seen = first.event().await;
    drop(first);

    // Missed while disconnected: a payment and a cancellation.
    let out = app
        .graphql_as(token, "mutation($i: MarkOrderPaidInput!) { markOrderPaid(input: $i) { userErrors { code } } }",
            json!({ "i": { "orderId": id, "method": "CARD" } }))
        .await;
    assert_eq!(
        out["data"]["markOrderPaid"]["userErrors"],
        json!([]),
        "{out}"
    );
    let (second, _) = place(&app, &p.actors.customer, p.product.id, 1, "k-2").await;
    let out = app
        .graphql_as(
            token,
            "mutation($i: CancelOrderInput!) { cancelOrder(input: $i) { userErrors { code } } }",
            json!({ "i": { "orderId": second } }),
        )
        .await;
    assert_eq!(out["data"]["cancelOrder"]["userErrors"], json!([]), "{out}");

    let mut again = Subscriber::connect(&server.base_url, token).await;
    again
        .subscribe(json!({ "types": types, "after": seen["id"] }))
        .await;
    let mut names = Vec::new();
    let mut last_id: i64 = seen["id"].as_str().unwrap().parse().unwrap();
    for _ in 0..3 {
        let e = again.event().await;
        let id: i64 = e["id"].as_str().unwrap().parse().unwrap();
        assert!(id > last_id, "ids increase: {id} after {last_id}");
        last_id = id;
        names.push(e["name"].as_str().unwrap().to_owned());
    }
    assert_eq!(names, ["order.paid", "order.placed", "order.cancelled"]);
}

/// What a webhook receiver got.
#[derive(Debug, Clone)]
struct Received {
    event_id: String,
    attempt: String,
    signature: String,
    body: String,
    answered: u16,
}

/// A local webhook receiver answering 500 to its first `failures` requests, then 200.
async fn receiver(
    failures: usize,
) -> (
    String,
    Arc<Mutex<Vec<Received>>>,
    tokio::task::JoinHandle<()>,
) {
    use axum::http::{HeaderMap, StatusCode};
    let log: Arc<Mutex<Vec<Received>>> = Arc::default();
    let shared = log.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let log = shared.clone();
            async move {
                let mut log = log.lock().unwrap();
                let answered = if log.len() < failures { 500 } else { 200 };
                let header = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned()
                };
                log.push(Received {
                    event_id: header("market-event-id"),
                    attempt: header("market-delivery-attempt"),
                    signature: header("market-signature"),
                    body,
                    answered,
                });
                StatusCode::from_u16(answered).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, log, task)
}

/// Checks a `Market-Signature` header as a receiver would (README: verifying a delivery).
fn verify(secret: &str, header: &str, body: &str) -> bool {
    let Some((t, _)) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let Ok(t) = t.parse::<i64>() else {
        return false;
    };
    solidarity_market::domain::webhooks::signature(secret, t, body.as_bytes()) == header
}

/// Waits until `done` holds for the receiver's log.
async fn until(
    log: &Arc<Mutex<Vec<Received>>>,
    done: impl Fn(&[Received]) -> bool,
) -> Vec<Received> {
    let started = std::time::Instant::now();
    loop {
        let seen = log.lock().unwrap().clone();
        if done(&seen) {
            return seen;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the receiver got only {seen:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The ids of the events delivered (answered 200), in order.
fn delivered(log: &[Received]) -> Vec<String> {
    log.iter()
        .filter(|r| r.answered == 200)
        .map(|r| r.event_id.clone())
        .collect()
}

const CREATE_WEBHOOK: &str = r#"mutation($i: CreateWebhookInput!) { createWebhook(input: $i) {
    webhook { id url events enabled secretHint } userErrors { field code } } }"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_gets_signed_deliveries_retried_after_a_500_and_logged() {
    let app = TestApp::spawn_with(|c| c.webhook_retry_base_ms = 20).await;
    let p = fixtures::portal(&app.db).await;
    let (url, log, _server) = receiver(1).await;
    let manager = Some(p.actors.manager.as_str());
    let secret = "whsec_0123456789abcdef";

    // Only managers register webhooks, with a real URL and a long enough secret.
    let refused = app
        .graphql_as(
            Some(&p.actors.own_member),
            CREATE_WEBHOOK,
            json!({ "i": { "url": url, "events": ["ORDER_PLACED"], "secret": secret } }),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    let invalid = app
        .graphql_as(
            manager,
            CREATE_WEBHOOK,
            json!({ "i": { "url": "ftp://example.ma", "events": [], "secret": "short" } }),
        )
        .await;
    assert_eq!(
        invalid["data"]["createWebhook"]["userErrors"],
        json!([{ "field": ["input", "url"], "code": "INVALID" }, { "field": ["input", "events"], "code": "INVALID" },
               { "field": ["input", "secret"], "code": "INVALID" }]),
        "{invalid}"
    );
    let created = app
        .graphql_as(manager, CREATE_WEBHOOK,
            json!({ "i": { "url": url, "events": ["ORDER_PLACED", "ORDER_PAID"], "secret": secret } }))
        .await;
    let hook = created["data"]["createWebhook"]["webhook"].clone();
    assert_eq!(hook["enabled"], true, "{created}");
    assert_eq!(hook["secretHint"], "…cdef");

    let (first, _) = place(&app, &p.actors.customer, p.product.id, 1, "k-1").await;
    place(&app, &p.actors.customer, p.product.id, 1, "k-2").await;
    let paid = app
        .graphql_as(manager, "mutation($i: MarkOrderPaidInput!) { markOrderPaid(input: $i) { userErrors { code } } }",
            json!({ "i": { "orderId": first, "method": "CASH" } }))
        .await;
    assert_eq!(paid["data"]["markOrderPaid"]["userErrors"], json!([]));

    let seen = until(&log, |l| delivered(l).len() >= 3).await;
    // Every request is signed with the secret, over its timestamp and body.
    for r in &seen {
        assert!(verify(secret, &r.signature, &r.body), "{r:?}");
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["id"], r.event_id.as_str());
    }
    // The first request failed (500) and its event came again, same id, attempt 2.
    assert_eq!(seen[0].answered, 500);
    let retried: Vec<&Received> = seen
        .iter()
        .filter(|r| r.event_id == seen[0].event_id)
        .collect();
    assert_eq!(retried.len(), 2, "{seen:#?}");
    assert_eq!(
        (retried[0].attempt.as_str(), retried[1].attempt.as_str()),
        ("1", "2")
    );
    // Each event delivered once (no crash here, so no second success).
    let mut ids = delivered(&seen);
    let kinds: Vec<String> = seen
        .iter()
        .filter(|r| r.answered == 200)
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "{seen:#?}");
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(sorted, ["order.paid", "order.placed", "order.placed"]);

    // The log, newest first.
    let listed = app
        .graphql_as(manager, "{ webhooks { id recentDeliveries { eventId eventName status attempts lastStatusCode } } }", json!({}))
        .await;
    let deliveries = listed["data"]["webhooks"][0]["recentDeliveries"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(deliveries.len(), 3, "{listed}");
    assert!(
        deliveries
            .iter()
            .all(|d| d["status"] == "DELIVERED" && d["lastStatusCode"] == 200),
        "{listed}"
    );
    let retried_entry = deliveries
        .iter()
        .find(|d| d["eventId"] == seen[0].event_id.as_str())
        .unwrap();
    assert_eq!(retried_entry["attempts"], 2);

    // Rotate the secret: the next delivery is signed with the new one. Then disable.
    let rotated = app
        .graphql_as(manager, "mutation($i: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $i) { webhook { secretHint } userErrors { code } } }",
            json!({ "i": { "id": hook["id"], "secret": "whsec_new_secret_9876" } }))
        .await;
    assert_eq!(
        rotated["data"]["rotateWebhookSecret"]["webhook"]["secretHint"], "…9876",
        "{rotated}"
    );
    place(&app, &p.actors.customer, p.product.id, 1, "k-3").await;
    let seen = until(&log, |l| delivered(l).len() >= 4).await;
    let last = seen.last().unwrap();
    assert!(verify("whsec_new_secret_9876", &last.signature, &last.body));
    assert!(!verify(secret, &last.signature, &last.body));
    let disabled = app
        .graphql_as(manager, "mutation($i: DisableWebhookInput!) { disableWebhook(input: $i) { webhook { enabled disabledReason } } }",
            json!({ "i": { "id": hook["id"] } }))
        .await;
    assert_eq!(
        disabled["data"]["disableWebhook"]["webhook"]["enabled"], false,
        "{disabled}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_failing_every_time_is_given_up_then_disabled() {
    let app = TestApp::spawn_with(|c| {
        c.webhook_retry_base_ms = 5;
        c.webhook_max_attempts = 2;
        c.webhook_disable_after = 3;
    })
    .await;
    let p = fixtures::portal(&app.db).await;
    let (url, log, _server) = receiver(usize::MAX).await;
    let manager = Some(p.actors.manager.as_str());
    app.graphql_as(manager, CREATE_WEBHOOK,
        json!({ "i": { "url": url, "events": ["ORDER_PLACED"], "secret": "whsec_0123456789abcdef" } }))
        .await;
    place(&app, &p.actors.customer, p.product.id, 1, "k-1").await;
    place(&app, &p.actors.customer, p.product.id, 1, "k-2").await;
    // Two attempts of each (then `FAILED`): three failures in a row disable the webhook.
    until(&log, |l| l.len() >= 3).await;
    let started = std::time::Instant::now();
    loop {
        let out = app
            .graphql_as(manager, "{ webhooks { enabled disabledReason consecutiveFailures recentDeliveries { status attempts } } }", json!({}))
            .await;
        let hook = &out["data"]["webhooks"][0];
        if hook["enabled"] == false {
            // Attempts already under way when it was disabled are still counted.
            assert!(hook["consecutiveFailures"].as_i64().unwrap() >= 3, "{out}");
            assert_eq!(
                hook["disabledReason"],
                "too many failed deliveries in a row"
            );
            let statuses: Vec<&str> = hook["recentDeliveries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["status"].as_str().unwrap())
                .collect();
            assert!(statuses.contains(&"FAILED"), "{out}");
            break;
        }
        assert!(started.elapsed() < PATIENCE, "{out}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scheduled_checks_write_each_occurrence_once_however_many_run() {
    use solidarity_market::domain::events::run_scheduled_checks;
    let app = TestApp::spawn_with(|c| c.scheduled_checks_secs = 0).await;
    let p = fixtures::portal(&app.db).await;
    let today = chrono::Utc::now().date_naive();
    for (kind, days) in [
        (CertificationType::DmpAuthorization, 20),
        (CertificationType::Iso22716, 5),
        (CertificationType::Organic, -1),
        (CertificationType::Pgi, 90),
    ] {
        fixtures::certify(
            &app.db,
            &p.other,
            kind,
            fixtures::days_from_today(-300),
            Some(fixtures::days_from_today(days)),
            &[],
        )
        .await;
    }
    let now = chrono::Utc::now();
    // Six instances running the check at once.
    let runs =
        futures::future::join_all((0..6).map(|_| run_scheduled_checks(&app.db, today, now))).await;
    let written: u64 = runs.into_iter().map(|r| r.expect("checks run")).sum();
    assert_eq!(written, 3);
    let mut kinds = outbox(&app).await;
    kinds.retain(|k| k.starts_with("certification."));
    assert_eq!(kinds.len(), 3);
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "certification.expiring")
            .count(),
        2
    );
    // A week later the 20-day one is within 7 days: its second (and last) warning.
    let later = today + chrono::Duration::days(14);
    assert_eq!(run_scheduled_checks(&app.db, later, now).await.unwrap(), 1);
    assert_eq!(run_scheduled_checks(&app.db, later, now).await.unwrap(), 0);
}

/// Starts the server binary on `url` with fast webhook retries.
fn start_server(url: &str, port: u16) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_solidarity-market"))
        .args([
            "serve",
            "--seed-demo",
            "false",
            "--database-max-connections",
            "8",
        ])
        .args(["--database-url", url])
        .args(["--bind-addr", &format!("127.0.0.1:{port}")])
        .args(["--log-level", "warn"])
        .args([
            "--webhook-retry-base-ms",
            "20",
            "--webhook-timeout-secs",
            "1",
        ])
        .args(MANY_CLIENTS_FLAGS)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start the server binary")
}

async fn ready(port: u16) {
    let client = reqwest::Client::new();
    for _ in 0..400 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server process did not become ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_between_commit_and_delivery_loses_no_event() {
    // The test's own app serves the API but delivers nothing: only the server processes do.
    let app =
        TestApp::spawn_with(|c| c.webhook_delivery = solidarity_market::config::Switch::Off).await;
    let p = fixtures::portal(&app.db).await;
    // The receiver holds the first request open: the server is killed while delivering.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let log: Arc<Mutex<Vec<Received>>> = Arc::default();
    let shared = log.clone();
    let hook = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let (log, tx) = (shared.clone(), tx.clone());
            async move {
                let first = {
                    let mut log = log.lock().unwrap();
                    let first = log.is_empty();
                    log.push(Received {
                        event_id: headers["market-event-id"].to_str().unwrap().to_owned(),
                        attempt: headers["market-delivery-attempt"]
                            .to_str()
                            .unwrap()
                            .to_owned(),
                        signature: String::new(),
                        body,
                        answered: if first { 0 } else { 200 },
                    });
                    first
                };
                if first {
                    let _ = tx.send(());
                    std::future::pending::<()>().await;
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let _receiver = tokio::spawn(async move {
        let _ = axum::serve(listener, hook).await;
    });
    app.graphql_as(Some(&p.actors.manager), CREATE_WEBHOOK,
        json!({ "i": { "url": url, "events": ["ORDER_PLACED"], "secret": "whsec_0123456789abcdef" } }))
        .await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut first = start_server(&app.url, port);
    ready(port).await;
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let out = crate::helpers::graphql_http(&client, &base, Some(&p.actors.customer), PLACE,
        json!({ "i": { "channel": "ONLINE", "idempotencyKey": "k-1", "lines": [
            { "productId": encode(NodeType::Product, p.product.id).to_string(), "quantity": 1 } ] } }))
        .await;
    let mut numbers = vec![
        out["data"]["placeOrder"]["order"]["number"]
            .as_str()
            .unwrap_or_else(|| panic!("{out}"))
            .to_owned(),
    ];
    // The first delivery is under way (claimed, unanswered): kill -9 now.
    let delivering = tokio::time::timeout(PATIENCE, rx.recv()).await;
    first.kill().expect("SIGKILL");
    first.wait().unwrap();
    delivering.expect("a delivery in time");
    // The other orders are committed through this process's own app while no server
    // delivers: only the outbox holds them.
    for key in ["k-2", "k-3"] {
        let (_, number) = place(&app, &p.actors.customer, p.product.id, 1, key).await;
        numbers.push(number);
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut second = start_server(&app.url, port);
    ready(port).await;
    let seen = until(&log, |l| {
        let mut ok: Vec<&String> = l
            .iter()
            .filter(|r| r.answered == 200)
            .map(|r| &r.event_id)
            .collect();
        ok.sort();
        ok.dedup();
        ok.len() >= 3
    })
    .await;
    let _ = second.kill();
    let _ = second.wait();
    let subjects: std::collections::BTreeSet<String> = seen
        .iter()
        .filter(|r| r.answered == 200)
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["subject"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(subjects, numbers.iter().cloned().collect(), "{seen:#?}");
    // The delivery cut short came again with the same id.
    let cut = &seen[0].event_id;
    let again: Vec<&Received> = seen.iter().filter(|r| &r.event_id == cut).collect();
    assert!(
        again.len() >= 2 && again.iter().any(|r| r.answered == 200),
        "{seen:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_delivering_together_send_each_event_once() {
    let a = TestApp::spawn_with(|c| c.webhook_retry_base_ms = 20).await;
    let p = fixtures::portal(&a.db).await;
    let honey = fixtures::product(
        &a.db,
        &p.coop,
        NewProduct::new("HON-BIG", "Thyme honey 1 kg", "honey", 30000, 100),
    )
    .await;
    let b = TestApp::spawn_on(&a.url, |c| c.webhook_retry_base_ms = 20).await;
    let (url, log, _server) = receiver(0).await;
    let created = a
        .graphql_as(Some(&p.actors.manager), CREATE_WEBHOOK,
            json!({ "i": { "url": url, "events": ["ORDER_PLACED"], "secret": "whsec_0123456789abcdef" } }))
        .await;
    assert_eq!(
        created["data"]["createWebhook"]["userErrors"],
        json!([]),
        "{created}"
    );
    // Twenty orders at once, half through each instance (both deliver).
    let orders = futures::future::join_all((0..20).map(|i| {
        let (app, customer) = (if i % 2 == 0 { &a } else { &b }, &p.actors.customer);
        async move { place(app, customer, honey.id, 1, &format!("k-{i}")).await.1 }
    }))
    .await;
    let seen = until(&log, |l| l.len() >= 20).await;
    let mut ids: Vec<&str> = seen.iter().map(|r| r.event_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 20, "{seen:#?}");
    let subjects: std::collections::BTreeSet<String> = seen
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["subject"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(subjects, orders.into_iter().collect());
    // Each delivery was claimed once: one attempt each, all delivered. (The receiver may
    // log a request a moment before its sender records the answer.)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (listed, deliveries) = loop {
        let listed = a
            .graphql_as(
                Some(&p.actors.manager),
                "{ webhooks { recentDeliveries(first: 100) { status attempts } } }",
                json!({}),
            )
            .await;
        let deliveries = listed["data"]["webhooks"][0]["recentDeliveries"]
            .as_array()
            .unwrap()
            .clone();
        let settled = deliveries.iter().all(|d| d["status"] != "PENDING");
        if settled || std::time::Instant::now() > deadline {
            break (listed, deliveries);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(deliveries.len(), 20, "{listed}");
    assert!(
        deliveries
            .iter()
            .all(|d| d["status"] == "DELIVERED" && d["attempts"] == 1),
        "{listed}"
    );
}

/// The webhooks' cursor: how far the fan-out has gone.
async fn webhook_cursor(app: &TestApp) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT position FROM event_cursors WHERE name = 'webhooks'",
        ))
        .await
        .expect("cursor")
        .expect("the webhooks' cursor");
    row.try_get::<i64>("", "position").expect("position")
}

/// The largest published event id, and how many events wait for their id (PostgreSQL
/// numbers them after commit).
async fn newest_event(app: &TestApp) -> (i64, i64) {
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT COALESCE(MAX(seq), 0) AS n, \
             (SELECT COUNT(*) FROM events WHERE seq IS NULL) AS waiting FROM events",
        ))
        .await
        .expect("events")
        .expect("a row");
    (
        row.try_get::<i64>("", "n").expect("n"),
        row.try_get::<i64>("", "waiting").expect("waiting"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_webhook_hears_what_happens_after_it_and_a_burst_is_recorded_together() {
    let app = TestApp::spawn_with(|c| c.webhook_retry_base_ms = 20).await;
    let p = fixtures::portal(&app.db).await;
    let honey = fixtures::product(
        &app.db,
        &p.coop,
        NewProduct::new("HON-BURST", "Thyme honey 500 g", "honey", 9000, 100),
    )
    .await;
    let manager = Some(p.actors.manager.as_str());

    // Orders while nobody listens: the fan-out moves past them (one statement).
    for i in 0..3 {
        place(
            &app,
            &p.actors.customer,
            honey.id,
            1,
            &format!("before-{i}"),
        )
        .await;
    }
    let started = std::time::Instant::now();
    loop {
        // Every earlier event published, and the fan-out past them: an event published
        // after the webhook's creation is owed to it, whenever its order committed.
        let (newest, waiting) = newest_event(&app).await;
        if newest > 0 && waiting == 0 && webhook_cursor(&app).await >= newest {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the fan-out never moved past the events"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (url, log, _server) = receiver(0).await;
    let created = app
        .graphql_as(manager, CREATE_WEBHOOK,
            json!({ "i": { "url": url, "events": ["ORDER_PLACED"], "secret": "whsec_0123456789abcdef" } }))
        .await;
    assert_eq!(
        created["data"]["createWebhook"]["userErrors"],
        json!([]),
        "{created}"
    );

    // A burst: twelve orders at once, delivered in batches and recorded together.
    let numbers = futures::future::join_all((0..12).map(|i| {
        let (app, customer) = (&app, &p.actors.customer);
        async move {
            place(app, customer, honey.id, 1, &format!("after-{i}"))
                .await
                .1
        }
    }))
    .await;
    let seen = until(&log, |l| delivered(l).len() >= 12).await;
    let subjects: std::collections::BTreeSet<String> = seen
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["subject"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    // Exactly the orders placed after the webhook, each once: none of the earlier three.
    assert_eq!(subjects, numbers.into_iter().collect(), "{seen:#?}");
    assert_eq!(seen.len(), 12, "{seen:#?}");

    // Every delivery logged as delivered, with its receiver's answer.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (listed, deliveries) = loop {
        let listed = app
            .graphql_as(
                manager,
                "{ webhooks { consecutiveFailures recentDeliveries(first: 100) { status attempts lastStatusCode lastError } } }",
                json!({}),
            )
            .await;
        let deliveries = listed["data"]["webhooks"][0]["recentDeliveries"]
            .as_array()
            .unwrap()
            .clone();
        if deliveries.iter().all(|d| d["status"] == "DELIVERED")
            || std::time::Instant::now() > deadline
        {
            break (listed, deliveries);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(deliveries.len(), 12, "{listed}");
    for d in &deliveries {
        assert_eq!(
            (
                &d["status"],
                &d["attempts"],
                &d["lastStatusCode"],
                &d["lastError"]
            ),
            (&json!("DELIVERED"), &json!(1), &json!(200), &Value::Null),
            "{listed}"
        );
    }
    assert_eq!(listed["data"]["webhooks"][0]["consecutiveFailures"], 0);
}
