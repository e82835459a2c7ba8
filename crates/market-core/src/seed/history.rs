//! Years of sales history over the market-scale catalog (`seed --profile market --years
//! N`), shaped like the market's published figures: about a million orders and 2.8
//! million items in the last full year, +18 % a year before it (so earlier years are
//! smaller), revenue near 69 / 22 / 9 % by kind, best sellers by volume (verbena, olives,
//! preserved lemons, sesame, olive oil) and by value (olive oil, sesame, hammam gift
//! sets), faster growth in vinegar, crafts, preserves, spices and cosmetics, and peaks in
//! Ramadan and December. A cooperative sells only from the day it was listed.
//!
//! Orders are written with the importer's bulk path (`domain::import::insert_orders`:
//! multi-row `INSERT`s, no stock movements, no order events) one month per transaction,
//! and the month's sales are added to the rollups at its end. A fixed seed per year makes
//! the same history on every run.

use crate::domain::enums::{Channel, CooperativeKind, OrderStatus};
use crate::domain::import::{HistoricOrder, ProductSnapshot, insert_orders, product_snapshots};
use crate::domain::rollups::{self, Delta};
use crate::entities::{product, segment};
use crate::error::{AppError, AppResult};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use chrono_tz::Tz;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};
use std::collections::HashMap;

/// Sales orders of the last generated year (the market's 2024 size).
pub const ORDERS_LAST_YEAR: f64 = 1_000_000.0;
/// Yearly growth of the market.
pub const GROWTH: f64 = 0.18;
/// Revenue shares by kind, as `[Terroir, Cosmetics, Handicrafts]`.
const KIND_SHARES: [(CooperativeKind, f64); 3] = [
    (CooperativeKind::Terroir, 0.69),
    (CooperativeKind::Cosmetics, 0.22),
    (CooperativeKind::Handicrafts, 0.09),
];

/// What the history seeder wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistorySummary {
    pub orders: u64,
    pub sales_orders: u64,
    pub lines: u64,
    pub items: u64,
    pub revenue_cents: i64,
}

/// First day of Ramadan (Morocco), which moves about eleven days earlier every year.
fn ramadan_start(year: i32) -> NaiveDate {
    let known = [
        (2017, (5, 27)),
        (2018, (5, 17)),
        (2019, (5, 6)),
        (2020, (4, 24)),
        (2021, (4, 14)),
        (2022, (4, 3)),
        (2023, (3, 23)),
        (2024, (3, 12)),
        (2025, (3, 2)),
        (2026, (2, 19)),
        (2027, (2, 8)),
        (2028, (1, 28)),
    ];
    for (y, (m, d)) in known {
        if y == year {
            return NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        }
    }
    let base = NaiveDate::from_ymd_opt(2024, 3, 12).unwrap_or_default();
    base - Duration::days(((year - 2024) as f64 * 10.875).round() as i64)
}

/// Relative sales of a day: weekends, Ramadan and the days before Eid, December.
pub(super) fn day_weight(day: NaiveDate) -> f64 {
    let mut w = match day.weekday() {
        Weekday::Fri => 1.1,
        Weekday::Sat => 1.3,
        Weekday::Sun => 1.2,
        _ => 0.9,
    };
    let ramadan = ramadan_start(day.year());
    let into = (day - ramadan).num_days();
    if (0..30).contains(&into) {
        w *= if into >= 22 { 1.9 } else { 1.45 };
    }
    match day.month() {
        12 if day.day() >= 18 => w *= 1.55,
        12 => w *= 1.25,
        8 => w *= 0.85,
        1 | 2 => w *= 0.9,
        _ => {}
    }
    w
}

/// Growth of a segment beyond the market's (vinegar +38 %, crafts +23 %…).
fn segment_growth(slug: &str, kind: CooperativeKind) -> f64 {
    match (slug, kind) {
        ("vinegar", _) => 0.38,
        ("preserves", _) => 0.21,
        ("spices", _) => 0.20,
        (_, CooperativeKind::Handicrafts) => 0.23,
        (_, CooperativeKind::Cosmetics) => 0.19,
        _ => 0.16,
    }
}

/// How much a product sells compared with others of its kind.
pub(super) fn appeal(name: &str, format: &str, rank: usize) -> f64 {
    let name = name.to_lowercase();
    let mut w = 1.0 / (rank as f64 + 8.0).powf(0.7);
    for (word, boost) in [
        ("verbena", 9.0),
        ("olives", 5.0),
        ("meslalla", 6.0),
        ("preserved lemon", 6.0),
        ("sesame", 6.0),
        ("olive oil", 5.0),
        ("gift", 4.0),
        ("hammam", 2.5),
    ] {
        if name.contains(word) {
            w *= boost;
        }
    }
    if format.contains("5 L") || format.contains("3 L") {
        w *= 0.4;
    }
    w
}

/// A product as the generator draws it.
struct Candidate {
    /// Index into the snapshot list given to `insert_orders`.
    index: usize,
    price: i64,
    kind: CooperativeKind,
    listed_since: NaiveDate,
    weight: f64,
    growth: f64,
}

/// Whether the seeder may skip PostgreSQL's foreign-key triggers: only a superuser may,
/// and only PostgreSQL has them to skip (SQLite checks keys cheaply).
async fn bulk_load_allowed(db: &DatabaseConnection) -> AppResult<bool> {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(false);
    }
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get_by_index::<bool>(0)?,
        None => false,
    })
}

/// The urn of each kind for a month.
type Urns = Vec<(CooperativeKind, Urn)>;
/// The odds of each kind for an order line.
type KindOdds = Vec<(CooperativeKind, f64)>;

/// Cumulative weights of the products of one kind that sell in a given month.
struct Urn {
    items: Vec<usize>,
    cumulative: Vec<f64>,
}

impl Urn {
    fn draw(&self, rng: &mut StdRng) -> Option<usize> {
        let total = *self.cumulative.last()?;
        let x = rng.r#gen::<f64>() * total;
        let i = self.cumulative.partition_point(|c| *c <= x);
        self.items.get(i.min(self.items.len() - 1)).copied()
    }
}

/// Writes `years` full years of sales history ending with the year before `today`'s,
/// over the catalog already in the database. Refuses a database that already holds
/// orders.
pub async fn seed_history(
    db: &DatabaseConnection,
    tz: Tz,
    today: NaiveDate,
    years: u32,
    progress: bool,
) -> AppResult<HistorySummary> {
    use sea_orm::PaginatorTrait;
    if crate::entities::order::Entity::find().count(db).await? > 0 {
        return Err(AppError::bad_input(
            "the database already holds orders: history is only seeded into a new market",
        ));
    }
    let snapshots_by_sku = product_snapshots(db).await?;
    let coops = crate::domain::reads::all_cooperatives_by_id(db).await?;
    let slugs: HashMap<i32, String> = segment::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.slug))
        .collect();
    let mut products = product::Entity::find().all(db).await?;
    products.sort_by_key(|p| p.id);
    let mut snapshots: Vec<ProductSnapshot> = Vec::with_capacity(products.len());
    let mut candidates: Vec<Candidate> = Vec::with_capacity(products.len());
    let mut rng = StdRng::seed_from_u64(0x5eed_2024);
    let mut ranks: Vec<usize> = (0..products.len()).collect();
    for i in (1..ranks.len()).rev() {
        let j = rng.gen_range(0..=i);
        ranks.swap(i, j);
    }
    for (n, p) in products.iter().enumerate() {
        let (Some(snapshot), Some(coop)) =
            (snapshots_by_sku.get(&p.sku), coops.get(&p.cooperative_id))
        else {
            continue;
        };
        let slug = slugs.get(&p.segment_id).map_or("", String::as_str);
        candidates.push(Candidate {
            index: snapshots.len(),
            price: p.price_cents,
            kind: coop.kind,
            listed_since: coop.listed_since,
            // Cheaper products sell more: the market's 2.8 million items make about
            // 104 million MAD, some 37 MAD an item.
            weight: appeal(&p.name, &p.format, ranks[n])
                * (p.price_cents.max(500) as f64 / 3_000.0).powf(-1.1),
            growth: segment_growth(slug, coop.kind),
        });
        snapshots.push(snapshot.clone());
    }
    if candidates.is_empty() {
        return Err(AppError::bad_input(
            "the catalog is empty: seed the market catalog first",
        ));
    }

    let last_year = today.year() - 1;
    let first_year = last_year - years as i32 + 1;
    let orders_of = |year: i32| ORDERS_LAST_YEAR / (1.0 + GROWTH).powi(last_year - year);
    let planned: f64 = (first_year..=last_year).map(orders_of).sum::<f64>() / 0.96;
    let bar = if progress {
        let bar = ProgressBar::new(planned as u64);
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:<10} [{bar:40}] {pos:>9}/{len} orders ({elapsed}, eta {eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    } else {
        ProgressBar::hidden()
    };

    let bulk = bulk_load_allowed(db).await?;
    let mut summary = HistorySummary::default();
    for year in first_year..=last_year {
        bar.set_message(year.to_string());
        let mut rng = StdRng::seed_from_u64(0x5eed_0000 + year as u64);
        let (Some(jan1), Some(dec31)) = (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year, 12, 31),
        ) else {
            continue;
        };
        let days: Vec<NaiveDate> = jan1.iter_days().take_while(|d| *d <= dec31).collect();
        let total_weight: f64 = days.iter().map(|d| day_weight(*d)).sum();
        let orders_this_year = orders_of(year) / 0.96;
        let mut seq = 0u64;
        let mut month_start = jan1;
        while month_start <= dec31 {
            let month_end = rollups::Grain::Month.end(month_start);
            let (urns, kind_odds) = urns_for(&candidates, month_start, year - last_year);
            let txn = crate::db::begin_write(db).await?;
            if bulk {
                // Like pg_restore --disable-triggers: the generated rows refer only to the
                // catalog just read and to orders of this transaction, so the per-row
                // foreign-key triggers (most of PostgreSQL's insert time) are skipped.
                txn.execute_unprepared("SET LOCAL session_replication_role = replica")
                    .await?;
            }
            let mut delta = Delta::default();
            let mut batch: Vec<HistoricOrder> = Vec::with_capacity(1_000);
            for day in month_start.iter_days().take_while(|d| *d <= month_end) {
                let expected = orders_this_year * day_weight(day) / total_weight;
                let count =
                    expected.floor() as u64 + u64::from(rng.r#gen::<f64>() < expected.fract());
                for _ in 0..count {
                    seq += 1;
                    let order =
                        make_order(&mut rng, &urns, &kind_odds, &candidates, tz, day, year, seq);
                    let Some(order) = order else { continue };
                    summary.orders += 1;
                    summary.lines += order.lines.len() as u64;
                    if rollups::is_sale(order.status) {
                        summary.sales_orders += 1;
                        for (_, q, p) in &order.lines {
                            summary.items += *q as u64;
                            summary.revenue_cents += i64::from(*q) * p;
                        }
                    }
                    batch.push(order);
                    if batch.len() == 1_000 {
                        insert_orders(&txn, &snapshots, &batch, &mut delta, tz, None).await?;
                        bar.inc(batch.len() as u64);
                        batch.clear();
                    }
                }
            }
            insert_orders(&txn, &snapshots, &batch, &mut delta, tz, None).await?;
            bar.inc(batch.len() as u64);
            rollups::apply(&txn, delta).await?;
            txn.commit().await?;
            month_start = rollups::Grain::Month.next(month_start);
        }
    }
    bar.finish_with_message("done");
    Ok(summary)
}

/// The urns of the month (one per kind, products of cooperatives listed by then, weighted
/// by appeal and their segment's growth) and the odds of each kind for a line, chosen so
/// that revenue splits as [`KIND_SHARES`].
fn urns_for(candidates: &[Candidate], month_start: NaiveDate, years_back: i32) -> (Urns, KindOdds) {
    let mut urns = Vec::new();
    let mut odds = Vec::new();
    for (kind, share) in KIND_SHARES {
        let mut items = Vec::new();
        let mut cumulative = Vec::new();
        let (mut total, mut priced) = (0.0, 0.0);
        for (i, c) in candidates.iter().enumerate() {
            if c.kind != kind || c.listed_since > month_start {
                continue;
            }
            // A segment that grows faster than the market was smaller in the past.
            let w = c.weight * ((1.0 + c.growth) / (1.0 + GROWTH)).powi(years_back);
            total += w;
            priced += w * c.price as f64;
            items.push(i);
            cumulative.push(total);
        }
        if items.is_empty() {
            continue;
        }
        let mean_price = priced / total;
        odds.push((kind, share / mean_price));
        urns.push((kind, Urn { items, cumulative }));
    }
    let sum: f64 = odds.iter().map(|(_, o)| o).sum();
    for o in &mut odds {
        o.1 /= sum;
    }
    (urns, odds)
}

/// One order of `day`: 1 to 5 lines (2.3 on average) of 1 to 3 units (1.2 on average),
/// a channel, a time of day and a fate.
#[allow(clippy::too_many_arguments)]
fn make_order(
    rng: &mut StdRng,
    urns: &[(CooperativeKind, Urn)],
    kind_odds: &[(CooperativeKind, f64)],
    candidates: &[Candidate],
    tz: Tz,
    day: NaiveDate,
    year: i32,
    seq: u64,
) -> Option<HistoricOrder> {
    let n_lines = match rng.gen_range(0..100) {
        0..30 => 1,
        30..60 => 2,
        60..82 => 3,
        82..94 => 4,
        _ => 5,
    };
    let mut lines: Vec<(usize, i32, i64)> = Vec::with_capacity(n_lines);
    for _ in 0..n_lines {
        let mut x = rng.r#gen::<f64>();
        let mut kind = kind_odds.first()?.0;
        for (k, o) in kind_odds {
            if x < *o {
                kind = *k;
                break;
            }
            x -= o;
        }
        let urn = &urns.iter().find(|(k, _)| *k == kind)?.1;
        let c = &candidates[urn.draw(rng)?];
        if lines.iter().any(|(i, _, _)| *i == c.index) {
            continue;
        }
        let quantity = match rng.gen_range(0..100) {
            0..85 => 1,
            85..95 => 2,
            _ => 3,
        };
        lines.push((c.index, quantity, c.price));
    }
    if lines.is_empty() {
        return None;
    }
    let channel = if rng.gen_range(0..100) < 35 {
        Channel::Online
    } else {
        Channel::Store
    };
    // The shop opens 9:00–22:00; online orders come at any time, some late at night.
    let minute = match channel {
        Channel::Store => rng.gen_range(9 * 60..22 * 60),
        Channel::Online => rng.gen_range(7 * 60..24 * 60),
    };
    let time = chrono::NaiveTime::MIN + Duration::minutes(minute);
    let placed_at = crate::domain::market_time::local_instant(day, time, tz);
    let status = match rng.gen_range(0..1000) {
        0..25 => OrderStatus::Cancelled,
        25..40 => OrderStatus::Refunded,
        40..80 => OrderStatus::Paid,
        _ => OrderStatus::Fulfilled,
    };
    Some(HistoricOrder {
        number: format!("HS-{year}-{seq:08}"),
        external_ref: None,
        channel,
        status,
        placed_at,
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_fall_in_ramadan_and_december() {
        let d = |m, day| NaiveDate::from_ymd_opt(2024, m, day).unwrap();
        // Same weekday (Tuesday), inside and outside the peaks.
        assert!(day_weight(d(3, 19)) > day_weight(d(6, 18)));
        assert!(day_weight(d(12, 24)) > day_weight(d(6, 18)));
        assert_eq!(ramadan_start(2024), d(3, 12));
    }
}
