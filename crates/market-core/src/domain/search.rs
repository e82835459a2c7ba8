//! Search text normalization: the one place that decides what "fes" matches. Stored
//! `search_text` columns and user queries both go through [`normalize`], so matching is a
//! portable `LIKE` on both databases, case- and accent-insensitive.

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
