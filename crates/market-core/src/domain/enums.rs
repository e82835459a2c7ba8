//! The closed vocabularies of the domain, stored as strings so both databases read them
//! the same way. The GraphQL enums mirror these (see `graphql::enums`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
        pub enum $name {
            $(
                #[sea_orm(string_value = $text)]
                #[serde(rename = $text)]
                $variant,
            )+
        }

        impl $name {
            /// The stored (and exported) spelling of this value.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)+ }
            }

            /// Parses the stored spelling; `None` for anything else.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)+ _ => None }
            }

            /// Every value, in declaration order.
            pub fn all() -> &'static [Self] {
                &[$(Self::$variant,)+]
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// The three families of cooperatives the market lists.
    CooperativeKind { Terroir = "TERROIR", Cosmetics = "COSMETICS", Handicrafts = "HANDICRAFTS" }
);
string_enum!(
    /// Where a cooperative stands with the market.
    CooperativeStatus { Incubated = "INCUBATED", Listed = "LISTED", Suspended = "SUSPENDED" }
);
string_enum!(
    /// Certifications and labels a cooperative can hold.
    CertificationType {
        OnssaAuthorization = "ONSSA_AUTHORIZATION",
        OnssaApproval = "ONSSA_APPROVAL",
        DmpAuthorization = "DMP_AUTHORIZATION",
        Iso22716 = "ISO_22716",
        Pgi = "PGI",
        Pdo = "PDO",
        Organic = "ORGANIC",
        TerroirDuMaroc = "TERROIR_DU_MAROC",
        FiliereExclusiveM = "FILIERE_EXCLUSIVE_M",
    }
);
string_enum!(
    /// What an account may do.
    Role { Customer = "CUSTOMER", CooperativeMember = "COOPERATIVE_MEMBER", Manager = "MANAGER" }
);
string_enum!(
    /// Why the stock level of a product moved.
    StockMovementKind {
        Delivery = "DELIVERY",
        Sale = "SALE",
        Cancellation = "CANCELLATION",
        Return = "RETURN",
        Adjustment = "ADJUSTMENT",
    }
);
string_enum!(
    /// The reason given for a manual stock adjustment.
    AdjustmentReason {
        Damaged = "DAMAGED",
        Expired = "EXPIRED",
        CountCorrection = "COUNT_CORRECTION",
        Other = "OTHER",
    }
);
string_enum!(
    /// Where an order was placed.
    Channel { Online = "ONLINE", Store = "STORE" }
);
string_enum!(
    /// The life cycle of an order.
    OrderStatus {
        Placed = "PLACED",
        Paid = "PAID",
        Fulfilled = "FULFILLED",
        Cancelled = "CANCELLED",
        Refunded = "REFUNDED",
    }
);
string_enum!(
    /// How an order was paid.
    PaymentMethod { Cash = "CASH", Card = "CARD", Transfer = "TRANSFER", CashOnDelivery = "CASH_ON_DELIVERY" }
);
string_enum!(
    /// How a delivery method hands the goods over.
    DeliveryKind { Pickup = "PICKUP", HomeDelivery = "HOME_DELIVERY" }
);
string_enum!(
    /// Where the parcel of a home-delivered order stands.
    DeliveryStatus { Shipped = "SHIPPED", Delivered = "DELIVERED", Returned = "RETURNED" }
);
string_enum!(
    /// Whether a payout statement has been paid to its cooperative. A statement whose net
    /// is negative is not payable: its balance is carried into a later statement.
    PayoutStatus { Due = "DUE", Paid = "PAID", CarriedForward = "CARRIED_FORWARD" }
);
string_enum!(
    /// What a payout adjustment corrects.
    PayoutAdjustmentKind { Refund = "REFUND", CarriedBalance = "CARRIED_BALANCE" }
);
string_enum!(
    /// Which picture of a cooperative an image is.
    CooperativeImageRole { Logo = "LOGO", Cover = "COVER" }
);
