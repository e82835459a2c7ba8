//! The French, Arabic and Tamazight texts of the seeded catalog
//! (`seed/data/i18n/*.csv`, see its README), embedded and parsed by natural key: SKU,
//! cooperative slug, segment slug, region code, province name, English product line.

use crate::domain::translations::{self, Subject, SubjectKind, Text};
use crate::entities::{province, region, segment, translation};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, sea_query::Expr};
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// Names and descriptions of one thing in French and Arabic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Texts {
    pub name_fr: String,
    pub name_ar: String,
    pub description_fr: String,
    pub description_ar: String,
}

impl Texts {
    /// `(language, text)` for each language with a name (`-` is "nothing to say").
    pub fn by_language(&self) -> Vec<(&'static str, Text)> {
        let text = |name: &str, description: &str| {
            (name != "-" && !name.is_empty()).then(|| Text {
                name: name.to_owned(),
                description: (description != "-" && !description.is_empty())
                    .then(|| description.to_owned()),
            })
        };
        [
            ("fr", text(&self.name_fr, &self.description_fr)),
            ("ar", text(&self.name_ar, &self.description_ar)),
        ]
        .into_iter()
        .filter_map(|(l, t)| t.map(|t| (l, t)))
        .collect()
    }
}

fn rows(file: &'static str, text: &'static str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => panic!("seed/data/i18n/{file}: {e}"),
    };
    reader
        .records()
        .map(|r| match r {
            Ok(r) => headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect(),
            Err(e) => panic!("seed/data/i18n/{file}: {e}"),
        })
        .collect()
}

fn texts_by(
    file: &'static str,
    text: &'static str,
    key: impl Fn(&HashMap<String, String>) -> String,
) -> HashMap<String, Texts> {
    rows(file, text)
        .into_iter()
        .map(|r| {
            let get = |c: &str| r.get(c).cloned().unwrap_or_default();
            (
                key(&r),
                Texts {
                    name_fr: get("name_fr"),
                    name_ar: get("name_ar"),
                    description_fr: get("description_fr"),
                    description_ar: get("description_ar"),
                },
            )
        })
        .collect()
}

macro_rules! data {
    ($file:literal) => {
        ($file, include_str!(concat!("data/i18n/", $file)))
    };
}

/// The demo's products by SKU.
pub static PRODUCTS: LazyLock<HashMap<String, Texts>> = LazyLock::new(|| {
    let (f, t) = data!("products.csv");
    texts_by(f, t, |r| r["sku"].clone())
});

/// Product lines by English name and description (the market catalog's products).
pub static PRODUCT_LINES: LazyLock<HashMap<(String, String), Texts>> = LazyLock::new(|| {
    let (f, t) = data!("product_lines.csv");
    rows(f, t)
        .into_iter()
        .map(|r| {
            let get = |c: &str| r.get(c).cloned().unwrap_or_default();
            (
                (get("name_en"), get("description_en")),
                Texts {
                    name_fr: get("name_fr"),
                    name_ar: get("name_ar"),
                    description_fr: get("description_fr"),
                    description_ar: get("description_ar"),
                },
            )
        })
        .collect()
});

/// The demo's cooperatives by slug.
pub static COOPERATIVES: LazyLock<HashMap<String, Texts>> = LazyLock::new(|| {
    let (f, t) = data!("cooperatives.csv");
    texts_by(f, t, |r| r["slug"].clone())
});

/// Segments by slug (with their English description).
pub static SEGMENTS: LazyLock<HashMap<String, (Texts, String)>> = LazyLock::new(|| {
    let (f, t) = data!("segments.csv");
    rows(f, t)
        .into_iter()
        .map(|r| {
            let get = |c: &str| r.get(c).cloned().unwrap_or_default();
            (
                get("slug"),
                (
                    Texts {
                        name_fr: get("name_fr"),
                        name_ar: get("name_ar"),
                        description_fr: get("description_fr"),
                        description_ar: get("description_ar"),
                    },
                    get("description_en"),
                ),
            )
        })
        .collect()
});

/// Regions by code.
pub static REGIONS: LazyLock<HashMap<String, Texts>> = LazyLock::new(|| {
    let (f, t) = data!("regions.csv");
    texts_by(f, t, |r| r["code"].clone())
});

/// Provinces by region code and name.
pub static PROVINCES: LazyLock<HashMap<(String, String), Texts>> = LazyLock::new(|| {
    let (f, t) = data!("provinces.csv");
    rows(f, t)
        .into_iter()
        .map(|r| {
            let get = |c: &str| r.get(c).cloned().unwrap_or_default();
            (
                (get("region_code"), get("name")),
                Texts {
                    name_fr: get("name_fr"),
                    name_ar: get("name_ar"),
                    ..Default::default()
                },
            )
        })
        .collect()
});

/// A market word in French and Arabic, and its variant (`adjective`, `complement`…).
type MarketWord = (String, String, String);

/// The pieces of the market-scale cooperatives' names and descriptions
/// (`market_words.csv`): `(fr, ar, variant)` by kind and source text.
pub static MARKET_WORDS: LazyLock<HashMap<(String, String), Vec<MarketWord>>> =
    LazyLock::new(|| {
        let (f, t) = data!("market_words.csv");
        let mut map: HashMap<(String, String), Vec<MarketWord>> = HashMap::new();
        for r in rows(f, t) {
            map.entry((r["kind"].clone(), r["source"].clone()))
                .or_default()
                .push((r["fr"].clone(), r["ar"].clone(), r["variant"].clone()));
        }
        map
    });

/// The Arabic of a market word (`kind`, `source`) and its variant.
pub fn market_word(kind: &str, source: &str) -> Option<(&'static str, &'static str)> {
    MARKET_WORDS
        .get(&(kind.to_owned(), source.to_owned()))
        .and_then(|v| v.first())
        .map(|(_, ar, variant)| (ar.as_str(), variant.as_str()))
}

/// Tamazight (Tifinagh) names of regions and segments, by kind and key.
pub static TAMAZIGHT: LazyLock<HashMap<(String, String), String>> = LazyLock::new(|| {
    let (f, t) = data!("zgh_sample.csv");
    rows(f, t)
        .into_iter()
        .map(|r| ((r["kind"].clone(), r["key"].clone()), r["name_zgh"].clone()))
        .collect()
});

/// Writes the texts of the regions, provinces and segments (French, Arabic, Tamazight)
/// that have none yet in a language, and the English description of segments without
/// one: a manager's own translations are never overwritten. Returns whether it wrote
/// anything (the caller then bumps the catalog's version).
pub async fn seed_reference_texts(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    let known: HashSet<(String, String, String)> = translation::Entity::find()
        .filter(translation::Column::SubjectKind.is_in(["region", "province", "segment"]))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.subject_kind, t.subject_key, t.language))
        .collect();
    let mut rows = Vec::new();
    let mut add = |subject: Subject, language: &str, text: Text| {
        let key = (
            subject.kind.as_str().to_owned(),
            subject.key.clone(),
            language.to_owned(),
        );
        if !known.contains(&key) {
            rows.push((subject, language.to_owned(), text));
        }
    };
    for r in region::Entity::find().all(db).await? {
        let subject = || Subject::new(SubjectKind::Region, &r.code);
        if let Some(texts) = REGIONS.get(&r.code) {
            for (language, text) in texts.by_language() {
                add(subject(), language, text);
            }
        }
        if let Some(name) = TAMAZIGHT.get(&("region".to_owned(), r.code.clone())) {
            add(
                subject(),
                "zgh",
                Text {
                    name: name.clone(),
                    description: None,
                },
            );
        }
    }
    for p in province::Entity::find().all(db).await? {
        if let Some(texts) = PROVINCES.get(&(p.region_code.clone(), p.name.clone())) {
            for (language, text) in texts.by_language() {
                add(Subject::new(SubjectKind::Province, p.id), language, text);
            }
        }
    }
    let segments = segment::Entity::find().all(db).await?;
    for s in &segments {
        let subject = || Subject::new(SubjectKind::Segment, s.id);
        if let Some((texts, _)) = SEGMENTS.get(&s.slug) {
            for (language, text) in texts.by_language() {
                add(subject(), language, text);
            }
        }
        if let Some(name) = TAMAZIGHT.get(&("segment".to_owned(), s.slug.clone())) {
            add(
                subject(),
                "zgh",
                Text {
                    name: name.clone(),
                    description: None,
                },
            );
        }
    }
    let wrote = !rows.is_empty();
    translations::upsert(db, rows)
        .await
        .map_err(|e| DbErr::Custom(format!("{e:?}")))?;
    let mut described = false;
    for s in segments.iter().filter(|s| s.description.is_empty()) {
        if let Some((_, english)) = SEGMENTS.get(&s.slug).filter(|(_, e)| !e.is_empty()) {
            segment::Entity::update_many()
                .col_expr(segment::Column::Description, Expr::value(english.clone()))
                .filter(segment::Column::Id.eq(s.id))
                .exec(db)
                .await?;
            described = true;
        }
    }
    Ok(wrote || described)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_parses_and_covers_the_demo() {
        assert_eq!(PRODUCTS.len(), 257);
        assert_eq!(COOPERATIVES.len(), 40);
        assert_eq!(SEGMENTS.len(), 25);
        assert_eq!(REGIONS.len(), 12);
        assert_eq!(PROVINCES.len(), 75);
        assert_eq!(TAMAZIGHT.len(), 37);
        assert!(PRODUCT_LINES.len() >= 180);
        assert_eq!(PRODUCTS["OLV-OUZ-001"].name_ar, "زيت الزيتون البكر الممتاز");
    }
}
