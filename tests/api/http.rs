//! GraphQL over HTTP, GraphiQL, health, limits and error masking.

use crate::helpers::{TestApp, error_code};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

fn post(body: impl Into<Body>, accept: &str) -> Request<Body> {
    Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, accept)
        .body(body.into())
        .unwrap()
}

#[tokio::test]
async fn health_reports_database_readiness() {
    let app = TestApp::spawn().await;
    let (status, _, body) = app
        .send(Request::get("/health").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["database"],
        "ok"
    );
}

#[tokio::test]
async fn graphiql_is_served_at_the_root() {
    let app = TestApp::spawn().await;
    let (status, headers, body) = app
        .send(Request::get("/").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(body.to_lowercase().contains("graphiql"));
}

#[tokio::test]
async fn queries_work_over_get_but_mutations_do_not() {
    let app = TestApp::spawn().await;
    let (status, headers, body) = app
        .send(
            Request::get("/graphql?query=%7Bregions%7Bcode%7D%7D")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["data"]["regions"]
            .as_array()
            .unwrap()
            .len(),
        12
    );

    let (status, _, _) = app
        .send(
            Request::get("/graphql?query=mutation%7B__typename%7D")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn accept_header_chooses_the_media_type_and_the_status_of_request_errors() {
    let app = TestApp::spawn().await;
    let invalid = json!({ "query": "{ noSuchField }" }).to_string();

    let (status, headers, body) = app
        .send(post(invalid.clone(), "application/graphql-response+json"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/graphql-response+json")
    );
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(
        body.get("data").is_none(),
        "a request error has no data entry"
    );
    assert!(body["errors"][0]["message"].is_string());

    let (status, headers, _) = app.send(post(invalid, "application/json")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );

    let (status, _, _) = app
        .send(post(
            json!({ "query": "{ regions { code } }" }).to_string(),
            "text/html",
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn malformed_requests_get_4xx() {
    let app = TestApp::spawn().await;
    let (status, _, _) = app.send(post("{not json", "application/json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = app
        .send(post(json!({ "query": 7 }).to_string(), "application/json"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = app
        .send(
            Request::post("/graphql")
                .body(Body::from(r#"{"query":"{regions{code}}"}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn request_bodies_are_size_limited() {
    let app = TestApp::spawn().await;
    let huge =
        json!({ "query": format!("{{ regions {{ code }} }} # {}", "x".repeat(2 * 1024 * 1024)) })
            .to_string();
    let (status, _, _) = app.send(post(huge, "application/json")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn deep_queries_are_refused() {
    let app = TestApp::spawn().await;
    let level = "cooperative { products { edges { node { ";
    let query = format!(
        "{{ products {{ edges {{ node {{ {} sku {} }} }} }} }}",
        level.repeat(5),
        "} } } } ".repeat(5)
    );
    let response = app.graphql(&query, json!({})).await;
    assert!(response.get("data").is_none(), "{response}");
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("depth"),
        "{response}"
    );
    assert_eq!(error_code(&response), "GRAPHQL_VALIDATION_FAILED");
}

#[tokio::test]
async fn database_failures_are_masked_with_a_code() {
    let app = TestApp::spawn().await;
    app.execute_sql("ALTER TABLE regions RENAME TO regions_moved")
        .await;
    let response = app.graphql("{ regions { code } }", json!({})).await;
    assert_eq!(error_code(&response), "INTERNAL_SERVER_ERROR");
    let message = response["errors"][0]["message"].as_str().unwrap();
    assert_eq!(message, "an error occurred with the database");
    assert!(
        !response
            .to_string()
            .to_lowercase()
            .contains("regions_moved")
    );
    assert!(!response.to_string().to_lowercase().contains("select"));
}

#[tokio::test]
async fn documents_with_too_many_aliases_are_refused() {
    let app = TestApp::spawn().await;
    let fields: String = (0..31)
        .map(|n| format!("a{n}: regions {{ code }} "))
        .collect();
    let response = app.graphql(&format!("{{ {fields} }}"), json!({})).await;
    assert!(response.get("data").is_none(), "{response}");
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("aliases"),
        "{response}"
    );
    assert_eq!(error_code(&response), "GRAPHQL_VALIDATION_FAILED");
    let fields: String = (0..30)
        .map(|n| format!("a{n}: regions {{ code }} "))
        .collect();
    let response = app.graphql(&format!("{{ {fields} }}"), json!({})).await;
    assert!(
        response.get("errors").is_none(),
        "30 aliases are fine: {response}"
    );
}
