//! The GraphQL API: thin resolvers over `domain`, one file per area, merged here.

pub mod accounts;
pub mod addresses;
pub mod analytics;
pub mod backoffice;
pub mod cacheability;
pub mod cart;
pub mod catalog;
pub mod certifications;
pub mod context;
pub mod cooperative;
pub mod cost;
pub mod delivery;
pub mod enums;
pub mod events;
pub mod i18n;
pub mod ids;
pub mod image;
pub mod loaders;
pub mod member_order;
pub mod money;
pub mod node;
pub mod orders;
pub mod packs;
pub mod pagination;
pub mod payload;
pub mod payouts;
pub mod portal;
pub mod product;
pub mod promotions;
pub mod region;
pub mod scalars;
pub mod segment;

use async_graphql::{MergedObject, Schema, SchemaBuilder};
use market_core::config::Config;
use market_core::db::DatabaseConnection;
use std::sync::Arc;

/// Every query of the API.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    catalog::CatalogQuery,
    i18n::I18nQuery,
    node::NodeQuery,
    accounts::AccountsQuery,
    portal::PortalQuery,
    orders::OrdersQuery,
    addresses::AddressesQuery,
    delivery::DeliveryQuery,
    cart::CartQuery,
    certifications::CertificationsQuery,
    payouts::PayoutsQuery,
    analytics::AnalyticsQuery,
    promotions::PromotionsQuery,
    events::WebhooksQuery,
);

/// Every mutation of the API.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    accounts::AccountsMutation,
    portal::PortalMutation,
    i18n::I18nMutation,
    image::ImagesMutation,
    backoffice::BackofficeMutation,
    orders::OrdersMutation,
    packs::PacksMutation,
    promotions::PromotionsMutation,
    addresses::AddressesMutation,
    delivery::DeliveryMutation,
    cart::CartMutation,
    certifications::CertificationsMutation,
    payouts::PayoutsMutation,
    events::WebhooksMutation,
);

/// The schema type served at `/graphql`.
pub type AppSchema = Schema<QueryRoot, MutationRoot, events::SubscriptionRoot>;

/// How deep the parser and async-graphql's own checks may recurse through selection sets
/// and fragments. The real limits on depth, cost and size are checked before the schema
/// sees a document (`cost::CostModel::check`, from `Config`); this only guards the stack.
pub const MAX_RECURSION: usize = 64;

/// Builds the schema. Per-request data (viewer, loaders) is added by the HTTP layer, which
/// also checks each document's cost against the limits of `Config` before running it and
/// puts each answer's members in the selection's order (`member_order`). The schema has
/// no extension: any would make async-graphql wrap every field and list item it resolves.
/// Over a database it also starts the instance's event hub and webhook dispatcher
/// (`domain::events`, `domain::webhooks`), which stop when the schema is dropped.
pub fn build_schema(db: Option<DatabaseConnection>, config: Arc<Config>) -> AppSchema {
    builder(db, config).finish()
}

/// The types of the schema `build_schema` builds, for ordering answers.
pub fn schema_types(config: Arc<Config>) -> member_order::SchemaTypes {
    member_order::SchemaTypes::of(builder(None, config))
}

fn builder(
    db: Option<DatabaseConnection>,
    config: Arc<Config>,
) -> SchemaBuilder<QueryRoot, MutationRoot, events::SubscriptionRoot> {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        events::SubscriptionRoot,
    )
    .limit_recursive_depth(MAX_RECURSION)
    .limit_directives(8)
    .disable_suggestions()
    .directive(i18n::InContext)
    .data(config.clone())
    .data(Arc::new(market_core::domain::search::SearchIndex::new()));
    if let Some(db) = db {
        let hub = market_core::domain::events::Hub::new(db.clone());
        market_core::domain::webhooks::start(
            &hub,
            market_core::domain::webhooks::Settings::from_config(&config),
        );
        builder = builder.data(db).data(hub);
    }
    builder
}

/// The SDL of the schema, as written to `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None, Arc::new(Config::for_database("sqlite::memory:"))).sdl()
}
