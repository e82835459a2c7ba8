//! The HTTP and GraphQL API of Solidarity Market. Resolvers and handlers are thin: they
//! read the request, ask `market-core` (which alone reaches the database) and shape the
//! answer. `app(state)` is the whole HTTP application, shared by the binary and the tests.

pub mod error;
pub mod graphql;
pub mod http;
pub mod server;

use crate::graphql::AppSchema;
use axum::Router;
use market_core::config::Config;
use market_core::db::DatabaseConnection;
use std::sync::Arc;

/// The memory that registered persisted queries may hold.
const PERSISTED_QUERIES_BYTES: u64 = 16 * 1024 * 1024;

/// The memory the renditions served lately may hold.
const RENDITION_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: AppSchema,
    /// The schema's types, for putting each answer's members in the selection's order.
    pub types: graphql::member_order::SchemaTypes,
    pub config: Arc<Config>,
    /// The schema's shape for costing documents before they run.
    pub cost: Arc<graphql::cost::CostModel>,
    /// Per-client rate and concurrency limits of the expensive kinds of request.
    pub fairness: Arc<http::fairness::Fairness>,
    /// The response cache of public catalog queries (`None` with `RESPONSE_CACHE=off`).
    pub response_cache: Option<Arc<http::response_cache::ResponseCache>>,
    /// Documents registered by automatic persisted queries.
    pub persisted_queries: Arc<http::response_cache::PersistedQueries>,
    /// Where images are kept, and the renditions served lately.
    pub images: Arc<market_core::domain::images::ImageStore>,
    pub renditions: Arc<http::images::RenditionCache>,
}

impl AppState {
    /// State over an open, migrated database.
    pub fn new(db: DatabaseConnection, config: Config) -> Self {
        let config = Arc::new(config);
        let schema = graphql::build_schema(Some(db.clone()), config.clone());
        let types = graphql::schema_types(config.clone());
        let cost = Arc::new(graphql::cost::CostModel::from_sdl(
            &schema.sdl(),
            graphql::cost::CostLimits::from_config(&config),
        ));
        let fairness = Arc::new(http::fairness::Fairness::from_config(&config));
        let response_cache =
            (config.response_cache == market_core::config::Switch::On).then(|| {
                Arc::new(http::response_cache::ResponseCache::new(
                    db.clone(),
                    config.response_cache_mb.saturating_mul(1024 * 1024),
                ))
            });
        let images = Arc::new(market_core::domain::images::ImageStore::from_config(
            &config,
        ));
        let renditions = Arc::new(http::images::RenditionCache::new(RENDITION_CACHE_BYTES));
        Self {
            images,
            renditions,
            db,
            schema,
            types,
            config,
            cost,
            fairness,
            response_cache,
            persisted_queries: Arc::new(http::response_cache::PersistedQueries::new(
                PERSISTED_QUERIES_BYTES,
            )),
        }
    }
}

/// The HTTP application.
pub fn app(state: AppState) -> Router {
    http::router(state)
}
