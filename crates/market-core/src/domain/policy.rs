//! Who may do what, and who may see what. Every permission decision of the API is a
//! function here, so "what can a cooperative member do?" has one answer in one file.
//! A refusal says why: `FORBIDDEN` errors carry the rule that refused them.
//!
//! # What a cooperative member sees of other people
//!
//! The portal shows a member what concerns its cooperative, and nothing of anyone else's
//! affairs: on the orders holding its products it sees its own lines, totals and the
//! order's status history — but not the buyer (name, contact, account, payment
//! reference, note), nor who changed the status or the notes written with the change
//! (a payment slip, a cancellation or refund reason). On its products' stock ledger it
//! sees every movement, but the author and the note only of the movements its own
//! cooperative's members recorded (and the notes the system writes itself): a sale's
//! author is the buyer, a return's the manager who refunded it.

use crate::domain::enums::{Channel, Role};
use crate::domain::orders::OrderScope;
use crate::domain::payouts::StatementScope;
use crate::error::{AppError, AppResult};

/// The signed-in account of a request, if any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Viewer {
    /// No (valid) bearer token.
    #[default]
    Anonymous,
    /// A signed-in account.
    User(SignedIn),
}

/// What the API knows about a signed-in account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub user_id: i32,
    pub role: Role,
    /// The cooperative of a member.
    pub cooperative_id: Option<i32>,
    /// The token the request was authenticated with, so `logout` can revoke it.
    pub token_id: i64,
}

/// Someone who did something the API shows: the author of a ledger line, the actor of
/// an order's change of status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i32,
    pub role: Role,
    pub cooperative_id: Option<i32>,
}

/// A refusal: `FORBIDDEN`, with the rule that refused.
pub fn forbidden(reason: impl Into<String>) -> AppError {
    AppError::Forbidden(reason.into())
}

impl Viewer {
    /// The signed-in account, or `UNAUTHENTICATED`.
    pub fn require_user(&self) -> AppResult<&SignedIn> {
        match self {
            Viewer::User(u) => Ok(u),
            Viewer::Anonymous => Err(AppError::Unauthenticated),
        }
    }

    pub fn is_manager(&self) -> bool {
        matches!(self, Viewer::User(u) if u.role == Role::Manager)
    }

    /// Whether the viewer is a member of cooperative `id`.
    pub fn is_member_of(&self, id: i32) -> bool {
        matches!(self, Viewer::User(u) if u.role == Role::CooperativeMember && u.cooperative_id == Some(id))
    }

    /// Whether the viewer is the account `user_id`.
    pub fn is_user(&self, user_id: i32) -> bool {
        matches!(self, Viewer::User(u) if u.user_id == user_id)
    }

    /// Managers, or members of cooperative `id`: the people who run that cooperative's
    /// affairs and may see its private data (bank account, contacts, ledger, unsellable products).
    pub fn manages_cooperative(&self, id: i32) -> bool {
        self.is_manager() || self.is_member_of(id)
    }

    /// Requires a manager: `UNAUTHENTICATED` when anonymous, `FORBIDDEN` otherwise.
    /// `action` completes "only market managers may …" in the refusal.
    pub fn require_manager(&self, action: &str) -> AppResult<&SignedIn> {
        let user = self.require_user()?;
        if user.role == Role::Manager {
            Ok(user)
        } else {
            Err(forbidden(format!("only market managers may {action}")))
        }
    }

    /// Requires a manager or a member of cooperative `id`. `action` completes "only
    /// managers and this cooperative's members may …" in the refusal.
    pub fn require_cooperative_manager(&self, id: i32, action: &str) -> AppResult<&SignedIn> {
        let user = self.require_user()?;
        if self.manages_cooperative(id) {
            Ok(user)
        } else {
            Err(forbidden(format!(
                "only managers and this cooperative's members may {action}"
            )))
        }
    }

    /// Who may place an order on `channel`: `ONLINE` orders are placed by customers (and
    /// managers on their behalf), `STORE` orders — the till — by managers only.
    pub fn require_order_channel(&self, channel: Channel) -> AppResult<&SignedIn> {
        let user = self.require_user()?;
        match (channel, user.role) {
            (Channel::Online, Role::Customer | Role::Manager) | (Channel::Store, Role::Manager) => {
                Ok(user)
            }
            (Channel::Store, _) => Err(forbidden("STORE orders are placed by managers")),
            (Channel::Online, _) => Err(forbidden(
                "ONLINE orders are placed by customers (or by managers); a cooperative member's account cannot buy",
            )),
        }
    }

    /// Who may list unsellable products: managers, and members for their own
    /// `cooperative` only.
    pub fn require_unsellable_listing(&self, cooperative: Option<i32>) -> AppResult<()> {
        self.require_user()?;
        let allowed = self.is_manager() || cooperative.is_some_and(|id| self.is_member_of(id));
        if allowed {
            Ok(())
        } else if cooperative.is_some() {
            Err(forbidden(
                "only managers and this cooperative's members may list unsellable products",
            ))
        } else {
            Err(forbidden(
                "only managers may list unsellable products of every cooperative; members give their own cooperativeId",
            ))
        }
    }

    /// The orders this viewer may read: managers all, customers the ones they placed,
    /// members the orders holding their cooperative's products (`UNAUTHENTICATED` when
    /// anonymous).
    pub fn order_scope(&self) -> AppResult<OrderScope> {
        let user = self.require_user()?;
        Ok(match user.role {
            Role::Manager => OrderScope::All,
            Role::Customer => OrderScope::PlacedBy(user.user_id),
            Role::CooperativeMember => OrderScope::Cooperative(self.require_own_cooperative()?),
        })
    }

    /// The payout statements this viewer may read: managers every cooperative's, members
    /// their own cooperative's; `UNAUTHENTICATED` when anonymous, `FORBIDDEN` for
    /// customers.
    pub fn statement_scope(&self) -> AppResult<StatementScope> {
        let user = self.require_user()?;
        match (user.role, user.cooperative_id) {
            (Role::Manager, _) => Ok(StatementScope::All),
            (Role::CooperativeMember, Some(id)) => Ok(StatementScope::Cooperative(id)),
            _ => Err(self.refuse_customer("payout statements")),
        }
    }

    /// The cooperative of a member (`myCooperative`).
    pub fn require_own_cooperative(&self) -> AppResult<i32> {
        self.require_user()?
            .cooperative_id
            .ok_or_else(|| forbidden("only cooperative members have a cooperative of their own"))
    }

    /// A member asking for `asked` cooperative's `what` when it may see only its own.
    pub fn require_same_cooperative(&self, own: i32, asked: i32, what: &str) -> AppResult<()> {
        if own == asked {
            Ok(())
        } else {
            Err(forbidden(format!(
                "a cooperative member sees only its own cooperative's {what}"
            )))
        }
    }

    /// Refusal for what is kept for managers and cooperative members (payout statements,
    /// sales analytics): customers are `FORBIDDEN`, anonymous viewers `UNAUTHENTICATED`.
    pub fn refuse_customer(&self, what: &str) -> AppError {
        match self {
            Viewer::Anonymous => AppError::Unauthenticated,
            Viewer::User(_) => forbidden(format!(
                "{what} are for market managers and cooperative members"
            )),
        }
    }

    /// Whose sales the viewer may analyse: managers the whole market, a member only its
    /// own cooperative's lines; customers are `FORBIDDEN`, anonymous viewers
    /// `UNAUTHENTICATED`.
    pub fn sales_scope(&self) -> AppResult<crate::domain::analytics::SalesScope> {
        use crate::domain::analytics::SalesScope;
        let user = self.require_user()?;
        match (user.role, user.cooperative_id) {
            (Role::Manager, _) => Ok(SalesScope::Market),
            (Role::CooperativeMember, Some(id)) => Ok(SalesScope::Cooperative(id)),
            _ => Err(self.refuse_customer("sales analytics")),
        }
    }

    // --- What the viewer may see of other people -------------------------------------

    /// The buyer's side of an order — who bought (account, contact), the payment
    /// reference, the buyer's note: managers and the buyer only.
    pub fn sees_buyer_details(&self, buyer: Option<i32>) -> bool {
        self.is_manager() || buyer.is_some_and(|b| self.is_user(b))
    }

    /// Who changed an order's status, and the note written with the change (payment
    /// reference, cancellation or refund reason): managers see everything, the buyer sees
    /// the notes of its own order and its own changes; a cooperative member, whose
    /// orders are other people's purchases, sees neither.
    pub fn sees_order_event_actor(&self, actor: &Actor) -> bool {
        self.is_manager() || self.is_user(actor.user_id)
    }

    /// See [`Viewer::sees_order_event_actor`].
    pub fn sees_order_event_note(&self, buyer: Option<i32>) -> bool {
        self.sees_buyer_details(buyer)
    }

    /// Whether a ledger line of a product of `cooperative` written by `author` is the
    /// viewer's own business: managers see every author and note; a member of the
    /// cooperative sees those of the lines its own cooperative's members recorded (and
    /// of the lines the system wrote with no author). Anyone else sees no ledger at all.
    pub fn sees_ledger_details(&self, cooperative: i32, author: Option<&Actor>) -> bool {
        if self.is_manager() {
            return true;
        }
        if !self.is_member_of(cooperative) {
            return false;
        }
        match author {
            None => true,
            Some(a) => {
                self.is_user(a.user_id)
                    || (a.role == Role::CooperativeMember && a.cooperative_id == Some(cooperative))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i32, role: Role, coop: Option<i32>) -> Viewer {
        Viewer::User(SignedIn {
            user_id: id,
            role,
            cooperative_id: coop,
            token_id: 1,
        })
    }

    fn actor(id: i32, role: Role, coop: Option<i32>) -> Actor {
        Actor {
            user_id: id,
            role,
            cooperative_id: coop,
        }
    }

    #[test]
    fn a_member_sees_its_colleagues_ledger_details_and_nobody_elses() {
        let member = user(1, Role::CooperativeMember, Some(7));
        let colleague = actor(2, Role::CooperativeMember, Some(7));
        let buyer = actor(3, Role::Customer, None);
        let manager = actor(4, Role::Manager, None);
        assert!(member.sees_ledger_details(7, Some(&colleague)));
        assert!(member.sees_ledger_details(7, None));
        assert!(!member.sees_ledger_details(7, Some(&buyer)));
        assert!(!member.sees_ledger_details(7, Some(&manager)));
        assert!(!member.sees_ledger_details(8, Some(&colleague)));
        assert!(user(4, Role::Manager, None).sees_ledger_details(7, Some(&buyer)));
        assert!(!member.sees_order_event_actor(&manager));
        assert!(!member.sees_order_event_note(Some(3)));
        assert!(user(3, Role::Customer, None).sees_order_event_note(Some(3)));
    }

    #[test]
    fn every_refusal_says_why() {
        let member = user(1, Role::CooperativeMember, Some(7));
        let err = member.require_order_channel(Channel::Store).unwrap_err();
        assert_eq!(err.message(), "STORE orders are placed by managers");
        let err = member.require_unsellable_listing(Some(8)).unwrap_err();
        assert_eq!(
            err.message(),
            "only managers and this cooperative's members may list unsellable products"
        );
        assert!(member.require_unsellable_listing(Some(7)).is_ok());
        assert!(matches!(
            Viewer::Anonymous.require_order_channel(Channel::Online),
            Err(AppError::Unauthenticated)
        ));
    }
}
