//! Languages in the API: the request's language (chosen by the HTTP layer from
//! `Accept-Language`, or by the operation's `@inContext(language:)` directive, as in
//! Shopify's Storefront API), the `languages` query, the translated fields' resolution
//! with fallback, `translations` of translatable types, and the mutations that set or
//! remove one language's text.

use crate::error::{AppError, AppResult, Result};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{self, NodeType};
use crate::graphql::payload::respond;
use crate::payload;
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::registry::{MetaDirective, MetaDirectiveInvocation, MetaInputValue, Registry};
use async_graphql::{
    Context, CustomDirective, CustomDirectiveFactory, Enum, ID, InputObject, Object, ServerResult,
    SimpleObject, Variables,
};
use chrono::{DateTime, Utc};
use market_core::db;
use market_core::domain::i18n::{self, Direction, Language, Languages};
use market_core::domain::reads;
use market_core::domain::translations::{self as dt, Subject, SubjectKind};
use market_core::models::translation;
use std::borrow::Cow;

/// The language a request is answered in, set by the HTTP layer.
#[derive(Clone, Debug)]
pub struct RequestLanguage(pub Language);

/// The directive's name.
pub const IN_CONTEXT: &str = "inContext";

/// The language an operation's `@inContext(language: …)` asks for, if it has one:
/// `Err` with a message when it names no configured language.
pub fn operation_language<'a>(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    languages: &'a Languages,
) -> std::result::Result<Option<&'a Language>, String> {
    let operation = match operation_name {
        Some(name) => doc
            .operations
            .iter()
            .find(|(n, _)| n.is_some_and(|n| n.as_str() == name))
            .map(|(_, op)| op),
        None => doc.operations.iter().next().map(|(_, op)| op),
    };
    let Some(operation) = operation else {
        return Ok(None);
    };
    let Some(directive) = operation
        .node
        .directives
        .iter()
        .find(|d| d.node.name.node.as_str() == IN_CONTEXT)
    else {
        return Ok(None);
    };
    let Some(value) = directive.node.get_argument("language") else {
        return Ok(None);
    };
    let value = value
        .node
        .clone()
        .into_const_with(|name| variables.get(&name).cloned().ok_or(()))
        .ok();
    let tag = match value {
        Some(async_graphql::Value::String(tag)) => tag,
        Some(async_graphql::Value::Enum(tag)) => tag.to_string(),
        _ => return Err("@inContext(language:) needs a language tag such as \"fr\"".into()),
    };
    match languages.find(&tag) {
        Some(language) => Ok(Some(language)),
        None => Err(format!(
            "@inContext(language: {tag:?}): not one of the market's languages ({})",
            languages
                .all()
                .iter()
                .map(|l| l.tag.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// `@inContext(language:)` on a query or mutation: answer it in that language, whatever
/// `Accept-Language` says. Read by the HTTP layer before the operation runs; nothing to
/// do while it runs.
pub struct InContext;

struct NoOp;

impl CustomDirective for NoOp {}

impl CustomDirectiveFactory for InContext {
    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed(IN_CONTEXT)
    }

    fn register(&self, registry: &mut Registry) {
        let mut args = async_graphql::indexmap::IndexMap::new();
        args.insert(
            "language".to_string(),
            MetaInputValue {
                name: "language".to_string(),
                description: Some(
                    "A language tag of the `languages` query (`fr`, `ar`); a regional tag \
                     (`fr-CA`) names its language."
                        .to_string(),
                ),
                ty: "String!".to_string(),
                deprecation: Default::default(),
                default_value: None,
                visible: None,
                inaccessible: false,
                tags: Vec::new(),
                is_secret: false,
                directive_invocations: Vec::<MetaDirectiveInvocation>::new(),
            },
        );
        registry.add_directive(MetaDirective {
            name: IN_CONTEXT.to_string(),
            description: Some(
                "Answers the operation in `language` (overriding `Accept-Language`), as \
                 Shopify's `@inContext`. Translated fields fall back along the language's \
                 chain (see `languages`)."
                    .to_string(),
            ),
            locations: vec![
                async_graphql::registry::__DirectiveLocation::QUERY,
                async_graphql::registry::__DirectiveLocation::MUTATION,
            ],
            args,
            is_repeatable: false,
            visible: None,
            composable: None,
        });
    }

    fn create(
        &self,
        _ctx: &async_graphql::ContextDirective<'_>,
        _directive: &async_graphql::parser::types::Directive,
    ) -> ServerResult<Box<dyn CustomDirective>> {
        Ok(Box::new(NoOp))
    }
}

/// Which way a language is written.
#[derive(Enum, Copy, Clone, PartialEq, Eq)]
pub enum TextDirection {
    /// Left to right (French, English, Tamazight in Tifinagh).
    Ltr,
    /// Right to left (Arabic).
    Rtl,
}

impl From<Direction> for TextDirection {
    fn from(d: Direction) -> Self {
        match d {
            Direction::LeftToRight => Self::Ltr,
            Direction::RightToLeft => Self::Rtl,
        }
    }
}

/// A language the catalog is offered in.
#[derive(SimpleObject)]
pub struct LanguageInfo {
    /// Language tag (BCP 47, lower case): `en`, `fr`, `ar`.
    pub code: String,
    /// Which way it is written: lay out `RTL` text right to left.
    pub direction: TextDirection,
    /// Where a missing text is taken from, in order (ends with the base language).
    pub fallbacks: Vec<String>,
    /// Whether this is the catalog's base language (the one of `createProduct`'s name
    /// and description, and of requests that ask for no known language).
    pub is_base: bool,
}

impl LanguageInfo {
    fn new(l: &Language, base: &Language) -> Self {
        Self {
            code: l.tag.clone(),
            direction: l.direction().into(),
            fallbacks: l.chain.iter().skip(1).cloned().collect(),
            is_base: l.tag == base.tag,
        }
    }
}

/// The text of a translated thing in one language.
pub struct Translation(pub translation::Model);

/// The text of a translated thing in one language.
#[Object]
impl Translation {
    /// Language tag of the text.
    async fn language(&self) -> &str {
        &self.0.language
    }
    /// Which way the text is written.
    async fn direction(&self) -> TextDirection {
        i18n::direction_of(&self.0.language).into()
    }
    /// Name in that language.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Description in that language (`null` when not translated, or for things without
    /// a description).
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// When it was last set.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Every translation of a thing (other than its base-language text), by language.
#[derive(Clone, Hash, PartialEq, Eq)]
pub struct TranslationsOf(pub Subject);

crate::graphql::loaders::db_loader!(TranslationsOf => Vec<translation::Model>, |db, keys| {
    let rows = dt::of_subjects(db, keys.iter().map(|k| k.0.clone())).await?;
    let kind_of = |s: &str| match s {
        "product" => Some(SubjectKind::Product),
        "cooperative" => Some(SubjectKind::Cooperative),
        "segment" => Some(SubjectKind::Segment),
        "region" => Some(SubjectKind::Region),
        "province" => Some(SubjectKind::Province),
        _ => None,
    };
    Ok(crate::graphql::loaders::group(
        keys,
        rows.into_iter().filter_map(|r| {
            kind_of(&r.subject_kind)
                .map(|k| (TranslationsOf(Subject::new(k, &r.subject_key)), r))
        }),
    ))
});

/// A thing's name and description in the request's language.
pub struct Localized {
    pub name: String,
    pub description: String,
    /// The language of the name (which the chain may have fallen back to).
    pub language: String,
}

/// The request's language.
pub fn language<'a>(ctx: &'a Context<'_>) -> &'a Language {
    match ctx.data_opt::<RequestLanguage>() {
        Some(l) => &l.0,
        None => ctx.config().languages.base(),
    }
}

/// Whether the request is answered in the base language (no translation to read).
pub fn in_base_language(ctx: &Context<'_>) -> bool {
    language(ctx).tag == ctx.config().languages.base().tag
}

/// `subject`'s name and description in the request's language, falling back along its
/// chain; the base texts (the thing's own columns) end every chain.
pub async fn localize(
    ctx: &Context<'_>,
    subject: Subject,
    base_name: &str,
    base_description: &str,
) -> AppResult<Localized> {
    let base = ctx.config().languages.base().tag.clone();
    if in_base_language(ctx) {
        return Ok(Localized {
            name: base_name.to_owned(),
            description: base_description.to_owned(),
            language: base,
        });
    }
    let rows = ctx
        .loaders()
        .load_one(TranslationsOf(subject))
        .await?
        .unwrap_or_default();
    let chain = &language(ctx).chain;
    let find = |tag: &str| rows.iter().find(|r| r.language == tag);
    let (name, language) = i18n::resolve(chain, &base, base_name, |t| {
        find(t).map(|r| r.name.as_str())
    });
    let (description, _) = i18n::resolve(chain, &base, base_description, |t| {
        find(t).and_then(|r| r.description.as_deref())
    });
    Ok(Localized {
        name: name.to_owned(),
        description: description.to_owned(),
        language: language.to_owned(),
    })
}

/// Reads, in one batch, the translations of `subjects` a page will ask for (nothing in
/// the base language).
pub async fn prefetch(ctx: &Context<'_>, subjects: impl Iterator<Item = Subject>) -> AppResult<()> {
    if in_base_language(ctx) {
        return Ok(());
    }
    ctx.loaders()
        .load_many(subjects.map(TranslationsOf))
        .await?;
    Ok(())
}

/// Every translation of `subject` in the market's languages, by language.
pub async fn translations(ctx: &Context<'_>, subject: Subject) -> AppResult<Vec<Translation>> {
    let languages = &ctx.config().languages;
    Ok(ctx
        .loaders()
        .load_one(TranslationsOf(subject))
        .await?
        .unwrap_or_default()
        .into_iter()
        .filter(|t| languages.all().iter().any(|l| l.tag == t.language))
        .map(Translation)
        .collect())
}

/// The thing a global ID names, and the cooperative it belongs to (for `policy`).
async fn subject_of(ctx: &Context<'_>, id: &ID) -> AppResult<(Subject, Option<i32>)> {
    let (node_type, key) = ids::decode_any(id)?;
    let int = || ids::int_key::<i32>(id, &key);
    Ok(match node_type {
        NodeType::Product => {
            let id = int()?;
            let owner = reads::product(ctx.db(), id)
                .await?
                .map(|p| p.cooperative_id);
            (Subject::new(SubjectKind::Product, id), owner)
        }
        NodeType::Cooperative => {
            let id = int()?;
            let owner = reads::cooperative(ctx.db(), id).await?.map(|c| c.id);
            (Subject::new(SubjectKind::Cooperative, id), owner)
        }
        NodeType::Segment => (Subject::new(SubjectKind::Segment, int()?), None),
        NodeType::Region => (Subject::new(SubjectKind::Region, key), None),
        other => {
            return Err(AppError::bad_input(format!(
                "a {} has no translations; translate products, cooperatives, segments and regions",
                other.name()
            )));
        }
    })
}

/// One language's text of a product, cooperative, segment or region.
#[derive(InputObject)]
pub struct SetTranslationInput {
    /// Global ID of the product, cooperative, segment or region.
    pub id: ID,
    /// A language of the `languages` query other than the base one (whose text is the
    /// thing's own name and description).
    pub language: String,
    /// Name in that language, 1 to 200 characters.
    pub name: String,
    /// Description in that language, at most 5,000 characters (products, cooperatives and
    /// segments only); omitted or empty: none (readers fall back along the chain).
    pub description: Option<String>,
}

/// Which language's text to remove from a thing.
#[derive(InputObject)]
pub struct RemoveTranslationInput {
    /// Global ID of the product, cooperative, segment or region.
    pub id: ID,
    /// The language whose text to remove.
    pub language: String,
}

payload!(
    /// The result of `setTranslation`.
    TranslationPayload {
        /// The text as saved.
        translation: Translation
    }
);

payload!(
    /// The result of `removeTranslation`.
    RemoveTranslationPayload {
        /// Whether there was a text to remove.
        removed: bool
    }
);

/// The `languages` query.
#[derive(Default)]
pub struct I18nQuery;

/// The `languages` query.
#[Object]
impl I18nQuery {
    /// The languages the catalog is offered in, the base one first. Send
    /// `Accept-Language` (q-values honoured) or put `@inContext(language: "ar")` on the
    /// operation; the response's `Content-Language` says which one was used.
    async fn languages(&self, ctx: &Context<'_>) -> Vec<LanguageInfo> {
        let languages = &ctx.config().languages;
        languages
            .all()
            .iter()
            .map(|l| LanguageInfo::new(l, languages.base()))
            .collect()
    }
}

/// Translation mutations (portal and back office).
#[derive(Default)]
pub struct I18nMutation;

/// Translation mutations (portal and back office).
#[Object]
impl I18nMutation {
    /// Sets one language's name and description of a product, cooperative, segment or
    /// region, replacing the text there. Members: their own cooperative and its
    /// products; managers: everything.
    async fn set_translation(
        &self,
        ctx: &Context<'_>,
        input: SetTranslationInput,
    ) -> Result<TranslationPayload> {
        ctx.viewer().require_user()?;
        let (subject, owner) = subject_of(ctx, &input.id).await?;
        ctx.viewer().require_translation_editor(owner)?;
        let text = dt::Text {
            name: input.name,
            description: input.description,
        };
        let txn = db::begin_write(ctx.db()).await?;
        let result = dt::set(
            &txn,
            &ctx.config().languages,
            &subject,
            &input.language,
            &text,
        )
        .await;
        respond(db::finish(txn, result).await, |t| {
            TranslationPayload::ok(Translation(t))
        })
    }

    /// Removes one language's text of a product, cooperative, segment or region: readers
    /// fall back along the language's chain. Same permissions as `setTranslation`.
    async fn remove_translation(
        &self,
        ctx: &Context<'_>,
        input: RemoveTranslationInput,
    ) -> Result<RemoveTranslationPayload> {
        ctx.viewer().require_user()?;
        let (subject, owner) = subject_of(ctx, &input.id).await?;
        ctx.viewer().require_translation_editor(owner)?;
        let txn = db::begin_write(ctx.db()).await?;
        let result = dt::remove(&txn, &ctx.config().languages, &subject, &input.language).await;
        respond(db::finish(txn, result).await, RemoveTranslationPayload::ok)
    }
}
