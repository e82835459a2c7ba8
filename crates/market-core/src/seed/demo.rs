//! The demo catalog: forty cooperatives from the twelve regions, their products, initial
//! stock and certifications, all dated relative to `today` so that its compliance cases
//! (expired, expiring, revoked, partial, missing) stay true whenever it is seeded.

use super::catalog::{COOPERATIVES, CoopSeed, INACTIVE, Joined, STOCK_OVERRIDES, date};
use super::certs::{CERTIFICATIONS, CertSeed, Coverage};
use super::reference::segment_seed;
use super::{insert_chunked, seed_reference_data};
use crate::domain::enums::CooperativeKind;
use crate::domain::search::{normalize, product_search_text, slugify};
use crate::entities::{
    certification, certification_product, cooperative, product, province, segment,
};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
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

/// The market opened in March 2017: nobody joined before.
const MARKET_OPENED: NaiveDate = date(2017, 3, 1);

/// Price from which a piece is treated as a unique or near-unique item (a rug, a table
/// top): little stock, and a lower low-stock threshold.
const UNIQUE_PIECE_CENTS: i64 = 50_000;

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
    crate::domain::catalog_version::touch(db).await?;
    let coops = plan_cooperatives(today)?;
    let planned = plan_products(&coops, today)?;

    let provinces: HashMap<(String, String), i32> = province::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| ((p.region_code, p.name), p.id))
        .collect();
    let mut rows = Vec::with_capacity(coops.len());
    for coop in &coops {
        let key = (coop.seed.region.to_owned(), coop.seed.province.to_owned());
        let province_id = *provinces.get(&key).ok_or_else(|| {
            DbErr::RecordNotFound(format!(
                "province {} of region {}",
                coop.seed.province, coop.seed.region
            ))
        })?;
        rows.push(coop.active_model(province_id));
    }
    let cooperatives = insert_chunked(db, rows).await?;

    let slugs = coops.iter().map(|c| c.slug.clone());
    let ids_by_slug: HashMap<String, i32> = cooperative::Entity::find()
        .filter(cooperative::Column::Slug.is_in(slugs))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.slug, c.id))
        .collect();
    let mut coop_ids: HashMap<&str, i32> = HashMap::new();
    for coop in &coops {
        let id = *ids_by_slug
            .get(&coop.slug)
            .ok_or_else(|| DbErr::RecordNotFound(format!("cooperative {}", coop.slug)))?;
        coop_ids.insert(coop.seed.code, id);
    }

    let segment_ids: HashMap<String, i32> = segment::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.slug, s.id))
        .collect();
    let mut rows = Vec::with_capacity(planned.len());
    for p in &planned {
        let segment_id = *segment_ids
            .get(p.segment)
            .ok_or_else(|| DbErr::RecordNotFound(format!("segment {}", p.segment)))?;
        let cooperative_id = *coop_ids
            .get(p.coop)
            .ok_or_else(|| DbErr::RecordNotFound(format!("cooperative {}", p.coop)))?;
        rows.push(p.active_model(segment_id, cooperative_id));
    }
    let products = insert_chunked(db, rows).await?;

    let ids: Vec<i32> = coop_ids.values().copied().collect();
    let stored = product::Entity::find()
        .filter(product::Column::CooperativeId.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    let targets: HashMap<&str, i32> = planned.iter().map(|p| (p.sku.as_str(), p.stock)).collect();
    let stock_targets = stored
        .iter()
        .map(|p| (p.id, targets.get(p.sku.as_str()).copied().unwrap_or(0)))
        .collect();
    let product_ids: HashMap<&str, i32> = stored.iter().map(|p| (p.sku.as_str(), p.id)).collect();

    let mut rows = Vec::with_capacity(CERTIFICATIONS.len());
    for cert in CERTIFICATIONS {
        let cooperative_id = *coop_ids
            .get(cert.coop)
            .ok_or_else(|| DbErr::RecordNotFound(format!("cooperative {}", cert.coop)))?;
        rows.push(certification_model(cert, cooperative_id, today)?);
    }
    let certifications = insert_chunked(db, rows).await?;

    let cert_ids: HashMap<(i32, String), i32> = certification::Entity::find()
        .filter(certification::Column::CooperativeId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| ((c.cooperative_id, c.number), c.id))
        .collect();
    let mut links = Vec::new();
    for cert in CERTIFICATIONS {
        let Coverage::Only(skus) = cert.coverage else {
            continue;
        };
        let cooperative_id = *coop_ids
            .get(cert.coop)
            .ok_or_else(|| DbErr::RecordNotFound(format!("cooperative {}", cert.coop)))?;
        let key = (cooperative_id, cert.number.to_owned());
        let certification_id = *cert_ids
            .get(&key)
            .ok_or_else(|| DbErr::RecordNotFound(format!("certification {}", cert.number)))?;
        for sku in skus {
            let product_id = *product_ids
                .get(sku)
                .ok_or_else(|| DbErr::RecordNotFound(format!("product {sku}")))?;
            links.push(certification_product::ActiveModel {
                certification_id: Set(certification_id),
                product_id: Set(product_id),
            });
        }
    }
    insert_chunked(db, links).await?;

    Ok(DemoSummary {
        cooperatives,
        products,
        certifications,
        stock_targets,
    })
}

/// A cooperative of the demo with everything derived from its seed and `today`.
struct PlannedCoop {
    seed: &'static CoopSeed,
    slug: String,
    listed_since: NaiveDate,
    contact_phone: String,
    payout_account: Option<String>,
}

impl PlannedCoop {
    fn active_model(&self, province_id: i32) -> cooperative::ActiveModel {
        let s = self.seed;
        let created_at = at(self.listed_since, 9 * 60);
        let mailbox = self.slug.strip_prefix("cooperative-").unwrap_or(&self.slug);
        cooperative::ActiveModel {
            id: Default::default(),
            slug: Set(self.slug.clone()),
            name: Set(s.name.to_owned()),
            search_text: Set(normalize(s.name)),
            description: Set(s.description.to_owned()),
            kind: Set(s.kind),
            region_code: Set(s.region.to_owned()),
            province_id: Set(Some(province_id)),
            founded_on: Set(Some(s.founded)),
            member_count: Set(s.members),
            women_led: Set(s.women_led),
            youth_led: Set(s.youth_led),
            listed_since: Set(self.listed_since),
            status: Set(s.status),
            contact_email: Set(Some(format!("contact@{mailbox}.coop.ma"))),
            contact_phone: Set(Some(self.contact_phone.clone())),
            commission_rate_bp: Set(s.commission_bp),
            payout_account: Set(self.payout_account.clone()),
            created_at: Set(created_at),
            updated_at: Set(created_at),
        }
    }
}

fn plan_cooperatives(today: NaiveDate) -> Result<Vec<PlannedCoop>, DbErr> {
    COOPERATIVES
        .iter()
        .map(|seed| {
            let joined = match seed.joined {
                Joined::On(day) => day,
                Joined::DaysAgo(days) => days_from(today, -days)?,
            };
            let mut dice = Dice::new(seed.code);
            Ok(PlannedCoop {
                seed,
                slug: slugify(seed.name),
                listed_since: joined.max(MARKET_OPENED).min(today),
                contact_phone: mobile_number(&mut dice),
                payout_account: seed.has_payout_account.then(|| rib(&mut dice)),
            })
        })
        .collect()
}

/// A product of the demo, one per format of a product line.
#[derive(Debug, PartialEq)]
struct PlannedProduct {
    coop: &'static str,
    kind: CooperativeKind,
    sku: String,
    segment: &'static str,
    name: &'static str,
    description: &'static str,
    format: &'static str,
    price_cents: i64,
    active: bool,
    stock: i32,
    low_stock_threshold: i32,
    created_at: DateTime<Utc>,
}

impl PlannedProduct {
    fn active_model(&self, segment_id: i32, cooperative_id: i32) -> product::ActiveModel {
        product::ActiveModel {
            id: Default::default(),
            sku: Set(self.sku.clone()),
            name: Set(self.name.to_owned()),
            description: Set(self.description.to_owned()),
            search_text: Set(product_search_text(
                self.name,
                self.description,
                self.format,
            )),
            segment_id: Set(segment_id),
            cooperative_id: Set(cooperative_id),
            format: Set(self.format.to_owned()),
            price_cents: Set(self.price_cents),
            active: Set(self.active),
            // The history's deliveries bring it to `self.stock`, on the ledger.
            stock: Set(0),
            low_stock_threshold: Set(self.low_stock_threshold),
            created_at: Set(self.created_at),
            updated_at: Set(self.created_at),
        }
    }
}

/// Expands the product lines into products: SKUs "{segment prefix}-{coop code}-{nnn}",
/// numbered per cooperative; stock and creation date drawn from a generator seeded by
/// the SKU, so adding a product never changes the others.
fn plan_products(coops: &[PlannedCoop], today: NaiveDate) -> Result<Vec<PlannedProduct>, DbErr> {
    let mut planned = Vec::new();
    for coop in coops {
        let seed = coop.seed;
        let formats = seed.lines.iter().flat_map(|line| {
            line.formats
                .iter()
                .map(move |&(format, price)| (line, format, price))
        });
        // Spread creation over the days the cooperative has been listed, before today.
        let span = (today - coop.listed_since).num_days().max(1);
        for (n, (line, format, price_cents)) in (1..).zip(formats) {
            let prefix = segment_seed(line.segment)
                .ok_or_else(|| DbErr::RecordNotFound(format!("segment {}", line.segment)))?
                .sku_prefix;
            let sku = format!("{prefix}-{}-{n:03}", seed.code);
            let mut dice = Dice::new(&sku);
            let day = days_from(coop.listed_since, dice.below(span))?;
            let created_at = at(day, 7 * 60 + dice.below(600));
            let (generated, low_stock_threshold) = if price_cents >= UNIQUE_PIECE_CENTS {
                (1 + dice.below(8), 2)
            } else if seed.kind == CooperativeKind::Handicrafts {
                (4 + dice.below(25), 5)
            } else {
                (10 + dice.below(190), 5)
            };
            let stock = STOCK_OVERRIDES
                .iter()
                .find(|(s, _)| *s == sku)
                .map_or(generated, |&(_, level)| i64::from(level));
            planned.push(PlannedProduct {
                coop: seed.code,
                kind: seed.kind,
                active: !INACTIVE.contains(&sku.as_str()),
                sku,
                segment: line.segment,
                name: line.name,
                description: line.description,
                format,
                price_cents,
                stock: i32::try_from(stock).unwrap_or(0),
                low_stock_threshold,
                created_at,
            });
        }
    }
    Ok(planned)
}

fn certification_model(
    cert: &CertSeed,
    cooperative_id: i32,
    today: NaiveDate,
) -> Result<certification::ActiveModel, DbErr> {
    let issued_on = days_from(today, -cert.issued_days_ago)?;
    let expires_on = cert
        .expires_in_days
        .map(|days| days_from(today, days))
        .transpose()?;
    let created_at = at(issued_on, 10 * 60);
    let revoked_at = cert
        .revoked
        .as_ref()
        .map(|r| days_from(today, -r.days_ago).map(|day| at(day, 11 * 60)))
        .transpose()?;
    Ok(certification::ActiveModel {
        id: Default::default(),
        cooperative_id: Set(cooperative_id),
        r#type: Set(cert.kind),
        number: Set(cert.number.to_owned()),
        issuer: Set(cert.issuer.to_owned()),
        issued_on: Set(issued_on),
        expires_on: Set(expires_on),
        covers_all_products: Set(matches!(cert.coverage, Coverage::All)),
        revoked_at: Set(revoked_at),
        revoked_reason: Set(cert.revoked.as_ref().map(|r| r.reason.to_owned())),
        created_at: Set(created_at),
        updated_at: Set(revoked_at.unwrap_or(created_at)),
    })
}

/// `day` shifted by `days`, or an error instead of chrono's panic at the ends of time.
fn days_from(day: NaiveDate, days: i64) -> Result<NaiveDate, DbErr> {
    TimeDelta::try_days(days)
        .and_then(|delta| day.checked_add_signed(delta))
        .ok_or_else(|| DbErr::Custom(format!("demo date out of range: {day} {days:+} days")))
}

/// `minutes` after midnight UTC on `day`.
fn at(day: NaiveDate, minutes: i64) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc() + TimeDelta::minutes(minutes)
}

/// A Moroccan mobile number, "+212 6xx xx xx xx".
fn mobile_number(dice: &mut Dice) -> String {
    format!(
        "+212 6{:02} {:02} {:02} {:02}",
        dice.below(100),
        dice.below(100),
        dice.below(100),
        dice.below(100)
    )
}

/// A fake but well-formed 24-digit Moroccan RIB: bank (3) + city (3) + account (16) +
/// key (2), the key making the whole number divisible by 97.
fn rib(dice: &mut Dice) -> String {
    const BANKS: [&str; 8] = ["007", "011", "013", "022", "145", "190", "225", "230"];
    let bank = BANKS[dice.below(BANKS.len() as i64) as usize];
    let city = 100 + dice.below(900);
    let account = dice.below(10_000_000_000_000_000);
    let body = format!("{bank}{city:03}{account:016}");
    let key = body.parse::<u128>().map_or(0, |n| 97 - (n * 100) % 97);
    format!("{body}{key:02}")
}

/// A tiny deterministic generator (FNV-1a seed, SplitMix64 steps): the demo must be the
/// same on every run, on every platform, without a dependency.
struct Dice(u64);

impl Dice {
    fn new(key: &str) -> Self {
        let seed = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is not positive).
    fn below(&mut self, n: i64) -> i64 {
        match u64::try_from(n) {
            Ok(n) if n > 0 => (self.next() % n) as i64,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference::{REGIONS, SEGMENTS};
    use super::*;
    use crate::domain::enums::{CertificationType, CooperativeStatus};
    use std::collections::HashSet;

    const TODAY: NaiveDate = date(2026, 11, 23);

    fn plan() -> (Vec<PlannedCoop>, Vec<PlannedProduct>) {
        let coops = plan_cooperatives(TODAY).expect("cooperatives");
        let products = plan_products(&coops, TODAY).expect("products");
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
    }

    #[test]
    fn ribs_have_24_digits_and_a_valid_key() {
        for code in ["OUZ", "MEK", "TZN"] {
            let rib = rib(&mut Dice::new(code));
            assert_eq!(rib.len(), 24, "{rib}");
            assert_eq!(rib.parse::<u128>().expect("digits") % 97, 0, "{rib}");
        }
    }

    #[test]
    fn cooperatives_cover_every_region_and_kind_in_market_proportions() {
        let (coops, _) = plan();
        assert!(coops.len() >= 36);
        let regions: HashSet<&str> = coops.iter().map(|c| c.seed.region).collect();
        assert_eq!(regions.len(), 12);
        let count = |kind| coops.iter().filter(|c| c.seed.kind == kind).count();
        let terroir = count(CooperativeKind::Terroir);
        let handicrafts = count(CooperativeKind::Handicrafts);
        let cosmetics = count(CooperativeKind::Cosmetics);
        assert!(terroir * 2 >= coops.len() - 2 && terroir > handicrafts);
        assert!(handicrafts > cosmetics && cosmetics > 0);
        let status = |s| coops.iter().filter(|c| c.seed.status == s).count();
        assert_eq!(status(CooperativeStatus::Suspended), 1);
        assert!(status(CooperativeStatus::Incubated) >= 2);

        let mut codes = HashSet::new();
        let mut slugs = HashSet::new();
        for coop in &coops {
            let s = coop.seed;
            assert!(codes.insert(s.code), "duplicate code {}", s.code);
            assert!(
                slugs.insert(coop.slug.as_str()),
                "duplicate slug {}",
                coop.slug
            );
            let region = REGIONS.iter().find(|r| r.code == s.region).expect("region");
            assert!(
                region.provinces.contains(&s.province),
                "{} not in {}",
                s.province,
                s.region
            );
            assert!((7..=300).contains(&s.members), "{}", s.name);
            assert!(coop.listed_since >= MARKET_OPENED && coop.listed_since <= TODAY);
            assert!(s.founded < coop.listed_since, "{}", s.name);
        }
    }

    #[test]
    fn products_match_their_cooperative_and_have_unique_skus() {
        let (_, products) = plan();
        assert!(products.len() >= 220, "{} products", products.len());
        let mut skus = HashSet::new();
        for p in &products {
            assert!(skus.insert(p.sku.as_str()), "duplicate SKU {}", p.sku);
            let segment = segment_seed(p.segment).expect("segment");
            assert_eq!(segment.kind, p.kind, "{} in {}", p.sku, p.segment);
            assert!(
                p.price_cents > 0 && (0..=200).contains(&p.stock),
                "{}",
                p.sku
            );
            assert!(p.created_at < at(TODAY, 0), "{}", p.sku);
        }
        for (sku, _) in STOCK_OVERRIDES {
            assert!(skus.contains(sku), "override of unknown SKU {sku}");
        }
        for sku in INACTIVE {
            assert!(skus.contains(sku), "unknown inactive SKU {sku}");
        }
        assert!(products.iter().filter(|p| p.stock == 0).count() >= 3);
        let low = products
            .iter()
            .filter(|p| p.stock > 0 && p.stock < p.low_stock_threshold)
            .count();
        assert!(low >= 3);
        let segments: HashSet<&str> = products.iter().map(|p| p.segment).collect();
        assert_eq!(segments.len(), SEGMENTS.len(), "every segment has products");
    }

    #[test]
    fn certifications_stage_every_compliance_case() {
        let (coops, products) = plan();
        let kind_of = |code: &str| {
            coops
                .iter()
                .find(|c| c.seed.code == code)
                .map(|c| c.seed.kind)
        };
        let sanitary = |kind| {
            matches!(
                kind,
                CertificationType::OnssaAuthorization | CertificationType::OnssaApproval
            )
        };
        let mut numbers = HashSet::new();
        for cert in CERTIFICATIONS {
            assert!(
                kind_of(cert.coop).is_some(),
                "unknown cooperative {}",
                cert.coop
            );
            assert!(
                numbers.insert(cert.number),
                "duplicate number {}",
                cert.number
            );
            if let Coverage::Only(skus) = cert.coverage {
                for sku in skus {
                    let p = products
                        .iter()
                        .find(|p| p.sku == *sku)
                        .expect("covered SKU");
                    assert_eq!(p.coop, cert.coop);
                }
            }
        }
        let onssa = |cert: &&CertSeed| {
            sanitary(cert.kind) && kind_of(cert.coop) == Some(CooperativeKind::Terroir)
        };
        let terroir_certs: Vec<&CertSeed> = CERTIFICATIONS.iter().filter(onssa).collect();
        assert!(terroir_certs.iter().any(|c| c.expires_in_days < Some(0)));
        assert!(
            terroir_certs
                .iter()
                .any(|c| matches!(c.coverage, Coverage::Only(_)))
        );
        assert!(terroir_certs.iter().any(|c| c.revoked.is_some()));
        assert!(
            CERTIFICATIONS
                .iter()
                .any(|c| matches!(c.expires_in_days, Some(0..=20)))
        );
        let holds = |code: &str, kinds: &[CertificationType]| {
            CERTIFICATIONS
                .iter()
                .any(|c| c.coop == code && kinds.contains(&c.kind))
        };
        let without = |kind, kinds: &[CertificationType]| {
            coops
                .iter()
                .filter(|c| c.seed.kind == kind && !holds(c.seed.code, kinds))
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
}
