//! Sign-in and registration limits that hold under concurrency and cannot be turned
//! against an account's owner; `register` tells no one which addresses have accounts
//! (issue 12, item 3). The per-client rate limits in front of them (issue 12, item 2) are
//! raised here so that the database limits are what is tested.

use crate::fixtures;
use crate::helpers::{TestApp, graphql_from};
use serde_json::{Value, json};
use solidarity_market::config::Config;
use solidarity_market::domain::enums::Role;

const LOGIN: &str = r#"mutation($email: String!, $password: String!) {
  login(input: { email: $email, password: $password }) { token userErrors { code } } }"#;
const REGISTER: &str = r#"mutation($email: String!, $password: String!) {
  register(input: { email: $email, password: $password, name: "Client" }) {
    token expiresAt user { id } userErrors { field code message } } }"#;

fn generous_rates(config: &mut Config) {
    config.sign_ins_per_minute = 100_000;
    config.registrations_per_minute = 100_000;
    config.max_concurrent_expensive_per_client = 100_000;
}

async fn login_from(app: &TestApp, peer: &str, email: &str, password: &str) -> Value {
    let (_, _, body) = graphql_from(
        app.router.clone(),
        peer,
        &[],
        LOGIN,
        json!({ "email": email, "password": password }),
    )
    .await;
    body
}

/// `OK`, `INVALID_CREDENTIALS` (the password was checked) or the error code.
fn outcome(body: &Value) -> String {
    if let Some(code) = body["errors"][0]["extensions"]["code"].as_str() {
        return code.to_owned();
    }
    let payload = &body["data"]["login"];
    if payload["token"].is_string() {
        "OK".into()
    } else {
        payload["userErrors"][0]["code"]
            .as_str()
            .unwrap_or("?")
            .to_owned()
    }
}

#[tokio::test]
async fn a_hundred_concurrent_guesses_are_counted_before_any_password_is_checked() {
    let app = TestApp::spawn_with(generous_rates).await;
    fixtures::account(&app.db, "target@example.ma", Role::Customer, None).await;
    let attempts = (0..100).map(|n| {
        let router = app.router.clone();
        let password = if n == 50 {
            "correct horse battery".to_owned()
        } else {
            format!("guess number {n}")
        };
        async move {
            let (_, _, body) = graphql_from(
                router,
                "198.51.100.7",
                &[],
                LOGIN,
                json!({ "email": "target@example.ma", "password": password }),
            )
            .await;
            body
        }
    });
    let outcomes: Vec<String> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(outcome)
        .collect();
    let checked = outcomes
        .iter()
        .filter(|o| *o == "OK" || *o == "INVALID_CREDENTIALS")
        .count();
    let throttled = outcomes.iter().filter(|o| *o == "THROTTLED").count();
    assert!(
        checked <= 10,
        "at most the limit of passwords were checked, not {checked}: {outcomes:?}"
    );
    assert_eq!(checked + throttled, 100, "{outcomes:?}");
}

#[tokio::test]
async fn a_stranger_cannot_lock_the_owner_out() {
    let app = TestApp::spawn_with(generous_rates).await;
    fixtures::account(&app.db, "manager@example.ma", Role::Manager, None).await;
    let owner_place = "192.0.2.10";
    assert_eq!(
        outcome(
            &login_from(
                &app,
                owner_place,
                "manager@example.ma",
                "correct horse battery"
            )
            .await
        ),
        "OK"
    );
    // A stranger guesses from elsewhere until refused.
    let mut refused = None;
    for n in 0..30 {
        let body = login_from(
            &app,
            "203.0.113.66",
            "manager@example.ma",
            &format!("guess number {n}"),
        )
        .await;
        if outcome(&body) == "THROTTLED" {
            refused = Some(body);
            break;
        }
        assert_eq!(outcome(&body), "INVALID_CREDENTIALS");
    }
    let refused = refused.expect("the stranger is throttled");
    let retry = refused["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!((1..=900).contains(&retry), "{refused}");
    // The owner, from where they signed in before, is not.
    assert_eq!(
        outcome(
            &login_from(
                &app,
                owner_place,
                "manager@example.ma",
                "correct horse battery"
            )
            .await
        ),
        "OK"
    );
    // From a new place during the attack, the owner waits a bounded delay, never more
    // than LOGIN_MAX_DELAY_SECS.
    let body = login_from(
        &app,
        "192.0.2.99",
        "manager@example.ma",
        "correct horse battery",
    )
    .await;
    match outcome(&body).as_str() {
        "OK" => {}
        "THROTTLED" => {
            let wait = body["errors"][0]["extensions"]["retryAfter"]
                .as_u64()
                .unwrap();
            assert!(wait <= 60, "{body}");
        }
        other => panic!("{other}: {body}"),
    }
    // Other accounts from the stranger's address still get their passwords checked.
    fixtures::account(&app.db, "neighbour@example.ma", Role::Customer, None).await;
    assert_eq!(
        outcome(
            &login_from(
                &app,
                "203.0.113.66",
                "neighbour@example.ma",
                "correct horse battery"
            )
            .await
        ),
        "OK"
    );
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_are_told_apart() {
    let app = TestApp::spawn_with(|config| {
        generous_rates(config);
        config.trusted_proxies = vec!["10.0.0.1/32".parse().unwrap()];
    })
    .await;
    fixtures::account(&app.db, "amina@example.ma", Role::Customer, None).await;
    fixtures::account(&app.db, "youssef@example.ma", Role::Customer, None).await;
    let via_proxy = |client: &'static str| [("x-forwarded-for", client)];
    // The attacker, behind the shop's proxy, hammers one account until refused.
    for n in 0..15 {
        let (_, _, body) = graphql_from(
            app.router.clone(),
            "10.0.0.1",
            &via_proxy("203.0.113.66"),
            LOGIN,
            json!({ "email": "amina@example.ma", "password": format!("guess number {n}") }),
        )
        .await;
        assert!(["INVALID_CREDENTIALS", "THROTTLED"].contains(&outcome(&body).as_str()));
    }
    // Another customer behind the same proxy signs in.
    let (_, _, body) = graphql_from(
        app.router.clone(),
        "10.0.0.1",
        &via_proxy("198.51.100.20"),
        LOGIN,
        json!({ "email": "youssef@example.ma", "password": "correct horse battery" }),
    )
    .await;
    assert_eq!(outcome(&body), "OK", "{body}");
}

#[tokio::test]
async fn register_answers_the_same_whether_or_not_the_address_is_taken() {
    let app = TestApp::spawn_with(generous_rates).await;
    fixtures::account(&app.db, "taken@example.ma", Role::Customer, None).await;
    let register = |email: &'static str, password: &'static str| {
        let router = app.router.clone();
        async move {
            graphql_from(
                router,
                "192.0.2.5",
                &[],
                REGISTER,
                json!({ "email": email, "password": password }),
            )
            .await
            .2
        }
    };
    let new = register("new@example.ma", "a long passphrase").await;
    let taken = register("TAKEN@example.ma", "another passphrase").await;
    assert!(new.get("errors").is_none(), "{new}");
    assert_eq!(new["data"], taken["data"], "the same answer either way");
    assert_eq!(new["data"]["register"]["userErrors"], json!([]));
    assert_eq!(new["data"]["register"]["token"], Value::Null);
    // The new account signs in; the taken one kept its password.
    assert_eq!(
        outcome(&login_from(&app, "192.0.2.5", "new@example.ma", "a long passphrase").await),
        "OK"
    );
    assert_eq!(
        outcome(
            &login_from(
                &app,
                "192.0.2.5",
                "taken@example.ma",
                "correct horse battery"
            )
            .await
        ),
        "OK"
    );
    // Malformed input is still reported.
    let weak = register("weak@example.ma", "short").await;
    assert_eq!(
        weak["data"]["register"]["userErrors"][0]["code"],
        "WEAK_PASSWORD"
    );
}

#[tokio::test]
async fn a_hundred_concurrent_registrations_of_one_address_make_one_account() {
    let app = TestApp::spawn_with(|config| {
        generous_rates(config);
        config.registrations_per_source_per_hour = 1_000;
    })
    .await;
    let attempts = (0..100).map(|n| {
        let router = app.router.clone();
        async move {
            graphql_from(
                router,
                &format!("192.0.2.{}", n + 1),
                &[],
                REGISTER,
                json!({ "email": "race@example.ma", "password": format!("passphrase {n:03}") }),
            )
            .await
            .2
        }
    });
    let answers = futures::future::join_all(attempts).await;
    for answer in &answers {
        assert_eq!(answer["data"], answers[0]["data"], "{answer}");
    }
    use market_core::entities::user;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let accounts = user::Entity::find()
        .filter(user::Column::Email.eq("race@example.ma"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(accounts, 1);
}

#[tokio::test]
async fn registrations_are_limited_per_source_address() {
    let app = TestApp::spawn_with(|config| {
        generous_rates(config);
        config.registrations_per_source_per_hour = 3;
    })
    .await;
    let from = |peer: &'static str, n: u32| {
        let router = app.router.clone();
        async move {
            graphql_from(
                router,
                peer,
                &[],
                REGISTER,
                json!({ "email": format!("c{n}@example.ma"), "password": "a long passphrase" }),
            )
            .await
            .2
        }
    };
    for n in 0..3 {
        let body = from("192.0.2.5", n).await;
        assert_eq!(body["data"]["register"]["userErrors"], json!([]), "{body}");
    }
    let refused = from("192.0.2.5", 3).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "THROTTLED",
        "{refused}"
    );
    assert!(
        refused["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            > 0
    );
    let elsewhere = from("192.0.2.6", 4).await;
    assert_eq!(elsewhere["data"]["register"]["userErrors"], json!([]));
}
