//! The market-scale catalog: 424 cooperatives spread over the regions and kinds exactly
//! as the market's 2024 figures give them, 5,000 products, certifications and stock —
//! the data of the benchmarks and of data-scale checks. Generated rather than written:
//! product lines, formats and prices come from the demo catalog's data files
//! ([`super::tables::demo_lines`]), recombined by a
//! fixed-seed generator, and every date is relative to `today`, so the same `today`
//! always gives the same rows and the compliance cases stay true whenever it is seeded.

use super::plan::{
    Dice, MARKET_OPENED, PlannedProduct, at, date, days_from, initial_stock, mobile_number, rib,
};
use super::tables::{self, DemoLines, Line};
use super::{insert_chunked, seed_reference_data};
use crate::domain::enums::CertificationType::{
    self, DmpAuthorization, Iso22716, OnssaApproval, OnssaAuthorization, Organic, Pdo, Pgi,
    TerroirDuMaroc,
};
use crate::domain::enums::CooperativeKind::{self, Cosmetics, Handicrafts, Terroir};
use crate::domain::enums::{CooperativeStatus, StockMovementKind};
use crate::domain::search::{normalize, slugify};
use crate::entities::{
    certification, certification_product, cooperative, product, province, segment, stock_movement,
};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use std::collections::{HashMap, HashSet};

/// What the market seeder inserted, so the caller can report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketSummary {
    pub cooperatives: usize,
    pub products: usize,
    pub certifications: usize,
    pub stock_movements: usize,
}

/// Cooperatives per region, split by kind as `[Terroir, Handicrafts, Cosmetics]`. The
/// region totals and the kind totals (207, 157, 60) are the market's 2024 figures; the
/// split inside a region follows what it is known for (argan cosmetics in Souss–Massa,
/// roses in Drâa–Tafilalet, crafts in Fès and Marrakech).
pub const COOPERATIVES_BY_REGION: [(&str, [usize; 3]); 12] = [
    ("MA-03", [38, 30, 6]),  // Fès–Meknès 74
    ("MA-09", [28, 12, 23]), // Souss–Massa 63
    ("MA-05", [32, 20, 4]),  // Béni Mellal–Khénifra 56
    ("MA-07", [20, 20, 9]),  // Marrakech–Safi 49
    ("MA-06", [22, 21, 5]),  // Casablanca–Settat 48
    ("MA-08", [19, 14, 6]),  // Drâa–Tafilalet 39
    ("MA-04", [16, 17, 2]),  // Rabat–Salé–Kénitra 35
    ("MA-01", [10, 10, 1]),  // Tanger–Tétouan–Al Hoceïma 21
    ("MA-02", [10, 6, 2]),   // Oriental 18
    ("MA-11", [6, 5, 1]),    // Laâyoune–Sakia El Hamra 12
    ("MA-10", [4, 1, 1]),    // Guelmim–Oued Noun 6
    ("MA-12", [2, 1, 0]),    // Dakhla–Oued Ed-Dahab 3
];

/// The kinds in the column order of [`COOPERATIVES_BY_REGION`].
const KINDS: [CooperativeKind; 3] = [Terroir, Handicrafts, Cosmetics];

/// Cooperatives that joined in 2024 (the other 408 were listed by the end of 2023).
pub const NEW_IN_2024: usize = 16;

/// Products of the whole catalog, one per format.
pub const PRODUCTS: usize = 5_000;

const END_OF_2023: NaiveDate = date(2023, 12, 31);
const START_OF_2024: NaiveDate = date(2024, 1, 1);

/// Fewest and most products a cooperative offers.
const MIN_PRODUCTS: usize = 3;
const MAX_PRODUCTS: usize = 24;

/// Rows per progress step (each step is several chunked `INSERT`s).
const PROGRESS_STEP: usize = 500;

const ONSSA: &str = "ONSSA";
const DMP: &str = "Direction du Médicament et de la Pharmacie";
const NORMACERT: &str = "Normacert";
const ECOCERT: &str = "Ecocert Maroc";
const ADA: &str = "Agence pour le Développement Agricole";
const ISO_BODIES: [&str; 2] = ["Bureau Veritas Certification Maroc", "SGS Maroc"];

/// Fills an empty catalog with the market-scale data. Calls `seed_reference_data` first.
///
/// The caller runs it in one transaction and only when the `cooperatives` table is
/// empty: it does not merge with existing cooperatives. With `progress`, a progress bar
/// on standard error counts the inserted rows.
pub async fn seed_market_catalog(
    db: &impl ConnectionTrait,
    today: NaiveDate,
    progress: bool,
) -> Result<MarketSummary, DbErr> {
    seed_reference_data(db).await?;
    crate::domain::catalog_version::touch_texts(db).await?;
    let plan = plan_market(today)?;
    let products_planned: usize = plan.iter().map(|c| c.products.len()).sum();
    let in_stock = plan
        .iter()
        .flat_map(|c| &c.products)
        .filter(|p| p.stock > 0)
        .count();
    let certs_planned: usize = plan.iter().map(|c| c.certifications.len()).sum();
    let links_planned: usize = plan
        .iter()
        .flat_map(|c| &c.certifications)
        .map(|c| c.only.as_ref().map_or(0, Vec::len))
        .sum();
    let bar = progress_bar(
        progress,
        plan.len() + products_planned + in_stock + certs_planned + links_planned,
    );

    let provinces: HashMap<(String, String), i32> = province::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| ((p.region_code, p.name), p.id))
        .collect();
    let mut rows = Vec::with_capacity(plan.len());
    for coop in &plan {
        let key = (coop.region.to_owned(), coop.province.to_owned());
        let province_id = *provinces.get(&key).ok_or_else(|| {
            DbErr::RecordNotFound(format!(
                "province {} of region {}",
                coop.province, coop.region
            ))
        })?;
        rows.push(coop.active_model(province_id));
    }
    bar.set_message("cooperatives");
    let cooperatives = insert_reporting(db, rows, &bar).await?;

    let coop_ids: HashMap<String, i32> = cooperative::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.slug, c.id))
        .collect();
    let coop_id = |slug: &str| {
        coop_ids
            .get(slug)
            .copied()
            .ok_or_else(|| DbErr::RecordNotFound(format!("cooperative {slug}")))
    };
    let segment_ids: HashMap<String, i32> = segment::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.slug, s.id))
        .collect();
    let mut rows = Vec::with_capacity(products_planned);
    for coop in &plan {
        let cooperative_id = coop_id(&coop.slug)?;
        for p in &coop.products {
            let segment_id = *segment_ids
                .get(p.segment)
                .ok_or_else(|| DbErr::RecordNotFound(format!("segment {}", p.segment)))?;
            rows.push(p.active_model(segment_id, cooperative_id));
        }
    }
    bar.set_message("products");
    let products = insert_reporting(db, rows, &bar).await?;

    let stored = product::Entity::find().all(db).await?;
    // The ledger starts with one delivery per product in stock, so that the level is the
    // sum of its movements from the first day.
    let movements: Vec<_> = stored
        .iter()
        .filter(|p| p.stock > 0)
        .map(|p| stock_movement::ActiveModel {
            id: Default::default(),
            product_id: Set(p.id),
            kind: Set(StockMovementKind::Delivery),
            delta: Set(p.stock),
            level_after: Set(p.stock),
            reason: Set(None),
            note: Set(Some("Initial delivery".to_owned())),
            order_id: Set(None),
            author_id: Set(None),
            created_at: Set(p.created_at),
        })
        .collect();
    bar.set_message("stock movements");
    let stock_movements = insert_reporting(db, movements, &bar).await?;
    let product_ids: HashMap<&str, i32> = stored.iter().map(|p| (p.sku.as_str(), p.id)).collect();

    let mut rows = Vec::with_capacity(certs_planned);
    for coop in &plan {
        let cooperative_id = coop_id(&coop.slug)?;
        rows.extend(
            coop.certifications
                .iter()
                .map(|c| c.active_model(cooperative_id)),
        );
    }
    bar.set_message("certifications");
    let certifications = insert_reporting(db, rows, &bar).await?;

    let cert_ids: HashMap<String, i32> = certification::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.number, c.id))
        .collect();
    let mut links = Vec::with_capacity(links_planned);
    for cert in plan.iter().flat_map(|c| &c.certifications) {
        let Some(skus) = &cert.only else { continue };
        let certification_id = *cert_ids
            .get(&cert.number)
            .ok_or_else(|| DbErr::RecordNotFound(format!("certification {}", cert.number)))?;
        for sku in skus {
            let product_id = *product_ids
                .get(sku.as_str())
                .ok_or_else(|| DbErr::RecordNotFound(format!("product {sku}")))?;
            links.push(certification_product::ActiveModel {
                certification_id: Set(certification_id),
                product_id: Set(product_id),
            });
        }
    }
    bar.set_message("coverage");
    insert_reporting(db, links, &bar).await?;
    bar.set_message("translations");
    crate::domain::translations::upsert(db, market_texts(&plan, &coop_ids, &product_ids))
        .await
        .map_err(|e| DbErr::Custom(format!("{e:?}")))?;
    bar.finish_with_message("done");

    Ok(MarketSummary {
        cooperatives,
        products,
        certifications,
        stock_movements,
    })
}

fn progress_bar(visible: bool, rows: usize) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(rows as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:<16} [{bar:40}] {pos:>5}/{len} rows ({elapsed})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Inserts `rows` through [`insert_chunked`], advancing `bar` every few hundred rows.
async fn insert_reporting<A: ActiveModelTrait>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
    bar: &ProgressBar,
) -> Result<usize, DbErr> {
    let mut rows = rows.into_iter().peekable();
    let mut inserted = 0;
    while rows.peek().is_some() {
        let step: Vec<A> = rows.by_ref().take(PROGRESS_STEP).collect();
        let n = insert_chunked(db, step).await?;
        bar.inc(n as u64);
        inserted += n;
    }
    Ok(inserted)
}

/// Where a cooperative stands with the certification its kind requires: the cases the
/// compliance rules must handle, in realistic (small) proportions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compliance {
    /// Holds a valid certification covering every product.
    Valid,
    /// Valid, but expires within the next 30 days.
    ExpiringSoon,
    /// Its certification expired and was not renewed.
    Expired,
    /// Its certification was revoked after an inspection; the cooperative is suspended.
    Revoked,
    /// Valid, but covers only half of its products.
    Partial,
    /// Holds none at all.
    Missing,
    /// Its kind needs no certification (handicrafts).
    NotRequired,
}

/// The case of the `n`-th cooperative of its kind (in plan order, which walks the
/// regions, so every case lands in several regions). Terroir: 5 missing, 5 expired, 2
/// revoked, 5 partial, 6 expiring soon out of 207; cosmetics: 3 missing, 3 expired, 3
/// expiring soon out of 60.
fn compliance_case(kind: CooperativeKind, n: usize) -> Compliance {
    match kind {
        Terroir => match (n % 40, n % 100) {
            (7, _) => Compliance::Missing,
            (19, _) => Compliance::Expired,
            (_, 33) => Compliance::Revoked,
            (29, _) => Compliance::Partial,
            (3, _) => Compliance::ExpiringSoon,
            _ => Compliance::Valid,
        },
        Cosmetics => match n % 20 {
            4 => Compliance::Missing,
            13 => Compliance::Expired,
            8 => Compliance::ExpiringSoon,
            _ => Compliance::Valid,
        },
        Handicrafts => Compliance::NotRequired,
    }
}

/// A generated cooperative with its products and certifications.
#[derive(Debug, PartialEq)]
struct PlannedCoop {
    code: String,
    name: String,
    slug: String,
    kind: CooperativeKind,
    region: &'static str,
    province: &'static str,
    description: String,
    founded: NaiveDate,
    members: i32,
    women_led: bool,
    youth_led: bool,
    listed_since: NaiveDate,
    status: CooperativeStatus,
    commission_bp: Option<i32>,
    contact_phone: String,
    payout_account: Option<String>,
    compliance: Compliance,
    products: Vec<PlannedProduct>,
    certifications: Vec<PlannedCert>,
    /// Name and description in French and Arabic (`seed/data/i18n/market_words.csv`).
    texts: super::i18n::Texts,
}

impl PlannedCoop {
    fn active_model(&self, province_id: i32) -> cooperative::ActiveModel {
        let created_at = at(self.listed_since, 9 * 60);
        let mailbox = self.slug.strip_prefix("cooperative-").unwrap_or(&self.slug);
        cooperative::ActiveModel {
            id: Default::default(),
            slug: Set(self.slug.clone()),
            name: Set(self.name.clone()),
            search_text: Set(normalize(&self.name)),
            description: Set(self.description.clone()),
            kind: Set(self.kind),
            region_code: Set(self.region.to_owned()),
            province_id: Set(Some(province_id)),
            founded_on: Set(Some(self.founded)),
            member_count: Set(self.members),
            women_led: Set(self.women_led),
            youth_led: Set(self.youth_led),
            listed_since: Set(self.listed_since),
            status: Set(self.status),
            contact_email: Set(Some(format!("contact@{mailbox}.coop.ma"))),
            contact_phone: Set(Some(self.contact_phone.clone())),
            commission_rate_bp: Set(self.commission_bp),
            payout_account: Set(self.payout_account.clone()),
            created_at: Set(created_at),
            updated_at: Set(created_at),
        }
    }
}

/// A generated certification or label.
#[derive(Debug, PartialEq)]
struct PlannedCert {
    kind: CertificationType,
    number: String,
    issuer: &'static str,
    issued_on: NaiveDate,
    expires_on: Option<NaiveDate>,
    /// `None`: covers every product; otherwise only these SKUs.
    only: Option<Vec<String>>,
    revoked: Option<(DateTime<Utc>, &'static str)>,
}

impl PlannedCert {
    fn active_model(&self, cooperative_id: i32) -> certification::ActiveModel {
        let created_at = at(self.issued_on, 10 * 60);
        let revoked_at = self.revoked.map(|(when, _)| when);
        certification::ActiveModel {
            id: Default::default(),
            cooperative_id: Set(cooperative_id),
            r#type: Set(self.kind),
            number: Set(self.number.clone()),
            issuer: Set(self.issuer.to_owned()),
            issued_on: Set(self.issued_on),
            expires_on: Set(self.expires_on),
            covers_all_products: Set(self.only.is_none()),
            revoked_at: Set(revoked_at),
            revoked_reason: Set(self.revoked.map(|(_, reason)| reason.to_owned())),
            created_at: Set(created_at),
            updated_at: Set(revoked_at.unwrap_or(created_at)),
        }
    }
}

/// The whole catalog, without touching a database.
fn plan_market(today: NaiveDate) -> Result<Vec<PlannedCoop>, DbErr> {
    let mut coops = plan_cooperatives(today)?;
    let targets = product_targets(&coops);
    for (coop, target) in coops.iter_mut().zip(targets) {
        coop.products = plan_products(coop, target, today)?;
    }
    let reference = tables::reference()?;
    let mut numbers = CertNumbers::default();
    let mut names = HashSet::new();
    for coop in &mut coops {
        coop.certifications = plan_certifications(coop, today, &mut numbers)?;
        coop.description = describe(coop, reference);
        let (name, name_ar) = cooperative_name(coop, &mut names);
        coop.name = name;
        coop.slug = slugify(&coop.name);
        let (description_fr, description_ar) = describe_translated(coop);
        coop.texts = super::i18n::Texts {
            // The registered name is French already.
            name_fr: coop.name.clone(),
            name_ar,
            description_fr,
            description_ar,
        };
    }
    Ok(coops)
}

/// The 424 cooperatives, region by region, without products or certifications yet.
fn plan_cooperatives(today: NaiveDate) -> Result<Vec<PlannedCoop>, DbErr> {
    let reference = tables::reference()?;
    let total: usize = COOPERATIVES_BY_REGION
        .iter()
        .flat_map(|(_, kinds)| kinds)
        .sum();
    // Newcomers of 2024 are spread evenly through the plan, hence over the regions.
    let stride = total / NEW_IN_2024;
    let mut by_kind = [0_usize; 3];
    let mut newcomers = 0;
    let mut coops = Vec::with_capacity(total);
    for (region_code, kinds) in COOPERATIVES_BY_REGION {
        let region = reference
            .region(region_code)
            .ok_or_else(|| DbErr::RecordNotFound(format!("region {region_code}")))?;
        for (k, &count) in kinds.iter().enumerate() {
            let kind = KINDS[k];
            for _ in 0..count {
                let index = coops.len();
                let code = format!("M{:03}", index + 1);
                let mut dice = Dice::new(&format!("market/{code}"));
                let province = region.provinces[dice.below(region.provinces.len())];
                let women_led = dice.percent(match kind {
                    Terroir => 35,
                    Handicrafts => 55,
                    Cosmetics => 80,
                });
                let youth_led = dice.percent(12);
                let new_in_2024 = index % stride == stride / 2 && newcomers < NEW_IN_2024;
                let listed_since = if new_in_2024 {
                    days_from(START_OF_2024, dice.below(366) as i64)?
                } else {
                    let span = (END_OF_2023 - MARKET_OPENED).num_days() as usize + 1;
                    days_from(MARKET_OPENED, dice.below(span) as i64)?
                }
                .min(today);
                // A third of the newcomers are still coached before a full listing; the
                // cooperatives whose authorization was revoked are suspended.
                let compliance = compliance_case(kind, by_kind[k]);
                let status = if compliance == Compliance::Revoked {
                    CooperativeStatus::Suspended
                } else if new_in_2024 && newcomers % 3 == 0 {
                    CooperativeStatus::Incubated
                } else {
                    CooperativeStatus::Listed
                };
                newcomers += usize::from(new_in_2024);
                by_kind[k] += 1;
                let founded = days_from(listed_since, -(365 + dice.below(25 * 365) as i64))?;
                let members = 7 + dice.below(match kind {
                    Terroir => 240,
                    Handicrafts => 80,
                    Cosmetics => 70,
                }) as i32;
                coops.push(PlannedCoop {
                    name: String::new(),
                    slug: String::new(),
                    code,
                    kind,
                    region: region.code,
                    province,
                    description: String::new(),
                    founded,
                    members,
                    women_led,
                    youth_led,
                    listed_since,
                    status,
                    commission_bp: dice.percent(5).then_some(1000 + 200 * dice.below(2) as i32),
                    contact_phone: mobile_number(&mut dice),
                    payout_account: (!dice.percent(4)).then(|| rib(&mut dice)),
                    compliance,
                    products: Vec::new(),
                    certifications: Vec::new(),
                    texts: Default::default(),
                });
            }
        }
    }
    Ok(coops)
}

/// Words cooperatives take as names (Arabic and Amazigh: hope, light, blessing, mutual
/// aid…); combined with an activity and the province, they give unique, plausible names.
const NAME_WORDS: &[&str] = &[
    "Al Baraka",
    "Al Amal",
    "Annour",
    "Tifawin",
    "Tiwizi",
    "Al Wafae",
    "Al Khair",
    "Assafa",
    "Tamount",
    "Tighanimine",
    "Tafoukt",
    "Tanmirt",
    "Al Fajr",
    "Ennakhil",
    "Al Ikhlass",
    "Tislit",
    "Tidarine",
    "Al Massira",
    "Al Wahda",
    "Nahla",
    "Tamazirt",
    "Izourane",
    "Al Hidaya",
    "Al Yasmine",
    "Assalam",
    "Anzar",
    "Tudert",
    "Al Mostakbal",
    "Al Firdaws",
    "Tagmat",
    "Afoulki",
    "Al Inbiat",
    "Tamsmount",
    "Ajddigue",
    "Al Karama",
    "Tiguemmi",
    "Assaada",
    "Al Moustakim",
    "Aghbalou",
    "Tamaynout",
];

/// A unique cooperative name, "Coopérative Féminine Apicole Tifawin de Taza": the
/// activity follows its first product line. With its Arabic form, "تعاونية تيفاوين
/// النسوية لتربية النحل بتازة" (README of `seed/data/i18n`, `market_words.csv`).
fn cooperative_name(coop: &PlannedCoop, taken: &mut HashSet<String>) -> (String, String) {
    let mut dice = Dice::new(&format!("market/{}/name", coop.code));
    let generic: &[&str] = match coop.kind {
        Terroir => &["Agricole", "Agricole", "Agro-alimentaire", ""],
        Handicrafts => &["Artisanale", "des Artisans", ""],
        Cosmetics => &["de Produits Naturels", "de Plantes Aromatiques", ""],
    };
    let specific = match coop.products.first().map(|p| p.segment) {
        Some("olive-oil" | "olives") => "Oléicole",
        Some("honey") => "Apicole",
        Some("argan" | "argan-cosmetics") => "d'Argan",
        Some("pottery") => "de Poterie",
        Some("weaving") => "de Tissage",
        _ => generic[dice.below(generic.len())],
    };
    let activity = if dice.percent(60) {
        specific
    } else {
        generic[dice.below(generic.len())]
    };
    let feminine = if coop.women_led && dice.percent(70) {
        " Féminine"
    } else {
        ""
    };
    let province = coop.province;
    let of_place = if normalize(province).starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("d'{province}")
    } else {
        format!("de {province}")
    };
    let activity = if activity.is_empty() {
        String::new()
    } else {
        format!(" {activity}")
    };
    let start = dice.below(NAME_WORDS.len());
    let named = (0..NAME_WORDS.len())
        .map(|i| {
            let word = NAME_WORDS[(start + i) % NAME_WORDS.len()];
            (
                format!("Coopérative{feminine}{activity} {word} {of_place}"),
                Some(word),
            )
        })
        .find(|(n, _)| !taken.contains(n))
        .unwrap_or_else(|| (format!("Coopérative {} {of_place}", coop.code), None));
    taken.insert(named.0.clone());
    // Arabic: the name word first, then an adjectival activity, "feminine", a
    // prepositional activity, and ب joined to the province.
    let province_ar = super::i18n::PROVINCES
        .get(&(coop.region.to_owned(), province.to_owned()))
        .map_or(province, |t| t.name_ar.as_str());
    let (activity_ar, adjective) = super::i18n::market_word("activity", activity.trim())
        .map_or(("", false), |(ar, variant)| (ar, variant == "adjective"));
    let mut arabic = match named
        .1
        .and_then(|w| super::i18n::market_word("name_word", w))
    {
        Some((word, _)) => format!("تعاونية {word}"),
        None => format!("تعاونية {}", coop.code),
    };
    if adjective {
        arabic = format!("{arabic} {activity_ar}");
    }
    if !feminine.is_empty() {
        arabic.push_str(" النسوية");
    }
    if !adjective && !activity_ar.is_empty() {
        arabic = format!("{arabic} {activity_ar}");
    }
    arabic = format!("{arabic} ب{province_ar}");
    (named.0, arabic)
}

/// How many products each cooperative offers: drawn per cooperative, then evened out so
/// the catalog holds exactly [`PRODUCTS`].
fn product_targets(coops: &[PlannedCoop]) -> Vec<usize> {
    let mut targets: Vec<usize> = coops
        .iter()
        .map(|c| {
            let mut dice = Dice::new(&format!("market/{}/size", c.code));
            match c.kind {
                Terroir | Cosmetics => 5 + dice.below(14),
                Handicrafts => 4 + dice.below(16),
            }
        })
        .collect();
    let mut total: usize = targets.iter().sum();
    // Walk the cooperatives with a stride prime to their number, one unit at a time.
    let mut i = 0;
    while total != PRODUCTS && !targets.is_empty() {
        i = (i + 7) % targets.len();
        if total < PRODUCTS && targets[i] < MAX_PRODUCTS {
            targets[i] += 1;
            total += 1;
        } else if total > PRODUCTS && targets[i] > MIN_PRODUCTS {
            targets[i] -= 1;
            total -= 1;
        }
    }
    targets
}

/// The products of `coop`: the product lines of a demo cooperative of its kind (of its
/// region when there is one), then lines of the same segments, then of its other segments,
/// one product per format, until it has `target`. Prices vary around the demo's.
fn plan_products(
    coop: &PlannedCoop,
    target: usize,
    today: NaiveDate,
) -> Result<Vec<PlannedProduct>, DbErr> {
    let reference = tables::reference()?;
    let mut dice = Dice::new(&format!("market/{}/lines", coop.code));
    let same_kind: Vec<&DemoLines> = tables::demo_lines()?
        .iter()
        .filter(|c| c.cooperative.kind == coop.kind)
        .collect();
    let local: Vec<&DemoLines> = same_kind
        .iter()
        .copied()
        .filter(|c| c.cooperative.region == coop.region)
        .collect();
    let templates = if local.is_empty() { &same_kind } else { &local };
    let Some(template) = templates.get(dice.below(templates.len())) else {
        return Ok(Vec::new());
    };
    let segments: HashSet<&str> = template.lines.iter().map(|l| l.segment).collect();
    let mut related = Vec::new();
    let mut others = Vec::new();
    for line in same_kind.iter().flat_map(|c| &c.lines) {
        if segments.contains(line.segment) {
            related.push(line);
        } else {
            others.push(line);
        }
    }
    dice.shuffle(&mut related);
    dice.shuffle(&mut others);
    let mut seen = HashSet::new();
    let lines = template
        .lines
        .iter()
        .chain(related)
        .chain(others)
        .filter(|l: &&Line| seen.insert(l.name));

    let span = (today - coop.listed_since).num_days().max(1) as usize;
    let mut planned = Vec::with_capacity(target);
    'lines: for line in lines {
        let prefix = &reference
            .segment(line.segment)
            .ok_or_else(|| DbErr::RecordNotFound(format!("segment {}", line.segment)))?
            .sku_prefix;
        for &(format, demo_price) in &line.formats {
            if planned.len() == target {
                break 'lines;
            }
            let sku = format!("{prefix}-{}-{:03}", coop.code, planned.len() + 1);
            let mut dice = Dice::new(&sku);
            let price_cents = vary_price(demo_price, &mut dice);
            let day = days_from(coop.listed_since, dice.below(span) as i64)?;
            let created_at = at(day, 7 * 60 + dice.below(600) as i64);
            let (stock, low_stock_threshold) = initial_stock(coop.kind, price_cents, &mut dice);
            // A few percent sold out, a few more running low.
            let stock = match dice.below(100) {
                0..3 => 0,
                3..7 => 1 + dice.below(low_stock_threshold),
                _ => stock,
            };
            planned.push(PlannedProduct {
                sku,
                segment: line.segment,
                name: line.name,
                description: line.description,
                format,
                price_cents,
                active: dice.below(200) != 0,
                stock: stock as i32,
                low_stock_threshold: low_stock_threshold as i32,
                created_at,
            });
        }
    }
    Ok(planned)
}

/// The demo price moved by -15 % to +20 %, rounded as shops do: to 0.50 MAD under
/// 100 MAD, to 5 MAD above.
fn vary_price(demo_cents: i64, dice: &mut Dice) -> i64 {
    let cents = demo_cents * (85 + dice.below(36) as i64) / 100;
    let step = if cents < 10_000 { 50 } else { 500 };
    ((cents + step / 2) / step * step).max(step)
}

/// Sequence numbers of certificates, unique across the catalog.
#[derive(Default)]
struct CertNumbers(u32);

impl CertNumbers {
    fn next(&mut self) -> u32 {
        self.0 += 1;
        1000 + self.0
    }
}

/// The certifications `coop` holds, per its compliance case, plus labels of origin and
/// quality for some.
fn plan_certifications(
    coop: &PlannedCoop,
    today: NaiveDate,
    numbers: &mut CertNumbers,
) -> Result<Vec<PlannedCert>, DbErr> {
    let mut dice = Dice::new(&format!("market/{}/certs", coop.code));
    let region = coop.region.trim_start_matches("MA-");
    let days = |d: usize| -> Result<NaiveDate, DbErr> { days_from(today, d as i64) };
    let ago = |d: usize| -> Result<NaiveDate, DbErr> { days_from(today, -(d as i64)) };
    let mut certs = Vec::new();

    // The certification the kind requires.
    let required = match coop.kind {
        Terroir => Some((OnssaAuthorization, ONSSA)),
        Cosmetics => Some(if dice.percent(75) {
            (DmpAuthorization, DMP)
        } else {
            (Iso22716, ISO_BODIES[dice.below(2)])
        }),
        Handicrafts => None,
    };
    let number_of = |kind: CertificationType, n: u32, dice: &mut Dice| match kind {
        OnssaAuthorization => format!("AS.{region}.{n:04}"),
        OnssaApproval => format!("AG.{region}.{n:04}"),
        DmpAuthorization => format!("DMP-AEC-{n:04}"),
        Iso22716 => format!("ISO22716-{}-MA-{n:04}", ["BV", "SGS"][dice.below(2)]),
        Organic => format!("MA-BIO-140-{n:04}"),
        TerroirDuMaroc => format!("TDM-{n:04}"),
        Pgi => format!("IGP-{region}-{n:04}"),
        Pdo => format!("AOP-{region}-{n:04}"),
        _ => format!("CERT-{n:04}"),
    };
    if let Some((kind, issuer)) = required {
        let n = numbers.next();
        match coop.compliance {
            Compliance::Valid | Compliance::Partial => {
                // Some Terroir cooperatives hold an approval, which does not expire.
                let approval = coop.kind == Terroir && dice.percent(30);
                let mut c = if approval {
                    cert(
                        OnssaApproval,
                        number_of(OnssaApproval, n, &mut dice),
                        ONSSA,
                        ago(60 + dice.below(2500))?,
                        None,
                    )
                } else {
                    cert(
                        kind,
                        number_of(kind, n, &mut dice),
                        issuer,
                        ago(30 + dice.below(1500))?,
                        Some(days(31 + dice.below(1500))?),
                    )
                };
                if coop.compliance == Compliance::Partial {
                    let half = coop.products.len().div_ceil(2);
                    c.only = Some(
                        coop.products[..half]
                            .iter()
                            .map(|p| p.sku.clone())
                            .collect(),
                    );
                }
                // One in ten renewed an authorization that had expired: the old one stays
                // on record.
                if !approval && dice.percent(10) {
                    let previous = numbers.next();
                    let ended = c.issued_on.pred_opt().unwrap_or(c.issued_on);
                    let issued = days_from(ended, -1825)?;
                    certs.push(cert(
                        kind,
                        number_of(kind, previous, &mut dice),
                        issuer,
                        issued,
                        Some(ended),
                    ));
                }
                certs.push(c);
            }
            Compliance::ExpiringSoon => certs.push(cert(
                kind,
                number_of(kind, n, &mut dice),
                issuer,
                ago(1000 + dice.below(800))?,
                Some(days(1 + dice.below(30))?),
            )),
            Compliance::Expired => certs.push(cert(
                kind,
                number_of(kind, n, &mut dice),
                issuer,
                ago(1900 + dice.below(500))?,
                Some(ago(1 + dice.below(240))?),
            )),
            Compliance::Revoked => {
                let mut c = cert(
                    kind,
                    number_of(kind, n, &mut dice),
                    issuer,
                    ago(400 + dice.below(1000))?,
                    Some(days(100 + dice.below(800))?),
                );
                let when = at(ago(5 + dice.below(90))?, 11 * 60);
                c.revoked = Some((
                    when,
                    "Hygiene failures found at an ONSSA inspection; authorization withdrawn until corrective measures are verified.",
                ));
                certs.push(c);
            }
            Compliance::Missing | Compliance::NotRequired => {}
        }
    }

    // Labels: origin (PGI, PDO, Terroir du Maroc) for food, organic for food and cosmetics.
    let labels: &[(CertificationType, usize, &str, Option<usize>)] = match coop.kind {
        Terroir => &[
            (Pgi, 10, NORMACERT, Some(900)),
            (Pdo, 6, NORMACERT, Some(900)),
            (Organic, 12, ECOCERT, Some(365)),
            (TerroirDuMaroc, 15, ADA, None),
        ],
        Cosmetics => &[
            (Organic, 20, ECOCERT, Some(365)),
            (Pgi, 8, NORMACERT, Some(900)),
        ],
        Handicrafts => &[],
    };
    for &(kind, percent, issuer, validity) in labels {
        if dice.percent(percent) {
            let issued_on = ago(30 + dice.below(validity.unwrap_or(2000)))?;
            let expires_on = validity
                .map(|v| days_from(issued_on, v as i64))
                .transpose()?;
            let n = numbers.next();
            certs.push(cert(
                kind,
                number_of(kind, n, &mut dice),
                issuer,
                issued_on,
                expires_on,
            ));
        }
    }
    Ok(certs)
}

/// A certification covering every product, neither revoked nor withdrawn.
fn cert(
    kind: CertificationType,
    number: String,
    issuer: &'static str,
    issued_on: NaiveDate,
    expires_on: Option<NaiveDate>,
) -> PlannedCert {
    PlannedCert {
        kind,
        number,
        issuer,
        issued_on,
        expires_on,
        only: None,
        revoked: None,
    }
}

/// "86 members in Taza (Fès–Meknès) making olive oil, olives, honey."
fn describe(coop: &PlannedCoop, reference: &tables::Reference) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for p in &coop.products {
        if let Some(s) = reference.segment(p.segment)
            && !segments.contains(&s.name.as_str())
        {
            segments.push(&s.name);
        }
    }
    let region = reference
        .region(coop.region)
        .map_or(coop.region, |r| r.name);
    let who = if coop.women_led { "women" } else { "members" };
    let makes = segments
        .iter()
        .map(|s| s.to_lowercase())
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{} {who} in {} ({region}), founded in {}, making {makes}.",
        coop.members,
        coop.province,
        coop.founded.year()
    )
}

/// The description of `describe` in French and Arabic (`market_words.csv`):
/// "86 adhérentes, province de Taza (Fès–Meknès), fondée en 2009 ; produits : miel."
fn describe_translated(coop: &PlannedCoop) -> (String, String) {
    use super::i18n::{PROVINCES, REGIONS, SEGMENTS};
    let mut fr: Vec<String> = Vec::new();
    let mut ar: Vec<String> = Vec::new();
    for p in &coop.products {
        if let Some((t, _)) = SEGMENTS.get(p.segment) {
            let name_fr = t.name_fr.to_lowercase();
            if !fr.contains(&name_fr) {
                fr.push(name_fr);
                ar.push(t.name_ar.clone());
            }
        }
    }
    let region = REGIONS.get(coop.region).cloned().unwrap_or_default();
    let province = PROVINCES
        .get(&(coop.region.to_owned(), coop.province.to_owned()))
        .cloned()
        .unwrap_or_default();
    let n = coop.members;
    let (who_fr, who_ar) = match (coop.women_led, n % 100) {
        (false, _) if n >= 100 && n % 100 <= 2 => ("adhérents", "عضو"),
        (true, _) if n >= 100 && n % 100 <= 2 => ("adhérentes", "امرأة"),
        (false, 3..=10) => ("adhérents", "أعضاء"),
        (true, 3..=10) => ("adhérentes", "نساء"),
        (false, _) => ("adhérents", "عضوا"),
        (true, _) => ("adhérentes", "امرأة"),
    };
    let year = coop.founded.year();
    (
        format!(
            "{n} {who_fr}, province de {} ({}), fondée en {year} ; produits : {}.",
            province.name_fr,
            region.name_fr,
            fr.join(", ")
        ),
        format!(
            "{n} {who_ar} من {} (جهة {})، تأسست سنة {year}، منتجاتها: {}.",
            province.name_ar,
            region.name_ar,
            ar.join("، ")
        ),
    )
}

/// The French and Arabic texts of the market's cooperatives and products (the latter by
/// their demo product line, `product_lines.csv`).
fn market_texts(
    plan: &[PlannedCoop],
    coop_ids: &HashMap<String, i32>,
    product_ids: &HashMap<&str, i32>,
) -> Vec<(
    crate::domain::translations::Subject,
    String,
    crate::domain::translations::Text,
)> {
    use crate::domain::translations::{Subject, SubjectKind};
    let mut rows = Vec::new();
    for coop in plan {
        if let Some(id) = coop_ids.get(&coop.slug) {
            for (language, text) in coop.texts.by_language() {
                rows.push((
                    Subject::new(SubjectKind::Cooperative, id),
                    language.to_owned(),
                    text,
                ));
            }
        }
        for p in &coop.products {
            let line = (p.name.to_owned(), p.description.to_owned());
            if let (Some(id), Some(texts)) = (
                product_ids.get(p.sku.as_str()),
                super::i18n::PRODUCT_LINES.get(&line),
            ) {
                for (language, text) in texts.by_language() {
                    rows.push((
                        Subject::new(SubjectKind::Product, id),
                        language.to_owned(),
                        text,
                    ));
                }
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::compliance;
    use chrono::TimeDelta;

    const TODAY: NaiveDate = date(2026, 11, 23);

    #[test]
    fn every_cooperative_and_product_has_french_and_arabic_text() {
        let plan = plan_market(TODAY).expect("plan");
        let arabic = |t: &str| t.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c));
        let mut names = HashSet::new();
        for coop in &plan {
            let t = &coop.texts;
            assert!(
                t.name_ar.starts_with("تعاونية "),
                "{}: {}",
                coop.name,
                t.name_ar
            );
            assert!(t.name_ar.contains(" ب"), "{}: {}", coop.name, t.name_ar);
            assert!(!t.name_ar.contains("  "), "{}", t.name_ar);
            assert!(
                names.insert(t.name_ar.clone()),
                "two cooperatives named {}",
                t.name_ar
            );
            assert!(arabic(&t.description_ar) && !t.description_ar.contains('{'));
            assert!(
                t.description_fr.contains("fondée en"),
                "{}",
                t.description_fr
            );
            for p in &coop.products {
                let line = (p.name.to_owned(), p.description.to_owned());
                let texts = super::super::i18n::PRODUCT_LINES
                    .get(&line)
                    .unwrap_or_else(|| panic!("no translation of {line:?}"));
                assert!(arabic(&texts.name_ar) && !texts.name_fr.is_empty());
            }
        }
    }

    /// The region totals of DESIGN.md, "The market in figures".
    const DESIGN_REGIONS: [(&str, usize); 12] = [
        ("MA-03", 74),
        ("MA-09", 63),
        ("MA-05", 56),
        ("MA-07", 49),
        ("MA-06", 48),
        ("MA-08", 39),
        ("MA-04", 35),
        ("MA-01", 21),
        ("MA-02", 18),
        ("MA-11", 12),
        ("MA-10", 6),
        ("MA-12", 3),
    ];

    fn plan() -> Vec<PlannedCoop> {
        plan_market(TODAY).expect("plan")
    }

    #[test]
    fn cooperatives_match_the_market_figures_by_region_kind_and_year() {
        let coops = plan();
        assert_eq!(coops.len(), 424);
        for (code, expected) in DESIGN_REGIONS {
            let n = coops.iter().filter(|c| c.region == code).count();
            assert_eq!(n, expected, "{code}");
        }
        let of_kind = |kind| coops.iter().filter(|c| c.kind == kind).count();
        assert_eq!(
            (of_kind(Terroir), of_kind(Handicrafts), of_kind(Cosmetics)),
            (207, 157, 60)
        );
        let joined = |year| {
            coops
                .iter()
                .filter(|c| c.listed_since.year() == year)
                .count()
        };
        assert_eq!(joined(2024), NEW_IN_2024);
        assert_eq!(
            coops
                .iter()
                .filter(|c| c.listed_since.year() <= 2023)
                .count(),
            408
        );
        for c in &coops {
            assert!(c.listed_since >= MARKET_OPENED && c.founded < c.listed_since);
            let region = tables::reference()
                .expect("reference")
                .region(c.region)
                .expect("region");
            assert!(region.provinces.contains(&c.province), "{}", c.name);
        }
        let status = |s| coops.iter().filter(|c| c.status == s).count();
        assert_eq!(status(CooperativeStatus::Suspended), 2);
        assert_eq!(status(CooperativeStatus::Incubated), 6);
    }

    #[test]
    fn names_slugs_skus_and_numbers_are_unique() {
        let coops = plan();
        let mut names = HashSet::new();
        let mut slugs = HashSet::new();
        let mut skus = HashSet::new();
        let mut numbers = HashSet::new();
        for c in &coops {
            assert!(names.insert(c.name.as_str()), "{}", c.name);
            assert!(slugs.insert(c.slug.as_str()), "{}", c.slug);
            assert!(c.slug.len() <= 120 && c.name.len() <= 200, "{}", c.name);
            for p in &c.products {
                assert!(skus.insert(p.sku.as_str()), "{}", p.sku);
            }
            for cert in &c.certifications {
                assert!(numbers.insert(cert.number.as_str()), "{}", cert.number);
            }
            let mut offer = HashSet::new();
            for p in &c.products {
                assert!(offer.insert((p.name, p.format)), "{} twice", p.name);
            }
        }
    }

    #[test]
    fn five_thousand_products_in_the_segments_of_their_cooperative() {
        let coops = plan();
        let products: Vec<&PlannedProduct> = coops.iter().flat_map(|c| &c.products).collect();
        assert_eq!(products.len(), PRODUCTS);
        for c in &coops {
            assert!(
                (MIN_PRODUCTS..=MAX_PRODUCTS).contains(&c.products.len()),
                "{}: {}",
                c.name,
                c.products.len()
            );
            for p in &c.products {
                let segment = tables::reference()
                    .expect("reference")
                    .segment(p.segment)
                    .expect("segment");
                assert_eq!(segment.kind, c.kind, "{}", p.sku);
                assert!(p.price_cents > 0 && p.price_cents % 50 == 0, "{}", p.sku);
                assert!((0..=200).contains(&p.stock), "{}", p.sku);
                assert!(
                    p.created_at < at(TODAY, 0) + TimeDelta::days(1),
                    "{}",
                    p.sku
                );
            }
        }
        let sold_out = products.iter().filter(|p| p.stock == 0).count();
        assert!((50..=250).contains(&sold_out), "{sold_out} sold out");
        let segments: HashSet<&str> = products.iter().map(|p| p.segment).collect();
        assert_eq!(
            segments.len(),
            tables::reference().expect("reference").segments.len(),
            "every segment has products"
        );
    }

    #[test]
    fn most_food_and_cosmetics_are_certified_and_a_few_percent_are_not() {
        let coops = plan();
        let mut unsellable = 0;
        let mut total = 0;
        for c in &coops {
            let coop = cooperative::Model {
                id: 1,
                slug: c.slug.clone(),
                name: c.name.clone(),
                search_text: normalize(&c.name),
                description: c.description.clone(),
                kind: c.kind,
                region_code: c.region.to_owned(),
                province_id: None,
                founded_on: Some(c.founded),
                member_count: c.members,
                women_led: c.women_led,
                youth_led: c.youth_led,
                listed_since: c.listed_since,
                status: c.status,
                contact_email: None,
                contact_phone: None,
                commission_rate_bp: c.commission_bp,
                payout_account: None,
                created_at: at(c.listed_since, 0),
                updated_at: at(c.listed_since, 0),
            };
            let certs: Vec<certification::Model> = c
                .certifications
                .iter()
                .enumerate()
                .map(|(i, pc)| certification::Model {
                    id: i as i32,
                    cooperative_id: 1,
                    r#type: pc.kind,
                    number: pc.number.clone(),
                    issuer: pc.issuer.to_owned(),
                    issued_on: pc.issued_on,
                    expires_on: pc.expires_on,
                    covers_all_products: pc.only.is_none(),
                    revoked_at: pc.revoked.map(|(when, _)| when),
                    revoked_reason: None,
                    created_at: at(pc.issued_on, 0),
                    updated_at: at(pc.issued_on, 0),
                })
                .collect();
            for (i, p) in c.products.iter().enumerate() {
                let model = product::Model {
                    id: i as i32,
                    sku: p.sku.clone(),
                    name: p.name.to_owned(),
                    description: p.description.to_owned(),
                    search_text: String::new(),
                    segment_id: 1,
                    cooperative_id: 1,
                    format: p.format.to_owned(),
                    price_cents: p.price_cents,
                    active: p.active,
                    stock: p.stock,
                    low_stock_threshold: p.low_stock_threshold,
                    is_pack: false,
                    created_at: p.created_at,
                    updated_at: p.created_at,
                };
                let covering: Vec<&certification::Model> = certs
                    .iter()
                    .zip(&c.certifications)
                    .filter(|(_, pc)| pc.only.as_ref().is_none_or(|skus| skus.contains(&p.sku)))
                    .map(|(m, _)| m)
                    .collect();
                let issues = compliance::assess(&model, &coop, &covering, TODAY);
                total += 1;
                unsellable += usize::from(!issues.is_empty());
                if c.compliance == Compliance::Valid
                    || c.compliance == Compliance::ExpiringSoon
                    || c.compliance == Compliance::NotRequired
                {
                    assert!(
                        issues
                            .iter()
                            .all(|i| i.code == compliance::IssueCode::ProductInactive),
                        "{} {issues:?}",
                        p.sku
                    );
                }
            }
        }
        let share = unsellable * 100 / total;
        assert!(
            (2..=10).contains(&share),
            "{unsellable} of {total} unsellable"
        );
        let case = |kind, case| {
            coops
                .iter()
                .filter(|c| c.kind == kind && c.compliance == case)
                .count()
        };
        assert_eq!(case(Terroir, Compliance::Missing), 5);
        assert_eq!(case(Terroir, Compliance::Expired), 5);
        assert_eq!(case(Terroir, Compliance::Revoked), 2);
        assert_eq!(case(Terroir, Compliance::Partial), 5);
        assert_eq!(case(Cosmetics, Compliance::Missing), 3);
        assert_eq!(case(Cosmetics, Compliance::Expired), 3);
        let expiring = coops
            .iter()
            .flat_map(|c| &c.certifications)
            .filter(|c| {
                c.expires_on
                    .is_some_and(|e| e >= TODAY && e <= TODAY + TimeDelta::days(30))
            })
            .count();
        assert!(expiring >= 9, "{expiring} expiring within 30 days");
    }

    #[test]
    fn the_plan_is_deterministic() {
        assert_eq!(plan(), plan());
    }

    #[tokio::test]
    async fn seeds_an_empty_sqlite_database_with_a_ledger_matching_the_stock() {
        use sea_orm::{PaginatorTrait, QuerySelect, sea_query::Expr};
        let db = crate::db::connect("sqlite::memory:", 1).await.expect("db");
        crate::db::migrate(&db).await.expect("migrate");
        let summary = seed_market_catalog(&db, TODAY, false).await.expect("seed");
        assert_eq!(summary.cooperatives, 424);
        assert_eq!(summary.products, PRODUCTS);
        assert_eq!(
            product::Entity::find().count(&db).await.expect("count"),
            5000
        );
        let in_stock = plan()
            .iter()
            .flat_map(|c| &c.products)
            .filter(|p| p.stock > 0)
            .count();
        assert_eq!(summary.stock_movements, in_stock);
        let stock: Option<i64> = product::Entity::find()
            .select_only()
            .column_as(Expr::cust("SUM(stock)"), "s")
            .into_tuple()
            .one(&db)
            .await
            .expect("sum");
        let ledger: Option<i64> = stock_movement::Entity::find()
            .select_only()
            .column_as(Expr::cust("SUM(delta)"), "s")
            .into_tuple()
            .one(&db)
            .await
            .expect("sum");
        assert_eq!(stock, ledger);
        assert!(
            certification_product::Entity::find()
                .count(&db)
                .await
                .expect("count")
                > 0
        );
    }
}
