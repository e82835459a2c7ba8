//! Sales analytics for market managers (and, restricted to their cooperative, for its
//! members): sales by segment with comparisons, top products, trends and the yearly
//! summary. Every figure is read from the rollups of `domain::rollups`: a range is cut
//! into whole years, months and weeks with only the days at its edges read at day grain,
//! so a year of history costs a few thousand rows whatever the number of order lines.
//! The market's figures by kind, segment, region, channel or in total come from
//! `sales_dims`; a cooperative's figures, and the breakdown by cooperative, from
//! `sales_cells`.
//!
//! Definitions (DESIGN.md, "Sales analytics"): sales are the lines of `PAID` and
//! `FULFILLED` orders, dated by `placedAt` in the market's time zone; ranges are whole
//! days, `to` included; a line's kind, segment, region and cooperative are its snapshots.
//!
//! The module is cut by concern: `ranges` (checked date ranges and how a range is cut
//! into rollup periods), `sql` (the queries on the rollups), `labels` (names of
//! dimension values for people) and `reports` (the analytics the API answers).

mod labels;
mod ranges;
mod reports;
mod sql;

pub use labels::kind_label;
pub use ranges::{DateRange, MAX_RANGE_YEARS, decompose};
pub use reports::{market_summary, sales_by_segment, sales_trend, top_products};
pub use sql::totals;

use crate::domain::enums::CooperativeKind;
use crate::domain::rollups::Grain;
use chrono::NaiveDate;

/// Whose sales a viewer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SalesScope {
    /// The whole market (managers).
    Market,
    /// Only the lines of one cooperative (its members).
    Cooperative(i32),
}

/// What sales are broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    Kind,
    Segment,
    Region,
    Channel,
    Cooperative,
}

impl Dimension {
    fn column(self) -> &'static str {
        match self {
            Dimension::Kind => "kind",
            Dimension::Segment => "segment_id",
            Dimension::Region => "region_code",
            Dimension::Channel => "channel",
            Dimension::Cooperative => "cooperative_id",
        }
    }

    fn numeric(self) -> bool {
        matches!(self, Dimension::Segment | Dimension::Cooperative)
    }
}

/// What a breakdown is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    None,
    /// The same number of days just before the range.
    PreviousPeriod,
    /// The same dates one year earlier (29 February becomes 28 February).
    PreviousYear,
}

/// The periods of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Day,
    /// ISO weeks, from Monday.
    Week,
    Month,
    Year,
}

impl Granularity {
    fn grain(self) -> Grain {
        match self {
            Granularity::Day => Grain::Day,
            Granularity::Week => Grain::Week,
            Granularity::Month => Grain::Month,
            Granularity::Year => Grain::Year,
        }
    }
}

/// How top products are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankBy {
    /// Items sold, then revenue.
    Volume,
    /// Revenue, then items sold.
    Value,
}

/// Most products `topProducts` returns.
pub const MAX_TOP_PRODUCTS: usize = 100;

/// Revenue, discounts, items and orders of a set of sales lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    /// What shoppers paid: the lines' totals, after promotions.
    pub revenue_cents: i64,
    /// What promotions took off the lines, whoever funds them.
    pub discount_cents: i64,
    pub items: i64,
    /// Distinct orders having at least one of the lines.
    pub orders: i64,
}

impl Figures {
    fn add(&mut self, other: &Figures) {
        self.revenue_cents += other.revenue_cents;
        self.discount_cents += other.discount_cents;
        self.items += other.items;
        self.orders += other.orders;
    }

    /// The revenue at list prices, before promotions (a pack's price for its components'
    /// shares).
    pub fn gross_cents(&self) -> i64 {
        self.revenue_cents + self.discount_cents
    }
}

/// Decimal places of the fractions the analytics answer (`share`, `growth`): 0.1818 is
/// 18.18 %, finer than any chart shows, and no 0.18181818181818182 for clients to round.
pub const FRACTION_DECIMALS: i32 = 4;

/// `value` rounded to [`FRACTION_DECIMALS`] places (half away from zero).
pub fn fraction(value: f64) -> f64 {
    let scale = 10f64.powi(FRACTION_DECIMALS);
    (value * scale).round() / scale
}

/// Revenue growth from `previous` to `current` as a fraction (0.18 = +18 %), to four
/// decimals; `None` when there was no previous revenue to compare with.
pub fn growth(current: i64, previous: i64) -> Option<f64> {
    (previous != 0).then(|| fraction((current - previous) as f64 / previous as f64))
}

/// The value of a dimension as stored in the rollups.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum RawKey {
    Int(i32),
    Text(String),
}

/// A dimension value as shown: a stable key and a name for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Kind or channel (`TERROIR`, `ONLINE`), segment or cooperative slug, region code.
    pub key: String,
    pub label: String,
}

/// One value of a breakdown.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakdownRow {
    pub key: Key,
    pub figures: Figures,
    /// Share of the range's revenue, as a fraction.
    pub share: f64,
    /// The same figures over the compared range (zeros when it had none).
    pub previous: Option<Figures>,
    /// Revenue growth on the compared range.
    pub growth: Option<f64>,
}

/// Sales of a range by one dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct Breakdown {
    pub range: DateRange,
    pub compared: Option<DateRange>,
    pub total: Figures,
    pub previous_total: Option<Figures>,
    /// By revenue, largest first (then by key). With a comparison, values that sold only
    /// in the compared range are listed too, with zero figures.
    pub rows: Vec<BreakdownRow>,
}

/// One point of a trend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendPoint {
    /// The first day of the period (a Monday for weeks), even when the range starts
    /// later: the figures cover only the part of the period inside the range.
    pub period_start: NaiveDate,
    /// The dimension value; `None` for a trend of the totals.
    pub key: Option<Key>,
    pub figures: Figures,
}

/// Restrictions of `topProducts`, on the lines' snapshots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductFilter {
    pub kind: Option<CooperativeKind>,
    pub segment_id: Option<i32>,
    pub region_code: Option<String>,
    pub cooperative_id: Option<i32>,
}

/// A ranked product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopProduct {
    /// 1 for the first.
    pub rank: usize,
    pub product_id: i32,
    pub items: i64,
    /// What shoppers paid, after promotions.
    pub revenue_cents: i64,
    /// What promotions took off.
    pub discount_cents: i64,
}

impl TopProduct {
    /// The revenue at list prices, before promotions.
    pub fn gross_cents(&self) -> i64 {
        self.revenue_cents + self.discount_cents
    }
}

/// How many cooperatives share a value (a kind, a region).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CooperativeCount {
    pub key: Key,
    pub count: i64,
}

/// A year of the market at a glance.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketSummary {
    pub year: i32,
    pub figures: Figures,
    pub previous: Figures,
    pub growth: Option<f64>,
    /// Cooperatives listed by the end of the year.
    pub cooperatives: i64,
    pub by_kind: Vec<CooperativeCount>,
    pub by_region: Vec<CooperativeCount>,
    /// Cooperatives listed during the year.
    pub new_cooperatives: i64,
}
