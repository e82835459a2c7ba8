//! Customers' address books, with the structure of a Moroccan address (recipient, phone,
//! street, city, province, region, optional five-digit postal code), and the snapshot an
//! order keeps of the address it ships to.

use crate::domain::input;
use crate::entities::{address, province, region};
use crate::error::{AppError, AppResult, UserError, UserErrorCode};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};

/// Most addresses one customer may keep.
pub const MAX_ADDRESSES: u64 = 20;
/// Longest street line.
pub const STREET: usize = 300;
/// Longest city name.
pub const CITY: usize = 100;

/// An address as the client gives it (every field optional, for updates).
#[derive(Debug, Clone, Default)]
pub struct AddressInput {
    pub recipient: Option<String>,
    pub phone: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub region_code: Option<String>,
    pub postal_code: Option<String>,
}

/// A checked address: what an address book row holds and what an order snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressFields {
    pub recipient: String,
    /// In international form, `+212` and nine digits.
    pub phone: String,
    pub street: String,
    pub city: String,
    /// As the reference data spells it.
    pub province: String,
    pub region_code: String,
    pub postal_code: Option<String>,
}

impl AddressFields {
    fn of(row: &address::Model) -> Self {
        Self {
            recipient: row.recipient.clone(),
            phone: row.phone.clone(),
            street: row.street.clone(),
            city: row.city.clone(),
            province: row.province.clone(),
            region_code: row.region_code.clone(),
            postal_code: row.postal_code.clone(),
        }
    }

    /// The snapshot of an order, as stored.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// An order's snapshot read back (`None` if there is none or it cannot be read).
    pub fn from_json(text: Option<&str>) -> Option<Self> {
        serde_json::from_str(text?).ok()
    }
}

impl From<&address::Model> for AddressFields {
    fn from(row: &address::Model) -> Self {
        Self::of(row)
    }
}

/// A Moroccan phone number in its international form (`+2126XXXXXXXX`), from the ways
/// people write it: `06 61 23 45 67`, `0661-234567`, `+212 661 234 567`, `00212661234567`.
/// Mobile (06, 07) and fixed (05, 08) numbers; `None` for anything else.
pub fn moroccan_phone(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if !trimmed
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '.' | '(' | ')'))
        || trimmed.chars().filter(|c| *c == '+').count() > 1
        || (trimmed.contains('+') && !trimmed.starts_with('+'))
    {
        return None;
    }
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let national = if let Some(rest) = digits.strip_prefix("00212") {
        rest.to_owned()
    } else if trimmed.starts_with('+') {
        digits.strip_prefix("212")?.to_owned()
    } else {
        digits.strip_prefix('0')?.to_owned()
    };
    let national = national.strip_prefix('0').unwrap_or(&national).to_owned();
    let ok = national.len() == 9 && matches!(national.as_bytes()[0], b'5' | b'6' | b'7' | b'8');
    ok.then(|| format!("+212{national}"))
}

/// Checks a complete address: every field but the postal code given and within its
/// length, a Moroccan phone number, a known region and one of its provinces (matched
/// without regard to case, stored as the reference data spells it), a five-digit postal
/// code if any. Errors name the fields under `input` and `prefix` (e.g. `["address"]`).
pub async fn check(
    db: &impl ConnectionTrait,
    given: &AddressInput,
    prefix: &[&str],
) -> AppResult<AddressFields> {
    let mut errors = Vec::new();
    let path = |field: &str| {
        let mut p: Vec<&str> = prefix.to_vec();
        p.push(field);
        p.join(".")
    };
    let text =
        |errors: &mut Vec<UserError>, field: &str, what: &str, value: &Option<String>, max| {
            input::required(
                errors,
                &path(field),
                what,
                value.as_deref().unwrap_or(""),
                max,
            )
        };
    let recipient = text(
        &mut errors,
        "recipient",
        "a recipient",
        &given.recipient,
        input::NAME,
    );
    let street = text(
        &mut errors,
        "street",
        "a street address",
        &given.street,
        STREET,
    );
    let city = text(&mut errors, "city", "a city", &given.city, CITY);
    let province = text(
        &mut errors,
        "province",
        "a province",
        &given.province,
        input::PROVINCE,
    );
    let region_code = text(
        &mut errors,
        "regionCode",
        "a region",
        &given.region_code,
        input::KEY,
    );
    let field_of = |name: &str| -> Vec<String> {
        format!("input.{}", path(name))
            .split('.')
            .map(str::to_owned)
            .collect()
    };
    let error = |name: &str, code: UserErrorCode, message: &str| UserError {
        field: field_of(name),
        message: message.to_owned(),
        code,
    };
    let phone = match given.phone.as_deref().map(moroccan_phone) {
        Some(Some(p)) => p,
        _ => {
            errors.push(error(
                "phone",
                UserErrorCode::Invalid,
                "Give a Moroccan phone number, e.g. 06 61 23 45 67 or +212 661 234 567.",
            ));
            String::new()
        }
    };
    let postal_code = match given.postal_code.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) if code.len() == 5 && code.chars().all(|c| c.is_ascii_digit()) => {
            Some(code.to_owned())
        }
        Some(_) => {
            errors.push(error(
                "postalCode",
                UserErrorCode::Invalid,
                "A Moroccan postal code has five digits.",
            ));
            None
        }
    };
    let mut canonical_province = province.clone();
    if !region_code.is_empty() {
        if region::Entity::find_by_id(region_code.clone())
            .one(db)
            .await?
            .is_none()
        {
            errors.push(error(
                "regionCode",
                UserErrorCode::NotFound,
                "No such region (codes MA-01 to MA-12, see `regions`).",
            ));
        } else if !province.is_empty() {
            let provinces = province::Entity::find()
                .filter(province::Column::RegionCode.eq(region_code.clone()))
                .all(db)
                .await?;
            let wanted = province.to_lowercase();
            match provinces.iter().find(|p| p.name.to_lowercase() == wanted) {
                Some(p) => canonical_province = p.name.clone(),
                None => errors.push(error(
                    "province",
                    UserErrorCode::NotFound,
                    "This region has no such province (see the region's `provinces`).",
                )),
            }
        }
    }
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }
    Ok(AddressFields {
        recipient,
        phone,
        street,
        city,
        province: canonical_province,
        region_code,
        postal_code,
    })
}

/// A customer's addresses, the default one first, then oldest first.
pub async fn list(db: &impl ConnectionTrait, user_id: i32) -> AppResult<Vec<address::Model>> {
    Ok(address::Entity::find()
        .filter(address::Column::UserId.eq(user_id))
        .order_by_desc(address::Column::IsDefault)
        .order_by_asc(address::Column::Id)
        .all(db)
        .await?)
}

/// One of `user_id`'s addresses; `NOT_FOUND` on `field` for another's or a missing one.
pub async fn own(
    db: &impl ConnectionTrait,
    user_id: i32,
    id: i32,
    field: &[&str],
) -> AppResult<address::Model> {
    address::Entity::find_by_id(id)
        .filter(address::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::user(UserErrorCode::NotFound, field, "No such address."))
}

async fn clear_default(db: &impl ConnectionTrait, user_id: i32) -> AppResult<()> {
    address::Entity::update_many()
        .col_expr(address::Column::IsDefault, Expr::value(false))
        .filter(address::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Adds an address to `user_id`'s book (in the caller's transaction). The first one is
/// the default; `make_default` makes a later one the default.
pub async fn create(
    txn: &impl ConnectionTrait,
    user_id: i32,
    given: &AddressInput,
    make_default: bool,
) -> AppResult<address::Model> {
    let fields = check(txn, given, &["address"]).await?;
    let count = address::Entity::find()
        .filter(address::Column::UserId.eq(user_id))
        .count(txn)
        .await?;
    if count >= MAX_ADDRESSES {
        return Err(AppError::user(
            UserErrorCode::Invalid,
            &["address"],
            format!("An address book holds at most {MAX_ADDRESSES} addresses."),
        ));
    }
    let is_default = make_default || count == 0;
    if is_default {
        clear_default(txn, user_id).await?;
    }
    let now = Utc::now();
    Ok(address::ActiveModel {
        user_id: Set(user_id),
        recipient: Set(fields.recipient),
        phone: Set(fields.phone),
        street: Set(fields.street),
        city: Set(fields.city),
        province: Set(fields.province),
        region_code: Set(fields.region_code),
        postal_code: Set(fields.postal_code),
        is_default: Set(is_default),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?)
}

/// Changes the fields given of one of `user_id`'s addresses; the result is checked whole.
pub async fn update(
    txn: &impl ConnectionTrait,
    user_id: i32,
    id: i32,
    patch: &AddressInput,
    make_default: bool,
) -> AppResult<address::Model> {
    let row = own(txn, user_id, id, &["id"]).await?;
    let current = AddressFields::of(&row);
    let merged = AddressInput {
        recipient: patch.recipient.clone().or(Some(current.recipient)),
        phone: patch.phone.clone().or(Some(current.phone)),
        street: patch.street.clone().or(Some(current.street)),
        city: patch.city.clone().or(Some(current.city)),
        province: patch.province.clone().or(Some(current.province)),
        region_code: patch.region_code.clone().or(Some(current.region_code)),
        postal_code: patch.postal_code.clone().or(current.postal_code),
    };
    let fields = check(txn, &merged, &["address"]).await?;
    if make_default {
        clear_default(txn, user_id).await?;
    }
    let mut active: address::ActiveModel = row.into();
    active.recipient = Set(fields.recipient);
    active.phone = Set(fields.phone);
    active.street = Set(fields.street);
    active.city = Set(fields.city);
    active.province = Set(fields.province);
    active.region_code = Set(fields.region_code);
    active.postal_code = Set(fields.postal_code);
    if make_default {
        active.is_default = Set(true);
    }
    active.updated_at = Set(Utc::now());
    Ok(active.update(txn).await?)
}

/// Removes one of `user_id`'s addresses (orders keep their own snapshots). If it was the
/// default, the oldest remaining address becomes the default.
pub async fn delete(txn: &impl ConnectionTrait, user_id: i32, id: i32) -> AppResult<i32> {
    let row = own(txn, user_id, id, &["id"]).await?;
    address::Entity::delete_by_id(row.id).exec(txn).await?;
    if row.is_default
        && let Some(next) = address::Entity::find()
            .filter(address::Column::UserId.eq(user_id))
            .order_by_asc(address::Column::Id)
            .one(txn)
            .await?
    {
        let mut active: address::ActiveModel = next.into();
        active.is_default = Set(true);
        active.update(txn).await?;
    }
    Ok(row.id)
}

#[cfg(test)]
mod tests {
    use super::moroccan_phone;

    #[test]
    fn moroccan_phone_numbers_are_read_in_their_usual_forms() {
        for written in [
            "06 61 23 45 67",
            "0661-234567",
            "+212 661 234 567",
            "+212 (0)6 61 23 45 67",
            "00212661234567",
        ] {
            assert_eq!(
                moroccan_phone(written).as_deref(),
                Some("+212661234567"),
                "{written}"
            );
        }
        assert_eq!(
            moroccan_phone("0522 12 34 56").as_deref(),
            Some("+212522123456")
        );
        for bad in [
            "661234567",
            "06 61 23 45",
            "+33 6 12 34 56 78",
            "0161234567",
            "call me",
        ] {
            assert_eq!(moroccan_phone(bad), None, "{bad}");
        }
    }
}
