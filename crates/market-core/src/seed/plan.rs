//! What the demo and market generators share: the deterministic dice, dates relative to
//! `today`, generated contact details and bank accounts, and the stock a new product
//! starts with.

use crate::domain::enums::CooperativeKind;
use crate::entities::product;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use sea_orm::{ActiveValue::Set, DbErr};

/// The market opened in March 2017: nobody joined before.
pub const MARKET_OPENED: NaiveDate = date(2017, 3, 1);

/// Price from which a piece is treated as a unique or near-unique item (a rug, a table
/// top): little stock, and a lower low-stock threshold.
pub const UNIQUE_PIECE_CENTS: i64 = 50_000;

/// Only ever evaluated in constants, so a wrong date fails the build, not the seeder.
pub const fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(d) => d,
        None => panic!("invalid date in a seed constant"),
    }
}

/// `day` shifted by `days`, or an error instead of chrono's panic at the ends of time.
pub fn days_from(day: NaiveDate, days: i64) -> Result<NaiveDate, DbErr> {
    TimeDelta::try_days(days)
        .and_then(|delta| day.checked_add_signed(delta))
        .ok_or_else(|| DbErr::Custom(format!("seed date out of range: {day} {days:+} days")))
}

/// `minutes` after midnight UTC on `day`.
pub fn at(day: NaiveDate, minutes: i64) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc() + TimeDelta::minutes(minutes)
}

/// A Moroccan mobile number, "+212 6xx xx xx xx".
pub fn mobile_number(dice: &mut Dice) -> String {
    format!(
        "+212 6{:02} {:02} {:02} {:02}",
        dice.below(100),
        dice.below(100),
        dice.below(100),
        dice.below(100)
    )
}

/// A fake but well-formed 24-digit Moroccan RIB: bank (3) + city (3) + account (16) +
/// key (2), the key making the whole number divisible by 97.
pub fn rib(dice: &mut Dice) -> String {
    const BANKS: [&str; 8] = ["007", "011", "013", "022", "145", "190", "225", "230"];
    let bank = BANKS[dice.below(BANKS.len())];
    let city = 100 + dice.below(900);
    let account = dice.below_u64(10_000_000_000_000_000);
    let body = format!("{bank}{city:03}{account:016}");
    let key = body.parse::<u128>().map_or(0, |n| 97 - (n * 100) % 97);
    format!("{body}{key:02}")
}

/// The stock a new product is delivered and its low-stock threshold, by what it is: a
/// unique piece, a craft, or food and cosmetics.
pub fn initial_stock(kind: CooperativeKind, price_cents: i64, dice: &mut Dice) -> (usize, usize) {
    if price_cents >= UNIQUE_PIECE_CENTS {
        (1 + dice.below(8), 2)
    } else if kind == CooperativeKind::Handicrafts {
        (4 + dice.below(25), 5)
    } else {
        (10 + dice.below(190), 5)
    }
}

/// A generated product: one format of a product line.
#[derive(Debug, PartialEq)]
pub struct PlannedProduct {
    pub sku: String,
    pub segment: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub format: &'static str,
    pub price_cents: i64,
    pub active: bool,
    pub stock: i32,
    pub low_stock_threshold: i32,
    pub created_at: DateTime<Utc>,
}

impl PlannedProduct {
    /// The row to insert directly (the market's bulk path), stock included.
    pub fn active_model(&self, segment_id: i32, cooperative_id: i32) -> product::ActiveModel {
        product::ActiveModel {
            id: Default::default(),
            sku: Set(self.sku.clone()),
            name: Set(self.name.to_owned()),
            description: Set(self.description.to_owned()),
            search_text: Set(crate::domain::search::product_search_text(
                self.name,
                self.description,
                self.format,
            )),
            segment_id: Set(segment_id),
            cooperative_id: Set(cooperative_id),
            format: Set(self.format.to_owned()),
            price_cents: Set(self.price_cents),
            active: Set(self.active),
            stock: Set(self.stock),
            low_stock_threshold: Set(self.low_stock_threshold),
            is_pack: Set(false),
            created_at: Set(self.created_at),
            updated_at: Set(self.created_at),
        }
    }
}

/// A tiny deterministic generator (FNV-1a seed, SplitMix64 steps): the demo and the
/// market must be the same on every run, on every platform, without a dependency.
pub struct Dice(u64);

impl Dice {
    pub fn new(key: &str) -> Self {
        let seed = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`, every one equally likely (0 when `n` is 0): a draw from the
    /// incomplete block at the top of `u64`'s range is drawn again, so there is no modulo
    /// bias. For the small `n`s of the generators a redraw is about as likely as
    /// `n / 2^64`, so the results are in practice those of a plain `% n`.
    pub fn below_u64(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // The largest multiple of `n` that fits, minus one: draws above it are redrawn.
        let limit = u64::MAX - (u64::MAX % n + 1) % n;
        loop {
            let x = self.next();
            if x <= limit {
                return x % n;
            }
        }
    }

    /// [`Self::below_u64`] for lengths and counts.
    pub fn below(&mut self, n: usize) -> usize {
        self.below_u64(n as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn percent(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ribs_have_24_digits_and_a_valid_key() {
        for code in ["OUZ", "MEK", "TZN", "market/M001"] {
            let rib = rib(&mut Dice::new(code));
            assert_eq!(rib.len(), 24, "{rib}");
            assert_eq!(rib.parse::<u128>().expect("digits") % 97, 0, "{rib}");
        }
    }

    #[test]
    fn dice_draws_stay_in_range_and_are_unbiased_at_the_edge() {
        let mut dice = Dice::new("test");
        assert_eq!(dice.below(0), 0);
        assert_eq!(dice.below(1), 0);
        assert!((0..1000).all(|_| dice.below(7) < 7));
        // n = 2^63 + 1: a plain `% n` would return the low half twice as often.
        let n = (1_u64 << 63) + 1;
        let low = (0..2000).filter(|_| dice.below_u64(n) < n / 2).count();
        assert!((850..=1150).contains(&low), "{low} of 2000 in the low half");
        assert!(
            (0..100).all(|_| dice.below_u64(u64::MAX) < u64::MAX),
            "the whole range"
        );
    }

    #[test]
    fn the_same_key_gives_the_same_draws() {
        let draws = |key| {
            let mut d = Dice::new(key);
            (0..5).map(|_| d.below(1000)).collect::<Vec<_>>()
        };
        assert_eq!(draws("OLV-MEK-001"), draws("OLV-MEK-001"));
        assert_ne!(draws("OLV-MEK-001"), draws("OLV-MEK-002"));
    }
}
