//! The rollup rows of imports: folded into the live rows once an import is switched in,
//! or discarded with an import that did not finish, a few thousand rows per transaction.

use super::statement;
use crate::error::AppResult;
use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DatabaseConnection, Value};

/// The type of a key column of a rollup table.
#[derive(Clone, Copy)]
enum KeyType {
    Text,
    Date,
    Int,
}

/// A rollup table as [`fold`] and [`discard`] see it: its key (without `batch_id`) and
/// its sums.
pub(super) struct Table {
    pub(super) name: &'static str,
    key: &'static [(&'static str, KeyType)],
    sums: &'static [&'static str],
}

/// The sums of `sales_cells` (a delta adds to each of them).
pub(super) const SALES_CELLS_SUMS: &[&str] = &[
    "revenue_cents",
    "discount_cents",
    "items",
    "orders_total",
    "orders_kind",
    "orders_region",
    "orders_segment",
    "orders_cooperative",
    "orders_cell",
];

pub(super) const TABLES: [Table; 3] = [
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
        sums: SALES_CELLS_SUMS,
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
        sums: &["revenue_cents", "discount_cents", "items"],
    },
    Table {
        name: "sales_dims",
        key: &[
            ("dimension", KeyType::Text),
            ("grain", KeyType::Text),
            ("period_start", KeyType::Date),
            ("\"key\"", KeyType::Text),
        ],
        sums: &["revenue_cents", "discount_cents", "items", "orders"],
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
