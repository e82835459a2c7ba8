//! A change to the rollups — one order entering or leaving the sales, or a whole import
//! or rebuild — accumulated in memory, and how it is written.

use super::{Grain, LIVE, dim, statement};
use crate::domain::enums::{Channel, CooperativeKind};
use crate::entities::order_line;
use crate::error::AppResult;
use chrono::NaiveDate;
use sea_orm::ConnectionTrait;
use std::collections::{BTreeMap, HashMap};

/// The grains of `sales_cells`.
const CELL_GRAINS: [Grain; 4] = [Grain::Day, Grain::Week, Grain::Month, Grain::Year];
/// The grains of `sales_products`.
const PRODUCT_GRAINS: [Grain; 3] = [Grain::Day, Grain::Month, Grain::Year];

/// What the rollups need of one order line: its snapshots, quantity, total and the
/// discount a promotion took off it (the line's list-price revenue is the sum of both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleLine {
    pub product_id: i32,
    pub cooperative_id: i32,
    pub segment_id: i32,
    pub kind: CooperativeKind,
    pub region_code: String,
    pub quantity: i32,
    pub total_cents: i64,
    pub discount_cents: i64,
}

impl From<&order_line::Model> for SaleLine {
    fn from(l: &order_line::Model) -> Self {
        Self {
            product_id: l.product_id,
            cooperative_id: l.cooperative_id,
            segment_id: l.segment_id,
            kind: l.kind,
            region_code: l.region_code.clone(),
            quantity: l.quantity,
            total_cents: l.total_cents,
            discount_cents: l.discount_cents,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct CellKey {
    grain: Grain,
    period_start: NaiveDate,
    cooperative_id: i32,
    segment_id: i32,
    channel: Channel,
    kind: CooperativeKind,
    region_code: String,
}

/// Sums of one `sales_cells` row (or a change to one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct CellSums {
    revenue_cents: i64,
    discount_cents: i64,
    items: i64,
    orders_total: i64,
    orders_kind: i64,
    orders_region: i64,
    orders_segment: i64,
    orders_cooperative: i64,
    orders_cell: i64,
}

impl CellSums {
    fn add(&mut self, other: &CellSums, sign: i64) {
        self.revenue_cents += sign * other.revenue_cents;
        self.discount_cents += sign * other.discount_cents;
        self.items += sign * other.items;
        self.orders_total += sign * other.orders_total;
        self.orders_kind += sign * other.orders_kind;
        self.orders_region += sign * other.orders_region;
        self.orders_segment += sign * other.orders_segment;
        self.orders_cooperative += sign * other.orders_cooperative;
        self.orders_cell += sign * other.orders_cell;
    }
}

/// Sums of one `sales_products` row, or the sales sums of a `sales_dims` row (or a
/// change to one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct LineSums {
    revenue_cents: i64,
    discount_cents: i64,
    items: i64,
}

impl LineSums {
    fn add(&mut self, revenue_cents: i64, discount_cents: i64, items: i64, sign: i64) {
        self.revenue_cents += sign * revenue_cents;
        self.discount_cents += sign * discount_cents;
        self.items += sign * items;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct ProductKey {
    grain: Grain,
    period_start: NaiveDate,
    product_id: i32,
    cooperative_id: i32,
    segment_id: i32,
    kind: CooperativeKind,
    region_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct DimKey {
    dimension: char,
    grain: Grain,
    period_start: NaiveDate,
    key: String,
}

/// A change to the rollups, accumulated in memory and written by [`apply`]: one order
/// entering or leaving the sales, or a whole import or rebuild.
#[derive(Debug, Default)]
pub struct Delta {
    cells: HashMap<CellKey, CellSums>,
    products: HashMap<ProductKey, LineSums>,
    /// Sales sums and orders by dimension value.
    dims: HashMap<DimKey, (LineSums, i64)>,
}

impl Delta {
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty() && self.products.is_empty() && self.dims.is_empty()
    }

    /// Adds (`sign` = 1) or removes (`sign` = -1) one order of sales day `day`.
    pub fn add_order(&mut self, day: NaiveDate, channel: Channel, lines: &[SaleLine], sign: i64) {
        // The order's cells, in the fixed order that picks each dimension's carrier.
        let mut cells: BTreeMap<(i32, i32, CooperativeKind, &str), CellSums> = BTreeMap::new();
        for l in lines {
            let sums = cells
                .entry((
                    l.cooperative_id,
                    l.segment_id,
                    l.kind,
                    l.region_code.as_str(),
                ))
                .or_default();
            sums.revenue_cents += l.total_cents;
            sums.discount_cents += l.discount_cents;
            sums.items += i64::from(l.quantity);
        }
        let mut kinds = Vec::new();
        let mut regions: Vec<&str> = Vec::new();
        let mut segments = Vec::new();
        let mut coops = Vec::new();
        let mut first = true;
        for ((coop, segment, kind, region), sums) in cells.iter_mut() {
            sums.orders_cell = 1;
            sums.orders_total = i64::from(std::mem::take(&mut first));
            sums.orders_kind = i64::from(first_time(&mut kinds, *kind));
            sums.orders_region = i64::from(first_time(&mut regions, *region));
            sums.orders_segment = i64::from(first_time(&mut segments, *segment));
            sums.orders_cooperative = i64::from(first_time(&mut coops, *coop));
        }
        for ((coop, segment, kind, region), sums) in &cells {
            for grain in CELL_GRAINS {
                let key = CellKey {
                    grain,
                    period_start: grain.start(day),
                    cooperative_id: *coop,
                    segment_id: *segment,
                    channel,
                    kind: *kind,
                    region_code: (*region).to_owned(),
                };
                self.cells.entry(key).or_default().add(sums, sign);
            }
        }
        // The order's values in each dimension, each counting the order once.
        let mut values: BTreeMap<(char, String), LineSums> = BTreeMap::new();
        for ((_, segment, kind, region), sums) in &cells {
            for (dimension, key) in [
                (dim::TOTAL, String::new()),
                (dim::KIND, kind.as_str().to_owned()),
                (dim::SEGMENT, segment.to_string()),
                (dim::REGION, (*region).to_owned()),
                (dim::CHANNEL, channel.as_str().to_owned()),
            ] {
                values.entry((dimension, key)).or_default().add(
                    sums.revenue_cents,
                    sums.discount_cents,
                    sums.items,
                    1,
                );
            }
        }
        for ((dimension, key), sums) in values {
            for grain in CELL_GRAINS {
                let k = DimKey {
                    dimension,
                    grain,
                    period_start: grain.start(day),
                    key: key.clone(),
                };
                let v = self.dims.entry(k).or_default();
                v.0.add(sums.revenue_cents, sums.discount_cents, sums.items, sign);
                v.1 += sign;
            }
        }
        for l in lines {
            for grain in PRODUCT_GRAINS {
                let key = ProductKey {
                    grain,
                    period_start: grain.start(day),
                    product_id: l.product_id,
                    cooperative_id: l.cooperative_id,
                    segment_id: l.segment_id,
                    kind: l.kind,
                    region_code: l.region_code.clone(),
                };
                self.products.entry(key).or_default().add(
                    l.total_cents,
                    l.discount_cents,
                    i64::from(l.quantity),
                    sign,
                );
            }
        }
    }
}

/// True the first time `value` is seen (and remembers it).
fn first_time<T: PartialEq>(seen: &mut Vec<T>, value: T) -> bool {
    if seen.contains(&value) {
        false
    } else {
        seen.push(value);
        true
    }
}

impl Delta {
    /// How many rollup rows it writes.
    pub fn rows(&self) -> usize {
        self.cells.len() + self.products.len() + self.dims.len()
    }

    /// Its rows in key order, to be written a part at a time ([`Parts::next_part`]).
    pub fn into_parts(self) -> Parts {
        fn sorted<K: Ord, V>(map: HashMap<K, V>) -> std::vec::IntoIter<(K, V)> {
            let mut rows: Vec<(K, V)> = map.into_iter().collect();
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            rows.into_iter()
        }
        Parts {
            cells: sorted(self.cells),
            products: sorted(self.products),
            dims: sorted(self.dims),
        }
    }
}

/// The rows of a [`Delta`], in key order, handed out a part at a time: an import writes
/// its rollups one part per transaction.
pub struct Parts {
    cells: std::vec::IntoIter<(CellKey, CellSums)>,
    products: std::vec::IntoIter<(ProductKey, LineSums)>,
    dims: std::vec::IntoIter<(DimKey, (LineSums, i64))>,
}

impl Parts {
    /// The next `rows` rows (at least one) as a delta of their own; `None` once all given.
    pub fn next_part(&mut self, rows: usize) -> Option<Delta> {
        let mut part = Delta::default();
        let mut left = rows.max(1);
        while left > 0 {
            if let Some((k, v)) = self.cells.next() {
                part.cells.insert(k, v);
            } else if let Some((k, v)) = self.products.next() {
                part.products.insert(k, v);
            } else if let Some((k, v)) = self.dims.next() {
                part.dims.insert(k, v);
            } else {
                break;
            }
            left -= 1;
        }
        (!part.is_empty()).then_some(part)
    }
}

/// Rows per upsert statement: 17 values a cell row, well under both databases' limits.
const UPSERT_ROWS: usize = 500;

/// Writes `delta` into the live rollups (see [`apply_as`]).
pub async fn apply(db: &impl ConnectionTrait, delta: Delta) -> AppResult<()> {
    apply_as(db, delta, LIVE).await
}

/// Writes `delta` into the rollup rows of `batch` ([`LIVE`], or an import's batch): one
/// multi-row `INSERT … ON CONFLICT DO UPDATE` that adds to existing rows per few hundred
/// rows. Rows are written in key order, so two transactions touching the same rows lock
/// them in the same order and cannot deadlock.
pub async fn apply_as(db: &impl ConnectionTrait, delta: Delta, batch: i64) -> AppResult<()> {
    let backend = db.get_database_backend();
    let mut cells: Vec<(CellKey, CellSums)> = delta.cells.into_iter().collect();
    cells.sort_by(|a, b| a.0.cmp(&b.0));
    for chunk in cells.chunks(UPSERT_ROWS) {
        let mut sql = String::from(
            "INSERT INTO sales_cells (grain, period_start, cooperative_id, segment_id, channel, \
             kind, region_code, revenue_cents, discount_cents, items, orders_total, orders_kind, \
             orders_region, orders_segment, orders_cooperative, orders_cell, batch_id) VALUES ",
        );
        let mut values = Vec::with_capacity(chunk.len() * 17);
        for (i, (k, s)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
            values.extend([
                k.grain.code().into(),
                k.period_start.into(),
                k.cooperative_id.into(),
                k.segment_id.into(),
                k.channel.as_str().into(),
                k.kind.as_str().into(),
                k.region_code.clone().into(),
                s.revenue_cents.into(),
                s.discount_cents.into(),
                s.items.into(),
                s.orders_total.into(),
                s.orders_kind.into(),
                s.orders_region.into(),
                s.orders_segment.into(),
                s.orders_cooperative.into(),
                s.orders_cell.into(),
                batch.into(),
            ]);
        }
        sql.push_str(
            " ON CONFLICT (grain, period_start, cooperative_id, segment_id, channel, kind, \
             region_code, batch_id) DO UPDATE SET ",
        );
        let sets: Vec<String> = super::batches::SALES_CELLS_SUMS
            .iter()
            .map(|c| format!("{c} = sales_cells.{c} + excluded.{c}"))
            .collect();
        sql.push_str(&sets.join(", "));
        db.execute_raw(statement(backend, &sql, values)).await?;
    }

    let mut products: Vec<(ProductKey, LineSums)> = delta.products.into_iter().collect();
    products.sort_by(|a, b| a.0.cmp(&b.0));
    for chunk in products.chunks(UPSERT_ROWS) {
        let mut sql = String::from(
            "INSERT INTO sales_products (grain, period_start, product_id, cooperative_id, \
             segment_id, kind, region_code, revenue_cents, discount_cents, items, batch_id) \
             VALUES ",
        );
        let mut values = Vec::with_capacity(chunk.len() * 11);
        for (i, (k, s)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str("(?,?,?,?,?,?,?,?,?,?,?)");
            values.extend([
                k.grain.code().into(),
                k.period_start.into(),
                k.product_id.into(),
                k.cooperative_id.into(),
                k.segment_id.into(),
                k.kind.as_str().into(),
                k.region_code.clone().into(),
                s.revenue_cents.into(),
                s.discount_cents.into(),
                s.items.into(),
                batch.into(),
            ]);
        }
        sql.push_str(
            " ON CONFLICT (grain, period_start, product_id, cooperative_id, segment_id, kind, \
             region_code, batch_id) DO UPDATE SET \
             revenue_cents = sales_products.revenue_cents + excluded.revenue_cents, \
             discount_cents = sales_products.discount_cents + excluded.discount_cents, \
             items = sales_products.items + excluded.items",
        );
        db.execute_raw(statement(backend, &sql, values)).await?;
    }

    let mut dims: Vec<(DimKey, (LineSums, i64))> = delta.dims.into_iter().collect();
    dims.sort_by(|a, b| a.0.cmp(&b.0));
    for chunk in dims.chunks(UPSERT_ROWS) {
        let mut sql = String::from(
            "INSERT INTO sales_dims (dimension, grain, period_start, \"key\", revenue_cents, \
             discount_cents, items, orders, batch_id) VALUES ",
        );
        let mut values = Vec::with_capacity(chunk.len() * 9);
        for (i, (k, (s, orders))) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str("(?,?,?,?,?,?,?,?,?)");
            values.extend([
                k.dimension.to_string().into(),
                k.grain.code().into(),
                k.period_start.into(),
                k.key.clone().into(),
                s.revenue_cents.into(),
                s.discount_cents.into(),
                s.items.into(),
                (*orders).into(),
                batch.into(),
            ]);
        }
        sql.push_str(
            " ON CONFLICT (dimension, grain, period_start, \"key\", batch_id) DO UPDATE SET \
             revenue_cents = sales_dims.revenue_cents + excluded.revenue_cents, \
             discount_cents = sales_dims.discount_cents + excluded.discount_cents, \
             items = sales_dims.items + excluded.items, \
             orders = sales_dims.orders + excluded.orders",
        );
        db.execute_raw(statement(backend, &sql, values)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(product: i32, coop: i32, segment: i32, kind: CooperativeKind, q: i32) -> SaleLine {
        SaleLine {
            product_id: product,
            cooperative_id: coop,
            segment_id: segment,
            kind,
            region_code: format!("MA-0{}", coop % 9 + 1),
            quantity: q,
            total_cents: 1000 * i64::from(q),
            discount_cents: 100 * i64::from(q),
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn grains_start_and_end_where_the_calendar_says() {
        let d = day(2024, 2, 29);
        assert_eq!(Grain::Week.start(d), day(2024, 2, 26));
        assert_eq!(Grain::Month.start(d), day(2024, 2, 1));
        assert_eq!(Grain::Month.end(day(2024, 2, 1)), d);
        assert_eq!(Grain::Year.start(d), day(2024, 1, 1));
        assert_eq!(Grain::Year.end(day(2024, 1, 1)), day(2024, 12, 31));
        // 1 January 2026 is a Thursday: its ISO week began in 2025.
        assert_eq!(Grain::Week.start(day(2026, 1, 1)), day(2025, 12, 29));
    }

    #[test]
    fn each_dimension_value_of_an_order_is_carried_by_exactly_one_cell() {
        use CooperativeKind::*;
        // Two cooperatives, the same segment in both, two segments in the first.
        let lines = [
            line(1, 7, 3, Terroir, 2),
            line(2, 7, 3, Terroir, 1),
            line(3, 7, 4, Terroir, 1),
            line(4, 9, 3, Terroir, 5),
        ];
        let mut delta = Delta::default();
        delta.add_order(day(2025, 3, 3), Channel::Online, &lines, 1);
        let year: Vec<&CellSums> = delta
            .cells
            .iter()
            .filter(|(k, _)| k.grain == Grain::Year)
            .map(|(_, s)| s)
            .collect();
        assert_eq!(year.len(), 3);
        let sum = |f: fn(&CellSums) -> i64| year.iter().map(|s| f(s)).sum::<i64>();
        assert_eq!(sum(|s| s.items), 9);
        assert_eq!(sum(|s| s.discount_cents), 900);
        assert_eq!(sum(|s| s.orders_total), 1);
        assert_eq!(sum(|s| s.orders_kind), 1);
        assert_eq!(sum(|s| s.orders_segment), 2);
        assert_eq!(sum(|s| s.orders_cooperative), 2);
        assert_eq!(sum(|s| s.orders_cell), 3);
        // Removing the order leaves nothing but zeros.
        delta.add_order(day(2025, 3, 3), Channel::Online, &lines, -1);
        assert!(delta.cells.values().all(|s| *s == CellSums::default()));
        assert!(delta.products.values().all(|s| *s == LineSums::default()));
        assert!(delta.dims.values().all(|s| *s == (LineSums::default(), 0)));
    }
}
