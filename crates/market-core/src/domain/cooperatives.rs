//! Onboarding and managing cooperatives (the back office), and the commission rates that
//! apply to them.

use crate::domain::enums::{CooperativeKind, CooperativeStatus};
use crate::domain::input;
use crate::domain::search::{normalize, slugify};
use crate::domain::set_if;
use crate::entities::{cooperative, province, region};
use crate::error::{AppError, AppResult, UserError, UserErrorCode};
use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    TryIntoModel,
};

/// Commission, in basis points, for cooperatives without a rate of their own.
pub fn default_commission_bp(kind: CooperativeKind) -> i32 {
    match kind {
        CooperativeKind::Terroir => 1500,
        CooperativeKind::Cosmetics => 2000,
        CooperativeKind::Handicrafts => 2500,
    }
}

/// The commission rate in force for a cooperative, in basis points.
pub fn commission_bp(coop: &cooperative::Model) -> i32 {
    coop.commission_rate_bp
        .unwrap_or_else(|| default_commission_bp(coop.kind))
}

/// Every field of a cooperative; `None` leaves a field unchanged on update (and takes
/// the default on creation).
#[derive(Debug, Default, Clone)]
pub struct CooperativeFields {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub kind: Option<CooperativeKind>,
    pub region_code: Option<String>,
    pub province: Option<String>,
    pub founded_on: Option<NaiveDate>,
    pub member_count: Option<i32>,
    pub women_led: Option<bool>,
    pub youth_led: Option<bool>,
    pub listed_since: Option<NaiveDate>,
    pub status: Option<CooperativeStatus>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    /// `Some(None)` resets to the default of the kind.
    pub commission_rate_bp: Option<Option<i32>>,
    pub payout_account: Option<String>,
}

fn invalid(field: &str, message: impl Into<String>) -> UserError {
    UserError::new(UserErrorCode::Invalid, &[field], message)
}

/// A Moroccan RIB: 24 digits (spaces allowed on input).
pub fn parse_rib(text: &str) -> Result<String, UserError> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == 24 && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(invalid("payoutAccount", "A RIB has 24 digits."))
    }
}

/// Validates `fields` over `current` (the stored cooperative, for updates) and writes
/// them; returns every problem at once as user errors.
#[tracing::instrument(skip_all, fields(cooperative_id = current.as_ref().map(|c| c.id)))]
pub async fn save(
    db: &impl ConnectionTrait,
    current: Option<cooperative::Model>,
    fields: CooperativeFields,
    today: NaiveDate,
) -> AppResult<cooperative::Model> {
    let mut errors = Vec::new();
    let creating = current.is_none();
    let name = fields
        .name
        .as_deref()
        .map(|n| input::required(&mut errors, "name", "a name", n, input::NAME));
    let description = input::description(&mut errors, fields.description.as_deref());
    if creating {
        input::required_fields(
            &mut errors,
            [
                (name.is_none(), "name"),
                (fields.kind.is_none(), "kind"),
                (fields.region_code.is_none(), "region"),
            ],
        );
    }
    let slug = match (&fields.slug, &name, creating) {
        (Some(s), _, _) => Some(s.trim().to_owned()),
        (None, Some(n), true) => Some(slugify(n)),
        _ => None,
    };
    if let Some(s) = &slug {
        let ok = !s.is_empty()
            && s.len() <= 120
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            errors.push(invalid(
                "slug",
                "A slug is 1 to 120 lowercase letters, digits and dashes.",
            ));
        } else {
            let taken = cooperative::Entity::find()
                .filter(cooperative::Column::Slug.eq(s.clone()))
                .filter(cooperative::Column::Id.ne(current.as_ref().map_or(0, |c| c.id)))
                .count(db)
                .await?;
            if taken > 0 {
                errors.push(UserError::new(
                    UserErrorCode::Duplicate,
                    &["slug"],
                    "Another cooperative uses this slug.",
                ));
            }
        }
    }
    let region_code = fields
        .region_code
        .clone()
        .or_else(|| current.as_ref().map(|c| c.region_code.clone()));
    if let Some(code) = &fields.region_code {
        let regions = region::Entity::find().all(db).await?;
        if !regions.iter().any(|r| &r.code == code) {
            let mut known: Vec<&str> = regions.iter().map(|r| r.code.as_str()).collect();
            known.sort_unstable();
            errors.push(UserError::new(
                UserErrorCode::NotFound,
                &["region"],
                format!(
                    "No region {}; the regions are {}.",
                    crate::domain::catalog::quoted(code),
                    known.join(", ")
                ),
            ));
        }
    }
    let mut province_id = current.as_ref().and_then(|c| c.province_id);
    if fields.region_code.is_some() && fields.province.is_none() {
        province_id = None;
    }
    let province = input::optional(
        &mut errors,
        "province",
        "a province",
        fields.province.as_deref(),
        input::PROVINCE,
        false,
    );
    if let (Some(name), Some(code)) = (&province, &region_code) {
        if name.is_empty() {
            province_id = None;
        } else {
            let found = province::Entity::find()
                .filter(province::Column::RegionCode.eq(code.clone()))
                .all(db)
                .await?
                .into_iter()
                .find(|p| normalize(&p.name) == normalize(name));
            match found {
                Some(p) => province_id = Some(p.id),
                None => errors.push(UserError::new(
                    UserErrorCode::NotFound,
                    &["province"],
                    format!(
                        "No province {} in region {code}.",
                        crate::domain::catalog::quoted(name)
                    ),
                )),
            }
        }
    }
    if let Some(n) = fields.member_count
        && !(0..=1_000_000).contains(&n)
    {
        errors.push(invalid("memberCount", "The member count is 0 or more."));
    }
    if let Some(Some(bp)) = fields.commission_rate_bp
        && !(0..=10_000).contains(&bp)
    {
        errors.push(invalid(
            "commissionRate",
            "A commission rate lies between 0 and 1.",
        ));
    }
    let payout_account = match fields.payout_account.as_deref().map(str::trim) {
        None => current.as_ref().and_then(|c| c.payout_account.clone()),
        Some("") => None,
        Some(text) => match parse_rib(text) {
            Ok(rib) => Some(rib),
            Err(e) => {
                errors.push(e);
                None
            }
        },
    };
    let contact_email = match fields.contact_email.as_deref().map(str::trim) {
        None => current.as_ref().and_then(|c| c.contact_email.clone()),
        Some("") => None,
        Some(text) => match input::email(text) {
            Some(e) => Some(e),
            None => {
                errors.push(UserError::new(
                    UserErrorCode::InvalidEmail,
                    &["contactEmail"],
                    "Enter a valid e-mail address.",
                ));
                None
            }
        },
    };
    let contact_phone = match fields.contact_phone.as_deref().map(str::trim) {
        None => current.as_ref().and_then(|c| c.contact_phone.clone()),
        Some("") => None,
        Some(text) => match input::phone(text) {
            Some(p) => Some(p),
            None => {
                errors.push(invalid(
                    "contactPhone",
                    "A phone number has 6 to 32 digits, spaces and + - . ( ).",
                ));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }

    let now = Utc::now();
    let mut model: cooperative::ActiveModel = match current {
        Some(c) => c.into(),
        None => cooperative::ActiveModel {
            description: Set(String::new()),
            member_count: Set(0),
            women_led: Set(false),
            youth_led: Set(false),
            listed_since: Set(today),
            status: Set(CooperativeStatus::Incubated),
            founded_on: Set(None),
            contact_phone: Set(None),
            commission_rate_bp: Set(None),
            created_at: Set(now),
            ..Default::default()
        },
    };
    if let Some(n) = name {
        model.search_text = Set(normalize(&n));
        model.name = Set(n);
    }
    set_if(&mut model.slug, slug);
    set_if(&mut model.description, description);
    set_if(&mut model.kind, fields.kind);
    set_if(&mut model.region_code, region_code);
    model.province_id = Set(province_id);
    set_if(&mut model.founded_on, fields.founded_on.map(Some));
    set_if(&mut model.member_count, fields.member_count);
    set_if(&mut model.women_led, fields.women_led);
    set_if(&mut model.youth_led, fields.youth_led);
    set_if(&mut model.listed_since, fields.listed_since);
    set_if(&mut model.status, fields.status);
    model.contact_phone = Set(contact_phone);
    set_if(&mut model.commission_rate_bp, fields.commission_rate_bp);
    model.contact_email = Set(contact_email);
    model.payout_account = Set(payout_account);
    model.updated_at = Set(now);
    let saved = model.save(db).await?;
    crate::domain::catalog_version::touch_texts(db).await?;
    Ok(saved.try_into_model()?)
}
