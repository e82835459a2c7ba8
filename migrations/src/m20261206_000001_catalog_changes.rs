//! The catalog's change log: one row per transaction that changes what the public catalog
//! shows (stock, prices, products, cooperatives' status, certifications). Its largest `id`
//! is the catalog's version, which the response cache keys on. Append-only, so concurrent
//! orders never wait on one counter row; old rows are pruned (the newest always stays).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CatalogChanges {
    Table,
    Id,
    ChangedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CatalogChanges::Table)
                .col(big_pk_auto(CatalogChanges::Id))
                .col(
                    timestamp_with_time_zone(CatalogChanges::ChangedAt)
                        .default(Expr::current_timestamp()),
                )
                .to_owned(),
        )
        .await?;
        // A first version, so the log is never empty.
        m.exec_stmt(
            Query::insert()
                .into_table(CatalogChanges::Table)
                .columns([CatalogChanges::ChangedAt])
                .values_panic([Expr::current_timestamp()])
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(CatalogChanges::Table).to_owned())
            .await
    }
}
