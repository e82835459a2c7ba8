//! Generating statements: which paid lines a period settles, periods refused, running a
//! period again, overlapping periods, refunds and negative nets carried forward.

use super::*;

#[tokio::test]
async fn statements_settle_the_periods_paid_sales_per_cooperative() {
    let s = shop().await;
    let (start, end) = s.a();
    let o1 = s.order(&[("HON-BGZ-1", 2)]).await;
    s.pay(&o1, s.d(-30)).await;
    // The new rate applies to orders placed from now on; o1 keeps its 15 %.
    s.set_rate(&s.coop_id(), "0.1234").await;
    let o2 = s.order(&[("OIL-BGZ-1", 1), ("TAJ-30", 1)]).await;
    s.pay(&o2, s.d(-25)).await;
    // Paid in the last second of the period's last day (market time): in.
    let o3 = s.order(&[("BWL-12", 1)]).await;
    s.pay_at(&o3, day_end(end, TZ) - Duration::seconds(1)).await;
    // Paid in the last second before the period (market time): out.
    let o4 = s.order(&[("HON-BGZ-1", 1)]).await;
    s.pay_at(&o4, day_start(start, TZ) - Duration::seconds(1))
        .await;
    // Placed but not paid; paid then cancelled; paid then refunded; paid after the period.
    let _o5 = s.order(&[("TAJ-30", 1)]).await;
    let o6 = s.order(&[("BWL-12", 2)]).await;
    s.pay(&o6, s.d(-30)).await;
    s.cancel(&o6).await;
    let o7 = s.order(&[("OIL-BGZ-1", 1)]).await;
    s.pay(&o7, s.d(-30)).await;
    s.refund(&o7).await;
    let o8 = s.order(&[("HON-BGZ-1", 1)]).await;
    s.pay(&o8, s.d(-10)).await;
    s.fulfill(&o8).await;

    let issued = s.generate(start, end).await;
    assert_eq!(issued.len(), 2, "one statement per cooperative with sales");

    let bouguemez = of(&issued, &s.coop_id());
    // 2 × 90.00 at 15 % (27.00) + 123.45 at 12.34 % (15.23373 → 15.23).
    assert_eq!(bouguemez["grossSales"]["amount"], "303.45");
    assert_eq!(bouguemez["commission"]["amount"], "42.23");
    assert_eq!(bouguemez["refundAdjustments"]["amount"], "0.00");
    assert_eq!(bouguemez["carriedIn"]["amount"], "0.00");
    assert_eq!(bouguemez["net"]["amount"], "261.22");
    assert_eq!(
        bouguemez["amountDue"],
        json!({ "amount": "261.22", "currencyCode": "MAD" })
    );
    assert_eq!(bouguemez["status"], "DUE");
    assert_eq!(bouguemez["periodStart"], day(start));
    assert_eq!(bouguemez["periodEnd"], day(end));
    assert_eq!(
        bouguemez["dueOn"],
        day(end + Duration::days(30)),
        "30 days of terms"
    );
    assert_eq!(bouguemez["overdue"], true, "due before the server's today");
    assert_eq!(bouguemez["paidOn"], Value::Null);
    assert_eq!(
        order_numbers(bouguemez),
        BTreeSet::from([o1.number.clone(), o2.number.clone()])
    );
    let oil = bouguemez["lines"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"] == "OIL-BGZ-1")
        .unwrap();
    assert_eq!(
        oil["commissionRate"], "0.1234",
        "the rate snapshotted at order time"
    );
    assert_eq!(oil["commission"]["amount"], "15.23");
    assert_eq!(oil["net"]["amount"], "108.22");
    assert_eq!(
        oil["orderLine"]["id"],
        o2.lines.iter().find(|l| l.2 == s.coop_id()).unwrap().0
    );

    let safi = of(&issued, &s.safi_id());
    // 250.01 at 25 % (62.5025 → 62.50) + 49.99 at 25 % (12.4975 → 12.50).
    assert_eq!(safi["grossSales"]["amount"], "300.00");
    assert_eq!(safi["commission"]["amount"], "75.00");
    assert_eq!(safi["net"]["amount"], "225.00");
    assert_eq!(safi["lines"]["totalCount"], 2);
    assert_eq!(
        order_numbers(safi),
        BTreeSet::from([o2.number.clone(), o3.number.clone()])
    );
    assert!(safi["number"].as_str().unwrap().starts_with("PS-"));
    assert_eq!(
        safi["adjustments"],
        json!([]),
        "a refund before settlement needs no correction"
    );
}

#[tokio::test]
async fn a_period_that_is_not_over_or_reversed_is_refused() {
    let s = shop().await;
    for (start, end, why) in [
        (s.today - Duration::days(5), s.today, "ends today"),
        (s.d(-10), s.today + Duration::days(3), "ends in the future"),
        (s.d(-10), s.d(-20), "reversed"),
    ] {
        let out = s.generate_as(Some(s.manager()), start, end).await;
        let payload = &out["data"]["generatePayoutStatements"];
        assert_eq!(
            payload["userErrors"][0]["code"], "INVALID_RANGE",
            "{why}: {out}"
        );
        assert_eq!(
            payload["userErrors"][0]["field"],
            json!(["input", "periodEnd"])
        );
        assert_eq!(payload["statements"], json!([]));
    }
}

#[tokio::test]
async fn running_a_period_again_creates_nothing_new() {
    let s = shop().await;
    let (start, end) = (s.d(-40), s.d(-21));
    let o1 = s.order(&[("HON-BGZ-1", 1), ("TAJ-30", 1)]).await;
    s.pay(&o1, s.d(-30)).await;
    assert_eq!(s.generate(start, end).await.len(), 2);
    assert_eq!(s.generate(start, end).await, Vec::<Value>::new());
    // A refund recorded after the period's end waits for a later period, even when the
    // period is run again.
    s.refund(&o1).await;
    assert_eq!(s.generate(start, end).await, Vec::<Value>::new());
    assert_eq!(s.statements(s.manager(), json!({})).await.len(), 2);
}

#[tokio::test]
async fn overlapping_periods_never_settle_a_line_twice() {
    let s = shop().await;
    let o1 = s.order(&[("HON-BGZ-1", 1)]).await;
    s.pay(&o1, s.d(-30)).await;
    let o2 = s.order(&[("HON-BGZ-1", 1), ("BWL-12", 1)]).await;
    s.pay(&o2, s.d(-25)).await;
    let o3 = s.order(&[("OIL-BGZ-1", 2)]).await;
    s.pay(&o3, s.d(-15)).await;

    let first = s.generate(s.d(-30), s.d(-26)).await;
    assert_eq!(first.len(), 1);
    assert_eq!(
        order_numbers(&first[0]),
        BTreeSet::from([o1.number.clone()])
    );
    let second = s.generate(s.d(-35), s.d(-20)).await;
    assert_eq!(
        second.len(),
        2,
        "o2's lines of both cooperatives, not o1's again"
    );
    assert_eq!(
        order_numbers(of(&second, &s.coop_id())),
        BTreeSet::from([o2.number.clone()])
    );
    let third = s.generate(s.d(-40), s.d(-1)).await;
    assert_eq!(third.len(), 1);
    assert_eq!(
        order_numbers(&third[0]),
        BTreeSet::from([o3.number.clone()])
    );
    assert!(s.generate(s.d(-40), s.d(-1)).await.is_empty());

    let mut seen = BTreeMap::new();
    for statement in s.statements(s.manager(), json!({})).await {
        for line in statement["lines"]["nodes"].as_array().unwrap() {
            *seen
                .entry(line["orderLine"]["id"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
    }
    let all: BTreeSet<String> = [&o1, &o2, &o3]
        .iter()
        .flat_map(|o| o.lines.iter().map(|l| l.0.clone()))
        .collect();
    assert_eq!(seen.keys().cloned().collect::<BTreeSet<_>>(), all);
    assert!(seen.values().all(|n| *n == 1), "each line once: {seen:?}");
}

#[tokio::test]
async fn a_refund_after_settlement_is_carried_into_the_next_statement() {
    let s = shop().await;
    let o1 = s.order(&[("HON-BGZ-1", 2), ("TAJ-30", 1)]).await;
    s.pay(&o1, s.d(-30)).await;
    let o2 = s.order(&[("HON-BGZ-1", 1)]).await;
    s.pay(&o2, s.d(-25)).await;
    let first = s.generate(s.a().0, s.a().1).await;
    let settled = of(&first, &s.coop_id()).clone();
    assert_eq!(settled["net"]["amount"], "229.50", "3 × 90.00 less 15 %");

    s.refund(&o1).await;
    let o3 = s.order(&[("HON-BGZ-1", 3)]).await;
    s.pay(&o3, s.d(-10)).await;
    let next = s.generate(s.b().0, s.b().1).await;
    assert_eq!(next.len(), 2);

    let bouguemez = of(&next, &s.coop_id());
    assert_eq!(bouguemez["grossSales"]["amount"], "270.00");
    assert_eq!(bouguemez["commission"]["amount"], "40.50");
    // o1's honey line: 180.00 less 15 % = 153.00 taken back.
    assert_eq!(bouguemez["refundAdjustments"]["amount"], "-153.00");
    assert_eq!(bouguemez["net"]["amount"], "76.50");
    assert_eq!(bouguemez["status"], "DUE");
    let adjustment = &bouguemez["adjustments"][0];
    assert_eq!(adjustment["kind"], "REFUND");
    assert_eq!(adjustment["amount"]["amount"], "-153.00");
    assert_eq!(adjustment["orderNumber"], o1.number);
    assert_eq!(adjustment["sku"], "HON-BGZ-1");
    assert!(adjustment["reason"].as_str().unwrap().contains("refunded"));

    // Safi had only the refund of its tajine (250.01 less 62.50): nothing to pay.
    let safi = of(&next, &s.safi_id());
    assert_eq!(safi["grossSales"]["amount"], "0.00");
    assert_eq!(safi["net"]["amount"], "-187.51");
    assert_eq!(safi["status"], "CARRIED_FORWARD");

    // The settled statement did not change.
    assert_eq!(s.statement(settled["id"].as_str().unwrap()).await, settled);
}

#[tokio::test]
async fn a_negative_net_is_carried_forward_instead_of_paid() {
    let s = shop().await;
    let o1 = s.order(&[("TAJ-30", 2)]).await;
    s.pay(&o1, s.d(-30)).await;
    let first = s.generate(s.a().0, s.a().1).await;
    // 500.02 at 25 % = 125.005: an exact half, rounded to the even centime (125.00).
    assert_eq!(first[0]["commission"]["amount"], "125.00");
    assert_eq!(first[0]["net"]["amount"], "375.02");

    s.refund(&o1).await;
    let o2 = s.order(&[("BWL-12", 1)]).await;
    s.pay(&o2, s.d(-10)).await;
    let negative = s.generate(s.b().0, s.b().1).await;
    let negative = &negative[0];
    assert_eq!(negative["grossSales"]["amount"], "49.99");
    assert_eq!(negative["commission"]["amount"], "12.50");
    assert_eq!(negative["refundAdjustments"]["amount"], "-375.02");
    assert_eq!(negative["net"]["amount"], "-337.53");
    assert_eq!(negative["amountDue"]["amount"], "0.00");
    assert_eq!(negative["status"], "CARRIED_FORWARD");
    assert_eq!(negative["overdue"], false);
    let refused = s
        .pay_statement(negative["id"].as_str().unwrap(), s.today, "VIR-1")
        .await;
    assert_eq!(refused["userErrors"][0]["code"], "INVALID_STATUS");
    assert_eq!(refused["payoutStatement"], Value::Null);

    // Running earlier or the same periods again does not take the balance in.
    assert!(s.generate(s.a().0, s.a().1).await.is_empty());
    assert!(s.generate(s.b().0, s.b().1).await.is_empty());

    let o3 = s.order(&[("TAJ-30", 2)]).await;
    s.pay(&o3, s.c().0 + Duration::days(4)).await;
    let next = s.generate(s.c().0, s.c().1).await;
    let next = &next[0];
    assert_eq!(next["carriedIn"]["amount"], "-337.53");
    assert_eq!(next["net"]["amount"], "37.49", "375.02 − 337.53");
    assert_eq!(next["status"], "DUE");
    assert_eq!(next["adjustments"][0]["kind"], "CARRIED_BALANCE");
    assert_eq!(next["adjustments"][0]["carriedFrom"]["id"], negative["id"]);
}
