//! Schema extensions: the marker that tells request errors from execution errors. (The
//! limits on a document's cost, depth and aliases are checked before the schema sees it:
//! `graphql::cost`.)

use async_graphql::Response;
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
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
