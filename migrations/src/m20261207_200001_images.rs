//! Images: product photos and cooperatives' logo and cover. The files live in an object
//! store under content-addressed keys (the SHA-256 of the re-encoded original); the
//! database holds one `stored_images` row per file — also the row that uploads and
//! deletions of the same file serialize on — and the records that use it: a product's
//! ordered photos with their alternative text, a cooperative's logo and cover.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StoredImages {
    Table,
    Id,
    Hash,
    Format,
    Width,
    Height,
    ByteSize,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ProductImages {
    Table,
    Id,
    ProductId,
    StoredImageId,
    Alt,
    Position,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CooperativeImages {
    Table,
    Id,
    CooperativeId,
    Role,
    StoredImageId,
    Alt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Cooperatives {
    Table,
    Id,
}

fn fk(
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from_table, from_col)
        .to(to_table, to_col)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(StoredImages::Table)
                .col(pk_auto(StoredImages::Id))
                .col(string_len(StoredImages::Hash, 64).unique_key())
                .col(
                    string_len(StoredImages::Format, 8)
                        .check(Expr::col(StoredImages::Format).is_in(["jpeg", "png", "webp"])),
                )
                .col(integer(StoredImages::Width))
                .col(integer(StoredImages::Height))
                .col(big_integer(StoredImages::ByteSize))
                .col(timestamp_with_time_zone(StoredImages::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ProductImages::Table)
                .col(pk_auto(ProductImages::Id))
                .col(integer(ProductImages::ProductId))
                .col(integer(ProductImages::StoredImageId))
                .col(string_len(ProductImages::Alt, 500))
                .col(integer(ProductImages::Position))
                .col(timestamp_with_time_zone(ProductImages::CreatedAt))
                .foreign_key(&mut fk(
                    ProductImages::Table,
                    ProductImages::ProductId,
                    Products::Table,
                    Products::Id,
                ))
                .foreign_key(&mut fk(
                    ProductImages::Table,
                    ProductImages::StoredImageId,
                    StoredImages::Table,
                    StoredImages::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_product_images_product")
                .table(ProductImages::Table)
                .col(ProductImages::ProductId)
                .col(ProductImages::Position)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_product_images_stored")
                .table(ProductImages::Table)
                .col(ProductImages::StoredImageId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CooperativeImages::Table)
                .col(pk_auto(CooperativeImages::Id))
                .col(integer(CooperativeImages::CooperativeId))
                .col(
                    string_len(CooperativeImages::Role, 8)
                        .check(Expr::col(CooperativeImages::Role).is_in(["LOGO", "COVER"])),
                )
                .col(integer(CooperativeImages::StoredImageId))
                .col(string_len(CooperativeImages::Alt, 500))
                .col(timestamp_with_time_zone(CooperativeImages::CreatedAt))
                .foreign_key(&mut fk(
                    CooperativeImages::Table,
                    CooperativeImages::CooperativeId,
                    Cooperatives::Table,
                    Cooperatives::Id,
                ))
                .foreign_key(&mut fk(
                    CooperativeImages::Table,
                    CooperativeImages::StoredImageId,
                    StoredImages::Table,
                    StoredImages::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_cooperative_images_role")
                .table(CooperativeImages::Table)
                .col(CooperativeImages::CooperativeId)
                .col(CooperativeImages::Role)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_cooperative_images_stored")
                .table(CooperativeImages::Table)
                .col(CooperativeImages::StoredImageId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(CooperativeImages::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(ProductImages::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(StoredImages::Table).to_owned())
            .await
    }
}
