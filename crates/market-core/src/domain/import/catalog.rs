//! Importing the catalog (`import catalog`): cooperatives by slug and products by SKU,
//! checked whole, then written in one transaction.

use super::*;
use crate::domain::translations::{Subject, SubjectKind, Text};
use sea_orm::{ColumnTrait, QueryFilter};
use std::collections::{BTreeMap, BTreeSet};

/// What a catalog import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatalogReport {
    pub cooperatives: usize,
    pub products: usize,
    /// Rows whose cooperative and product were both there already.
    pub already_there: usize,
}

/// Columns a catalog file may add after [`CATALOG_COLUMNS`], in any order. They only
/// apply to the cooperatives and products the import creates; a missing column or an
/// empty cell takes the default (README, "Importing history").
pub const CATALOG_OPTIONAL_COLUMNS: [&str; 14] = [
    "cooperative_description",
    "founded_on",
    "member_count",
    "women_led",
    "youth_led",
    "status",
    "commission_rate",
    "contact_email",
    "contact_phone",
    "payout_account",
    "product_description",
    "active",
    "low_stock_threshold",
    "added_at",
];

/// Longest description of a cooperative or a product.
const MAX_DESCRIPTION: usize = 4000;

/// What a translation column of a catalog file holds: `name_fr`, `description_ar`
/// (the product's) or `cooperative_name_fr`, `cooperative_description_ar`. Any language
/// tag may follow the last `_` (`name_zgh`); only the configured languages are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TranslatedField {
    ProductName,
    ProductDescription,
    CoopName,
    CoopDescription,
}

/// The translation column `name` stands for, if it is one.
fn translation_column(name: &str) -> Option<(TranslatedField, String)> {
    let (field, language) = name.rsplit_once('_')?;
    let field = match field {
        "name" => TranslatedField::ProductName,
        "description" => TranslatedField::ProductDescription,
        "cooperative_name" => TranslatedField::CoopName,
        "cooperative_description" => TranslatedField::CoopDescription,
        _ => return None,
    };
    crate::domain::i18n::is_language_tag(language).then(|| (field, language.to_owned()))
}

/// The columns of the file, by what they hold.
#[derive(Default)]
struct Header {
    /// Position of each optional column present.
    optional: HashMap<&'static str, usize>,
    /// Translation columns: what, in which language, where.
    translated: Vec<(TranslatedField, String, usize)>,
}

/// The texts in other languages of one row's product (`product`) or cooperative, by
/// language; a description needs the name in the same language.
fn row_texts(
    header: &Header,
    record: &csv::StringRecord,
    product: bool,
    bad: &mut Vec<String>,
) -> BTreeMap<String, Text> {
    let (name_field, description_field, prefix) = if product {
        (
            TranslatedField::ProductName,
            TranslatedField::ProductDescription,
            "",
        )
    } else {
        (
            TranslatedField::CoopName,
            TranslatedField::CoopDescription,
            "cooperative_",
        )
    };
    let cell = |field: TranslatedField, language: &str| {
        header
            .translated
            .iter()
            .find(|(f, l, _)| *f == field && l == language)
            .and_then(|(_, _, i)| record.get(*i))
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let mut texts = BTreeMap::new();
    let languages: BTreeSet<&str> = header
        .translated
        .iter()
        .filter(|(f, _, _)| *f == name_field || *f == description_field)
        .map(|(_, l, _)| l.as_str())
        .collect();
    for language in languages {
        let name = cell(name_field, language);
        let description = cell(description_field, language);
        if name.is_empty() {
            if !description.is_empty() {
                bad.push(format!(
                    "{prefix}description_{language} needs {prefix}name_{language}"
                ));
            }
            continue;
        }
        if name.chars().count() > 200 || name.chars().any(char::is_control) {
            bad.push(format!(
                "{prefix}name_{language} must have 1 to 200 characters and no control characters"
            ));
            continue;
        }
        let description = match description {
            d if d.is_empty() => None,
            d => keep(
                bad,
                parse_description(&format!("{prefix}description_{language}"), &d),
            ),
        };
        texts.insert(language.to_owned(), Text { name, description });
    }
    texts
}

struct NewCoop {
    slug: String,
    name: String,
    kind: CooperativeKind,
    region: String,
    province_id: Option<i32>,
    listed_since: NaiveDate,
    line: u64,
    details: CoopDetails,
    /// Name and description in other languages.
    texts: BTreeMap<String, Text>,
}

struct NewProduct {
    sku: String,
    name: String,
    segment_id: i32,
    coop_slug: String,
    format: String,
    price: i64,
    description: String,
    active: bool,
    low_stock_threshold: i32,
    added_at: Option<DateTime<Utc>>,
    /// Name and description in other languages.
    texts: BTreeMap<String, Text>,
}

/// A catalog file checked against the database, ready to write (see [`import_catalog`]).
pub struct CheckedCatalog {
    coops: Vec<NewCoop>,
    products: Vec<NewProduct>,
    already_there: usize,
}

/// Reads a catalog header: [`CATALOG_COLUMNS`] in order, then optional columns
/// (including translation columns, `name_fr`…). Returns where each one is.
fn catalog_header<R: Read>(reader: &mut csv::Reader<R>) -> Result<Header, ImportError> {
    let refuse = |reason: String| ImportError::Rejected {
        errors: vec![RowError { line: 1, reason }],
        more: 0,
    };
    let header = reader
        .headers()
        .map_err(|e| refuse(format!("unreadable header: {e}")))?;
    let found: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    let mut optional = HashMap::new();
    let mut translated = Vec::new();
    let required_ok = found.len() >= CATALOG_COLUMNS.len()
        && found.iter().zip(CATALOG_COLUMNS).all(|(f, c)| f == c);
    let extra_ok = found
        .iter()
        .enumerate()
        .skip(CATALOG_COLUMNS.len())
        .all(|(i, name)| {
            if let Some((field, language)) = translation_column(name) {
                let fresh = !translated
                    .iter()
                    .any(|(f, l, _)| *f == field && *l == language);
                translated.push((field, language, i));
                return fresh;
            }
            CATALOG_OPTIONAL_COLUMNS
                .iter()
                .find(|c| **c == name.as_str())
                .is_some_and(|c| optional.insert(*c, i).is_none())
        });
    if required_ok && extra_ok {
        Ok(Header {
            optional,
            translated,
        })
    } else {
        Err(refuse(format!(
            "the header must be `{}`, optionally followed by some of `{}` and of the translation \
             columns `name_LANG`, `description_LANG`, `cooperative_name_LANG`, \
             `cooperative_description_LANG` (LANG a language tag such as fr or ar; each once), not `{}`",
            CATALOG_COLUMNS.join(","),
            CATALOG_OPTIONAL_COLUMNS.join(","),
            found.join(",")
        )))
    }
}

/// `true`/`false` (or `yes`/`no`, `1`/`0`); `default` when empty.
fn parse_flag(column: &str, text: &str, default: bool) -> Result<bool, String> {
    match text.to_lowercase().as_str() {
        "" => Ok(default),
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!("{column} \"{text}\" is not true or false")),
    }
}

/// A whole number in `range`; `None` when empty.
fn parse_count(
    column: &str,
    text: &str,
    range: std::ops::RangeInclusive<i32>,
) -> Result<Option<i32>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i32>() {
        Ok(n) if range.contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "{column} \"{text}\" is not a whole number from {} to {}",
            range.start(),
            range.end()
        )),
    }
}

/// A commission fraction ("0.12") in basis points; `None` when empty (the default of
/// the cooperative's kind).
fn parse_commission(text: &str) -> Result<Option<i32>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let refuse = || {
        format!("commission_rate \"{text}\" is not a fraction from 0 to 1 with at most 4 decimals")
    };
    let rate: rust_decimal::Decimal = text.parse().map_err(|_| refuse())?;
    let bp = rate * rust_decimal::Decimal::from(10_000);
    if !bp.fract().is_zero() || rate.is_sign_negative() || rate > rust_decimal::Decimal::ONE {
        return Err(refuse());
    }
    i32::try_from(bp.trunc()).map(Some).map_err(|_| refuse())
}

/// A description: multi-line text of at most [`MAX_DESCRIPTION`] characters.
fn parse_description(column: &str, text: &str) -> Result<String, String> {
    crate::domain::input::check(text, MAX_DESCRIPTION, true).map_err(|_| {
        format!("{column} must have at most {MAX_DESCRIPTION} characters and no control characters")
    })
}

/// The value of `result`, or `None` with its problem added to `bad`.
fn keep<T>(bad: &mut Vec<String>, result: Result<T, String>) -> Option<T> {
    result.map_err(|e| bad.push(e)).ok()
}

/// An optional column: blank is `None`, anything else must be what `parse` accepts
/// (`what`, in the problem).
fn optional_value<T>(
    column: &str,
    text: &str,
    parse: impl FnOnce(&str) -> Option<T>,
    what: &str,
) -> Result<Option<T>, String> {
    match text {
        "" => Ok(None),
        t => parse(t)
            .map(Some)
            .ok_or_else(|| format!("{column} \"{t}\" is not {what}")),
    }
}

/// The optional columns of a new cooperative, checked (problems added to `bad`).
struct CoopDetails {
    description: String,
    founded_on: Option<NaiveDate>,
    member_count: i32,
    women_led: bool,
    youth_led: bool,
    status: CooperativeStatus,
    commission_bp: Option<i32>,
    contact_email: Option<String>,
    contact_phone: Option<String>,
    payout_account: Option<String>,
}

fn coop_details(opt: &dyn Fn(&str) -> String, bad: &mut Vec<String>) -> CoopDetails {
    let description = keep(
        bad,
        parse_description("cooperative_description", &opt("cooperative_description")),
    );
    let founded_on = keep(
        bad,
        optional_value(
            "founded_on",
            &opt("founded_on"),
            |t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok(),
            "a date (YYYY-MM-DD)",
        ),
    );
    let member_count = keep(
        bad,
        parse_count("member_count", &opt("member_count"), 0..=1_000_000),
    );
    let women_led = keep(bad, parse_flag("women_led", &opt("women_led"), false));
    let youth_led = keep(bad, parse_flag("youth_led", &opt("youth_led"), false));
    let status = keep(
        bad,
        match opt("status").to_uppercase() {
            t if t.is_empty() => Ok(CooperativeStatus::Listed),
            t => CooperativeStatus::parse(&t)
                .ok_or_else(|| format!("status \"{t}\" is not LISTED, INCUBATED or SUSPENDED")),
        },
    );
    let commission_bp = keep(bad, parse_commission(&opt("commission_rate")));
    let mut optional = |column: &str, parse: fn(&str) -> Option<String>, what: &str| {
        keep(bad, optional_value(column, &opt(column), parse, what))
    };
    let contact_email = optional(
        "contact_email",
        crate::domain::input::email,
        "an e-mail address",
    );
    let contact_phone = optional(
        "contact_phone",
        crate::domain::input::phone,
        "a phone number",
    );
    let payout_account = optional(
        "payout_account",
        |t| crate::domain::cooperatives::parse_rib(t).ok(),
        "a RIB (24 digits)",
    );
    CoopDetails {
        description: description.unwrap_or_default(),
        founded_on: founded_on.flatten(),
        member_count: member_count.flatten().unwrap_or(0),
        women_led: women_led.unwrap_or(false),
        youth_led: youth_led.unwrap_or(false),
        status: status.unwrap_or(CooperativeStatus::Listed),
        commission_bp: commission_bp.flatten(),
        contact_email: contact_email.flatten(),
        contact_phone: contact_phone.flatten(),
        payout_account: payout_account.flatten(),
    }
}

/// Imports a catalog file (see [`CATALOG_COLUMNS`] and [`CATALOG_OPTIONAL_COLUMNS`]): one
/// row per product with its cooperative's columns repeated (a row with an empty `sku`
/// adds only the cooperative). New cooperatives are `LISTED` unless `status` says
/// otherwise; new products are active with no stock (stock comes through deliveries).
/// Known slugs and SKUs are left as they are.
pub async fn import_catalog(
    db: &DatabaseConnection,
    input: impl Read,
    mut progress: impl FnMut(u64, u64),
) -> Result<CatalogReport, ImportError> {
    let checked = check_catalog(db, input).await?;
    let txn = crate::db::begin_write(db).await?;
    match write_catalog(&txn, &checked, &mut progress).await {
        Ok(report) => {
            txn.commit().await?;
            Ok(report)
        }
        Err(e) => {
            txn.rollback().await?;
            Err(e)
        }
    }
}

/// Checks every row of a catalog file against `db` and returns what to write, or every
/// problem. Reads only; [`write_catalog`] writes the result (in the caller's
/// transaction: the demo seeder runs both in its own).
pub async fn check_catalog(
    db: &impl ConnectionTrait,
    input: impl Read,
) -> Result<CheckedCatalog, ImportError> {
    let mut reader = csv_reader(input);
    let header = catalog_header(&mut reader)?;
    let optional = &header.optional;
    let width = CATALOG_COLUMNS.len() + optional.len() + header.translated.len();
    let coops: HashMap<String, cooperative::Model> = cooperative::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.slug.clone(), c))
        .collect();
    let skus: HashSet<String> = product::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.sku)
        .collect();
    let regions: HashSet<String> = region::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.code)
        .collect();
    let provinces: HashMap<(String, String), i32> = province::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| ((p.region_code, p.name.to_lowercase()), p.id))
        .collect();
    let segments: HashMap<String, segment::Model> = segment::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.slug.clone(), s))
        .collect();
    let mut problems = Problems::default();
    let mut new_coops: Vec<NewCoop> = Vec::new();
    let mut new_products: Vec<NewProduct> = Vec::new();
    let mut seen_skus: HashSet<String> = HashSet::new();
    let mut already_there = 0;
    for record in reader.records() {
        let Some((line, record)) = problems.row(record, width) else {
            continue;
        };
        let field = |i: usize| record.get(i).unwrap_or("").to_owned();
        let opt = |name: &str| {
            optional
                .get(name)
                .and_then(|i| record.get(*i))
                .unwrap_or("")
                .to_owned()
        };
        let mut bad = Vec::new();
        let slug = field(0);
        let slug_ok = !slug.is_empty()
            && slug.len() <= 120
            && slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !slug_ok {
            bad.push(format!(
                "cooperative_slug \"{slug}\" is not 1 to 120 lowercase letters, digits and dashes"
            ));
        }
        let kind = CooperativeKind::parse(&field(2).to_uppercase());
        // The cooperative: known, new in this file, or to create.
        let coop_kind = if let Some(c) = coops.get(&slug) {
            Some(c.kind)
        } else if let Some(c) = new_coops.iter().find(|c| c.slug == slug) {
            if c.name != field(1) || Some(c.kind) != kind || c.region != field(3) {
                bad.push(format!(
                    "cooperative {slug} has another name, kind or region on line {}",
                    c.line
                ));
            }
            Some(c.kind)
        } else if slug_ok {
            let name = field(1);
            if name.is_empty() || name.chars().count() > 200 {
                bad.push("cooperative_name must have 1 to 200 characters".into());
            }
            if kind.is_none() {
                bad.push(format!(
                    "kind \"{}\" is not TERROIR, COSMETICS or HANDICRAFTS",
                    field(2)
                ));
            }
            let region = field(3);
            if !regions.contains(&region) {
                bad.push(format!(
                    "unknown region \"{region}\" (use codes MA-01 … MA-12)"
                ));
            }
            let province_id = match field(4) {
                p if p.is_empty() => None,
                p => match provinces.get(&(region.clone(), p.to_lowercase())) {
                    Some(id) => Some(*id),
                    None => {
                        bad.push(format!("no province \"{p}\" in region {region}"));
                        None
                    }
                },
            };
            let listed_since = NaiveDate::parse_from_str(&field(5), "%Y-%m-%d")
                .map_err(|_| {
                    bad.push(format!(
                        "listed_since \"{}\" is not a date (YYYY-MM-DD)",
                        field(5)
                    ))
                })
                .ok();
            let details = coop_details(&opt, &mut bad);
            let texts = row_texts(&header, &record, false, &mut bad);
            if let (Some(kind), Some(listed_since), true) = (kind, listed_since, bad.is_empty()) {
                new_coops.push(NewCoop {
                    slug: slug.clone(),
                    name,
                    kind,
                    region,
                    province_id,
                    listed_since,
                    line,
                    details,
                    texts,
                });
            }
            kind
        } else {
            None
        };
        let sku = field(6).to_uppercase();
        if !sku.is_empty() {
            let sku_ok = (3..=64).contains(&sku.len())
                && sku
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
            if !sku_ok {
                bad.push(format!(
                    "sku \"{sku}\" is not 3 to 64 letters, digits and dashes"
                ));
            } else if !seen_skus.insert(sku.clone()) {
                bad.push(format!("sku {sku} appears twice in the file"));
            } else if skus.contains(&sku) {
                already_there += 1;
            } else {
                let name = field(7);
                if name.is_empty() || name.chars().count() > 200 {
                    bad.push("product_name must have 1 to 200 characters".into());
                }
                let format = field(9);
                if format.is_empty() || format.chars().count() > 80 {
                    bad.push("format must have 1 to 80 characters (e.g. \"250 g jar\")".into());
                }
                let segment = segments.get(&field(8));
                match (segment, coop_kind) {
                    (None, _) => bad.push(format!("unknown segment \"{}\"", field(8))),
                    (Some(s), Some(k)) if s.kind != k => bad.push(format!(
                        "segment {} is for {} cooperatives, not {}",
                        s.slug, s.kind, k
                    )),
                    _ => {}
                }
                let price = parse_price(&field(10)).map_err(|e| bad.push(e)).ok();
                let description = keep(
                    &mut bad,
                    parse_description("product_description", &opt("product_description")),
                );
                let active = keep(&mut bad, parse_flag("active", &opt("active"), true));
                let threshold = keep(
                    &mut bad,
                    parse_count(
                        "low_stock_threshold",
                        &opt("low_stock_threshold"),
                        0..=100_000,
                    ),
                );
                let added_at = keep(
                    &mut bad,
                    match opt("added_at") {
                        t if t.is_empty() => Ok(None),
                        t => DateTime::parse_from_rfc3339(&t)
                            .map(|d| Some(d.with_timezone(&Utc)))
                            .map_err(|_| {
                                format!("added_at \"{t}\" is not a time (RFC 3339 with an offset)")
                            }),
                    },
                );
                let texts = row_texts(&header, &record, true, &mut bad);
                if let (Some(s), Some(price), true) = (segment, price, bad.is_empty()) {
                    new_products.push(NewProduct {
                        sku,
                        name,
                        segment_id: s.id,
                        coop_slug: slug.clone(),
                        format,
                        price,
                        description: description.unwrap_or_default(),
                        active: active.unwrap_or(true),
                        low_stock_threshold: threshold.flatten().unwrap_or(5),
                        added_at: added_at.flatten(),
                        texts,
                    });
                }
            }
        }
        if !bad.is_empty() {
            problems.add(line, bad.join("; "));
        }
    }
    problems.check()?;
    Ok(CheckedCatalog {
        coops: new_coops,
        products: new_products,
        already_there,
    })
}

/// Writes a checked catalog with `txn`, which the caller commits.
pub async fn write_catalog(
    txn: &impl ConnectionTrait,
    checked: &CheckedCatalog,
    progress: &mut impl FnMut(u64, u64),
) -> Result<CatalogReport, ImportError> {
    let CheckedCatalog {
        coops,
        products,
        already_there,
    } = checked;
    let total = (coops.len() + products.len()) as u64;
    crate::domain::catalog_version::touch_texts(txn).await?;
    let now = Utc::now();
    for chunk in coops.chunks(50) {
        let rows = chunk.iter().map(|c| cooperative::ActiveModel {
            slug: sea_orm::Set(c.slug.clone()),
            name: sea_orm::Set(c.name.clone()),
            search_text: sea_orm::Set(normalize(&c.name)),
            description: sea_orm::Set(c.details.description.clone()),
            kind: sea_orm::Set(c.kind),
            region_code: sea_orm::Set(c.region.clone()),
            province_id: sea_orm::Set(c.province_id),
            founded_on: sea_orm::Set(c.details.founded_on),
            member_count: sea_orm::Set(c.details.member_count),
            women_led: sea_orm::Set(c.details.women_led),
            youth_led: sea_orm::Set(c.details.youth_led),
            listed_since: sea_orm::Set(c.listed_since),
            status: sea_orm::Set(c.details.status),
            contact_email: sea_orm::Set(c.details.contact_email.clone()),
            contact_phone: sea_orm::Set(c.details.contact_phone.clone()),
            commission_rate_bp: sea_orm::Set(c.details.commission_bp),
            payout_account: sea_orm::Set(c.details.payout_account.clone()),
            created_at: sea_orm::Set(now),
            updated_at: sea_orm::Set(now),
            ..Default::default()
        });
        cooperative::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    progress(coops.len() as u64, total);
    let ids: HashMap<String, i32> = cooperative::Entity::find()
        .all(txn)
        .await?
        .into_iter()
        .map(|c| (c.slug, c.id))
        .collect();
    let mut done = coops.len() as u64;
    for chunk in products.chunks(50) {
        let mut rows = Vec::with_capacity(chunk.len());
        for p in chunk {
            let cooperative_id = *ids
                .get(&p.coop_slug)
                .ok_or_else(|| AppError::Internal("imported cooperative vanished".into()))?;
            let created_at = p.added_at.unwrap_or(now);
            rows.push(product::ActiveModel {
                sku: sea_orm::Set(p.sku.clone()),
                name: sea_orm::Set(p.name.clone()),
                description: sea_orm::Set(p.description.clone()),
                search_text: sea_orm::Set(product_search_text(&p.name, &p.description, &p.format)),
                segment_id: sea_orm::Set(p.segment_id),
                cooperative_id: sea_orm::Set(cooperative_id),
                format: sea_orm::Set(p.format.clone()),
                price_cents: sea_orm::Set(p.price),
                active: sea_orm::Set(p.active),
                stock: sea_orm::Set(0),
                low_stock_threshold: sea_orm::Set(p.low_stock_threshold),
                created_at: sea_orm::Set(created_at),
                updated_at: sea_orm::Set(created_at),
                ..Default::default()
            });
        }
        product::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
        done += chunk.len() as u64;
        progress(done, total);
    }
    // The texts in other languages of what was created.
    let mut texts = Vec::new();
    for c in coops {
        if let Some(id) = ids.get(&c.slug) {
            for (language, text) in &c.texts {
                let subject = Subject::new(SubjectKind::Cooperative, id);
                texts.push((subject, language.clone(), text.clone()));
            }
        }
    }
    let translated: Vec<&NewProduct> = products.iter().filter(|p| !p.texts.is_empty()).collect();
    if !translated.is_empty() {
        let mut product_ids = HashMap::new();
        for chunk in translated.chunks(500) {
            let skus = chunk.iter().map(|p| p.sku.clone());
            for row in product::Entity::find()
                .filter(product::Column::Sku.is_in(skus))
                .all(txn)
                .await?
            {
                product_ids.insert(row.sku, row.id);
            }
        }
        for p in translated {
            if let Some(id) = product_ids.get(&p.sku) {
                for (language, text) in &p.texts {
                    let subject = Subject::new(SubjectKind::Product, id);
                    texts.push((subject, language.clone(), text.clone()));
                }
            }
        }
    }
    crate::domain::translations::upsert(txn, texts).await?;
    Ok(CatalogReport {
        cooperatives: coops.len(),
        products: products.len(),
        already_there: *already_there,
    })
}
