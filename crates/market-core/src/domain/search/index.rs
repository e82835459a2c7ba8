//! The in-process search index of the catalog (see the module's documentation above).

use crate::domain::catalog_version;
use crate::entities::{cooperative, product, province, region, segment, translation};
use crate::error::AppResult;
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

/// Words too common to mean anything (after folding; French, English, Arabic).
const STOP_WORDS: &[&str] = &[
    // French
    "le", "la", "les", "de", "des", "du", "un", "une", "et", "ou", "au", "aux", "en", "pour", "par",
    "sur", "avec", "sans", "dans", "ce", "ces", "son", "sa", "ses", "qu",
    // English ("the" is also French "thé", folded)
    "and", "of", "with", "in", "for", "an", "to", "on", "or", "from",
    // Arabic (normalized)
    "في", "من", "علي", "على", "مع", "عن", "الي", "او", "و",
];

/// Arabic marks removed before anything else: tashkeel (harakat, tanwin, shadda, sukun,
/// superscript alef) and tatweel.
fn is_arabic_mark(c: char) -> bool {
    matches!(c, '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' | '\u{06D6}'..='\u{06ED}')
}

fn is_arabic(c: char) -> bool {
    matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' | '\u{08A0}'..='\u{08FF}')
}

/// Latin letters whose accents are folded (`é` → `e`, `œ` → `oe`).
fn is_latin(c: char) -> bool {
    (c as u32) < 0x0250 || matches!(c, '\u{1E00}'..='\u{1EFF}')
}

/// Folds one Arabic word: alef and hamza variants, alef maqsura, taa marbuta; the
/// article (with a leading و, ب, ك, ف, or ل + ل) is removed when a word remains.
fn fold_arabic(word: &str) -> String {
    let folded: String = word
        .chars()
        .map(|c| match c {
            'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
            'ى' | 'ئ' => 'ي',
            'ؤ' => 'و',
            'ة' => 'ه',
            other => other,
        })
        .collect();
    for prefix in ["وال", "بال", "كال", "فال", "لل", "ال"] {
        if let Some(rest) = folded.strip_prefix(prefix)
            && rest.chars().count() >= 2
        {
            return rest.to_owned();
        }
    }
    folded
}

/// A light French/English stemmer: one plural `s`/`x`, then a final `e` (`épices` →
/// `epic`, `bleue` → `bleu`, `farcies` → `farci`), on words of 4+ letters.
fn stem(word: &str) -> String {
    let mut w = word.to_owned();
    if w.len() >= 4 && (w.ends_with('s') && !w.ends_with("ss") || w.ends_with('x')) {
        w.pop();
    }
    if w.len() >= 4 && w.ends_with('e') {
        w.pop();
    }
    w
}

/// One searchable word: its folded form, and the length the shopper typed (typos are
/// tolerated on words of 5+ letters).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Word {
    term: String,
    typed: usize,
}

/// Splits `text` into folded words, stop words included (`stop` says which are).
fn words(text: &str) -> Vec<(Word, bool)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, out: &mut Vec<(Word, bool)>| {
        if current.is_empty() {
            return;
        }
        let raw = std::mem::take(current);
        let typed = raw.chars().count();
        let (term, stop) = if raw.chars().any(is_arabic) {
            let folded = fold_arabic(&raw);
            let stop = STOP_WORDS.contains(&folded.as_str());
            (folded, stop)
        } else {
            // Elided articles and single letters ("d'", "l'", "m'") carry nothing.
            let stop = typed < 2 || STOP_WORDS.contains(&raw.as_str());
            (stem(&raw), stop)
        };
        out.push((Word { term, typed }, stop));
    };
    for c in text.chars() {
        if is_arabic_mark(c) {
            continue;
        }
        if c.is_alphanumeric() {
            if is_latin(c) {
                for folded in deunicode::deunicode_char(c).unwrap_or("").chars() {
                    if folded.is_ascii_alphanumeric() {
                        current.push(folded.to_ascii_lowercase());
                    }
                }
            } else {
                current.extend(c.to_lowercase());
            }
        } else {
            flush(&mut current, &mut out);
        }
    }
    flush(&mut current, &mut out);
    out
}

/// The folded words of `text` that carry meaning (stop words and elisions removed).
pub fn tokens(text: &str) -> Vec<String> {
    words(text)
        .into_iter()
        .filter(|(_, stop)| !stop)
        .map(|(w, _)| w.term)
        .collect()
}

/// Whether `a` and `b` are at most one edit apart (insertion, deletion, substitution or
/// transposition of two neighbours).
fn one_edit(a: &[char], b: &[char]) -> bool {
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > 1 {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if prefix == la && prefix == lb {
        return true;
    }
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    if la == lb {
        // Substitution, or transposition of two neighbours.
        ra[1..] == rb[1..]
            || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
    } else if la > lb {
        ra[1..] == *rb
    } else {
        *ra == rb[1..]
    }
}

/// How much a match in each field weighs.
mod weight {
    pub const NAME: f32 = 3.0;
    pub const SEGMENT: f32 = 2.0;
    pub const COOPERATIVE: f32 = 1.2;
    pub const DESCRIPTION: f32 = 1.0;
    pub const PLACE: f32 = 0.8;
    pub const FORMAT: f32 = 0.6;
    pub const COOPERATIVE_DESCRIPTION: f32 = 0.4;
    /// How much of a word's weight a prefix match keeps.
    pub const PREFIX: f32 = 0.7;
    /// How much of a word's weight a one-typo match keeps.
    pub const TYPO: f32 = 0.6;
}

/// A product found, with its relevance (higher first; ties by id).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    pub product_id: i32,
    /// Relevance in thousandths, as carried in cursors.
    pub score: i64,
}

/// One indexed product: its names by language, for suggestions.
struct Doc {
    id: i32,
    names: Vec<(String, String)>,
}

/// The index at one text version of the catalog.
struct Built {
    text_version: catalog_version::TextVersion,
    docs: Vec<Doc>,
    /// Each word's documents and the weight of the word in each.
    postings: HashMap<String, Vec<(u32, f32)>>,
    /// Every word, sorted, for prefixes.
    vocabulary: BTreeMap<String, ()>,
    /// Every word by its length in characters, for typos.
    by_length: HashMap<usize, Vec<Vec<char>>>,
}

/// The texts of one product, field by field, in every language.
#[derive(Default)]
struct Fields<'a> {
    names: Vec<&'a str>,
    descriptions: Vec<&'a str>,
    format: Vec<&'a str>,
    segment: Vec<&'a str>,
    cooperative: Vec<&'a str>,
    cooperative_description: Vec<&'a str>,
    places: Vec<&'a str>,
}

impl Built {
    fn empty(text_version: catalog_version::TextVersion) -> Self {
        Self {
            text_version,
            docs: Vec::new(),
            postings: HashMap::new(),
            vocabulary: BTreeMap::new(),
            by_length: HashMap::new(),
        }
    }

    fn add(&mut self, id: i32, names: Vec<(String, String)>, fields: &Fields<'_>) {
        let doc = self.docs.len() as u32;
        let mut weights: HashMap<String, f32> = HashMap::new();
        let shortest_name = fields
            .names
            .iter()
            .map(|n| tokens(n).len().max(1))
            .min()
            .unwrap_or(1);
        let groups: [(&[&str], f32); 7] = [
            (&fields.names, weight::NAME + 1.0 / shortest_name as f32),
            (&fields.segment, weight::SEGMENT),
            (&fields.cooperative, weight::COOPERATIVE),
            (&fields.descriptions, weight::DESCRIPTION),
            (&fields.places, weight::PLACE),
            (&fields.format, weight::FORMAT),
            (
                &fields.cooperative_description,
                weight::COOPERATIVE_DESCRIPTION,
            ),
        ];
        for (texts, w) in groups {
            // A word counts once per field, whatever the languages it appears in.
            let field_words: HashSet<String> = texts.iter().flat_map(|t| tokens(t)).collect();
            for word in field_words {
                *weights.entry(word).or_default() += w;
            }
        }
        for (word, w) in weights {
            self.postings.entry(word).or_default().push((doc, w));
        }
        self.docs.push(Doc { id, names });
    }

    fn finish(mut self) -> Self {
        for word in self.postings.keys() {
            self.vocabulary.insert(word.clone(), ());
            let chars: Vec<char> = word.chars().collect();
            self.by_length.entry(chars.len()).or_default().push(chars);
        }
        self
    }

    /// The documents matching one query word, with the weight each keeps.
    fn matches(&self, word: &Word, last: bool) -> HashMap<u32, f32> {
        let mut found: HashMap<u32, f32> = HashMap::new();
        let mut take = |postings: &Vec<(u32, f32)>, factor: f32| {
            for (doc, w) in postings {
                let v = found.entry(*doc).or_default();
                *v = v.max(w * factor);
            }
        };
        let exact = self.postings.get(&word.term);
        if let Some(p) = exact {
            take(p, 1.0);
        }
        let length = word.term.chars().count();
        // Prefixes: the word being typed, or a word found nowhere whole.
        if (last && length >= 2) || (exact.is_none() && length >= 3) {
            for (other, _) in self
                .vocabulary
                .range(word.term.clone()..)
                .take_while(|(w, _)| w.starts_with(&word.term))
            {
                if *other != word.term
                    && let Some(p) = self.postings.get(other)
                {
                    take(p, weight::PREFIX);
                }
            }
        }
        // One typo, on words of 5+ letters found nowhere whole.
        if exact.is_none() && word.typed >= 5 {
            let chars: Vec<char> = word.term.chars().collect();
            for len in [length.saturating_sub(1), length, length + 1] {
                for other in self.by_length.get(&len).into_iter().flatten() {
                    if one_edit(&chars, other) {
                        let other: String = other.iter().collect();
                        if let Some(p) = self.postings.get(&other) {
                            take(p, weight::TYPO);
                        }
                    }
                }
            }
        }
        found
    }

    /// The products matching `query`, best first: those matching the most of its words,
    /// then by weight.
    fn search(&self, query: &str) -> Vec<Ranked> {
        let all = words(query);
        let meaningful: Vec<&Word> = all.iter().filter(|(_, s)| !s).map(|(w, _)| w).collect();
        // A query of stop words only still searches them.
        let mut terms: Vec<&Word> = if meaningful.is_empty() {
            all.iter().map(|(w, _)| w).collect()
        } else {
            meaningful
        };
        let mut seen = HashSet::new();
        terms.retain(|w| seen.insert(w.term.clone()));
        let mut scores: HashMap<u32, (usize, f32)> = HashMap::new();
        let count = terms.len();
        for (i, word) in terms.into_iter().enumerate() {
            for (doc, w) in self.matches(word, i + 1 == count) {
                let entry = scores.entry(doc).or_default();
                entry.0 += 1;
                entry.1 += w;
            }
        }
        let best = scores.values().map(|(n, _)| *n).max().unwrap_or(0);
        let mut ranked: Vec<Ranked> = scores
            .into_iter()
            .filter(|(_, (n, _))| *n == best)
            .map(|(doc, (_, w))| Ranked {
                product_id: self.docs[doc as usize].id,
                score: (w * 1000.0).round() as i64,
            })
            .collect();
        ranked.sort_by(|a, b| b.score.cmp(&a.score).then(a.product_id.cmp(&b.product_id)));
        ranked
    }
}

/// The search index of one database, shared by the requests of an instance.
pub struct SearchIndex {
    built: RwLock<Option<Arc<Built>>>,
    rebuilding: tokio::sync::Mutex<()>,
}

impl Default for SearchIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl SearchIndex {
    pub fn new() -> Self {
        Self {
            built: RwLock::new(None),
            rebuilding: tokio::sync::Mutex::new(()),
        }
    }

    fn current(&self) -> Option<Arc<Built>> {
        self.built.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The index as of the catalog's texts now (one read of their version; a rebuild
    /// when they changed since the last one).
    async fn fresh(&self, db: &impl ConnectionTrait) -> AppResult<Arc<Built>> {
        let version = catalog_version::text_version(db).await?;
        if let Some(built) = self.current().filter(|b| b.text_version == version) {
            return Ok(built);
        }
        let _one_at_a_time = self.rebuilding.lock().await;
        if let Some(built) = self.current().filter(|b| b.text_version == version) {
            return Ok(built);
        }
        let built = Arc::new(build(db, version).await?);
        *self.built.write().unwrap_or_else(|e| e.into_inner()) = Some(built.clone());
        Ok(built)
    }

    /// Every product matching `query`, best first (sellable or not: the caller filters).
    pub async fn search(&self, db: &impl ConnectionTrait, query: &str) -> AppResult<Vec<Ranked>> {
        Ok(self.fresh(db).await?.search(query))
    }

    /// The names of `ids` (in that order), each in the first language of `chain` that
    /// has one (else the base name), each name once, at most `first`.
    pub async fn names(
        &self,
        db: &impl ConnectionTrait,
        ids: &[i32],
        chain: &[String],
        first: usize,
    ) -> AppResult<Vec<String>> {
        let built = self.fresh(db).await?;
        let by_id: HashMap<i32, &Doc> = built.docs.iter().map(|d| (d.id, d)).collect();
        let mut seen = HashSet::new();
        let mut names = Vec::new();
        for id in ids {
            if names.len() >= first {
                break;
            }
            let Some(doc) = by_id.get(id) else {
                continue;
            };
            let name = chain
                .iter()
                .find_map(|l| doc.names.iter().find(|(tag, _)| tag == l))
                .or_else(|| doc.names.first())
                .map(|(_, n)| n.clone())
                .unwrap_or_default();
            if !name.is_empty() && seen.insert(name.clone()) {
                names.push(name);
            }
        }
        Ok(names)
    }
}

/// Reads the catalog's texts and indexes every product.
async fn build(
    db: &impl ConnectionTrait,
    text_version: catalog_version::TextVersion,
) -> AppResult<Built> {
    let products = product::Entity::find()
        .order_by_asc(product::Column::Id)
        .all(db)
        .await?;
    let cooperatives: HashMap<i32, cooperative::Model> = cooperative::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let segments: HashMap<i32, segment::Model> = segment::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let regions: HashMap<String, region::Model> = region::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.code.clone(), r))
        .collect();
    let provinces: HashMap<i32, province::Model> = province::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut texts: HashMap<(String, String), Vec<translation::Model>> = HashMap::new();
    for t in translation::Entity::find().all(db).await? {
        texts
            .entry((t.subject_kind.clone(), t.subject_key.clone()))
            .or_default()
            .push(t);
    }
    let none = Vec::new();
    let of = |kind: &str, key: String| texts.get(&(kind.to_owned(), key)).unwrap_or(&none);
    let mut built = Built::empty(text_version);
    for p in &products {
        let mut fields = Fields::default();
        let own = of("product", p.id.to_string());
        fields.names.push(&p.name);
        fields.names.extend(own.iter().map(|t| t.name.as_str()));
        fields.descriptions.push(&p.description);
        fields
            .descriptions
            .extend(own.iter().filter_map(|t| t.description.as_deref()));
        fields.format.push(&p.format);
        if let Some(s) = segments.get(&p.segment_id) {
            fields.segment.push(&s.name);
            fields.segment.extend(
                of("segment", s.id.to_string())
                    .iter()
                    .map(|t| t.name.as_str()),
            );
        }
        if let Some(c) = cooperatives.get(&p.cooperative_id) {
            let translated = of("cooperative", c.id.to_string());
            fields.cooperative.push(&c.name);
            fields
                .cooperative
                .extend(translated.iter().map(|t| t.name.as_str()));
            fields.cooperative_description.push(&c.description);
            fields
                .cooperative_description
                .extend(translated.iter().filter_map(|t| t.description.as_deref()));
            if let Some(r) = regions.get(&c.region_code) {
                fields.places.push(&r.name);
                fields
                    .places
                    .extend(of("region", r.code.clone()).iter().map(|t| t.name.as_str()));
            }
            if let Some(pr) = c.province_id.and_then(|id| provinces.get(&id)) {
                fields.places.push(&pr.name);
                fields.places.extend(
                    of("province", pr.id.to_string())
                        .iter()
                        .map(|t| t.name.as_str()),
                );
            }
        }
        // The base name first (the fallback of suggestions), then the translations.
        let mut names = vec![(String::new(), p.name.clone())];
        names.extend(own.iter().map(|t| (t.language.clone(), t.name.clone())));
        built.add(p.id, names, &fields);
    }
    Ok(built.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_words_fold_to_the_same_terms() {
        assert_eq!(tokens("Huile d'argan"), tokens("huile argan"));
        assert_eq!(tokens("épices"), tokens("Épice"));
        assert_eq!(tokens("L'eau de rose"), ["eau", "ros"]);
        assert_eq!(tokens("boîte à épices"), tokens("boite a epices"));
        assert_eq!(tokens("Thé à la menthe"), ["the", "menth"]);
        assert_eq!(tokens("olives farcies"), tokens("olive farcie"));
        assert_eq!(tokens("assiette bleue"), tokens("assiette bleu"));
        assert_eq!(tokens("Kelaat M'Gouna"), ["kelaat", "gouna"]);
    }

    #[test]
    fn arabic_words_fold_to_the_same_terms() {
        assert_eq!(tokens("عَسَلُ السِّدْرِ"), tokens("عسل سدر"));
        assert_eq!(tokens("الزعفران"), tokens("زعفران"));
        assert_eq!(tokens("أملو"), tokens("املو"));
        assert_eq!(tokens("خميسة"), tokens("خميسه"));
        assert_eq!(tokens("الحنّاء"), tokens("حناء"));
        assert_eq!(tokens("زيـــت"), tokens("زيت"));
        assert_eq!(tokens("زيت في الزيتون"), tokens("زيت زيتون"));
        // Tifinagh is kept as written (one-letter words such as ⵏ, "of", carry nothing).
        assert_eq!(tokens("ⵣⵣⵉⵜ ⵏ ⵓⵣⵎⵎⵓⵔ"), ["ⵣⵣⵉⵜ", "ⵓⵣⵎⵎⵓⵔ"]);
    }

    #[test]
    fn one_edit_apart() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert!(one_edit(&c("safrn"), &c("safran")));
        assert!(one_edit(&c("harrissa"), &c("harissa")));
        assert!(one_edit(&c("zelig"), &c("zellig")));
        assert!(one_edit(&c("argna"), &c("argan")));
        assert!(one_edit(&c("argon"), &c("argan")));
        assert!(!one_edit(&c("safrn"), &c("safrann")));
        assert!(!one_edit(&c("abcde"), &c("abxdf")));
    }

    fn index(products: &[(i32, &str, &str)]) -> Built {
        let mut built = Built::empty(catalog_version::TextVersion {
            last: None,
            count: 0,
        });
        for (id, name, description) in products {
            let fields = Fields {
                names: vec![name],
                descriptions: vec![description],
                ..Default::default()
            };
            built.add(*id, vec![(String::new(), name.to_string())], &fields);
        }
        built.finish()
    }

    #[test]
    fn names_rank_above_descriptions_and_typos_and_prefixes_match() {
        let built = index(&[
            (1, "Preserved lemons", "For tajines."),
            (2, "Tajine", "A cooking tajine."),
            (3, "Saffron threads", "Taliouine saffron."),
        ]);
        let ids = |q: &str| {
            built
                .search(q)
                .iter()
                .map(|r| r.product_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("tajines"), [2, 1]);
        assert_eq!(ids("safron"), [3]);
        assert_eq!(ids("saff"), [3]);
        assert_eq!(ids("preserved tajine"), [1]);
        assert!(ids("nothing").is_empty());
    }
}
