//! Seasonal promotions and payouts (issue #18): the funding decides whose payout bears the
//! discount — the market's part is paid to the cooperative as if sold at the list price.

use super::*;

pub(crate) const CREATE_PROMOTION: &str = r#"mutation($i: CreatePromotionInput!) { createPromotion(input: $i) {
    promotion { id name percentOff amountOff { amount } marketShare } userErrors { field code message } } }"#;

#[tokio::test]
async fn a_promotion_funded_half_and_half_changes_the_payouts_as_specified() {
    let s = shop().await;
    s.set_rate(&s.coop_id(), "0.1234").await;
    // Running around the server's (pinned) clock, which prices the orders.
    let (from, until) = (
        day_start(s.today - Duration::days(1), TZ),
        day_start(s.today + Duration::days(1), TZ),
    );
    for (product, off, share) in [
        ("OIL-BGZ-1", json!({ "percentOff": "0.20" }), "0.5"),
        ("TAJ-30", json!({ "amountOff": "50.00" }), "1"),
        ("BWL-12", json!({ "percentOff": "0.10" }), "0"),
    ] {
        let mut input = json!({ "name": format!("Ramadan {product}"), "target": "PRODUCT",
            "productId": gid(NodeType::Product, s.products[product]),
            "startsAt": from.to_rfc3339(), "endsAt": until.to_rfc3339(), "marketShare": share });
        input
            .as_object_mut()
            .unwrap()
            .extend(off.as_object().unwrap().clone());
        let data = s
            .ok(s.manager(), CREATE_PROMOTION, json!({ "i": input }))
            .await;
        assert_eq!(data["createPromotion"]["userErrors"], json!([]), "{data}");
    }
    let order = s
        .order(&[("OIL-BGZ-1", 2), ("TAJ-30", 1), ("BWL-12", 3)])
        .await;
    // Oil: 2 × (123.45 − 24.69); the tajine: 250.01 − 50.00; bowls: 3 × (49.99 − 5.00).
    let totals: Vec<i64> = order.lines.iter().map(|l| l.1).collect();
    assert_eq!(totals, [19_752, 20_001, 13_497]);
    let lines = s
        .ok(
            s.manager(),
            r#"query($n: String!) { order(number: $n) { total { amount } lines { sku unitPrice { amount } discount { amount } marketFundedDiscount { amount } promotion { name } } } }"#,
            json!({ "n": order.number }),
        )
        .await;
    assert_eq!(lines["order"]["total"]["amount"], "532.50");
    assert_eq!(
        lines["order"]["lines"],
        json!([
            { "sku": "OIL-BGZ-1", "unitPrice": { "amount": "123.45" }, "discount": { "amount": "49.38" },
              "marketFundedDiscount": { "amount": "24.69" }, "promotion": { "name": "Ramadan OIL-BGZ-1" } },
            { "sku": "TAJ-30", "unitPrice": { "amount": "250.01" }, "discount": { "amount": "50.00" },
              "marketFundedDiscount": { "amount": "50.00" }, "promotion": { "name": "Ramadan TAJ-30" } },
            { "sku": "BWL-12", "unitPrice": { "amount": "49.99" }, "discount": { "amount": "15.00" },
              "marketFundedDiscount": { "amount": "0.00" }, "promotion": { "name": "Ramadan BWL-12" } }
        ])
    );

    let (a, b) = (s.a(), s.b());
    s.pay(&order, s.d(-30)).await;
    let statements = s.generate(a.0, a.1).await;
    let of = |coop: &str| {
        statements
            .iter()
            .find(|st| st["cooperative"]["id"] == coop)
            .unwrap()
            .clone()
    };
    // Half of the oil's discount is the market's: the cooperative is paid on
    // 197.52 + 24.69 = 222.21, not on the 246.90 of the list price nor the 197.52 paid.
    let bouguemez = of(&s.coop_id());
    assert_eq!(cents(&bouguemez["grossSales"]), 22_221);
    assert_eq!(cents(&bouguemez["commission"]), commission(22_221, 1234));
    assert_eq!(cents(&bouguemez["amountDue"]), net(22_221, 1234));
    // Safi: the tajine's discount is all the market's (paid on 250.01), the bowls' all
    // Safi's (paid on 134.97).
    let safi = of(&s.safi_id());
    assert_eq!(cents(&safi["grossSales"]), 25_001 + 13_497);
    assert_eq!(
        cents(&safi["commission"]),
        commission(25_001, 2500) + commission(13_497, 2500)
    );
    assert_eq!(
        cents(&safi["amountDue"]),
        net(25_001, 2500) + net(13_497, 2500)
    );
    // The market keeps the commissions less the discounts it funds.
    let due: i64 = statements.iter().map(|st| cents(&st["amountDue"])).sum();
    let funded = 2_469 + 5_000;
    assert_eq!(
        53_250 - due,
        commission(22_221, 1234) + commission(25_001, 2500) + commission(13_497, 2500) - funded
    );

    // Refunded after settlement: the next statements take back exactly what was paid.
    s.refund(&order).await;
    for st in s.generate(b.0, b.1).await {
        let first = of(st["cooperative"]["id"].as_str().unwrap());
        assert_eq!(cents(&first["amountDue"]) + cents(&st["net"]), 0, "{st}");
    }
}
