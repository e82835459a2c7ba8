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

use crate::domain::enums::{Channel, CooperativeKind};
use crate::domain::rollups::{self, Grain, statement};
use crate::entities::{cooperative, region, segment};
use crate::error::{AppError, AppResult, UserErrorCode};
use chrono::{Duration, Months, NaiveDate};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

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

/// The `sales_cells` column that counts each order once per value of `dimension` (the
/// whole scope when `None`); see the table in `domain::rollups`.
fn orders_column(scope: SalesScope, dimension: Option<Dimension>) -> &'static str {
    match (scope, dimension) {
        (SalesScope::Cooperative(_), Some(Dimension::Segment)) => "orders_cell",
        (SalesScope::Cooperative(_), _) => "orders_cooperative",
        (SalesScope::Market, None | Some(Dimension::Channel)) => "orders_total",
        (SalesScope::Market, Some(Dimension::Kind)) => "orders_kind",
        (SalesScope::Market, Some(Dimension::Region)) => "orders_region",
        (SalesScope::Market, Some(Dimension::Segment)) => "orders_segment",
        (SalesScope::Market, Some(Dimension::Cooperative)) => "orders_cooperative",
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

/// Longest range an analytic accepts, in years.
pub const MAX_RANGE_YEARS: u32 = 10;
/// Most products `topProducts` returns.
pub const MAX_TOP_PRODUCTS: usize = 100;

/// A range of whole market-local days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    /// Checks a range: `to` not before `from`, and at most ten years long
    /// (`INVALID_RANGE` otherwise).
    pub fn new(from: NaiveDate, to: NaiveDate) -> AppResult<Self> {
        let invalid = |message: String| AppError::BadInput {
            code: UserErrorCode::InvalidRange.as_str(),
            message,
        };
        if to < from {
            return Err(invalid(format!(
                "The range ends ({to}) before it starts ({from})."
            )));
        }
        let limit = from
            .checked_add_months(Months::new(12 * MAX_RANGE_YEARS))
            .ok_or_else(|| invalid(format!("{from} is out of range.")))?;
        if to >= limit {
            return Err(invalid(format!(
                "A range covers at most {MAX_RANGE_YEARS} years ({from} to {to} is longer)."
            )));
        }
        Ok(Self { from, to })
    }

    /// The whole calendar year `year`.
    pub fn year(year: i32) -> AppResult<Self> {
        let day = |m, d| {
            NaiveDate::from_ymd_opt(year, m, d)
                .and_then(|d| crate::domain::input::check_date(d).ok())
        };
        match (day(1, 1), day(12, 31)) {
            (Some(from), Some(to)) => Ok(Self { from, to }),
            _ => Err(AppError::BadInput {
                code: UserErrorCode::InvalidRange.as_str(),
                message: format!("{year} is not a year the market can report on."),
            }),
        }
    }

    /// Number of days in the range.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The range `comparison` compares it with, if any.
    pub fn compared(&self, comparison: Comparison) -> Option<DateRange> {
        match comparison {
            Comparison::None => None,
            Comparison::PreviousPeriod => Some(DateRange {
                from: self.from - Duration::days(self.days()),
                to: self.from - Duration::days(1),
            }),
            Comparison::PreviousYear => {
                let back = |d: NaiveDate| d.checked_sub_months(Months::new(12));
                Some(DateRange {
                    from: back(self.from)?,
                    to: back(self.to)?,
                })
            }
        }
    }
}

/// Revenue, items and orders of a set of sales lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub revenue_cents: i64,
    pub items: i64,
    /// Distinct orders having at least one of the lines.
    pub orders: i64,
}

impl Figures {
    fn add(&mut self, other: &Figures) {
        self.revenue_cents += other.revenue_cents;
        self.items += other.items;
        self.orders += other.orders;
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
    pub revenue_cents: i64,
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

/// Cuts `[from, to]` into disjoint periods that cover it exactly, as coarse as possible:
/// whole years, then whole months, then whole ISO weeks, and days only at the edges (at
/// most six on each side of a run of weeks).
pub fn decompose(from: NaiveDate, to: NaiveDate) -> Vec<(Grain, NaiveDate)> {
    let mut pieces = Vec::new();
    let mut d = from;
    let fits = |grain: Grain, d: NaiveDate| grain.start(d) == d && grain.end(d) <= to;
    while d <= to {
        if fits(Grain::Year, d) {
            pieces.push((Grain::Year, d));
            d = Grain::Year.next(d);
            continue;
        }
        if fits(Grain::Month, d) {
            pieces.push((Grain::Month, d));
            d = Grain::Month.next(d);
            continue;
        }
        // Up to the next month that will be taken whole (or the end): weeks, then days.
        let next_month = Grain::Month.next(Grain::Month.start(d));
        let gap_end = if Grain::Month.end(next_month) <= to {
            next_month.pred_opt().unwrap_or(to)
        } else {
            to
        };
        while d <= gap_end {
            let week_end = d + Duration::days(6);
            if Grain::Week.start(d) == d && week_end <= gap_end {
                pieces.push((Grain::Week, d));
                d = week_end + Duration::days(1);
            } else {
                pieces.push((Grain::Day, d));
                d += Duration::days(1);
            }
        }
    }
    pieces
}

/// Runs of consecutive periods of one grain, as `(grain, first start, last start)`.
fn runs(mut pieces: Vec<(Grain, NaiveDate)>) -> Vec<(Grain, NaiveDate, NaiveDate)> {
    pieces.sort();
    pieces.dedup();
    let mut out: Vec<(Grain, NaiveDate, NaiveDate)> = Vec::new();
    for (grain, start) in pieces {
        match out.last_mut() {
            Some((g, _, last)) if *g == grain && grain.next(*last) == start => *last = start,
            _ => out.push((grain, start, start)),
        }
    }
    out
}

/// `(…) [AND cooperative_id = ?]`: the rows of `runs` (in `scope`), with `dimension =
/// code` inside every term of the `OR` when `dimension` is given: `sales_dims`' key starts
/// with `dimension`, and SQLite only walks the index once per term (`MULTI-INDEX OR`)
/// when each term holds the whole prefix — with the equality outside it scanned every
/// row of the dimension (22 ms instead of 2 ms at eight years of history).
fn where_clause(
    runs: &[(Grain, NaiveDate, NaiveDate)],
    dimension: Option<char>,
    scope: SalesScope,
    values: &mut Vec<Value>,
) -> String {
    let mut parts = Vec::with_capacity(runs.len());
    for (grain, first, last) in runs {
        if let Some(code) = dimension {
            parts.push("(dimension = ? AND grain = ? AND period_start >= ? AND period_start <= ?)");
            values.push(code.to_string().into());
        } else {
            parts.push("(grain = ? AND period_start >= ? AND period_start <= ?)");
        }
        values.extend([grain.code().into(), (*first).into(), (*last).into()]);
    }
    // Rows of imports not switched in yet do not count (`domain::rollups`).
    let mut sql = format!("({}) AND {}", parts.join(" OR "), rollups::COUNTED);
    if let SalesScope::Cooperative(id) = scope {
        sql.push_str(" AND cooperative_id = ?");
        values.push(id.into());
    }
    sql
}

/// Rows of `sales_cells` over `pieces`, summed by (period when `by_period`, dimension
/// value when `dimension`).
async fn cell_sums(
    db: &impl ConnectionTrait,
    scope: SalesScope,
    pieces: Vec<(Grain, NaiveDate)>,
    dimension: Option<Dimension>,
    by_period: bool,
) -> AppResult<Vec<(Option<(Grain, NaiveDate)>, Option<RawKey>, Figures)>> {
    let runs = runs(pieces);
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    if let (SalesScope::Market, Some(code)) = (scope, dims_code(dimension)) {
        return dim_sums(db, &runs, code, dimension, by_period).await;
    }
    let mut group = Vec::new();
    if by_period {
        group.extend(["grain", "period_start"]);
    }
    if let Some(d) = dimension {
        group.push(d.column());
    }
    let mut values = Vec::new();
    let filter = where_clause(&runs, None, scope, &mut values);
    let select = group.iter().map(|c| format!("{c}, ")).collect::<String>();
    let mut sql = format!(
        "SELECT {select}CAST(SUM(revenue_cents) AS BIGINT), CAST(SUM(items) AS BIGINT), \
         CAST(SUM({orders}) AS BIGINT) FROM sales_cells WHERE {filter}",
        orders = orders_column(scope, dimension),
    );
    if !group.is_empty() {
        sql.push_str(&format!(" GROUP BY {}", group.join(", ")));
    }
    sql.push_str(" HAVING SUM(items) > 0");
    let rows = db
        .query_all_raw(statement(db.get_database_backend(), &sql, values))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut i = 0;
        let period = if by_period {
            let code: String = row.try_get_by_index(0)?;
            let start: NaiveDate = row.try_get_by_index(1)?;
            i = 2;
            let grain = Grain::parse(&code)
                .ok_or_else(|| AppError::Internal(format!("unknown grain {code}")))?;
            Some((grain, start))
        } else {
            None
        };
        let key = match dimension {
            Some(d) if d.numeric() => {
                i += 1;
                Some(RawKey::Int(row.try_get_by_index(i - 1)?))
            }
            Some(_) => {
                i += 1;
                Some(RawKey::Text(row.try_get_by_index(i - 1)?))
            }
            None => None,
        };
        let figures = Figures {
            revenue_cents: row.try_get_by_index(i)?,
            items: row.try_get_by_index(i + 1)?,
            orders: row.try_get_by_index(i + 2)?,
        };
        out.push((period, key, figures));
    }
    Ok(out)
}

/// The code of a dimension in `sales_dims` (`None`: not kept there).
fn dims_code(dimension: Option<Dimension>) -> Option<char> {
    use crate::domain::rollups::dim;
    match dimension {
        None => Some(dim::TOTAL),
        Some(Dimension::Kind) => Some(dim::KIND),
        Some(Dimension::Segment) => Some(dim::SEGMENT),
        Some(Dimension::Region) => Some(dim::REGION),
        Some(Dimension::Channel) => Some(dim::CHANNEL),
        Some(Dimension::Cooperative) => None,
    }
}

/// [`cell_sums`] for the whole market, from `sales_dims`.
async fn dim_sums(
    db: &impl ConnectionTrait,
    runs: &[(Grain, NaiveDate, NaiveDate)],
    code: char,
    dimension: Option<Dimension>,
    by_period: bool,
) -> AppResult<Vec<(Option<(Grain, NaiveDate)>, Option<RawKey>, Figures)>> {
    let mut values: Vec<Value> = Vec::new();
    let filter = where_clause(runs, Some(code), SalesScope::Market, &mut values);
    let group = if by_period {
        "grain, period_start, \"key\""
    } else {
        "\"key\""
    };
    let sql = format!(
        "SELECT {group}, CAST(SUM(revenue_cents) AS BIGINT), CAST(SUM(items) AS BIGINT), \
         CAST(SUM(orders) AS BIGINT) FROM sales_dims WHERE {filter} \
         GROUP BY {group} HAVING SUM(items) > 0"
    );
    let rows = db
        .query_all_raw(statement(db.get_database_backend(), &sql, values))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let (period, i) = if by_period {
            let code: String = row.try_get_by_index(0)?;
            let start: NaiveDate = row.try_get_by_index(1)?;
            let grain = Grain::parse(&code)
                .ok_or_else(|| AppError::Internal(format!("unknown grain {code}")))?;
            (Some((grain, start)), 2)
        } else {
            (None, 0)
        };
        let text: String = row.try_get_by_index(i)?;
        let key = match dimension {
            None => None,
            Some(d) if d.numeric() => Some(RawKey::Int(text.parse().map_err(|_| {
                AppError::Internal(format!("unreadable key {text} in sales_dims"))
            })?)),
            Some(_) => Some(RawKey::Text(text)),
        };
        out.push((
            period,
            key,
            Figures {
                revenue_cents: row.try_get_by_index(i + 1)?,
                items: row.try_get_by_index(i + 2)?,
                orders: row.try_get_by_index(i + 3)?,
            },
        ));
    }
    Ok(out)
}

/// Totals and per-value figures of `range`.
async fn figures_by_key(
    db: &impl ConnectionTrait,
    scope: SalesScope,
    range: DateRange,
    dimension: Dimension,
) -> AppResult<(Figures, HashMap<RawKey, Figures>)> {
    let pieces = decompose(range.from, range.to);
    let total = cell_sums(db, scope, pieces.clone(), None, false)
        .await?
        .first()
        .map(|(_, _, f)| *f)
        .unwrap_or_default();
    let by_key = cell_sums(db, scope, pieces, Some(dimension), false)
        .await?
        .into_iter()
        .filter_map(|(_, k, f)| k.map(|k| (k, f)))
        .collect();
    Ok((total, by_key))
}

/// The figures of `range` in `scope`.
pub async fn totals(
    db: &impl ConnectionTrait,
    scope: SalesScope,
    range: DateRange,
) -> AppResult<Figures> {
    Ok(
        cell_sums(db, scope, decompose(range.from, range.to), None, false)
            .await?
            .first()
            .map(|(_, _, f)| *f)
            .unwrap_or_default(),
    )
}

/// Names the dimension values in `keys`.
async fn label(
    db: &impl ConnectionTrait,
    dimension: Dimension,
    keys: impl IntoIterator<Item = RawKey>,
) -> AppResult<HashMap<RawKey, Key>> {
    let keys: HashSet<RawKey> = keys.into_iter().collect();
    let mut out = HashMap::with_capacity(keys.len());
    let fixed = |key: &str, label: &str| Key {
        key: key.to_owned(),
        label: label.to_owned(),
    };
    match dimension {
        Dimension::Kind | Dimension::Channel => {
            for k in keys {
                if let RawKey::Text(text) = &k {
                    let name = match (CooperativeKind::parse(text), Channel::parse(text)) {
                        (Some(kind), _) => kind_label(kind),
                        (_, Some(Channel::Online)) => "Online",
                        (_, Some(Channel::Store)) => "Store",
                        _ => text.as_str(),
                    };
                    let key = fixed(text, name);
                    out.insert(k, key);
                }
            }
        }
        Dimension::Region => {
            let names: HashMap<String, String> = region::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .map(|r| (r.code, r.name))
                .collect();
            for k in keys {
                if let RawKey::Text(code) = &k {
                    let name = names.get(code).cloned().unwrap_or_else(|| code.clone());
                    let key = Key {
                        key: code.clone(),
                        label: name,
                    };
                    out.insert(k, key);
                }
            }
        }
        Dimension::Segment => {
            let names: HashMap<i32, (String, String)> = segment::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .map(|s| (s.id, (s.slug, s.name)))
                .collect();
            for k in keys {
                if let RawKey::Int(id) = k
                    && let Some((slug, name)) = names.get(&id)
                {
                    out.insert(k, fixed(slug, name));
                }
            }
        }
        Dimension::Cooperative => {
            let ids: Vec<i32> = keys
                .iter()
                .filter_map(|k| match k {
                    RawKey::Int(id) => Some(*id),
                    RawKey::Text(_) => None,
                })
                .collect();
            let names: HashMap<i32, (String, String)> = cooperative::Entity::find()
                .filter(cooperative::Column::Id.is_in(ids))
                .all(db)
                .await?
                .into_iter()
                .map(|c| (c.id, (c.slug, c.name)))
                .collect();
            for k in keys {
                if let RawKey::Int(id) = k
                    && let Some((slug, name)) = names.get(&id)
                {
                    out.insert(k, fixed(slug, name));
                }
            }
        }
    }
    Ok(out)
}

/// The name of a kind of cooperative, for people.
pub fn kind_label(kind: CooperativeKind) -> &'static str {
    match kind {
        CooperativeKind::Terroir => "Terroir",
        CooperativeKind::Cosmetics => "Cosmetics",
        CooperativeKind::Handicrafts => "Handicrafts",
    }
}

/// Sales of `range` by `dimension`, with their share of the total and, when asked, the
/// same figures over the compared range and the growth since.
pub async fn sales_by_segment(
    db: &impl ConnectionTrait,
    scope: SalesScope,
    range: DateRange,
    dimension: Dimension,
    comparison: Comparison,
) -> AppResult<Breakdown> {
    let compared = range.compared(comparison);
    let (total, current) = figures_by_key(db, scope, range, dimension).await?;
    let (previous_total, previous) = match compared {
        Some(c) => {
            let (t, by_key) = figures_by_key(db, scope, c, dimension).await?;
            (Some(t), by_key)
        }
        None => (None, HashMap::new()),
    };
    let keys: HashSet<RawKey> = current.keys().chain(previous.keys()).cloned().collect();
    let labels = label(db, dimension, keys.iter().cloned()).await?;
    let mut rows: Vec<BreakdownRow> = keys
        .into_iter()
        .filter_map(|k| {
            let figures = current.get(&k).copied().unwrap_or_default();
            let before = compared.map(|_| previous.get(&k).copied().unwrap_or_default());
            Some(BreakdownRow {
                key: labels.get(&k)?.clone(),
                share: share(figures.revenue_cents, total.revenue_cents),
                growth: before.and_then(|b| growth(figures.revenue_cents, b.revenue_cents)),
                previous: before,
                figures,
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        b.figures
            .revenue_cents
            .cmp(&a.figures.revenue_cents)
            .then_with(|| a.key.key.cmp(&b.key.key))
    });
    Ok(Breakdown {
        range,
        compared,
        total,
        previous_total,
        rows,
    })
}

fn share(part: i64, total: i64) -> f64 {
    if total == 0 {
        0.0
    } else {
        fraction(part as f64 / total as f64)
    }
}

/// Sales of `range` period by period (and by `dimension` when given). Periods without
/// sales are left out.
pub async fn sales_trend(
    db: &impl ConnectionTrait,
    scope: SalesScope,
    range: DateRange,
    granularity: Granularity,
    dimension: Option<Dimension>,
) -> AppResult<Vec<TrendPoint>> {
    let grain = granularity.grain();
    let mut pieces = Vec::new();
    let mut bucket = grain.start(range.from);
    while bucket <= range.to {
        let from = bucket.max(range.from);
        let to = grain.end(bucket).min(range.to);
        pieces.extend(decompose(from, to));
        bucket = grain.next(bucket);
    }
    let rows = cell_sums(db, scope, pieces, dimension, true).await?;
    // Every piece lies inside one period of the trend: its start says which.
    let mut points: BTreeMap<(NaiveDate, Option<RawKey>), Figures> = BTreeMap::new();
    for (period, key, figures) in rows {
        let Some((_, start)) = period else { continue };
        points
            .entry((grain.start(start), key))
            .or_default()
            .add(&figures);
    }
    let labels = match dimension {
        Some(d) => label(db, d, points.keys().filter_map(|(_, k)| k.clone())).await?,
        None => HashMap::new(),
    };
    let mut out: Vec<TrendPoint> = points
        .into_iter()
        .filter(|(_, f)| f.items > 0)
        .map(|((period_start, key), figures)| TrendPoint {
            period_start,
            key: key.and_then(|k| labels.get(&k).cloned()),
            figures,
        })
        .collect();
    out.sort_by(|a, b| {
        a.period_start.cmp(&b.period_start).then_with(|| {
            let key = |p: &TrendPoint| p.key.as_ref().map(|k| k.key.clone());
            key(a).cmp(&key(b))
        })
    });
    Ok(out)
}

/// The best-selling products of `range`, by volume or by value, at most `limit`
/// (1 to 100). Ties are broken by the other measure, then by product id.
pub async fn top_products(
    db: &impl ConnectionTrait,
    scope: SalesScope,
    range: DateRange,
    by: RankBy,
    limit: usize,
    filter: &ProductFilter,
) -> AppResult<Vec<TopProduct>> {
    if !(1..=MAX_TOP_PRODUCTS).contains(&limit) {
        return Err(AppError::bad_input(format!(
            "`limit` is 1 to {MAX_TOP_PRODUCTS}."
        )));
    }
    let runs = runs(decompose(range.from, range.to));
    let mut values = Vec::new();
    // Products have no week rows: weeks are read as their days.
    let runs: Vec<(Grain, NaiveDate, NaiveDate)> = runs
        .into_iter()
        .map(|(g, first, last)| match g {
            Grain::Week => (Grain::Day, first, Grain::Week.end(last)),
            other => (other, first, last),
        })
        .collect();
    let mut sql = format!(
        "SELECT product_id, CAST(SUM(items) AS BIGINT) AS sold, \
         CAST(SUM(revenue_cents) AS BIGINT) AS revenue FROM sales_products WHERE {}",
        where_clause(&runs, None, scope, &mut values)
    );
    if let Some(kind) = filter.kind {
        sql.push_str(" AND kind = ?");
        values.push(kind.as_str().into());
    }
    if let Some(id) = filter.segment_id {
        sql.push_str(" AND segment_id = ?");
        values.push(id.into());
    }
    if let Some(code) = &filter.region_code {
        sql.push_str(" AND region_code = ?");
        values.push(code.clone().into());
    }
    if let Some(id) = filter.cooperative_id {
        sql.push_str(" AND cooperative_id = ?");
        values.push(id.into());
    }
    sql.push_str(match by {
        RankBy::Volume => {
            " GROUP BY product_id HAVING SUM(items) > 0 \
             ORDER BY sold DESC, revenue DESC, product_id LIMIT ?"
        }
        RankBy::Value => {
            " GROUP BY product_id HAVING SUM(items) > 0 \
             ORDER BY revenue DESC, sold DESC, product_id LIMIT ?"
        }
    });
    values.push((limit as i64).into());
    let rows = db
        .query_all_raw(statement(db.get_database_backend(), &sql, values))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        out.push(TopProduct {
            rank: i + 1,
            product_id: row.try_get_by_index(0)?,
            items: row.try_get_by_index(1)?,
            revenue_cents: row.try_get_by_index(2)?,
        });
    }
    Ok(out)
}

/// The market's year: turnover, items and orders with the growth on the year before, and
/// its cooperatives (listed by the end of the year) by kind and by region.
pub async fn market_summary(
    db: &impl ConnectionTrait,
    scope: SalesScope,
    year: i32,
) -> AppResult<MarketSummary> {
    let range = DateRange::year(year)?;
    let figures = totals(db, scope, range).await?;
    let previous = match DateRange::year(year - 1) {
        Ok(r) => totals(db, scope, r).await?,
        Err(_) => Figures::default(),
    };
    let mut select =
        cooperative::Entity::find().filter(cooperative::Column::ListedSince.lte(range.to));
    if let SalesScope::Cooperative(id) = scope {
        select = select.filter(cooperative::Column::Id.eq(id));
    }
    let coops = select.all(db).await?;
    let regions: HashMap<String, String> = region::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.code, r.name))
        .collect();
    let mut by_kind: BTreeMap<String, (String, i64)> = BTreeMap::new();
    let mut by_region: BTreeMap<String, (String, i64)> = BTreeMap::new();
    for c in &coops {
        by_kind
            .entry(c.kind.as_str().to_owned())
            .or_insert_with(|| (kind_label(c.kind).to_owned(), 0))
            .1 += 1;
        let name = regions
            .get(&c.region_code)
            .cloned()
            .unwrap_or_else(|| c.region_code.clone());
        by_region
            .entry(c.region_code.clone())
            .or_insert_with(|| (name, 0))
            .1 += 1;
    }
    let counts = |map: BTreeMap<String, (String, i64)>| {
        let mut v: Vec<CooperativeCount> = map
            .into_iter()
            .map(|(key, (label, count))| CooperativeCount {
                key: Key { key, label },
                count,
            })
            .collect();
        v.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.key.key.cmp(&b.key.key))
        });
        v
    };
    Ok(MarketSummary {
        year,
        figures,
        previous,
        growth: growth(figures.revenue_cents, previous.revenue_cents),
        cooperatives: coops.len() as i64,
        by_kind: counts(by_kind),
        by_region: counts(by_region),
        new_cooperatives: coops
            .iter()
            .filter(|c| c.listed_since >= range.from)
            .count() as i64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Every day of the range is covered by exactly one piece.
    fn check_cover(from: NaiveDate, to: NaiveDate) -> Vec<(Grain, NaiveDate)> {
        let pieces = decompose(from, to);
        let mut covered = Vec::new();
        for (grain, start) in &pieces {
            assert_eq!(grain.start(*start), *start);
            let mut d = *start;
            while d <= grain.end(*start) {
                covered.push(d);
                d += Duration::days(1);
            }
        }
        let expected: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
        assert_eq!(covered, expected, "{from}..{to}: {pieces:?}");
        pieces
    }

    #[test]
    fn a_range_is_cut_into_years_months_weeks_and_edge_days() {
        let full = check_cover(day(2024, 1, 1), day(2024, 12, 31));
        assert_eq!(full, vec![(Grain::Year, day(2024, 1, 1))]);
        let shifted = check_cover(day(2024, 3, 15), day(2025, 3, 14));
        let days = shifted.iter().filter(|(g, _)| *g == Grain::Day).count();
        assert!(days <= 24, "{shifted:?}");
        assert_eq!(
            shifted.iter().filter(|(g, _)| *g == Grain::Month).count(),
            11
        );
        for (from, to) in [
            (day(2023, 12, 31), day(2024, 1, 1)),
            (day(2024, 2, 29), day(2024, 3, 31)),
            (day(2020, 1, 2), day(2027, 12, 30)),
            (day(2024, 1, 29), day(2024, 2, 4)),
            (day(2025, 6, 2), day(2025, 6, 2)),
        ] {
            check_cover(from, to);
        }
    }

    #[test]
    fn comparison_ranges_follow_the_calendar() {
        let r = DateRange::new(day(2024, 2, 10), day(2024, 2, 29)).unwrap();
        assert_eq!(
            r.compared(Comparison::PreviousPeriod),
            Some(DateRange {
                from: day(2024, 1, 21),
                to: day(2024, 2, 9)
            })
        );
        assert_eq!(
            r.compared(Comparison::PreviousYear),
            Some(DateRange {
                from: day(2023, 2, 10),
                to: day(2023, 2, 28)
            })
        );
        assert!(DateRange::new(day(2024, 1, 2), day(2024, 1, 1)).is_err());
        assert!(DateRange::new(day(2014, 1, 1), day(2023, 12, 31)).is_ok());
        assert!(DateRange::new(day(2014, 1, 1), day(2024, 1, 1)).is_err());
    }
}
