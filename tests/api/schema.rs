//! `schema.graphql` is the served schema, and every part of it is documented.

use crate::helpers::TestApp;
use serde_json::json;

#[test]
fn schema_file_matches_the_served_schema() {
    let on_disk = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql at the repository root");
    assert!(
        on_disk == solidarity_market::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -- export-schema`"
    );
}

#[tokio::test]
async fn every_type_field_and_value_is_documented() {
    let app = TestApp::spawn().await;
    let data = app
        .data(
            r#"{ __schema { types { name kind description
                 fields { name description }
                 inputFields { name description }
                 enumValues { name description } } } }"#,
            json!({}),
        )
        .await;
    let builtin = ["String", "Int", "Float", "Boolean", "ID"];
    let mut missing = Vec::new();
    for t in data["__schema"]["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        if name.starts_with("__") || builtin.contains(&name) {
            continue;
        }
        if t["description"].as_str().unwrap_or("").is_empty() {
            missing.push(name.to_owned());
        }
        for key in ["fields", "inputFields", "enumValues"] {
            for f in t[key].as_array().into_iter().flatten() {
                let field = format!("{name}.{}", f["name"].as_str().unwrap());
                if f["description"].as_str().unwrap_or("").is_empty() {
                    missing.push(field);
                }
            }
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:#?}");
}
