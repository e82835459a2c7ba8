//! The demo certifications and labels, dated in days relative to `today` so that the
//! compliance cases they stage (valid, expired, expiring soon, revoked, partial coverage,
//! missing) stay true whenever the demo is seeded.

use crate::domain::enums::CertificationType::{
    self, DmpAuthorization, Iso22716, OnssaApproval, OnssaAuthorization, Organic, Pdo, Pgi,
    TerroirDuMaroc,
};

const ONSSA: &str = "ONSSA";
const DMP: &str = "Direction du Médicament et de la Pharmacie";
const NORMACERT: &str = "Normacert";
const ECOCERT: &str = "Ecocert Maroc";
const ADA: &str = "Agence pour le Développement Agricole";

/// Which products of its cooperative a certification covers.
pub(super) enum Coverage {
    All,
    /// Only these SKUs (rows of `certification_products`).
    Only(&'static [&'static str]),
}

/// A withdrawn certification.
pub(super) struct Revocation {
    pub days_ago: i64,
    pub reason: &'static str,
}

/// One certification of the demo, held by the cooperative with code `coop`.
pub(super) struct CertSeed {
    pub coop: &'static str,
    pub kind: CertificationType,
    pub number: &'static str,
    pub issuer: &'static str,
    pub issued_days_ago: i64,
    /// Days from `today` to the expiry date (negative: already expired); `None`: no expiry.
    pub expires_in_days: Option<i64>,
    pub coverage: Coverage,
    pub revoked: Option<Revocation>,
}

const fn cert(
    coop: &'static str,
    kind: CertificationType,
    number: &'static str,
    issuer: &'static str,
    issued_days_ago: i64,
    expires_in_days: Option<i64>,
) -> CertSeed {
    CertSeed {
        coop,
        kind,
        number,
        issuer,
        issued_days_ago,
        expires_in_days,
        coverage: Coverage::All,
        revoked: None,
    }
}

/// Every certification of the demo. Deliberate gaps: the Laâyoune camel-milk cooperative
/// (LAY, Terroir) and the Ksabi ghassoul cooperative (KSB, Cosmetics) hold none at all.
pub(super) const CERTIFICATIONS: &[CertSeed] = &[
    // Terroir: sanitary authorizations and approvals, and the labels of origin.
    cert(
        "OUZ",
        OnssaAuthorization,
        "AS.01.0118",
        ONSSA,
        1100,
        Some(725),
    ),
    // Expires within the next 20 days: the one to renew first.
    cert(
        "FIG",
        OnssaAuthorization,
        "AS.02.0064",
        ONSSA,
        1813,
        Some(12),
    ),
    cert(
        "FIG",
        Pdo,
        "AOP-DATTE-AZIZA-BOUZID-0031",
        NORMACERT,
        700,
        Some(395),
    ),
    cert("MEK", OnssaApproval, "AG.03.0042", ONSSA, 1460, None),
    cert("MEK", TerroirDuMaroc, "TDM-0417", ADA, 900, None),
    cert(
        "ZRH",
        OnssaAuthorization,
        "AS.03.0231",
        ONSSA,
        620,
        Some(1205),
    ),
    cert(
        "SFR",
        OnssaAuthorization,
        "AS.03.0187",
        ONSSA,
        980,
        Some(845),
    ),
    // Expired 40 days ago and not yet renewed: the honey is not sellable.
    cert(
        "MAM",
        OnssaAuthorization,
        "AS.04.0096",
        ONSSA,
        1865,
        Some(-40),
    ),
    // Covers the honey house only: the walnuts, thyme and spread are not sellable.
    CertSeed {
        coverage: Coverage::Only(&["HON-BGZ-001", "HON-BGZ-002", "HON-BGZ-003", "HON-BGZ-004"]),
        ..cert(
            "BGZ",
            OnssaAuthorization,
            "AS.05.0154",
            ONSSA,
            400,
            Some(1425),
        )
    },
    cert("BGZ", TerroirDuMaroc, "TDM-0288", ADA, 1200, None),
    cert(
        "TDL",
        OnssaAuthorization,
        "AS.05.0312",
        ONSSA,
        1500,
        Some(325),
    ),
    cert("BML", OnssaAuthorization, "AS.05.0263", ONSSA, 1250, None),
    cert(
        "AMA",
        OnssaAuthorization,
        "AS.06.0071",
        ONSSA,
        1700,
        Some(125),
    ),
    cert("AMA", TerroirDuMaroc, "TDM-0102", ADA, 2000, None),
    // Revoked after an inspection: the reason the cooperative is suspended.
    CertSeed {
        revoked: Some(Revocation {
            days_ago: 21,
            reason: "Aflatoxin level above the regulatory limit in a batch of paprika found at an ONSSA inspection; authorization withdrawn until corrective measures are verified.",
        }),
        ..cert(
            "BRC",
            OnssaAuthorization,
            "AS.06.0209",
            ONSSA,
            1600,
            Some(225),
        )
    },
    cert("CHD", OnssaApproval, "AG.07.0058", ONSSA, 2100, None),
    cert(
        "CHD",
        Pdo,
        "AOP-TYOUT-CHIADMA-0087",
        NORMACERT,
        300,
        Some(795),
    ),
    cert(
        "ASN",
        OnssaAuthorization,
        "AS.07.0174",
        ONSSA,
        800,
        Some(1025),
    ),
    cert("ASN", Organic, "MA-BIO-140-0592", ECOCERT, 250, Some(115)),
    cert("TFL", OnssaApproval, "AG.08.0019", ONSSA, 1300, None),
    cert(
        "TFL",
        Pgi,
        "IGP-MAJHOUL-TAFILALET-0045",
        NORMACERT,
        500,
        Some(595),
    ),
    cert(
        "TTM",
        OnssaAuthorization,
        "AS.09.0041",
        ONSSA,
        1000,
        Some(825),
    ),
    cert("TTM", Pgi, "IGP-ARGANE-0412", NORMACERT, 350, Some(745)),
    cert("TTM", TerroirDuMaroc, "TDM-0033", ADA, 2200, None),
    cert(
        "SKT",
        OnssaAuthorization,
        "AS.09.0137",
        ONSSA,
        1400,
        Some(425),
    ),
    cert(
        "SKT",
        Pdo,
        "AOP-SAFRAN-TALIOUINE-0156",
        NORMACERT,
        600,
        Some(495),
    ),
    cert(
        "TFR",
        OnssaAuthorization,
        "AS.09.0298",
        ONSSA,
        700,
        Some(1125),
    ),
    cert(
        "ABH",
        OnssaAuthorization,
        "AS.09.0222",
        ONSSA,
        1780,
        Some(45),
    ),
    cert("DKH", OnssaApproval, "AG.12.0007", ONSSA, 900, None),
    // Cosmetics: DMP authorizations and ISO 22716 (good manufacturing practice).
    cert(
        "TGH",
        DmpAuthorization,
        "DMP-AEC-0147",
        DMP,
        1200,
        Some(625),
    ),
    cert(
        "TGH",
        Iso22716,
        "ISO22716-BV-MA-0089",
        "Bureau Veritas Certification Maroc",
        500,
        Some(595),
    ),
    cert("TGH", Organic, "MA-BIO-140-0311", ECOCERT, 200, Some(165)),
    cert("AKN", DmpAuthorization, "DMP-AEC-0233", DMP, 900, Some(925)),
    cert(
        "AKN",
        Pgi,
        "IGP-FIGUE-BARBARIE-AIT-BAAMRANE-0018",
        NORMACERT,
        400,
        Some(695),
    ),
    cert("JRD", DmpAuthorization, "DMP-AEC-0412", DMP, 40, Some(1785)),
    cert(
        "RDS",
        DmpAuthorization,
        "DMP-AEC-0105",
        DMP,
        1500,
        Some(325),
    ),
    cert(
        "HZH",
        Iso22716,
        "ISO22716-SGS-MA-0052",
        "SGS Maroc",
        700,
        Some(395),
    ),
    cert(
        "JDD",
        DmpAuthorization,
        "DMP-AEC-0298",
        DMP,
        1100,
        Some(725),
    ),
];
