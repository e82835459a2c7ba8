//! Catalog search: the one place that decides what a shopper's words match.
//!
//! - [`normalize`] and the stored `search_text` columns: a portable, accent-insensitive
//!   `LIKE` (cooperative lists, and products when no index is at hand).
//! - [`tokens`]: words folded per script — French and English (case, accents, elisions
//!   `d'`/`l'`, plurals and a light stemmer, stop words) and Arabic (tashkeel, tatweel,
//!   alef/hamza variants, alef maqsura, taa marbuta, the article `ال`).
//! - [`SearchIndex`]: an in-process inverted index over those words for every product, in
//!   every language (name, description, format, segment, cooperative, region, province),
//!   ranked by field weights, with prefix matching and one typo on words of 5+ letters.
//!   It behaves the same on SQLite and PostgreSQL, and is rebuilt when the catalog's
//!   *texts* change (`catalog_version::touch_texts`), which every instance sees by one
//!   cheap read before each search. BENCHMARKS.md explains the choice.

/// Lower-cases and strips accents ("Fès–Meknès" → "fes-meknes"), folding runs of
/// whitespace into one space.
pub fn normalize(text: &str) -> String {
    let ascii = deunicode::deunicode(text).to_lowercase();
    ascii.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A URL-friendly key from a name: "Coopérative Aït Bouguemez" → "cooperative-ait-bouguemez".
pub fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for ch in normalize(name).chars() {
        if ch.is_ascii_alphanumeric() {
            slug.push(ch);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// The `search_text` stored for a product.
pub fn product_search_text(name: &str, description: &str, format: &str) -> String {
    normalize(&format!("{name} {format} {description}"))
}

mod index;
pub use index::{Ranked, SearchIndex, tokens};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_accents_and_case() {
        assert_eq!(normalize("Fès–Meknès"), "fes-meknes");
        assert_eq!(normalize("  Huile   d'ARGAN "), "huile d'argan");
        assert_eq!(normalize("Laâyoune"), "laayoune");
    }
}
