//! Accounts: registration, sign-in, tokens, throttling, `me`, private fields.

use crate::fixtures;
use crate::helpers::{TestApp, error_code};
use serde_json::{Value, json};
use solidarity_market::domain::enums::Role;

const REGISTER: &str = r#"mutation($input: RegisterInput!) { register(input: $input) {
    token user { id email name role } userErrors { field message code } } }"#;
const LOGIN: &str = r#"mutation($input: LoginInput!) { login(input: $input) {
    token user { email role } userErrors { field code message } } }"#;
const ME: &str = "{ me { email name role cooperative { slug } } }";

async fn login(app: &TestApp, email: &str, password: &str) -> Value {
    app.graphql(
        LOGIN,
        json!({ "input": { "email": email, "password": password } }),
    )
    .await["data"]["login"]
        .clone()
}

#[tokio::test]
async fn register_creates_a_customer_who_then_signs_in() {
    let app = TestApp::spawn().await;
    let data = app
        .data(REGISTER, json!({ "input": { "email": " Amina@Example.MA ", "password": "a long passphrase", "name": "Amina" } }))
        .await;
    let payload = &data["register"];
    assert_eq!(payload["userErrors"], json!([]));
    // No token: the answer must be the same whether or not the address was taken.
    assert_eq!(payload["token"], Value::Null);
    let signed_in = login(&app, "amina@example.ma", "a long passphrase").await;
    assert_eq!(signed_in["user"]["role"], "CUSTOMER");
    assert_eq!(signed_in["user"]["email"], "amina@example.ma");
    let token = signed_in["token"].as_str().unwrap();
    let me = app.graphql_as(Some(token), ME, json!({})).await;
    assert_eq!(me["data"]["me"]["email"], "amina@example.ma");
}

#[tokio::test]
async fn register_refuses_weak_passwords_bad_emails_and_duplicates_writing_nothing() {
    let app = TestApp::spawn().await;
    let attempt = |email: &'static str, password: &'static str| {
        let app = &app;
        async move {
            app.data(
                REGISTER,
                json!({ "input": { "email": email, "password": password, "name": "X" } }),
            )
            .await["register"]
                .clone()
        }
    };
    let weak = attempt("a@example.ma", "short").await;
    assert_eq!(weak["userErrors"][0]["code"], "WEAK_PASSWORD");
    assert_eq!(weak["userErrors"][0]["field"], json!(["input", "password"]));
    assert_eq!(weak["token"], Value::Null);
    assert_eq!(
        attempt("not-an-email", "a long passphrase").await["userErrors"][0]["code"],
        "INVALID_EMAIL"
    );
    assert_eq!(
        attempt("a@example.ma", "a long passphrase").await["userErrors"],
        json!([])
    );
    // A taken address gets the answer of a free one (see tests/api/signin.rs), and the
    // account keeps its password: e-mails are unique whatever their case.
    let dup = attempt("A@EXAMPLE.MA", "another passphrase").await;
    assert_eq!(dup["userErrors"], json!([]));
    assert_eq!(
        login(&app, "a@example.ma", "a long passphrase").await["userErrors"],
        json!([])
    );
}

#[tokio::test]
async fn login_answers_the_same_for_unknown_email_and_wrong_password() {
    let app = TestApp::spawn().await;
    fixtures::account(&app.db, "known@example.ma", Role::Customer, None).await;
    let wrong_password = login(&app, "known@example.ma", "not the password").await;
    let unknown = login(&app, "unknown@example.ma", "not the password").await;
    assert_eq!(wrong_password["userErrors"], unknown["userErrors"]);
    assert_eq!(unknown["userErrors"][0]["code"], "INVALID_CREDENTIALS");
    assert_eq!(unknown["token"], Value::Null);
    let ok = login(&app, "KNOWN@example.ma", "correct horse battery").await;
    assert!(ok["token"].is_string());
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_per_email() {
    let app = TestApp::spawn().await;
    fixtures::account(&app.db, "target@example.ma", Role::Customer, None).await;
    // Five failures from anywhere, then one attempt per growing delay from places the
    // account never signed in from (see tests/api/signin.rs for the other limits).
    for _ in 0..6 {
        assert_eq!(
            login(&app, "target@example.ma", "guess guess guess").await["userErrors"][0]["code"],
            "INVALID_CREDENTIALS"
        );
    }
    let response = app
        .graphql(LOGIN, json!({ "input": { "email": "target@example.ma", "password": "correct horse battery" } }))
        .await;
    assert_eq!(
        error_code(&response),
        "THROTTLED",
        "even the right password waits: {response}"
    );
    assert!(
        login(&app, "other@example.ma", "guess guess guess").await["userErrors"][0]["code"]
            == "INVALID_CREDENTIALS"
    );
}

#[tokio::test]
async fn logout_revokes_the_token_and_bad_tokens_are_anonymous() {
    let app = TestApp::spawn().await;
    let token = fixtures::account(&app.db, "c@example.ma", Role::Customer, None).await;
    assert_eq!(
        app.graphql_as(Some(&token), ME, json!({})).await["data"]["me"]["email"],
        "c@example.ma"
    );
    let out = app
        .graphql_as(
            Some(&token),
            "mutation { logout { revoked userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(out["data"]["logout"]["revoked"], true);
    assert_eq!(
        app.graphql_as(Some(&token), ME, json!({})).await["data"]["me"],
        Value::Null
    );
    let again = app
        .graphql_as(Some(&token), "mutation { logout { revoked } }", json!({}))
        .await;
    assert_eq!(error_code(&again), "UNAUTHENTICATED");
    assert_eq!(
        app.graphql_as(Some("garbage"), ME, json!({})).await["data"]["me"],
        Value::Null
    );
    // A second session of the same account is unaffected.
    let other = login(&app, "c@example.ma", "correct horse battery").await;
    let other = other["token"].as_str().unwrap();
    assert_eq!(
        app.graphql_as(Some(other), ME, json!({})).await["data"]["me"]["email"],
        "c@example.ma"
    );
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let token = fixtures::account(&app.db, "old@example.ma", Role::Customer, None).await;
    app.execute_sql("UPDATE auth_tokens SET expires_at = created_at")
        .await;
    assert_eq!(
        app.graphql_as(Some(&token), ME, json!({})).await["data"]["me"],
        Value::Null
    );
}

#[tokio::test]
async fn private_cooperative_fields_are_for_its_members_and_managers() {
    let app = TestApp::spawn().await;
    let portal = fixtures::portal(&app.db).await;
    let query = r#"query($slug: String!) { cooperative(slug: $slug) { payoutAccount contactEmail contactPhone commissionRate } }"#;
    let vars = json!({ "slug": portal.coop.slug });
    let a = &portal.actors;
    for (token, visible) in [
        (None, false),
        (Some(&a.customer), false),
        (Some(&a.other_member), false),
        (Some(&a.own_member), true),
        (Some(&a.manager), true),
    ] {
        let coop = app
            .graphql_as(token.map(String::as_str), query, vars.clone())
            .await["data"]["cooperative"]
            .clone();
        assert_eq!(
            coop["payoutAccount"].is_string(),
            visible,
            "{token:?}: {coop}"
        );
        assert_eq!(coop["contactEmail"].is_string(), visible);
        assert_eq!(coop["commissionRate"].is_string(), visible);
    }
}

#[tokio::test]
async fn managers_create_member_accounts_bound_to_a_cooperative() {
    let app = TestApp::spawn().await;
    let portal = fixtures::portal(&app.db).await;
    let create = r#"mutation($input: CreateUserInput!) { createUser(input: $input) { user { id email role cooperative { slug } } userErrors { code field } } }"#;
    let input = json!({ "input": { "email": "new.member@bouguemez.ma", "password": "a long passphrase", "name": "New", "role": "COOPERATIVE_MEMBER", "cooperativeId": null } });
    let missing_coop = app
        .graphql_as(Some(&portal.actors.manager), create, input)
        .await;
    assert_eq!(
        missing_coop["data"]["createUser"]["userErrors"][0]["field"],
        json!(["input", "cooperativeId"])
    );
    let node_query = r#"{ cooperative(slug: "cooperative-ait-bouguemez") { id } }"#;
    let coop_id = app.data(node_query, json!({})).await["cooperative"]["id"].clone();
    let created = app
        .graphql_as(Some(&portal.actors.manager), create, json!({ "input": { "email": "new.member@bouguemez.ma", "password": "a long passphrase", "name": "New", "role": "COOPERATIVE_MEMBER", "cooperativeId": coop_id } }))
        .await;
    let user = &created["data"]["createUser"]["user"];
    assert_eq!(user["email"], "new.member@bouguemez.ma");
    assert_eq!(user["cooperative"]["slug"], "cooperative-ait-bouguemez");
    let logged = login(&app, "new.member@bouguemez.ma", "a long passphrase").await;
    assert_eq!(logged["user"]["role"], "COOPERATIVE_MEMBER");
}
