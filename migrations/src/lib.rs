//! Database migrations, shared by SQLite and PostgreSQL. A migration that has landed is
//! never edited: every change to the schema is a new file listed in `Migrator`.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_initial;
mod m20261124_000001_sales_rollups;
mod m20261124_000002_payout_settlement;
mod m20261124_000003_sales_dimension_rollups;
mod m20261125_000001_imported_orders;
mod m20261201_100001_sign_in_limits;
mod m20261201_200001_import_batches;
mod m20261205_000001_rollup_batches;
mod m20261206_000001_catalog_changes;
mod m20261207_200001_images;
mod m20261207_300001_translations;
mod m20261208_400001_delivery;
mod m20261208_400002_carts;
mod m20261208_500001_events;
mod m20261209_100001_products_by_cooperative_name;
mod m20261209_600001_packs;
mod m20261209_600002_promotions;
mod m20261209_700001_rollup_discounts;

/// Applies every migration of the product in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial::Migration),
            Box::new(m20261124_000001_sales_rollups::Migration),
            Box::new(m20261124_000002_payout_settlement::Migration),
            Box::new(m20261124_000003_sales_dimension_rollups::Migration),
            Box::new(m20261125_000001_imported_orders::Migration),
            Box::new(m20261201_100001_sign_in_limits::Migration),
            Box::new(m20261201_200001_import_batches::Migration),
            Box::new(m20261205_000001_rollup_batches::Migration),
            Box::new(m20261206_000001_catalog_changes::Migration),
            Box::new(m20261207_200001_images::Migration),
            Box::new(m20261207_300001_translations::Migration),
            Box::new(m20261208_400001_delivery::Migration),
            Box::new(m20261208_400002_carts::Migration),
            Box::new(m20261208_500001_events::Migration),
            Box::new(m20261209_100001_products_by_cooperative_name::Migration),
            Box::new(m20261209_600001_packs::Migration),
            Box::new(m20261209_600002_promotions::Migration),
            Box::new(m20261209_700001_rollup_discounts::Migration),
        ]
    }
}
