//! Gross and discounted revenue in the analytics (issue #18): every sales rollup keeps,
//! beside the revenue shoppers paid, the discounts promotions took off its lines
//! (`order_lines.discount_cents`), so the revenue at list prices is their sum.
//!
//! The rows already written hold no discounts. When some order line has one, the
//! rollups' stored time zone is forgotten: the server rebuilds them from the order lines
//! when it next starts (`domain::rollups::ensure_built`), in its own transaction. A
//! database whose lines have no discount (every one before promotions) keeps its rollups
//! as they are: their discounts are truly zero.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Rollup {
    SalesCells,
    SalesProducts,
    SalesDims,
    DiscountCents,
}

const TABLES: [Rollup; 3] = [Rollup::SalesCells, Rollup::SalesProducts, Rollup::SalesDims];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            m.alter_table(
                Table::alter()
                    .table(table)
                    .add_column(big_integer(Rollup::DiscountCents).default(0))
                    .to_owned(),
            )
            .await?;
        }
        m.get_connection()
            .execute_unprepared(
                "DELETE FROM sales_rollup_state WHERE EXISTS \
                 (SELECT 1 FROM order_lines WHERE discount_cents <> 0)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            m.alter_table(
                Table::alter()
                    .table(table)
                    .drop_column(Rollup::DiscountCents)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
