//! A gift pack of three cooperatives' products (issue #18): its revenue split among them
//! to the centime, settled into three statements whose sums reconcile, and refunded after
//! settlement into each cooperative's next statement.

use super::*;

pub(super) const CREATE_PACK: &str = r#"mutation($i: CreatePackInput!) { createPack(input: $i) {
    product { id sku } userErrors { field code message } } }"#;

/// Adds Fès embroiderers' cushions (77.77 MAD) and the pack GIFT-3 — an olive oil of the portal's
/// cooperative (123.45), a tajine of Safi (250.01) and two cushions — at 400.00.
pub(super) async fn gift_pack(s: &mut Shop) -> cooperative::Model {
    let taznakht = fixtures::coop(
        &s.app.db,
        NewCoop::new("Broderie de Fes", K::Handicrafts, "MA-03"),
    )
    .await;
    let cushion = fixtures::product(
        &s.app.db,
        &taznakht,
        NewProduct::new("CSH-TZN", "Cushion", "weaving", 7_777, 1_000),
    )
    .await;
    s.products.insert("CSH-TZN", cushion.id);
    let components: Vec<Value> = [("OIL-BGZ-1", 1), ("TAJ-30", 1), ("CSH-TZN", 2)]
        .iter()
        .map(|(sku, q)| json!({ "productId": gid(NodeType::Product, s.products[sku]), "quantity": q }))
        .collect();
    let data = s
        .ok(
            s.manager(),
            CREATE_PACK,
            json!({ "i": { "sku": "GIFT-3", "name": "Three cooperatives", "format": "gift box",
                           "price": "400.00", "segment": "olive-oil", "components": components } }),
        )
        .await;
    assert_eq!(data["createPack"]["userErrors"], json!([]), "{data}");
    let id: i32 = decode(
        data["createPack"]["product"]["id"].as_str().unwrap(),
        NodeType::Product,
    )
    .unwrap();
    s.products.insert("GIFT-3", id);
    taznakht
}

#[tokio::test]
async fn a_pack_of_three_cooperatives_splits_settles_and_refunds_to_the_centime() {
    let mut s = shop().await;
    let fes = gift_pack(&mut s).await;
    let fes_id = gid(NodeType::Cooperative, fes.id);
    s.set_rate(&s.coop_id(), "0.1234").await;
    s.set_rate(&s.safi_id(), "0.2500").await;
    s.set_rate(&fes_id, "0.1500").await;

    let order = s.order(&[("GIFT-3", 2)]).await;
    // 800.00 in proportion 123.45 : 250.01 : 2 × 77.77, each part rounded down and the
    // two centimes left to the largest remainders.
    let shares: BTreeMap<String, i64> = order
        .lines
        .iter()
        .map(|(_, total, coop)| (coop.clone(), *total))
        .collect();
    assert_eq!(order.lines.len(), 3);
    assert_eq!(
        shares,
        BTreeMap::from([
            (s.coop_id(), 18_669),
            (s.safi_id(), 37_809),
            (fes_id.clone(), 23_522),
        ])
    );
    assert_eq!(shares.values().sum::<i64>(), 80_000);

    let (a, b) = (s.a(), s.b());
    s.pay(&order, s.d(-30)).await;
    let statements = s.generate(a.0, a.1).await;
    assert_eq!(statements.len(), 3, "one statement per cooperative");
    let rates = BTreeMap::from([
        (s.coop_id(), 1234),
        (s.safi_id(), 2500),
        (fes_id.clone(), 1500),
    ]);
    let mut due = 0;
    for st in &statements {
        let coop = st["cooperative"]["id"].as_str().unwrap().to_owned();
        let share = shares[&coop];
        let lines = st["lines"]["nodes"].as_array().unwrap();
        assert_eq!(lines.len(), 1, "{st}");
        assert_eq!(cents(&lines[0]["gross"]), share);
        assert_eq!(cents(&st["grossSales"]), share);
        assert_eq!(cents(&st["commission"]), commission(share, rates[&coop]));
        assert_eq!(cents(&st["net"]), net(share, rates[&coop]));
        due += cents(&st["amountDue"]);
    }
    // 800.00 less 23.04 + 94.52 + 35.28 of commission.
    assert_eq!(due, 80_000 - 2_304 - 9_452 - 3_528);

    // The statement shows the share as a line of its own, naming the pack.
    let safi_statement = statements
        .iter()
        .find(|st| st["cooperative"]["id"] == s.safi_id())
        .unwrap();
    let lines = s
        .ok(
            s.manager(),
            r#"query($id: ID!) { node(id: $id) { ... on PayoutStatement { lines(first: 10) { nodes {
                sku quantity gross { amount }
                orderLine { unitPrice { amount } pack { sku quantity unitPrice { amount } } } } } } } }"#,
            json!({ "id": safi_statement["id"] }),
        )
        .await;
    assert_eq!(
        lines["node"]["lines"]["nodes"],
        json!([{ "sku": "TAJ-30", "quantity": 2, "gross": { "amount": "378.09" },
                 "orderLine": { "unitPrice": { "amount": "250.01" },
                                "pack": { "sku": "GIFT-3", "quantity": 2, "unitPrice": { "amount": "400.00" } } } }])
    );

    // Refunded after settlement: each cooperative's next statement takes back its net.
    s.refund(&order).await;
    let next = s.generate(b.0, b.1).await;
    assert_eq!(next.len(), 3, "{next:#?}");
    for st in &next {
        let coop = st["cooperative"]["id"].as_str().unwrap().to_owned();
        assert_eq!(
            cents(&st["refundAdjustments"]),
            -net(shares[&coop], rates[&coop]),
            "{st}"
        );
        assert_eq!(st["status"], "CARRIED_FORWARD");
        let first = statements
            .iter()
            .find(|f| f["cooperative"]["id"] == st["cooperative"]["id"])
            .unwrap();
        // What was paid out and what is taken back cancel out to the centime.
        assert_eq!(cents(&first["amountDue"]) + cents(&st["net"]), 0);
    }
}
