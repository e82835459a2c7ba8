//! What may be sold. The rules are one table, [`REQUIREMENTS`]: a product is sellable
//! when it is active, its cooperative is not suspended, and — if its cooperative's kind
//! needs one — the cooperative holds a valid certification of an accepted type covering
//! it. "Valid" means issued on or before today, not revoked, and not past its expiry date
//! (it is valid through `expires_on`), "today" being the date in the market's time zone.

use crate::domain::enums::{CertificationType, CooperativeKind, CooperativeStatus};
use crate::entities::{certification, certification_product, cooperative, product};
use chrono::NaiveDate;
use sea_orm::Condition;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Query};

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

fn cp() -> Alias {
    Alias::new("cp")
}

/// Condition, over `certifications` aliased `c`, that `c` is valid on `today`.
fn valid_on(today: NaiveDate) -> Condition {
    Condition::all()
        .add(Expr::col((c(), certification::Column::RevokedAt)).is_null())
        .add(Expr::col((c(), certification::Column::IssuedOn)).lte(today))
        .add(
            Condition::any()
                .add(Expr::col((c(), certification::Column::ExpiresOn)).is_null())
                .add(Expr::col((c(), certification::Column::ExpiresOn)).gte(today)),
        )
}

/// `+"products"."column"`: the column as an expression no index can serve. Without it,
/// SQLite answers the `OR` of `IN` lists below by fetching every matching product through
/// `ix_products_cooperative` and sorting them all, where a listing should walk the index
/// of its order and stop after a page (measured: 7.4 ms instead of 3.5 ms a page). The
/// unary plus changes no value, and PostgreSQL hashes the lists either way.
fn unindexed(column: &str) -> Expr {
    Expr::cust(format!("+\"products\".\"{column}\""))
}

/// Condition on `products` that a certification `c` meeting `holds` (a condition over
/// `certifications c` joined to its holder `cooperatives co`) covers the product: `c`
/// covers all its holder's products, or lists this one.
///
/// Written as two `IN` lists that do not depend on the product row, so the database
/// computes each once per query instead of once per product (a correlated `EXISTS`
/// chain cost 6–13 ms a catalog page on PostgreSQL; this form under 1 ms, BENCHMARKS.md).
fn covered_by(holds: Condition) -> Condition {
    let holders = || {
        Query::select()
            .from_as(certification::Entity, c())
            .inner_join(
                cooperative::Entity,
                Expr::col((cooperative::Entity, cooperative::Column::Id))
                    .equals((c(), certification::Column::CooperativeId)),
            )
            .cond_where(holds.clone())
            .to_owned()
    };
    let whole_cooperatives = holders()
        .column((c(), certification::Column::CooperativeId))
        .and_where(Expr::col((c(), certification::Column::CoversAllProducts)).eq(true))
        .to_owned();
    let listed_products = holders()
        .column((cp(), certification_product::Column::ProductId))
        .column((c(), certification::Column::CooperativeId))
        .join_as(
            JoinType::InnerJoin,
            certification_product::Entity,
            cp(),
            Expr::col((cp(), certification_product::Column::CertificationId))
                .equals((c(), certification::Column::Id)),
        )
        .to_owned();
    Condition::any()
        .add(unindexed("cooperative_id").in_subquery(whole_cooperatives))
        .add(
            Expr::tuple([unindexed("id"), unindexed("cooperative_id")])
                .in_subquery(listed_products),
        )
}

/// Condition on `products` that the product is sellable on `today`: the same rules as
/// [`assess`], evaluated by the database so lists can filter and count on it.
pub fn sellable_condition(today: NaiveDate) -> Condition {
    let unsuspended = || {
        Expr::col((cooperative::Entity, cooperative::Column::Status))
            .ne(CooperativeStatus::Suspended.as_str())
    };
    let free_kinds: Vec<&str> = CooperativeKind::all()
        .iter()
        .filter(|k| requirement_for(**k).is_none())
        .map(|k| k.as_str())
        .collect();
    let needing_nothing = Query::select()
        .column(cooperative::Column::Id)
        .from(cooperative::Entity)
        .and_where(unsuspended())
        .and_where(Expr::col((cooperative::Entity, cooperative::Column::Kind)).is_in(free_kinds))
        .to_owned();
    // A certification counts when its type is one its holder's kind accepts.
    let mut accepted = Condition::any();
    for req in REQUIREMENTS {
        accepted = accepted.add(
            Condition::all()
                .add(
                    Expr::col((cooperative::Entity, cooperative::Column::Kind))
                        .eq(req.kind.as_str()),
                )
                .add(
                    Expr::col((c(), certification::Column::Type))
                        .is_in(req.accepted.iter().map(|t| t.as_str())),
                ),
        );
    }
    Condition::all()
        .add(Expr::col((product::Entity, product::Column::Active)).eq(true))
        .add(
            Condition::any()
                .add(unindexed("cooperative_id").in_subquery(needing_nothing))
                .add(covered_by(
                    Condition::all()
                        .add(unsuspended())
                        .add(accepted)
                        .add(valid_on(today)),
                )),
        )
}

/// Condition on `products` that a valid certification of `cert_type` covers it.
pub fn certified_condition(cert_type: CertificationType, today: NaiveDate) -> Condition {
    covered_by(
        Condition::all()
            .add(Expr::col((c(), certification::Column::Type)).eq(cert_type.as_str()))
            .add(valid_on(today)),
    )
}
