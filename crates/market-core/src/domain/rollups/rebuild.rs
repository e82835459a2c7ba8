//! Recomputing every rollup from the order lines: after an import of history, or when the
//! market's time zone changes.

use super::batches::TABLES;
use super::{COUNTED, Delta, SaleLine, apply, sales_day, statement};
use crate::domain::enums::{Channel, CooperativeKind};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DatabaseConnection};

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
             l.kind, l.region_code, l.quantity, l.total_cents, l.discount_cents \
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
            discount_cents: row.try_get_by_index(10)?,
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
