//! The domain of Solidarity Market, independent of any API: the tables (private to this
//! crate), the rules of the market, who may do what (`domain::policy`), the reads and
//! writes the API calls, and the seed data.
//!
//! The HTTP/GraphQL crate (`market-api`) depends on this one and has no database access of
//! its own: it gets rows as the plain structs of [`models`] and cannot name a table or a
//! column, so every query lives here, next to the rules it serves.

pub mod config;
pub mod db;
pub mod domain;
// The tables. Private, so no other crate can query them; the integration tests, which set
// up fixtures and check rows directly, see them through the `test-support` feature.
#[cfg(not(feature = "test-support"))]
mod entities;
#[cfg(feature = "test-support")]
pub mod entities;
pub mod error;
pub mod models;
pub mod page;
pub mod seed;

use crate::config::Config;
use crate::error::AppResult;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

/// Connects, migrates, and (if asked and the catalog is empty) seeds the demo data.
pub async fn prepare_database(config: &Config) -> AppResult<DatabaseConnection> {
    domain::auth::limit_concurrent_hashes(config.max_concurrent_password_hashes);
    let db = db::connect_with(&config.database_url, db::PoolSettings::from_config(config))
        .await
        .map_err(error::AppError::from_connect)?;
    db::migrate(&db).await?;
    seed::seed_reference_data(&db).await?;
    domain::rollups::ensure_built(&db, config.market_timezone).await?;
    if config.seed_demo && entities::cooperative::Entity::find().count(&db).await? == 0 {
        seed_demo(&db, config).await?;
    }
    Ok(db)
}

/// Seeds the demo catalog, its accounts and its recent history in one transaction.
pub async fn seed_demo(db: &DatabaseConnection, config: &Config) -> AppResult<()> {
    use domain::enums::Role;
    let started = std::time::Instant::now();
    let txn = db::begin_write(db).await?;
    let now = config.now();
    let catalog = seed::demo::seed_demo_catalog(&txn, config.market_today()).await?;
    seed::demo::seed_demo_packs(&txn).await?;
    seed::demo::seed_demo_promotions(&txn, config.market_today(), config.market_timezone, now)
        .await?;
    let (mut manager, mut member, mut customer) = (None, None, None);
    for account in seed::demo::DEMO_ACCOUNTS {
        let cooperative_id = match account.cooperative_slug {
            Some(slug) => entities::cooperative::Entity::find()
                .filter(entities::cooperative::Column::Slug.eq(slug))
                .one(&txn)
                .await?
                .map(|c| c.id),
            None => None,
        };
        let user = domain::auth::create_user(
            &txn,
            domain::auth::NewUser {
                email: account.email.into(),
                password: account.password.into(),
                name: account.name.into(),
                role: account.role,
                cooperative_id,
            },
        )
        .await?;
        match (account.role, user.cooperative_id) {
            (Role::Manager, _) => manager = Some(user.id),
            (Role::CooperativeMember, Some(coop)) => member = Some((user.id, coop)),
            (Role::Customer, _) => customer = Some(user.id),
            _ => {}
        }
    }
    let (Some(manager), Some((member, member_cooperative)), Some(customer)) =
        (manager, member, customer)
    else {
        return Err(error::AppError::Internal(
            "the demo needs a manager, a member and a customer".into(),
        ));
    };
    let actors = seed::demo_history::Actors {
        manager,
        member,
        member_cooperative,
        customer,
    };
    let history = seed::demo_history::seed_demo_history(
        &txn,
        &catalog.stock_targets,
        actors,
        now,
        config.market_timezone,
        config.payment_terms_days,
    )
    .await?;
    txn.commit().await?;
    let store = domain::images::ImageStore::from_config(config);
    let pictures = seed::demo_images::add_demo_pictures(db, &store).await?;
    tracing::info!(
        pictures,
        image_store = %store.location,
        cooperatives = catalog.cooperatives,
        products = catalog.products,
        certifications = catalog.certifications,
        orders = history.orders,
        cancelled = history.cancelled,
        refunded = history.refunded,
        payout_statements = history.statements,
        paid_statements = history.statements_paid,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "seeded the demo catalog and its recent history"
    );
    Ok(())
}
