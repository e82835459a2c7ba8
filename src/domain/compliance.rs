//! What may be sold. The rules are one table, [`REQUIREMENTS`]: a product is sellable
//! when it is active, its cooperative is not suspended, and — if its cooperative's kind
//! needs one — the cooperative holds a valid certification of an accepted type covering
//! it. "Valid" means issued on or before today, not revoked, and not past its expiry date
//! (it is valid through `expires_on`), "today" being the date in the market's time zone.

use crate::domain::enums::{CertificationType, CooperativeKind, CooperativeStatus};
use crate::entities::{certification, certification_product, cooperative, product};
use chrono::NaiveDate;
use sea_orm::Condition;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SimpleExpr};

/// What a kind of cooperative must hold for its products to be sold.
pub struct Requirement {
    pub kind: CooperativeKind,
    /// Any one of these, valid and covering the product, suffices.
    pub accepted: &'static [CertificationType],
    /// The issue code when none is held at all.
    pub missing: IssueCode,
    /// How the requirement reads in messages.
    pub label: &'static str,
}

/// The compliance rules of the market. Kinds absent from this table need nothing.
pub const REQUIREMENTS: &[Requirement] = &[
    Requirement {
        kind: CooperativeKind::Terroir,
        accepted: &[
            CertificationType::OnssaAuthorization,
            CertificationType::OnssaApproval,
        ],
        missing: IssueCode::MissingOnssaAuthorization,
        label: "an ONSSA sanitary authorization or approval",
    },
    Requirement {
        kind: CooperativeKind::Cosmetics,
        accepted: &[
            CertificationType::DmpAuthorization,
            CertificationType::Iso22716,
        ],
        missing: IssueCode::MissingDmpAuthorization,
        label: "a DMP authorization or ISO 22716 certification",
    },
];

/// The requirement of a kind, if it has one.
pub fn requirement_for(kind: CooperativeKind) -> Option<&'static Requirement> {
    REQUIREMENTS.iter().find(|r| r.kind == kind)
}

/// Why a product cannot be sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueCode {
    MissingOnssaAuthorization,
    MissingDmpAuthorization,
    CertificationExpired,
    CertificationRevoked,
    CertificationNotYetValid,
    CooperativeSuspended,
    ProductInactive,
}

/// One reason a product is not sellable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceIssue {
    pub code: IssueCode,
    pub message: String,
}

/// Whether `cert` is in force on `today`.
pub fn is_valid(cert: &certification::Model, today: NaiveDate) -> bool {
    cert.revoked_at.is_none()
        && cert.issued_on <= today
        && cert.expires_on.is_none_or(|end| today <= end)
}

/// The reasons `product` cannot be sold on `today`; empty when it can. `certs` are the
/// certifications of its cooperative that cover it.
pub fn assess(
    product: &product::Model,
    cooperative: &cooperative::Model,
    covering: &[&certification::Model],
    today: NaiveDate,
) -> Vec<ComplianceIssue> {
    let mut issues = Vec::new();
    if !product.active {
        issues.push(ComplianceIssue {
            code: IssueCode::ProductInactive,
            message: "The product is not active.".into(),
        });
    }
    if cooperative.status == CooperativeStatus::Suspended {
        issues.push(ComplianceIssue {
            code: IssueCode::CooperativeSuspended,
            message: format!("The cooperative {} is suspended.", cooperative.name),
        });
    }
    if let Some(req) = requirement_for(cooperative.kind) {
        let candidates: Vec<_> = covering
            .iter()
            .filter(|c| req.accepted.contains(&c.r#type))
            .collect();
        if !candidates.iter().any(|c| is_valid(c, today)) {
            let needs = format!("{} products need {}", kind_label(req.kind), req.label);
            let issue = if let Some(c) = candidates.iter().find(|c| c.revoked_at.is_some()) {
                ComplianceIssue {
                    code: IssueCode::CertificationRevoked,
                    message: format!("{} {} was revoked; {needs}.", c.r#type, c.number),
                }
            } else if let Some(c) = candidates
                .iter()
                .filter(|c| c.expires_on.is_some_and(|e| e < today))
                .max_by_key(|c| c.expires_on)
            {
                ComplianceIssue {
                    code: IssueCode::CertificationExpired,
                    message: format!(
                        "{} {} expired on {}; {needs}.",
                        c.r#type,
                        c.number,
                        c.expires_on.unwrap_or(today)
                    ),
                }
            } else if let Some(c) = candidates.iter().find(|c| c.issued_on > today) {
                ComplianceIssue {
                    code: IssueCode::CertificationNotYetValid,
                    message: format!(
                        "{} {} is only valid from {}; {needs}.",
                        c.r#type, c.number, c.issued_on
                    ),
                }
            } else {
                ComplianceIssue {
                    code: req.missing,
                    message: format!("No certification covers this product: {needs}."),
                }
            };
            issues.push(issue);
        }
    }
    issues
}

fn kind_label(kind: CooperativeKind) -> &'static str {
    match kind {
        CooperativeKind::Terroir => "Terroir (food)",
        CooperativeKind::Cosmetics => "Cosmetics",
        CooperativeKind::Handicrafts => "Handicrafts",
    }
}

fn c() -> Alias {
    Alias::new("c")
}

fn co() -> Alias {
    Alias::new("co")
}

/// Condition, over `certifications` aliased `c`, that `c` is valid on `today` and covers
/// the product of the enclosing query (`products.id`).
fn valid_and_covering(today: NaiveDate) -> Condition {
    let listed = Query::select()
        .expr(Expr::val(1))
        .from_as(certification_product::Entity, Alias::new("cp"))
        .and_where(
            Expr::col((
                Alias::new("cp"),
                certification_product::Column::CertificationId,
            ))
            .equals((c(), certification::Column::Id)),
        )
        .and_where(
            Expr::col((Alias::new("cp"), certification_product::Column::ProductId))
                .equals((product::Entity, product::Column::Id)),
        )
        .to_owned();
    Condition::all()
        .add(Expr::col((c(), certification::Column::RevokedAt)).is_null())
        .add(Expr::col((c(), certification::Column::IssuedOn)).lte(today))
        .add(
            Condition::any()
                .add(Expr::col((c(), certification::Column::ExpiresOn)).is_null())
                .add(Expr::col((c(), certification::Column::ExpiresOn)).gte(today)),
        )
        .add(
            Condition::any()
                .add(Expr::col((c(), certification::Column::CoversAllProducts)).eq(true))
                .add(Expr::exists(listed)),
        )
}

/// `EXISTS` a valid certification of one of `types`, held by the cooperative `holder`
/// (a column of the enclosing query), covering the enclosing product.
fn holds_valid(holder: SimpleExpr, types: &[CertificationType], today: NaiveDate) -> SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from_as(certification::Entity, c())
            .and_where(Expr::col((c(), certification::Column::CooperativeId)).eq(holder))
            .and_where(
                Expr::col((c(), certification::Column::Type))
                    .is_in(types.iter().map(|t| t.as_str())),
            )
            .cond_where(valid_and_covering(today))
            .to_owned(),
    )
}

/// Condition on `products` that the product is sellable on `today`: the same rules as
/// [`assess`], evaluated by the database so lists can filter and count on it.
pub fn sellable_condition(today: NaiveDate) -> Condition {
    let free_kinds: Vec<&str> = CooperativeKind::all()
        .iter()
        .filter(|k| requirement_for(**k).is_none())
        .map(|k| k.as_str())
        .collect();
    let mut certified =
        Condition::any().add(Expr::col((co(), cooperative::Column::Kind)).is_in(free_kinds));
    for req in REQUIREMENTS {
        certified = certified.add(
            Condition::all()
                .add(Expr::col((co(), cooperative::Column::Kind)).eq(req.kind.as_str()))
                .add(holds_valid(
                    Expr::col((co(), cooperative::Column::Id)),
                    req.accepted,
                    today,
                )),
        );
    }
    let cooperative_ok = Query::select()
        .expr(Expr::val(1))
        .from_as(cooperative::Entity, co())
        .and_where(
            Expr::col((co(), cooperative::Column::Id))
                .equals((product::Entity, product::Column::CooperativeId)),
        )
        .and_where(
            Expr::col((co(), cooperative::Column::Status))
                .ne(CooperativeStatus::Suspended.as_str()),
        )
        .cond_where(certified)
        .to_owned();
    Condition::all()
        .add(Expr::col((product::Entity, product::Column::Active)).eq(true))
        .add(Expr::exists(cooperative_ok))
}

/// Condition on `products` that a valid certification of `cert_type` covers it.
pub fn certified_condition(cert_type: CertificationType, today: NaiveDate) -> SimpleExpr {
    holds_valid(
        Expr::col((product::Entity, product::Column::CooperativeId)),
        &[cert_type],
        today,
    )
}
