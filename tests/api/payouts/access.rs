//! The CSV export of a statement, and who may reach a cooperative's payouts.

use super::*;

async fn get_csv(
    s: &Shop,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, header::HeaderMap, String) {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    s.app.send(request.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn a_statement_exports_as_csv_for_the_bank_and_the_books() {
    let s = shop().await;
    let o1 = s.order(&[("HON-BGZ-1", 2)]).await;
    s.pay(&o1, s.d(-30)).await;
    s.generate(s.a().0, s.a().1).await;
    s.refund(&o1).await;
    let o2 = s.order(&[("HON-BGZ-1", 3), ("OIL-BGZ-1", 1)]).await;
    s.pay(&o2, s.d(-10)).await;
    let statement = s.generate(s.b().0, s.b().1).await.remove(0);
    let url = statement["csvUrl"].as_str().unwrap();
    assert!(url.starts_with("/payouts/") && url.ends_with(".csv"));

    let (status, headers, body) = get_csv(&s, url, Some(s.manager())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let disposition = headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        disposition.contains(&format!(
            "payout-{}-{}-{}.csv",
            s.p.coop.slug,
            day(s.b().0),
            day(s.b().1)
        )),
        "{disposition}"
    );

    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header_row: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header_row,
        solidarity_market::http::payouts::CSV_HEADER.to_vec()
    );
    let rows: Vec<HashMap<String, String>> = reader
        .records()
        .map(|r| {
            header_row
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect();
    let kinds: Vec<&str> = rows.iter().map(|r| r["record"].as_str()).collect();
    assert_eq!(kinds, ["SALE", "SALE", "REFUND", "TOTAL"]);
    for row in &rows {
        assert_eq!(row["statement"], statement["number"].as_str().unwrap());
        assert_eq!(row["cooperative"], "Coopérative Aït Bouguemez");
        assert_eq!(row["payout_account"], "011780000012345678901234");
        assert_eq!(row["due_on"], day(s.today));
        assert_eq!(row["status"], "DUE");
    }
    let honey = &rows[0];
    assert_eq!(
        (
            honey["order_number"].as_str(),
            honey["sku"].as_str(),
            honey["quantity"].as_str()
        ),
        (o2.number.as_str(), "HON-BGZ-1", "3")
    );
    assert_eq!(honey["date"], day(s.d(-10)));
    assert_eq!(
        (
            honey["gross"].as_str(),
            honey["commission_rate"].as_str(),
            honey["commission"].as_str(),
            honey["net"].as_str()
        ),
        ("270.00", "0.1500", "40.50", "229.50")
    );
    assert_eq!(rows[2]["order_number"], o1.number);
    assert_eq!(rows[2]["net"], "-153.00");
    let total = &rows[3];
    assert_eq!(
        total["gross"],
        statement["grossSales"]["amount"].as_str().unwrap()
    );
    assert_eq!(
        total["commission"],
        statement["commission"]["amount"].as_str().unwrap()
    );
    assert_eq!(total["net"], statement["net"]["amount"].as_str().unwrap());
    let sum: i64 = rows[..3].iter().map(|r| cents(&json!(r["net"]))).sum();
    assert_eq!(
        sum,
        cents(&statement["net"]),
        "the rows add up to the statement's net"
    );

    // Who may download it.
    let (status, headers, body) = get_csv(&s, url, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    for (token, expected) in [
        (&s.p.actors.customer, StatusCode::FORBIDDEN),
        (&s.p.actors.other_member, StatusCode::FORBIDDEN),
        (&s.p.actors.own_member, StatusCode::OK),
    ] {
        let (status, _, body) = get_csv(&s, url, Some(token)).await;
        assert_eq!(status, expected, "{body}");
        if expected == StatusCode::FORBIDDEN {
            assert_eq!(
                serde_json::from_str::<Value>(&body).unwrap()["errors"][0]["extensions"]["code"],
                "FORBIDDEN"
            );
        }
    }
    for missing in [
        format!("/payouts/{}.csv", gid(NodeType::PayoutStatement, 999_999)),
        format!("/payouts/{}.csv", gid(NodeType::Product, s.p.product.id)),
        "/payouts/not-an-id.csv".to_owned(),
        format!("/payouts/{}", gid(NodeType::PayoutStatement, 1)),
    ] {
        let (status, _, body) = get_csv(&s, &missing, Some(s.manager())).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["errors"][0]["extensions"]["code"],
            "NOT_FOUND"
        );
    }
}

#[tokio::test]
async fn only_managers_and_a_cooperatives_own_members_reach_its_payouts() {
    let s = shop().await;
    let a = &s.p.actors;
    let o1 = s.order(&[("HON-BGZ-1", 1), ("TAJ-30", 1)]).await;
    s.pay(&o1, s.d(-30)).await;
    let (start, end) = s.a();
    for (token, code) in [
        (None, "UNAUTHENTICATED"),
        (Some(&a.customer), "FORBIDDEN"),
        (Some(&a.own_member), "FORBIDDEN"),
    ] {
        let out = s.generate_as(token.map(String::as_str), start, end).await;
        assert_eq!(error_code(&out), code, "generatePayoutStatements");
    }
    assert!(
        s.statements(s.manager(), json!({})).await.is_empty(),
        "nothing was generated"
    );
    let issued = s.generate(start, end).await;
    let mine = of(&issued, &s.coop_id())["id"].as_str().unwrap().to_owned();
    let theirs = of(&issued, &s.safi_id())["id"].as_str().unwrap().to_owned();

    let pay = json!({ "i": { "statementId": mine, "paidOn": day(s.d(1)), "reference": "VIR-1" } });
    for (token, code) in [
        (None, "UNAUTHENTICATED"),
        (Some(&a.customer), "FORBIDDEN"),
        (Some(&a.own_member), "FORBIDDEN"),
    ] {
        let out = s
            .app
            .graphql_as(token.map(String::as_str), PAY_STATEMENT, pay.clone())
            .await;
        assert_eq!(error_code(&out), code, "markPayoutPaid");
    }

    let list = "query($f: PayoutStatementFilterInput) { payoutStatements(filter: $f) { totalCount nodes { id } } }";
    for (token, code) in [(None, "UNAUTHENTICATED"), (Some(&a.customer), "FORBIDDEN")] {
        let out = s
            .app
            .graphql_as(token.map(String::as_str), list, json!({}))
            .await;
        assert_eq!(error_code(&out), code, "payoutStatements");
    }
    let own = s.ok(&a.own_member, list, json!({})).await;
    assert_eq!(
        own["payoutStatements"],
        json!({ "totalCount": 1, "nodes": [{ "id": mine }] })
    );
    let filtered = s
        .ok(
            &a.own_member,
            list,
            json!({ "f": { "cooperativeId": s.coop_id() } }),
        )
        .await;
    assert_eq!(filtered["payoutStatements"]["totalCount"], 1);
    let other = s
        .app
        .graphql_as(
            Some(&a.own_member),
            list,
            json!({ "f": { "cooperativeId": s.safi_id() } }),
        )
        .await;
    assert_eq!(error_code(&other), "FORBIDDEN");
    let none = s.ok(&a.other_member, list, json!({})).await;
    assert_eq!(none["payoutStatements"]["totalCount"], 0);
    assert_eq!(
        s.ok(s.manager(), list, json!({})).await["payoutStatements"]["totalCount"],
        2
    );

    let node = "query($id: ID!) { node(id: $id) { id ... on PayoutStatement { net { amount } } } }";
    for (token, id, visible) in [
        (None, &mine, false),
        (Some(&a.customer), &mine, false),
        (Some(&a.other_member), &mine, false),
        (Some(&a.own_member), &mine, true),
        (Some(&a.own_member), &theirs, false),
        (Some(&s.p.actors.manager), &theirs, true),
    ] {
        let out = s
            .app
            .graphql_as(token.map(String::as_str), node, json!({ "id": id }))
            .await;
        assert!(out.get("errors").is_none(), "{out}");
        assert_eq!(
            out["data"]["node"].is_object(),
            visible,
            "{token:?} {id}: {out}"
        );
    }

    let performance =
        "query($r: PayoutRangeInput!) { payoutPerformance(range: $r) { statementsIssued } }";
    let range = json!({ "r": { "from": day(s.d(-100)), "to": day(s.d(100)) } });
    for (token, code) in [
        (None, "UNAUTHENTICATED"),
        (Some(&a.customer), "FORBIDDEN"),
        (Some(&a.own_member), "FORBIDDEN"),
    ] {
        let out = s
            .app
            .graphql_as(token.map(String::as_str), performance, range.clone())
            .await;
        assert_eq!(error_code(&out), code, "payoutPerformance");
    }
}
