//! What client input may hold: the one place that says how long a text field may be,
//! which characters it may carry, and which dates the market deals with. Mutations
//! check their fields here and report every problem at once as `userErrors` (`TOO_LONG`,
//! `INVALID`); lookups and filters refuse with `BAD_USER_INPUT`. So a NUL byte (which
//! PostgreSQL cannot store in text), a control character or a 900 KB "note" is a clear,
//! coded answer, never a database error, and nothing is written.
//!
//! The limits are part of the API: each field's documentation in the schema repeats its
//! own.

use crate::error::{AppError, AppResult, UserError, UserErrorCode};
use chrono::NaiveDate;

/// A person's, product's or cooperative's name.
pub const NAME: usize = 200;
/// A product's or cooperative's description.
pub const DESCRIPTION: usize = 5_000;
/// A product's format ("250 g jar").
pub const FORMAT: usize = 80;
/// A note on a stock movement (delivery slip number…).
pub const MOVEMENT_NOTE: usize = 500;
/// A buyer's note on an order, and the reason of a cancellation or refund.
pub const ORDER_NOTE: usize = 1_000;
/// A payment reference (card slip, transfer reference, bank reference).
pub const REFERENCE: usize = 128;
/// An e-mail address (RFC 5321's limit).
pub const EMAIL: usize = 254;
/// A phone number, as written ("+212 6 61 23 45 67").
pub const PHONE: usize = 32;
/// A province's name.
pub const PROVINCE: usize = 100;
/// Search words.
pub const SEARCH: usize = 200;
/// A readable key looked up as it is: SKU, slug, order number, region code.
pub const KEY: usize = 128;

/// The first day the market deals with (cooperatives' founding dates included).
pub const EARLIEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => panic!("a real date"),
};
/// The last day the market deals with.
pub const LATEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2199, 12, 31) {
    Some(d) => d,
    None => panic!("a real date"),
};

/// Why a text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextProblem {
    /// Nothing but spaces where something is required.
    Empty,
    /// More characters than the field allows.
    TooLong { max: usize },
    /// A NUL byte or another control character (line breaks and tabs are allowed in
    /// multi-line fields only).
    ControlCharacter,
}

impl TextProblem {
    /// The user error of this problem on input field `field` (a dotted path under
    /// `input`, e.g. `contact.name`; "`what`" names it for people).
    pub fn user_error(self, field: &str, what: &str) -> UserError {
        let path: Vec<&str> = field.split('.').collect();
        let field = path.as_slice();
        match self {
            TextProblem::Empty => {
                UserError::new(UserErrorCode::Invalid, field, format!("Give {what}."))
            }
            TextProblem::TooLong { max } => UserError::new(
                UserErrorCode::TooLong,
                field,
                format!("{} is at most {max} characters long.", capitalized(what)),
            ),
            TextProblem::ControlCharacter => UserError::new(
                UserErrorCode::Invalid,
                field,
                format!(
                    "{} may not hold control characters (such as NUL).",
                    capitalized(what)
                ),
            ),
        }
    }

    /// The `BAD_USER_INPUT` error of this problem in argument `argument`.
    pub fn bad_input(self, argument: &str) -> AppError {
        AppError::bad_input(match self {
            TextProblem::Empty => format!("`{argument}` is empty"),
            TextProblem::TooLong { max } => {
                format!("`{argument}` is at most {max} characters long")
            }
            TextProblem::ControlCharacter => {
                format!("`{argument}` may not hold control characters (such as NUL)")
            }
        })
    }
}

fn capitalized(what: &str) -> String {
    let mut chars = what.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Whether `c` is refused in a text field: every control character, except line breaks
/// and tabs in a multi-line one.
fn refused(c: char, multiline: bool) -> bool {
    c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))
}

/// Checks a text against a field's rule and returns it trimmed. An empty text is
/// accepted here (optional fields clear with it); [`required`] refuses it.
pub fn check(text: &str, max: usize, multiline: bool) -> Result<String, TextProblem> {
    if text.chars().any(|c| refused(c, multiline)) {
        return Err(TextProblem::ControlCharacter);
    }
    let trimmed = text.trim();
    if trimmed.chars().count() > max {
        return Err(TextProblem::TooLong { max });
    }
    Ok(trimmed.to_owned())
}

/// A required single-line text of 1 to `max` characters; a problem is added to
/// `errors` on `field`.
pub fn required(
    errors: &mut Vec<UserError>,
    field: &str,
    what: &str,
    text: &str,
    max: usize,
) -> String {
    match check(text, max, false) {
        Ok(t) if t.is_empty() => {
            errors.push(TextProblem::Empty.user_error(field, what));
            t
        }
        Ok(t) => t,
        Err(p) => {
            errors.push(p.user_error(field, what));
            String::new()
        }
    }
}

/// An optional text (`multiline` for notes and descriptions); an empty one becomes
/// `Some("")`, for the caller to read as "clear it" or "none".
pub fn optional(
    errors: &mut Vec<UserError>,
    field: &str,
    what: &str,
    text: Option<&str>,
    max: usize,
    multiline: bool,
) -> Option<String> {
    let text = text?;
    match check(text, max, multiline) {
        Ok(t) => Some(t),
        Err(p) => {
            errors.push(p.user_error(field, what));
            None
        }
    }
}

/// A product's or cooperative's description, when given (multiline, at most
/// [`DESCRIPTION`] characters).
pub fn description(errors: &mut Vec<UserError>, text: Option<&str>) -> Option<String> {
    optional(
        errors,
        "description",
        "a description",
        text,
        DESCRIPTION,
        true,
    )
}

/// Adds "`field` is required." (`INVALID`) for each field marked missing: what a new row
/// cannot do without.
pub fn required_fields<const N: usize>(errors: &mut Vec<UserError>, fields: [(bool, &str); N]) {
    for (missing, field) in fields {
        if missing {
            errors.push(UserError::new(
                UserErrorCode::Invalid,
                &[field],
                format!("`{field}` is required."),
            ));
        }
    }
}

/// A lookup key or filter value given as an argument (`sku`, `slug`, `search`…): no
/// control character and at most `max` characters, else `BAD_USER_INPUT` naming the
/// argument. Returned as given (lookups compare exactly).
pub fn argument<'a>(argument: &str, text: &'a str, max: usize) -> AppResult<&'a str> {
    if text.chars().any(|c| c.is_control()) {
        return Err(TextProblem::ControlCharacter.bad_input(argument));
    }
    if text.chars().count() > max {
        return Err(TextProblem::TooLong { max }.bad_input(argument));
    }
    Ok(text)
}

/// Whether `day` is one the market deals with ([`EARLIEST_DATE`] to [`LATEST_DATE`]).
pub fn check_date(day: NaiveDate) -> Result<NaiveDate, String> {
    if (EARLIEST_DATE..=LATEST_DATE).contains(&day) {
        Ok(day)
    } else {
        Err(format!(
            "{day} is outside the dates the market deals with ({EARLIEST_DATE} to {LATEST_DATE})"
        ))
    }
}

/// Normalizes and checks an e-mail address: trimmed and lower-cased; a local part of 1
/// to 64 characters and a domain of dot-separated labels (letters, digits, hyphens, not
/// at a label's ends), at most 254 characters in all, no spaces or control characters.
/// What it refuses could not receive mail; it does not try to accept every exotic form
/// RFC 5322 allows.
pub fn email(text: &str) -> Option<String> {
    let email = text.trim().to_lowercase();
    if email.chars().count() > EMAIL
        || email
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';'))
    {
        return None;
    }
    let (local, domain) = email.split_once('@')?;
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    let local_ok = !local.is_empty()
        && local.chars().count() <= 64
        && !local.contains('@')
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    (domain_ok && local_ok).then_some(email)
}

/// Checks a phone number as people write it: 6 to 32 characters of digits, spaces and
/// `+ - . ( )`, with at least 6 digits. Returned trimmed.
pub fn phone(text: &str) -> Option<String> {
    let phone = text.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let ok = (6..=PHONE).contains(&phone.chars().count())
        && digits >= 6
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '.' | '(' | ')'));
    ok.then(|| phone.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_refuse_nul_and_length_and_keep_line_breaks_where_allowed() {
        assert_eq!(check("  jar ", 10, false), Ok("jar".into()));
        assert_eq!(check("a\0b", 10, true), Err(TextProblem::ControlCharacter));
        assert_eq!(check("a\nb", 10, false), Err(TextProblem::ControlCharacter));
        assert_eq!(check("a\nb", 10, true), Ok("a\nb".into()));
        assert_eq!(check("ééé", 2, false), Err(TextProblem::TooLong { max: 2 }));
        assert!(argument("sku", "OLV\0", KEY).is_err());
        assert!(argument("search", &"x".repeat(SEARCH + 1), SEARCH).is_err());
    }

    #[test]
    fn emails_and_phones_that_could_not_work_are_refused() {
        assert_eq!(email(" Shop@Example.MA "), Some("shop@example.ma".into()));
        assert_eq!(
            email("boutique@coopérative.ma"),
            Some("boutique@coopérative.ma".into())
        );
        for bad in [
            "not-an-email",
            "a@b",
            "a@.ma",
            "a@b..ma",
            "a@-b.ma",
            "@b.ma",
            "a b@c.ma",
            "a\0@b.ma",
            "a@b@c.ma",
        ] {
            assert_eq!(email(bad), None, "{bad}");
        }
        assert_eq!(
            phone(" +212 6 61-23 45 67 "),
            Some("+212 6 61-23 45 67".into())
        );
        assert_eq!(phone("call me"), None);
        assert_eq!(phone("12"), None);
    }

    #[test]
    fn dates_stay_within_the_years_the_market_deals_with() {
        assert!(check_date(NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()).is_ok());
        assert!(check_date(NaiveDate::from_ymd_opt(1899, 12, 31).unwrap()).is_err());
        assert!(check_date(NaiveDate::from_ymd_opt(2200, 1, 1).unwrap()).is_err());
    }
}
