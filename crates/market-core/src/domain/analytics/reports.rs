//! The analytics the API answers: breakdowns with comparisons, trends, top products and
//! the yearly summary.

use super::labels::{kind_label, label};
use super::ranges::{decompose, runs};
use super::sql::{cell_sums, figures_by_key, totals, where_clause};
use super::*;
use crate::domain::rollups::statement;
use crate::entities::{cooperative, region};
use crate::error::{AppError, AppResult};
use chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Sales of `range` by `dimension`, with their share of the total and, when asked, the
/// same figures over the compared range and the growth since.
#[tracing::instrument(skip(db))]
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
#[tracing::instrument(skip(db))]
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
///
/// A gift pack's sales count for its components (their units and shares of its revenue),
/// unless `include_packs`: then packs are ranked as products of their own (the packs sold,
/// and the revenue of their lines that the filter keeps) and their components count only
/// their sales alone — every centime is counted once either way.
#[tracing::instrument(skip(db, filter))]
pub async fn top_products(
    db: &impl ConnectionTrait,
    scope: SalesScope,
    range: DateRange,
    by: RankBy,
    limit: usize,
    filter: &ProductFilter,
    include_packs: bool,
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
         CAST(SUM(revenue_cents) AS BIGINT) AS revenue, \
         CAST(SUM(discount_cents) AS BIGINT) FROM sales_products WHERE {}",
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
    // With packs, every product's figures are needed before the packs' are taken out.
    values.push(
        (if include_packs {
            i64::MAX
        } else {
            limit as i64
        })
        .into(),
    );
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
            discount_cents: row.try_get_by_index(3)?,
        });
    }
    if include_packs {
        out = with_packs(db, scope, range, by, limit, filter, out).await?;
    }
    Ok(out)
}

/// [`top_products`] with packs ranked as products: the pack lines of the range (read from
/// the order lines: few, and not in the rollups by pack) are taken out of their
/// components' figures and added up per pack — its revenue (and discounts) the sum of its
/// lines' shares, its items the packs sold.
async fn with_packs(
    db: &impl ConnectionTrait,
    scope: SalesScope,
    range: DateRange,
    by: RankBy,
    limit: usize,
    filter: &ProductFilter,
    products: Vec<TopProduct>,
) -> AppResult<Vec<TopProduct>> {
    let tz = crate::domain::rollups::timezone(db).await?;
    let instants = crate::domain::market_time::days_range(range.from, range.to, tz);
    let mut values: Vec<sea_orm::Value> = vec![instants.start.into(), instants.end.into()];
    let mut conditions = String::new();
    let mut add = |condition: &str, value: sea_orm::Value| {
        conditions.push_str(condition);
        values.push(value);
    };
    if let SalesScope::Cooperative(id) = scope {
        add(" AND l.cooperative_id = ?", id.into());
    }
    if let Some(kind) = filter.kind {
        add(" AND l.kind = ?", kind.as_str().into());
    }
    if let Some(id) = filter.segment_id {
        add(" AND l.segment_id = ?", id.into());
    }
    if let Some(code) = &filter.region_code {
        add(" AND l.region_code = ?", code.clone().into());
    }
    if let Some(id) = filter.cooperative_id {
        add(" AND l.cooperative_id = ?", id.into());
    }
    let sql = format!(
        "SELECT l.order_id, l.pack_id, l.product_id, l.pack_quantity,          CAST(l.quantity AS BIGINT), l.total_cents, l.discount_cents          FROM order_lines l JOIN orders o ON o.id = l.order_id          WHERE l.pack_id IS NOT NULL AND o.status IN ('PAID', 'FULFILLED')          AND o.placed_at >= ? AND o.placed_at < ?          AND (o.import_batch_id IS NULL OR o.import_batch_id IN               (SELECT id FROM import_batches WHERE state = 'DONE')){conditions}"
    );
    let rows = db
        .query_all_raw(statement(db.get_database_backend(), &sql, values))
        .await?;
    // (items, revenue, discounts) by product.
    let mut figures: HashMap<i32, (i64, i64, i64)> = products
        .iter()
        .map(|p| (p.product_id, (p.items, p.revenue_cents, p.discount_cents)))
        .collect();
    let mut packs: HashMap<i32, (i64, i64, i64)> = HashMap::new();
    let mut counted: HashSet<(i64, i32)> = HashSet::new();
    for row in rows {
        let order_id: i64 = row.try_get_by_index(0)?;
        let pack_id: i32 = row.try_get_by_index(1)?;
        let product_id: i32 = row.try_get_by_index(2)?;
        let packs_sold: Option<i32> = row.try_get_by_index(3)?;
        let units: i64 = row.try_get_by_index(4)?;
        let total: i64 = row.try_get_by_index(5)?;
        let discount: i64 = row.try_get_by_index(6)?;
        let component = figures.entry(product_id).or_default();
        component.0 -= units;
        component.1 -= total;
        component.2 -= discount;
        let pack = packs.entry(pack_id).or_default();
        if counted.insert((order_id, pack_id)) {
            pack.0 += i64::from(packs_sold.unwrap_or(0));
        }
        pack.1 += total;
        pack.2 += discount;
    }
    figures.extend(packs);
    let mut ranked: Vec<TopProduct> = figures
        .into_iter()
        .filter(|(_, (items, _, _))| *items > 0)
        .map(
            |(product_id, (items, revenue_cents, discount_cents))| TopProduct {
                rank: 0,
                product_id,
                items,
                revenue_cents,
                discount_cents,
            },
        )
        .collect();
    ranked.sort_by(|a, b| {
        let (first, second) = match by {
            RankBy::Volume => (b.items.cmp(&a.items), b.revenue_cents.cmp(&a.revenue_cents)),
            RankBy::Value => (b.revenue_cents.cmp(&a.revenue_cents), b.items.cmp(&a.items)),
        };
        first.then(second).then(a.product_id.cmp(&b.product_id))
    });
    ranked.truncate(limit);
    for (i, p) in ranked.iter_mut().enumerate() {
        p.rank = i + 1;
    }
    Ok(ranked)
}

/// The market's year: turnover, items and orders with the growth on the year before, and
/// its cooperatives (listed by the end of the year) by kind and by region.
#[tracing::instrument(skip(db))]
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
