//! Translations of the catalog: one row per translated thing (a product, cooperative,
//! segment, region or province, named by its kind and key) and language, holding its
//! name and description in that language. The things' own columns keep the catalog's
//! base language (English); a missing row falls back along the configured chain.
//! Segments gain a description (in the base language, like their name). The catalog's
//! change log marks the changes of texts, on which the search index rebuilds (a partial
//! index keeps the read of their version small).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Translations {
    Table,
    Id,
    SubjectKind,
    SubjectKey,
    Language,
    Name,
    Description,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Segments {
    Table,
    Description,
}

#[derive(DeriveIden)]
enum CatalogChanges {
    Table,
    Id,
    Texts,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Translations::Table)
                .col(pk_auto(Translations::Id))
                .col(string_len(Translations::SubjectKind, 16))
                .col(string_len(Translations::SubjectKey, 64))
                .col(string_len(Translations::Language, 35))
                .col(text(Translations::Name))
                .col(text_null(Translations::Description))
                .col(
                    timestamp_with_time_zone(Translations::UpdatedAt)
                        .default(Expr::current_timestamp()),
                )
                .to_owned(),
        )
        .await?;
        // One text per thing and language; also the index of the batched reads (a page's
        // things, every language).
        m.create_index(
            Index::create()
                .name("ux_translations_subject_language")
                .table(Translations::Table)
                .col(Translations::SubjectKind)
                .col(Translations::SubjectKey)
                .col(Translations::Language)
                .unique()
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Segments::Table)
                .add_column(text(Segments::Description).default(""))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(CatalogChanges::Table)
                .add_column(boolean(CatalogChanges::Texts).default(false))
                .to_owned(),
        )
        .await?;
        // The search index's read of the texts' version (`MAX(id)` and `COUNT(*)` of the
        // text changes) stays one small index read however many stock movements the log
        // holds between prunings.
        m.create_index(
            Index::create()
                .name("ix_catalog_changes_texts")
                .table(CatalogChanges::Table)
                .col(CatalogChanges::Id)
                .and_where(Expr::col(CatalogChanges::Texts).eq(true))
                .to_owned(),
        )
        .await?;
        // The texts change with this migration (segments' descriptions).
        m.exec_stmt(
            Query::insert()
                .into_table(CatalogChanges::Table)
                .columns([CatalogChanges::Texts])
                .values_panic([true.into()])
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_catalog_changes_texts")
                .table(CatalogChanges::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(CatalogChanges::Table)
                .drop_column(CatalogChanges::Texts)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Segments::Table)
                .drop_column(Segments::Description)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(Translations::Table).to_owned())
            .await
    }
}
