//! The demo catalog: forty cooperatives from the twelve regions, their products, initial
//! stock and certifications, all dated relative to `today` so that its compliance cases
//! (expired, expiring, revoked, partial, missing) stay true whenever it is seeded.
//!
//! The catalog is data (`crates/market-core/src/seed/data/demo/`, see [`super::tables`]) and goes into the
//! database the way a user's does: the cooperatives and products as a catalog file
//! through `domain::import::check_catalog` / `write_catalog` (the code of `import
//! catalog`), the certifications through `domain::import::import_certifications`. What
//! this module adds is what the files leave to it: dates relative to `today`, and the
//! generated details (phone numbers, bank accounts, creation times, stock levels) drawn
//! from fixed seeds, so the same `today` always gives the same rows.
//!
//! Deliberate gaps in the certifications: the Laâyoune camel-milk cooperative (LAY,
//! Terroir) and the Ksabi ghassoul cooperative (KSB, Cosmetics) hold none at all.

use super::plan::{Dice, MARKET_OPENED, at, days_from, initial_stock, mobile_number, rib};
use super::seed_reference_data;
use super::tables::{self, Demo, DemoCooperative, DemoProduct};
use crate::domain::import::{self, ImportError};
use crate::entities::product;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use std::collections::HashMap;

/// What the demo seeder inserted, so the caller can log it and write the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    pub cooperatives: usize,
    pub products: usize,
    pub certifications: usize,
    /// Product id → the stock level it should have today. Products are stored with no
    /// stock: the history's deliveries and sales (`demo_history`) bring them there.
    pub stock_targets: HashMap<i32, i32>,
}

/// A demo account, listed in README.md.
pub struct DemoAccount {
    pub email: &'static str,
    pub password: &'static str,
    pub name: &'static str,
    pub role: crate::domain::enums::Role,
    pub cooperative_slug: Option<&'static str>,
}

/// One account of each role, so every client can be tried at once.
pub const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        email: "manager@solidarity-market.ma",
        password: "manager-demo-2026",
        name: "Salma Bennani (market manager)",
        role: crate::domain::enums::Role::Manager,
        cooperative_slug: None,
    },
    DemoAccount {
        email: "member@ait-bouguemez.coop.ma",
        password: "member-demo-2026",
        name: "Fatima Aït Ali (Coopérative Aït Bouguemez)",
        role: crate::domain::enums::Role::CooperativeMember,
        cooperative_slug: Some("cooperative-ait-bouguemez"),
    },
    DemoAccount {
        email: "customer@example.ma",
        password: "customer-demo-2026",
        name: "Youssef El Amrani",
        role: crate::domain::enums::Role::Customer,
        cooperative_slug: None,
    },
];

/// Fills an empty catalog with the demo data, products without stock (see
/// [`DemoSummary::stock_targets`]). Calls seed_reference_data first.
///
/// The caller runs it in a transaction and only when the `cooperatives` table is empty:
/// it does not merge with existing cooperatives. `today` is the market-local date every
/// generated date is relative to; the same `today` always gives the same rows.
pub async fn seed_demo_catalog(
    db: &impl ConnectionTrait,
    today: NaiveDate,
) -> Result<DemoSummary, DbErr> {
    seed_reference_data(db).await?;
    crate::domain::catalog_version::touch_texts(db).await?;
    let demo = tables::demo()?;
    let coops = plan_cooperatives(demo, today)?;
    let planned = plan_products(demo, &coops, today)?;

    let file = catalog_file(&coops, &planned).map_err(|e| DbErr::Custom(e.to_string()))?;
    let checked = import::check_catalog(db, file.as_slice())
        .await
        .map_err(refused)?;
    let report = import::write_catalog(db, &checked, &mut |_, _| {})
        .await
        .map_err(refused)?;

    let targets: HashMap<&str, i32> = planned
        .iter()
        .map(|p| (p.row.sku.as_str(), p.stock))
        .collect();
    let stock_targets = product::Entity::find()
        .filter(product::Column::Sku.is_in(targets.keys().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, targets.get(p.sku.as_str()).copied().unwrap_or(0)))
        .collect();

    let file = certifications_file(demo, today)?;
    let certifications = import::import_certifications(db, file.as_slice())
        .await
        .map_err(refused)?;

    Ok(DemoSummary {
        cooperatives: report.cooperatives,
        products: report.products,
        certifications,
        stock_targets,
    })
}

/// The demo's gift pack (issue #18): the *Hamam gift set* of three cosmetics
/// cooperatives — Nour Al Hammam's black soap and kessa glove, Doukkala's seaweed soap and
/// the Oriental's rosemary soap — sold at 99.00 MAD where its products cost 105.00 alone.
pub const HAMAM_GIFT_SET: &str = "GIFT-HAMAM-01";

/// Composes the demo's gift packs, after its catalog.
pub async fn seed_demo_packs(db: &impl ConnectionTrait) -> crate::error::AppResult<()> {
    let skus = ["SOP-HZH-001", "SOP-HZH-005", "SOP-JDD-004", "SOP-JRD-005"];
    let found: HashMap<String, i32> = product::Entity::find()
        .filter(product::Column::Sku.is_in(skus))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.sku, p.id))
        .collect();
    let components = skus
        .iter()
        .map(|sku| {
            found.get(*sku).map(|id| (*id, 1)).ok_or_else(|| {
                crate::error::AppError::Internal(format!("the demo has no product {sku}").into())
            })
        })
        .collect::<crate::error::AppResult<Vec<_>>>()?;
    let pack = crate::domain::packs::create(
        db,
        crate::domain::packs::PackFields {
            sku: HAMAM_GIFT_SET.into(),
            name: "Hamam gift set".into(),
            description: Some(
                "Everything for a hammam at home, from three women's and young people's \
                 cooperatives: beldi black soap with eucalyptus and a kessa glove from \
                 Marrakech, seaweed soap from Doukkala and rosemary soap from the Oriental."
                    .into(),
            ),
            format: "Gift box of 4".into(),
            price_cents: 9_900,
            segment_slug: "soaps-hammam".into(),
            active: Some(true),
            components,
        },
    )
    .await?;
    use crate::domain::translations::{self, Subject, SubjectKind, Text};
    let subject = || Subject::new(SubjectKind::Product, pack.id);
    translations::upsert(
        db,
        [
            (
                subject(),
                "fr".to_owned(),
                Text {
                    name: "Coffret cadeau hammam".into(),
                    description: Some(
                        "Tout pour un hammam à la maison, de trois coopératives : savon noir \
                         beldi à l'eucalyptus et gant kessa de Marrakech, savon aux algues des \
                         Doukkala et savon au romarin de l'Oriental."
                            .into(),
                    ),
                },
            ),
            (
                subject(),
                "ar".to_owned(),
                Text {
                    name: "علبة هدايا الحمام".into(),
                    description: Some(
                        "كل ما يلزم لحمام في البيت من ثلاث تعاونيات: الصابون البلدي الأسود \
                         بالأوكالبتوس وكيس الحمام من مراكش، وصابون الطحالب من دكالة وصابون \
                         إكليل الجبل من الجهة الشرقية."
                            .into(),
                    ),
                },
            ),
        ],
    )
    .await?;
    crate::domain::catalog_version::touch_texts(db).await?;
    Ok(())
}

/// The first days of Ramadan, to date the demo's Ramadan promotion.
const RAMADAN_STARTS: [(i32, u32, u32); 5] = [
    (2026, 2, 18),
    (2027, 2, 8),
    (2028, 1, 28),
    (2029, 1, 16),
    (2030, 1, 6),
];

/// The demo's Ramadan promotion: 15 % off the soaps and hammam segment (the Hamam gift set
/// included), funded half by the market and half by the cooperatives, for the next
/// Ramadan not over on `today` (from midnight in Casablanca on its first day, for 30
/// days).
pub async fn seed_demo_promotions(
    db: &impl ConnectionTrait,
    today: NaiveDate,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> crate::error::AppResult<()> {
    use crate::domain::promotions::{self, Discount, PromotionFields, Target};
    use crate::entities::segment;
    let (year, start) = RAMADAN_STARTS
        .iter()
        .filter_map(|(y, m, d)| NaiveDate::from_ymd_opt(*y, *m, *d).map(|s| (*y, s)))
        .find(|(_, start)| *start + chrono::Duration::days(30) > today)
        .unwrap_or((2030, NaiveDate::from_ymd_opt(2030, 1, 6).unwrap_or(today)));
    let Some(soaps) = segment::Entity::find()
        .filter(segment::Column::Slug.eq("soaps-hammam"))
        .one(db)
        .await?
    else {
        return Err(crate::error::AppError::Internal(
            "the demo has no soaps-hammam segment".into(),
        ));
    };
    let starts_at = crate::domain::market_time::day_start(start, tz);
    promotions::create(
        db,
        PromotionFields {
            name: format!("Ramadan {year}"),
            discount: Discount::Percentage(1_500),
            target: Target::Segment(soaps.id),
            starts_at,
            ends_at: starts_at + chrono::Duration::days(30),
            market_share_bp: 5_000,
        },
        now,
    )
    .await?;
    Ok(())
}

/// The import refused the demo's own data: a bug of the data files, which the unit
/// tests catch first.
fn refused(e: ImportError) -> DbErr {
    match e {
        ImportError::Failed(crate::error::AppError::Database(e)) => e,
        ImportError::Failed(e) => DbErr::Custom(format!("demo import failed: {e:?}")),
        ImportError::Rejected { errors, more } => {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            DbErr::Custom(format!(
                "the demo data does not import ({} and {more} more)",
                lines.join("; ")
            ))
        }
    }
}

/// A cooperative of the demo with what `today` and its seed add to its row.
struct PlannedCoop {
    row: &'static DemoCooperative,
    listed_since: NaiveDate,
    contact_phone: String,
    payout_account: Option<String>,
}

fn plan_cooperatives(demo: &'static Demo, today: NaiveDate) -> Result<Vec<PlannedCoop>, DbErr> {
    demo.cooperatives
        .iter()
        .map(|row| {
            let joined = match (row.listed_since, row.listed_days_ago) {
                (Some(day), _) => day,
                (None, Some(days)) => days_from(today, -days)?,
                (None, None) => {
                    return Err(DbErr::Custom(format!("{} has no listing date", row.code)));
                }
            };
            let mut dice = Dice::new(&row.code);
            Ok(PlannedCoop {
                row,
                listed_since: joined.max(MARKET_OPENED).min(today),
                contact_phone: mobile_number(&mut dice),
                payout_account: row.has_payout_account.then(|| rib(&mut dice)),
            })
        })
        .collect()
}

/// A product of the demo with its generated creation time and stock.
#[derive(Debug, PartialEq)]
struct PlannedProduct {
    row: &'static DemoProduct,
    /// Index of its cooperative in the plan.
    coop: usize,
    stock: i32,
    low_stock_threshold: i32,
    created_at: DateTime<Utc>,
}

/// Stock and creation date of each product, drawn from a generator seeded by the SKU,
/// so adding a product never changes the others; creation is spread over the days the
/// cooperative has been listed, before today.
fn plan_products(
    demo: &'static Demo,
    coops: &[PlannedCoop],
    today: NaiveDate,
) -> Result<Vec<PlannedProduct>, DbErr> {
    demo.products
        .iter()
        .map(|row| {
            let coop = coops
                .iter()
                .position(|c| c.row.code == row.cooperative)
                .ok_or_else(|| DbErr::RecordNotFound(format!("cooperative {}", row.cooperative)))?;
            let listed_since = coops[coop].listed_since;
            let span = (today - listed_since).num_days().max(1) as usize;
            let mut dice = Dice::new(&row.sku);
            let day = days_from(listed_since, dice.below(span) as i64)?;
            let created_at = at(day, 7 * 60 + dice.below(600) as i64);
            let (generated, threshold) =
                initial_stock(coops[coop].row.kind, row.price_cents, &mut dice);
            Ok(PlannedProduct {
                row,
                coop,
                stock: row
                    .stock
                    .unwrap_or_else(|| i32::try_from(generated).unwrap_or(0)),
                low_stock_threshold: i32::try_from(threshold).unwrap_or(5),
                created_at,
            })
        })
        .collect()
}

/// The demo's cooperatives and products as a catalog file of `import catalog`, with
/// the optional columns filled.
/// The translation columns of the demo's catalog file (`seed/data/i18n`).
const TRANSLATION_COLUMNS: [&str; 8] = [
    "name_fr",
    "name_ar",
    "description_fr",
    "description_ar",
    "cooperative_name_fr",
    "cooperative_name_ar",
    "cooperative_description_fr",
    "cooperative_description_ar",
];

fn catalog_file(coops: &[PlannedCoop], products: &[PlannedProduct]) -> csv::Result<Vec<u8>> {
    let mut file = csv::Writer::from_writer(Vec::new());
    let header = import::CATALOG_COLUMNS
        .iter()
        .chain(&import::CATALOG_OPTIONAL_COLUMNS)
        .chain(&TRANSLATION_COLUMNS);
    file.write_record(header)?;
    for p in products {
        let coop = &coops[p.coop];
        let c = coop.row;
        let mailbox = c.slug.strip_prefix("cooperative-").unwrap_or(&c.slug);
        let pt = super::i18n::PRODUCTS
            .get(&p.row.sku)
            .cloned()
            .unwrap_or_default();
        let ct = super::i18n::COOPERATIVES
            .get(&c.slug)
            .cloned()
            .unwrap_or_default();
        let dash = |t: &str| {
            if t == "-" {
                String::new()
            } else {
                t.to_owned()
            }
        };
        let mut record: Vec<String> = [
            c.slug.as_str(),
            &c.name,
            c.kind.as_str(),
            &c.region,
            &c.province,
            &coop.listed_since.to_string(),
            &p.row.sku,
            &p.row.name,
            &p.row.segment,
            &p.row.format,
            &p.row.price,
            &c.description,
            &c.founded_on.to_string(),
            &c.member_count.to_string(),
            &c.women_led.to_string(),
            &c.youth_led.to_string(),
            c.status.as_str(),
            c.commission_rate.as_deref().unwrap_or(""),
            &format!("contact@{mailbox}.coop.ma"),
            &coop.contact_phone,
            coop.payout_account.as_deref().unwrap_or(""),
            &p.row.description,
            &p.row.active.to_string(),
            &p.low_stock_threshold.to_string(),
            &p.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        ]
        .map(str::to_owned)
        .to_vec();
        record.extend([
            dash(&pt.name_fr),
            dash(&pt.name_ar),
            dash(&pt.description_fr),
            dash(&pt.description_ar),
            dash(&ct.name_fr),
            dash(&ct.name_ar),
            dash(&ct.description_fr),
            dash(&ct.description_ar),
        ]);
        file.write_record(&record)?;
    }
    file.into_inner().map_err(|e| e.into_error().into())
}

/// The demo's certifications as a file of `import_certifications`, dated from `today`:
/// issued at the start of the day, revoked at 11:00 UTC.
fn certifications_file(demo: &Demo, today: NaiveDate) -> Result<Vec<u8>, DbErr> {
    let fail = |e: csv::Error| DbErr::Custom(e.to_string());
    let mut file = csv::Writer::from_writer(Vec::new());
    file.write_record(import::CERTIFICATION_COLUMNS)
        .map_err(fail)?;
    for cert in &demo.certifications {
        let coop = demo
            .cooperative(&cert.cooperative)
            .ok_or_else(|| DbErr::RecordNotFound(format!("cooperative {}", cert.cooperative)))?;
        let issued_on = match (cert.issued_on, cert.issued_days_ago) {
            (Some(day), _) => day,
            (None, days) => days_from(today, -days.unwrap_or(0))?,
        };
        let expires_on = match (cert.expires_on, cert.expires_in_days) {
            (Some(day), _) => Some(day),
            (None, Some(days)) => Some(days_from(today, days)?),
            (None, None) => None,
        };
        let revoked_at = cert
            .revoked_days_ago
            .map(|days| days_from(today, -days).map(|day| at(day, 11 * 60)))
            .transpose()?;
        file.write_record([
            coop.slug.as_str(),
            cert.kind.as_str(),
            &cert.number,
            &cert.issuer,
            &issued_on.to_string(),
            &expires_on.map(|d| d.to_string()).unwrap_or_default(),
            &cert.skus,
            &revoked_at
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
                .unwrap_or_default(),
            cert.revoked_reason.as_deref().unwrap_or(""),
        ])
        .map_err(fail)?;
    }
    file.into_inner()
        .map_err(|e| DbErr::Custom(e.into_error().to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::plan::date;
    use super::*;
    use crate::domain::enums::{CertificationType, CooperativeKind, CooperativeStatus};
    use crate::domain::search::slugify;
    use std::collections::HashSet;

    const TODAY: NaiveDate = date(2026, 11, 23);

    fn demo() -> &'static Demo {
        tables::demo().unwrap_or_else(|e| panic!("{e}"))
    }

    fn plan() -> (Vec<PlannedCoop>, Vec<PlannedProduct>) {
        let coops = plan_cooperatives(demo(), TODAY).expect("cooperatives");
        let products = plan_products(demo(), &coops, TODAY).expect("products");
        (coops, products)
    }

    #[test]
    fn slugs_are_ascii_and_accent_free() {
        assert_eq!(
            slugify("Coopérative Poterie et Zellige de Fès"),
            "cooperative-poterie-et-zellige-de-fes"
        );
        assert_eq!(
            slugify("Coopérative Aknari d'Aït Baâmrane"),
            "cooperative-aknari-d-ait-baamrane"
        );
        for c in &demo().cooperatives {
            assert_eq!(c.slug, slugify(&c.name), "{}", c.code);
        }
    }

    #[test]
    fn cooperatives_cover_every_region_and_kind_in_market_proportions() {
        let reference = tables::reference().expect("reference");
        let (coops, _) = plan();
        assert!(coops.len() >= 36);
        let regions: HashSet<&str> = coops.iter().map(|c| c.row.region.as_str()).collect();
        assert_eq!(regions.len(), 12);
        let count = |kind| coops.iter().filter(|c| c.row.kind == kind).count();
        let terroir = count(CooperativeKind::Terroir);
        let handicrafts = count(CooperativeKind::Handicrafts);
        let cosmetics = count(CooperativeKind::Cosmetics);
        assert!(terroir * 2 >= coops.len() - 2 && terroir > handicrafts);
        assert!(handicrafts > cosmetics && cosmetics > 0);
        let status = |s| coops.iter().filter(|c| c.row.status == s).count();
        assert_eq!(status(CooperativeStatus::Suspended), 1);
        assert!(status(CooperativeStatus::Incubated) >= 2);

        let mut codes = HashSet::new();
        let mut slugs = HashSet::new();
        for coop in &coops {
            let s = coop.row;
            assert!(codes.insert(&s.code), "duplicate code {}", s.code);
            assert!(slugs.insert(&s.slug), "duplicate slug {}", s.slug);
            let region = reference.region(&s.region).expect("region");
            assert!(
                region.provinces.contains(&s.province.as_str()),
                "{} not in {}",
                s.province,
                s.region
            );
            assert!((7..=300).contains(&s.member_count), "{}", s.name);
            assert!(coop.listed_since >= MARKET_OPENED && coop.listed_since <= TODAY);
            assert!(s.founded_on < coop.listed_since, "{}", s.name);
            assert!(
                coop.payout_account
                    .as_deref()
                    .is_none_or(|rib| rib.len() == 24),
                "{}",
                s.code
            );
        }
        let newcomers = coops
            .iter()
            .filter(|c| c.row.listed_days_ago.is_some())
            .count();
        assert!(newcomers >= 2, "newcomers stay new whenever the demo runs");
    }

    #[test]
    fn products_match_their_cooperative_and_have_unique_skus() {
        let reference = tables::reference().expect("reference");
        let (coops, products) = plan();
        assert!(products.len() >= 220, "{} products", products.len());
        let mut skus = HashSet::new();
        for p in &products {
            let coop = coops[p.coop].row;
            let row = p.row;
            assert!(skus.insert(row.sku.as_str()), "duplicate SKU {}", row.sku);
            let segment = reference.segment(&row.segment).expect("segment");
            assert_eq!(segment.kind, coop.kind, "{} in {}", row.sku, row.segment);
            let prefix = format!("{}-{}-", segment.sku_prefix, coop.code);
            assert!(
                row.sku.starts_with(&prefix),
                "{} is not {prefix}nnn",
                row.sku
            );
            assert!(
                row.price_cents > 0 && (0..=200).contains(&p.stock),
                "{}",
                row.sku
            );
            assert!(p.created_at < at(TODAY, 0), "{}", row.sku);
        }
        assert!(products.iter().filter(|p| p.stock == 0).count() >= 3);
        let low = products
            .iter()
            .filter(|p| p.stock > 0 && p.stock < p.low_stock_threshold)
            .count();
        assert!(low >= 3);
        assert!(products.iter().any(|p| !p.row.active));
        let segments: HashSet<&str> = products.iter().map(|p| p.row.segment.as_str()).collect();
        assert_eq!(
            segments.len(),
            reference.segments.len(),
            "every segment has products"
        );
    }

    #[test]
    fn certifications_stage_every_compliance_case() {
        let demo = demo();
        let kind_of = |code: &str| demo.cooperative(code).map(|c| c.kind);
        let sanitary = |kind| {
            matches!(
                kind,
                CertificationType::OnssaAuthorization | CertificationType::OnssaApproval
            )
        };
        let certs = &demo.certifications;
        let mut numbers = HashSet::new();
        for cert in certs {
            assert!(kind_of(&cert.cooperative).is_some(), "{}", cert.cooperative);
            assert!(numbers.insert(&cert.number), "duplicate {}", cert.number);
            for sku in cert.covered() {
                let p = demo
                    .products
                    .iter()
                    .find(|p| p.sku == sku)
                    .expect("covered SKU");
                assert_eq!(p.cooperative, cert.cooperative);
            }
        }
        let terroir_certs: Vec<_> = certs
            .iter()
            .filter(|c| {
                sanitary(c.kind) && kind_of(&c.cooperative) == Some(CooperativeKind::Terroir)
            })
            .collect();
        assert!(terroir_certs.iter().any(|c| c.expires_in_days < Some(0)));
        assert!(terroir_certs.iter().any(|c| !c.covered().is_empty()));
        assert!(terroir_certs.iter().any(|c| c.revoked_days_ago.is_some()));
        assert!(
            certs
                .iter()
                .any(|c| matches!(c.expires_in_days, Some(0..=20)))
        );
        let holds = |code: &str, kinds: &[CertificationType]| {
            certs
                .iter()
                .any(|c| c.cooperative == code && kinds.contains(&c.kind))
        };
        let without = |kind, kinds: &[CertificationType]| {
            demo.cooperatives
                .iter()
                .filter(|c| c.kind == kind && !holds(&c.code, kinds))
                .count()
        };
        use CertificationType::*;
        assert!(
            without(
                CooperativeKind::Terroir,
                &[OnssaAuthorization, OnssaApproval]
            ) >= 1
        );
        assert!(without(CooperativeKind::Cosmetics, &[DmpAuthorization, Iso22716]) >= 1);
    }

    #[test]
    fn the_plan_is_deterministic() {
        let (_, first) = plan();
        let (_, second) = plan();
        assert_eq!(first, second);
    }

    #[tokio::test]
    async fn the_demo_goes_through_the_catalog_import_into_an_empty_database() {
        let db = crate::db::connect("sqlite::memory:", 1).await.expect("db");
        crate::db::migrate(&db).await.expect("migrate");
        let summary = seed_demo_catalog(&db, TODAY).await.expect("seed");
        let demo = demo();
        assert_eq!(summary.cooperatives, demo.cooperatives.len());
        assert_eq!(summary.products, demo.products.len());
        assert_eq!(summary.certifications, demo.certifications.len());
        assert_eq!(summary.stock_targets.len(), demo.products.len());
        let again = import::check_catalog(&db, catalog_file_for(TODAY).as_slice())
            .await
            .map_err(refused)
            .expect("check");
        let report = import::write_catalog(&db, &again, &mut |_, _| {})
            .await
            .map_err(refused)
            .expect("write");
        assert_eq!(
            (report.cooperatives, report.products, report.already_there),
            (0, 0, demo.products.len()),
            "importing the demo again adds nothing"
        );
    }

    fn catalog_file_for(today: NaiveDate) -> Vec<u8> {
        let coops = plan_cooperatives(demo(), today).expect("cooperatives");
        let products = plan_products(demo(), &coops, today).expect("products");
        catalog_file(&coops, &products).expect("file")
    }
}
