//! The `Node` interface and the `node`/`nodes` queries that resolve any global ID.

use crate::error::Result;
use crate::error::{AppError, AppResult};
use crate::graphql::certifications::Certification;
use crate::graphql::context::ContextExt;
use crate::graphql::cooperative::Cooperative;
use crate::graphql::ids::{self, NodeType};
use crate::graphql::loaders::{
    CertificationKey, CooperativeKey, PayoutStatementKey, ProductKey, RegionKey, SegmentKey,
};
use crate::graphql::orders::{Order, prefetch_order_relations};
use crate::graphql::payouts::PayoutStatement;
use crate::graphql::product::Product;
use crate::graphql::region::Region;
use crate::graphql::segment::Segment;
use async_graphql::{Context, ID, Interface, Object};
use market_core::domain::orders as domain_orders;
use std::collections::HashMap;

/// An object with a global ID.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global ID of the object."))]
pub enum Node {
    Product(Product),
    Cooperative(Cooperative),
    Segment(Segment),
    Region(Region),
    Certification(Certification),
    Order(Order),
    PayoutStatement(PayoutStatement),
}

/// The key of a global ID, by type.
enum Key {
    Product(i32),
    Cooperative(i32),
    Segment(i32),
    Region(String),
    Certification(i32),
    Order(i64),
    PayoutStatement(i32),
    /// A type that cannot be looked up by ID.
    None,
}

fn key(id: &ID) -> AppResult<Key> {
    let (node_type, key) = ids::decode_any(id)?;
    let int = |key: &str| ids::int_key::<i32>(id, key);
    Ok(match node_type {
        NodeType::Product => Key::Product(int(&key)?),
        NodeType::Cooperative => Key::Cooperative(int(&key)?),
        NodeType::Segment => Key::Segment(int(&key)?),
        NodeType::Region => Key::Region(key),
        NodeType::Certification => Key::Certification(int(&key)?),
        NodeType::Order => Key::Order(ids::int_key(id, &key)?),
        NodeType::PayoutStatement => Key::PayoutStatement(int(&key)?),
        _ => Key::None,
    })
}

/// The objects of `ids`, in order, `None` where there is none or the viewer may not see
/// it: one batched read per type, whatever the number of IDs.
async fn resolve(ctx: &Context<'_>, ids: &[ID]) -> AppResult<Vec<Option<Node>>> {
    let keys = ids.iter().map(key).collect::<AppResult<Vec<_>>>()?;
    if keys
        .iter()
        .any(|k| matches!(k, Key::Order(_) | Key::PayoutStatement(_)))
    {
        // Whether such a node is found depends on who asks, whatever is selected.
        crate::graphql::cacheability::mark_uncacheable(ctx);
    }
    macro_rules! of {
        ($variant:ident, $wrap:expr) => {
            keys.iter().filter_map(|k| match k {
                Key::$variant(v) => Some($wrap(v.clone())),
                _ => None,
            })
        };
    }
    let loaders = ctx.loaders();
    let orders = async {
        let ids: Vec<i64> = of!(Order, |v| v).collect();
        // Anonymous viewers see no order.
        let (false, Ok(scope)) = (ids.is_empty(), ctx.viewer().order_scope()) else {
            return Ok(HashMap::new());
        };
        let found = domain_orders::visible_by_ids(ctx.db(), scope, ids).await?;
        let look = ctx.look_ahead();
        prefetch_order_relations(ctx, &found, |field| look.field(field).exists()).await?;
        Ok::<_, AppError>(
            found
                .into_iter()
                .map(|o| (o.id, o))
                .collect::<HashMap<_, _>>(),
        )
    };
    let loaded = async {
        Ok::<_, AppError>(futures::try_join!(
            loaders.load_many(of!(Product, ProductKey)),
            loaders.load_many(of!(Cooperative, CooperativeKey)),
            loaders.load_many(of!(Segment, SegmentKey)),
            loaders.load_many(of!(Region, RegionKey)),
            loaders.load_many(of!(Certification, CertificationKey)),
            loaders.load_many(of!(PayoutStatement, PayoutStatementKey)),
        )?)
    };
    let ((products, cooperatives, segments, regions, certifications, statements), orders) =
        futures::try_join!(loaded, orders)?;
    let viewer = ctx.viewer();
    Ok(keys
        .into_iter()
        .map(|k| match k {
            Key::Product(id) => products
                .get(&ProductKey(id))
                .cloned()
                .map(|m| Node::Product(Product(m))),
            Key::Cooperative(id) => cooperatives
                .get(&CooperativeKey(id))
                .cloned()
                .map(|m| Node::Cooperative(Cooperative(m))),
            Key::Segment(id) => segments
                .get(&SegmentKey(id))
                .cloned()
                .map(|m| Node::Segment(Segment(m))),
            Key::Region(code) => regions
                .get(&RegionKey(code))
                .cloned()
                .map(|m| Node::Region(Region(m))),
            Key::Certification(id) => certifications
                .get(&CertificationKey(id))
                .cloned()
                .map(|m| Node::Certification(Certification(m))),
            Key::Order(id) => orders
                .get(&id)
                .cloned()
                .map(|m| Node::Order(Order::for_viewer(m, viewer))),
            Key::PayoutStatement(id) => statements
                .get(&PayoutStatementKey(id))
                .filter(|s| viewer.sees_statement_of(s.cooperative_id))
                .cloned()
                .map(|m| Node::PayoutStatement(PayoutStatement(m))),
            Key::None => None,
        })
        .collect())
}

/// Lookup of any object by global ID.
#[derive(Default)]
pub struct NodeQuery;

/// Lookup of any object by global ID.
#[Object]
impl NodeQuery {
    /// The object with this global ID, or `null` if there is none (or you may not see it).
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        Ok(resolve(ctx, std::slice::from_ref(&id))
            .await?
            .pop()
            .flatten())
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
        Ok(resolve(ctx, &ids).await?)
    }
}
