//! Recording certifications (adding, correcting, revoking them) and reporting what they
//! leave unsold. The rules they serve are in [`crate::domain::compliance`]; nothing here
//! caches a verdict, so every change holds for the very next request.
//!
//! What a correction may change: the number, the issuer, the dates and the coverage. The
//! type and the holder may not change — that would be another certificate, and the
//! history of what covered a product would be lost: revoke it and add the new one. A
//! revoked certification is final: it can be neither corrected nor revoked again.

use crate::domain::compliance::{self, ComplianceIssue};
use crate::domain::enums::CertificationType;
use crate::entities::{certification, certification_product, cooperative, product};
use crate::error::{AppError, AppResult, UserError, UserErrorCode};
use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use std::collections::{BTreeSet, HashMap};

/// Longest certificate number (the column's width).
const MAX_NUMBER: usize = 80;
/// Longest issuer name (the column's width).
const MAX_ISSUER: usize = 200;
/// Longest revocation reason.
const MAX_REASON: usize = 2000;

/// A certification to record.
#[derive(Debug, Clone)]
pub struct NewCertification {
    pub cooperative_id: i32,
    pub cert_type: CertificationType,
    pub number: String,
    pub issuer: String,
    pub issued_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    /// The products covered; empty: every product of the cooperative, present and future.
    pub product_ids: Vec<i32>,
}

/// A correction of a certification; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CertificationChanges {
    pub number: Option<String>,
    pub issuer: Option<String>,
    pub issued_on: Option<NaiveDate>,
    /// `Some(None)` removes the expiry date.
    pub expires_on: Option<Option<NaiveDate>>,
    /// Replaces the coverage; `Some(vec![])` covers every product of the cooperative.
    pub product_ids: Option<Vec<i32>>,
}

fn check_range(errors: &mut Vec<UserError>, issued_on: NaiveDate, expires_on: Option<NaiveDate>) {
    if let Some(end) = expires_on
        && end < issued_on
    {
        errors.push(UserError::new(
            UserErrorCode::InvalidRange,
            &["expiresOn"],
            format!("The expiry date {end} comes before the issue date {issued_on}."),
        ));
    }
}

/// The distinct products of `ids`, after checking each exists and belongs to `holder`;
/// problems are reported on `productIds.<index>`.
async fn check_coverage(
    db: &impl ConnectionTrait,
    errors: &mut Vec<UserError>,
    holder: i32,
    ids: &[i32],
) -> AppResult<BTreeSet<i32>> {
    if ids.is_empty() {
        return Ok(BTreeSet::new());
    }
    let found: HashMap<i32, i32> = product::Entity::find()
        .filter(product::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.cooperative_id))
        .collect();
    for (index, id) in ids.iter().enumerate() {
        let field = ["productIds", &index.to_string()];
        match found.get(id) {
            None => errors.push(UserError::new(
                UserErrorCode::NotFound,
                &field,
                "No such product.",
            )),
            Some(owner) if *owner != holder => errors.push(UserError::new(
                UserErrorCode::Invalid,
                &field,
                "A certification covers only products of the cooperative holding it.",
            )),
            Some(_) => {}
        }
    }
    Ok(ids.iter().copied().collect())
}

/// Makes `products` the list coverage of certification `id` (no rows: all products).
async fn replace_coverage(
    db: &impl ConnectionTrait,
    id: i32,
    products: &BTreeSet<i32>,
) -> AppResult<()> {
    certification_product::Entity::delete_many()
        .filter(certification_product::Column::CertificationId.eq(id))
        .exec(db)
        .await?;
    if !products.is_empty() {
        certification_product::Entity::insert_many(products.iter().map(|p| {
            certification_product::ActiveModel {
                certification_id: Set(id),
                product_id: Set(*p),
            }
        }))
        .exec(db)
        .await?;
    }
    Ok(())
}

/// Records a certification; every problem with the input is reported at once.
#[tracing::instrument(skip_all, fields(cooperative_id = new.cooperative_id, cert_type = %new.cert_type, products = new.product_ids.len(), certification_id = tracing::field::Empty))]
pub async fn add(
    db: &impl ConnectionTrait,
    new: NewCertification,
) -> AppResult<certification::Model> {
    let mut errors = Vec::new();
    let number = crate::domain::input::required(
        &mut errors,
        "number",
        "a certificate number",
        &new.number,
        MAX_NUMBER,
    );
    let issuer =
        crate::domain::input::required(&mut errors, "issuer", "an issuer", &new.issuer, MAX_ISSUER);
    check_range(&mut errors, new.issued_on, new.expires_on);
    let holder = cooperative::Entity::find_by_id(new.cooperative_id)
        .one(db)
        .await?;
    if holder.is_none() {
        errors.push(UserError::new(
            UserErrorCode::NotFound,
            &["cooperativeId"],
            "No such cooperative.",
        ));
    }
    let products = check_coverage(db, &mut errors, new.cooperative_id, &new.product_ids).await?;
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }

    let now = Utc::now();
    let saved = certification::ActiveModel {
        cooperative_id: Set(new.cooperative_id),
        r#type: Set(new.cert_type),
        number: Set(number),
        issuer: Set(issuer),
        issued_on: Set(new.issued_on),
        expires_on: Set(new.expires_on),
        covers_all_products: Set(products.is_empty()),
        revoked_at: Set(None),
        revoked_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    replace_coverage(db, saved.id, &products).await?;
    tracing::Span::current().record("certification_id", saved.id);
    crate::domain::catalog_version::touch(db).await?;
    Ok(saved)
}

/// The certification `id`, or `NOT_FOUND`.
pub async fn find(db: &impl ConnectionTrait, id: i32) -> AppResult<certification::Model> {
    certification::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("No such certification.".into()))
}

fn revoked_error(cert: &certification::Model) -> UserError {
    UserError::new(
        UserErrorCode::InvalidStatus,
        &["id"],
        format!(
            "{} {} was revoked; record a new certification instead.",
            cert.r#type, cert.number
        ),
    )
}

/// Writes `changes` to certification `id` only if it is still unrevoked, so a
/// concurrent revocation cannot be overwritten.
async fn update_unrevoked(
    db: &impl ConnectionTrait,
    current: &certification::Model,
    changes: Vec<(certification::Column, sea_orm::sea_query::SimpleExpr)>,
) -> AppResult<()> {
    let mut update = certification::Entity::update_many()
        .col_expr(certification::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(certification::Column::Id.eq(current.id))
        .filter(certification::Column::RevokedAt.is_null());
    for (column, value) in changes {
        update = update.col_expr(column, value);
    }
    if update.exec(db).await?.rows_affected == 0 {
        return Err(AppError::User(vec![revoked_error(current)]));
    }
    // Validity and coverage decide what is sellable: a new catalog version.
    crate::domain::catalog_version::touch(db).await?;
    Ok(())
}

/// Corrects a certification (see the module's documentation for what may change).
#[tracing::instrument(skip(db, changes))]
pub async fn update(
    db: &impl ConnectionTrait,
    id: i32,
    changes: CertificationChanges,
) -> AppResult<certification::Model> {
    let current = find(db, id).await?;
    let mut errors = Vec::new();
    if current.revoked_at.is_some() {
        errors.push(revoked_error(&current));
    }
    let number = changes.number.as_deref().map(|n| {
        crate::domain::input::required(&mut errors, "number", "a certificate number", n, MAX_NUMBER)
    });
    let issuer = changes
        .issuer
        .as_deref()
        .map(|i| crate::domain::input::required(&mut errors, "issuer", "an issuer", i, MAX_ISSUER));
    let issued_on = changes.issued_on.unwrap_or(current.issued_on);
    let expires_on = changes.expires_on.unwrap_or(current.expires_on);
    check_range(&mut errors, issued_on, expires_on);
    let products = match &changes.product_ids {
        Some(ids) => Some(check_coverage(db, &mut errors, current.cooperative_id, ids).await?),
        None => None,
    };
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }

    let mut set = vec![
        (certification::Column::IssuedOn, Expr::value(issued_on)),
        (certification::Column::ExpiresOn, Expr::value(expires_on)),
    ];
    if let Some(n) = number {
        set.push((certification::Column::Number, Expr::value(n)));
    }
    if let Some(i) = issuer {
        set.push((certification::Column::Issuer, Expr::value(i)));
    }
    if let Some(p) = &products {
        set.push((
            certification::Column::CoversAllProducts,
            Expr::value(p.is_empty()),
        ));
    }
    update_unrevoked(db, &current, set).await?;
    if let Some(p) = &products {
        replace_coverage(db, id, p).await?;
    }
    find(db, id).await
}

/// Revokes a certification: it stops covering anything at once. `reason` is required.
#[tracing::instrument(skip(db, reason))]
pub async fn revoke(
    db: &impl ConnectionTrait,
    id: i32,
    reason: &str,
) -> AppResult<certification::Model> {
    let current = find(db, id).await?;
    let mut errors = Vec::new();
    if current.revoked_at.is_some() {
        errors.push(revoked_error(&current));
    }
    let reason =
        crate::domain::input::required(&mut errors, "reason", "a reason", reason, MAX_REASON);
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }
    update_unrevoked(
        db,
        &current,
        vec![
            (certification::Column::RevokedAt, Expr::value(Utc::now())),
            (certification::Column::RevokedReason, Expr::value(reason)),
        ],
    )
    .await?;
    find(db, id).await
}

/// The valid certifications whose last day falls between `today` and `until`, both
/// included: the ones to renew first. Sorted by `expiresOn`, then id.
pub fn expiring_query(
    today: NaiveDate,
    until: NaiveDate,
) -> sea_orm::Select<certification::Entity> {
    certification::Entity::find().filter(
        Condition::all()
            .add(certification::Column::RevokedAt.is_null())
            .add(certification::Column::IssuedOn.lte(today))
            .add(certification::Column::ExpiresOn.gte(today))
            .add(certification::Column::ExpiresOn.lte(until)),
    )
}

/// One cooperative's unsellable products, each with why.
pub struct CooperativeCompliance {
    pub cooperative: cooperative::Model,
    pub products: Vec<(product::Model, Vec<ComplianceIssue>)>,
}

/// Every product that cannot be sold on `today`, with its issues, grouped by cooperative
/// (cooperatives and products by name). The database finds the products with
/// [`compliance::sellable_condition`]; [`compliance::assess`] says why, over rows read in
/// four statements whatever the size of the catalog.
#[tracing::instrument(skip(db))]
pub async fn compliance_report(
    db: &impl ConnectionTrait,
    today: NaiveDate,
) -> AppResult<Vec<CooperativeCompliance>> {
    let products = product::Entity::find()
        .filter(compliance::sellable_condition(today).not())
        .order_by_asc(product::Column::Name)
        .order_by_asc(product::Column::Id)
        .all(db)
        .await?;
    if products.is_empty() {
        return Ok(Vec::new());
    }
    let coop_ids: BTreeSet<i32> = products.iter().map(|p| p.cooperative_id).collect();
    let cooperatives = cooperative::Entity::find()
        .filter(cooperative::Column::Id.is_in(coop_ids.iter().copied()))
        .order_by_asc(cooperative::Column::Name)
        .order_by_asc(cooperative::Column::Id)
        .all(db)
        .await?;
    let certs = certification::Entity::find()
        .filter(certification::Column::CooperativeId.is_in(coop_ids.iter().copied()))
        .order_by_asc(certification::Column::Id)
        .all(db)
        .await?;
    let listed_certs: Vec<i32> = certs
        .iter()
        .filter(|c| !c.covers_all_products)
        .map(|c| c.id)
        .collect();
    let listed: BTreeSet<(i32, i32)> = if listed_certs.is_empty() {
        BTreeSet::new()
    } else {
        certification_product::Entity::find()
            .filter(certification_product::Column::CertificationId.is_in(listed_certs))
            .all(db)
            .await?
            .into_iter()
            .map(|cp| (cp.certification_id, cp.product_id))
            .collect()
    };

    let mut by_coop: HashMap<i32, Vec<product::Model>> = HashMap::new();
    for p in products {
        by_coop.entry(p.cooperative_id).or_default().push(p);
    }
    let mut report = Vec::with_capacity(cooperatives.len());
    for coop in cooperatives {
        let held: Vec<&certification::Model> = certs
            .iter()
            .filter(|c| c.cooperative_id == coop.id)
            .collect();
        let products = by_coop
            .remove(&coop.id)
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                let covering: Vec<&certification::Model> = held
                    .iter()
                    .copied()
                    .filter(|c| c.covers_all_products || listed.contains(&(c.id, p.id)))
                    .collect();
                let issues = compliance::assess(&p, &coop, &covering, today);
                (p, issues)
            })
            .collect();
        report.push(CooperativeCompliance {
            cooperative: coop,
            products,
        });
    }
    Ok(report)
}
