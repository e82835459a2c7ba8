//! Money at the API edge: integer centimes inside, a decimal string outside.

use crate::graphql::scalars::Decimal;
use async_graphql::{Enum, SimpleObject};

/// ISO 4217 currency codes the market uses.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CurrencyCode {
    /// Moroccan dirham.
    Mad,
}

/// An amount of money. `amount` is a decimal string with two places ("12.50"), never a
/// float, so it is exact.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct Money {
    /// The amount, as a decimal string with two decimal places.
    pub amount: Decimal,
    /// The currency of the amount.
    pub currency_code: CurrencyCode,
}

impl Money {
    /// Moroccan dirhams from centimes.
    pub fn mad(centimes: i64) -> Self {
        Self {
            amount: Decimal(rust_decimal::Decimal::new(centimes, 2)),
            currency_code: CurrencyCode::Mad,
        }
    }
}

/// Converts a client-given amount in dirhams into centimes; `None` when it has more than
/// two decimal places or does not fit.
pub fn to_centimes(amount: rust_decimal::Decimal) -> Option<i64> {
    let scaled = amount.checked_mul(rust_decimal::Decimal::ONE_HUNDRED)?;
    if !scaled.fract().is_zero() {
        return None;
    }
    i64::try_from(scaled.trunc()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_two_places_and_parses_exactly() {
        assert_eq!(Money::mad(1250).amount.0.to_string(), "12.50");
        assert_eq!(Money::mad(-5).amount.0.to_string(), "-0.05");
        assert_eq!(to_centimes("12.5".parse().unwrap()), Some(1250));
        assert_eq!(to_centimes("0.001".parse().unwrap()), None);
    }
}
