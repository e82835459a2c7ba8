//! The sales rollups behind the analytics: exact sums of the sales lines by market-local
//! period, kept in step with every order that enters or leaves the sales.
//!
//! # What a sale is
//!
//! A sales line is a line of an order that is `PAID` or `FULFILLED`. An order enters the
//! sales when it becomes `PAID` and leaves them when it is `CANCELLED` or `REFUNDED` from
//! `PAID` or `FULFILLED`; `FULFILLED` changes nothing. Each line is dated by its order's
//! `placed_at` in the market's time zone (the *sales day*), computed here, in Rust, with
//! the zone the rollups were built in (stored in `sales_rollup_state`, so every server
//! instance writes the same days whatever its own flags say).
//!
//! # Tables and grains
//!
//! Both tables hold one row per key and period, for four grains: `D` (day), `W` (ISO
//! week, from Monday), `M` (month) and `Y` (year); `period_start` is the first day of the
//! period. A sale adds to its day, week, month and year rows at once, so a query reads
//! whole years and months from the coarse rows and only the edges of a range from the
//! finer ones (see `domain::analytics::decompose`).
//!
//! - `sales_cells`, keyed by (cooperative, segment, channel, kind, region) — the line's
//!   snapshots and its order's channel: revenue, items, and six order counts.
//! - `sales_products`, keyed by product (with its snapshots, for the filters of
//!   `topProducts`): revenue and items. No week rows: `topProducts` has no weekly view.
//! - `sales_dims`, keyed by one dimension value over the whole market — `T` (the total,
//!   key empty), `K` kind, `S` segment id, `R` region code, `C` channel — with revenue,
//!   items and the orders having a line of that value. About 45 rows a day instead of
//!   the ~1,000 cells: the market's trends and breakdowns read it; a cooperative's
//!   figures and the breakdown by cooperative read `sales_cells`.
//!
//! # Why the order counts are exact
//!
//! An order can span several cells (two cooperatives, three segments), so a cell's
//! "orders with a line here" cannot be summed into "orders with a line of segment S":
//! an order with two olive-oil products of two cooperatives would count twice. Instead,
//! for every dimension value an order touches, exactly one of its cells — the first in
//! (cooperative, segment, kind, region) order — carries the order in that dimension's
//! column:
//!
//! | column | the order counts once per | answers |
//! |---|---|---|
//! | `orders_total` | order | all orders; by channel (one channel per order) |
//! | `orders_kind` | (order, kind) | by cooperative kind |
//! | `orders_region` | (order, region) | by region |
//! | `orders_segment` | (order, segment) | by segment |
//! | `orders_cooperative` | (order, cooperative) | by cooperative; everything of one cooperative (its total, channels, kind, region) |
//! | `orders_cell` | (order, cell) | one cooperative's orders by segment |
//!
//! Summing a column over any set of rows of one dimension value therefore counts each
//! order once, and because an order has one sales day, sums over days, weeks, months and
//! years stay exact. Leaving the sales subtracts exactly what entering added (the
//! snapshots never change), and `rebuild` recomputes everything with the same function.
//!
//! # Rows of imports
//!
//! Every row carries the batch that wrote it (`batch_id`): [`LIVE`] for the sales of the
//! shop, or the `import_batches` row of an orders import. An import writes its rows under
//! its batch in short transactions while the batch is `STAGING`; readers count only
//! [`COUNTED`] rows (live ones and those of `DONE` batches), so flipping the batch to
//! `DONE` shows the whole import at once, and the rows of an import that never got there
//! are never counted (and are deleted with it). Afterwards [`fold`] moves a finished
//! batch's sums into the live rows a few thousand rows per transaction, each step adding
//! and deleting the same sums at once, so a reader's totals never change and the rows
//! the analytics read do not multiply with every import.

use crate::domain::enums::{Channel, CooperativeKind, OrderStatus};
use crate::entities::{order, order_line};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    Statement, Value,
};
use std::collections::{BTreeMap, HashMap};

/// Whether an order in `status` counts in the sales.
pub fn is_sale(status: OrderStatus) -> bool {
    matches!(status, OrderStatus::Paid | OrderStatus::Fulfilled)
}

/// The periods the rollups are kept at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    Day,
    Week,
    Month,
    Year,
}

impl Grain {
    /// The stored spelling (`sales_*.grain`).
    pub fn code(self) -> &'static str {
        match self {
            Grain::Day => "D",
            Grain::Week => "W",
            Grain::Month => "M",
            Grain::Year => "Y",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "D" => Some(Grain::Day),
            "W" => Some(Grain::Week),
            "M" => Some(Grain::Month),
            "Y" => Some(Grain::Year),
            _ => None,
        }
    }

    /// The first day of the period holding `day`.
    pub fn start(self, day: NaiveDate) -> NaiveDate {
        match self {
            Grain::Day => day,
            Grain::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Grain::Month => day.with_day(1).unwrap_or(day),
            Grain::Year => day.with_ordinal(1).unwrap_or(day),
        }
    }

    /// The first day of the next period, for a `start` that begins a period.
    pub fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Grain::Day => start + Duration::days(1),
            Grain::Week => start + Duration::days(7),
            Grain::Month => start
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(NaiveDate::MAX),
            Grain::Year => start
                .checked_add_months(chrono::Months::new(12))
                .unwrap_or(NaiveDate::MAX),
        }
    }

    /// The last day of the period that begins on `start`.
    pub fn end(self, start: NaiveDate) -> NaiveDate {
        self.next(start).pred_opt().unwrap_or(start)
    }
}

/// The grains of `sales_cells`.
const CELL_GRAINS: [Grain; 4] = [Grain::Day, Grain::Week, Grain::Month, Grain::Year];
/// The grains of `sales_products`.
const PRODUCT_GRAINS: [Grain; 3] = [Grain::Day, Grain::Month, Grain::Year];

/// What the rollups need of one order line: its snapshots, quantity and total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleLine {
    pub product_id: i32,
    pub cooperative_id: i32,
    pub segment_id: i32,
    pub kind: CooperativeKind,
    pub region_code: String,
    pub quantity: i32,
    pub total_cents: i64,
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
        self.items += sign * other.items;
        self.orders_total += sign * other.orders_total;
        self.orders_kind += sign * other.orders_kind;
        self.orders_region += sign * other.orders_region;
        self.orders_segment += sign * other.orders_segment;
        self.orders_cooperative += sign * other.orders_cooperative;
        self.orders_cell += sign * other.orders_cell;
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

/// The codes of `sales_dims.dimension`, written here and read by `domain::analytics`.
pub mod dim {
    /// The whole market (key empty).
    pub const TOTAL: char = 'T';
    /// Cooperative kind (`TERROIR`…).
    pub const KIND: char = 'K';
    /// Segment id.
    pub const SEGMENT: char = 'S';
    /// Region code.
    pub const REGION: char = 'R';
    /// Channel.
    pub const CHANNEL: char = 'C';
}

/// A change to the rollups, accumulated in memory and written by [`apply`]: one order
/// entering or leaving the sales, or a whole import or rebuild.
#[derive(Debug, Default)]
pub struct Delta {
    cells: HashMap<CellKey, CellSums>,
    products: HashMap<ProductKey, (i64, i64)>,
    /// (revenue, items, orders) by dimension value.
    dims: HashMap<DimKey, (i64, i64, i64)>,
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
        let mut values: BTreeMap<(char, String), (i64, i64)> = BTreeMap::new();
        for ((_, segment, kind, region), sums) in &cells {
            for (dimension, key) in [
                (dim::TOTAL, String::new()),
                (dim::KIND, kind.as_str().to_owned()),
                (dim::SEGMENT, segment.to_string()),
                (dim::REGION, (*region).to_owned()),
                (dim::CHANNEL, channel.as_str().to_owned()),
            ] {
                let v = values.entry((dimension, key)).or_default();
                v.0 += sums.revenue_cents;
                v.1 += sums.items;
            }
        }
        for ((dimension, key), (revenue, items)) in values {
            for grain in CELL_GRAINS {
                let k = DimKey {
                    dimension,
                    grain,
                    period_start: grain.start(day),
                    key: key.clone(),
                };
                let v = self.dims.entry(k).or_default();
                v.0 += sign * revenue;
                v.1 += sign * items;
                v.2 += sign;
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
                let sums = self.products.entry(key).or_default();
                sums.0 += sign * l.total_cents;
                sums.1 += sign * i64::from(l.quantity);
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

/// A statement with `?` placeholders, numbered `$1…` for PostgreSQL.
pub(crate) fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DbBackend::Postgres {
        let mut out = String::with_capacity(sql.len() + 16);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        out
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// The `batch_id` of the rollup rows of live sales (payments, cancellations, refunds).
pub const LIVE: i64 = 0;

/// The condition on a rollup row for it to count in the analytics: a live row, or a row
/// of an import that has been switched in.
pub const COUNTED: &str =
    "(batch_id = 0 OR batch_id IN (SELECT id FROM import_batches WHERE state = 'DONE'))";

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
    products: std::vec::IntoIter<(ProductKey, (i64, i64))>,
    dims: std::vec::IntoIter<(DimKey, (i64, i64, i64))>,
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

/// Rows per upsert statement: 15 values a cell row, well under both databases' limits.
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
             kind, region_code, revenue_cents, items, orders_total, orders_kind, orders_region, \
             orders_segment, orders_cooperative, orders_cell, batch_id) VALUES ",
        );
        let mut values = Vec::with_capacity(chunk.len() * 16);
        for (i, (k, s)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
            values.extend([
                k.grain.code().into(),
                k.period_start.into(),
                k.cooperative_id.into(),
                k.segment_id.into(),
                k.channel.as_str().into(),
                k.kind.as_str().into(),
                k.region_code.clone().into(),
                s.revenue_cents.into(),
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
        let sets: Vec<String> = [
            "revenue_cents",
            "items",
            "orders_total",
            "orders_kind",
            "orders_region",
            "orders_segment",
            "orders_cooperative",
            "orders_cell",
        ]
        .iter()
        .map(|c| format!("{c} = sales_cells.{c} + excluded.{c}"))
        .collect();
        sql.push_str(&sets.join(", "));
        db.execute_raw(statement(backend, &sql, values)).await?;
    }

    let mut products: Vec<(ProductKey, (i64, i64))> = delta.products.into_iter().collect();
    products.sort_by(|a, b| a.0.cmp(&b.0));
    for chunk in products.chunks(UPSERT_ROWS) {
        let mut sql = String::from(
            "INSERT INTO sales_products (grain, period_start, product_id, cooperative_id, \
             segment_id, kind, region_code, revenue_cents, items, batch_id) VALUES ",
        );
        let mut values = Vec::with_capacity(chunk.len() * 10);
        for (i, (k, (revenue, items))) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str("(?,?,?,?,?,?,?,?,?,?)");
            values.extend([
                k.grain.code().into(),
                k.period_start.into(),
                k.product_id.into(),
                k.cooperative_id.into(),
                k.segment_id.into(),
                k.kind.as_str().into(),
                k.region_code.clone().into(),
                (*revenue).into(),
                (*items).into(),
                batch.into(),
            ]);
        }
        sql.push_str(
            " ON CONFLICT (grain, period_start, product_id, cooperative_id, segment_id, kind, \
             region_code, batch_id) DO UPDATE SET \
             revenue_cents = sales_products.revenue_cents + excluded.revenue_cents, \
             items = sales_products.items + excluded.items",
        );
        db.execute_raw(statement(backend, &sql, values)).await?;
    }

    let mut dims: Vec<(DimKey, (i64, i64, i64))> = delta.dims.into_iter().collect();
    dims.sort_by(|a, b| a.0.cmp(&b.0));
    for chunk in dims.chunks(UPSERT_ROWS) {
        let mut sql = String::from(
            "INSERT INTO sales_dims (dimension, grain, period_start, \"key\", revenue_cents, items, \
             orders, batch_id) VALUES ",
        );
        let mut values = Vec::with_capacity(chunk.len() * 8);
        for (i, (k, (revenue, items, orders))) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str("(?,?,?,?,?,?,?,?)");
            values.extend([
                k.dimension.to_string().into(),
                k.grain.code().into(),
                k.period_start.into(),
                k.key.clone().into(),
                (*revenue).into(),
                (*items).into(),
                (*orders).into(),
                batch.into(),
            ]);
        }
        sql.push_str(
            " ON CONFLICT (dimension, grain, period_start, \"key\", batch_id) DO UPDATE SET \
             revenue_cents = sales_dims.revenue_cents + excluded.revenue_cents, \
             items = sales_dims.items + excluded.items, \
             orders = sales_dims.orders + excluded.orders",
        );
        db.execute_raw(statement(backend, &sql, values)).await?;
    }
    Ok(())
}

/// The type of a key column of a rollup table.
#[derive(Clone, Copy)]
enum KeyType {
    Text,
    Date,
    Int,
}

/// A rollup table as [`fold`] and [`discard`] see it: its key (without `batch_id`) and
/// its sums.
struct Table {
    name: &'static str,
    key: &'static [(&'static str, KeyType)],
    sums: &'static [&'static str],
}

const TABLES: [Table; 3] = [
    Table {
        name: "sales_cells",
        key: &[
            ("grain", KeyType::Text),
            ("period_start", KeyType::Date),
            ("cooperative_id", KeyType::Int),
            ("segment_id", KeyType::Int),
            ("channel", KeyType::Text),
            ("kind", KeyType::Text),
            ("region_code", KeyType::Text),
        ],
        sums: &[
            "revenue_cents",
            "items",
            "orders_total",
            "orders_kind",
            "orders_region",
            "orders_segment",
            "orders_cooperative",
            "orders_cell",
        ],
    },
    Table {
        name: "sales_products",
        key: &[
            ("grain", KeyType::Text),
            ("period_start", KeyType::Date),
            ("product_id", KeyType::Int),
            ("cooperative_id", KeyType::Int),
            ("segment_id", KeyType::Int),
            ("kind", KeyType::Text),
            ("region_code", KeyType::Text),
        ],
        sums: &["revenue_cents", "items"],
    },
    Table {
        name: "sales_dims",
        key: &[
            ("dimension", KeyType::Text),
            ("grain", KeyType::Text),
            ("period_start", KeyType::Date),
            ("\"key\"", KeyType::Text),
        ],
        sums: &["revenue_cents", "items", "orders"],
    },
];

impl Table {
    fn key_list(&self) -> String {
        self.key
            .iter()
            .map(|(c, _)| *c)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `AND (key) <= (…)` bounding the first `rows` rows of `batch` in key order (its
    /// index's order), or nothing when fewer are left. `batch_id <> 0` is spelled out in
    /// each query so that both databases use the partial index of import rows.
    async fn slice(
        &self,
        db: &impl ConnectionTrait,
        batch: i64,
        rows: usize,
        values: &mut Vec<Value>,
    ) -> AppResult<String> {
        let key = self.key_list();
        let last = db
            .query_one_raw(statement(
                db.get_database_backend(),
                &format!(
                    "SELECT {key} FROM {} WHERE batch_id = ? AND batch_id <> 0 \
                     ORDER BY batch_id, {key} LIMIT 1 OFFSET ?",
                    self.name
                ),
                vec![batch.into(), (rows.max(1) as i64 - 1).into()],
            ))
            .await?;
        let Some(last) = last else {
            return Ok(String::new());
        };
        for (i, (_, t)) in self.key.iter().enumerate() {
            values.push(match t {
                KeyType::Text => last.try_get_by_index::<String>(i)?.into(),
                KeyType::Date => last.try_get_by_index::<NaiveDate>(i)?.into(),
                KeyType::Int => last.try_get_by_index::<i32>(i)?.into(),
            });
        }
        let marks = vec!["?"; self.key.len()].join(", ");
        Ok(format!(" AND ({key}) <= ({marks})"))
    }

    /// Moves up to `rows` rows of `batch` into the live rows (adding to them) and deletes
    /// them, in the caller's transaction; returns how many it moved.
    async fn fold_step(
        &self,
        db: &impl ConnectionTrait,
        batch: i64,
        rows: usize,
    ) -> AppResult<u64> {
        let backend = db.get_database_backend();
        let mut bound = Vec::new();
        let slice = self.slice(db, batch, rows, &mut bound).await?;
        let (t, key) = (self.name, self.key_list());
        let sums = self.sums.join(", ");
        let sets: Vec<String> = self
            .sums
            .iter()
            .map(|c| format!("{c} = {t}.{c} + excluded.{c}"))
            .collect();
        let mut values: Vec<Value> = vec![batch.into()];
        values.extend(bound.iter().cloned());
        db.execute_raw(statement(
            backend,
            &format!(
                "INSERT INTO {t} ({key}, {sums}, batch_id) SELECT {key}, {sums}, 0 FROM {t} \
                 WHERE batch_id = ? AND batch_id <> 0{slice} ORDER BY {key} \
                 ON CONFLICT ({key}, batch_id) DO UPDATE SET {}",
                sets.join(", ")
            ),
            values.clone(),
        ))
        .await?;
        Ok(db
            .execute_raw(statement(
                backend,
                &format!("DELETE FROM {t} WHERE batch_id = ? AND batch_id <> 0{slice}"),
                values,
            ))
            .await?
            .rows_affected())
    }

    /// Deletes up to `rows` rows of `batch`, in the caller's transaction; returns how many.
    async fn discard_step(
        &self,
        db: &impl ConnectionTrait,
        batch: i64,
        rows: usize,
    ) -> AppResult<u64> {
        let mut values = vec![batch.into()];
        let slice = self.slice(db, batch, rows, &mut values).await?;
        Ok(db
            .execute_raw(statement(
                db.get_database_backend(),
                &format!(
                    "DELETE FROM {} WHERE batch_id = ? AND batch_id <> 0{slice}",
                    self.name
                ),
                values,
            ))
            .await?
            .rows_affected())
    }
}

/// Rollup rows moved or deleted per transaction when a batch is folded or discarded, at
/// first: [`crate::db::Pacer`] then sizes the steps to hold the write lock briefly.
const STEP_ROWS: usize = 1_000;

/// Folds the rollup rows of batch `batch` (switched in: `DONE`) into the live rows, in
/// short transactions. Each step adds some rows' sums to the live rows and deletes them
/// at once, so the analytics' totals never change; a process stopped half-way leaves a
/// batch that still counts whole, and that the next import folds. Returns the rows moved.
#[tracing::instrument(skip(db))]
pub async fn fold(db: &DatabaseConnection, batch: i64) -> AppResult<u64> {
    let mut moved = 0;
    let mut pace = crate::db::Pacer::new(STEP_ROWS);
    for table in &TABLES {
        loop {
            let rows = pace.size();
            let started = std::time::Instant::now();
            let txn = crate::db::begin_write(db).await?;
            let step = table.fold_step(&txn, batch, rows).await;
            let n = crate::db::finish(txn, step).await?;
            pace.took(started.elapsed());
            moved += n;
            if (n as usize) < rows {
                break;
            }
        }
    }
    Ok(moved)
}

/// Deletes the rollup rows of batch `batch` (an import that did not finish), in short
/// transactions.
#[tracing::instrument(skip(db))]
pub async fn discard(db: &DatabaseConnection, batch: i64) -> AppResult<()> {
    let mut pace = crate::db::Pacer::new(STEP_ROWS);
    for table in &TABLES {
        loop {
            let rows = pace.size();
            let started = std::time::Instant::now();
            let txn = crate::db::begin_write(db).await?;
            let step = table.discard_step(&txn, batch, rows).await;
            let n = crate::db::finish(txn, step).await?;
            pace.took(started.elapsed());
            if (n as usize) < rows {
                break;
            }
        }
    }
    Ok(())
}

/// The batches with rollup rows of their own that are switched in: the ones [`fold`] has
/// yet to fold (it was stopped, or has not run yet).
pub async fn unfolded(db: &impl ConnectionTrait) -> AppResult<Vec<i64>> {
    let mut out = Vec::new();
    for table in &TABLES {
        let rows = db
            .query_all_raw(statement(
                db.get_database_backend(),
                &format!(
                    "SELECT DISTINCT batch_id FROM {} WHERE batch_id <> 0 AND batch_id IN \
                     (SELECT id FROM import_batches WHERE state = 'DONE')",
                    table.name
                ),
                vec![],
            ))
            .await?;
        for row in rows {
            let id: i64 = row.try_get_by_index(0)?;
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    Ok(out)
}

/// The time zone the rollups' sales days are reckoned in: the one stored with them, or
/// the market's default before they were ever built.
pub async fn timezone(db: &impl ConnectionTrait) -> AppResult<Tz> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(statement(
            backend,
            "SELECT timezone FROM sales_rollup_state WHERE id = 1",
            vec![],
        ))
        .await?;
    match row {
        Some(row) => {
            let name: String = row.try_get_by_index(0)?;
            name.parse().map_err(|e| {
                AppError::internal_caused(format!("unknown stored time zone {name}"), e)
            })
        }
        None => Ok(chrono_tz::Africa::Casablanca),
    }
}

/// The sales day of an order placed at `placed_at`.
pub fn sales_day(placed_at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    crate::domain::market_time::market_date(placed_at, tz)
}

/// Keeps the rollups in step with one order's change of status, in the caller's
/// transaction: adds the order when it enters the sales, subtracts it when it leaves
/// them, and does nothing otherwise.
pub async fn on_status_change(
    txn: &impl ConnectionTrait,
    order_id: i64,
    from: OrderStatus,
    to: OrderStatus,
) -> AppResult<()> {
    let sign = match (is_sale(from), is_sale(to)) {
        (false, true) => 1,
        (true, false) => -1,
        _ => return Ok(()),
    };
    let order = order::Entity::find_by_id(order_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::Internal("order vanished".into()))?;
    let lines: Vec<SaleLine> = order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order_id))
        .all(txn)
        .await?
        .iter()
        .map(SaleLine::from)
        .collect();
    let tz = timezone(txn).await?;
    let mut delta = Delta::default();
    delta.add_order(sales_day(order.placed_at, tz), order.channel, &lines, sign);
    apply(txn, delta).await
}

/// Orders read per step of a rebuild: bounds its memory whatever the history's size.
const REBUILD_ORDERS: i64 = 50_000;

/// Recomputes every rollup from the order lines, in the caller's transaction, with the
/// sales days reckoned in `tz` (which is stored as the rollups' zone). `progress` is told
/// how many orders each step covered.
#[tracing::instrument(skip_all, fields(timezone = %tz))]
pub async fn rebuild(
    txn: &impl ConnectionTrait,
    tz: Tz,
    mut progress: impl FnMut(u64),
) -> AppResult<RebuildSummary> {
    let backend = txn.get_database_backend();
    // The rows of imports still staging stay theirs: they count once switched in.
    for table in &TABLES {
        let sql = format!("DELETE FROM {} WHERE {COUNTED}", table.name);
        txn.execute_raw(statement(backend, &sql, vec![])).await?;
    }
    txn.execute_raw(statement(backend, "DELETE FROM sales_rollup_state", vec![]))
        .await?;
    txn.execute_raw(statement(
        backend,
        "INSERT INTO sales_rollup_state (id, timezone, rebuilt_at) VALUES (1, ?, ?)",
        vec![tz.name().into(), Utc::now().into()],
    ))
    .await?;
    let bounds = txn
        .query_one_raw(statement(
            backend,
            "SELECT MIN(id), MAX(id) FROM orders",
            vec![],
        ))
        .await?;
    let (min, max): (Option<i64>, Option<i64>) = match bounds {
        Some(row) => (row.try_get_by_index(0)?, row.try_get_by_index(1)?),
        None => (None, None),
    };
    let mut summary = RebuildSummary::default();
    let (Some(min), Some(max)) = (min, max) else {
        return Ok(summary);
    };
    let mut start = min;
    while start <= max {
        let end = start + REBUILD_ORDERS;
        let (delta, orders, lines) = sales_between(txn, tz, start, end).await?;
        summary.orders += orders;
        summary.lines += lines;
        apply(txn, delta).await?;
        progress((end.min(max + 1) - start) as u64);
        start = end;
    }
    Ok(summary)
}

/// What a rebuild found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RebuildSummary {
    /// Orders in the sales (`PAID` or `FULFILLED`).
    pub orders: u64,
    /// Their lines.
    pub lines: u64,
}

/// The rollup delta of the sales orders with ids in `start..end`, with how many orders
/// and lines it holds.
async fn sales_between(
    db: &impl ConnectionTrait,
    tz: Tz,
    start: i64,
    end: i64,
) -> AppResult<(Delta, u64, u64)> {
    let rows = db
        .query_all_raw(statement(
            db.get_database_backend(),
            "SELECT o.id, o.placed_at, o.channel, l.product_id, l.cooperative_id, l.segment_id, \
             l.kind, l.region_code, l.quantity, l.total_cents \
             FROM orders o JOIN order_lines l ON l.order_id = o.id \
             WHERE o.status IN ('PAID', 'FULFILLED') AND o.id >= ? AND o.id < ? \
             AND (o.import_batch_id IS NULL OR o.import_batch_id IN \
                  (SELECT id FROM import_batches WHERE state = 'DONE')) \
             ORDER BY o.id",
            vec![start.into(), end.into()],
        ))
        .await?;
    let mut delta = Delta::default();
    let mut current: Option<(i64, DateTime<Utc>, Channel)> = None;
    let mut lines: Vec<SaleLine> = Vec::new();
    let (mut n_orders, n_lines) = (0u64, rows.len() as u64);
    let bad = |what: &str| AppError::internal(format!("unreadable {what} in order lines"));
    for row in rows {
        let id: i64 = row.try_get_by_index(0)?;
        if current.is_some_and(|(c, _, _)| c != id) {
            if let Some((_, placed_at, channel)) = current {
                delta.add_order(sales_day(placed_at, tz), channel, &lines, 1);
                n_orders += 1;
            }
            lines.clear();
        }
        if current.is_none_or(|(c, _, _)| c != id) {
            let placed_at: DateTime<Utc> = row.try_get_by_index(1)?;
            let channel: String = row.try_get_by_index(2)?;
            current = Some((
                id,
                placed_at,
                Channel::parse(&channel).ok_or_else(|| bad("channel"))?,
            ));
        }
        let kind: String = row.try_get_by_index(6)?;
        lines.push(SaleLine {
            product_id: row.try_get_by_index(3)?,
            cooperative_id: row.try_get_by_index(4)?,
            segment_id: row.try_get_by_index(5)?,
            kind: CooperativeKind::parse(&kind).ok_or_else(|| bad("kind"))?,
            region_code: row.try_get_by_index(7)?,
            quantity: row.try_get_by_index(8)?,
            total_cents: row.try_get_by_index(9)?,
        });
    }
    if let Some((_, placed_at, channel)) = current {
        delta.add_order(sales_day(placed_at, tz), channel, &lines, 1);
        n_orders += 1;
    }
    Ok((delta, n_orders, n_lines))
}

/// Makes the rollups agree with the configured time zone: builds them the first time
/// (a database that had orders before the rollups existed gets them counted) and
/// rebuilds them when the market's zone has changed. Called when the server starts.
#[tracing::instrument(skip_all, fields(timezone = %tz))]
pub async fn ensure_built(db: &DatabaseConnection, tz: Tz) -> AppResult<()> {
    let backend = db.get_database_backend();
    let stored = db
        .query_one_raw(statement(
            backend,
            "SELECT timezone FROM sales_rollup_state WHERE id = 1",
            vec![],
        ))
        .await?
        .map(|row| row.try_get_by_index::<String>(0))
        .transpose()?;
    if stored.as_deref() == Some(tz.name()) {
        return Ok(());
    }
    tracing::info!(
        from = stored.as_deref().unwrap_or("nothing"),
        to = tz.name(),
        "rebuilding the sales rollups"
    );
    let txn = crate::db::begin_write(db).await?;
    let result = rebuild(&txn, tz, |_| {}).await;
    crate::db::finish(txn, result).await.map(|_| ())
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
        assert_eq!(sum(|s| s.orders_total), 1);
        assert_eq!(sum(|s| s.orders_kind), 1);
        assert_eq!(sum(|s| s.orders_segment), 2);
        assert_eq!(sum(|s| s.orders_cooperative), 2);
        assert_eq!(sum(|s| s.orders_cell), 3);
        // Removing the order leaves nothing but zeros.
        delta.add_order(day(2025, 3, 3), Channel::Online, &lines, -1);
        assert!(delta.cells.values().all(|s| *s == CellSums::default()));
        assert!(delta.products.values().all(|s| *s == (0, 0)));
    }
}
