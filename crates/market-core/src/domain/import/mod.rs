//! Importing history from CSV files: past sales (`import orders`) and the catalog they
//! refer to (`import catalog`). Both are all-or-nothing — every row is checked first, and
//! one bad row (reported with its line number and reason) leaves the database untouched —
//! and idempotent: orders are keyed by `order_ref` (stored as `orders.external_ref`),
//! cooperatives by slug and products by SKU, so importing a file twice adds nothing.
//!
//! Imported orders move no stock (they are history, not today's sales) and enter the
//! sales rollups through the same computation as a live payment.
//!
//! # Imports that do not stop the shop
//!
//! Every row is read and checked before anything is written, outside any transaction.
//! An orders import then writes in chunks, each in its own short transaction sized by
//! time to hold the write lock about 50 ms ([`crate::db::Pacer`], from [`CHUNK_ORDERS`]
//! orders), so on SQLite (one writer at a time) the shop's writes — `placeOrder`,
//! `recordStockDelivery` — take their turn between two chunks instead of waiting for the
//! whole import. The chunks' orders carry the import's batch (`orders.import_batch_id`,
//! a row of `import_batches` in state `STAGING`) and no reader sees them
//! (`domain::orders::visible`). Their sales are then written into the rollups, also in
//! short transactions, as rows of the batch that the analytics do not count yet
//! (`domain::rollups`, "Rows of imports"). The switch-in is one tiny transaction that
//! marks the batch `DONE` — one row, whatever the import's size — and the whole import
//! appears at once: orders and sales. Afterwards the batch's rollup rows are folded into
//! the live ones in short transactions, without changing any total. A failure deletes
//! what the import wrote; a process killed mid-import leaves a `STAGING` batch that stays
//! invisible and that the next import deletes (and one killed while folding, a `DONE`
//! batch that counts whole and that the next import folds). Importing a file again finds
//! its references among the visible orders and adds nothing.
//!
//! A catalog import is small (the whole market is 5,000 products): it writes everything
//! in one transaction after checking, holding the write lock only for the inserts.
//! Its check and its write are two functions ([`check_catalog`], [`write_catalog`]) so
//! the demo seeder loads its catalog file through them inside its own transaction; the
//! demo's certifications go through [`import_certifications`], checked the same way.

use crate::domain::cooperatives::commission_bp;
use crate::domain::enums::{
    CertificationType, Channel, CooperativeKind, CooperativeStatus, OrderStatus,
};
use crate::domain::rollups::{self, Delta, SaleLine, statement};
use crate::domain::search::{normalize, product_search_text};
use crate::entities::{
    certification, certification_product, cooperative, product, province, region, segment,
};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, Value};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::Read;

mod catalog;
mod certifications;
mod orders;

pub use catalog::*;
pub use certifications::*;
pub use orders::*;

/// The columns of an orders file, in order.
pub const ORDER_COLUMNS: [&str; 7] = [
    "order_ref",
    "placed_at",
    "channel",
    "status",
    "sku",
    "quantity",
    "unit_price",
];

/// The columns of a catalog file, in order.
pub const CATALOG_COLUMNS: [&str; 11] = [
    "cooperative_slug",
    "cooperative_name",
    "kind",
    "region",
    "province",
    "listed_since",
    "sku",
    "product_name",
    "segment",
    "format",
    "price",
];

/// Most problems reported for one file; the count of the others is given.
const MAX_REPORTED: usize = 50;
/// Most units on one imported line.
const MAX_QUANTITY: i64 = 100_000;

/// A row that cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line of the file, 1 being the header.
    pub line: u64,
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Why an import wrote nothing.
#[derive(Debug)]
pub enum ImportError {
    /// Some rows are wrong (at most the first 50, in file order), and `more` others.
    Rejected { errors: Vec<RowError>, more: usize },
    /// The database failed.
    Failed(AppError),
}

impl From<AppError> for ImportError {
    fn from(e: AppError) -> Self {
        Self::Failed(e)
    }
}

impl From<sea_orm::DbErr> for ImportError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Failed(AppError::Database(e))
    }
}

/// Collects row errors, keeping the first few.
#[derive(Default)]
struct Problems {
    errors: Vec<RowError>,
    more: usize,
}

impl Problems {
    fn add(&mut self, line: u64, reason: impl Into<String>) {
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(RowError {
                line,
                reason: reason.into(),
            });
        } else {
            self.more += 1;
        }
    }

    /// A row of the file with its line, when it could be read and has `width` columns;
    /// otherwise the problem is noted and the row skipped.
    fn row(
        &mut self,
        record: Result<csv::StringRecord, csv::Error>,
        width: usize,
    ) -> Option<(u64, csv::StringRecord)> {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                self.add(line, format!("unreadable row: {e}"));
                return None;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != width {
            self.add(line, format!("{} columns instead of {width}", record.len()));
            return None;
        }
        Some((line, record))
    }

    fn check(self) -> Result<(), ImportError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ImportError::Rejected {
                errors: self.errors,
                more: self.more,
            })
        }
    }
}

/// A money amount in MAD written as a decimal ("12.50") into centimes.
pub fn parse_price(text: &str) -> Result<i64, String> {
    let amount: rust_decimal::Decimal = text
        .trim()
        .parse()
        .map_err(|_| format!("\"{text}\" is not a price (write it like 12.50)"))?;
    if amount.is_sign_negative() {
        return Err(format!("the price {text} is negative"));
    }
    let cents = amount * rust_decimal::Decimal::ONE_HUNDRED;
    if !cents.fract().is_zero() {
        return Err(format!("the price {text} has more than two decimals"));
    }
    i64::try_from(cents.trunc()).map_err(|_| format!("the price {text} is too large"))
}

/// Reads a CSV header and checks it names exactly `expected`, in order.
fn check_header<R: Read>(
    reader: &mut csv::Reader<R>,
    expected: &[&str],
) -> Result<(), ImportError> {
    let header = reader.headers().map_err(|e| ImportError::Rejected {
        errors: vec![RowError {
            line: 1,
            reason: format!("unreadable header: {e}"),
        }],
        more: 0,
    })?;
    let found: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    if found != expected {
        return Err(ImportError::Rejected {
            errors: vec![RowError {
                line: 1,
                reason: format!(
                    "the header must be `{}`, not `{}`",
                    expected.join(","),
                    found.join(",")
                ),
            }],
            more: 0,
        });
    }
    Ok(())
}

fn csv_reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_exact_decimals_in_mad() {
        assert_eq!(parse_price("12.50"), Ok(1250));
        assert_eq!(parse_price("7"), Ok(700));
        assert!(parse_price("1.005").is_err());
        assert!(parse_price("-3").is_err());
        assert!(parse_price("abc").is_err());
    }
}
