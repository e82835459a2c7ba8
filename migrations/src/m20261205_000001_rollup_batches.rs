//! Imports switched in by one tiny `UPDATE` (issue 12, item 5): every rollup row carries
//! the import batch that wrote it (`batch_id`, `0` for the rows of live sales, never NULL
//! so that upserts find their row: unique indexes treat NULLs as distinct). An import
//! writes its rows under its own batch in short transactions while the batch is
//! `STAGING`; the analytics count live rows and rows of `DONE` batches, so flipping the
//! batch to `DONE` shows the whole import at once, and rows of a batch that never got
//! there are never counted.
//!
//! `batch_id` joins each table's primary key (last, so the analytics' index prefixes are
//! unchanged). A primary key cannot be altered in SQLite: each table is copied into a
//! new one with the new key, its rows becoming live rows, then renamed. A partial index
//! on the rows of imports (`batch_id <> 0`, nearly always empty) lets the import find,
//! fold and delete its own rows in key order without touching the live ones.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, column definitions, key columns, indexes besides the key)
struct Rollup {
    table: &'static str,
    columns: &'static str,
    key: &'static str,
    indexes: &'static [(&'static str, &'static str)],
}

const ROLLUPS: [Rollup; 3] = [
    Rollup {
        table: "sales_cells",
        columns: "grain varchar(1) NOT NULL, period_start DATE NOT NULL, \
                  cooperative_id integer NOT NULL, segment_id integer NOT NULL, \
                  channel varchar(16) NOT NULL, kind varchar(16) NOT NULL, \
                  region_code varchar(16) NOT NULL, revenue_cents BIGINT NOT NULL, \
                  items BIGINT NOT NULL, orders_total BIGINT NOT NULL, \
                  orders_kind BIGINT NOT NULL, orders_region BIGINT NOT NULL, \
                  orders_segment BIGINT NOT NULL, orders_cooperative BIGINT NOT NULL, \
                  orders_cell BIGINT NOT NULL",
        key: "grain, period_start, cooperative_id, segment_id, channel, kind, region_code",
        indexes: &[(
            "ix_sales_cells_cooperative",
            "cooperative_id, grain, period_start",
        )],
    },
    Rollup {
        table: "sales_products",
        columns: "grain varchar(1) NOT NULL, period_start DATE NOT NULL, \
                  product_id integer NOT NULL, cooperative_id integer NOT NULL, \
                  segment_id integer NOT NULL, kind varchar(16) NOT NULL, \
                  region_code varchar(16) NOT NULL, revenue_cents BIGINT NOT NULL, \
                  items BIGINT NOT NULL",
        key: "grain, period_start, product_id, cooperative_id, segment_id, kind, region_code",
        indexes: &[(
            "ix_sales_products_cooperative",
            "cooperative_id, grain, period_start",
        )],
    },
    Rollup {
        table: "sales_dims",
        columns: "grain varchar(1) NOT NULL, period_start DATE NOT NULL, \
                  dimension varchar(1) NOT NULL, \"key\" varchar(32) NOT NULL, \
                  revenue_cents BIGINT NOT NULL, items BIGINT NOT NULL, orders BIGINT NOT NULL",
        key: "dimension, grain, period_start, \"key\"",
        indexes: &[],
    },
];

/// `columns` in the types the earlier migrations gave them through sea-query: on SQLite
/// a date is `date_text` (text affinity) and a big integer `integer`.
fn typed(columns: &str, backend: DbBackend) -> String {
    match backend {
        DbBackend::Sqlite => columns
            .replace(" DATE ", " date_text ")
            .replace(" BIGINT ", " integer "),
        _ => columns
            .replace(" DATE ", " date ")
            .replace(" BIGINT ", " bigint "),
    }
}

/// The column names of a `columns` definition list.
fn names(columns: &str) -> String {
    columns
        .split(',')
        .filter_map(|c| c.split_whitespace().next())
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too: each table is dropped and replaced, which must
    /// happen whole, and on one connection.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let backend = m.get_database_backend();
        for r in &ROLLUPS {
            let (t, cols) = (r.table, names(r.columns));
            db.execute_unprepared(&format!(
                "CREATE TABLE {t}_batched ({}, PRIMARY KEY ({}, batch_id))",
                typed(
                    &format!("{}, batch_id BIGINT NOT NULL DEFAULT 0", r.columns),
                    backend
                ),
                r.key
            ))
            .await?;
            db.execute_unprepared(&format!(
                "INSERT INTO {t}_batched ({cols}, batch_id) SELECT {cols}, 0 FROM {t}"
            ))
            .await?;
            db.execute_unprepared(&format!("DROP TABLE {t}")).await?;
            db.execute_unprepared(&format!("ALTER TABLE {t}_batched RENAME TO {t}"))
                .await?;
            for (name, columns) in r.indexes {
                db.execute_unprepared(&format!("CREATE INDEX {name} ON {t} ({columns})"))
                    .await?;
            }
            db.execute_unprepared(&format!(
                "CREATE INDEX ix_{t}_batch ON {t} (batch_id, {}) WHERE batch_id <> 0",
                r.key
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let backend = m.get_database_backend();
        for r in &ROLLUPS {
            let (t, cols) = (r.table, names(r.columns));
            db.execute_unprepared(&format!(
                "CREATE TABLE {t}_unbatched ({}, PRIMARY KEY ({}))",
                typed(r.columns, backend),
                r.key
            ))
            .await?;
            // Rows of finished imports become live rows; those of unfinished ones go.
            let sums: Vec<String> = cols
                .split(", ")
                .map(|c| {
                    if r.key.contains(c) {
                        c.to_owned()
                    } else {
                        format!("SUM({c})")
                    }
                })
                .collect();
            db.execute_unprepared(&format!(
                "INSERT INTO {t}_unbatched ({cols}) SELECT {} FROM {t} \
                 WHERE batch_id = 0 OR batch_id IN \
                 (SELECT id FROM import_batches WHERE state = 'DONE') GROUP BY {}",
                sums.join(", "),
                r.key
            ))
            .await?;
            db.execute_unprepared(&format!("DROP TABLE {t}")).await?;
            db.execute_unprepared(&format!("ALTER TABLE {t}_unbatched RENAME TO {t}"))
                .await?;
            for (name, columns) in r.indexes {
                db.execute_unprepared(&format!("CREATE INDEX {name} ON {t} ({columns})"))
                    .await?;
            }
        }
        Ok(())
    }
}
