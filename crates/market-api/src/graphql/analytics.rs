//! Sales analytics: `salesBySegment`, `topProducts`, `salesTrend` and `marketSummary`.
//! Managers see the whole market; a cooperative member sees the same figures restricted
//! to its own cooperative's lines; anyone else is refused.

use crate::error::Result;
use crate::error::{AppError, AppResult};
use crate::graphql::context::{ContextExt, load_required};
use crate::graphql::enums::CooperativeKind;
use crate::graphql::ids::{self, NodeType};
use crate::graphql::loaders::ProductKey;
use crate::graphql::money::Money;
use crate::graphql::product::Product;
use crate::graphql::scalars::Date;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use market_core::domain::analytics::{
    self as da, Comparison, DateRange, Dimension, Figures, Granularity, ProductFilter, RankBy,
};

/// A range of whole days in the market's time zone, both ends included, at most ten
/// years long.
#[derive(InputObject, Clone, Copy)]
pub struct DateRangeInput {
    /// First day.
    pub from: Date,
    /// Last day (included).
    pub to: Date,
}

impl DateRangeInput {
    fn check(self) -> AppResult<DateRange> {
        DateRange::new(self.from.0, self.to.0)
    }
}

/// What sales are broken down by. Each line counts under its snapshots: the kind,
/// segment, region and cooperative it had when it was ordered.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum SalesDimension {
    /// Terroir, cosmetics or handicrafts; keys are `TERROIR`, `COSMETICS`, `HANDICRAFTS`.
    CooperativeKind,
    /// Product segment; keys are segment slugs (`olive-oil`).
    ProductSegment,
    /// Region of the cooperative; keys are region codes (`MA-03`).
    Region,
    /// Online or in the shop; keys are `ONLINE` and `STORE`.
    Channel,
    /// Cooperative; keys are cooperative slugs.
    Cooperative,
}

impl From<SalesDimension> for Dimension {
    fn from(d: SalesDimension) -> Self {
        match d {
            SalesDimension::CooperativeKind => Dimension::Kind,
            SalesDimension::ProductSegment => Dimension::Segment,
            SalesDimension::Region => Dimension::Region,
            SalesDimension::Channel => Dimension::Channel,
            SalesDimension::Cooperative => Dimension::Cooperative,
        }
    }
}

/// What a breakdown is compared with.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum SalesComparison {
    /// No comparison: `previous` and `growth` are null.
    #[default]
    None,
    /// The same number of days just before `from`.
    PreviousPeriod,
    /// The same dates one year earlier (29 February is compared with 28 February).
    PreviousYear,
}

impl From<SalesComparison> for Comparison {
    fn from(c: SalesComparison) -> Self {
        match c {
            SalesComparison::None => Comparison::None,
            SalesComparison::PreviousPeriod => Comparison::PreviousPeriod,
            SalesComparison::PreviousYear => Comparison::PreviousYear,
        }
    }
}

/// The periods of a trend, in the market's time zone.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum SalesGranularity {
    /// Days.
    Day,
    /// ISO weeks, starting on Monday.
    Week,
    /// Calendar months.
    Month,
    /// Calendar years.
    Year,
}

impl From<SalesGranularity> for Granularity {
    fn from(g: SalesGranularity) -> Self {
        match g {
            SalesGranularity::Day => Granularity::Day,
            SalesGranularity::Week => Granularity::Week,
            SalesGranularity::Month => Granularity::Month,
            SalesGranularity::Year => Granularity::Year,
        }
    }
}

/// How products are ranked.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ProductRanking {
    /// By items sold (then revenue).
    Volume,
    /// By revenue (then items sold).
    Value,
}

/// Restricts `topProducts` to some lines, by their snapshots; all given conditions hold.
#[derive(InputObject, Default)]
pub struct TopProductsFilter {
    /// Only products of cooperatives of this kind.
    pub kind: Option<CooperativeKind>,
    /// Only products of this segment (slug, e.g. `olive-oil`; an unknown one is
    /// `BAD_USER_INPUT` listing the segments).
    pub segment: Option<String>,
    /// Only products of cooperatives of this region (code, e.g. `MA-03`; an unknown one
    /// is `BAD_USER_INPUT` listing the codes).
    pub region: Option<String>,
    /// Only products of this cooperative (an unknown one is `BAD_USER_INPUT`).
    pub cooperative_id: Option<ID>,
}

/// Revenue, discounts, items and orders of some sales lines.
#[derive(SimpleObject, Clone, Debug)]
pub struct SalesFigures {
    /// What shoppers paid: the sum of the lines' totals, after promotions.
    pub revenue: Money,
    /// The revenue at list prices, before promotions (`revenue` + `discounts`; a gift
    /// pack's components count for their shares of the pack's price).
    pub gross_revenue: Money,
    /// What promotions took off the lines, whoever funds them (`grossRevenue` −
    /// `revenue`).
    pub discounts: Money,
    /// Units sold.
    pub items_sold: i32,
    /// Orders having at least one of the lines (an order spanning two segments counts
    /// once in each).
    pub orders: i32,
}

fn int(n: i64) -> AppResult<i32> {
    i32::try_from(n).map_err(|_| AppError::internal(format!("{n} does not fit an Int")))
}

impl SalesFigures {
    fn new(f: Figures) -> AppResult<Self> {
        Ok(Self {
            revenue: Money::mad(f.revenue_cents),
            gross_revenue: Money::mad(f.gross_cents()),
            discounts: Money::mad(f.discount_cents),
            items_sold: int(f.items)?,
            orders: int(f.orders)?,
        })
    }
}

/// One value of a breakdown (a segment, a region…).
#[derive(SimpleObject, Clone, Debug)]
pub struct SalesBreakdownRow {
    /// The value's key (see `SalesDimension` for each dimension's keys).
    pub key: String,
    /// The value's name.
    pub label: String,
    /// Revenue over the range: what shoppers paid, after promotions.
    pub revenue: Money,
    /// Revenue at list prices over the range, before promotions (`revenue` +
    /// `discounts`).
    pub gross_revenue: Money,
    /// What promotions took off over the range, whoever funds them.
    pub discounts: Money,
    /// Units sold over the range.
    pub items_sold: i32,
    /// Orders with at least one line of this value over the range.
    pub orders: i32,
    /// Share of the range's revenue, as a fraction (0.18 is 18 %).
    pub share: f64,
    /// The same figures over the compared range (zeros if it had none); null without a
    /// comparison.
    pub previous: Option<SalesFigures>,
    /// Revenue growth on the compared range, as a fraction (0.18 is +18 %); null without a
    /// comparison or when the compared range had no revenue.
    pub growth: Option<f64>,
}

/// Sales of a range broken down by one dimension.
#[derive(SimpleObject, Clone, Debug)]
pub struct SalesBreakdown {
    /// First day of the range.
    pub from: Date,
    /// Last day of the range.
    pub to: Date,
    /// First day of the compared range; null without a comparison.
    pub compared_from: Option<Date>,
    /// Last day of the compared range; null without a comparison.
    pub compared_to: Option<Date>,
    /// Figures of the whole range.
    pub total: SalesFigures,
    /// Figures of the whole compared range; null without a comparison.
    pub previous_total: Option<SalesFigures>,
    /// Revenue growth of the whole range on the compared one; null without a comparison or
    /// when the compared range had no revenue.
    pub growth: Option<f64>,
    /// One row per value, by revenue (largest first, then by key). With a comparison,
    /// values that sold only in the compared range are listed too, with zero revenue.
    pub rows: Vec<SalesBreakdownRow>,
}

/// One point of a sales trend.
#[derive(SimpleObject, Clone, Debug)]
pub struct SalesTrendPoint {
    /// First day of the period (a Monday for weeks), even when the range starts later:
    /// the figures only cover the days of the period inside the range.
    pub period_start: Date,
    /// The dimension value's key; null for a trend without dimension.
    pub key: Option<String>,
    /// The dimension value's name; null for a trend without dimension.
    pub label: Option<String>,
    /// Revenue of the period: what shoppers paid, after promotions.
    pub revenue: Money,
    /// Revenue of the period at list prices, before promotions (`revenue` +
    /// `discounts`).
    pub gross_revenue: Money,
    /// What promotions took off in the period, whoever funds them.
    pub discounts: Money,
    /// Units sold in the period.
    pub items_sold: i32,
    /// Orders of the period (with a line of the value, when there is a dimension).
    pub orders: i32,
}

/// A product among the best sellers of a range.
pub struct TopProduct(da::TopProduct);

/// A product among the best sellers of a range.
#[Object]
impl TopProduct {
    /// 1 for the best seller.
    async fn rank(&self) -> Result<i32> {
        Ok(int(self.0.rank as i64)?)
    }
    /// The product (as it is now).
    async fn product(&self, ctx: &Context<'_>) -> Result<Product> {
        Ok(Product(
            load_required(ctx, ProductKey(self.0.product_id), "product").await?,
        ))
    }
    /// Units sold over the range (within the filter).
    async fn items_sold(&self) -> Result<i32> {
        Ok(int(self.0.items)?)
    }
    /// Revenue over the range (within the filter): what shoppers paid, after promotions.
    async fn revenue(&self) -> Money {
        Money::mad(self.0.revenue_cents)
    }
    /// Revenue over the range (within the filter) at list prices, before promotions
    /// (`revenue` + `discounts`).
    async fn gross_revenue(&self) -> Money {
        Money::mad(self.0.gross_cents())
    }
    /// What promotions took off over the range (within the filter), whoever funds them.
    async fn discounts(&self) -> Money {
        Money::mad(self.0.discount_cents)
    }
}

/// How many cooperatives share a kind or a region.
#[derive(SimpleObject, Clone, Debug)]
pub struct CooperativeCount {
    /// The kind (`TERROIR`…) or region code (`MA-03`).
    pub key: String,
    /// Its name.
    pub label: String,
    /// Number of cooperatives.
    pub count: i32,
}

/// A year of the market at a glance (for a member: of its own cooperative).
#[derive(SimpleObject, Clone, Debug)]
pub struct MarketSummary {
    /// The calendar year.
    pub year: i32,
    /// Revenue of the year: what shoppers paid, after promotions.
    pub turnover: Money,
    /// Revenue of the year at list prices, before promotions (`turnover` + `discounts`).
    pub gross_turnover: Money,
    /// What promotions took off in the year, whoever funds them.
    pub discounts: Money,
    /// Units sold in the year.
    pub items_sold: i32,
    /// Orders of the year.
    pub orders: i32,
    /// The figures of the year before.
    pub previous_year: SalesFigures,
    /// Turnover growth on the year before, as a fraction (0.18 is +18 %); null when the
    /// year before had no sales.
    pub growth: Option<f64>,
    /// Cooperatives listed by the end of the year.
    pub cooperatives: i32,
    /// Those cooperatives by kind, most numerous first.
    pub cooperatives_by_kind: Vec<CooperativeCount>,
    /// Those cooperatives by region, most numerous first.
    pub cooperatives_by_region: Vec<CooperativeCount>,
    /// Cooperatives that joined the market during the year.
    pub new_cooperatives: i32,
}

fn counts(rows: Vec<da::CooperativeCount>) -> AppResult<Vec<CooperativeCount>> {
    rows.into_iter()
        .map(|c| {
            Ok(CooperativeCount {
                key: c.key.key,
                label: c.key.label,
                count: int(c.count)?,
            })
        })
        .collect()
}

/// Analytics queries.
#[derive(Default)]
pub struct AnalyticsQuery;

/// Analytics queries.
#[Object]
impl AnalyticsQuery {
    /// Sales of a range by cooperative kind, segment, region, channel or cooperative, with
    /// each value's share of the revenue and, when asked, the figures of a comparison
    /// period and the growth since. Managers; a member sees its own cooperative's lines.
    /// Refused with `INVALID_RANGE` when `to` is before `from` or the range is longer than
    /// ten years.
    async fn sales_by_segment(
        &self,
        ctx: &Context<'_>,
        range: DateRangeInput,
        dimension: SalesDimension,
        #[graphql(default)] compare_with: SalesComparison,
    ) -> Result<SalesBreakdown> {
        let scope = ctx.viewer().sales_scope()?;
        let range = range.check()?;
        let b = da::sales_by_segment(
            ctx.db(),
            scope,
            range,
            dimension.into(),
            compare_with.into(),
        )
        .await?;
        let rows = b
            .rows
            .into_iter()
            .map(|r| {
                Ok(SalesBreakdownRow {
                    key: r.key.key,
                    label: r.key.label,
                    revenue: Money::mad(r.figures.revenue_cents),
                    gross_revenue: Money::mad(r.figures.gross_cents()),
                    discounts: Money::mad(r.figures.discount_cents),
                    items_sold: int(r.figures.items)?,
                    orders: int(r.figures.orders)?,
                    share: r.share,
                    previous: r.previous.map(SalesFigures::new).transpose()?,
                    growth: r.growth,
                })
            })
            .collect::<AppResult<Vec<_>>>()?;
        Ok(SalesBreakdown {
            from: Date(b.range.from),
            to: Date(b.range.to),
            compared_from: b.compared.map(|c| Date(c.from)),
            compared_to: b.compared.map(|c| Date(c.to)),
            growth: b
                .previous_total
                .and_then(|p| da::growth(b.total.revenue_cents, p.revenue_cents)),
            total: SalesFigures::new(b.total)?,
            previous_total: b.previous_total.map(SalesFigures::new).transpose()?,
            rows,
        })
    }

    /// The best-selling products of a range, by volume or by value (`limit` 1 to 100,
    /// default 10). Managers; a member sees its own cooperative's products only.
    async fn top_products(
        &self,
        ctx: &Context<'_>,
        range: DateRangeInput,
        by: ProductRanking,
        #[graphql(default = 10)] limit: i32,
        filter: Option<TopProductsFilter>,
        #[graphql(
            default = false,
            desc = "Rank gift packs as products of their own (the packs sold, the revenue of their lines the filter keeps), their components then counting only their sales alone; by default a pack's sales count for its components (their units and shares of its revenue)."
        )]
        include_packs: bool,
    ) -> Result<Vec<TopProduct>> {
        ctx.viewer().sales_scope()?;
        let range = range.check()?;
        let f = filter.unwrap_or_default();
        let cooperative_id = f
            .cooperative_id
            .as_ref()
            .map(|id| ids::decode::<i32>(id, NodeType::Cooperative))
            .transpose()?;
        let scope = ctx.viewer().sales_scope_for(cooperative_id)?;
        let segment_id = market_core::domain::catalog::check_filter_keys(
            ctx.db(),
            market_core::domain::catalog::FilterKeys {
                segment: f.segment.as_deref(),
                region: f.region.as_deref(),
                cooperative: cooperative_id.zip(f.cooperative_id.as_ref().map(|id| id.as_str())),
            },
        )
        .await?;
        let filter = ProductFilter {
            kind: f.kind.map(Into::into),
            segment_id,
            region_code: f.region,
            cooperative_id,
        };
        let limit = usize::try_from(limit).unwrap_or(0);
        let rows = da::top_products(
            ctx.db(),
            scope,
            range,
            match by {
                ProductRanking::Volume => RankBy::Volume,
                ProductRanking::Value => RankBy::Value,
            },
            limit,
            &filter,
            include_packs,
        )
        .await?;
        Ok(rows.into_iter().map(TopProduct).collect())
    }

    /// Sales of a range period by period, in total or by one dimension (one point per
    /// period and value). Periods without sales are left out. Managers; a member sees its
    /// own cooperative's lines.
    async fn sales_trend(
        &self,
        ctx: &Context<'_>,
        range: DateRangeInput,
        granularity: SalesGranularity,
        dimension: Option<SalesDimension>,
    ) -> Result<Vec<SalesTrendPoint>> {
        let scope = ctx.viewer().sales_scope()?;
        let range = range.check()?;
        let points = da::sales_trend(
            ctx.db(),
            scope,
            range,
            granularity.into(),
            dimension.map(Into::into),
        )
        .await?;
        Ok(points
            .into_iter()
            .map(|p| {
                Ok(SalesTrendPoint {
                    period_start: Date(p.period_start),
                    label: p.key.as_ref().map(|k| k.label.clone()),
                    key: p.key.map(|k| k.key),
                    revenue: Money::mad(p.figures.revenue_cents),
                    gross_revenue: Money::mad(p.figures.gross_cents()),
                    discounts: Money::mad(p.figures.discount_cents),
                    items_sold: int(p.figures.items)?,
                    orders: int(p.figures.orders)?,
                })
            })
            .collect::<AppResult<Vec<_>>>()?)
    }

    /// A year of the market: turnover, items and orders with the growth on the year
    /// before, and the cooperatives listed by the end of the year by kind and by region,
    /// with those that joined during it. Managers; a member gets its own cooperative's.
    async fn market_summary(&self, ctx: &Context<'_>, year: i32) -> Result<MarketSummary> {
        let scope = ctx.viewer().sales_scope()?;
        let s = da::market_summary(ctx.db(), scope, year).await?;
        Ok(MarketSummary {
            year: s.year,
            turnover: Money::mad(s.figures.revenue_cents),
            gross_turnover: Money::mad(s.figures.gross_cents()),
            discounts: Money::mad(s.figures.discount_cents),
            items_sold: int(s.figures.items)?,
            orders: int(s.figures.orders)?,
            previous_year: SalesFigures::new(s.previous)?,
            growth: s.growth,
            cooperatives: int(s.cooperatives)?,
            cooperatives_by_kind: counts(s.by_kind)?,
            cooperatives_by_region: counts(s.by_region)?,
            new_cooperatives: int(s.new_cooperatives)?,
        })
    }
}
