//! The delivery fee is the market's revenue: an order's total carries it, but no payout
//! statement and no sales analytic ever does (issue #17).

use super::*;

#[tokio::test]
async fn a_home_delivery_fee_reaches_neither_payouts_nor_sales_analytics() {
    let s = shop().await;
    let methods = s
        .ok(s.manager(), "{ allDeliveryMethods { id code } }", json!({}))
        .await;
    let home = methods["allDeliveryMethods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["code"] == "HOME_DELIVERY")
        .unwrap()["id"]
        .clone();
    let address = json!({ "recipient": "Salma Benali", "phone": "0661234567",
        "street": "12 rue des Oudayas", "city": "Casablanca", "province": "Casablanca",
        "regionCode": "MA-06" });
    let data = s
        .ok(
            &s.p.actors.customer,
            "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { id number total { amount } deliveryFee { amount } lines { id total { amount } cooperative { id } } } userErrors { code message } } }",
            json!({ "i": { "channel": "ONLINE", "idempotencyKey": "fee-1", "deliveryMethodId": home,
                "shippingAddress": address,
                "lines": [{ "productId": gid(NodeType::Product, s.products["HON-BGZ-1"]), "quantity": 2 }] } }),
        )
        .await;
    let order = &data["placeOrder"]["order"];
    assert_eq!(data["placeOrder"]["userErrors"], json!([]), "{data}");
    assert_eq!(
        order["total"]["amount"], "200.00",
        "180.00 of honey + 20.00 delivery"
    );
    assert_eq!(order["deliveryFee"]["amount"], "20.00");
    let placed = Placed {
        id: order["id"].as_str().unwrap().to_owned(),
        number: order["number"].as_str().unwrap().to_owned(),
        lines: Vec::new(),
    };
    s.pay(&placed, s.d(-10)).await;

    // Payouts: the cooperative's gross is its lines, 180.00; the fee is nowhere.
    let statements = s.generate(s.b().0, s.b().1).await;
    assert_eq!(statements.len(), 1, "{statements:#?}");
    let statement = &statements[0];
    assert_eq!(statement["cooperative"]["id"], s.coop_id());
    assert_eq!(statement["grossSales"]["amount"], "180.00");
    assert_eq!(
        cents(&statement["net"]),
        net(18_000, 1_500),
        "the commission is on the goods only"
    );
    let lines = statement["lines"]["nodes"].as_array().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["gross"]["amount"], "180.00");

    // Analytics: revenue is the goods sold, 180.00, by segment, by channel, in the
    // ranking and in the year's turnover.
    let range = json!({ "from": day(s.d(-1)), "to": day(s.d(1)) });
    for dimension in ["PRODUCT_SEGMENT", "CHANNEL", "COOPERATIVE"] {
        let data = s
            .ok(
                s.manager(),
                "query($r: DateRangeInput!, $d: SalesDimension!) { salesBySegment(range: $r, dimension: $d) { total { revenue { amount } itemsSold orders } } }",
                json!({ "r": range, "d": dimension }),
            )
            .await;
        assert_eq!(
            data["salesBySegment"]["total"],
            json!({ "revenue": { "amount": "180.00" }, "itemsSold": 2, "orders": 1 }),
            "{dimension}"
        );
    }
    let top = s
        .ok(
            s.manager(),
            "query($r: DateRangeInput!) { topProducts(range: $r, by: VALUE, limit: 5) { revenue { amount } } }",
            json!({ "r": range }),
        )
        .await;
    assert_eq!(
        top["topProducts"],
        json!([{ "revenue": { "amount": "180.00" } }])
    );
    let year: i32 = s.d(0).format("%Y").to_string().parse().unwrap();
    let summary = s
        .ok(
            s.manager(),
            "query($y: Int!) { marketSummary(year: $y) { turnover { amount } } }",
            json!({ "y": year }),
        )
        .await;
    assert_eq!(summary["marketSummary"]["turnover"]["amount"], "180.00");
}
