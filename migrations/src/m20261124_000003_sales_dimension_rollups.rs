//! Market-wide sales by one dimension value (kind, segment, region, channel, or the whole
//! market) per day, ISO week, month and year: the small table behind the market's trends
//! and breakdowns, where `sales_cells` would read a row per cooperative and segment. See
//! `src/domain/rollups.rs`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SalesDims {
    Table,
    Grain,
    PeriodStart,
    Dimension,
    Key,
    RevenueCents,
    Items,
    Orders,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(SalesDims::Table)
                .col(string_len(SalesDims::Grain, 1))
                .col(date(SalesDims::PeriodStart))
                .col(string_len(SalesDims::Dimension, 1))
                .col(string_len(SalesDims::Key, 32))
                .col(big_integer(SalesDims::RevenueCents))
                .col(big_integer(SalesDims::Items))
                .col(big_integer(SalesDims::Orders))
                .primary_key(
                    Index::create()
                        .col(SalesDims::Dimension)
                        .col(SalesDims::Grain)
                        .col(SalesDims::PeriodStart)
                        .col(SalesDims::Key),
                )
                .to_owned(),
        )
        .await?;
        // Rollups written before this table existed are recomputed on the next start.
        m.get_connection()
            .execute_unprepared("DELETE FROM sales_rollup_state")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(SalesDims::Table).to_owned())
            .await
    }
}
