//! Database migrations, shared by SQLite and PostgreSQL. A migration that has landed is
//! never edited: every change to the schema is a new file listed in `Migrator`.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_initial;

/// Applies every migration of the product in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261123_000001_initial::Migration)]
    }
}
