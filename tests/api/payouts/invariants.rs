//! The settlement invariants under random orders, payments and refunds, and concurrent
//! generations settling each line once.

use super::*;

/// What the test knows of an order, to check the server's settlement against.
#[derive(Debug, Clone)]
struct Tracked {
    placed: Placed,
    /// The commission rate of each line at order time.
    rates: Vec<i32>,
    status: &'static str,
    paid_on: Option<NaiveDate>,
    /// Whether its lines were settled (it was PAID or FULFILLED, paid in a period
    /// generated since).
    settled: bool,
    /// Whether it was paid and then cancelled or refunded.
    reversed_after_payment: bool,
}

impl Tracked {
    fn live(&self) -> bool {
        matches!(self.status, "PAID" | "FULFILLED")
    }
}

/// The test's model of the market: orders, rates, and the periods generated.
struct Model {
    orders: Vec<Tracked>,
    rates: HashMap<String, i32>,
}

impl Model {
    /// What `generate(start, end)` must settle: marks it settled.
    fn generated(&mut self, start: NaiveDate, end: NaiveDate) {
        for o in &mut self.orders {
            if o.live() && !o.settled && o.paid_on.is_some_and(|d| start <= d && d <= end) {
                o.settled = true;
            }
        }
    }
}

/// Places a random order of 1–3 products.
async fn random_order(s: &Shop, model: &mut Model, rng: &mut StdRng) -> usize {
    // Not HON-BGZ-1: the portal stocks only ten jars of it.
    let skus: Vec<&str> = [
        "OIL-BGZ-1",
        "AML-BGZ-1",
        "TAJ-30",
        "BWL-12",
        "RUG-TZN-1",
        "GIFT-3",
    ]
    .into_iter()
    .filter(|sku| s.products.contains_key(sku))
    .collect();
    let count = rng.gen_range(1..=3);
    let mut chosen: Vec<&str> = Vec::new();
    while chosen.len() < count {
        let sku = skus[rng.gen_range(0..skus.len())];
        if !chosen.contains(&sku) {
            chosen.push(sku);
        }
    }
    let lines: Vec<(&str, i32)> = chosen
        .iter()
        .map(|sku| (*sku, rng.gen_range(1..=3)))
        .collect();
    let placed = s.order(&lines).await;
    let rates = placed.lines.iter().map(|l| model.rates[&l.2]).collect();
    model.orders.push(Tracked {
        placed,
        rates,
        status: "PLACED",
        paid_on: None,
        settled: false,
        reversed_after_payment: false,
    });
    model.orders.len() - 1
}

/// Plays a random fate on a new order: left placed, cancelled unpaid, or paid on a day of
/// `days` and then perhaps cancelled, refunded or fulfilled before settlement.
async fn random_fate(
    s: &Shop,
    model: &mut Model,
    i: usize,
    rng: &mut StdRng,
    days: (NaiveDate, NaiveDate),
) {
    let roll = rng.gen_range(0..100);
    if roll < 8 {
        return;
    }
    let order = model.orders[i].placed.clone();
    if roll < 16 {
        s.cancel(&order).await;
        model.orders[i].status = "CANCELLED";
        return;
    }
    let on = days.0 + Duration::days(rng.gen_range(0..=(days.1 - days.0).num_days()));
    s.pay(&order, on).await;
    model.orders[i].status = "PAID";
    model.orders[i].paid_on = Some(on);
    reverse_or_fulfil(s, model, i, rng).await;
}

/// Refunds a paid order, or cancels it (when it is not fulfilled yet).
async fn reverse(s: &Shop, model: &mut Model, i: usize, rng: &mut StdRng) {
    let order = model.orders[i].placed.clone();
    if model.orders[i].status == "PAID" && rng.gen_bool(0.4) {
        s.cancel(&order).await;
        model.orders[i].status = "CANCELLED";
    } else {
        s.refund(&order).await;
        model.orders[i].status = "REFUNDED";
    }
    model.orders[i].reversed_after_payment = true;
}

/// Cancels (if paid), refunds or fulfils an order at random, or leaves it be.
async fn reverse_or_fulfil(s: &Shop, model: &mut Model, i: usize, rng: &mut StdRng) {
    let order = model.orders[i].placed.clone();
    let roll = rng.gen_range(0..100);
    if roll < 12 && model.orders[i].status == "PAID" {
        s.cancel(&order).await;
        model.orders[i].status = "CANCELLED";
        model.orders[i].reversed_after_payment = true;
    } else if (12..26).contains(&roll) {
        s.refund(&order).await;
        model.orders[i].status = "REFUNDED";
        model.orders[i].reversed_after_payment = true;
    } else if (26..46).contains(&roll) && model.orders[i].status == "PAID" {
        s.fulfill(&order).await;
        model.orders[i].status = "FULFILLED";
    }
}

/// Checks both settlement invariants against the model, to the centime.
async fn check_invariants(s: &Shop, model: &Model, stage: &str) {
    let statements = s.statements(s.manager(), json!({})).await;
    // 1. Every live, paid line of a generated period is in exactly one statement, and no
    //    other line is in any.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut due_by_coop: BTreeMap<String, i64> = BTreeMap::new();
    for st in &statements {
        let lines = &st["lines"];
        assert_eq!(
            lines["pageInfo"]["hasNextPage"], false,
            "{stage}: one page of lines"
        );
        let (mut gross, mut commission_sum) = (0, 0);
        for line in lines["nodes"].as_array().unwrap() {
            *seen
                .entry(line["orderLine"]["id"].as_str().unwrap().to_owned())
                .or_default() += 1;
            let (total, rate_text) = (
                cents(&line["gross"]),
                line["commissionRate"].as_str().unwrap(),
            );
            let rate = (rate_text.parse::<rust_decimal::Decimal>().unwrap()
                * rust_decimal::Decimal::from(10_000))
            .to_string()
            .split('.')
            .next()
            .unwrap()
            .parse::<i32>()
            .unwrap();
            assert_eq!(
                cents(&line["commission"]),
                commission(total, rate),
                "{stage}: {line}"
            );
            assert_eq!(cents(&line["net"]), net(total, rate), "{stage}: {line}");
            gross += total;
            commission_sum += commission(total, rate);
        }
        assert_eq!(
            cents(&st["grossSales"]),
            gross,
            "{stage}: gross of {}",
            st["number"]
        );
        assert_eq!(
            cents(&st["commission"]),
            commission_sum,
            "{stage}: commission of {}",
            st["number"]
        );
        let sum_kind = |kind: &str| -> i64 {
            st["adjustments"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["kind"] == kind)
                .map(|a| cents(&a["amount"]))
                .sum()
        };
        assert_eq!(
            cents(&st["refundAdjustments"]),
            sum_kind("REFUND"),
            "{stage}"
        );
        assert_eq!(
            cents(&st["carriedIn"]),
            sum_kind("CARRIED_BALANCE"),
            "{stage}"
        );
        let net_cents = cents(&st["net"]);
        assert_eq!(
            net_cents,
            gross - commission_sum + cents(&st["refundAdjustments"]) + cents(&st["carriedIn"]),
            "{stage}: net of {}",
            st["number"]
        );
        assert_eq!(
            st["status"] == "CARRIED_FORWARD",
            net_cents < 0,
            "{stage}: {}",
            st["number"]
        );
        assert_eq!(cents(&st["amountDue"]), net_cents.max(0));
        *due_by_coop
            .entry(st["cooperative"]["id"].as_str().unwrap().to_owned())
            .or_default() += cents(&st["amountDue"]);
    }
    let expected: BTreeSet<String> = model
        .orders
        .iter()
        .filter(|o| o.settled)
        .flat_map(|o| o.placed.lines.iter().map(|l| l.0.clone()))
        .collect();
    assert_eq!(
        seen.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "{stage}: the settled lines"
    );
    assert!(
        seen.values().all(|n| *n == 1),
        "{stage}: each line in one statement"
    );
    let count = |what: &str| statements.iter().filter(|st| st["status"] == what).count();
    let adjustments: usize = statements
        .iter()
        .map(|st| st["adjustments"].as_array().unwrap().len())
        .sum();
    eprintln!(
        "{stage}: {} statements ({} carried forward), {} lines, {adjustments} adjustments taken in",
        statements.len(),
        count("CARRIED_FORWARD"),
        seen.len()
    );

    // 2. For each cooperative: Σ statements' amounts due + what is not settled yet =
    //    paid sales − commission − refunds.
    let pending = payout_adjustment::Entity::find()
        .filter(payout_adjustment::Column::PayoutStatementId.is_null())
        .all(&s.app.db)
        .await
        .unwrap();
    for coop in model.rates.keys() {
        let (mut paid_net, mut refunded_net, mut unsettled) = (0, 0, 0);
        for o in &model.orders {
            for (line, rate) in o.placed.lines.iter().zip(&o.rates) {
                if &line.2 != coop || o.paid_on.is_none() {
                    continue;
                }
                paid_net += net(line.1, *rate);
                if o.reversed_after_payment {
                    refunded_net += net(line.1, *rate);
                } else if !o.settled {
                    unsettled += net(line.1, *rate);
                }
            }
        }
        let coop_id: i32 = decode(coop, NodeType::Cooperative).unwrap();
        let pending_sum: i64 = pending
            .iter()
            .filter(|a| a.cooperative_id == coop_id)
            .map(|a| a.amount_cents)
            .sum();
        assert_eq!(
            due_by_coop.get(coop).copied().unwrap_or(0) + unsettled + pending_sum,
            paid_net - refunded_net,
            "{stage}: the books of {coop} do not reconcile"
        );
    }
}

#[tokio::test]
async fn settlement_invariants_hold_for_random_orders_payments_and_refunds() {
    let seed: u64 = std::env::var("PAYOUT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_261_124);
    eprintln!("settlement invariants: PAYOUT_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let s = shop().await;
    let taznakht = fixtures::coop(
        &s.app.db,
        NewCoop::new("Tissage de Taznakht", K::Handicrafts, "MA-08"),
    )
    .await;
    let rug = fixtures::product(
        &s.app.db,
        &taznakht,
        NewProduct::new("RUG-TZN-1", "Rug 2 × 3 m", "weaving", 333_333, 1_000),
    )
    .await;
    let mut s = s;
    s.products.insert("RUG-TZN-1", rug.id);
    let taznakht_id = gid(NodeType::Cooperative, taznakht.id);
    // A gift pack of three cooperatives' products (issue #18): its component lines, with
    // their shares of its revenue, settle and reverse like any other line.
    let cushions = super::packs::gift_pack(&mut s).await;
    let cushions_id = gid(NodeType::Cooperative, cushions.id);
    s.set_rate(&s.coop_id(), "0.1234").await;
    let mut model = Model {
        orders: Vec::new(),
        rates: HashMap::from([
            (s.coop_id(), 1234),
            (s.safi_id(), 2500),
            (taznakht_id.clone(), 2500),
            (cushions_id, 2500),
        ]),
    };
    let (a, b, c) = (s.a(), s.b(), s.c());

    // Before any settlement: orders paid in A or B, some reversed before settlement.
    for n in 0..30 {
        if n == 15 {
            s.set_rate(&taznakht_id, "0.0999").await;
            model.rates.insert(taznakht_id.clone(), 999);
        }
        let i = random_order(&s, &mut model, &mut rng).await;
        random_fate(&s, &mut model, i, &mut rng, (a.0, s.d(-1))).await;
    }
    s.generate(a.0, a.1).await;
    model.generated(a.0, a.1);
    check_invariants(&s, &model, "after settling A").await;

    // After settling A: reverse some settled orders, sell more in B.
    for i in 0..model.orders.len() {
        if model.orders[i].settled && model.orders[i].live() && rng.gen_bool(0.35) {
            reverse(&s, &mut model, i, &mut rng).await;
        } else if model.orders[i].status == "PAID" && rng.gen_bool(0.2) {
            let order = model.orders[i].placed.clone();
            s.fulfill(&order).await;
            model.orders[i].status = "FULFILLED";
        }
    }
    for _ in 0..10 {
        let i = random_order(&s, &mut model, &mut rng).await;
        random_fate(&s, &mut model, i, &mut rng, (b.0, s.d(-1))).await;
    }
    s.generate(b.0, b.1).await;
    model.generated(b.0, b.1);
    check_invariants(&s, &model, "after settling B").await;
    assert!(
        s.generate(a.0, b.1).await.is_empty(),
        "A and B together: all settled already"
    );

    // After settling B: refunds wait, unsettled, for the next statement.
    for i in 0..model.orders.len() {
        if model.orders[i].settled && model.orders[i].live() && rng.gen_bool(0.3) {
            reverse(&s, &mut model, i, &mut rng).await;
        }
    }
    check_invariants(&s, &model, "with refunds pending").await;
    for _ in 0..6 {
        let i = random_order(&s, &mut model, &mut rng).await;
        random_fate(&s, &mut model, i, &mut rng, c).await;
    }
    s.generate(c.0, c.1).await;
    model.generated(c.0, c.1);
    check_invariants(&s, &model, "after settling C").await;

    // D, the last days before the server's today: more refunds, a few sales, and the
    // negative balances of C carried in.
    let d = (c.1 + Duration::days(1), s.today - Duration::days(1));
    for i in 0..model.orders.len() {
        if model.orders[i].settled && model.orders[i].live() && rng.gen_bool(0.3) {
            reverse(&s, &mut model, i, &mut rng).await;
        }
    }
    for _ in 0..6 {
        let i = random_order(&s, &mut model, &mut rng).await;
        random_fate(&s, &mut model, i, &mut rng, d).await;
    }
    s.generate(d.0, d.1).await;
    model.generated(d.0, d.1);
    check_invariants(&s, &model, "after settling D").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_generations_settle_each_line_once() {
    let s = shop().await;
    let manager = s.manager().to_owned();
    let mut model = Model {
        orders: Vec::new(),
        rates: HashMap::from([(s.coop_id(), 1500), (s.safi_id(), 2500)]),
    };
    let mut rng = StdRng::seed_from_u64(7);
    let mut issued_total = 0;
    for (round, (start, end)) in [(-40, -35), (-34, -29), (-28, -21)].into_iter().enumerate() {
        // Payments run two days past the period, into the wider one and the next round's.
        let (start, end) = (s.d(start), s.d(end));
        let wider = end + Duration::days(2);
        let mut orders = Vec::new();
        for _ in 0..8 {
            let i = random_order(&s, &mut model, &mut rng).await;
            let on = start + Duration::days(rng.gen_range(0..=(wider - start).num_days()));
            s.pay(&model.orders[i].placed.clone(), on).await;
            model.orders[i].status = "PAID";
            model.orders[i].paid_on = Some(on);
            orders.push(i);
        }
        // Four generations of the period, two of a wider one that overlaps it (and the next
        // round's), and three refunds, at once.
        let mut tasks = Vec::new();
        for n in 0..6 {
            let (router, token) = (s.app.router.clone(), manager.clone());
            let (from, to) = if n < 4 { (start, end) } else { (start, wider) };
            let query = generate_query();
            tasks.push(tokio::spawn(async move {
                let out = graphql_on(
                    router,
                    Some(&token),
                    &query,
                    json!({ "i": { "periodStart": day(from), "periodEnd": day(to) } }),
                )
                .await;
                ("generate", out)
            }));
        }
        for i in orders.iter().take(3) {
            let (router, token) = (s.app.router.clone(), manager.clone());
            let order = model.orders[*i].placed.id.clone();
            tasks.push(tokio::spawn(async move {
                let out = graphql_on(router, Some(&token), "mutation($i: RefundOrderInput!) { refundOrder(input: $i) { order { status } userErrors { code } } }", json!({ "i": { "orderId": order, "restock": false } })).await;
                ("refund", out)
            }));
        }
        for task in tasks {
            let (what, out) = task.await.unwrap();
            assert!(
                out.get("errors").is_none(),
                "round {round}, {what}: {out:#}"
            );
            if what == "generate" {
                let payload = &out["data"]["generatePayoutStatements"];
                assert_eq!(payload["userErrors"], json!([]));
                issued_total += payload["statements"].as_array().unwrap().len();
            } else {
                assert_eq!(out["data"]["refundOrder"]["userErrors"], json!([]), "{out}");
            }
        }
        // Whether a refunded order was settled first depends on who won; either way its
        // lines are in a statement exactly when they carry a correction.
        for i in orders.iter().take(3) {
            let o = &mut model.orders[*i];
            o.status = "REFUNDED";
            o.reversed_after_payment = true;
            for (line, _, _) in &o.placed.lines {
                let id: i64 = decode(line, NodeType::OrderLine).unwrap();
                let row = order_line::Entity::find_by_id(id)
                    .one(&s.app.db)
                    .await
                    .unwrap()
                    .unwrap();
                let corrections = payout_adjustment::Entity::find()
                    .filter(payout_adjustment::Column::OrderLineId.eq(id))
                    .all(&s.app.db)
                    .await
                    .unwrap();
                assert_eq!(
                    corrections.len(),
                    usize::from(row.payout_statement_id.is_some()),
                    "round {round}: {row:?}"
                );
                o.settled = row.payout_statement_id.is_some();
            }
        }
        model.generated(start, wider);
        let statements = s.statements(&manager, json!({})).await;
        assert_eq!(
            statements.len(),
            issued_total,
            "round {round}: every statement was reported once"
        );
        check_invariants(&s, &model, &format!("round {round}")).await;
    }
}
