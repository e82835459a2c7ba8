//! The `Segment` type: a product category.

use crate::graphql::enums::CooperativeKind;
use crate::graphql::ids::{self, NodeType};
use async_graphql::{ID, Object};
use market_core::models::segment;

/// A product category (olive oil, spices, pottery…), belonging to one cooperative kind.
pub struct Segment(pub segment::Model);

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
    /// Name of the segment.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The kind of cooperative whose products fall in this segment.
    async fn kind(&self) -> CooperativeKind {
        self.0.kind.into()
    }
}
