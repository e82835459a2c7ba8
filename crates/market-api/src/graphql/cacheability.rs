//! Which GraphQL answers may be shared between viewers (the response cache, CDNs).
//!
//! An answer is shareable when all of these hold:
//! - its operation is a query whose root fields are all public catalog fields
//!   ([`CATALOG_ROOT_FIELDS`]; [`reads_only_catalog`]);
//! - async-graphql's static `cache_control` of the document is public and not `no_cache`:
//!   private types (`Order`, `PayoutStatement`, `User`) and viewer-dependent fields of the
//!   catalog types (`Product.stockMovements`, `Cooperative.payoutAccount`, …) carry
//!   `#[graphql(cache_control(private))]`;
//! - nothing was marked [`Uncacheable`] while it ran (`node(id:)` on an order or a payout
//!   statement, whose answer depends on who asks even when only `id` is selected);
//! - it has no errors;
//! - and the viewer is anonymous or a customer (the HTTP layer decides that).

use async_graphql::Context;
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The root query fields whose answers are the same for every anonymous or customer
/// viewer.
pub const CATALOG_ROOT_FIELDS: &[&str] = &[
    "products",
    "product",
    "cooperatives",
    "cooperative",
    "regions",
    "segments",
    "node",
    "nodes",
    "__typename",
];

/// Set during execution by a resolver whose answer depends on the viewer in a way the
/// document does not show.
#[derive(Clone, Default)]
pub struct Uncacheable(Arc<AtomicBool>);

impl Uncacheable {
    /// Whether something marked the answer.
    pub fn is_marked(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Marks the running request's answer as not shareable.
pub fn mark_uncacheable(ctx: &Context<'_>) {
    if let Some(flag) = ctx.data_opt::<Uncacheable>() {
        flag.0.store(true, Ordering::Release);
    }
}

/// Whether the operation to run is a query selecting only [`CATALOG_ROOT_FIELDS`] (through
/// fragments too).
pub fn reads_only_catalog(doc: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    let mut operations = doc.operations.iter();
    let operation = match operation_name {
        Some(wanted) => operations.find(|(name, _)| name.is_some_and(|n| n.as_str() == wanted)),
        None => {
            let first = operations.next();
            if operations.next().is_some() {
                return false;
            }
            first
        }
    };
    let Some((_, operation)) = operation else {
        return false;
    };
    operation.node.ty == OperationType::Query
        && only_catalog(doc, &operation.node.selection_set.node, 0)
}

fn only_catalog(doc: &ExecutableDocument, set: &SelectionSet, depth: usize) -> bool {
    if depth > 8 {
        return false;
    }
    set.items.iter().all(|item| match &item.node {
        Selection::Field(field) => CATALOG_ROOT_FIELDS.contains(&field.node.name.node.as_str()),
        Selection::InlineFragment(fragment) => {
            only_catalog(doc, &fragment.node.selection_set.node, depth + 1)
        }
        Selection::FragmentSpread(spread) => doc
            .fragments
            .get(&spread.node.fragment_name.node)
            .is_some_and(|f| only_catalog(doc, &f.node.selection_set.node, depth + 1)),
    })
}
