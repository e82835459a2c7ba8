//! The catalog's texts in other languages than its base one: batched reads for a page of
//! things, and setting or removing one language's text of one thing (validated, in the
//! transaction that bumps the catalog's version). Who may do so is `policy`'s business.

use crate::domain::catalog_version;
use crate::domain::i18n::Languages;
use crate::domain::input;
use crate::entities::{cooperative, product, province, region, segment, translation};
use crate::error::{AppError, AppResult, UserError, UserErrorCode};
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use std::collections::BTreeMap;

/// What kind of thing a text translates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubjectKind {
    Product,
    Cooperative,
    Segment,
    Region,
    Province,
}

impl SubjectKind {
    /// The spelling stored in `translations.subject_kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Product => "product",
            Self::Cooperative => "cooperative",
            Self::Segment => "segment",
            Self::Region => "region",
            Self::Province => "province",
        }
    }

    /// Whether things of this kind have a description (regions and provinces only have
    /// a name).
    pub fn has_description(self) -> bool {
        matches!(self, Self::Product | Self::Cooperative | Self::Segment)
    }
}

/// One translated thing: its kind and key (its id, or a region's code).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject {
    pub kind: SubjectKind,
    pub key: String,
}

impl Subject {
    pub fn new(kind: SubjectKind, key: impl ToString) -> Self {
        Self {
            kind,
            key: key.to_string(),
        }
    }
}

/// Every translation of `subjects`, in one statement (none without subjects), by
/// subject then language.
pub async fn of_subjects(
    db: &impl ConnectionTrait,
    subjects: impl IntoIterator<Item = Subject>,
) -> Result<Vec<translation::Model>, sea_orm::DbErr> {
    let mut by_kind: BTreeMap<SubjectKind, Vec<String>> = BTreeMap::new();
    for s in subjects {
        by_kind.entry(s.kind).or_default().push(s.key);
    }
    if by_kind.is_empty() {
        return Ok(Vec::new());
    }
    let mut any = Condition::any();
    for (kind, mut keys) in by_kind {
        keys.sort();
        keys.dedup();
        any = any.add(
            Condition::all()
                .add(translation::Column::SubjectKind.eq(kind.as_str()))
                .add(translation::Column::SubjectKey.is_in(keys)),
        );
    }
    translation::Entity::find()
        .filter(any)
        .order_by_asc(translation::Column::SubjectKind)
        .order_by_asc(translation::Column::SubjectKey)
        .order_by_asc(translation::Column::Language)
        .all(db)
        .await
}

/// One language's text of a thing, as given by a client or an import.
#[derive(Debug, Clone, Default)]
pub struct Text {
    pub name: String,
    pub description: Option<String>,
}

/// Longest translated name: as long as the base name may be.
pub const MAX_NAME: usize = input::NAME;
/// Longest translated description.
pub const MAX_DESCRIPTION: usize = input::DESCRIPTION;

/// The configured language `tag` names, other than the base one (whose text is the
/// thing's own columns), as a user error on `field` otherwise.
pub fn check_language(languages: &Languages, tag: &str, field: &str) -> Result<String, UserError> {
    let known = || {
        languages
            .all()
            .iter()
            .map(|l| l.tag.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let tag = tag.trim().to_ascii_lowercase();
    match languages.all().iter().find(|l| l.tag == tag) {
        Some(l) if l.tag == languages.base().tag => Err(UserError::new(
            UserErrorCode::Invalid,
            &[field],
            format!(
                "{} is the catalog's base language: change the thing's own name and description instead.",
                l.tag
            ),
        )),
        Some(l) => Ok(l.tag.clone()),
        None => Err(UserError::new(
            UserErrorCode::Invalid,
            &[field],
            format!(
                "{} is not one of the market's languages ({}).",
                crate::domain::catalog::quoted(&tag),
                known()
            ),
        )),
    }
}

/// Checks a text: a name of 1 to [`MAX_NAME`] characters, an optional description of at
/// most [`MAX_DESCRIPTION`] (only for kinds that have one); trimmed.
pub fn check_text(kind: SubjectKind, text: &Text) -> Result<Text, Vec<UserError>> {
    let mut errors = Vec::new();
    let name = input::required(&mut errors, "name", "a name", &text.name, MAX_NAME);
    let description =
        input::description(&mut errors, text.description.as_deref()).filter(|d| !d.is_empty());
    if description.is_some() && !kind.has_description() {
        errors.push(UserError::new(
            UserErrorCode::Invalid,
            &["description"],
            format!("A {} has a name but no description.", kind.as_str()),
        ));
    }
    if errors.is_empty() {
        Ok(Text { name, description })
    } else {
        Err(errors)
    }
}

/// Whether the thing exists.
async fn exists(db: &impl ConnectionTrait, subject: &Subject) -> AppResult<bool> {
    let id = || subject.key.parse::<i32>().ok();
    Ok(match subject.kind {
        SubjectKind::Product => match id() {
            Some(id) => product::Entity::find_by_id(id).one(db).await?.is_some(),
            None => false,
        },
        SubjectKind::Cooperative => match id() {
            Some(id) => cooperative::Entity::find_by_id(id).one(db).await?.is_some(),
            None => false,
        },
        SubjectKind::Segment => match id() {
            Some(id) => segment::Entity::find_by_id(id).one(db).await?.is_some(),
            None => false,
        },
        SubjectKind::Province => match id() {
            Some(id) => province::Entity::find_by_id(id).one(db).await?.is_some(),
            None => false,
        },
        SubjectKind::Region => region::Entity::find_by_id(subject.key.clone())
            .one(db)
            .await?
            .is_some(),
    })
}

/// Writes `rows` (subject, language, text), replacing the texts already there, without
/// checks: for seeds and imports, whose callers validate and bump the catalog version.
pub async fn upsert(
    db: &impl ConnectionTrait,
    rows: impl IntoIterator<Item = (Subject, String, Text)>,
) -> AppResult<()> {
    let now = Utc::now();
    let models: Vec<translation::ActiveModel> = rows
        .into_iter()
        .map(|(subject, language, text)| translation::ActiveModel {
            id: NotSet,
            subject_kind: Set(subject.kind.as_str().to_owned()),
            subject_key: Set(subject.key),
            language: Set(language),
            name: Set(text.name),
            description: Set(text.description),
            updated_at: Set(now),
        })
        .collect();
    // Chunks keep each statement under SQLite's bound-parameter limit.
    for chunk in models.chunks(500) {
        translation::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    translation::Column::SubjectKind,
                    translation::Column::SubjectKey,
                    translation::Column::Language,
                ])
                .update_columns([
                    translation::Column::Name,
                    translation::Column::Description,
                    translation::Column::UpdatedAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Sets `language`'s text of `subject` (replacing the one there), in the caller's
/// transaction, and bumps the catalog's version. The language must be a configured one
/// other than the base language.
pub async fn set(
    db: &impl ConnectionTrait,
    languages: &Languages,
    subject: &Subject,
    language: &str,
    text: &Text,
) -> AppResult<translation::Model> {
    let language =
        check_language(languages, language, "language").map_err(|e| AppError::User(vec![e]))?;
    let text = check_text(subject.kind, text).map_err(AppError::User)?;
    if !exists(db, subject).await? {
        return Err(AppError::NotFound(format!(
            "No such {}.",
            subject.kind.as_str()
        )));
    }
    upsert(db, [(subject.clone(), language.clone(), text)]).await?;
    catalog_version::touch_texts(db).await?;
    translation::Entity::find()
        .filter(translation::Column::SubjectKind.eq(subject.kind.as_str()))
        .filter(translation::Column::SubjectKey.eq(subject.key.clone()))
        .filter(translation::Column::Language.eq(language))
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("a translation just written is missing"))
}

/// Removes `language`'s text of `subject` (readers fall back along the chain); whether
/// there was one. Bumps the catalog's version when it removed something.
pub async fn remove(
    db: &impl ConnectionTrait,
    languages: &Languages,
    subject: &Subject,
    language: &str,
) -> AppResult<bool> {
    let language =
        check_language(languages, language, "language").map_err(|e| AppError::User(vec![e]))?;
    if !exists(db, subject).await? {
        return Err(AppError::NotFound(format!(
            "No such {}.",
            subject.kind.as_str()
        )));
    }
    let deleted = translation::Entity::delete_many()
        .filter(translation::Column::SubjectKind.eq(subject.kind.as_str()))
        .filter(translation::Column::SubjectKey.eq(subject.key.clone()))
        .filter(translation::Column::Language.eq(language))
        .exec(db)
        .await?
        .rows_affected;
    if deleted > 0 {
        catalog_version::touch_texts(db).await?;
    }
    Ok(deleted > 0)
}

/// Every translation of the catalog (for the search index, which reads them all).
pub async fn all(db: &impl ConnectionTrait) -> AppResult<Vec<translation::Model>> {
    Ok(translation::Entity::find()
        .order_by_asc(translation::Column::Id)
        .all(db)
        .await?)
}
