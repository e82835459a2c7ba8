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
//!   snapshots and its order's channel: revenue, discounts, items, and six order counts.
//! - `sales_products`, keyed by product (with its snapshots, for the filters of
//!   `topProducts`): revenue, discounts and items. No week rows: `topProducts` has no
//!   weekly view.
//! - `sales_dims`, keyed by one dimension value over the whole market — `T` (the total,
//!   key empty), `K` kind, `S` segment id, `R` region code, `C` channel — with revenue,
//!   discounts, items and the orders having a line of that value.
//!
//! Revenue is what shoppers paid (the lines' `total_cents`); discounts are what
//! promotions took off the lines (`discount_cents`, whoever funds them). Their sum is the
//! revenue at list prices (a pack's price for its components' shares), so it is not
//! stored. About 45 rows a day instead of
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
//!
//! # Where things are
//!
//! This module holds what a sale is ([`is_sale`], [`sales_day`]), the periods
//! ([`Grain`]) and the hook of an order's change of status; `delta` holds a change to the
//! rollups and how it is written ([`Delta`], [`apply`]); `batches` the rows of imports
//! ([`fold`], [`discard`]); `rebuild` the recomputation from the order lines
//! ([`rebuild`], [`ensure_built`]).

mod batches;
mod delta;
mod rebuild;

pub use batches::{discard, fold, unfolded};
pub use delta::{Delta, Parts, SaleLine, apply, apply_as};
pub use rebuild::{RebuildSummary, ensure_built, rebuild};

use crate::domain::enums::OrderStatus;
use crate::entities::{order, order_line};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement, Value,
};

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
