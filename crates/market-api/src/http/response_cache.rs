//! The response cache of public catalog queries, and the persisted queries (APQ) that keep
//! `GET /graphql` URLs short.
//!
//! **Never stale.** An entry's key holds the catalog's version
//! (`market_core::domain::catalog_version`), which every catalog-changing transaction
//! raises, and the market's date (certificates expire at midnight in the market's time
//! zone), besides the normalized document, operation name, variables, `Accept` media
//! type, `Accept-Language` and viewer class. A change makes new keys; old entries are
//! never served again and age out.
//!
//! **What is cached** is decided by `graphql::cacheability`: public catalog queries of
//! anonymous and customer viewers, with no errors. Members' and managers' answers are
//! neither stored nor served from it.
//!
//! **Bounded**: a `moka` cache weighed by the bytes of each answer, capped by
//! `RESPONSE_CACHE_MB`, least recently and least frequently used out first.

use axum::body::Bytes;
use market_core::db::DatabaseConnection;
use market_core::domain::catalog_version::Watcher;
use market_core::domain::enums::Role;
use market_core::domain::policy::Viewer;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

/// Who an answer may be shared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViewerClass {
    Anonymous,
    Customer,
}

impl ViewerClass {
    /// The class of a viewer whose catalog answers may be shared, `None` for members and
    /// managers (their answers hold private fields).
    pub fn of(viewer: &Viewer) -> Option<Self> {
        match viewer {
            Viewer::Anonymous => Some(Self::Anonymous),
            Viewer::User(user) if user.role == Role::Customer => Some(Self::Customer),
            Viewer::User(_) => None,
        }
    }
}

/// A cached answer.
pub struct Entry {
    pub body: Bytes,
    /// Strong, from the body's SHA-256.
    pub etag: String,
}

impl Entry {
    pub fn new(body: Bytes) -> Self {
        let etag = etag_of(&body);
        Self { body, etag }
    }
}

/// A strong entity tag for a body.
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// What identifies an answer, apart from the catalog's version and date.
pub struct KeyParts<'a> {
    pub document: &'a str,
    pub operation_name: Option<&'a str>,
    pub variables: &'a serde_json::Value,
    pub media: &'a str,
    pub language: &'a str,
    pub class: ViewerClass,
}

/// The in-memory cache of shareable answers.
pub struct ResponseCache {
    entries: moka::sync::Cache<[u8; 32], Arc<Entry>>,
    watcher: Arc<Watcher>,
}

impl ResponseCache {
    /// A cache of at most `max_bytes`, following the catalog version of `db`. Starts the
    /// version watcher and the pruning of the change log.
    pub fn new(db: DatabaseConnection, max_bytes: u64) -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_key: &[u8; 32], entry: &Arc<Entry>| -> u32 {
                (entry.body.len() + entry.etag.len() + 96)
                    .try_into()
                    .unwrap_or(u32::MAX)
            })
            .build();
        let watcher = Watcher::new(db);
        let weak = Arc::downgrade(&watcher);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(600));
            loop {
                every.tick().await;
                let Some(watcher) = weak.upgrade() else {
                    return;
                };
                if let Err(err) = watcher.prune_log().await {
                    tracing::debug!(error = ?err, "could not prune the catalog change log");
                }
            }
        });
        Self { entries, watcher }
    }

    /// The full key of an answer: its parts, the catalog version a request arriving now
    /// must see, and the market's date.
    pub async fn key(
        &self,
        parts: &KeyParts<'_>,
        today: chrono::NaiveDate,
    ) -> Result<[u8; 32], market_core::db::DbErr> {
        let version = self.watcher.current().await?;
        let mut hash = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(bytes);
        };
        field(normalize(parts.document).as_bytes());
        field(parts.operation_name.unwrap_or("").as_bytes());
        field(parts.variables.to_string().as_bytes());
        field(parts.media.as_bytes());
        field(parts.language.as_bytes());
        field(format!("{:?}", parts.class).as_bytes());
        field(&version.to_le_bytes());
        field(today.to_string().as_bytes());
        Ok(hash.finalize().into())
    }

    /// The catalog version this cache follows.
    pub fn watcher(&self) -> &Watcher {
        &self.watcher
    }

    /// The answer stored under `key`, counted as a hit or a miss.
    pub fn get(&self, key: &[u8; 32]) -> Option<Arc<Entry>> {
        let found = self.entries.get(key);
        if found.is_some() {
            metrics::counter!("response_cache_hits_total").increment(1);
        } else {
            metrics::counter!("response_cache_misses_total").increment(1);
        }
        found
    }

    /// Stores an answer.
    pub fn insert(&self, key: [u8; 32], entry: Arc<Entry>) {
        self.entries.insert(key, entry);
        metrics::gauge!("response_cache_bytes").set(self.entries.weighted_size() as f64);
        metrics::gauge!("response_cache_entries").set(self.entries.entry_count() as f64);
    }

    /// After a write through this instance: learn the new version now, so this instance's
    /// next request sees it without waiting for the notification. `written` is the newest
    /// version the request's own writes created (`catalog_version::track`); only when it
    /// is unknown (0) is the version read back from the database.
    pub async fn after_write(&self, written: i64) {
        if written > 0 {
            self.watcher.saw(written);
            return;
        }
        if let Err(err) = self.watcher.refresh().await {
            tracing::debug!(error = %err, "could not read the catalog version");
        }
    }
}

/// The document with its insignificant characters (whitespace, commas, comments) folded
/// into single spaces, so reformatting a query does not make another entry. String
/// values are kept as they are.
pub fn normalize(document: &str) -> String {
    let mut out = String::with_capacity(document.len());
    let mut chars = document.chars().peekable();
    let mut gap = false;
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' | ',' | '\u{feff}' => gap = true,
            '#' => {
                gap = true;
                while chars.peek().is_some_and(|&c| c != '\n' && c != '\r') {
                    chars.next();
                }
            }
            '"' => {
                if gap && out.chars().last().is_some_and(wordish) {
                    out.push(' ');
                }
                gap = false;
                out.push('"');
                let block = chars.peek() == Some(&'"') && {
                    let mut ahead = chars.clone();
                    ahead.next();
                    ahead.peek() == Some(&'"')
                };
                if block {
                    out.push(chars.next().unwrap_or('"'));
                    out.push(chars.next().unwrap_or('"'));
                    let mut quotes = 0;
                    for c in chars.by_ref() {
                        out.push(c);
                        quotes = if c == '"' { quotes + 1 } else { 0 };
                        if quotes == 3 {
                            break;
                        }
                    }
                } else {
                    let mut escaped = false;
                    for c in chars.by_ref() {
                        out.push(c);
                        if escaped {
                            escaped = false;
                        } else if c == '\\' {
                            escaped = true;
                        } else if c == '"' || c == '\n' {
                            break;
                        }
                    }
                }
            }
            c => {
                if gap && wordish(c) && out.chars().last().is_some_and(wordish) {
                    out.push(' ');
                }
                gap = false;
                out.push(c);
            }
        }
    }
    out
}

/// Characters of names and numbers: a gap between two of them is kept (as one space).
fn wordish(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '$' | '.' | '-' | '+')
}

/// Automatic persisted queries: documents registered by their SHA-256, bounded.
pub struct PersistedQueries {
    documents: moka::sync::Cache<String, Arc<str>>,
}

impl PersistedQueries {
    /// A store of at most `max_bytes` of documents.
    pub fn new(max_bytes: u64) -> Self {
        Self {
            documents: moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|hash: &String, doc: &Arc<str>| -> u32 {
                    (hash.len() + doc.len() + 64).try_into().unwrap_or(u32::MAX)
                })
                .build(),
        }
    }

    /// The document registered under `hash`.
    pub fn get(&self, hash: &str) -> Option<Arc<str>> {
        self.documents.get(hash)
    }

    /// Registers `document` under its hash.
    pub fn register(&self, hash: String, document: &str) {
        self.documents.insert(hash, Arc::from(document));
    }
}

/// The lowercase hexadecimal SHA-256 of a document, as APQ clients send it.
pub fn sha256_hex(document: &str) -> String {
    hex::encode(Sha256::digest(document.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn normalizing_folds_layout_and_comments_but_keeps_strings() {
        assert_eq!(
            normalize(
                "query Q {\n  products(first: 2, filter: { search: \"a  b, c\" }) { # hi\n nodes { sku } }\n}"
            ),
            "query Q{products(first:2 filter:{search:\"a  b, c\"}){nodes{sku}}}"
        );
        assert_eq!(normalize("{a}"), normalize(" { a } "));
        assert_eq!(
            normalize("{ p(d: \"\"\"x,  y\"\"\") }"),
            "{p(d:\"\"\"x,  y\"\"\")}"
        );
    }
}
