//! Importing history: past orders and the catalog from CSV, all or nothing, idempotent,
//! without moving stock, and counted by the analytics at once.

use crate::analytics::{market, ok};
use market_core::entities::{cooperative, order, order_line, product, stock_movement};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use solidarity_market::domain::import::{
    Hold, ImportError, ImportOptions, OrdersReport, import_catalog, import_certifications,
    import_orders, import_orders_with,
};

const HISTORY: &str = "\
order_ref,placed_at,channel,status,sku,quantity,unit_price
POS-1,2024-12-31T23:30:00Z,STORE,FULFILLED,HON-1,2,85.00
POS-1,2024-12-31T23:30:00Z,STORE,FULFILLED,OLV-1,1,55.00
WEB-2,2025-01-15T10:00:00+01:00,ONLINE,PAID,arc-1,1,150
WEB-3,2025-01-16T10:00:00Z,ONLINE,REFUNDED,ARC-1,4,150.00
POS-4,2025-01-17T10:00:00Z,STORE,CANCELLED,POT-1,1,350.00
POS-5,2024-12-31T22:59:00Z,STORE,PAID,POT-1,1,340.50
";

const BY_KIND: &str = r#"query($r: DateRangeInput!) {
  salesBySegment(range: $r, dimension: COOPERATIVE_KIND) {
    total { revenue { amount } itemsSold orders } rows { key revenue { amount } itemsSold orders } } }"#;

fn nothing(_: u64, _: u64) {}

#[tokio::test]
async fn imported_orders_count_in_the_analytics_by_their_local_day_and_move_no_stock() {
    let m = market().await;
    let stock_before = stock_movement::Entity::find()
        .count(&m.app.db)
        .await
        .unwrap();
    let report = import_orders(&m.app.db, HISTORY.as_bytes(), nothing)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        report,
        OrdersReport {
            orders: 5,
            lines: 6,
            already_imported: 0,
            switch_in_rows: 1,
        }
    );
    let january = json!({ "r": { "from": "2025-01-01", "to": "2025-01-31" } });
    let data = ok(&m.app, &m.manager, BY_KIND, january.clone()).await;
    assert_eq!(
        data["salesBySegment"],
        json!({
            "total": { "revenue": { "amount": "375.00" }, "itemsSold": 4, "orders": 2 },
            "rows": [
                { "key": "TERROIR", "revenue": { "amount": "225.00" }, "itemsSold": 3, "orders": 1 },
                { "key": "COSMETICS", "revenue": { "amount": "150.00" }, "itemsSold": 1, "orders": 1 },
            ]
        })
    );
    let december = json!({ "r": { "from": "2024-12-01", "to": "2024-12-31" } });
    let data = ok(&m.app, &m.manager, BY_KIND, december).await;
    assert_eq!(
        data["salesBySegment"]["total"],
        json!({ "revenue": { "amount": "340.50" }, "itemsSold": 1, "orders": 1 })
    );
    assert_eq!(
        stock_movement::Entity::find()
            .count(&m.app.db)
            .await
            .unwrap(),
        stock_before,
        "history moves no stock"
    );

    // The same file again adds nothing.
    let again = import_orders(&m.app.db, HISTORY.as_bytes(), nothing)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        again,
        OrdersReport {
            orders: 0,
            lines: 0,
            already_imported: 5,
            switch_in_rows: 0,
        }
    );
    assert_eq!(order::Entity::find().count(&m.app.db).await.unwrap(), 5);
    let data = ok(&m.app, &m.manager, BY_KIND, january.clone()).await;
    assert_eq!(
        data["salesBySegment"]["total"]["revenue"]["amount"],
        "375.00"
    );

    // A rebuild from the lines agrees with what the import added.
    let txn = solidarity_market::db::begin_write(&m.app.db).await.unwrap();
    solidarity_market::domain::rollups::rebuild(&txn, chrono_tz::Africa::Casablanca, |_| {})
        .await
        .unwrap();
    txn.commit().await.unwrap();
    let rebuilt = ok(&m.app, &m.manager, BY_KIND, january).await;
    assert_eq!(rebuilt["salesBySegment"], data["salesBySegment"]);
}

/// History was paid to the cooperatives before this system: payout statements for its
/// period leave it out. The same orders, once no longer marked imported, would settle,
/// so the statements' emptiness comes from the mark and not from the period.
#[tokio::test]
async fn imported_history_never_enters_a_payout_statement() {
    let m = market().await;
    import_orders(&m.app.db, HISTORY.as_bytes(), nothing)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let generate = r#"mutation($i: GeneratePayoutStatementsInput!) {
      generatePayoutStatements(input: $i) {
        statements { cooperative { name } grossSales { amount } }
        userErrors { field code message } } }"#;
    let data = ok(
        &m.app,
        &m.manager,
        "{ orders(first: 10) { nodes { externalReference importedAt } } }",
        json!({}),
    )
    .await;
    let nodes = data["orders"]["nodes"].as_array().unwrap();
    let mut refs: Vec<&str> = nodes
        .iter()
        .map(|o| o["externalReference"].as_str().unwrap())
        .collect();
    refs.sort();
    assert_eq!(refs, ["POS-1", "POS-4", "POS-5", "WEB-2", "WEB-3"]);
    assert!(
        nodes.iter().all(|o| o["importedAt"].is_string()),
        "{nodes:?}"
    );

    let period = json!({ "i": { "periodStart": "2024-12-01", "periodEnd": "2025-01-31" } });
    let data = ok(&m.app, &m.manager, generate, period.clone()).await;
    assert_eq!(
        data["generatePayoutStatements"],
        json!({ "statements": [], "userErrors": [] })
    );

    order::Entity::update_many()
        .col_expr(
            order::Column::ImportedAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .exec(&m.app.db)
        .await
        .unwrap();
    let data = ok(&m.app, &m.manager, generate, period).await;
    let mut gross: Vec<String> = data["generatePayoutStatements"]["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["grossSales"]["amount"].as_str().unwrap().to_owned())
        .collect();
    gross.sort();
    // Zitoun: POS-1 (225.00); the cosmetics cooperative: WEB-2 (150.00); the handicrafts
    // one: POS-5 (340.50). Refunded and cancelled orders never settle.
    assert_eq!(gross, ["150.00", "225.00", "340.50"]);
}

#[tokio::test]
async fn a_file_with_bad_rows_is_refused_whole_with_each_line_and_reason() {
    let m = market().await;
    let file = "\
order_ref,placed_at,channel,status,sku,quantity,unit_price
OK-1,2025-01-15T10:00:00Z,STORE,PAID,HON-1,1,90.00
BAD-2,2025-01-15T10:00:00Z,STORE,PAID,NOPE-1,1,90.00
BAD-3,2025-01-15T10:00:00Z,STORE,PAID,HON-1,0,90.00
BAD-4,yesterday,STORE,PAID,HON-1,1,90.00
OK-1,2025-01-15T10:00:00Z,ONLINE,PAID,OLV-1,1,55.00
BAD-6,2025-01-15T10:00:00Z,TILL,PLACED,HON-1,1,9.999
";
    let err = import_orders(&m.app.db, file.as_bytes(), nothing)
        .await
        .expect_err("refused");
    let ImportError::Rejected { errors, more } = err else {
        panic!("{err:?}")
    };
    assert_eq!(more, 0);
    let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![3, 4, 5, 6, 7], "{errors:?}");
    assert!(errors[0].reason.contains("unknown SKU"), "{errors:?}");
    assert!(errors[1].reason.contains("quantity"), "{errors:?}");
    assert!(errors[2].reason.contains("placed_at"), "{errors:?}");
    assert!(errors[3].reason.contains("line 2"), "{errors:?}");
    for word in ["channel", "status", "decimals"] {
        assert!(errors[4].reason.contains(word), "{word}: {errors:?}");
    }
    assert_eq!(order::Entity::find().count(&m.app.db).await.unwrap(), 0);
    assert_eq!(
        order_line::Entity::find().count(&m.app.db).await.unwrap(),
        0
    );

    let wrong_header = "ref,when,channel,status,sku,quantity,unit_price\n";
    let err = import_orders(&m.app.db, wrong_header.as_bytes(), nothing)
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, ImportError::Rejected { errors, .. } if errors[0].line == 1),
        "{err:?}"
    );
}

/// History can be corrected after the fact: cancelling an imported sale takes it out of
/// the analytics, and returns no stock, since the import took none.
#[tokio::test]
async fn cancelling_an_imported_sale_takes_it_out_of_the_sales_and_returns_no_stock() {
    let m = market().await;
    import_orders(&m.app.db, HISTORY.as_bytes(), nothing)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let stock = || async {
        product::Entity::find()
            .filter(product::Column::Sku.eq("ARC-1"))
            .one(&m.app.db)
            .await
            .unwrap()
            .unwrap()
            .stock
    };
    let stock_before = stock().await;
    let data = ok(
        &m.app,
        &m.manager,
        "{ orders(first: 10) { nodes { id externalReference status } } }",
        json!({}),
    )
    .await;
    let web2 = data["orders"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["externalReference"] == "WEB-2")
        .unwrap()
        .clone();
    assert_eq!(web2["status"], "PAID");
    let data = ok(
        &m.app,
        &m.manager,
        "mutation($i: CancelOrderInput!) { cancelOrder(input: $i) { order { status } userErrors { code } } }",
        json!({ "i": { "orderId": web2["id"], "reason": "Recorded twice in the old till" } }),
    )
    .await;
    assert_eq!(
        data["cancelOrder"],
        json!({ "order": { "status": "CANCELLED" }, "userErrors": [] })
    );
    assert_eq!(
        stock().await,
        stock_before,
        "an imported order took no stock"
    );
    let january = json!({ "r": { "from": "2025-01-01", "to": "2025-01-31" } });
    let data = ok(&m.app, &m.manager, BY_KIND, january).await;
    assert_eq!(
        data["salesBySegment"]["total"],
        json!({ "revenue": { "amount": "225.00" }, "itemsSold": 3, "orders": 1 })
    );
}

/// The command managers run: `solidarity-market import orders FILE`, through the real
/// binary. A bad file fails the command with each bad line said once on stderr, and
/// imports nothing; a good one reports what it added, and again adds nothing.
#[tokio::test]
async fn the_import_command_reports_bad_lines_once_and_imports_a_good_file_once() {
    let m = market().await;
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, content: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_solidarity-market"))
            .args(["--database-url", &m.app.url, "--log-level", "warn"])
            .args(["import", "orders"])
            .arg(&path)
            .env("NO_PROGRESS", "1")
            .output()
            .expect("run the binary");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let bad = format!("{HISTORY}POS-9,2025-02-01T10:00:00Z,STORE,PAID,NOPE-1,1,90.00\n");
    let (ok_, _, stderr) = run("bad.csv", &bad);
    assert!(!ok_, "{stderr}");
    assert!(stderr.contains("line 8"), "{stderr}");
    assert!(stderr.contains("unknown SKU"), "{stderr}");
    assert_eq!(
        stderr.matches("unknown SKU").count(),
        1,
        "said once: {stderr}"
    );
    assert_eq!(order::Entity::find().count(&m.app.db).await.unwrap(), 0);

    let (ok_, stdout, stderr) = run("good.csv", HISTORY);
    assert!(ok_, "{stderr}");
    assert!(stdout.contains("imported 5 orders (6 lines)"), "{stdout}");
    let (ok_, stdout, stderr) = run("good.csv", HISTORY);
    assert!(ok_, "{stderr}");
    assert!(
        stdout.contains("imported 0 orders (0 lines); 5 already imported"),
        "{stdout}"
    );
    assert_eq!(order::Entity::find().count(&m.app.db).await.unwrap(), 5);
}

#[tokio::test]
async fn a_catalog_file_adds_cooperatives_and_products_once() {
    let m = market().await;
    let coops_before = cooperative::Entity::find().count(&m.app.db).await.unwrap();
    let products_before = product::Entity::find().count(&m.app.db).await.unwrap();
    let file = "\
cooperative_slug,cooperative_name,kind,region,province,listed_since,sku,product_name,segment,format,price
cooperative-nahla-ifrane,Coopérative Nahla d'Ifrane,TERROIR,MA-03,Ifrane,2019-04-01,HON-IFR-1,\"Cedar honey, raw\",honey,250 g jar,95.00
cooperative-nahla-ifrane,Coopérative Nahla d'Ifrane,TERROIR,MA-03,Ifrane,2019-04-01,HON-IFR-2,Thyme honey,honey,500 g jar,160
cooperative-tazra,Coopérative Tazra,HANDICRAFTS,MA-07,,2021-09-15,,,,,
";
    let report = import_catalog(&m.app.db, file.as_bytes(), nothing)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((report.cooperatives, report.products), (2, 2));
    let honey = ok(
        &m.app,
        &m.manager,
        r#"{ product(sku: "HON-IFR-1") { name price { amount } stock { available } cooperative { slug kind listedSince } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        honey["product"],
        json!({ "name": "Cedar honey, raw", "price": { "amount": "95.00" }, "stock": { "available": 0 },
                "cooperative": { "slug": "cooperative-nahla-ifrane", "kind": "TERROIR", "listedSince": "2019-04-01" } })
    );
    let again = import_catalog(&m.app.db, file.as_bytes(), nothing)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        (again.cooperatives, again.products, again.already_there),
        (0, 0, 2)
    );
    assert_eq!(
        cooperative::Entity::find().count(&m.app.db).await.unwrap(),
        coops_before + 2
    );

    let bad = "\
cooperative_slug,cooperative_name,kind,region,province,listed_since,sku,product_name,segment,format,price
cooperative-tazra,Coopérative Tazra,HANDICRAFTS,MA-07,,2021-09-15,POT-TZR-1,Tajine,honey,30 cm,250.00
cooperative-new,New,TERROIR,MA-99,,2021-09-15,OLV-NEW-1,Oil,olive-oil,1 L,abc
";
    let err = import_catalog(&m.app.db, bad.as_bytes(), nothing)
        .await
        .expect_err("refused");
    let ImportError::Rejected { errors, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].reason.contains("segment honey is for TERROIR"),
        "{errors:?}"
    );
    assert!(
        errors[1].reason.contains("MA-99") && errors[1].reason.contains("price"),
        "{errors:?}"
    );
    assert_eq!(
        product::Entity::find().count(&m.app.db).await.unwrap(),
        products_before + 2
    );
}

#[tokio::test]
async fn a_catalog_file_may_add_optional_columns_in_any_order() {
    let m = market().await;
    let file = "\
cooperative_slug,cooperative_name,kind,region,province,listed_since,sku,product_name,segment,format,price,\
added_at,status,cooperative_description,commission_rate,women_led,member_count,founded_on,contact_email,\
contact_phone,payout_account,product_description,active,low_stock_threshold
cooperative-tafoukt,Coopérative Tafoukt,TERROIR,MA-09,Tiznit,2020-05-04,AML-TFK-1,Amlou,amlou-spreads,\
250 g jar,65.00,2021-02-03T08:30:00Z,INCUBATED,\"Almonds, argan oil, honey.\",0.12,yes,31,2012-01-09,\
Contact@Tafoukt.coop.ma,+212 600 11 22 33,190207548754017147602992,Stone-ground.,false,2
";
    let report = import_catalog(&m.app.db, file.as_bytes(), nothing)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((report.cooperatives, report.products), (1, 1));
    let got = ok(
        &m.app,
        &m.manager,
        r#"{ product(sku: "AML-TFK-1") { description active lowStockThreshold createdAt
               cooperative { description status commissionRate womenLed youthLed memberCount
                             foundedOn contactEmail contactPhone payoutAccount } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        got["product"],
        json!({ "description": "Stone-ground.", "active": false, "lowStockThreshold": 2,
                "createdAt": "2021-02-03T08:30:00+00:00",
                "cooperative": { "description": "Almonds, argan oil, honey.", "status": "INCUBATED",
                                 "commissionRate": "0.1200", "womenLed": true, "youthLed": false,
                                 "memberCount": 31, "foundedOn": "2012-01-09",
                                 "contactEmail": "contact@tafoukt.coop.ma",
                                 "contactPhone": "+212 600 11 22 33",
                                 "payoutAccount": "190207548754017147602992" } })
    );

    let bad = "\
cooperative_slug,cooperative_name,kind,region,province,listed_since,sku,product_name,segment,format,price,\
status,commission_rate,payout_account,active,added_at
cooperative-other,Other,TERROIR,MA-09,,2020-05-04,AML-OTH-1,Amlou,amlou-spreads,1 jar,65,CLOSED,1.5,123,maybe,yesterday
";
    let err = import_catalog(&m.app.db, bad.as_bytes(), nothing)
        .await
        .expect_err("refused");
    let ImportError::Rejected { errors, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(errors.len(), 1, "{errors:?}");
    for column in [
        "status",
        "commission_rate",
        "payout_account",
        "active",
        "added_at",
    ] {
        assert!(errors[0].reason.contains(column), "{column}: {errors:?}");
    }
    let unknown = "cooperative_slug,cooperative_name,kind,region,province,listed_since,sku,\
                   product_name,segment,format,price,colour\n";
    let err = import_catalog(&m.app.db, unknown.as_bytes(), nothing)
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, ImportError::Rejected { errors, .. } if errors[0].line == 1),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_certifications_file_is_checked_whole_and_imported_once() {
    let m = market().await;
    let catalog = "\
cooperative_slug,cooperative_name,kind,region,province,listed_since,sku,product_name,segment,format,price
cooperative-tafoukt,Coopérative Tafoukt,TERROIR,MA-09,,2020-05-04,AML-TFK-1,Amlou,amlou-spreads,250 g jar,65
cooperative-tafoukt,Coopérative Tafoukt,TERROIR,MA-09,,2020-05-04,HON-TFK-2,Honey,honey,250 g jar,80
";
    import_catalog(&m.app.db, catalog.as_bytes(), nothing)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let file = "\
cooperative_slug,type,number,issuer,issued_on,expires_on,skus,revoked_at,revoked_reason
cooperative-tafoukt,ORGANIC,MA-BIO-TEST-1,Ecocert Maroc,2024-01-10,2027-01-09,AML-TFK-1 hon-tfk-2,,
cooperative-tafoukt,PGI,IGP-TEST-2,Normacert,2023-05-02,,,2025-06-01T11:00:00Z,Withdrawn at the holder's request
";
    let added = import_certifications(&m.app.db, file.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(added, 2);
    let again = import_certifications(&m.app.db, file.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(again, 0, "known numbers are left as they are");
    let got = ok(
        &m.app,
        &m.manager,
        r#"{ cooperative(slug: "cooperative-tafoukt") {
               certifications(includeInvalid: true) { number coversAllProducts products { sku }
                                                      revokedAt revokedReason } } }"#,
        json!({}),
    )
    .await;
    let certs = got["cooperative"]["certifications"]
        .as_array()
        .expect("certifications");
    let by_number = |n: &str| {
        certs
            .iter()
            .find(|c| c["number"] == n)
            .cloned()
            .unwrap_or_else(|| panic!("{n} in {certs:?}"))
    };
    assert_eq!(
        by_number("MA-BIO-TEST-1"),
        json!({ "number": "MA-BIO-TEST-1", "coversAllProducts": false,
                "products": [{ "sku": "AML-TFK-1" }, { "sku": "HON-TFK-2" }],
                "revokedAt": null, "revokedReason": null })
    );
    assert_eq!(
        by_number("IGP-TEST-2"),
        json!({ "number": "IGP-TEST-2", "coversAllProducts": true, "products": [],
                "revokedAt": "2025-06-01T11:00:00+00:00", "revokedReason": "Withdrawn at the holder's request" })
    );

    let bad = "\
cooperative_slug,type,number,issuer,issued_on,expires_on,skus,revoked_at,revoked_reason
cooperative-tafoukt,ORGANIC,MA-BIO-TEST-3,Ecocert Maroc,2024-01-10,2023-01-09,,,
cooperative-nobody,HALAL,,Someone,2024-01-10,,NOPE-1,,
";
    let err = import_certifications(&m.app.db, bad.as_bytes())
        .await
        .expect_err("refused");
    let ImportError::Rejected { errors, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].reason.contains("before issued_on"), "{errors:?}");
    for what in ["unknown cooperative", "HALAL", "number", "NOPE-1"] {
        assert!(errors[1].reason.contains(what), "{what}: {errors:?}");
    }
}

/// A history of `n` one-line orders of HON-1 in January 2025.
fn history(n: usize) -> String {
    history_of("HELD", n)
}

/// A history of `n` orders of references `{prefix}-{i}` in January 2025, of HON-1 and,
/// every third order, of a second line of OLV-1 (two cooperatives' products).
fn history_of(prefix: &str, n: usize) -> String {
    let mut file = String::from("order_ref,placed_at,channel,status,sku,quantity,unit_price\n");
    for i in 0..n {
        let at = format!("2025-01-{:02}T10:00:00Z", i % 28 + 1);
        let channel = if i % 2 == 0 { "STORE" } else { "ONLINE" };
        file.push_str(&format!("{prefix}-{i},{at},{channel},PAID,HON-1,1,90.00\n"));
        if prefix != "HELD" && i % 3 == 0 {
            file.push_str(&format!("{prefix}-{i},{at},{channel},PAID,OLV-1,2,55.00\n"));
        }
    }
    file
}

/// What the analytics say of January 2025 from each rollup table: the market by channel
/// (`sales_dims`), by cooperative (`sales_cells`) and the best products (`sales_products`).
async fn january(m: &crate::analytics::Market) -> Value {
    ok(
        &m.app,
        &m.manager,
        r#"query($r: DateRangeInput!) {
           byChannel: salesBySegment(range: $r, dimension: CHANNEL) {
             total { revenue { amount } itemsSold orders } rows { key itemsSold orders } }
           byCoop: salesBySegment(range: $r, dimension: COOPERATIVE) {
             total { revenue { amount } itemsSold orders } rows { key itemsSold orders } }
           topProducts(range: $r, by: VOLUME) { itemsSold revenue { amount } product { sku } } }"#,
        json!({ "r": { "from": "2025-01-01", "to": "2025-01-31" } }),
    )
    .await
}

/// The rollup rows that imports wrote under their own batch, all tables together.
async fn import_rollup_rows(db: &sea_orm::DatabaseConnection) -> i64 {
    use sea_orm::ConnectionTrait;
    let mut n = 0;
    for table in ["sales_cells", "sales_products", "sales_dims"] {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT CAST(COUNT(*) AS BIGINT) FROM {table} WHERE batch_id <> 0"),
            ))
            .await
            .unwrap()
            .unwrap();
        n += row.try_get_by_index::<i64>(0).unwrap();
    }
    n
}

/// Rebuilds the rollups from the order lines.
async fn rebuild(db: &sea_orm::DatabaseConnection) {
    let txn = solidarity_market::db::begin_write(db).await.unwrap();
    solidarity_market::domain::rollups::rebuild(&txn, chrono_tz::Africa::Casablanca, |_| {})
        .await
        .unwrap();
    txn.commit().await.unwrap();
}

/// How many imported orders a manager sees, and the January sales the analytics count.
async fn visible(m: &crate::analytics::Market) -> (i64, Value) {
    let data = ok(
        &m.app,
        &m.manager,
        r#"query($r: DateRangeInput!) { orders { totalCount }
           salesBySegment(range: $r, dimension: CHANNEL) { total { orders } } }"#,
        json!({ "r": { "from": "2025-01-01", "to": "2025-01-31" } }),
    )
    .await;
    (
        data["orders"]["totalCount"].as_i64().unwrap(),
        data["salesBySegment"]["total"]["orders"].clone(),
    )
}

/// On SQLite an import held the write lock for its whole transaction, so `placeOrder` and
/// `recordStockDelivery` waited 30 s and failed during a large one (issue 12). Now it
/// writes in short transactions: held between two of its chunks, the shop's writes go
/// through, and nothing of the import is visible until it is switched in whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shop_writes_while_an_import_is_held_between_chunks() {
    use solidarity_market::domain::enums::Role;
    let m = market().await;
    let customer =
        crate::fixtures::account(&m.app.db, "held@example.ma", Role::Customer, None).await;
    let hon = product::Entity::find()
        .filter(product::Column::Sku.eq("HON-1"))
        .one(&m.app.db)
        .await
        .unwrap()
        .unwrap();
    let hon_id = solidarity_market::graphql::ids::encode(
        solidarity_market::graphql::ids::NodeType::Product,
        hon.id,
    )
    .to_string();
    let (hold, mut arrivals, decide) = Hold::new();
    let db = m.app.db.clone();
    let file = history(50);
    let import = tokio::spawn(async move {
        import_orders_with(
            &db,
            file.as_bytes(),
            nothing,
            ImportOptions {
                chunk_orders: 20,
                paced: false,
                hold: Some(hold),
                ..ImportOptions::default()
            },
        )
        .await
    });
    assert_eq!(
        arrivals.recv().await,
        Some(20),
        "held after the first chunk"
    );

    // The import has written 20 orders and holds no transaction: the shop goes on.
    let placed = ok(
        &m.app,
        &customer,
        "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { number } userErrors { code } } }",
        json!({ "i": { "channel": "ONLINE", "idempotencyKey": "during-import",
                       "lines": [{ "productId": hon_id, "quantity": 1 }] } }),
    )
    .await;
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]), "{placed}");
    let delivered = ok(
        &m.app,
        &m.manager,
        "mutation($i: RecordStockDeliveryInput!) { recordStockDelivery(input: $i) { userErrors { code } } }",
        json!({ "i": { "productId": hon_id, "quantity": 5 } }),
    )
    .await;
    assert_eq!(delivered["recordStockDelivery"]["userErrors"], json!([]));
    // ... and sees none of the import yet: it is all or nothing.
    assert_eq!(visible(&m).await, (1, json!(0)));

    decide.send(true).await.unwrap();
    assert_eq!(arrivals.recv().await, Some(40));
    decide.send(true).await.unwrap();
    assert_eq!(arrivals.recv().await, Some(50), "held before the switch-in");
    assert_eq!(visible(&m).await, (1, json!(0)));
    decide.send(true).await.unwrap();
    let report = import.await.unwrap().unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        report,
        OrdersReport {
            orders: 50,
            lines: 50,
            already_imported: 0,
            switch_in_rows: 1,
        }
    );
    assert_eq!(visible(&m).await, (51, json!(50)));
    // The same file again adds nothing.
    let again = import_orders(&m.app.db, history(50).as_bytes(), nothing)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(again.already_imported, 50);
    assert_eq!(visible(&m).await, (51, json!(50)));
}

/// An import abandoned (or failing) between chunks leaves nothing behind, and one killed
/// mid-way leaves only invisible rows that the next import clears.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_that_stops_half_way_leaves_nothing_visible() {
    let m = market().await;
    let options = |hold| ImportOptions {
        chunk_orders: 10,
        paced: false,
        hold: Some(hold),
        ..ImportOptions::default()
    };

    // Abandoned at the hold: its chunks are deleted.
    let (hold, mut arrivals, decide) = Hold::new();
    let db = m.app.db.clone();
    let run = tokio::spawn(async move {
        import_orders_with(&db, history(30).as_bytes(), nothing, options(hold)).await
    });
    assert_eq!(arrivals.recv().await, Some(10));
    decide.send(false).await.unwrap();
    let err = run.await.unwrap().expect_err("abandoned");
    assert!(matches!(err, ImportError::Failed(_)), "{err:?}");
    assert_eq!(order::Entity::find().count(&m.app.db).await.unwrap(), 0);

    // Killed while held (the task is dropped): its 10 orders stay, unseen.
    let (hold, mut arrivals, _decide) = Hold::new();
    let db = m.app.db.clone();
    let run = tokio::spawn(async move {
        import_orders_with(&db, history(30).as_bytes(), nothing, options(hold)).await
    });
    assert_eq!(arrivals.recv().await, Some(10));
    run.abort();
    let _ = run.await;
    assert_eq!(order::Entity::find().count(&m.app.db).await.unwrap(), 10);
    assert_eq!(
        visible(&m).await,
        (0, json!(0)),
        "a staged import is unseen"
    );
    // Its orders cannot be changed either.
    let hidden = order::Entity::find().one(&m.app.db).await.unwrap().unwrap();
    let out = m
        .app
        .graphql_as(
            Some(&m.manager),
            "mutation($i: CancelOrderInput!) { cancelOrder(input: $i) { userErrors { code } } }",
            json!({ "i": { "orderId": solidarity_market::graphql::ids::encode(
                solidarity_market::graphql::ids::NodeType::Order, hidden.id).to_string() } }),
        )
        .await;
    assert_eq!(
        out["data"]["cancelOrder"]["userErrors"][0]["code"], "NOT_FOUND",
        "{out}"
    );

    // Once the dead import's batch has gone quiet, the next import clears it and
    // imports the whole file.
    use sea_orm::ConnectionTrait;
    m.app
        .db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            m.app.db.get_database_backend(),
            match m.app.db.get_database_backend() {
                sea_orm::DbBackend::Postgres => "UPDATE import_batches SET heartbeat_at = $1",
                _ => "UPDATE import_batches SET heartbeat_at = ?",
            },
            [(chrono::Utc::now() - chrono::Duration::hours(1)).into()],
        ))
        .await
        .unwrap();
    let report = import_orders(&m.app.db, history(30).as_bytes(), nothing)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((report.orders, report.already_imported), (30, 0));
    assert_eq!(order::Entity::find().count(&m.app.db).await.unwrap(), 30);
    assert_eq!(visible(&m).await, (30, json!(30)));
}

/// The switch-in used to add the whole import's sales to the rollups in one transaction
/// (1.36 million rows, 16–24 s of SQLite's write lock for a million-line file, issue 12).
/// Now the rollup rows are written before it, in short transactions, under the batch; the
/// analytics count none of them until the switch-in, which writes one row whatever the
/// import's size, and then all of them; folded into the live rows, they leave the same
/// figures as a rebuild from the lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_counts_in_the_analytics_only_once_switched_in_by_one_row() {
    let m = market().await;
    let before = january(&m).await;
    let (hold, mut arrivals, decide) = Hold::new();
    let db = m.app.db.clone();
    let import = tokio::spawn(async move {
        import_orders_with(
            &db,
            history_of("JAN", 60).as_bytes(),
            nothing,
            ImportOptions {
                chunk_orders: 25,
                chunk_rows: 7,
                paced: false,
                hold: Some(hold),
            },
        )
        .await
    });
    for done in [25, 50] {
        assert_eq!(arrivals.recv().await, Some(done));
        assert_eq!(
            january(&m).await,
            before,
            "nothing counted after {done} orders"
        );
        decide.send(true).await.unwrap();
    }
    // Everything is written — orders and rollup rows, the latter in many transactions —
    // and none of it counts before the switch-in.
    assert_eq!(arrivals.recv().await, Some(60), "held before the switch-in");
    let staged = import_rollup_rows(&m.app.db).await;
    assert!(staged > 7 * 3, "rollup rows written in parts: {staged}");
    assert_eq!(january(&m).await, before);
    assert_eq!(visible(&m).await, (0, json!(0)));
    decide.send(true).await.unwrap();
    let report = import.await.unwrap().unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        (report.orders, report.lines, report.switch_in_rows),
        (60, 80, 1)
    );

    // All of it counts, folded into the live rows, and agrees with a rebuild.
    let after = january(&m).await;
    assert_eq!(
        after["byChannel"]["total"],
        json!({ "revenue": { "amount": "7600.00" }, "itemsSold": 100, "orders": 60 })
    );
    assert_eq!(after["byCoop"]["total"], after["byChannel"]["total"]);
    assert_eq!(import_rollup_rows(&m.app.db).await, 0, "folded");
    rebuild(&m.app.db).await;
    assert_eq!(january(&m).await, after);

    // A five times larger import still switches in by writing one row.
    let report = import_orders(&m.app.db, history_of("BIG", 300).as_bytes(), nothing)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((report.orders, report.switch_in_rows), (300, 1));
    let bigger = january(&m).await;
    assert_eq!(bigger["byChannel"]["total"]["orders"], 360);
    rebuild(&m.app.db).await;
    assert_eq!(january(&m).await, bigger);
}

/// An import abandoned, or killed, once its rollup rows are written but before its
/// switch-in is never counted, and its rollup rows go with its orders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_stopped_before_its_switch_in_leaves_no_sales_behind() {
    let m = market().await;
    let before = january(&m).await;
    let options = |hold| ImportOptions {
        chunk_orders: 40,
        chunk_rows: 5,
        paced: false,
        hold: Some(hold),
    };
    let run = |hold| {
        let db = m.app.db.clone();
        tokio::spawn(async move {
            import_orders_with(
                &db,
                history_of("GONE", 40).as_bytes(),
                nothing,
                options(hold),
            )
            .await
        })
    };

    // Abandoned at the switch-in: its rollup rows are deleted with its orders.
    let (hold, mut arrivals, decide) = Hold::new();
    let import = run(hold);
    assert_eq!(arrivals.recv().await, Some(40), "held before the switch-in");
    assert!(import_rollup_rows(&m.app.db).await > 0);
    decide.send(false).await.unwrap();
    import.await.unwrap().expect_err("abandoned");
    assert_eq!(import_rollup_rows(&m.app.db).await, 0);
    assert_eq!(order::Entity::find().count(&m.app.db).await.unwrap(), 0);
    assert_eq!(january(&m).await, before);

    // Killed there: its rows stay, never counted, even by a rebuild ...
    let (hold, mut arrivals, _decide) = Hold::new();
    let import = run(hold);
    assert_eq!(arrivals.recv().await, Some(40));
    import.abort();
    let _ = import.await;
    let left = import_rollup_rows(&m.app.db).await;
    assert!(left > 0);
    assert_eq!(january(&m).await, before);
    rebuild(&m.app.db).await;
    assert_eq!(january(&m).await, before);

    // ... until the next import clears them once the batch has gone quiet.
    use sea_orm::ConnectionTrait;
    m.app
        .db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            m.app.db.get_database_backend(),
            match m.app.db.get_database_backend() {
                sea_orm::DbBackend::Postgres => "UPDATE import_batches SET heartbeat_at = $1",
                _ => "UPDATE import_batches SET heartbeat_at = ?",
            },
            [(chrono::Utc::now() - chrono::Duration::hours(1)).into()],
        ))
        .await
        .unwrap();
    let report = import_orders(&m.app.db, history_of("GONE", 40).as_bytes(), nothing)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(report.orders, 40);
    assert_eq!(import_rollup_rows(&m.app.db).await, 0);
    let after = january(&m).await;
    assert_eq!(after["byChannel"]["total"]["orders"], 40);
    rebuild(&m.app.db).await;
    assert_eq!(january(&m).await, after);
}
