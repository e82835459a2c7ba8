//! Every object of an answer lists its members in the order the query selects them
//! (GraphQL spec, "Serialized Map Ordering"), whichever field finished first: the bytes
//! of an answer depend on the data only, so its `ETag` and cached copies are stable.

use crate::helpers::TestApp;
use async_graphql::Value as Ordered;
use axum::body::Body;
use axum::http::{Request, header};
use serde_json::json;

/// Sends `query` and returns the answer with its members in the order they were written.
async fn answer(app: &TestApp, query: &str, variables: serde_json::Value) -> Ordered {
    let body = json!({ "query": query, "variables": variables }).to_string();
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("request");
    let (_, _, text) = app.send(request).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn keys(value: &Ordered) -> Vec<&str> {
    match value {
        Ordered::Object(members) => members.keys().map(|k| k.as_str()).collect(),
        other => panic!("not an object: {other}"),
    }
}

fn at<'a>(value: &'a Ordered, path: &[&str]) -> &'a Ordered {
    path.iter().fold(value, |value, step| match value {
        Ordered::Object(members) => members
            .get(*step)
            .unwrap_or_else(|| panic!("no `{step}` in {value}")),
        Ordered::List(items) => &items[step.parse::<usize>().expect("an index")],
        other => panic!("cannot step into {other} with `{step}`"),
    })
}

fn items(value: &Ordered) -> &[Ordered] {
    match value {
        Ordered::List(items) => items,
        other => panic!("not a list: {other}"),
    }
}

#[tokio::test]
async fn members_follow_the_selection_even_when_a_nested_page_finishes_last() {
    let app = TestApp::with_demo().await;
    // Each cooperative's page of products and its count wait for a batch; the plain
    // fields after them are ready at once.
    let query = "{ cooperatives(first: 8) { nodes {
        products(first: 2) { totalCount nodes { cooperative { region { name code } name } sku } }
        certifications { type }
        region { name }
        name
        slug
      } pageInfo { hasNextPage } } }";
    for _ in 0..5 {
        let answer = answer(&app, query, json!({})).await;
        assert!(!keys(&answer).contains(&"errors"), "no errors: {answer}");
        let connection = at(&answer, &["data", "cooperatives"]);
        assert_eq!(keys(connection), ["nodes", "pageInfo"]);
        let nodes = items(at(connection, &["nodes"]));
        assert_eq!(nodes.len(), 8);
        for coop in nodes {
            assert_eq!(
                keys(coop),
                ["products", "certifications", "region", "name", "slug"]
            );
            let products = at(coop, &["products"]);
            assert_eq!(keys(products), ["totalCount", "nodes"]);
            for product in items(at(products, &["nodes"])) {
                assert_eq!(keys(product), ["cooperative", "sku"]);
                assert_eq!(keys(at(product, &["cooperative"])), ["region", "name"]);
                assert_eq!(
                    keys(at(product, &["cooperative", "region"])),
                    ["name", "code"]
                );
            }
        }
    }
}

#[tokio::test]
async fn fragments_aliases_and_directives_keep_their_place() {
    let app = TestApp::with_demo().await;
    let query = "query($yes: Boolean!, $no: Boolean!) {
        products(first: 6) { nodes {
          ...Maker
          sku @include(if: $no)
          label: name
          ... on Product { price { currencyCode amount } }
          segment @skip(if: $no) { name }
          skipped: sku @skip(if: $yes)
          sku
          ...Maker
        } }
      }
      fragment Maker on Product { cooperative { products(first: 1) { nodes { sku } } name } stock { available } }";
    let answer = answer(&app, query, json!({ "yes": true, "no": false })).await;
    let nodes = items(at(&answer, &["data", "products", "nodes"]));
    assert!(!nodes.is_empty());
    for product in nodes {
        // `sku` is collected where it first applies: the `@include(if: false)` copy is out.
        assert_eq!(
            keys(product),
            ["cooperative", "stock", "label", "price", "segment", "sku"]
        );
        assert_eq!(keys(at(product, &["price"])), ["currencyCode", "amount"]);
        assert_eq!(keys(at(product, &["cooperative"])), ["products", "name"]);
    }
}

#[tokio::test]
async fn objects_of_an_interface_follow_their_own_type_fragments() {
    let app = TestApp::with_demo().await;
    let ids = app
        .data(
            "{ products(first: 1) { nodes { id cooperative { id } } } }",
            json!({}),
        )
        .await;
    let product = ids["products"]["nodes"][0]["id"].clone();
    let cooperative = ids["products"]["nodes"][0]["cooperative"]["id"].clone();
    let query = "query($ids: [ID!]!) { nodes(ids: $ids) {
        ... on Cooperative { products(first: 1) { nodes { sku } } name }
        id
        ... on Product { cooperative { name } sku }
        __typename
      } }";
    let answer = answer(&app, query, json!({ "ids": [product, cooperative] })).await;
    let nodes = items(at(&answer, &["data", "nodes"]));
    assert_eq!(keys(&nodes[0]), ["id", "cooperative", "sku", "__typename"]);
    assert_eq!(keys(&nodes[1]), ["products", "name", "id", "__typename"]);
}
