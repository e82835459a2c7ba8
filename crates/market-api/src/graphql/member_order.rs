//! Response members in the order the query asks for them.
//!
//! The GraphQL spec serializes each object's fields in the order `CollectFields` gives
//! them: the order of the selection set, fragments expanded in place. async-graphql 7
//! resolves the fields of an object concurrently and writes each one when it completes
//! (async-graphql issue #612), so a field that waited on a batch lands after its
//! neighbours: the same query answers the same data in varying byte orders — which a
//! client may not mind, but a strong `ETag`, a response cache or a CDN does. This
//! module puts every object's members back in the selection's order once execution
//! ends, walking the response beside the operation and the schema's types. Most objects
//! are already in order and are only checked; the others are rebuilt.

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::registry::{MetaTypeName, Registry};
use async_graphql::{
    Name, ObjectType, Positioned, Response, SchemaBuilder, SchemaEnv, SubscriptionType, Value,
    Variables,
};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

/// The schema's types, for putting answers in order after they ran.
///
/// async-graphql hands its type registry only to schema extensions, and an extension of
/// any kind makes it build a `ResolveInfo` and a boxed future for every field and every
/// list item of every request. So the schema served has none: a twin of it, built by the
/// same builder with one extension, runs `{ __typename }` once and hands its registry
/// out; the HTTP layer orders each answer with it (`SchemaTypes::order`).
#[derive(Clone)]
pub struct SchemaTypes(SchemaEnv);

impl SchemaTypes {
    /// The types of the schema `builder` would build.
    pub fn of<Q, M, S>(builder: SchemaBuilder<Q, M, S>) -> Self
    where
        Q: ObjectType + 'static,
        M: ObjectType + 'static,
        S: SubscriptionType + 'static,
    {
        let seen = Arc::new(Mutex::new(None));
        let twin = builder.extension(Capture(seen.clone())).finish();
        let response = futures::executor::block_on(twin.execute("{ __typename }"));
        debug_assert!(response.errors.is_empty(), "{:?}", response.errors);
        let env = seen
            .lock()
            .expect("not poisoned")
            .take()
            .expect("the twin schema ran its one request");
        Self(env)
    }

    /// Puts every object of `response` (the answer to `operation_name` of `document`,
    /// with `variables`) in the order of the operation's selections.
    pub fn order(
        &self,
        document: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
        response: &mut Response,
    ) {
        let registry = &self.0.registry;
        let operation = match (&document.operations, operation_name) {
            (DocumentOperations::Single(op), _) => Some(op),
            (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
            (DocumentOperations::Multiple(ops), None) => ops.values().next(),
        };
        let Some(operation) = operation else {
            return;
        };
        let root = match operation.node.ty {
            OperationType::Query => Some(registry.query_type.as_str()),
            OperationType::Mutation => registry.mutation_type.as_deref(),
            OperationType::Subscription => registry.subscription_type.as_deref(),
        };
        if let Some(root) = root {
            let walker = Walker::new(registry, document, variables);
            walker.order(
                &mut response.data,
                root,
                &[&operation.node.selection_set.node],
            );
        }
    }
}

/// The extension of the twin schema: keeps the schema's environment of the request it
/// runs.
struct Capture(Arc<Mutex<Option<SchemaEnv>>>);

impl ExtensionFactory for Capture {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Capture(self.0.clone()))
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Capture {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        *self.0.lock().expect("not poisoned") = Some(ctx.schema_env.clone());
        next.run(ctx, operation_name).await
    }
}

struct Walker<'a> {
    registry: &'a Registry,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    /// The plan of each (selection sets, concrete type) met: the items of a list share
    /// one, and so do the objects nested in them.
    plans: RefCell<HashMap<PlanKey<'a>, Rc<Plan<'a>>>>,
}

/// Identifies a list of selection sets by its address and length (the root's list and
/// the plans' lists all outlive the walk) and a concrete type by name.
type PlanKey<'a> = (usize, usize, Option<&'a str>);

/// The fields of an object as `CollectFields` groups them, in order: response key, the
/// selection sets of every occurrence (merged in the answer) and the named type of the
/// field's value when it has fields of its own.
struct Plan<'a> {
    fields: Vec<Planned<'a>>,
}

struct Planned<'a> {
    key: &'a Name,
    sets: Vec<&'a SelectionSet>,
    ty: Option<&'a str>,
}

impl<'a> Walker<'a> {
    fn new(
        registry: &'a Registry,
        document: &'a ExecutableDocument,
        variables: &'a Variables,
    ) -> Self {
        Self {
            registry,
            document,
            variables,
            plans: RefCell::default(),
        }
    }

    /// Orders `value` (of named type `ty`, selected by `sets`) and everything under it.
    fn order(&self, value: &mut Value, ty: &'a str, sets: &[&'a SelectionSet]) {
        match value {
            Value::List(items) => {
                for item in items {
                    self.order(item, ty, sets);
                }
            }
            Value::Object(members) => self.order_object(members, ty, sets),
            _ => {}
        }
    }

    fn order_object(
        &self,
        members: &mut IndexMap<Name, Value>,
        ty: &'a str,
        sets: &[&'a SelectionSet],
    ) {
        let Some((name, meta)) = self.registry.types.get_key_value(ty) else {
            return;
        };
        let plan = if meta.is_abstract() {
            // The possible type whose fields are exactly the object's members (the first
            // such, if several); every fragment applies when none is.
            let candidates = meta.possible_types().into_iter().flatten();
            candidates
                .map(|candidate| self.plan(sets, Some(candidate.as_str())))
                .find(|plan| {
                    plan.fields.len() == members.len()
                        && plan
                            .fields
                            .iter()
                            .all(|f| members.contains_key(f.key.as_str()))
                })
                .unwrap_or_else(|| self.plan(sets, None))
        } else {
            self.plan(sets, Some(name.as_str()))
        };
        let in_order = members.len() == plan.fields.len()
            && members
                .keys()
                .zip(&plan.fields)
                .all(|(have, want)| have == want.key);
        if !in_order {
            let mut ordered = IndexMap::with_capacity(members.len());
            for field in &plan.fields {
                if let Some((k, v)) = members.shift_remove_entry(field.key.as_str()) {
                    ordered.insert(k, v);
                }
            }
            // Anything the walk did not expect keeps its place after the rest.
            ordered.extend(members.drain(..));
            *members = ordered;
        }
        for field in &plan.fields {
            if let Some(ty) = field.ty
                && let Some(child) = members.get_mut(field.key.as_str())
            {
                self.order(child, ty, &field.sets);
            }
        }
    }

    /// The plan of `sets` for an object of type `concrete` (every fragment applies when
    /// it is unknown), made once per walk.
    fn plan(&self, sets: &[&'a SelectionSet], concrete: Option<&'a str>) -> Rc<Plan<'a>> {
        let key = (sets.as_ptr() as usize, sets.len(), concrete);
        if let Some(plan) = self.plans.borrow().get(&key) {
            return plan.clone();
        }
        let mut grouped: IndexMap<&'a Name, (&'a Name, Vec<&'a SelectionSet>)> = IndexMap::new();
        for set in sets {
            self.collect_into(&mut grouped, set, concrete);
        }
        let owner = concrete.and_then(|name| self.registry.types.get(name));
        let fields = grouped
            .into_iter()
            .map(|(key, (name, sets))| {
                let composite = sets.iter().any(|s| !s.items.is_empty());
                let ty = match name.as_str() {
                    _ if !composite => None,
                    "__schema" => Some("__Schema"),
                    "__type" => Some("__Type"),
                    field => owner
                        .and_then(|owner| owner.field_by_name(field))
                        .map(|meta| MetaTypeName::concrete_typename(&meta.ty)),
                };
                Planned { key, sets, ty }
            })
            .collect();
        let plan = Rc::new(Plan { fields });
        self.plans.borrow_mut().insert(key, plan.clone());
        plan
    }

    fn collect_into(
        &self,
        grouped: &mut IndexMap<&'a Name, (&'a Name, Vec<&'a SelectionSet>)>,
        set: &'a SelectionSet,
        concrete: Option<&str>,
    ) {
        for selection in &set.items {
            if self.skipped(selection.node.directives()) {
                continue;
            }
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let key = &field.response_key().node;
                    grouped
                        .entry(key)
                        .or_insert_with(|| (&field.name.node, Vec::new()))
                        .1
                        .push(&field.selection_set.node);
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) =
                        self.document.fragments.get(&spread.node.fragment_name.node)
                        && self.applies(Some(&fragment.node.type_condition.node.on.node), concrete)
                    {
                        self.collect_into(grouped, &fragment.node.selection_set.node, concrete);
                    }
                }
                Selection::InlineFragment(inline) => {
                    let condition = inline.node.type_condition.as_ref().map(|c| &c.node.on.node);
                    if self.applies(condition, concrete) {
                        self.collect_into(grouped, &inline.node.selection_set.node, concrete);
                    }
                }
            }
        }
    }

    /// Whether a fragment on `condition` applies to an object of type `concrete`.
    fn applies(&self, condition: Option<&Name>, concrete: Option<&str>) -> bool {
        match (condition, concrete) {
            (None, _) | (_, None) => true,
            (Some(condition), Some(concrete)) => {
                condition.as_str() == concrete
                    || self
                        .registry
                        .types
                        .get(condition.as_str())
                        .is_some_and(|t| t.is_possible_type(concrete))
            }
        }
    }

    /// Whether `@skip` or `@include` leaves a selection out.
    fn skipped(&self, directives: &[Positioned<async_graphql::parser::types::Directive>]) -> bool {
        directives.iter().any(|directive| {
            let include = match directive.node.name.node.as_str() {
                "skip" => false,
                "include" => true,
                _ => return false,
            };
            let condition = directive
                .node
                .get_argument("if")
                .and_then(|value| {
                    value
                        .node
                        .clone()
                        .into_const_with(|name| self.variables.get(&name).cloned().ok_or(()))
                        .ok()
                })
                .is_some_and(|value| value == Value::Boolean(true));
            include != condition
        })
    }
}
