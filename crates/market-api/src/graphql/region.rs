//! The `Region` type: one of the twelve regions of Morocco, with its provinces.

use crate::error::Result;
use crate::error::{AppError, AppResult};
use crate::graphql::context::{ContextExt, load_or_default};
use crate::graphql::i18n::{self, Localized, Translation};
use crate::graphql::ids::{self, NodeType};
use crate::graphql::loaders::ProvincesOfRegion;
use async_graphql::{Context, ID, Object};
use market_core::domain::translations::{Subject, SubjectKind};
use market_core::models::region;

/// One of the twelve regions of Morocco.
pub struct Region(pub region::Model);

impl Region {
    fn subject(&self) -> Subject {
        Subject::new(SubjectKind::Region, &self.0.code)
    }

    async fn localized(&self, ctx: &Context<'_>) -> AppResult<Localized> {
        i18n::localize(ctx, self.subject(), &self.0.name, "").await
    }
}

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
    /// Name of the region, in the request's language (falling back along its chain).
    async fn name(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.localized(ctx).await?.name)
    }
    /// The language `name` is in.
    async fn language(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.localized(ctx).await?.language)
    }
    /// The region's name in each language other than the base one.
    async fn translations(&self, ctx: &Context<'_>) -> Result<Vec<Translation>> {
        Ok(i18n::translations(ctx, self.subject()).await?)
    }
    /// Provinces and prefectures of the region, named in the request's language.
    async fn provinces(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let rows = load_or_default(ctx, ProvincesOfRegion(self.0.code.clone())).await?;
        i18n::prefetch(
            ctx,
            rows.iter()
                .map(|p| Subject::new(SubjectKind::Province, p.id)),
        )
        .await?;
        let mut names = Vec::with_capacity(rows.len());
        for p in rows {
            let subject = Subject::new(SubjectKind::Province, p.id);
            names.push(i18n::localize(ctx, subject, &p.name, "").await?.name);
        }
        Ok(names)
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
