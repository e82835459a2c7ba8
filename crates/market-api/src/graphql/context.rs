//! Typed access to what every resolver needs from the request context.

use crate::error::{AppError, AppResult};
use crate::graphql::loaders::{LoadError, Loaders};
use async_graphql::Context;
use market_core::config::Config;
use market_core::db::DatabaseConnection;
use market_core::domain::policy::Viewer;
use market_core::domain::search::SearchIndex;
use std::sync::Arc;

/// Reads the shared state and per-request data out of a resolver's context.
pub trait ContextExt {
    fn db(&self) -> &DatabaseConnection;
    fn loaders(&self) -> &Loaders;
    fn viewer(&self) -> &Viewer;
    fn config(&self) -> &Config;
    /// The catalog's search index (shared by the instance's requests).
    fn search_index(&self) -> &SearchIndex;
    /// Today's date in the market's time zone.
    fn today(&self) -> chrono::NaiveDate {
        self.config().market_today()
    }
}

impl ContextExt for Context<'_> {
    fn db(&self) -> &DatabaseConnection {
        self.data_unchecked::<DatabaseConnection>()
    }

    fn loaders(&self) -> &Loaders {
        self.data_unchecked::<Loaders>()
    }

    fn viewer(&self) -> &Viewer {
        self.data_opt::<Viewer>().unwrap_or(&Viewer::Anonymous)
    }

    fn config(&self) -> &Config {
        self.data_unchecked::<Arc<Config>>()
    }

    fn search_index(&self) -> &SearchIndex {
        self.data_unchecked::<Arc<SearchIndex>>()
    }
}

/// Loads one row that must exist (it is referenced by a foreign key).
pub async fn load_required<K, V>(ctx: &Context<'_>, key: K, what: &str) -> AppResult<V>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    crate::graphql::loaders::DbLoader:
        async_graphql::dataloader::Loader<K, Value = V, Error = LoadError>,
    V: Send + Sync + Clone + 'static,
{
    ctx.loaders()
        .load_one(key)
        .await?
        .ok_or_else(|| AppError::internal(format!("dangling reference to a {what}")))
}

/// Loads what a key maps to; a key without rows has the empty value (no rows, zero).
pub async fn load_or_default<K, V>(ctx: &Context<'_>, key: K) -> AppResult<V>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    crate::graphql::loaders::DbLoader:
        async_graphql::dataloader::Loader<K, Value = V, Error = LoadError>,
    V: Send + Sync + Clone + Default + 'static,
{
    Ok(ctx.loaders().load_one(key).await?.unwrap_or_default())
}
