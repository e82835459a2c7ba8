//! The `Segment` type: a product category.

use crate::error::{AppResult, Result};
use crate::graphql::enums::CooperativeKind;
use crate::graphql::i18n::{self, Localized, Translation};
use crate::graphql::ids::{self, NodeType};
use async_graphql::{Context, ID, Object};
use market_core::domain::translations::{Subject, SubjectKind};
use market_core::models::segment;

/// A product category (olive oil, spices, pottery…), belonging to one cooperative kind.
pub struct Segment(pub segment::Model);

impl Segment {
    fn subject(&self) -> Subject {
        Subject::new(SubjectKind::Segment, self.0.id)
    }

    async fn localized(&self, ctx: &Context<'_>) -> AppResult<Localized> {
        i18n::localize(ctx, self.subject(), &self.0.name, &self.0.description).await
    }
}

/// A product category (olive oil, spices, pottery…), belonging to one cooperative kind.
#[Object]
impl Segment {
    /// Global ID of the segment.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Segment, self.0.id)
    }
    /// URL-friendly unique name, usable in product filters.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Name of the segment, in the request's language (falling back along its chain).
    async fn name(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.localized(ctx).await?.name)
    }
    /// Description of the segment, in the request's language (falling back along its
    /// chain).
    async fn description(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.localized(ctx).await?.description)
    }
    /// The language `name` is in.
    async fn language(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.localized(ctx).await?.language)
    }
    /// The segment's name and description in each language other than the base one.
    async fn translations(&self, ctx: &Context<'_>) -> Result<Vec<Translation>> {
        Ok(i18n::translations(ctx, self.subject()).await?)
    }
    /// The kind of cooperative whose products fall in this segment.
    async fn kind(&self) -> CooperativeKind {
        self.0.kind.into()
    }
}
