//! GraphQL mirrors of the domain enums (`domain::enums`), so the API documents each value
//! and the storage enums stay free of GraphQL.

use async_graphql::Enum;
use market_core::domain::enums as d;

/// The family a cooperative belongs to.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "d::CooperativeKind")]
pub enum CooperativeKind {
    /// Food products of the terroir (oils, preserves, spices, honey…). Need an ONSSA authorization or approval.
    Terroir,
    /// Cosmetics (argan, soaps, rose water…). Need a DMP authorization or ISO 22716.
    Cosmetics,
    /// Crafts (pottery, weaving, leather…). Need no sanitary certification.
    Handicrafts,
}

/// Where a cooperative stands with the market.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "d::CooperativeStatus")]
pub enum CooperativeStatus {
    /// Coached by the market towards listing.
    Incubated,
    /// Listed and selling.
    Listed,
    /// Suspended: its products cannot be sold.
    Suspended,
}

/// A certification or label.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "d::CertificationType")]
pub enum CertificationType {
    /// ONSSA sanitary authorization (food).
    OnssaAuthorization,
    /// ONSSA sanitary approval (food).
    OnssaApproval,
    /// Authorization of the Direction du Médicament et de la Pharmacie (cosmetics).
    DmpAuthorization,
    /// ISO 22716 good manufacturing practice for cosmetics.
    #[graphql(name = "ISO_22716")]
    Iso22716,
    /// Protected geographical indication.
    Pgi,
    /// Protected designation of origin.
    Pdo,
    /// Organic farming.
    Organic,
    /// The "Terroir du Maroc" label.
    TerroirDuMaroc,
    /// The "Filière exclusive M" label.
    FiliereExclusiveM,
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum SortDirection {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}
