//! What may be sold. The rules are one table, [`REQUIREMENTS`]: a product is sellable
//! when it is active, its cooperative is not suspended, and — if its cooperative's kind
//! needs one — the cooperative holds a valid certification of an accepted type covering
//! it. "Valid" means issued on or before today, not revoked, and not past its expiry date
//! (it is valid through `expires_on`), "today" being the date in the market's time zone.

use crate::domain::enums::{CertificationType, CooperativeKind, CooperativeStatus};
use crate::entities::{certification, certification_product, cooperative, pack_component, product};
use chrono::NaiveDate;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Query};
use sea_orm::{ColumnTrait, Condition};

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
    /// In English (the API's base messages).
    pub message: String,
    /// What the message says, to write it in another language ([`ComplianceIssue::message_in`]).
    pub args: IssueArgs,
}

/// The values a compliance message is made of.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IssueArgs {
    /// The certification concerned: its type and number.
    pub certification: Option<(CertificationType, String)>,
    /// The date of an expiry or of a start of validity.
    pub date: Option<NaiveDate>,
    /// The kind whose requirement is not met.
    pub kind: Option<CooperativeKind>,
    /// The suspended cooperative's name.
    pub cooperative: Option<String>,
    /// The SKU of the pack component the issue is about (a pack's issues are its
    /// components'); the message starts with it.
    pub component: Option<String>,
}

impl IssueCode {
    /// The SCREAMING_SNAKE_CASE spelling, as in the schema and the message templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingOnssaAuthorization => "MISSING_ONSSA_AUTHORIZATION",
            Self::MissingDmpAuthorization => "MISSING_DMP_AUTHORIZATION",
            Self::CertificationExpired => "CERTIFICATION_EXPIRED",
            Self::CertificationRevoked => "CERTIFICATION_REVOKED",
            Self::CertificationNotYetValid => "CERTIFICATION_NOT_YET_VALID",
            Self::CooperativeSuspended => "COOPERATIVE_SUSPENDED",
            Self::ProductInactive => "PRODUCT_INACTIVE",
        }
    }
}

/// The messages in French and Arabic (`seed/data/i18n/compliance_messages.csv`): by key
/// (an issue code, `requirement:KIND` or `certification_type:TYPE`) and language.
fn templates() -> &'static std::collections::HashMap<(String, String), String> {
    static TEMPLATES: std::sync::OnceLock<std::collections::HashMap<(String, String), String>> =
        std::sync::OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let mut map = std::collections::HashMap::new();
        let csv = include_str!("../seed/data/i18n/compliance_messages.csv");
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let headers = reader.headers().cloned().unwrap_or_default();
        for record in reader.records().flatten() {
            let key = record.get(0).unwrap_or_default().to_owned();
            for (i, header) in headers.iter().enumerate().skip(1) {
                if let (Some(language), Some(text)) =
                    (header.strip_prefix("message_"), record.get(i))
                    && language != "en"
                {
                    map.insert((key.clone(), language.to_owned()), text.to_owned());
                }
            }
        }
        map
    })
}

impl ComplianceIssue {
    /// The message in the first language of `chain` that has one (English, the built-in
    /// messages, is always there), and that language.
    pub fn message_in<'a>(&'a self, chain: &'a [String]) -> (String, &'a str) {
        for language in chain {
            if language == "en" {
                break;
            }
            if let Some(text) = self.localized(language) {
                let text = match &self.args.component {
                    Some(sku) => format!("{sku}: {text}"),
                    None => text,
                };
                return (text, language);
            }
        }
        (self.message.clone(), "en")
    }

    /// The issue as one of a pack's: about its component `sku`, which the message names.
    pub fn for_component(mut self, sku: &str) -> Self {
        self.message = format!("{sku}: {}", self.message);
        self.args.component = Some(sku.to_owned());
        self
    }

    fn localized(&self, language: &str) -> Option<String> {
        let t = templates();
        let get = |key: String| t.get(&(key, language.to_owned()));
        let mut text = get(self.code.as_str().to_owned())?.clone();
        let a = &self.args;
        if let Some((kind, number)) = &a.certification {
            text = text.replace(
                "{certification_type}",
                get(format!("certification_type:{kind}"))?,
            );
            text = text.replace("{number}", number);
        }
        if let Some(date) = a.date {
            text = text.replace("{date}", &date.to_string());
        }
        if let Some(kind) = a.kind {
            text = text.replace("{requirement}", get(format!("requirement:{kind}"))?);
        }
        if let Some(name) = &a.cooperative {
            text = text.replace("{cooperative}", name);
        }
        // A template whose value is missing is not used half-filled.
        (!text.contains('{')).then_some(text)
    }
}

/// Whether `cert` is in force on `today`.
pub fn is_valid(cert: &certification::Model, today: NaiveDate) -> bool {
    cert.revoked_at.is_none()
        && cert.issued_on <= today
        && cert.expires_on.is_none_or(|end| today <= end)
}

/// The issue of a product that is not active.
pub fn inactive() -> ComplianceIssue {
    ComplianceIssue {
        code: IssueCode::ProductInactive,
        message: "The product is not active.".into(),
        args: IssueArgs::default(),
    }
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
        issues.push(inactive());
    }
    if cooperative.status == CooperativeStatus::Suspended {
        issues.push(ComplianceIssue {
            code: IssueCode::CooperativeSuspended,
            message: format!("The cooperative {} is suspended.", cooperative.name),
            args: IssueArgs {
                cooperative: Some(cooperative.name.clone()),
                ..Default::default()
            },
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
                    args: IssueArgs {
                        certification: Some((c.r#type, c.number.clone())),
                        kind: Some(req.kind),
                        ..Default::default()
                    },
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
                    args: IssueArgs {
                        certification: Some((c.r#type, c.number.clone())),
                        date: Some(c.expires_on.unwrap_or(today)),
                        kind: Some(req.kind),
                        ..Default::default()
                    },
                }
            } else if let Some(c) = candidates.iter().find(|c| c.issued_on > today) {
                ComplianceIssue {
                    code: IssueCode::CertificationNotYetValid,
                    message: format!(
                        "{} {} is only valid from {}; {needs}.",
                        c.r#type, c.number, c.issued_on
                    ),
                    args: IssueArgs {
                        certification: Some((c.r#type, c.number.clone())),
                        date: Some(c.issued_on),
                        kind: Some(req.kind),
                        ..Default::default()
                    },
                }
            } else {
                ComplianceIssue {
                    code: req.missing,
                    message: format!("No certification covers this product: {needs}."),
                    args: IssueArgs {
                        kind: Some(req.kind),
                        ..Default::default()
                    },
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
    let own_rules = Condition::any()
        .add(unindexed("cooperative_id").in_subquery(needing_nothing))
        .add(covered_by(
            Condition::all()
                .add(unsuspended())
                .add(accepted)
                .add(valid_on(today)),
        ));
    // Gift packs: sellable while every component is (their own cooperative's rules do not
    // apply). The components that are not sellable are found among the components only,
    // once per query (uncorrelated), so the cost grows with the packs, not the catalog.
    let unsellable_components = Query::select()
        .column(product::Column::Id)
        .from(product::Entity)
        .and_where(
            product::Column::Id.in_subquery(
                Query::select()
                    .column(pack_component::Column::ComponentId)
                    .from(pack_component::Entity)
                    .to_owned(),
            ),
        )
        .cond_where(
            Condition::any()
                .add(Expr::col((product::Entity, product::Column::Active)).eq(false))
                .add(own_rules.clone().not()),
        )
        .to_owned();
    let packs_with_unsellable = Query::select()
        .column(pack_component::Column::PackId)
        .from(pack_component::Entity)
        .and_where(pack_component::Column::ComponentId.in_subquery(unsellable_components))
        .to_owned();
    Condition::all()
        .add(Expr::col((product::Entity, product::Column::Active)).eq(true))
        .add(
            Condition::any()
                .add(own_rules)
                .add(Expr::col((product::Entity, product::Column::IsPack)).eq(true)),
        )
        // Only packs look for unsellable components: both databases build the list on
        // first use, so a page without packs never builds it (the same condition tested
        // on every product cost the storefront's cooperatives page a third of its speed).
        .add(
            Condition::any()
                .add(Expr::col((product::Entity, product::Column::IsPack)).eq(false))
                .add(unindexed("id").not_in_subquery(packs_with_unsellable)),
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
