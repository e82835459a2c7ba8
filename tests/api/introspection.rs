//! The standard introspection queries every client sends (graphql-js 16 with every option,
//! its default, and graphql-core 3; the exact documents are in
//! `tests/fixtures/introspection/`) succeed, and the schema rebuilt from their answer is
//! `schema.graphql`: types, fields, arguments, type references, defaults, enum values,
//! descriptions, deprecations and directives (issue 11, item 1). Introspection has its own
//! budget and does not widen the data limits (issue 12, item 1).

use crate::helpers::{TestApp, error_code};
use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const FIXTURES: [(&str, &str); 3] = [
    (
        "graphql-js-16-all-options",
        include_str!("../fixtures/introspection/graphql-js-16-all-options.graphql"),
    ),
    (
        "graphql-js-16-default",
        include_str!("../fixtures/introspection/graphql-js-16-default.graphql"),
    ),
    (
        "graphql-core-3-all-options",
        include_str!("../fixtures/introspection/graphql-core-3-all-options.graphql"),
    ),
];

/// Built-in types that introspection lists and SDL leaves out.
const BUILTIN_SCALARS: [&str; 5] = ["String", "Int", "Float", "Boolean", "ID"];
/// Built-in directives that SDL may leave out.
const BUILTIN_DIRECTIVES: [&str; 5] = ["deprecated", "oneOf", "specifiedBy", "include", "skip"];

#[derive(Debug, Clone, PartialEq, Eq)]
struct InputShape {
    description: Option<String>,
    ty: String,
    default: Option<String>,
    deprecation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldShape {
    description: Option<String>,
    ty: String,
    args: BTreeMap<String, InputShape>,
    deprecation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct TypeShape {
    kind: String,
    description: Option<String>,
    fields: BTreeMap<String, FieldShape>,
    input_fields: BTreeMap<String, InputShape>,
    enum_values: BTreeMap<String, (Option<String>, Option<String>)>,
    interfaces: BTreeSet<String>,
    possible_types: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DirectiveShape {
    description: Option<String>,
    locations: BTreeSet<String>,
    args: BTreeMap<String, InputShape>,
    repeatable: bool,
}

#[derive(Debug, Default)]
struct SchemaShape {
    query: String,
    mutation: Option<String>,
    types: BTreeMap<String, TypeShape>,
    directives: BTreeMap<String, DirectiveShape>,
}

/// Default values compared without insignificant spaces.
fn normalize_default(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn deprecation(
    directives: &[async_graphql::Positioned<async_graphql::parser::types::ConstDirective>],
) -> Option<String> {
    directives
        .iter()
        .find(|d| d.node.name.node == "deprecated")
        .map(|d| {
            d.node
                .get_argument("reason")
                .map(|r| match &r.node {
                    async_graphql::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_else(|| "No longer supported".to_owned())
        })
}

fn input_from_sdl(
    value: &async_graphql::parser::types::InputValueDefinition,
) -> (String, InputShape) {
    (
        value.name.node.to_string(),
        InputShape {
            description: value.description.as_ref().map(|d| d.node.clone()),
            ty: value.ty.node.to_string(),
            default: value
                .default_value
                .as_ref()
                .map(|v| normalize_default(&v.node.to_string())),
            deprecation: deprecation(&value.directives),
        },
    )
}

fn shape_from_sdl(sdl: &str) -> SchemaShape {
    let doc = parse_schema(sdl).expect("schema.graphql parses");
    let mut shape = SchemaShape {
        query: "Query".into(),
        ..Default::default()
    };
    let mut unions: Vec<(String, Vec<String>)> = Vec::new();
    let mut implementors: Vec<(String, String)> = Vec::new();
    for def in doc.definitions {
        match def {
            TypeSystemDefinition::Schema(s) => {
                shape.query = s.node.query.expect("a query root").node.to_string();
                shape.mutation = s.node.mutation.map(|m| m.node.to_string());
            }
            TypeSystemDefinition::Directive(d) => {
                let d = d.node;
                shape.directives.insert(
                    d.name.node.to_string(),
                    DirectiveShape {
                        description: d.description.map(|s| s.node),
                        locations: d
                            .locations
                            .iter()
                            .map(|l| format!("{:?}", l.node).to_uppercase())
                            .collect(),
                        args: d
                            .arguments
                            .iter()
                            .map(|a| input_from_sdl(&a.node))
                            .collect(),
                        // (async-graphql's parser reads every directive as repeatable.)
                        repeatable: sdl.lines().any(|line| {
                            line.starts_with(&format!("directive @{}", d.name.node))
                                && line.contains(" repeatable ")
                        }),
                    },
                );
            }
            TypeSystemDefinition::Type(t) => {
                let t = t.node;
                let name = t.name.node.to_string();
                let mut ty = TypeShape {
                    description: t.description.map(|d| d.node),
                    ..Default::default()
                };
                let fields = |fields: &[async_graphql::Positioned<
                    async_graphql::parser::types::FieldDefinition,
                >]| {
                    fields
                        .iter()
                        .map(|f| {
                            let f = &f.node;
                            (
                                f.name.node.to_string(),
                                FieldShape {
                                    description: f.description.as_ref().map(|d| d.node.clone()),
                                    ty: f.ty.node.to_string(),
                                    args: f
                                        .arguments
                                        .iter()
                                        .map(|a| input_from_sdl(&a.node))
                                        .collect(),
                                    deprecation: deprecation(&f.directives),
                                },
                            )
                        })
                        .collect()
                };
                match t.kind {
                    TypeKind::Scalar => ty.kind = "SCALAR".into(),
                    TypeKind::Object(o) => {
                        ty.kind = "OBJECT".into();
                        ty.fields = fields(&o.fields);
                        ty.interfaces = o.implements.iter().map(|i| i.node.to_string()).collect();
                        for i in &ty.interfaces {
                            implementors.push((i.clone(), name.clone()));
                        }
                    }
                    TypeKind::Interface(i) => {
                        ty.kind = "INTERFACE".into();
                        ty.fields = fields(&i.fields);
                        ty.interfaces = i.implements.iter().map(|i| i.node.to_string()).collect();
                    }
                    TypeKind::Union(u) => {
                        ty.kind = "UNION".into();
                        unions.push((
                            name.clone(),
                            u.members.iter().map(|m| m.node.to_string()).collect(),
                        ));
                    }
                    TypeKind::Enum(e) => {
                        ty.kind = "ENUM".into();
                        ty.enum_values = e
                            .values
                            .iter()
                            .map(|v| {
                                (
                                    v.node.value.node.to_string(),
                                    (
                                        v.node.description.as_ref().map(|d| d.node.clone()),
                                        deprecation(&v.node.directives),
                                    ),
                                )
                            })
                            .collect();
                    }
                    TypeKind::InputObject(i) => {
                        ty.kind = "INPUT_OBJECT".into();
                        ty.input_fields =
                            i.fields.iter().map(|f| input_from_sdl(&f.node)).collect();
                    }
                }
                shape.types.insert(name, ty);
            }
        }
    }
    for (interface, object) in implementors {
        if let Some(t) = shape.types.get_mut(&interface) {
            t.possible_types.insert(object);
        }
    }
    for (union, members) in unions {
        if let Some(t) = shape.types.get_mut(&union) {
            t.possible_types.extend(members);
        }
    }
    shape
}

/// `[Product!]!` from an introspection type reference.
fn type_ref(value: &Value) -> String {
    match value["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_ref(&value["ofType"])),
        Some("LIST") => format!("[{}]", type_ref(&value["ofType"])),
        _ => value["name"].as_str().expect("a named type").to_owned(),
    }
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

fn input_from_introspection(value: &Value) -> (String, InputShape) {
    (
        value["name"].as_str().unwrap().to_owned(),
        InputShape {
            description: text(&value["description"]),
            ty: type_ref(&value["type"]),
            default: value["defaultValue"].as_str().map(normalize_default),
            deprecation: if value["isDeprecated"] == true {
                text(&value["deprecationReason"])
            } else {
                None
            },
        },
    )
}

fn list(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

fn shape_from_introspection(schema: &Value) -> SchemaShape {
    let mut shape = SchemaShape {
        query: schema["queryType"]["name"].as_str().unwrap().to_owned(),
        mutation: text(&schema["mutationType"]["name"]),
        ..Default::default()
    };
    for t in list(&schema["types"]) {
        let name = t["name"].as_str().unwrap().to_owned();
        let ty = TypeShape {
            kind: t["kind"].as_str().unwrap().to_owned(),
            description: text(&t["description"]),
            fields: list(&t["fields"])
                .map(|f| {
                    (
                        f["name"].as_str().unwrap().to_owned(),
                        FieldShape {
                            description: text(&f["description"]),
                            ty: type_ref(&f["type"]),
                            args: list(&f["args"]).map(input_from_introspection).collect(),
                            deprecation: if f["isDeprecated"] == true {
                                text(&f["deprecationReason"])
                            } else {
                                None
                            },
                        },
                    )
                })
                .collect(),
            input_fields: list(&t["inputFields"])
                .map(input_from_introspection)
                .collect(),
            enum_values: list(&t["enumValues"])
                .map(|v| {
                    (
                        v["name"].as_str().unwrap().to_owned(),
                        (
                            text(&v["description"]),
                            if v["isDeprecated"] == true {
                                text(&v["deprecationReason"])
                            } else {
                                None
                            },
                        ),
                    )
                })
                .collect(),
            interfaces: list(&t["interfaces"]).map(type_ref).collect(),
            possible_types: list(&t["possibleTypes"]).map(type_ref).collect(),
        };
        shape.types.insert(name, ty);
    }
    for d in list(&schema["directives"]) {
        shape.directives.insert(
            d["name"].as_str().unwrap().to_owned(),
            DirectiveShape {
                description: text(&d["description"]),
                locations: list(&d["locations"])
                    .map(|l| l.as_str().unwrap().replace('_', ""))
                    .collect(),
                args: list(&d["args"]).map(input_from_introspection).collect(),
                repeatable: d["isRepeatable"] == true,
            },
        );
    }
    shape
}

#[tokio::test]
async fn standard_introspection_queries_rebuild_schema_graphql() {
    let app = TestApp::spawn().await;
    let sdl = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql");
    let expected = shape_from_sdl(&sdl);
    assert!(expected.types.len() > 100, "the SDL was read");
    for (fixture, document) in FIXTURES {
        let response = app.graphql(document, json!({})).await;
        assert!(
            response.get("errors").is_none(),
            "{fixture}: {:#}",
            response["errors"]
        );
        let cost = &response["extensions"]["cost"];
        assert!(
            cost["introspectionCost"].as_u64().unwrap() > 0,
            "{fixture}: {cost}"
        );
        let got = shape_from_introspection(&response["data"]["__schema"]);
        assert_eq!(got.query, expected.query, "{fixture}");
        assert_eq!(got.mutation, expected.mutation, "{fixture}");
        for (name, want) in &expected.types {
            let have = got
                .types
                .get(name)
                .unwrap_or_else(|| panic!("{fixture}: type {name} missing from introspection"));
            if fixture.ends_with("default") {
                // graphql-js's default asks no deprecated arguments nor input fields' state.
                assert_eq!(have.kind, want.kind, "{fixture}: {name}");
                assert_eq!(
                    have.fields.keys().collect::<Vec<_>>(),
                    want.fields.keys().collect::<Vec<_>>()
                );
                continue;
            }
            assert_eq!(have, want, "{fixture}: type {name} differs");
        }
        let extra: Vec<&String> = got
            .types
            .keys()
            .filter(|n| {
                !expected.types.contains_key(*n)
                    && !n.starts_with("__")
                    && !BUILTIN_SCALARS.contains(&n.as_str())
            })
            .collect();
        assert!(
            extra.is_empty(),
            "{fixture}: types not in schema.graphql: {extra:?}"
        );
        for (name, want) in &expected.directives {
            let mut want = want.clone();
            // SDL spells locations FRAGMENT_SPREAD, Debug gives FragmentSpread.
            want.locations = want.locations.iter().map(|l| l.replace('_', "")).collect();
            let have = got.directives.get(name).unwrap_or_else(|| {
                panic!("{fixture}: directive @{name} missing from introspection")
            });
            if fixture.ends_with("default") {
                continue;
            }
            // async-graphql's SDL leaves out the descriptions of built-in directives'
            // arguments; compare them where the SDL has them.
            for (arg, shape) in &mut want.args {
                if shape.description.is_none() {
                    shape.description = have.args.get(arg).and_then(|a| a.description.clone());
                }
            }
            assert_eq!(have, &want, "{fixture}: directive @{name} differs");
        }
        for name in got.directives.keys() {
            assert!(
                expected.directives.contains_key(name)
                    || BUILTIN_DIRECTIVES.contains(&name.as_str()),
                "{fixture}: directive @{name} is not in schema.graphql"
            );
        }
    }
}

#[tokio::test]
async fn introspection_does_not_widen_the_data_limits() {
    let app = TestApp::with_demo().await;
    // The data part of a document is held to the data limit, introspection or not.
    let mixed = app
        .graphql(
            "{ __schema { types { name } } products(first: 100) { nodes { cooperative { products(first: 100) { nodes { sku } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&mixed), "QUERY_TOO_COMPLEX", "{mixed}");
    assert_eq!(mixed["errors"][0]["extensions"]["maximumCost"], 10_000);
    // Deeply nested data is refused at depth 16 even though introspection may go deeper.
    let level = "cooperative { products { nodes { ";
    let deep = format!(
        "{{ products(first: 1) {{ nodes {{ {} sku {} }} }} }}",
        level.repeat(5),
        "} } } ".repeat(5)
    );
    let deep = app.graphql(&deep, json!({})).await;
    assert_eq!(deep["errors"][0]["extensions"]["limit"], "depth", "{deep}");
}

#[tokio::test]
async fn recursive_or_repeated_introspection_is_refused() {
    let app = TestApp::spawn().await;
    // A walk of the schema's graph through `fields { type { fields … } } }`.
    let walk = app
        .graphql(
            "{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&walk), "GRAPHQL_VALIDATION_FAILED", "{walk}");
    assert!(
        walk["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("introspection depth"),
        "{walk}"
    );
    // The standard query thirty times over, under aliases, is over the budget.
    let full = FIXTURES[0].1;
    let body = full
        .split_once("__schema {")
        .unwrap()
        .1
        .split_once("fragment FullType")
        .unwrap()
        .0
        .trim_end()
        .trim_end_matches('}')
        .trim_end()
        .trim_end_matches('}');
    let fragments = &full[full.find("fragment FullType").unwrap()..];
    let copies: String = (0..30)
        .map(|n| format!("s{n}: __schema {{ {body} }} "))
        .collect();
    let repeated = app
        .graphql(&format!("query {{ {copies} }} {fragments}"), json!({}))
        .await;
    assert_eq!(error_code(&repeated), "QUERY_TOO_COMPLEX", "{repeated}");
    assert!(
        repeated["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("introspection")
    );
}
