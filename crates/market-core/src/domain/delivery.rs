//! Delivery: the zones fees depend on (a city, a region, or anywhere — data, not code),
//! the methods managers offer (pickup at the market, home delivery) with a fee and an
//! estimated window per zone and a threshold above which delivery is free, and the quote
//! of a method for an address. The fee is the market's revenue: it is added to an order's
//! total, never to an order line, so no payout or sales analytic ever sees it.

use crate::domain::addresses::AddressFields;
use crate::domain::enums::DeliveryKind;
use crate::domain::input;
use crate::entities::{delivery_method, delivery_rate, delivery_zone};
use crate::error::{AppError, AppResult, UserError, UserErrorCode};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};

/// Longest estimated window, in days.
pub const MAX_DAYS: i32 = 60;

/// What a method costs and takes for one address.
#[derive(Debug, Clone)]
pub struct Quote {
    pub method: delivery_method::Model,
    /// The zone whose rate applies.
    pub zone: delivery_zone::Model,
    /// The zone's fee, before the free-delivery threshold.
    pub rate_cents: i64,
    pub min_days: i32,
    pub max_days: i32,
}

impl Quote {
    /// The fee of an order whose lines come to `subtotal_cents`: nothing at or above the
    /// method's threshold, else the zone's rate.
    pub fn fee_for(&self, subtotal_cents: i64) -> i64 {
        match self.method.free_above_cents {
            Some(threshold) if subtotal_cents >= threshold => 0,
            _ => self.rate_cents,
        }
    }
}

/// How well `zone` matches `address`: `None` if it does not; more for a more specific zone
/// (a city beats a region beats anywhere). Without an address only "anywhere" matches.
fn specificity(zone: &delivery_zone::Model, address: Option<&AddressFields>) -> Option<u8> {
    let same = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
    let region_ok = match (&zone.region_code, address) {
        (None, _) => true,
        (Some(code), Some(a)) => *code == a.region_code,
        (Some(_), None) => false,
    };
    let city_ok = match (&zone.city, address) {
        (None, _) => true,
        (Some(city), Some(a)) => same(city, &a.city),
        (Some(_), None) => false,
    };
    (region_ok && city_ok)
        .then(|| u8::from(zone.region_code.is_some()) + 2 * u8::from(zone.city.is_some()))
}

/// Every zone, in id order.
pub async fn zones(db: &impl ConnectionTrait) -> AppResult<Vec<delivery_zone::Model>> {
    Ok(delivery_zone::Entity::find()
        .order_by_asc(delivery_zone::Column::Id)
        .all(db)
        .await?)
}

/// Every method (`active_only`: the ones offered), in id order.
pub async fn methods(
    db: &impl ConnectionTrait,
    active_only: bool,
) -> AppResult<Vec<delivery_method::Model>> {
    let mut select = delivery_method::Entity::find().order_by_asc(delivery_method::Column::Id);
    if active_only {
        select = select.filter(delivery_method::Column::Active.eq(true));
    }
    Ok(select.all(db).await?)
}

/// The rates of the methods among `ids`, each with its zone.
pub async fn rates_of(
    db: &impl ConnectionTrait,
    ids: Vec<i32>,
) -> AppResult<Vec<(delivery_rate::Model, delivery_zone::Model)>> {
    let rates = delivery_rate::Entity::find()
        .filter(delivery_rate::Column::MethodId.is_in(ids))
        .order_by_asc(delivery_rate::Column::MethodId)
        .order_by_asc(delivery_rate::Column::ZoneId)
        .all(db)
        .await?;
    let zones = zones(db).await?;
    Ok(rates
        .into_iter()
        .filter_map(|r| {
            let zone = zones.iter().find(|z| z.id == r.zone_id)?.clone();
            Some((r, zone))
        })
        .collect())
}

fn best_quote(
    method: &delivery_method::Model,
    rates: &[(delivery_rate::Model, delivery_zone::Model)],
    address: Option<&AddressFields>,
) -> Option<Quote> {
    if method.kind == DeliveryKind::HomeDelivery && address.is_none() {
        return None;
    }
    rates
        .iter()
        .filter(|(r, _)| r.method_id == method.id)
        .filter_map(|(r, z)| specificity(z, address).map(|s| (s, r, z)))
        .max_by_key(|(s, _, _)| *s)
        .map(|(_, r, z)| Quote {
            method: method.clone(),
            zone: z.clone(),
            rate_cents: r.fee_cents,
            min_days: r.min_days,
            max_days: r.max_days,
        })
}

/// The methods offered for `address` (pickup needs none; home delivery needs one in a
/// zone it serves), with their quotes, in method id order.
pub async fn options(
    db: &impl ConnectionTrait,
    address: Option<&AddressFields>,
) -> AppResult<Vec<Quote>> {
    let methods = methods(db, true).await?;
    let rates = rates_of(db, methods.iter().map(|m| m.id).collect()).await?;
    Ok(methods
        .iter()
        .filter_map(|m| best_quote(m, &rates, address))
        .collect())
}

/// The quote of method `method_id` for `address`, or why it cannot be used: `NOT_FOUND`,
/// `DELIVERY_UNAVAILABLE` (inactive, or the address is outside its zones), `INVALID`
/// (home delivery without an address). Errors name `field`.
pub async fn quote(
    db: &impl ConnectionTrait,
    method_id: i32,
    address: Option<&AddressFields>,
    field: &[&str],
) -> AppResult<Quote> {
    let method = delivery_method::Entity::find_by_id(method_id)
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::user(UserErrorCode::NotFound, field, "No such delivery method.")
        })?;
    if !method.active {
        return Err(AppError::user(
            UserErrorCode::DeliveryUnavailable,
            field,
            format!("{} is not offered at the moment.", method.name),
        ));
    }
    if method.kind == DeliveryKind::HomeDelivery && address.is_none() {
        return Err(AppError::user(
            UserErrorCode::Invalid,
            &["shippingAddress"],
            format!("{} needs a shipping address.", method.name),
        ));
    }
    let rates = rates_of(db, vec![method.id]).await?;
    best_quote(&method, &rates, address).ok_or_else(|| {
        AppError::user(
            UserErrorCode::DeliveryUnavailable,
            field,
            format!("{} does not serve this address.", method.name),
        )
    })
}

/// A method's fee and window in one zone, as a manager sets it.
#[derive(Debug, Clone)]
pub struct RateInput {
    pub zone_code: String,
    pub fee_cents: i64,
    pub min_days: i32,
    pub max_days: i32,
}

/// A delivery method to create or change (`None`: keep; for `free_above_cents`,
/// `Some(None)` removes the threshold; `rates` replaces them all).
#[derive(Debug, Clone, Default)]
pub struct MethodInput {
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<DeliveryKind>,
    pub active: Option<bool>,
    pub free_above_cents: Option<Option<i64>>,
    pub rates: Option<Vec<RateInput>>,
}

async fn check_rates(
    db: &impl ConnectionTrait,
    errors: &mut Vec<UserError>,
    rates: &[RateInput],
) -> AppResult<Vec<(i32, RateInput)>> {
    let zones = zones(db).await?;
    let mut checked: Vec<(i32, RateInput)> = Vec::with_capacity(rates.len());
    for (index, rate) in rates.iter().enumerate() {
        let index = index.to_string();
        let at = |field: &str| -> Vec<String> {
            ["input", "rates", index.as_str(), field]
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        };
        let Some(zone) = zones.iter().find(|z| z.code == rate.zone_code) else {
            errors.push(UserError {
                field: at("zoneCode"),
                message: "No such delivery zone (see `deliveryZones`).".into(),
                code: UserErrorCode::NotFound,
            });
            continue;
        };
        if checked.iter().any(|(id, _)| *id == zone.id) {
            errors.push(UserError {
                field: at("zoneCode"),
                message: "One rate per zone.".into(),
                code: UserErrorCode::Duplicate,
            });
        }
        if rate.fee_cents < 0 {
            errors.push(UserError {
                field: at("fee"),
                message: "A fee is not negative.".into(),
                code: UserErrorCode::InvalidAmount,
            });
        }
        if !(0..=MAX_DAYS).contains(&rate.min_days)
            || !(rate.min_days..=MAX_DAYS).contains(&rate.max_days)
        {
            errors.push(UserError {
                field: at("maxDays"),
                message: format!("A window is 0 to {MAX_DAYS} days, its end not before its start."),
                code: UserErrorCode::InvalidRange,
            });
        }
        checked.push((zone.id, rate.clone()));
    }
    Ok(checked)
}

/// Creates a method (managers; in the caller's transaction).
pub async fn create_method(
    txn: &impl ConnectionTrait,
    given: MethodInput,
) -> AppResult<delivery_method::Model> {
    let mut errors = Vec::new();
    let code = input::required(
        &mut errors,
        "code",
        "a code",
        given.code.as_deref().unwrap_or(""),
        64,
    );
    let name = input::required(
        &mut errors,
        "name",
        "a name",
        given.name.as_deref().unwrap_or(""),
        input::NAME,
    );
    if given.kind.is_none() {
        input::required_fields(&mut errors, [(true, "kind")]);
    }
    let threshold = given.free_above_cents.flatten();
    check_threshold(&mut errors, threshold);
    let rates = check_rates(txn, &mut errors, given.rates.as_deref().unwrap_or(&[])).await?;
    if !code.is_empty()
        && delivery_method::Entity::find()
            .filter(delivery_method::Column::Code.eq(code.clone()))
            .count(txn)
            .await?
            > 0
    {
        errors.push(UserError::new(
            UserErrorCode::Duplicate,
            &["code"],
            "Another delivery method has this code.",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }
    let now = Utc::now();
    let method = delivery_method::ActiveModel {
        code: Set(code),
        name: Set(name),
        kind: Set(given.kind.unwrap_or(DeliveryKind::Pickup)),
        active: Set(given.active.unwrap_or(true)),
        free_above_cents: Set(threshold),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    replace_rates(txn, method.id, rates).await?;
    Ok(method)
}

fn check_threshold(errors: &mut Vec<UserError>, threshold: Option<i64>) {
    if threshold.is_some_and(|t| t < 0) {
        errors.push(UserError::new(
            UserErrorCode::InvalidAmount,
            &["freeAbove"],
            "A threshold is not negative.",
        ));
    }
}

async fn replace_rates(
    txn: &impl ConnectionTrait,
    method_id: i32,
    rates: Vec<(i32, RateInput)>,
) -> AppResult<()> {
    delivery_rate::Entity::delete_many()
        .filter(delivery_rate::Column::MethodId.eq(method_id))
        .exec(txn)
        .await?;
    if rates.is_empty() {
        return Ok(());
    }
    delivery_rate::Entity::insert_many(rates.into_iter().map(|(zone_id, r)| {
        delivery_rate::ActiveModel {
            method_id: Set(method_id),
            zone_id: Set(zone_id),
            fee_cents: Set(r.fee_cents),
            min_days: Set(r.min_days),
            max_days: Set(r.max_days),
        }
    }))
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Changes a method (managers; in the caller's transaction). Orders placed before keep
/// the fee they were quoted.
pub async fn update_method(
    txn: &impl ConnectionTrait,
    id: i32,
    given: MethodInput,
) -> AppResult<delivery_method::Model> {
    let method = delivery_method::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| {
            AppError::user(UserErrorCode::NotFound, &["id"], "No such delivery method.")
        })?;
    let mut errors = Vec::new();
    let name = given
        .name
        .as_deref()
        .map(|n| input::required(&mut errors, "name", "a name", n, input::NAME));
    if let Some(threshold) = given.free_above_cents {
        check_threshold(&mut errors, threshold);
    }
    let rates = match &given.rates {
        Some(rates) => Some(check_rates(txn, &mut errors, rates).await?),
        None => None,
    };
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }
    let mut active: delivery_method::ActiveModel = method.into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(on) = given.active {
        active.active = Set(on);
    }
    if let Some(threshold) = given.free_above_cents {
        active.free_above_cents = Set(threshold);
    }
    active.updated_at = Set(Utc::now());
    let method = active.update(txn).await?;
    if let Some(rates) = rates {
        replace_rates(txn, method.id, rates).await?;
    }
    Ok(method)
}

/// The market's delivery offer on a new database: pickup at the market in Casablanca
/// (free), and home delivery priced by zone — Casablanca, the rest of Casablanca–Settat,
/// the other regions — free from 500 MAD. Managers change it afterwards; nothing is done
/// once any zone exists.
pub async fn seed(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    if delivery_zone::Entity::find().count(db).await? > 0 {
        return Ok(());
    }
    let zone = |code: &str, name: &str, region: Option<&str>, city: Option<&str>| {
        delivery_zone::ActiveModel {
            code: Set(code.to_owned()),
            name: Set(name.to_owned()),
            region_code: Set(region.map(str::to_owned)),
            city: Set(city.map(str::to_owned)),
            ..Default::default()
        }
    };
    let casablanca = zone(
        "CASABLANCA",
        "Casablanca",
        Some("MA-06"),
        Some("Casablanca"),
    )
    .insert(db)
    .await?;
    let region = zone(
        "CASABLANCA_SETTAT",
        "Other cities of Casablanca–Settat",
        Some("MA-06"),
        None,
    )
    .insert(db)
    .await?;
    let morocco = zone("MOROCCO", "The other regions of Morocco", None, None)
        .insert(db)
        .await?;
    let now = Utc::now();
    let method = |code: &str, name: &str, kind, free_above| delivery_method::ActiveModel {
        code: Set(code.to_owned()),
        name: Set(name.to_owned()),
        kind: Set(kind),
        active: Set(true),
        free_above_cents: Set(free_above),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let pickup = method(
        "PICKUP_CASABLANCA",
        "Pickup at the Solidarity Market, Casablanca",
        DeliveryKind::Pickup,
        None,
    )
    .insert(db)
    .await?;
    let home = method(
        "HOME_DELIVERY",
        "Home delivery",
        DeliveryKind::HomeDelivery,
        Some(50_000),
    )
    .insert(db)
    .await?;
    let rate = |method_id, zone_id, fee_cents, min_days, max_days| delivery_rate::ActiveModel {
        method_id: Set(method_id),
        zone_id: Set(zone_id),
        fee_cents: Set(fee_cents),
        min_days: Set(min_days),
        max_days: Set(max_days),
    };
    delivery_rate::Entity::insert_many([
        rate(pickup.id, morocco.id, 0, 0, 1),
        rate(home.id, casablanca.id, 2_000, 1, 2),
        rate(home.id, region.id, 3_000, 2, 3),
        rate(home.id, morocco.id, 4_500, 3, 6),
    ])
    .exec_without_returning(db)
    .await?;
    Ok(())
}
