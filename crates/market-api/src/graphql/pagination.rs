//! Relay cursor connections over the keyset pages of `market_core::page`: the
//! connection and edge types, `pageInfo`, and `totalCount` counted only when asked for.

use crate::error::Result;
use async_graphql::Context;
pub use market_core::page::{Cursor, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageArgs, SortValue};
use market_core::page::{Listing, TotalCount};

use crate::graphql::context::{ContextExt, load_or_default};
use crate::graphql::loaders::{DbLoader, LoadError};
use async_graphql::dataloader::Loader;

/// The fields every connection has besides edges and pageInfo.
pub struct ConnectionFields {
    count: TotalCount,
}

impl ConnectionFields {
    /// Fields whose count is already known.
    pub fn known(count: i64) -> Self {
        Self {
            count: TotalCount::known(count),
        }
    }

    /// Counts the rows of the whole list (when asked).
    pub async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(self.count.get(ctx.db()).await?)
    }
}

impl From<TotalCount> for ConnectionFields {
    fn from(count: TotalCount) -> Self {
        Self { count }
    }
}

/// A list's first page read through the loaders with the first pages of the other
/// parents of a list (`page` asks for `rows`, the page's size plus one), and its
/// `totalCount` through the loaders too (`count`) when the query asks for it, else
/// counted on demand by what `lazy` gives (built only then).
pub async fn loaded_first_page<T, P, C>(
    ctx: &Context<'_>,
    page: P,
    rows: u64,
    count: C,
    lazy: impl Fn() -> TotalCount + Send + Sync + 'static,
) -> Result<(Page<T>, ConnectionFields)>
where
    T: Send + Sync + Clone + 'static,
    P: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    C: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    DbLoader:
        Loader<P, Value = Vec<T>, Error = LoadError> + Loader<C, Value = i64, Error = LoadError>,
{
    let mut items: Vec<T> = load_or_default(ctx, page).await?;
    let has_next = items.len() as u64 >= rows;
    items.truncate(rows.saturating_sub(1) as usize);
    let fields = if ctx.look_ahead().field("totalCount").exists() {
        ConnectionFields::known(load_or_default(ctx, count).await?)
    } else {
        TotalCount::deferred(lazy).into()
    };
    let page = Page {
        rows: items,
        has_previous: false,
        has_next,
    };
    Ok((page, fields))
}

/// Where a page stands in its list (Relay `PageInfo`).
#[derive(async_graphql::SimpleObject, Debug, Clone)]
pub struct PageInfo {
    /// Whether items come before this page (exact with `last`/`before`; with `after`, true
    /// when a cursor was given).
    pub has_previous_page: bool,
    /// Whether items come after this page (exact with `first`/`after`; with `before`, true
    /// when a cursor was given).
    pub has_next_page: bool,
    /// Cursor of the first item of the page, for `before`.
    pub start_cursor: Option<String>,
    /// Cursor of the last item of the page, for `after`.
    pub end_cursor: Option<String>,
}

/// A connection type made by [`connection_types!`].
pub trait ConnectionType {
    type Node;
    fn assemble(
        edges: Vec<(String, Self::Node)>,
        page_info: PageInfo,
        fields: ConnectionFields,
    ) -> Self;
}

/// Builds the connection for a listing, mapping each row to its node and cursor.
pub fn listing_connection<M, C: ConnectionType>(
    listing: Listing<M>,
    cursor: impl Fn(&M) -> Cursor,
    node: impl Fn(M) -> C::Node,
) -> C {
    connection(listing.page, listing.total.into(), cursor, node)
}

/// Builds the connection for a fetched page, mapping each row to its node and cursor.
pub fn connection<M, C: ConnectionType>(
    page: Page<M>,
    fields: ConnectionFields,
    cursor: impl Fn(&M) -> Cursor,
    node: impl Fn(M) -> C::Node,
) -> C {
    let edges: Vec<(String, C::Node)> = page
        .rows
        .into_iter()
        .map(|row| (cursor(&row).encode(), node(row)))
        .collect();
    let page_info = PageInfo {
        has_previous_page: page.has_previous,
        has_next_page: page.has_next,
        start_cursor: edges.first().map(|(c, _)| c.clone()),
        end_cursor: edges.last().map(|(c, _)| c.clone()),
    };
    C::assemble(edges, page_info, fields)
}

/// Declares a documented Relay connection and edge type for a node type.
#[macro_export]
macro_rules! connection_types {
    ($connection:ident, $edge:ident, $node:ty, $what:literal) => {
        #[doc = concat!("A page of ", $what, ", with cursors to move through the list.")]
        pub struct $connection {
            edges: Vec<$edge>,
            page_info: $crate::graphql::pagination::PageInfo,
            fields: $crate::graphql::pagination::ConnectionFields,
        }

        #[doc = concat!("A page of ", $what, ", with cursors to move through the list.")]
        #[async_graphql::Object]
        impl $connection {
            /// The items of the page, each with its cursor.
            async fn edges(&self) -> &[$edge] {
                &self.edges
            }
            /// The items of the page, without cursors.
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|e| &e.node).collect()
            }
            /// Where the page stands in the whole list.
            async fn page_info(&self) -> &$crate::graphql::pagination::PageInfo {
                &self.page_info
            }
            /// How many items the whole list holds, across all pages, with the same filter.
            async fn total_count(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> $crate::error::Result<i64> {
                self.fields.total_count(ctx).await
            }
        }

        #[doc = concat!("One of ", $what, " in a page, with its cursor.")]
        #[derive(async_graphql::SimpleObject)]
        pub struct $edge {
            /// The item.
            pub node: $node,
            /// The item's position, for `after` and `before`.
            pub cursor: String,
        }

        impl $crate::graphql::pagination::ConnectionType for $connection {
            type Node = $node;
            fn assemble(
                edges: Vec<(String, $node)>,
                page_info: $crate::graphql::pagination::PageInfo,
                fields: $crate::graphql::pagination::ConnectionFields,
            ) -> Self {
                Self {
                    edges: edges
                        .into_iter()
                        .map(|(cursor, node)| $edge { node, cursor })
                        .collect(),
                    page_info,
                    fields,
                }
            }
        }
    };
}
