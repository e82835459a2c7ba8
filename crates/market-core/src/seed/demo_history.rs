//! The demo's recent past: six months of sales before `now`, in the shop and online —
//! paid, fulfilled, some cancelled or refunded, the last ones still awaiting payment or
//! delivery — with the deliveries that stocked them and the monthly payout statements
//! (paid, due, one paid late each month, and those of a cooperative with no bank account
//! on file, overdue). A member signing in or a manager opening the analytics sees real
//! figures.
//!
//! Everything is replayed through the domain at the instant it happened, in time order:
//! `orders::place_at` and `orders::transition_at` (stock taken and returned on the ledger,
//! rollups kept, refunds after settlement carried into payouts), `stock::apply_at`,
//! `payouts::generate_at` and `payouts::mark_paid_in`. So the history obeys the rules live
//! sales do: only what was sellable that day is sold, stock never goes below zero and ends
//! at the catalog's levels, rollups and statements add up.
//!
//! The plan comes from a generator seeded by `today`: the same day gives the same history.

use super::history::{appeal, day_weight};
use crate::domain::compliance;
use crate::domain::enums::{
    AdjustmentReason, Channel, PaymentMethod, PayoutStatus, Role, StockMovementKind,
};
use crate::domain::market_time;
use crate::domain::orders::{self, Contact, OrderRequest, Transition};
use crate::domain::payouts::{self, Calendar, Payment, Period};
use crate::domain::policy::SignedIn;
use crate::domain::rollups::Grain;
use crate::domain::stock::{self, Movement, Shortage};
use crate::entities::{certification, certification_product, cooperative, product, user};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder, Set};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};

/// Whole months of history before the current one (which is there up to `now`).
pub const MONTHS: u32 = 6;
/// Orders a day on average; weekends, Ramadan and December weigh more.
const ORDERS_PER_DAY: f64 = 2.2;
/// Share of the orders placed online.
const ONLINE_SHARE: f64 = 0.38;
/// Orders left unpaid this long are cancelled as stale (the server's default).
const STALE_HOURS: i64 = 48;
/// The share of the lines drawn from the demo member's cooperative (about 7 a month).
const MEMBER_SHARE: f64 = 0.05;
/// From this price a product is a unique piece: bought one at a time.
const UNIQUE_PIECE_CENTS: i64 = 50_000;

/// Shoppers who bought online (besides the demo customer), as (name, mailbox, phone).
/// They are accounts that cannot sign in: their password hash is `!`, which no password
/// verifies (only the accounts in README.md sign in).
const SHOPPERS: &[(&str, &str, &str)] = &[
    ("Amina Benali", "amina.benali", "+212 661 24 58 13"),
    ("Karim Tazi", "karim.tazi", "+212 662 71 09 44"),
    ("Nadia El Fassi", "nadia.elfassi", "+212 663 38 27 60"),
    ("Omar Berrada", "omar.berrada", "+212 664 90 15 72"),
    ("Leila Chraibi", "leila.chraibi", "+212 665 12 84 39"),
    ("Hamza Alaoui", "hamza.alaoui", "+212 666 57 33 08"),
    ("Salma Idrissi", "salma.idrissi", "+212 667 46 92 51"),
    ("Mehdi Bennis", "mehdi.bennis", "+212 668 03 61 27"),
    ("Sara Lahlou", "sara.lahlou", "+212 669 85 40 16"),
    ("Youssef Kettani", "youssef.kettani", "+212 670 29 76 93"),
    ("Imane Ouazzani", "imane.ouazzani", "+212 671 64 18 35"),
    ("Rachid Amrani", "rachid.amrani", "+212 672 17 55 80"),
    ("Khadija Sqalli", "khadija.sqalli", "+212 673 92 07 64"),
    ("Anas Cherkaoui", "anas.cherkaoui", "+212 674 31 86 29"),
    ("Zineb Guessous", "zineb.guessous", "+212 675 58 23 47"),
    ("Adil Benjelloun", "adil.benjelloun", "+212 676 06 49 12"),
    ("Meryem Skalli", "meryem.skalli", "+212 677 73 31 58"),
    ("Hicham Naciri", "hicham.naciri", "+212 678 40 67 05"),
    ("Ghita Filali", "ghita.filali", "+212 679 15 94 86"),
    ("Reda Belkadi", "reda.belkadi", "+212 680 87 52 31"),
    ("Hajar Mernissi", "hajar.mernissi", "+212 681 26 08 77"),
    ("Ilyas Bouzidi", "ilyas.bouzidi", "+212 682 69 45 20"),
    ("Chaimae Rami", "chaimae.rami", "+212 683 34 71 96"),
    ("Mohamed Ait Said", "mohamed.aitsaid", "+212 684 52 16 63"),
];

/// The accounts the history is made by and for.
#[derive(Debug, Clone, Copy)]
pub struct Actors {
    /// Records in-store sales, payments, deliveries and payouts.
    pub manager: i32,
    /// The demo member, who records their own cooperative's deliveries.
    pub member: i32,
    pub member_cooperative: i32,
    /// The demo customer, who has a few orders of their own.
    pub customer: i32,
}

/// What the history holds, for the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistorySummary {
    pub orders: usize,
    pub cancelled: usize,
    pub refunded: usize,
    pub statements: usize,
    pub statements_paid: usize,
}

/// Writes the history, in the caller's transaction, over the demo catalog just seeded
/// with no stock: `stock_targets` (product id → level) are the levels the products must
/// have today, which the history's deliveries reach. `now` is the current instant;
/// nothing is dated after it.
pub async fn seed_demo_history(
    txn: &impl ConnectionTrait,
    stock_targets: &HashMap<i32, i32>,
    actors: Actors,
    now: DateTime<Utc>,
    tz: Tz,
    terms_days: u16,
) -> AppResult<HistorySummary> {
    let shelf = Shelf::load(txn).await?;
    let shoppers = create_shoppers(txn, now).await?;
    let today = market_time::market_date(now, tz);
    let mut rng = StdRng::seed_from_u64(0xdeb0_0000 ^ today.num_days_from_ce() as u64);
    let plan = plan_orders(&shelf, &shoppers, actors, now, tz, &mut rng);

    let mut queue = Queue::default();
    for (index, order) in plan.iter().enumerate() {
        queue.push(order.placed_at, Action::Place(index));
        for (at, step) in &order.steps {
            queue.push(*at, Action::Step(index, step.clone()));
        }
    }
    for (at, action) in plan_stock(&shelf, &plan, stock_targets, actors, now) {
        queue.push(at, action);
    }
    let mut month = Grain::Month.start(today);
    for _ in 0..MONTHS {
        let start = Grain::Month.start(month - Duration::days(1));
        let period = Period {
            start,
            end: Grain::Month.end(start),
        };
        // Statements are issued first thing on the 1st.
        let at = local(tz, period.end + Duration::days(1), 8 * 60 + 30);
        if at < now {
            queue.push(at, Action::Settle(period));
        }
        month = start;
    }

    let mut replay = Replay {
        txn,
        tz,
        terms_days,
        now,
        actors,
        shoppers: &shoppers,
        no_account: shelf
            .coops
            .values()
            .filter(|c| c.payout_account.is_none())
            .map(|c| c.id)
            .collect(),
        order_ids: vec![None; plan.len()],
        summary: HistorySummary::default(),
        rng,
    };
    while let Some((at, action)) = queue.pop() {
        for (at, action) in replay.run(&plan, at, action).await? {
            queue.push(at, action);
        }
    }
    replay.summary.orders = plan.len();
    Ok(replay.summary)
}

/// The catalog as the history sells it.
struct Shelf {
    products: Vec<product::Model>,
    coops: HashMap<i32, cooperative::Model>,
    /// Product id → the certifications of its cooperative that cover it.
    covering: HashMap<i32, Vec<certification::Model>>,
}

impl Shelf {
    async fn load(db: &impl ConnectionTrait) -> AppResult<Self> {
        let products = product::Entity::find()
            .order_by_asc(product::Column::Id)
            .all(db)
            .await?;
        let coops = crate::domain::reads::all_cooperatives_by_id(db).await?;
        let certs = certification::Entity::find().all(db).await?;
        let links: Vec<(i32, i32)> = certification_product::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|l| (l.certification_id, l.product_id))
            .collect();
        let covering = products
            .iter()
            .map(|p| {
                let certs = certs
                    .iter()
                    .filter(|c| c.cooperative_id == p.cooperative_id)
                    .filter(|c| c.covers_all_products || links.contains(&(c.id, p.id)))
                    .cloned()
                    .collect();
                (p.id, certs)
            })
            .collect();
        Ok(Self {
            products,
            coops,
            covering,
        })
    }

    /// Whether `product` could be bought at `at` (market-local day `day`).
    fn sellable(&self, product: &product::Model, day: NaiveDate, at: DateTime<Utc>) -> bool {
        let (Some(coop), Some(certs)) = (
            self.coops.get(&product.cooperative_id),
            self.covering.get(&product.id),
        ) else {
            return false;
        };
        let covering: Vec<&certification::Model> = certs.iter().collect();
        product.created_at < at
            && coop.listed_since <= day
            && compliance::assess(product, coop, &covering, day).is_empty()
    }
}

/// A shopper account of the history.
struct Shopper {
    id: i32,
    name: &'static str,
    email: String,
    phone: &'static str,
}

async fn create_shoppers(db: &impl ConnectionTrait, now: DateTime<Utc>) -> AppResult<Vec<Shopper>> {
    let joined = now - Duration::days(400);
    let rows = SHOPPERS.iter().map(|(name, mailbox, _)| user::ActiveModel {
        email: Set(format!("{mailbox}@example.ma")),
        name: Set((*name).to_owned()),
        password_hash: Set("!".to_owned()),
        role: Set(Role::Customer),
        cooperative_id: Set(None),
        created_at: Set(joined),
        updated_at: Set(joined),
        ..Default::default()
    });
    user::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    let ids: HashMap<String, i32> = user::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.email, u.id))
        .collect();
    SHOPPERS
        .iter()
        .map(|(name, mailbox, phone)| {
            let email = format!("{mailbox}@example.ma");
            let id = *ids
                .get(&email)
                .ok_or_else(|| AppError::internal(format!("demo shopper {email} not stored")))?;
            Ok(Shopper {
                id,
                name,
                email,
                phone,
            })
        })
        .collect()
}

/// The first instant of `minutes` after midnight on market-local `day`.
fn local(tz: Tz, day: NaiveDate, minutes: i64) -> DateTime<Utc> {
    let wall = day.and_time(NaiveTime::MIN) + Duration::minutes(minutes);
    market_time::local_instant(wall.date(), wall.time(), tz)
}

/// Who placed an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Buyer {
    /// At the till: a manager records it.
    Manager,
    /// Online, by the demo customer.
    DemoCustomer,
    /// Online, by shopper `n`.
    Shopper(usize),
}

/// A change in an order's life.
#[derive(Debug, Clone)]
enum Step {
    Pay(PaymentMethod, Option<String>),
    Fulfill,
    /// Cancelled by a manager (at the customer's request), or as stale (no actor).
    Cancel {
        by_manager: bool,
        reason: &'static str,
    },
    Refund {
        restock: bool,
        reason: &'static str,
    },
}

/// An order of the history, with what happened to it before `now`.
struct PlannedOrder {
    buyer: Buyer,
    channel: Channel,
    placed_at: DateTime<Utc>,
    /// (product id, quantity), distinct products.
    lines: Vec<(i32, i32)>,
    steps: Vec<(DateTime<Utc>, Step)>,
}

fn plan_orders(
    shelf: &Shelf,
    shoppers: &[Shopper],
    actors: Actors,
    now: DateTime<Utc>,
    tz: Tz,
    rng: &mut StdRng,
) -> Vec<PlannedOrder> {
    let today = market_time::market_date(now, tz);
    let mut first = Grain::Month.start(today);
    for _ in 0..MONTHS {
        first = Grain::Month.start(first - Duration::days(1));
    }
    // How much each product sells, all else equal: the market's best sellers lead and
    // cheaper goods sell more often, both toned down so that every cooperative sells
    // something. The demo member's cooperative takes a steady share of the lines
    // ([`MEMBER_SHARE`]), so its portal has figures every month.
    let mut ranks: Vec<usize> = (0..shelf.products.len()).collect();
    for i in (1..ranks.len()).rev() {
        ranks.swap(i, rng.gen_range(0..=i));
    }
    let weights: Vec<f64> = shelf
        .products
        .iter()
        .zip(&ranks)
        .map(|(p, rank)| {
            appeal(&p.name, &p.format, *rank).powf(0.5)
                * (p.price_cents.max(500) as f64 / 3_000.0).powf(-0.6)
        })
        .collect();
    let members = |i: &usize| shelf.products[*i].cooperative_id == actors.member_cooperative;
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= today).collect();
    let mean_weight = days.iter().map(|d| day_weight(*d)).sum::<f64>() / days.len() as f64;

    let mut plan = Vec::new();
    for day in days {
        let noon = local(tz, day, 12 * 60);
        let (own, open): (Vec<usize>, Vec<usize>) = (0..shelf.products.len())
            .filter(|i| shelf.sellable(&shelf.products[*i], day, noon))
            .partition(members);
        if open.is_empty() {
            continue;
        }
        for _ in 0..poisson(rng, ORDERS_PER_DAY * day_weight(day) / mean_weight) {
            let channel = if rng.gen_bool(ONLINE_SHARE) {
                Channel::Online
            } else {
                Channel::Store
            };
            let minute = match channel {
                Channel::Store => rng.gen_range(9 * 60 + 30..21 * 60 + 30),
                Channel::Online => rng.gen_range(7 * 60..24 * 60),
            };
            let placed_at = local(tz, day, minute);
            if placed_at > now - Duration::minutes(20) {
                continue;
            }
            let wanted = match rng.gen_range(0..100) {
                0..45 => 1,
                45..75 => 2,
                75..92 => 3,
                _ => 4,
            };
            let mut lines: Vec<(i32, i32)> = Vec::new();
            for _ in 0..wanted * 3 {
                if lines.len() == wanted {
                    break;
                }
                let i = if !own.is_empty() && rng.gen_bool(MEMBER_SHARE) {
                    draw(rng, &own, &weights)
                } else {
                    draw(rng, &open, &weights)
                };
                let p = &shelf.products[i];
                if lines.iter().any(|(id, _)| *id == p.id) || !shelf.sellable(p, day, placed_at) {
                    continue;
                }
                let quantity = if p.price_cents >= UNIQUE_PIECE_CENTS {
                    1
                } else {
                    match rng.gen_range(0..100) {
                        0..80 => 1,
                        80..95 => 2,
                        _ => 3,
                    }
                };
                lines.push((p.id, quantity));
            }
            if lines.is_empty() {
                continue;
            }
            let buyer = match channel {
                Channel::Store => Buyer::Manager,
                Channel::Online if rng.gen_bool(0.06) => Buyer::DemoCustomer,
                Channel::Online => Buyer::Shopper(rng.gen_range(0..shoppers.len())),
            };
            let steps = fate(rng, channel, placed_at)
                .into_iter()
                .take_while(|(at, _)| *at < now)
                .collect();
            plan.push(PlannedOrder {
                buyer,
                channel,
                placed_at,
                lines,
                steps,
            });
        }
    }
    plan
}

/// What becomes of an order placed at `placed_at`, whatever `now` is (the caller keeps
/// the steps before it).
fn fate(
    rng: &mut StdRng,
    channel: Channel,
    placed_at: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, Step)> {
    let minutes = |n: i64| Duration::minutes(n);
    let mut steps = Vec::new();
    let fulfilled_at = match channel {
        Channel::Store => {
            let paid_at = placed_at + minutes(rng.gen_range(1..4));
            let pay = if rng.gen_bool(0.6) {
                Step::Pay(PaymentMethod::Cash, None)
            } else {
                Step::Pay(
                    PaymentMethod::Card,
                    Some(format!("TPE-{:06}", rng.gen_range(0..1_000_000))),
                )
            };
            steps.push((paid_at, pay));
            let fulfilled_at = paid_at + minutes(1);
            steps.push((fulfilled_at, Step::Fulfill));
            fulfilled_at
        }
        Channel::Online => {
            let roll = rng.gen_range(0..100);
            if roll < 5 {
                let at = placed_at + minutes(rng.gen_range(90..40 * 60));
                let reason = "Cancelled at the customer's request";
                steps.push((
                    at,
                    Step::Cancel {
                        by_manager: true,
                        reason,
                    },
                ));
                return steps;
            }
            if roll < 8 {
                let at = placed_at + Duration::hours(STALE_HOURS) + minutes(rng.gen_range(5..90));
                let reason = "Unpaid for more than 48 hours";
                steps.push((
                    at,
                    Step::Cancel {
                        by_manager: false,
                        reason,
                    },
                ));
                return steps;
            }
            if rng.gen_bool(0.6) {
                let paid_at = placed_at + minutes(rng.gen_range(1..6));
                let reference = format!("CMI-{:010}", rng.gen_range(0..10_000_000_000_u64));
                steps.push((paid_at, Step::Pay(PaymentMethod::Card, Some(reference))));
                let delivered = paid_at + minutes(rng.gen_range(18 * 60..60 * 60));
                steps.push((delivered, Step::Fulfill));
                delivered
            } else {
                // Cash on delivery: paid to the courier the next day, well before the
                // order would count as stale.
                let paid_at = placed_at + minutes(rng.gen_range(20 * 60..44 * 60));
                steps.push((paid_at, Step::Pay(PaymentMethod::CashOnDelivery, None)));
                let delivered = paid_at + minutes(2);
                steps.push((delivered, Step::Fulfill));
                delivered
            }
        }
    };
    let refund_odds = if channel == Channel::Online {
        0.04
    } else {
        0.015
    };
    if rng.gen_bool(refund_odds) {
        let at = fulfilled_at + minutes(rng.gen_range(2 * 24 * 60..14 * 24 * 60));
        let refund = if rng.gen_bool(0.5) {
            Step::Refund {
                restock: true,
                reason: "Returned unopened",
            }
        } else {
            Step::Refund {
                restock: false,
                reason: "Arrived damaged",
            }
        };
        steps.push((at, refund));
    }
    steps
}

/// A draw from `open` (indexes of `weights`) in proportion to the weights.
fn draw(rng: &mut StdRng, open: &[usize], weights: &[f64]) -> usize {
    let total: f64 = open.iter().map(|i| weights[*i]).sum();
    let mut x = rng.r#gen::<f64>() * total;
    for i in open {
        x -= weights[*i];
        if x < 0.0 {
            return *i;
        }
    }
    open[open.len() - 1]
}

/// A Poisson draw of mean `mean` (Knuth's method: fine for small means).
fn poisson(rng: &mut StdRng, mean: f64) -> u32 {
    let limit = (-mean).exp();
    let (mut k, mut p) = (0, rng.r#gen::<f64>());
    while p > limit {
        k += 1;
        p *= rng.r#gen::<f64>();
    }
    k
}

/// The deliveries (and, rarely, the count correction) that make each product's ledger
/// feasible — never below zero — and end at its target level: an initial delivery when
/// it was created, a restock just before a sale that would empty it, the rest delivered
/// recently. The level after the history's own movements is computed, so the orders'
/// replay finds the stock it needs.
fn plan_stock(
    shelf: &Shelf,
    plan: &[PlannedOrder],
    targets: &HashMap<i32, i32>,
    actors: Actors,
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, Action)> {
    // The stock movements the orders will make, by product: (when, units).
    let mut moves: BTreeMap<i32, Vec<(DateTime<Utc>, i64)>> = BTreeMap::new();
    for order in plan {
        for (product, quantity) in &order.lines {
            let quantity = i64::from(*quantity);
            let entry = moves.entry(*product).or_default();
            entry.push((order.placed_at, -quantity));
            for (at, step) in &order.steps {
                if matches!(
                    step,
                    Step::Cancel { .. } | Step::Refund { restock: true, .. }
                ) {
                    entry.push((*at, quantity));
                }
            }
        }
    }
    let mut actions = Vec::new();
    for p in &shelf.products {
        let target = i64::from(targets.get(&p.id).copied().unwrap_or(0));
        let mut movements = moves.remove(&p.id).unwrap_or_default();
        movements.sort_by_key(|(at, _)| *at);
        let author = if p.cooperative_id == actors.member_cooperative {
            actors.member
        } else {
            actors.manager
        };
        let deliver = |at, units: i64, note: &str| {
            let units = i32::try_from(units).unwrap_or(i32::MAX);
            (
                at,
                Action::Stock(stock_movement(
                    p.id,
                    StockMovementKind::Delivery,
                    units,
                    None,
                    note,
                    author,
                )),
            )
        };
        // Units still to come after each point; the largest surplus over the target
        // (returns after the last sales) needs a count correction at the end.
        let total: i64 = movements.iter().map(|(_, d)| d).sum();
        let mut prefix = 0;
        let mut surplus = total.max(0);
        for (_, delta) in &movements {
            prefix += delta;
            surplus = surplus.max(total - prefix);
        }
        let correction = (surplus - target).max(0);
        let mut remaining = target - total + correction;
        // One delivery covers a few weeks of sales: at least the target level.
        let batch = target.max(i64::from(p.low_stock_threshold) * 3).max(6);
        let mut level = remaining.min(batch);
        if level > 0 {
            actions.push(deliver(p.created_at, level, "Initial delivery"));
            remaining -= level;
        }
        let mut last = p.created_at;
        for (at, delta) in &movements {
            if level + delta < 0 {
                let needed = -(level + delta);
                let units = batch.clamp(needed, remaining.max(needed));
                let when = (*at - Duration::hours(3)).max(last).max(p.created_at);
                actions.push(deliver(when, units, "Delivery"));
                level += units;
                remaining -= units;
            }
            level += delta;
            last = *at;
        }
        let recent = (now - Duration::days(4)).max(last + Duration::minutes(30));
        if remaining > 0 && recent < now {
            actions.push(deliver(recent, remaining, "Delivery"));
        }
        if correction > 0 {
            let at = recent + Duration::minutes(5);
            let units = i32::try_from(correction).unwrap_or(i32::MAX);
            actions.push((
                at,
                Action::Stock(stock_movement(
                    p.id,
                    StockMovementKind::Adjustment,
                    -units,
                    Some(AdjustmentReason::CountCorrection),
                    "Stock count",
                    author,
                )),
            ));
        }
    }
    actions
}

fn stock_movement(
    product_id: i32,
    kind: StockMovementKind,
    delta: i32,
    reason: Option<AdjustmentReason>,
    note: &str,
    author: i32,
) -> Movement {
    Movement {
        product_id,
        kind,
        delta,
        reason,
        note: Some(note.to_owned()),
        order_id: None,
        author_id: Some(author),
    }
}

/// Something that happens in the history.
#[derive(Debug, Clone)]
enum Action {
    /// A stock delivery or correction.
    Stock(Movement),
    /// Order `n` of the plan is placed.
    Place(usize),
    /// Order `n` of the plan changes status.
    Step(usize, Step),
    /// The statements of a month are issued.
    Settle(Period),
    /// A statement is paid, on the given day with the given reference.
    PayStatement(i32, NaiveDate, String),
}

impl Action {
    /// Stock arrives before anything else at the same instant.
    fn rank(&self) -> u8 {
        match self {
            Action::Stock(m) if m.delta > 0 => 0,
            _ => 1,
        }
    }
}

/// Actions in time order (then deliveries first, then in the order they were planned).
#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<Key>>,
    actions: HashMap<u64, Action>,
    next: u64,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Key(DateTime<Utc>, u8, u64);

impl Queue {
    fn push(&mut self, at: DateTime<Utc>, action: Action) {
        self.next += 1;
        self.heap.push(Reverse(Key(at, action.rank(), self.next)));
        self.actions.insert(self.next, action);
    }

    fn pop(&mut self) -> Option<(DateTime<Utc>, Action)> {
        let Reverse(Key(at, _, n)) = self.heap.pop()?;
        self.actions.remove(&n).map(|a| (at, a))
    }
}

/// The replay: runs each action through the domain at its instant.
struct Replay<'a, C> {
    txn: &'a C,
    tz: Tz,
    terms_days: u16,
    now: DateTime<Utc>,
    actors: Actors,
    shoppers: &'a [Shopper],
    /// Cooperatives with no bank account on file: their statements cannot be paid.
    no_account: HashSet<i32>,
    /// The stored id of each planned order, once placed.
    order_ids: Vec<Option<i64>>,
    summary: HistorySummary,
    rng: StdRng,
}

impl<C: ConnectionTrait> Replay<'_, C> {
    fn signed_in(&self, user_id: i32, role: Role) -> SignedIn {
        SignedIn {
            user_id,
            role,
            cooperative_id: None,
            token_id: 0,
        }
    }

    /// Runs `action` at `at`; returns the actions it leads to.
    async fn run(
        &mut self,
        plan: &[PlannedOrder],
        at: DateTime<Utc>,
        action: Action,
    ) -> AppResult<Vec<(DateTime<Utc>, Action)>> {
        let day = market_time::market_date(at, self.tz);
        match action {
            Action::Stock(movement) => {
                stock::apply_at(self.txn, movement, Shortage::Adjustment, at).await?;
            }
            Action::Place(n) => {
                let order = &plan[n];
                let request = OrderRequest {
                    channel: order.channel,
                    lines: order.lines.clone(),
                    idempotency_key: format!("demo-history-{n}"),
                    contact: Contact::default(),
                    note: None,
                    delivery: None,
                };
                let (buyer, request) = match order.buyer {
                    Buyer::Manager => (self.signed_in(self.actors.manager, Role::Manager), request),
                    Buyer::DemoCustomer => {
                        let buyer = self.signed_in(self.actors.customer, Role::Customer);
                        let contact = Contact {
                            name: Some("Youssef El Amrani".into()),
                            email: Some("customer@example.ma".into()),
                            phone: Some("+212 661 00 20 26".into()),
                        };
                        (buyer, OrderRequest { contact, ..request })
                    }
                    Buyer::Shopper(i) => {
                        let s = &self.shoppers[i];
                        let buyer = self.signed_in(s.id, Role::Customer);
                        let contact = Contact {
                            name: Some(s.name.to_owned()),
                            email: Some(s.email.clone()),
                            phone: Some(s.phone.to_owned()),
                        };
                        (buyer, OrderRequest { contact, ..request })
                    }
                };
                let placed = orders::place_at(self.txn, &buyer, request, day, at).await?;
                self.order_ids[n] = Some(placed.id);
            }
            Action::Step(n, step) => {
                let id = self.order_ids[n]
                    .ok_or_else(|| AppError::Internal("demo order changed before placed".into()))?;
                let manager = Some(self.actors.manager);
                let (transition, actor) = match step {
                    Step::Pay(method, reference) => {
                        (Transition::MarkPaid { method, reference }, manager)
                    }
                    Step::Fulfill => (Transition::Fulfill, manager),
                    Step::Cancel { by_manager, reason } => {
                        self.summary.cancelled += 1;
                        let actor = if by_manager { manager } else { None };
                        (
                            Transition::Cancel {
                                reason: Some(reason.into()),
                            },
                            actor,
                        )
                    }
                    Step::Refund { restock, reason } => {
                        self.summary.refunded += 1;
                        (
                            Transition::Refund {
                                restock,
                                reason: Some(reason.into()),
                            },
                            manager,
                        )
                    }
                };
                orders::transition_at(self.txn, id, transition, actor, at).await?;
            }
            Action::Settle(period) => {
                let calendar = Calendar {
                    timezone: self.tz,
                    today: day,
                };
                let statements =
                    payouts::generate_at(self.txn, period, calendar, self.terms_days, at).await?;
                self.summary.statements += statements.len();
                return Ok(self.payments(&statements));
            }
            Action::PayStatement(id, paid_on, reference) => {
                let payment = Payment {
                    statement_id: id,
                    paid_on,
                    reference,
                };
                payouts::mark_paid_in(self.txn, payment, day).await?;
                self.summary.statements_paid += 1;
            }
        }
        Ok(Vec::new())
    }

    /// When the statements just issued are paid: on their due date — the market's promise
    /// — except one a month, paid a few days late; a cooperative with no bank account on
    /// file is not paid at all (its statements fall overdue). Payments after `now` have
    /// not happened yet.
    fn payments(
        &mut self,
        statements: &[crate::entities::payout_statement::Model],
    ) -> Vec<(DateTime<Utc>, Action)> {
        let payable: Vec<&crate::entities::payout_statement::Model> = statements
            .iter()
            .filter(|s| s.status == PayoutStatus::Due)
            .filter(|s| !self.no_account.contains(&s.cooperative_id))
            .collect();
        let late = (!payable.is_empty()).then(|| self.rng.gen_range(0..payable.len()));
        let mut out = Vec::new();
        for (i, s) in payable.iter().enumerate() {
            let paid_on = if Some(i) == late {
                s.due_on + Duration::days(self.rng.gen_range(3..10))
            } else {
                s.due_on
            }
            .max(s.period_end + Duration::days(1));
            let at = local(self.tz, paid_on, 10 * 60 + self.rng.gen_range(0..360));
            if at < self.now {
                let reference = format!("VIR-{}-{:05}", paid_on.year(), s.id);
                out.push((at, Action::PayStatement(s.id, paid_on, reference)));
            }
        }
        out
    }
}
