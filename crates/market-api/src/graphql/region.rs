//! The `Region` type: one of the twelve regions of Morocco, with its provinces.

use crate::error::AppError;
use crate::error::Result;
use crate::graphql::context::{ContextExt, load_or_default};
use crate::graphql::ids::{self, NodeType};
use crate::graphql::loaders::ProvincesOfRegion;
use async_graphql::{Context, ID, Object};
use market_core::models::region;

/// One of the twelve regions of Morocco.
pub struct Region(pub region::Model);

/// One of the twelve regions of Morocco.
#[Object]
impl Region {
    /// Global ID of the region.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Region, &self.0.code)
    }
    /// Stable code (ISO 3166-2, e.g. "MA-03" for Fès–Meknès), usable in filters.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Name of the region.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Provinces and prefectures of the region.
    async fn provinces(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let rows = load_or_default(ctx, ProvincesOfRegion(self.0.code.clone())).await?;
        Ok(rows.into_iter().map(|p| p.name).collect())
    }
    /// How many cooperatives of the region are listed by the market.
    async fn listed_cooperative_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let count = ctx
            .loaders()
            .load_one(crate::graphql::loaders::ListedCooperativesInRegion(
                self.0.code.clone(),
            ))
            .await
            .map_err(AppError::from)?;
        Ok(count.unwrap_or(0))
    }
}
