//! Schema extensions: the marker that tells request errors from execution errors, and the
//! bound on aliases (async-graphql bounds depth and complexity, not aliases).

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Response, ServerError, ServerResult, Variables};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Marks, in request data, that execution began (parsing and validation passed).
pub struct ExecutionStarted(pub Arc<AtomicBool>);

struct ExecutionMarker;

impl ExtensionFactory for ExecutionMarker {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ExecutionMarker)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ExecutionMarker {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if let Some(flag) = ctx.data_opt::<ExecutionStarted>() {
            flag.0.store(true, Ordering::SeqCst);
        }
        next.run(ctx, operation_name).await
    }
}

/// The extension that lets the HTTP layer tell request errors from execution errors.
pub fn execution_marker() -> impl ExtensionFactory {
    ExecutionMarker
}

/// The most aliased fields a document may hold (each alias can make the server resolve
/// a field again, so aliases multiply work that depth and complexity limits see once).
pub const MAX_ALIASES: usize = 30;

fn count_aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => {
                usize::from(f.node.alias.is_some()) + count_aliases(&f.node.selection_set.node)
            }
            Selection::InlineFragment(f) => count_aliases(&f.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// Refuses documents with more than [`MAX_ALIASES`] aliases.
pub fn alias_limit() -> impl ExtensionFactory {
    AliasLimit
}

struct AliasLimit;

impl ExtensionFactory for AliasLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AliasLimit)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for AliasLimit {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let aliases: usize = document
            .operations
            .iter()
            .map(|(_, op)| count_aliases(&op.node.selection_set.node))
            .chain(
                document
                    .fragments
                    .values()
                    .map(|f| count_aliases(&f.node.selection_set.node)),
            )
            .sum();
        if aliases > MAX_ALIASES {
            return Err(ServerError::new(
                format!("The query uses {aliases} aliases; at most {MAX_ALIASES} are allowed."),
                None,
            ));
        }
        Ok(document)
    }
}
