//! The `Node` interface and the `node`/`nodes` queries that resolve any global ID.

use crate::entities::{certification, cooperative, product, region, segment};
use crate::error::{AppError, AppResult};
use crate::graphql::catalog::{Certification, Cooperative, Product, Region, Segment};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{self, NodeType};
use async_graphql::{Context, ID, Interface, Object, Result};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// An object with a global ID.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global ID of the object."))]
pub enum Node {
    Product(Product),
    Cooperative(Cooperative),
    Segment(Segment),
    Region(Region),
    Certification(Certification),
    Order(crate::graphql::orders::Order),
    PayoutStatement(crate::graphql::payouts::PayoutStatement),
}

async fn resolve(ctx: &Context<'_>, id: &ID) -> AppResult<Option<Node>> {
    let db = ctx.db();
    let (node_type, key) = ids::decode_any(id)?;
    let int_key = |key: &str| ids::int_key::<i32>(id, key);
    Ok(match node_type {
        NodeType::Product => product::Entity::find_by_id(int_key(&key)?)
            .one(db)
            .await?
            .map(|m| Node::Product(Product(m))),
        NodeType::Cooperative => cooperative::Entity::find_by_id(int_key(&key)?)
            .one(db)
            .await?
            .map(|m| Node::Cooperative(Cooperative(m))),
        NodeType::Segment => segment::Entity::find_by_id(int_key(&key)?)
            .one(db)
            .await?
            .map(|m| Node::Segment(Segment(m))),
        NodeType::Region => region::Entity::find_by_id(key)
            .one(db)
            .await?
            .map(|m| Node::Region(Region(m))),
        NodeType::Certification => certification::Entity::find_by_id(int_key(&key)?)
            .one(db)
            .await?
            .map(|m| Node::Certification(Certification(m))),
        NodeType::Order => {
            let Ok(scope) = crate::graphql::orders::scope(ctx.viewer()) else {
                return Ok(None);
            };
            let id: i64 = ids::int_key(id, &key)?;
            crate::domain::orders::orders_query(scope, &Default::default())
                .filter(crate::entities::order::Column::Id.eq(id))
                .one(db)
                .await?
                .map(|m| Node::Order(crate::graphql::orders::Order::for_viewer(m, ctx.viewer())))
        }
        NodeType::PayoutStatement => {
            crate::graphql::payouts::visible_statement(ctx, int_key(&key)?)
                .await?
                .map(Node::PayoutStatement)
        }
        _ => None,
    })
}

/// Lookup of any object by global ID.
#[derive(Default)]
pub struct NodeQuery;

/// Lookup of any object by global ID.
#[Object]
impl NodeQuery {
    /// The object with this global ID, or `null` if there is none (or you may not see it).
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        Ok(resolve(ctx, &id).await?)
    }

    /// The objects with these global IDs, in the same order; `null` where there is none.
    /// At most 100 IDs.
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>> {
        if ids.len() > crate::graphql::pagination::MAX_PAGE_SIZE as usize {
            return Err(AppError::BadInput {
                code: crate::error::codes::PAGE_SIZE_EXCEEDED,
                message: format!(
                    "at most {} IDs at once",
                    crate::graphql::pagination::MAX_PAGE_SIZE
                ),
            }
            .into());
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            out.push(resolve(ctx, id).await?);
        }
        Ok(out)
    }
}
