//! The seed data files of `crates/market-core/src/seed/data/`, embedded in the binary and parsed into typed
//! rows: the reference tables (regions, provinces, segments) and the demo catalog
//! (cooperatives, products, certifications). They are data, not code: anyone can edit
//! them, and a malformed one fails the unit tests (`every_embedded_file_parses`) with its
//! file, line and column, never a build or a start.
//!
//! Dates that must stay true whenever the demo is seeded ("joined this year", "expires
//! in 12 days") are written relative to `today` (`listed_days_ago`, `issued_days_ago`,
//! `expires_in_days`, `revoked_days_ago`); the absolute column next to each one
//! (`listed_since`, `issued_on`, `expires_on`) is for dates that are history. A row
//! fills exactly one of the two (none at all for an optional date).
//!
//! Money is written in MAD ("32.00") as in an import file. Columns are read by name;
//! a column no row type names (`note` in the certifications) is a comment.

use crate::domain::enums::{CertificationType, CooperativeKind, CooperativeStatus};
use chrono::NaiveDate;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::sync::LazyLock;

/// A seed data file that does not parse: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    /// Path under `crates/market-core/src/seed/data/`.
    pub file: &'static str,
    /// Line of the file, 1 being the header; 0 when the whole file is concerned.
    pub line: u64,
    /// The column's name, when one is to blame.
    pub column: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "crates/market-core/src/seed/data/{} line {}",
            self.file, self.line
        )?;
        if let Some(column) = &self.column {
            write!(f, ", column {column}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl From<DataError> for sea_orm::DbErr {
    fn from(e: DataError) -> Self {
        sea_orm::DbErr::Custom(format!("seed data: {e}"))
    }
}

/// A region of the 2015 territorial division (`reference/regions.csv`), with its
/// provinces and prefectures (`reference/provinces.csv`), in file order.
#[derive(Debug)]
pub struct Region {
    /// ISO 3166-2 code, "MA-01".
    pub code: &'static str,
    pub name: &'static str,
    pub provinces: Vec<&'static str>,
}

#[derive(Debug, Deserialize)]
struct RegionRow {
    code: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct ProvinceRow {
    region: String,
    name: String,
}

/// A product segment (`reference/segments.csv`); its position is its line order.
/// `sku_prefix` is not stored: it names the SKUs of the demo and market catalogs.
#[derive(Debug, Deserialize)]
pub struct Segment {
    pub slug: String,
    pub name: String,
    pub kind: CooperativeKind,
    pub sku_prefix: String,
}

/// The reference tables every database needs.
#[derive(Debug)]
pub struct Reference {
    pub regions: Vec<Region>,
    pub segments: Vec<Segment>,
}

impl Reference {
    pub fn region(&self, code: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.code == code)
    }

    pub fn segment(&self, slug: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.slug == slug)
    }
}

/// A cooperative of the demo (`demo/cooperatives.csv`).
#[derive(Debug, Deserialize)]
pub struct DemoCooperative {
    /// Three letters, unique: the middle part of its SKUs ("OLV-MEK-001") and the key
    /// the other demo files use.
    pub code: String,
    pub slug: String,
    pub name: String,
    pub kind: CooperativeKind,
    pub region: String,
    pub province: String,
    #[serde(deserialize_with = "day::required")]
    pub founded_on: NaiveDate,
    pub member_count: i32,
    pub women_led: bool,
    pub youth_led: bool,
    /// Joined on this date (the historical ones)…
    #[serde(deserialize_with = "day::optional")]
    pub listed_since: Option<NaiveDate>,
    /// …or this many days before `today` (the newcomers, so "new this year" stays true).
    pub listed_days_ago: Option<i64>,
    pub status: CooperativeStatus,
    /// A fraction ("0.12"), empty for the default of its kind.
    pub commission_rate: Option<String>,
    /// Whether it gave a bank account (the RIB itself is generated from its code).
    pub has_payout_account: bool,
    pub description: String,
}

/// A product of the demo (`demo/products.csv`), one per format of a product line:
/// consecutive rows of a cooperative with the same segment, name and description form
/// one line.
#[derive(Debug, PartialEq, Deserialize)]
pub struct DemoProduct {
    /// The cooperative's code.
    pub cooperative: String,
    pub sku: String,
    pub segment: String,
    pub name: String,
    pub format: String,
    /// In MAD, "32.00" (as the catalog import reads it).
    pub price: String,
    /// The stock it has today, when set rather than generated (sold out, running low).
    pub stock: Option<i32>,
    /// False for products withdrawn from sale (out of season, discontinued).
    pub active: bool,
    pub description: String,
    /// `price` in centimes, checked while parsing.
    #[serde(skip)]
    pub price_cents: i64,
}

/// A certification or label of the demo (`demo/certifications.csv`).
#[derive(Debug, Deserialize)]
pub struct DemoCertification {
    /// The holder's code.
    pub cooperative: String,
    #[serde(rename = "type")]
    pub kind: CertificationType,
    pub number: String,
    pub issuer: String,
    #[serde(deserialize_with = "day::optional")]
    pub issued_on: Option<NaiveDate>,
    pub issued_days_ago: Option<i64>,
    #[serde(deserialize_with = "day::optional")]
    pub expires_on: Option<NaiveDate>,
    /// Negative: already expired.
    pub expires_in_days: Option<i64>,
    pub revoked_days_ago: Option<i64>,
    pub revoked_reason: Option<String>,
    /// The SKUs covered, separated by spaces; empty: every product of the holder.
    pub skus: String,
    // The file's last column, `note`, says why a row is there (the compliance case it
    // stages); it is a comment, not read.
}

impl DemoCertification {
    /// The SKUs it covers; empty for all the holder's products.
    pub fn covered(&self) -> Vec<&str> {
        self.skus.split_whitespace().collect()
    }
}

/// Dates written `YYYY-MM-DD`; a refused one is quoted in the error, which locates its
/// column (see [`parse`]).
mod day {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, de::Error};

    fn parse<E: Error>(text: &str) -> Result<NaiveDate, E> {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| E::custom(format!("`{text}` is not a date (YYYY-MM-DD)")))
    }

    pub fn required<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        parse(&String::deserialize(d)?)
    }

    pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| parse(&text))
            .transpose()
    }
}

/// A product line of a demo cooperative: one product per `(format, price in centimes)`.
#[derive(Debug)]
pub struct Line {
    pub segment: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub formats: Vec<(&'static str, i64)>,
}

/// The demo catalog, files joined.
#[derive(Debug)]
pub struct Demo {
    pub cooperatives: Vec<DemoCooperative>,
    pub products: Vec<DemoProduct>,
    pub certifications: Vec<DemoCertification>,
}

impl Demo {
    pub fn cooperative(&self, code: &str) -> Option<&DemoCooperative> {
        self.cooperatives.iter().find(|c| c.code == code)
    }
}

/// A demo cooperative with its product lines (what the market generator recombines).
#[derive(Debug)]
pub struct DemoLines {
    pub cooperative: &'static DemoCooperative,
    pub lines: Vec<Line>,
}

const REGIONS_CSV: (&str, &str) = (
    "reference/regions.csv",
    include_str!("data/reference/regions.csv"),
);
const PROVINCES_CSV: (&str, &str) = (
    "reference/provinces.csv",
    include_str!("data/reference/provinces.csv"),
);
const SEGMENTS_CSV: (&str, &str) = (
    "reference/segments.csv",
    include_str!("data/reference/segments.csv"),
);
const COOPERATIVES_CSV: (&str, &str) = (
    "demo/cooperatives.csv",
    include_str!("data/demo/cooperatives.csv"),
);
const PRODUCTS_CSV: (&str, &str) = ("demo/products.csv", include_str!("data/demo/products.csv"));
const CERTIFICATIONS_CSV: (&str, &str) = (
    "demo/certifications.csv",
    include_str!("data/demo/certifications.csv"),
);

static REFERENCE: LazyLock<Result<Reference, DataError>> = LazyLock::new(parse_reference);
static DEMO: LazyLock<Result<Demo, DataError>> = LazyLock::new(parse_demo);
static DEMO_LINES: LazyLock<Result<Vec<DemoLines>, DataError>> =
    LazyLock::new(|| Ok(group_lines(demo()?)));

/// The reference tables, parsed once.
pub fn reference() -> Result<&'static Reference, DataError> {
    REFERENCE.as_ref().map_err(Clone::clone)
}

/// The demo catalog, parsed once and checked against the reference tables.
pub fn demo() -> Result<&'static Demo, DataError> {
    DEMO.as_ref().map_err(Clone::clone)
}

/// The demo cooperatives with their product lines, in file order.
pub fn demo_lines() -> Result<&'static [DemoLines], DataError> {
    DEMO_LINES.as_ref().map(Vec::as_slice).map_err(Clone::clone)
}

/// A row with the line it came from.
struct Numbered<T> {
    line: u64,
    row: T,
}

/// Parses `text` (the file `file`) into rows of `T`, by header name; every row must
/// have every column.
fn parse<T: DeserializeOwned>(
    (file, text): (&'static str, &str),
) -> Result<Vec<Numbered<T>>, DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader.headers().cloned().map_err(|e| DataError {
        file,
        line: 1,
        column: None,
        reason: format!("unreadable header: {e}"),
    })?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| DataError {
            file,
            line: e.position().map_or(0, |p| p.line()),
            column: None,
            reason: e.to_string(),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let row = record.deserialize(Some(&headers)).map_err(|e| {
            let (column, reason) = match e.kind() {
                csv::ErrorKind::Deserialize { err, .. } => {
                    // csv knows the field of the values it parses itself (numbers,
                    // booleans); serde's own errors (an unknown enum variant, a date)
                    // quote the value instead: find the cell holding it.
                    let reason = err.kind().to_string();
                    let index = err.field().map(|i| i as usize).or_else(|| {
                        record
                            .iter()
                            .position(|v| !v.is_empty() && reason.contains(&format!("`{v}`")))
                    });
                    (
                        index.and_then(|i| headers.get(i)).map(str::to_owned),
                        reason,
                    )
                }
                other => (None, format!("{other:?}")),
            };
            DataError {
                file,
                line,
                column,
                reason,
            }
        })?;
        rows.push(Numbered { line, row });
    }
    Ok(rows)
}

fn error(file: &'static str, line: u64, column: &str, reason: impl Into<String>) -> DataError {
    DataError {
        file,
        line,
        column: Some(column.to_owned()),
        reason: reason.into(),
    }
}

/// Leaks a parsed string: the rows live as long as the process (they are parsed once,
/// into statics), and the generators hold `&'static str`s into them.
fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

fn parse_reference() -> Result<Reference, DataError> {
    let mut regions: Vec<Region> = Vec::new();
    for Numbered { line, row } in parse::<RegionRow>(REGIONS_CSV)? {
        if regions.iter().any(|r| r.code == row.code) {
            return Err(error(REGIONS_CSV.0, line, "code", "duplicate region"));
        }
        regions.push(Region {
            code: leak(row.code),
            name: leak(row.name),
            provinces: Vec::new(),
        });
    }
    for Numbered { line, row } in parse::<ProvinceRow>(PROVINCES_CSV)? {
        let Some(region) = regions.iter_mut().find(|r| r.code == row.region) else {
            let why = format!("unknown region {}", row.region);
            return Err(error(PROVINCES_CSV.0, line, "region", why));
        };
        if region.provinces.contains(&row.name.as_str()) {
            return Err(error(PROVINCES_CSV.0, line, "name", "duplicate province"));
        }
        region.provinces.push(leak(row.name));
    }
    let mut segments: Vec<Segment> = Vec::new();
    for Numbered { line, row } in parse::<Segment>(SEGMENTS_CSV)? {
        if segments.iter().any(|s| s.slug == row.slug) {
            return Err(error(SEGMENTS_CSV.0, line, "slug", "duplicate segment"));
        }
        if segments.iter().any(|s| s.sku_prefix == row.sku_prefix) {
            return Err(error(
                SEGMENTS_CSV.0,
                line,
                "sku_prefix",
                "duplicate prefix",
            ));
        }
        segments.push(row);
    }
    Ok(Reference { regions, segments })
}

/// Exactly one of an absolute and a relative date column, or neither when `optional`.
fn one_date<A, B>(
    (file, line): (&'static str, u64),
    (absolute, a): (&str, &Option<A>),
    (relative, b): (&str, &Option<B>),
    optional: bool,
) -> Result<(), DataError> {
    match (a, b) {
        (Some(_), Some(_)) => Err(error(
            file,
            line,
            relative,
            format!("fill {absolute} or {relative}, not both"),
        )),
        (None, None) if !optional => Err(error(
            file,
            line,
            absolute,
            format!("fill {absolute} or {relative}"),
        )),
        _ => Ok(()),
    }
}

fn parse_demo() -> Result<Demo, DataError> {
    let reference = reference()?;
    let file = COOPERATIVES_CSV.0;
    let mut cooperatives: Vec<DemoCooperative> = Vec::new();
    for Numbered { line, row } in parse::<DemoCooperative>(COOPERATIVES_CSV)? {
        if cooperatives.iter().any(|c| c.code == row.code) {
            return Err(error(file, line, "code", "duplicate code"));
        }
        if cooperatives.iter().any(|c| c.slug == row.slug) {
            return Err(error(file, line, "slug", "duplicate slug"));
        }
        let Some(region) = reference.region(&row.region) else {
            return Err(error(file, line, "region", "unknown region"));
        };
        if !region.provinces.contains(&row.province.as_str()) {
            let why = format!("no province {} in {}", row.province, row.region);
            return Err(error(file, line, "province", why));
        }
        one_date(
            (file, line),
            ("listed_since", &row.listed_since),
            ("listed_days_ago", &row.listed_days_ago),
            false,
        )?;
        cooperatives.push(row);
    }

    let file = PRODUCTS_CSV.0;
    let mut products: Vec<DemoProduct> = Vec::new();
    for Numbered { line, mut row } in parse::<DemoProduct>(PRODUCTS_CSV)? {
        let Some(coop) = cooperatives.iter().find(|c| c.code == row.cooperative) else {
            return Err(error(file, line, "cooperative", "unknown cooperative code"));
        };
        let Some(segment) = reference.segment(&row.segment) else {
            return Err(error(file, line, "segment", "unknown segment"));
        };
        if segment.kind != coop.kind {
            let why = format!("{} is a {} segment", segment.slug, segment.kind);
            return Err(error(file, line, "segment", why));
        }
        if products.iter().any(|p| p.sku == row.sku) {
            return Err(error(file, line, "sku", "duplicate SKU"));
        }
        row.price_cents = crate::domain::import::parse_price(&row.price)
            .map_err(|why| error(file, line, "price", why))?;
        if row.price_cents <= 0 {
            return Err(error(file, line, "price", "a price is positive"));
        }
        products.push(row);
    }

    let file = CERTIFICATIONS_CSV.0;
    let mut certifications: Vec<DemoCertification> = Vec::new();
    for Numbered { line, row } in parse::<DemoCertification>(CERTIFICATIONS_CSV)? {
        if !cooperatives.iter().any(|c| c.code == row.cooperative) {
            return Err(error(file, line, "cooperative", "unknown cooperative code"));
        }
        if certifications.iter().any(|c| c.number == row.number) {
            return Err(error(file, line, "number", "duplicate number"));
        }
        for sku in row.covered() {
            if !products
                .iter()
                .any(|p| p.sku == sku && p.cooperative == row.cooperative)
            {
                let why = format!("{sku} is not a product of {}", row.cooperative);
                return Err(error(file, line, "skus", why));
            }
        }
        one_date(
            (file, line),
            ("issued_on", &row.issued_on),
            ("issued_days_ago", &row.issued_days_ago),
            false,
        )?;
        one_date(
            (file, line),
            ("expires_on", &row.expires_on),
            ("expires_in_days", &row.expires_in_days),
            true,
        )?;
        if row.revoked_days_ago.is_some() != row.revoked_reason.is_some() {
            let why = "a revocation has both a day and a reason";
            return Err(error(file, line, "revoked_reason", why));
        }
        certifications.push(row);
    }
    Ok(Demo {
        cooperatives,
        products,
        certifications,
    })
}

/// Groups the products of each cooperative into lines (see [`DemoProduct`]).
fn group_lines(demo: &'static Demo) -> Vec<DemoLines> {
    demo.cooperatives
        .iter()
        .map(|cooperative| {
            let mut lines: Vec<Line> = Vec::new();
            for p in demo
                .products
                .iter()
                .filter(|p| p.cooperative == cooperative.code)
            {
                match lines.last_mut() {
                    Some(l)
                        if l.segment == p.segment
                            && l.name == p.name
                            && l.description == p.description =>
                    {
                        l.formats.push((&p.format, p.price_cents));
                    }
                    _ => lines.push(Line {
                        segment: &p.segment,
                        name: &p.name,
                        description: &p.description,
                        formats: vec![(&p.format, p.price_cents)],
                    }),
                }
            }
            DemoLines { cooperative, lines }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_file_parses() {
        let reference = reference().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reference.regions.len(), 12);
        assert!(reference.regions.iter().all(|r| !r.provinces.is_empty()));
        let demo = demo().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(demo.cooperatives.len(), 40);
        let lines = demo_lines().unwrap_or_else(|e| panic!("{e}"));
        let formats: usize = lines
            .iter()
            .flat_map(|c| &c.lines)
            .map(|l| l.formats.len())
            .sum();
        assert_eq!(formats, demo.products.len());
    }

    #[test]
    fn a_malformed_file_is_reported_with_its_line_and_column() {
        let text = "slug,name,kind,sku_prefix\nhoney,Honey,TERROIR,HON\nsoap,Soap,SOAPY,SOP\n";
        let err = parse::<Segment>(("reference/segments.csv", text))
            .err()
            .expect("refused");
        assert_eq!(err.line, 3);
        assert_eq!(err.column.as_deref(), Some("kind"));
        assert!(
            err.to_string().starts_with(
                "crates/market-core/src/seed/data/reference/segments.csv line 3, column kind:"
            ),
            "{err}"
        );
        let text = "code,slug,name,kind,region,province,founded_on,member_count,women_led,\
                    youth_led,listed_since,listed_days_ago,status,commission_rate,\
                    has_payout_account,description\n\
                    ABC,a,A,TERROIR,MA-01,Tétouan,2006-04-18,8,false,false,,10,LISTED,,true,x\n\
                    ABD,b,B,TERROIR,MA-01,Tétouan,2006-04-31,8,false,false,,10,LISTED,,true,x\n";
        let err = parse::<DemoCooperative>(("demo/cooperatives.csv", text))
            .err()
            .expect("refused");
        assert_eq!((err.line, err.column.as_deref()), (3, Some("founded_on")));
        let text = text.replace(",8,false,false,,10", ",8,maybe,false,,10");
        let err = parse::<DemoCooperative>(("demo/cooperatives.csv", &text))
            .err()
            .expect("refused");
        assert_eq!((err.line, err.column.as_deref()), (2, Some("women_led")));
        let text = "region,name\nMA-01\n";
        let err = parse::<ProvinceRow>(("reference/provinces.csv", text))
            .err()
            .expect("refused");
        assert_eq!(err.line, 2, "{err}");
    }
}
