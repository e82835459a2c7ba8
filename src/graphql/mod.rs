//! The GraphQL API: thin resolvers over `domain`, one file per area, merged here.

pub mod accounts;
pub mod analytics;
pub mod backoffice;
pub mod catalog;
pub mod certifications;
pub mod context;
pub mod enums;
pub mod extensions;
pub mod ids;
pub mod loaders;
pub mod money;
pub mod node;
pub mod orders;
pub mod pagination;
pub mod payload;
pub mod payouts;
pub mod portal;
pub mod scalars;

use crate::config::Config;
use async_graphql::{EmptySubscription, MergedObject, Schema};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Every query of the API.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    catalog::CatalogQuery,
    node::NodeQuery,
    accounts::AccountsQuery,
    portal::PortalQuery,
    orders::OrdersQuery,
    certifications::CertificationsQuery,
    payouts::PayoutsQuery,
    analytics::AnalyticsQuery,
);

/// Every mutation of the API.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    accounts::AccountsMutation,
    portal::PortalMutation,
    backoffice::BackofficeMutation,
    orders::OrdersMutation,
    certifications::CertificationsMutation,
    payouts::PayoutsMutation,
);

/// The schema type served at `/graphql`.
pub type AppSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Deepest selection allowed.
pub const MAX_DEPTH: usize = 16;
/// Largest complexity (number of fields selected, with nesting) allowed.
pub const MAX_COMPLEXITY: usize = 10_000;

/// Builds the schema with its limits. Per-request data (viewer, loaders) is added by the
/// HTTP layer.
pub fn build_schema(db: Option<DatabaseConnection>, config: Arc<Config>) -> AppSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .limit_recursive_depth(MAX_DEPTH)
    .limit_directives(8)
    .disable_suggestions()
    .extension(extensions::execution_marker())
    .extension(extensions::alias_limit())
    .data(config);
    if let Some(db) = db {
        builder = builder.data(db);
    }
    builder.finish()
}

/// The SDL of the schema, as written to `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None, Arc::new(Config::for_database("sqlite::memory:"))).sdl()
}
