//! Payout settlement: what a payout adjustment is (a refund of a settled line, or the
//! negative balance of a statement carried into a later one), and the indexes that make
//! each correction count exactly once. See `src/domain/payouts.rs`.
//!
//! `source_statement_id` has no foreign key because SQLite cannot add one to an existing
//! table; the domain writes it in the same transaction as the statement it names, and the
//! unique index keeps one carried balance per statement.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PayoutAdjustments {
    Table,
    Kind,
    SourceStatementId,
    OrderLineId,
    PayoutStatementId,
}

#[derive(DeriveIden)]
enum PayoutStatements {
    Table,
    DueOn,
}

const LINE_INDEX: &str = "ux_payout_adjustments_line";
const SOURCE_INDEX: &str = "ux_payout_adjustments_source";
const STATEMENT_INDEX: &str = "ix_payout_adjustments_statement";
const DUE_INDEX: &str = "ix_payout_statements_due";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        m.alter_table(
            Table::alter()
                .table(PayoutAdjustments::Table)
                .add_column(string_len(PayoutAdjustments::Kind, 16).default("REFUND"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(PayoutAdjustments::Table)
                .add_column(integer_null(PayoutAdjustments::SourceStatementId))
                .to_owned(),
        )
        .await?;
        // A settled line is refunded (or cancelled) at most once, so it is corrected once.
        m.create_index(
            Index::create()
                .name(LINE_INDEX)
                .table(PayoutAdjustments::Table)
                .col(PayoutAdjustments::OrderLineId)
                .unique()
                .to_owned(),
        )
        .await?;
        // A negative statement carries its balance forward once.
        m.create_index(
            Index::create()
                .name(SOURCE_INDEX)
                .table(PayoutAdjustments::Table)
                .col(PayoutAdjustments::SourceStatementId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(STATEMENT_INDEX)
                .table(PayoutAdjustments::Table)
                .col(PayoutAdjustments::PayoutStatementId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(DUE_INDEX)
                .table(PayoutStatements::Table)
                .col(PayoutStatements::DueOn)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(DUE_INDEX)
                .table(PayoutStatements::Table)
                .to_owned(),
        )
        .await?;
        for name in [STATEMENT_INDEX, SOURCE_INDEX, LINE_INDEX] {
            m.drop_index(
                Index::drop()
                    .name(name)
                    .table(PayoutAdjustments::Table)
                    .to_owned(),
            )
            .await?;
        }
        for column in [
            PayoutAdjustments::SourceStatementId,
            PayoutAdjustments::Kind,
        ] {
            m.alter_table(
                Table::alter()
                    .table(PayoutAdjustments::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
