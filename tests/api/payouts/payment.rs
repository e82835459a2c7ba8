//! Paying statements: once only, the overdue filter, and the on-time payout figures.

use super::*;

#[tokio::test]
async fn a_statement_is_paid_once() {
    let s = shop().await;
    let o1 = s.order(&[("HON-BGZ-1", 1), ("TAJ-30", 1)]).await;
    s.pay(&o1, s.d(-30)).await;
    let (end, due) = (s.a().1, s.a().1 + Duration::days(30));
    let issued = s.generate(s.d(-40), end).await;
    let bouguemez = of(&issued, &s.coop_id())["id"].as_str().unwrap().to_owned();
    let safi = of(&issued, &s.safi_id())["id"].as_str().unwrap().to_owned();

    let paid = s.pay_statement(&bouguemez, due, " VIR-2026-0001 ").await;
    assert_eq!(paid["userErrors"], json!([]));
    assert_eq!(paid["payoutStatement"]["status"], "PAID");
    assert_eq!(paid["payoutStatement"]["paidOn"], day(due));
    assert_eq!(paid["payoutStatement"]["bankReference"], "VIR-2026-0001");

    let again = s.pay_statement(&bouguemez, s.today, "VIR-2026-0002").await;
    assert_eq!(again["userErrors"][0]["code"], "INVALID_STATUS");
    assert_eq!(
        again["userErrors"][0]["field"],
        json!(["input", "statementId"])
    );
    let now = s.statement(&bouguemez).await;
    assert_eq!(
        (now["paidOn"].clone(), now["bankReference"].clone()),
        (json!(day(due)), json!("VIR-2026-0001"))
    );

    for (paid_on, reference, code, field) in [
        (s.today + Duration::days(1), "VIR-3", "INVALID", "paidOn"),
        (end, "VIR-3", "INVALID", "paidOn"),
        (due, "  ", "INVALID", "reference"),
    ] {
        let out = s.pay_statement(&safi, paid_on, reference).await;
        assert_eq!(out["userErrors"][0]["code"], code, "{out}");
        assert_eq!(out["userErrors"][0]["field"], json!(["input", field]));
    }
    assert_eq!(s.statement(&safi).await["status"], "DUE", "nothing written");
    let unknown = s
        .pay_statement(&gid(NodeType::PayoutStatement, 999_999), due, "VIR-4")
        .await;
    assert_eq!(unknown["userErrors"][0]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn the_overdue_filter_lists_statements_unpaid_past_their_due_date() {
    let s = shop().await;
    let o1 = s.order(&[("HON-BGZ-1", 1), ("TAJ-30", 1)]).await;
    s.pay(&o1, s.d(-30)).await;
    let o2 = s.order(&[("HON-BGZ-1", 1)]).await;
    s.pay(&o2, s.d(-10)).await;
    let early = s.generate(s.a().0, s.a().1).await; // due in 9 days: overdue on the pinned today
    let late = s.generate(s.b().0, s.b().1).await; // due on the pinned today: not yet overdue
    assert_eq!((early.len(), late.len()), (2, 1));
    assert_eq!(late[0]["dueOn"], day(s.today));

    let ids = |list: Vec<Value>| -> BTreeSet<String> {
        list.iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let id_of = |list: &[Value], coop: &str| of(list, coop)["id"].as_str().unwrap().to_owned();
    let overdue = s.statements(s.manager(), json!({ "overdue": true })).await;
    assert_eq!(
        ids(overdue),
        BTreeSet::from([id_of(&early, &s.coop_id()), id_of(&early, &s.safi_id())])
    );

    s.pay_statement(&id_of(&early, &s.safi_id()), s.d(20), "VIR-9")
        .await;
    let overdue = s.statements(s.manager(), json!({ "overdue": true })).await;
    assert_eq!(
        ids(overdue.clone()),
        BTreeSet::from([id_of(&early, &s.coop_id())])
    );
    assert_eq!(overdue[0]["overdue"], true);
    let others = s.statements(s.manager(), json!({ "overdue": false })).await;
    assert_eq!(
        ids(others),
        BTreeSet::from([id_of(&early, &s.safi_id()), id_of(&late, &s.coop_id())])
    );
    let paid = s.statements(s.manager(), json!({ "status": "PAID" })).await;
    assert_eq!(ids(paid), BTreeSet::from([id_of(&early, &s.safi_id())]));
    let of_safi = s
        .statements(s.manager(), json!({ "cooperativeId": s.safi_id() }))
        .await;
    assert_eq!(of_safi.len(), 1);
    let mine = s
        .statements(&s.p.actors.own_member, json!({ "overdue": true }))
        .await;
    assert_eq!(ids(mine), BTreeSet::from([id_of(&early, &s.coop_id())]));

    // Latest period first.
    let all = s.statements(s.manager(), json!({})).await;
    assert_eq!(all[0]["id"], late[0]["id"]);
}

#[tokio::test]
async fn payout_performance_counts_on_time_and_late_payments() {
    let s = shop().await;
    const PERFORMANCE: &str = r#"query($r: PayoutRangeInput!) { payoutPerformance(range: $r) {
        from to statementsIssued carriedForward paidOnTime paidLate awaitingPayment overdue
        onTimeRate averageDaysLate amountOutstanding { amount } amountOverdue { amount } } }"#;
    // Due 11 days before the real today, never paid: overdue.
    let o0 = s.order(&[("HON-BGZ-1", 1)]).await;
    s.pay(&o0, s.d(-50)).await;
    s.generate(s.d(-70), s.d(-41)).await;
    // Due in 9 days: the Terroir statement is paid early, the Handicrafts one 11 days late.
    let o1 = s.order(&[("HON-BGZ-1", 2)]).await;
    s.pay(&o1, s.d(-30)).await;
    let o1b = s.order(&[("TAJ-30", 1)]).await;
    s.pay(&o1b, s.d(-30)).await;
    let a = s.generate(s.a().0, s.a().1).await;
    s.pay_statement(
        of(&a, &s.coop_id())["id"].as_str().unwrap(),
        s.d(5),
        "VIR-A1",
    )
    .await;
    s.pay_statement(
        of(&a, &s.safi_id())["id"].as_str().unwrap(),
        s.d(20),
        "VIR-A2",
    )
    .await;
    // Due on the pinned today: one awaiting payment, one with a negative net.
    let o2 = s.order(&[("HON-BGZ-1", 1)]).await;
    s.pay(&o2, s.d(-10)).await;
    s.refund(&o1b).await;
    let o3 = s.order(&[("BWL-12", 1)]).await;
    s.pay(&o3, s.d(-10)).await;
    let b = s.generate(s.b().0, s.b().1).await;
    assert_eq!(of(&b, &s.safi_id())["status"], "CARRIED_FORWARD");
    assert_eq!(of(&b, &s.coop_id())["net"]["amount"], "76.50");

    let whole = s
        .ok(
            s.manager(),
            PERFORMANCE,
            json!({ "r": { "from": day(s.d(-20)), "to": day(s.d(70)) } }),
        )
        .await["payoutPerformance"]
        .clone();
    assert_eq!(
        whole,
        json!({
            "from": day(s.d(-20)), "to": day(s.d(70)),
            "statementsIssued": 5, "carriedForward": 1, "paidOnTime": 1, "paidLate": 1,
            "awaitingPayment": 1, "overdue": 1,
            "onTimeRate": "0.3333", "averageDaysLate": "11.00",
            "amountOutstanding": { "amount": "153.00" },
            "amountOverdue": { "amount": "76.50" },
        })
    );
    let later = s
        .ok(
            s.manager(),
            PERFORMANCE,
            json!({ "r": { "from": day(s.d(10)), "to": day(s.d(70)) } }),
        )
        .await["payoutPerformance"]
        .clone();
    assert_eq!(later["statementsIssued"], 2);
    assert_eq!(later["onTimeRate"], Value::Null, "nothing has come due yet");
    assert_eq!(later["averageDaysLate"], Value::Null);
    let reversed = s
        .app
        .graphql_as(
            Some(s.manager()),
            PERFORMANCE,
            json!({ "r": { "from": day(s.d(10)), "to": day(s.d(0)) } }),
        )
        .await;
    assert_eq!(error_code(&reversed), "BAD_USER_INPUT");
}

#[tokio::test]
async fn issuing_and_paying_statements_are_announced_to_each_cooperative() {
    use sea_orm::{ConnectionTrait, Statement};
    let s = shop().await;
    let o1 = s.order(&[("HON-BGZ-1", 1), ("TAJ-30", 1)]).await;
    s.pay(&o1, s.d(-30)).await;
    let (end, due) = (s.a().1, s.a().1 + Duration::days(30));
    let issued = s.generate(s.d(-40), end).await;
    let bouguemez = of(&issued, &s.coop_id())["id"].as_str().unwrap().to_owned();
    let paid = s.pay_statement(&bouguemez, due, "VIR-2026-0001").await;
    assert_eq!(paid["userErrors"], json!([]));

    // Straight from the outbox, written with the statements and the payment.
    let rows = s
        .app
        .db
        .query_all_raw(Statement::from_string(
            s.app.db.get_database_backend(),
            "SELECT kind, cooperatives, payload FROM events WHERE kind LIKE 'payout.%' ORDER BY id",
        ))
        .await
        .unwrap();
    let events: Vec<(String, Value, Value)> = rows
        .iter()
        .map(|r| {
            let text =
                |c: &str| serde_json::from_str(&r.try_get::<String>("", c).unwrap()).unwrap();
            (
                r.try_get("", "kind").unwrap(),
                text("cooperatives"),
                text("payload"),
            )
        })
        .collect();
    let kinds: Vec<(&str, &Value)> = events.iter().map(|(k, c, _)| (k.as_str(), c)).collect();
    let (coop, safi) = (json!([s.p.coop.id]), json!([s.safi.id]));
    assert!(kinds.contains(&("payout.issued", &coop)), "{events:?}");
    assert!(kinds.contains(&("payout.issued", &safi)), "{events:?}");
    assert_eq!(kinds.last(), Some(&("payout.paid", &coop)), "{events:?}");
    assert_eq!(events.last().unwrap().2["status"], "PAID");
    assert_eq!(events.last().unwrap().2["paidOn"], day(due));
}
