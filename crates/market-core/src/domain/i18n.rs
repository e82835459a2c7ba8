//! The languages of the catalog: which ones the market speaks (configuration, not code),
//! how a request's language is chosen (`Accept-Language` with q-values, or an explicit
//! override), which way each is written, and the fallback chain that makes every
//! translated field resolve to some text, never to an empty string.
//!
//! The catalog's own columns (`products.name`, `segments.name`, …) hold the *base*
//! language, the first one configured (English by default); the `translations` table
//! holds the others (`domain::translations`).

use std::fmt;

/// Which way a language is written, so clients can lay text out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    LeftToRight,
    RightToLeft,
}

/// Languages written right to left (primary subtags, ISO 639): Arabic and the languages
/// usually written in Arabic or Hebrew script. Any other language is left to right.
const RIGHT_TO_LEFT: &[&str] = &[
    "ar", "arc", "ckb", "dv", "fa", "he", "iw", "ks", "ku", "pa-arab", "ps", "sd", "ug", "ur", "yi",
];

/// One configured language and the languages it falls back to, in order (the base
/// language always last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Language {
    /// Lower-case language tag (BCP 47): `fr`, `ar`, `zgh`.
    pub tag: String,
    /// Itself, then its fallbacks, then the base language (no repeats).
    pub chain: Vec<String>,
}

impl Language {
    /// Which way it is written.
    pub fn direction(&self) -> Direction {
        direction_of(&self.tag)
    }
}

/// Which way the language `tag` is written.
pub fn direction_of(tag: &str) -> Direction {
    let tag = tag.to_ascii_lowercase();
    let primary = tag.split('-').next().unwrap_or("");
    if RIGHT_TO_LEFT.contains(&tag.as_str()) || RIGHT_TO_LEFT.contains(&primary) {
        // A script subtag says otherwise ("ku-Latn", "az-Latn").
        if tag.split('-').any(|s| s == "latn" || s == "cyrl") {
            return Direction::LeftToRight;
        }
        Direction::RightToLeft
    } else if tag.split('-').any(|s| s == "arab" || s == "hebr") {
        Direction::RightToLeft
    } else {
        Direction::LeftToRight
    }
}

/// The market's languages, the base one first (`--languages en,fr,ar:fr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Languages {
    list: Vec<Language>,
}

/// Why a `--languages` setting was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguagesError(pub String);

impl fmt::Display for LanguagesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LanguagesError {}

/// Whether `tag` is a well-formed language tag as this module accepts them: a primary
/// subtag of 2 to 8 letters, then subtags of 1 to 8 letters or digits, joined by `-`.
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    primary_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

impl Languages {
    /// Parses `en,fr,ar:fr`: languages separated by commas, the first being the base
    /// language (the catalog's own columns); `ar:fr` says Arabic falls back to French
    /// (then to the base language, which every chain ends with).
    pub fn parse(text: &str) -> Result<Self, LanguagesError> {
        let mut entries: Vec<(String, Vec<String>)> = Vec::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let mut parts = item.split(':').map(|p| p.trim().to_ascii_lowercase());
            let tag = parts.next().unwrap_or_default();
            if !is_language_tag(&tag) {
                return Err(LanguagesError(format!(
                    "{tag:?} is not a language tag (expected e.g. fr, ar, zgh, pt-br)"
                )));
            }
            if entries.iter().any(|(t, _)| *t == tag) {
                return Err(LanguagesError(format!("language {tag} is listed twice")));
            }
            entries.push((tag, parts.collect()));
        }
        let Some(base) = entries.first().map(|(t, _)| t.clone()) else {
            return Err(LanguagesError("at least one language is needed".into()));
        };
        let known: Vec<String> = entries.iter().map(|(t, _)| t.clone()).collect();
        let mut list = Vec::with_capacity(entries.len());
        for (tag, fallbacks) in entries {
            let mut chain = vec![tag.clone()];
            for fallback in fallbacks {
                if !known.contains(&fallback) {
                    return Err(LanguagesError(format!(
                        "{tag} falls back to {fallback:?}, which is not one of the languages ({})",
                        known.join(", ")
                    )));
                }
                if !chain.contains(&fallback) {
                    chain.push(fallback);
                }
            }
            if !chain.contains(&base) {
                chain.push(base.clone());
            }
            list.push(Language { tag, chain });
        }
        Ok(Self { list })
    }

    /// The language of the catalog's own columns.
    pub fn base(&self) -> &Language {
        &self.list[0]
    }

    /// Every language, the base one first.
    pub fn all(&self) -> &[Language] {
        &self.list
    }

    /// The configured language `tag` names (case-insensitive; `fr-CA` names `fr` when
    /// only `fr` is configured).
    pub fn find(&self, tag: &str) -> Option<&Language> {
        let tag = tag.trim().to_ascii_lowercase();
        self.list.iter().find(|l| l.tag == tag).or_else(|| {
            // The longest configured tag that is a prefix of the asked one.
            self.list
                .iter()
                .filter(|l| tag.starts_with(&format!("{}-", l.tag)))
                .max_by_key(|l| l.tag.len())
        })
    }

    /// The language to answer a request in, from its `Accept-Language` header (RFC 9110
    /// §12.5.4): the configured language of the highest-quality range that names one
    /// (`fr-CA` names `fr`; `*` names the base language), ties going to the range
    /// written first; the base language when none does or there is no header.
    pub fn negotiate(&self, accept_language: Option<&str>) -> &Language {
        let Some(header) = accept_language else {
            return self.base();
        };
        let mut best: Option<(u16, usize, &Language)> = None;
        for (position, (range, quality)) in parse_accept_language(header).into_iter().enumerate() {
            if quality == 0 {
                continue;
            }
            let language = if range == "*" {
                Some(self.base())
            } else {
                self.find(&range)
            };
            let Some(language) = language else {
                continue;
            };
            // Higher quality wins; at equal quality the earlier range.
            if best.is_none_or(|(q, p, _)| quality > q || (quality == q && position < p)) {
                best = Some((quality, position, language));
            }
        }
        best.map_or(self.base(), |(_, _, l)| l)
    }
}

/// The language ranges of an `Accept-Language` value with their quality in thousandths
/// (`q=0.8` → 800; no `q` → 1000), in the order written. Malformed ranges and qualities
/// are skipped, as RFC 9110 lets a server do.
pub fn parse_accept_language(header: &str) -> Vec<(String, u16)> {
    let mut ranges = Vec::new();
    for item in header.split(',') {
        let mut params = item.split(';');
        let range = params.next().unwrap_or("").trim().to_ascii_lowercase();
        if range.is_empty() || (range != "*" && !is_language_range(&range)) {
            continue;
        }
        let mut quality = Some(1000);
        for param in params {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("q") {
                quality = parse_quality(value.trim());
            }
        }
        if let Some(q) = quality {
            ranges.push((range, q));
        }
    }
    ranges
}

/// A language range: subtags of 1 to 8 letters or digits (the first letters only).
fn is_language_range(range: &str) -> bool {
    let mut parts = range.split('-');
    parts
        .next()
        .is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()))
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn parse_quality(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Of the texts a thing has, by language, the one to show for `chain`: the first
/// language of the chain with a non-empty text, the base text otherwise. Returns the
/// text and the language it is in.
pub fn resolve<'a>(
    chain: &'a [String],
    base_tag: &'a str,
    base_text: &'a str,
    translated: impl Fn(&str) -> Option<&'a str>,
) -> (&'a str, &'a str) {
    for tag in chain {
        if tag == base_tag {
            return (base_text, base_tag);
        }
        if let Some(text) = translated(tag).filter(|t| !t.trim().is_empty()) {
            return (text, tag);
        }
    }
    (base_text, base_tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn market() -> Languages {
        Languages::parse("en,fr,ar:fr,zgh:fr").unwrap()
    }

    #[test]
    fn chains_end_with_the_base_language() {
        let l = market();
        assert_eq!(l.base().tag, "en");
        assert_eq!(l.find("ar").unwrap().chain, ["ar", "fr", "en"]);
        assert_eq!(l.find("fr").unwrap().chain, ["fr", "en"]);
        assert_eq!(l.find("en").unwrap().chain, ["en"]);
        assert_eq!(l.find("zgh").unwrap().chain, ["zgh", "fr", "en"]);
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(Languages::parse("").is_err());
        assert!(Languages::parse("en,fr,fr").is_err());
        assert!(Languages::parse("en,ar:de").is_err());
        assert!(Languages::parse("en,français").is_err());
        assert!(Languages::parse("en,x").is_err());
    }

    #[test]
    fn accept_language_with_qualities() {
        let l = market();
        let pick = |h: &str| l.negotiate(Some(h)).tag.clone();
        assert_eq!(pick("ar"), "ar");
        assert_eq!(pick("AR-ma"), "ar");
        assert_eq!(pick("fr-CA, fr;q=0.9, en;q=0.8"), "fr");
        assert_eq!(pick("de, ar;q=0.5, fr;q=0.4"), "ar");
        assert_eq!(pick("en;q=0.2, ar;q=0.9"), "ar");
        assert_eq!(pick("fr;q=0.5, ar;q=0.5"), "fr");
        assert_eq!(pick("ar;q=0, fr;q=0.1"), "fr");
        assert_eq!(pick("de, *;q=0.1"), "en");
        assert_eq!(pick("de"), "en");
        assert_eq!(pick(""), "en");
        assert_eq!(
            pick("ar;q=2, fr;q=0.3"),
            "fr",
            "an invalid quality drops the range"
        );
        assert_eq!(pick("ar;q=0.9999, fr;q=0.3"), "fr");
        assert_eq!(pick(";;,,ar"), "ar");
        assert_eq!(pick("zgh"), "zgh");
        assert_eq!(l.negotiate(None).tag, "en");
    }

    #[test]
    fn qualities() {
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("1.000"), Some(1000));
        assert_eq!(parse_quality("1.001"), None);
        assert_eq!(parse_quality("0.5"), Some(500));
        assert_eq!(parse_quality("0.05"), Some(50));
        assert_eq!(parse_quality("0"), Some(0));
        assert_eq!(parse_quality(".5"), None);
        assert_eq!(parse_quality("abc"), None);
    }

    #[test]
    fn directions() {
        assert_eq!(direction_of("ar"), Direction::RightToLeft);
        assert_eq!(direction_of("ar-MA"), Direction::RightToLeft);
        assert_eq!(direction_of("he"), Direction::RightToLeft);
        assert_eq!(direction_of("fr"), Direction::LeftToRight);
        assert_eq!(direction_of("zgh"), Direction::LeftToRight);
        assert_eq!(direction_of("ku-Latn"), Direction::LeftToRight);
        assert_eq!(direction_of("ber-Arab"), Direction::RightToLeft);
    }

    #[test]
    fn resolution_falls_back_along_the_chain() {
        let chain: Vec<String> = ["ar", "fr", "en"].map(String::from).to_vec();
        let fr_only = |t: &str| (t == "fr").then_some("Huile");
        assert_eq!(resolve(&chain, "en", "Oil", fr_only), ("Huile", "fr"));
        let blank = |t: &str| (t == "ar").then_some("  ");
        assert_eq!(resolve(&chain, "en", "Oil", blank), ("Oil", "en"));
    }
}
