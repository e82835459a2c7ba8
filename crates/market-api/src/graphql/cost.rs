//! What a document will cost, known before it runs.
//!
//! Every request passes through [`CostModel::check`] after parsing and before anything
//! else touches it (async-graphql's own validation, the viewer's token lookup, any SQL):
//!
//! 1. **Identical fields are merged.** Two selections with the same response key, the
//!    same arguments and the same directives are one field in GraphQL's semantics (the
//!    spec's CollectFields); async-graphql would resolve each copy, so 1,200 copies of a
//!    page ran 1,200 times. They are merged into one, recursively, so they run once.
//! 2. **Fragments are costed once each, and cycles refused.** Fragment costs are
//!    memoized, so a "fragment bomb" (each fragment spreading the next one ten times) is
//!    measured in microseconds and refused for its expanded size instead of being walked
//!    10^15 times by the validator.
//! 3. **Cost multiplies by page sizes**, as Shopify's and GitHub's models do: a field
//!    costs 1 plus its selection; a list multiplies its selection by its size — `first`
//!    or `last` of a connection (the default page size when absent, at most the largest
//!    page), the length of `nodes(ids:)`, `limit`, or an estimate for the few plain
//!    lists (see [`list_estimate`]). A mutation field costs
//!    [`MUTATION_COST`] more. `__typename` is free.
//! 4. **Introspection has its own budget.** `__schema` and `__type` are answered from
//!    memory; their selections are costed with the schema's real list sizes (there are
//!    `T` types, on average `F` fields per type…) against their own limits, so the
//!    standard introspection queries of graphql-js and graphql-core pass while a
//!    recursive `fields { type { fields { … } } }` walk does not, and neither budget
//!    can be spent on the other.
//!
//! Refusals carry `QUERY_TOO_COMPLEX` (cost) or `GRAPHQL_VALIDATION_FAILED` (depth,
//! aliases, cycles, size) with the measured value and the limit in `extensions`.

use crate::error::codes;
use crate::graphql::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use async_graphql::parser::types::{
    BaseType, Directive, DocumentOperations, ExecutableDocument, OperationType, Selection,
    SelectionSet, Type, TypeKind, TypeSystemDefinition,
};
use async_graphql::{Name, Positioned, ServerError, Value, Variables};
use async_graphql_value::Value as AstValue;
use market_core::config::Config;
use std::collections::HashMap;

/// How deep `fields`, `inputFields`, `interfaces` and `possibleTypes` may nest inside
/// introspection: graphql-js's `MaxIntrospectionDepthRule` (16.9), which every standard
/// client query satisfies (they nest one), while a recursive schema walk does not.
pub const MAX_INTROSPECTION_LISTS: usize = 3;

/// What a mutation field costs beyond its selection (Shopify charges 10): it writes.
pub const MUTATION_COST: f64 = 10.0;

/// The limits a document is checked against (from [`Config`]).
#[derive(Debug, Clone, Copy)]
pub struct CostLimits {
    /// Largest cost of an operation's data fields.
    pub max_cost: u64,
    /// Deepest nesting of data fields.
    pub max_depth: usize,
    /// Largest cost of an operation's introspection fields.
    pub max_introspection_cost: u64,
    /// Deepest nesting inside `__schema` / `__type`.
    pub max_introspection_depth: usize,
    /// Most aliases in a document.
    pub max_aliases: usize,
    /// Most selections once fragments are expanded, over every operation of the document.
    pub max_selections: u64,
    /// Largest document, in bytes, checked before parsing.
    pub max_document_bytes: usize,
}

impl CostLimits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            max_cost: config.max_query_cost,
            max_depth: config.max_query_depth,
            max_introspection_cost: config.max_introspection_cost,
            max_introspection_depth: config.max_introspection_depth,
            max_aliases: config.max_aliases,
            max_selections: config.max_selections,
            max_document_bytes: config.max_document_bytes,
        }
    }
}

/// The measured cost of the operation a request runs.
#[derive(Debug, Clone, Default)]
pub struct QueryCost {
    /// Cost of the data fields (what `maximumQueryCost` bounds).
    pub requested: u64,
    /// Cost of the introspection fields.
    pub introspection: u64,
    /// Deepest nesting of data fields.
    pub depth: usize,
    /// The operation's kind: query or mutation.
    pub is_mutation: bool,
    /// The operation's name, if the document gives one.
    pub operation_name: Option<String>,
    /// Each root field selected, by field name (aliases and fragments resolved), with
    /// how many times: `login` twice under two aliases counts 2.
    pub root_fields: HashMap<String, u32>,
}

impl QueryCost {
    /// How many times root field `name` runs.
    pub fn root_count(&self, name: &str) -> u32 {
        self.root_fields.get(name).copied().unwrap_or(0)
    }
}

/// How a list field's size is known.
#[derive(Debug, Clone)]
enum ListSize {
    /// A Relay connection: `first` / `last`, or the default page size.
    Connection,
    /// A connection's `edges` / `nodes`: the page size of the field above.
    Page,
    /// The length of a list argument (`nodes(ids:)`).
    Arg(&'static str),
    /// An integer argument (`topProducts(limit:)`), with its schema default.
    Limit(f64),
    /// An estimate: the size of a plain list.
    Estimate(f64),
}

#[derive(Debug, Clone)]
struct FieldInfo {
    /// Named type of the result.
    ty: String,
    /// How many items when it is a list (or a connection); `None` for one item.
    size: Option<ListSize>,
}

/// The shape of the schema that costing needs: for each composite type, its fields'
/// result types and list sizes.
#[derive(Debug, Clone)]
pub struct CostModel {
    types: HashMap<String, HashMap<String, FieldInfo>>,
    query_root: String,
    mutation_root: String,
    limits: CostLimits,
}

/// The sizes of plain lists (no size argument), by `Type.field`: what a page of them
/// holds at most or typically. Anything not listed counts [`DEFAULT_LIST_ESTIMATE`].
fn list_estimate(type_name: &str, field: &str) -> f64 {
    match (type_name, field) {
        (_, "userErrors") => 5.0,
        (_, "provinces") => 1.0,
        ("QueryRoot", "regions") => 12.0,
        ("QueryRoot", "segments") => 40.0,
        ("MarketSummary", "cooperativesByKind") => 3.0,
        ("MarketSummary", "cooperativesByRegion") => 12.0,
        // An order holds at most 100 lines.
        ("Order", "lines") => MAX_PAGE_SIZE as f64,
        ("QueryRoot", "salesTrend") | ("SalesBreakdown", "rows") => MAX_PAGE_SIZE as f64,
        // The cooperatives with an unsellable product, and their few issues each (a product
        // has at most one issue of each of the seven codes, usually one).
        ("QueryRoot", "complianceReport") => 20.0,
        (_, "complianceIssues") | ("ProductCompliance", "issues") => 3.0,
        _ => DEFAULT_LIST_ESTIMATE,
    }
}

/// The size assumed for a plain list the table above does not name.
pub const DEFAULT_LIST_ESTIMATE: f64 = 10.0;

fn named(ty: &Type) -> (&str, bool) {
    match &ty.base {
        BaseType::Named(name) => (name.as_str(), false),
        BaseType::List(inner) => (named(inner).0, true),
    }
}

impl CostModel {
    /// Builds the model from the schema's SDL.
    pub fn from_sdl(sdl: &str, limits: CostLimits) -> Self {
        let doc = async_graphql::parser::parse_schema(sdl).expect("the schema's own SDL parses");
        let mut types: HashMap<String, HashMap<String, FieldInfo>> = HashMap::new();
        let (mut query_root, mut mutation_root) = ("Query".to_owned(), "Mutation".to_owned());
        let (mut type_count, mut field_count, mut arg_count) = (5usize, 0usize, 0usize);
        let (mut input_count, mut enum_count, mut iface_count, mut possible_count) =
            (0usize, 0usize, 0usize, 0usize);
        let mut directive_count = 0usize;
        let mut directive_args = 0usize;
        for def in &doc.definitions {
            match def {
                TypeSystemDefinition::Schema(schema) => {
                    if let Some(q) = &schema.node.query {
                        query_root = q.node.to_string();
                    }
                    if let Some(m) = &schema.node.mutation {
                        mutation_root = m.node.to_string();
                    }
                }
                TypeSystemDefinition::Directive(d) => {
                    directive_count += 1;
                    directive_args += d.node.arguments.len();
                }
                TypeSystemDefinition::Type(t) => {
                    type_count += 1;
                    let type_name = t.node.name.node.to_string();
                    let fields = match &t.node.kind {
                        TypeKind::Object(o) => {
                            iface_count += o.implements.len();
                            &o.fields
                        }
                        TypeKind::Interface(i) => {
                            iface_count += i.implements.len();
                            &i.fields
                        }
                        TypeKind::Union(u) => {
                            possible_count += u.members.len();
                            continue;
                        }
                        TypeKind::Enum(e) => {
                            enum_count += e.values.len();
                            continue;
                        }
                        TypeKind::InputObject(i) => {
                            input_count += i.fields.len();
                            continue;
                        }
                        TypeKind::Scalar => continue,
                    };
                    let mut map = HashMap::new();
                    for field in fields {
                        let f = &field.node;
                        field_count += 1;
                        arg_count += f.arguments.len();
                        let (ty, list) = named(&f.ty.node);
                        let arg = |n: &str| f.arguments.iter().find(|a| a.node.name.node == n);
                        let size = if ty.ends_with("Connection") && arg("first").is_some() {
                            Some(ListSize::Connection)
                        } else if !list {
                            None
                        } else if type_name.ends_with("Connection")
                            && matches!(f.name.node.as_str(), "edges" | "nodes")
                        {
                            Some(ListSize::Page)
                        } else if arg("ids").is_some() {
                            Some(ListSize::Arg("ids"))
                        } else if let Some(limit) = arg("limit") {
                            let default = limit
                                .node
                                .default_value
                                .as_ref()
                                .and_then(|v| match &v.node {
                                    Value::Number(n) => n.as_f64(),
                                    _ => None,
                                })
                                .unwrap_or(DEFAULT_PAGE_SIZE as f64);
                            Some(ListSize::Limit(default))
                        } else {
                            Some(ListSize::Estimate(list_estimate(
                                &type_name,
                                f.name.node.as_str(),
                            )))
                        };
                        map.insert(
                            f.name.node.to_string(),
                            FieldInfo {
                                ty: ty.to_owned(),
                                size,
                            },
                        );
                    }
                    types.insert(type_name, map);
                }
            }
        }
        // The introspection types, with the schema's real average list sizes, so the
        // standard introspection query costs about what it returns.
        let per = |n: usize, of: usize| (n as f64 / of.max(1) as f64).max(1.0);
        let t = type_count + 8;
        let f = |ty: &str, size: Option<f64>| FieldInfo {
            ty: ty.to_owned(),
            size: size.map(ListSize::Estimate),
        };
        let intro: [(&str, Vec<(&str, FieldInfo)>); 6] = [
            (
                "__Schema",
                vec![
                    ("types", f("__Type", Some(t as f64))),
                    ("queryType", f("__Type", None)),
                    ("mutationType", f("__Type", None)),
                    ("subscriptionType", f("__Type", None)),
                    (
                        "directives",
                        f("__Directive", Some(directive_count.max(4) as f64)),
                    ),
                ],
            ),
            (
                "__Type",
                vec![
                    ("fields", f("__Field", Some(per(field_count, t)))),
                    ("interfaces", f("__Type", Some(per(iface_count, t)))),
                    ("possibleTypes", f("__Type", Some(per(possible_count, t)))),
                    ("enumValues", f("__EnumValue", Some(per(enum_count, t)))),
                    ("inputFields", f("__InputValue", Some(per(input_count, t)))),
                    ("ofType", f("__Type", None)),
                ],
            ),
            (
                "__Field",
                vec![
                    ("args", f("__InputValue", Some(per(arg_count, field_count)))),
                    ("type", f("__Type", None)),
                ],
            ),
            ("__InputValue", vec![("type", f("__Type", None))]),
            ("__EnumValue", vec![]),
            (
                "__Directive",
                vec![(
                    "args",
                    f(
                        "__InputValue",
                        Some(per(directive_args, directive_count.max(4))),
                    ),
                )],
            ),
        ];
        for (name, fields) in intro {
            types.insert(
                name.to_owned(),
                fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            );
        }
        Self {
            types,
            query_root,
            mutation_root,
            limits,
        }
    }

    /// The limits this model checks.
    pub fn limits(&self) -> CostLimits {
        self.limits
    }

    /// Merges identical fields, then measures the operation `operation_name` would run
    /// and refuses it if it breaks a limit. The document is left merged.
    /// Refuses a document too large to be worth parsing (`DOCUMENT_TOO_LARGE`): parsing
    /// is the work such a request makes, whatever its cost once merged.
    pub fn check_size(&self, document: &str) -> Result<(), Refusal> {
        let (bytes, max) = (document.len(), self.limits.max_document_bytes);
        if bytes <= max {
            return Ok(());
        }
        Err(Refusal {
            code: codes::DOCUMENT_TOO_LARGE,
            message: format!(
                "The query document is {bytes} bytes; at most {max} are accepted. Send fewer fields or split the request."
            ),
            limit_name: "documentBytes",
            value: bytes as u64,
            limit: max as u64,
        })
    }

    pub fn check(
        &self,
        doc: &mut ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Result<QueryCost, Refusal> {
        merge_document(doc);
        let aliases = count_aliases(doc);
        if aliases > self.limits.max_aliases {
            return Err(Refusal::validation(
                format!(
                    "The query uses {aliases} aliases; at most {} are allowed.",
                    self.limits.max_aliases
                ),
                "aliases",
                aliases as u64,
                self.limits.max_aliases as u64,
            ));
        }
        let mut walker = Walker {
            model: self,
            doc,
            variables: HashMap::new(),
            memo: HashMap::new(),
            visiting: Vec::new(),
        };
        // Every operation is bounded in expanded size (async-graphql's checks walk them
        // all, expanding fragments); only the chosen one is costed.
        let mut selections = 0.0;
        let mut chosen = None;
        for (name, op) in doc.operations.iter() {
            walker.variables = effective_variables(&op.node, variables);
            let root = match op.node.ty {
                OperationType::Mutation => self.mutation_root.as_str(),
                _ => self.query_root.as_str(),
            };
            let measure = walker.selection_set(&op.node.selection_set.node, root, None, 0)?;
            selections += measure.selections;
            let wanted = match (operation_name, name, &doc.operations) {
                (Some(wanted), Some(name), _) => wanted == name.as_str(),
                (None, _, DocumentOperations::Single(_)) => true,
                (None, _, DocumentOperations::Multiple(ops)) => ops.len() == 1,
                (Some(_), None, _) => false,
            };
            if wanted {
                chosen = Some((name.map(|n| n.to_string()), op.node.ty, measure));
            }
        }
        if selections > self.limits.max_selections as f64 {
            return Err(Refusal::validation(
                format!(
                    "The query expands to {} selections; at most {} are allowed.",
                    selections as u64, self.limits.max_selections
                ),
                "selections",
                selections as u64,
                self.limits.max_selections,
            ));
        }
        // An unknown operation name is async-graphql's to report.
        let Some((name, ty, measure)) = chosen else {
            return Ok(QueryCost::default());
        };
        let requested = measure.data_cost.ceil() as u64;
        let introspection = measure.intro_cost.ceil() as u64;
        if measure.data_depth > self.limits.max_depth {
            return Err(Refusal::validation(
                format!(
                    "The query is nested {} deep; the maximum depth is {}.",
                    measure.data_depth, self.limits.max_depth
                ),
                "depth",
                measure.data_depth as u64,
                self.limits.max_depth as u64,
            ));
        }
        if measure.intro_depth > self.limits.max_introspection_depth {
            return Err(Refusal::validation(
                format!(
                    "The introspection is nested {} deep; the maximum depth is {}.",
                    measure.intro_depth, self.limits.max_introspection_depth
                ),
                "introspectionDepth",
                measure.intro_depth as u64,
                self.limits.max_introspection_depth as u64,
            ));
        }
        if measure.intro_lists > MAX_INTROSPECTION_LISTS {
            return Err(Refusal::validation(
                format!(
                    "Maximum introspection depth exceeded: `fields`, `inputFields`, `interfaces` \
                     and `possibleTypes` nest {} deep; at most {MAX_INTROSPECTION_LISTS}.",
                    measure.intro_lists
                ),
                "introspectionLists",
                measure.intro_lists as u64,
                MAX_INTROSPECTION_LISTS as u64,
            ));
        }
        if requested > self.limits.max_cost {
            return Err(Refusal::too_complex(
                format!(
                    "The query costs {requested}; at most {} is allowed. Ask for smaller pages \
                     (`first`/`last`) or fewer nested lists.",
                    self.limits.max_cost
                ),
                "cost",
                requested,
                self.limits.max_cost,
            ));
        }
        if introspection > self.limits.max_introspection_cost {
            return Err(Refusal::too_complex(
                format!(
                    "The introspection costs {introspection}; at most {} is allowed.",
                    self.limits.max_introspection_cost
                ),
                "introspectionCost",
                introspection,
                self.limits.max_introspection_cost,
            ));
        }
        let mut root_fields = HashMap::new();
        if let Some(op) = doc.operations.iter().find_map(|(n, op)| {
            (n.map(|n| n.to_string()) == name && op.node.ty == ty).then_some(op)
        }) {
            collect_root_fields(doc, &op.node.selection_set.node, &mut root_fields, 0);
        }
        Ok(QueryCost {
            requested,
            introspection,
            depth: measure.data_depth,
            is_mutation: ty == OperationType::Mutation,
            operation_name: name,
            root_fields,
        })
    }
}

/// Why a document was refused before it ran.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
    /// Which limit (`cost`, `depth`, `aliases`…).
    pub limit_name: &'static str,
    pub value: u64,
    pub limit: u64,
}

impl Refusal {
    fn too_complex(message: String, limit_name: &'static str, value: u64, limit: u64) -> Self {
        Self {
            code: codes::QUERY_TOO_COMPLEX,
            message,
            limit_name,
            value,
            limit,
        }
    }

    fn validation(message: String, limit_name: &'static str, value: u64, limit: u64) -> Self {
        Self {
            code: codes::GRAPHQL_VALIDATION_FAILED,
            message,
            limit_name,
            value,
            limit,
        }
    }

    fn cycle(fragment: &str) -> Self {
        Self::validation(
            format!("Cannot spread fragment \"{fragment}\" within itself."),
            "fragmentCycle",
            1,
            0,
        )
    }

    /// The GraphQL error sent to the client: `extensions { code, cost, maximumCost }` for
    /// the cost, `{ code, limit, value, maximum }` for the other limits.
    pub fn to_server_error(&self) -> ServerError {
        let mut error = ServerError::new(self.message.clone(), None);
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", self.code);
        match self.limit_name {
            "cost" => {
                ext.set("cost", self.value);
                ext.set("maximumCost", self.limit);
            }
            "fragmentCycle" => {}
            other => {
                ext.set("limit", other);
                ext.set("value", self.value);
                ext.set("maximum", self.limit);
            }
        }
        error.extensions = Some(ext);
        error
    }
}

/// What a selection set measures.
#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    data_cost: f64,
    intro_cost: f64,
    data_depth: usize,
    intro_depth: usize,
    /// Selections once fragments are expanded (skipped ones included: validators walk them).
    selections: f64,
    /// Nesting of `fields`, `inputFields`, `interfaces` and `possibleTypes` in
    /// introspection (graphql-js's `MaxIntrospectionDepthRule` allows 3).
    intro_lists: usize,
}

impl Measure {
    fn add(&mut self, other: Measure) {
        self.data_cost += other.data_cost;
        self.intro_cost += other.intro_cost;
        self.data_depth = self.data_depth.max(other.data_depth);
        self.intro_depth = self.intro_depth.max(other.intro_depth);
        self.selections += other.selections;
        self.intro_lists = self.intro_lists.max(other.intro_lists);
    }
}

struct Walker<'a> {
    model: &'a CostModel,
    doc: &'a ExecutableDocument,
    variables: HashMap<Name, Value>,
    /// Fragment measures by (name, page size of the enclosing connection).
    memo: HashMap<(Name, u64), Measure>,
    visiting: Vec<Name>,
}

/// The size of the largest page: what a connection or list argument can return at most.
const MAX_LIST: f64 = MAX_PAGE_SIZE as f64;

impl Walker<'_> {
    /// An argument's value with its variables replaced (an absent variable reads as null).
    fn value(&self, value: &AstValue) -> Value {
        value
            .clone()
            .into_const_with(|name| {
                Ok::<_, ()>(self.variables.get(&name).cloned().unwrap_or(Value::Null))
            })
            .unwrap_or(Value::Null)
    }

    fn int_arg(
        &self,
        args: &[(Positioned<Name>, Positioned<AstValue>)],
        name: &str,
    ) -> Option<f64> {
        args.iter()
            .find(|(n, _)| n.node == name)
            .and_then(|(_, v)| match self.value(&v.node) {
                Value::Number(n) => n.as_f64(),
                _ => None,
            })
    }

    fn skipped(&self, directives: &[Positioned<Directive>]) -> bool {
        directives.iter().any(|d| {
            let condition = d
                .node
                .get_argument("if")
                .map(|v| matches!(self.value(&v.node), Value::Boolean(true)));
            match d.node.name.node.as_str() {
                "skip" => condition == Some(true),
                "include" => condition == Some(false),
                _ => false,
            }
        })
    }

    fn list_size(
        &self,
        size: &ListSize,
        args: &[(Positioned<Name>, Positioned<AstValue>)],
        page: Option<f64>,
    ) -> f64 {
        let clamp = |n: f64| n.clamp(0.0, MAX_LIST);
        match size {
            ListSize::Connection => {
                match (self.int_arg(args, "first"), self.int_arg(args, "last")) {
                    (None, None) => DEFAULT_PAGE_SIZE as f64,
                    (a, b) => clamp(a.unwrap_or(0.0).max(b.unwrap_or(0.0))),
                }
            }
            ListSize::Page => page.unwrap_or(DEFAULT_PAGE_SIZE as f64),
            ListSize::Arg(name) => args
                .iter()
                .find(|(n, _)| n.node == *name)
                .map(|(_, v)| match self.value(&v.node) {
                    Value::List(items) => clamp(items.len() as f64),
                    Value::Null => 0.0,
                    _ => 1.0,
                })
                .unwrap_or(0.0),
            ListSize::Limit(default) => clamp(self.int_arg(args, "limit").unwrap_or(*default)),
            ListSize::Estimate(n) => *n,
        }
    }

    /// Measures `set`, selected on `type_name`; `page` is the page size when the set is a
    /// connection's; `introspection` is the depth inside `__schema`/`__type` (0 outside).
    fn selection_set(
        &mut self,
        set: &SelectionSet,
        type_name: &str,
        page: Option<f64>,
        introspection: usize,
    ) -> Result<Measure, Refusal> {
        let mut total = Measure::default();
        for item in &set.items {
            total.selections += 1.0;
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let name = field.name.node.as_str();
                    let skipped = self.skipped(&field.directives);
                    let info = self
                        .model
                        .types
                        .get(type_name)
                        .and_then(|fields| fields.get(name))
                        .cloned();
                    let is_intro = introspection > 0 || name == "__schema" || name == "__type";
                    let child_type = match (name, &info) {
                        ("__schema", _) => "__Schema".to_owned(),
                        ("__type", _) => "__Type".to_owned(),
                        (_, Some(info)) => info.ty.clone(),
                        // Unknown field: validation reports it; measure its selections
                        // anyway so their size still counts.
                        (_, None) => String::new(),
                    };
                    let multiplier = match &info {
                        Some(FieldInfo {
                            size: Some(size), ..
                        }) => self.list_size(size, &field.arguments, page),
                        _ => 1.0,
                    };
                    let child_page = match &info {
                        Some(FieldInfo {
                            size: Some(ListSize::Connection),
                            ..
                        }) => Some(multiplier),
                        _ => None,
                    };
                    let child = self.selection_set(
                        &field.selection_set.node,
                        &child_type,
                        child_page,
                        if is_intro { introspection + 1 } else { 0 },
                    )?;
                    total.selections += child.selections;
                    if skipped {
                        continue;
                    }
                    let own = if name == "__typename" { 0.0 } else { 1.0 };
                    let mutation = if type_name == self.model.mutation_root {
                        MUTATION_COST
                    } else {
                        0.0
                    };
                    // A connection's multiplier applies to its `edges`/`nodes` below, not
                    // to `pageInfo` and `totalCount`.
                    let factor = if child_page.is_some() {
                        1.0
                    } else {
                        multiplier
                    };
                    if is_intro {
                        total.intro_cost += own + factor * (child.intro_cost + child.data_cost);
                        total.intro_depth = total
                            .intro_depth
                            .max(1 + child.intro_depth.max(child.data_depth));
                        let nests = matches!(
                            name,
                            "fields" | "inputFields" | "interfaces" | "possibleTypes"
                        );
                        total.intro_lists = total
                            .intro_lists
                            .max(child.intro_lists + usize::from(nests));
                    } else {
                        total.data_cost += own + mutation + factor * child.data_cost;
                        total.intro_cost += child.intro_cost;
                        total.data_depth = total.data_depth.max(1 + child.data_depth);
                        total.intro_depth = total.intro_depth.max(child.intro_depth);
                        total.intro_lists = total.intro_lists.max(child.intro_lists);
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let fragment = &fragment.node;
                    let on = fragment
                        .type_condition
                        .as_ref()
                        .map_or(type_name, |c| c.node.on.node.as_str());
                    let on = on.to_owned();
                    let inner =
                        self.selection_set(&fragment.selection_set.node, &on, page, introspection)?;
                    if self.skipped(&fragment.directives) {
                        total.selections += inner.selections;
                    } else {
                        total.add(inner);
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let spread = &spread.node;
                    let name = spread.fragment_name.node.clone();
                    let inner = self.fragment(&name, page)?;
                    if self.skipped(&spread.directives) {
                        total.selections += inner.selections;
                    } else {
                        total.add(inner);
                    }
                }
            }
        }
        Ok(total)
    }

    /// Measures a fragment once per page size. Depths are heights (measured from the
    /// bottom), so a fragment measures the same wherever it is spread; whether its fields
    /// are introspection follows from its type condition.
    fn fragment(&mut self, name: &Name, page: Option<f64>) -> Result<Measure, Refusal> {
        let key = (name.clone(), page.map_or(u64::MAX, f64::to_bits));
        if let Some(measure) = self.memo.get(&key) {
            return Ok(*measure);
        }
        if self.visiting.contains(name) {
            return Err(Refusal::cycle(name.as_str()));
        }
        let Some(definition) = self.doc.fragments.get(name) else {
            return Ok(Measure::default());
        };
        self.visiting.push(name.clone());
        let on = definition.node.type_condition.node.on.node.to_string();
        let base = usize::from(on.starts_with("__"));
        let measure = self.selection_set(&definition.node.selection_set.node, &on, page, base);
        self.visiting.pop();
        let measure = measure?;
        self.memo.insert(key, measure);
        Ok(measure)
    }
}

fn effective_variables(
    op: &async_graphql::parser::types::OperationDefinition,
    given: &Variables,
) -> HashMap<Name, Value> {
    let mut out = HashMap::new();
    for def in &op.variable_definitions {
        let name = def.node.name.node.clone();
        if let Some(value) = given.get(&name) {
            out.insert(name, value.clone());
        } else if let Some(default) = &def.node.default_value {
            out.insert(name, default.node.clone());
        }
    }
    out
}

fn count_aliases(doc: &ExecutableDocument) -> usize {
    fn count(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(f) => {
                    usize::from(f.node.alias.is_some()) + count(&f.node.selection_set.node)
                }
                Selection::InlineFragment(f) => count(&f.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    doc.operations
        .iter()
        .map(|(_, op)| count(&op.node.selection_set.node))
        .chain(
            doc.fragments
                .values()
                .map(|f| count(&f.node.selection_set.node)),
        )
        .sum()
}

fn collect_root_fields(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    out: &mut HashMap<String, u32>,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => *out.entry(f.node.name.node.to_string()).or_default() += 1,
            Selection::InlineFragment(f) => {
                collect_root_fields(doc, &f.node.selection_set.node, out, depth + 1)
            }
            Selection::FragmentSpread(s) => {
                if let Some(f) = doc.fragments.get(&s.node.fragment_name.node) {
                    collect_root_fields(doc, &f.node.selection_set.node, out, depth + 1);
                }
            }
        }
    }
}

/// Merges identical selections in every selection set of the document.
fn merge_document(doc: &mut ExecutableDocument) {
    match &mut doc.operations {
        DocumentOperations::Single(op) => merge(&mut op.node.selection_set.node),
        DocumentOperations::Multiple(ops) => {
            for op in ops.values_mut() {
                merge(&mut op.node.selection_set.node);
            }
        }
    }
    for fragment in doc.fragments.values_mut() {
        merge(&mut fragment.node.selection_set.node);
    }
}

/// Merges, in one selection set, the fields with the same response key, arguments and
/// directives (their sub-selections are concatenated, then merged in turn), the identical
/// fragment spreads, and the inline fragments with the same type condition and directives.
fn merge(set: &mut SelectionSet) {
    let items = std::mem::take(&mut set.items);
    let mut out: Vec<Positioned<Selection>> = Vec::with_capacity(items.len());
    // Response key (or fragment name, or type condition) → indexes in `out`.
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    for item in items {
        let key = match &item.node {
            Selection::Field(f) => format!(
                "f:{}",
                f.node.alias.as_ref().unwrap_or(&f.node.name).node.as_str()
            ),
            Selection::FragmentSpread(s) => format!("s:{}", s.node.fragment_name.node),
            Selection::InlineFragment(i) => format!(
                "i:{}",
                i.node
                    .type_condition
                    .as_ref()
                    .map_or("", |c| c.node.on.node.as_str())
            ),
        };
        let candidates = index.entry(key).or_default();
        let same = candidates
            .iter()
            .copied()
            .find(|&at| match (&out[at].node, &item.node) {
                (Selection::Field(a), Selection::Field(b)) => {
                    a.node.name.node == b.node.name.node
                        && a.node.arguments == b.node.arguments
                        && same_directives(&a.node.directives, &b.node.directives)
                }
                (Selection::FragmentSpread(a), Selection::FragmentSpread(b)) => {
                    same_directives(&a.node.directives, &b.node.directives)
                }
                (Selection::InlineFragment(a), Selection::InlineFragment(b)) => {
                    same_directives(&a.node.directives, &b.node.directives)
                }
                _ => false,
            });
        match same {
            Some(at) => match (&mut out[at].node, item.node) {
                (Selection::Field(a), Selection::Field(b)) => a
                    .node
                    .selection_set
                    .node
                    .items
                    .extend(b.node.selection_set.node.items),
                (Selection::InlineFragment(a), Selection::InlineFragment(b)) => a
                    .node
                    .selection_set
                    .node
                    .items
                    .extend(b.node.selection_set.node.items),
                _ => {}
            },
            None => {
                candidates.push(out.len());
                out.push(item);
            }
        }
    }
    for item in &mut out {
        match &mut item.node {
            Selection::Field(f) => merge(&mut f.node.selection_set.node),
            Selection::InlineFragment(i) => merge(&mut i.node.selection_set.node),
            Selection::FragmentSpread(_) => {}
        }
    }
    set.items = out;
}

fn same_directives(a: &[Positioned<Directive>], b: &[Positioned<Directive>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(a, b)| {
            a.node.name.node == b.node.name.node && a.node.arguments == b.node.arguments
        })
}
