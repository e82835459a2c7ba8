//! README.md's examples run as written against the demo a new user gets on first start:
//! every GraphQL operation of its `graphql` blocks (signed in with the README's demo
//! manager account), and its CSV examples through the real binary's `import` commands.

use crate::helpers::TestApp;
use serde_json::{Value, json};

/// The README, as the repository holds it.
const README: &str = include_str!("../../README.md");

/// The contents of every fenced block of `language` in `markdown`, with its first line.
fn blocks(markdown: &str, language: &str) -> Vec<(usize, String)> {
    let fence = format!("```{language}");
    let mut found = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, line) in markdown.lines().enumerate() {
        match current.as_mut() {
            None if line.trim_end() == fence => current = Some((n + 2, String::new())),
            None => {}
            Some(_) if line.trim_end() == "```" => found.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an unclosed ```{language} block");
    found
}

/// The operations of a block, one document each: a block lists operations one after the
/// other (a GraphQL document may hold only one anonymous operation). `#` comments go.
fn operations(block: &str) -> Vec<String> {
    let mut operations = Vec::new();
    let mut current = String::new();
    let (mut depth, mut in_string) = (0usize, false);
    for line in block.lines() {
        if line.trim_start().starts_with('#') && depth == 0 {
            continue;
        }
        for c in line.chars() {
            current.push(c);
            match c {
                '"' => in_string = !in_string,
                '{' if !in_string => depth += 1,
                '}' if !in_string => {
                    depth -= 1;
                    if depth == 0 {
                        operations.push(std::mem::take(&mut current).trim().to_owned());
                    }
                }
                _ => {}
            }
        }
        current.push('\n');
    }
    assert!(
        current.trim().is_empty(),
        "text after the last operation: {current}"
    );
    operations
}

/// The README's demo accounts: (e-mail, password) of each row of its table.
fn demo_accounts() -> Vec<(String, String, String)> {
    README
        .lines()
        .skip_while(|l| !l.starts_with("Demo accounts"))
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(|c| c.trim().trim_matches('`')).collect();
            (cells[1].into(), cells[2].into(), cells[3].into())
        })
        .collect()
}

/// Every `userErrors` list in an answer, with its path.
fn user_errors(value: &Value, path: &str, found: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                if key == "userErrors" && field.as_array().is_some_and(|e| !e.is_empty()) {
                    found.push(format!("{path}.userErrors: {field}"));
                }
                user_errors(field, &format!("{path}.{key}"), found);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| user_errors(item, path, found)),
        _ => {}
    }
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> String {
    let answer = app
        .graphql(
            "mutation($email: String!, $password: String!) {
               login(input: { email: $email, password: $password }) { token userErrors { message } } }",
            json!({ "email": email, "password": password }),
        )
        .await;
    answer["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("the README's account {email} signs in: {answer}"))
        .to_owned()
}

/// Values for the variables the README's examples declare, taken from the demo as the
/// README says (`$statementId`: a `DUE` statement; `$paidOn`: today; `$webhookId`: the
/// webhook its example registers).
async fn variables(app: &TestApp, token: &str, operation: &str) -> Value {
    let mut values = serde_json::Map::new();
    if operation.contains("$statementId") {
        let answer = app
            .graphql_as(
                Some(token),
                "{ payoutStatements(first: 1, filter: { status: DUE }) { nodes { id } } }",
                json!({}),
            )
            .await;
        let id = answer["data"]["payoutStatements"]["nodes"][0]["id"].clone();
        assert!(id.is_string(), "the demo has a DUE statement: {answer}");
        values.insert("statementId".into(), id);
    }
    if operation.contains("$webhookId") {
        let answer = app
            .graphql_as(Some(token), "{ webhooks { id } }", json!({}))
            .await;
        let id = answer["data"]["webhooks"][0]["id"].clone();
        assert!(
            id.is_string(),
            "the README creates a webhook first: {answer}"
        );
        values.insert("webhookId".into(), id);
    }
    if operation.contains("$paidOn") {
        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::Africa::Casablanca)
            .date_naive();
        values.insert("paidOn".into(), json!(today.to_string()));
    }
    Value::Object(values)
}

#[tokio::test]
async fn readme_graphql_examples_run_against_the_demo() {
    let app = TestApp::with_demo().await;
    let accounts = demo_accounts();
    assert_eq!(
        accounts.len(),
        3,
        "the README lists the three demo accounts"
    );
    for (email, password, _) in &accounts {
        sign_in(&app, email, password).await;
    }
    let (email, password, _) = accounts
        .iter()
        .find(|(_, _, role)| role == "MANAGER")
        .expect("a demo manager");
    let token = sign_in(&app, email, password).await;

    let mut ran = 0;
    for (line, block) in blocks(README, "graphql") {
        for operation in operations(&block) {
            let variables = variables(&app, &token, &operation).await;
            let answer = app.graphql_as(Some(&token), &operation, variables).await;
            let context = format!("README.md line {line}: {operation}\n→ {answer}");
            assert!(answer.get("errors").is_none(), "{context}");
            let data = answer["data"].as_object().expect("data");
            for (field, value) in data {
                // A null root field would be an example naming something the demo lacks.
                assert!(!value.is_null(), "{field} is null — {context}");
            }
            let mut found = Vec::new();
            user_errors(&answer["data"], "data", &mut found);
            assert!(found.is_empty(), "{found:?} — {context}");
            ran += 1;
        }
    }
    assert!(ran >= 10, "only {ran} operations found in the README");
}

/// Runs the real binary on the app's database.
fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_solidarity-market"))
        .args(args)
        .env("DATABASE_URL", &app.url)
        .env("NO_PROGRESS", "1")
        .env("NO_COLOR", "1")
        .output()
        .expect("run the binary")
}

#[tokio::test]
async fn readme_csv_examples_import_into_the_demo() {
    let app = TestApp::with_demo().await;
    let csv = blocks(README, "csv");
    let catalog = csv
        .iter()
        .find(|(_, b)| b.starts_with("cooperative_slug,"))
        .expect("the README's catalog example");
    let orders = csv
        .iter()
        .find(|(_, b)| b.starts_with("order_ref,"))
        .expect("the README's orders example");
    let dir = tempfile::tempdir().unwrap();
    // The order example may name the catalog example's products: the catalog goes first,
    // as the README lists the commands.
    for (kind, (line, text)) in [("catalog", catalog), ("orders", orders)] {
        let file = dir.path().join(format!("{kind}.csv"));
        std::fs::write(&file, text).unwrap();
        let out = cli(&app, &["import", kind, file.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "README.md line {line}: import {kind} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // What the examples hold is there: their orders, with their lines.
    let expected_orders = orders
        .1
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect::<std::collections::BTreeSet<_>>();
    let refs = expected_orders
        .iter()
        .map(|r| format!("'{r}'"))
        .collect::<Vec<_>>()
        .join(",");
    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM orders WHERE external_ref IN ({refs})"),
        ))
        .await
        .unwrap()
        .unwrap();
    let n: i64 = row.try_get("", "n").unwrap();
    assert_eq!(n as usize, expected_orders.len());
}
