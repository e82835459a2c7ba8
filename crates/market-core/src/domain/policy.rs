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

use crate::domain::analytics::SalesScope;
use crate::domain::enums::{Channel, Role};
use crate::domain::events::EventScope;
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

/// A member, whose scope is cooperative `own`, asking for cooperative `asked`'s `what`.
fn refuse_other_cooperative(own: i32, asked: Option<i32>, what: &str) -> AppResult<()> {
    match asked {
        Some(asked) if asked != own => Err(forbidden(format!(
            "a cooperative member sees only its own cooperative's {what}"
        ))),
        _ => Ok(()),
    }
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

    /// Who may list unsellable products (`includeUnsellable`): managers, and members for
    /// their own `cooperative` only.
    pub fn require_unsellable_listing(&self, cooperative: Option<i32>) -> AppResult<()> {
        self.require_user()?;
        let allowed =
            self.is_manager() || cooperative.is_some_and(|id| self.sees_unsellable_products_of(id));
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

    /// The events this viewer hears of (subscriptions): as with orders, managers every
    /// event, members those concerning their cooperative, customers those of their own
    /// orders; `UNAUTHENTICATED` when anonymous.
    pub fn event_scope(&self) -> AppResult<EventScope> {
        Ok(match self.order_scope()? {
            OrderScope::All => EventScope::All,
            OrderScope::PlacedBy(user) => EventScope::Customer(user),
            OrderScope::Cooperative(coop) => EventScope::Cooperative(coop),
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

    /// The payout statements this viewer may list when it filters on cooperative `asked`:
    /// [`Viewer::statement_scope`], and `FORBIDDEN` for a member asking for another
    /// cooperative's.
    pub fn statement_scope_for(&self, asked: Option<i32>) -> AppResult<StatementScope> {
        let scope = self.statement_scope()?;
        if let StatementScope::Cooperative(own) = scope {
            refuse_other_cooperative(own, asked, "payout statements")?;
        }
        Ok(scope)
    }

    /// Whose sales this viewer may analyse when it filters on cooperative `asked`:
    /// [`Viewer::sales_scope`], and `FORBIDDEN` for a member asking for another
    /// cooperative's.
    pub fn sales_scope_for(&self, asked: Option<i32>) -> AppResult<SalesScope> {
        let scope = self.sales_scope()?;
        if let SalesScope::Cooperative(own) = scope {
            refuse_other_cooperative(own, asked, "sales")?;
        }
        Ok(scope)
    }

    /// Who may read one payout statement of `cooperative` (by ID, or as a CSV file):
    /// managers, and the members of that cooperative.
    pub fn require_statement_of(&self, cooperative: i32) -> AppResult<()> {
        match self.statement_scope()? {
            StatementScope::All => Ok(()),
            StatementScope::Cooperative(own) if own == cooperative => Ok(()),
            StatementScope::Cooperative(_) => Err(forbidden(
                "only managers and this cooperative's members may read its payout statements",
            )),
        }
    }

    /// Whether a lookup by ID shows this viewer a payout statement of `cooperative`
    /// (see [`Viewer::require_statement_of`]).
    pub fn sees_statement_of(&self, cooperative: i32) -> bool {
        self.require_statement_of(cooperative).is_ok()
    }

    /// Who may change a product and its stock: managers and the members of its
    /// cooperative. `cooperative` is `None` when there is no such product: managers learn
    /// it (`NOT_FOUND`), others cannot tell it from one they may not touch (`FORBIDDEN`).
    pub fn require_product_editor(&self, cooperative: Option<i32>) -> AppResult<&SignedIn> {
        let user = self.require_user()?;
        match cooperative {
            Some(id) => self.require_cooperative_manager(id, "change its products and stock"),
            None if self.is_manager() => Err(AppError::NotFound("No such product.".into())),
            None => Err(forbidden(
                "only managers and the product's cooperative's members may change its products and stock",
            )),
        }
        .map(|_| user)
    }

    /// Who may set or remove a translation of a thing: managers for everything; members
    /// for their own cooperative and its products (`owner` is the cooperative of the
    /// thing, `None` for segments, regions and provinces, which are the market's). Like
    /// [`Viewer::require_product_editor`], a member cannot tell a thing that does not
    /// exist from one it may not touch.
    pub fn require_translation_editor(&self, owner: Option<i32>) -> AppResult<&SignedIn> {
        let user = self.require_user()?;
        match owner {
            _ if self.is_manager() => Ok(user),
            Some(id) if self.is_member_of(id) => Ok(user),
            Some(_) => Err(forbidden(
                "a cooperative member translates only its own cooperative and products",
            )),
            None => Err(forbidden(
                "only market managers may translate segments, regions, provinces and things that do not exist",
            )),
        }
    }

    /// Who may add, change, reorder and remove a product's photos: managers and the
    /// members of its cooperative. `cooperative` is `None` when there is no such product
    /// (or photo): managers learn it (`NOT_FOUND`), others cannot tell it from one they
    /// may not touch (`FORBIDDEN`).
    pub fn require_product_image_editor(&self, cooperative: Option<i32>) -> AppResult<&SignedIn> {
        let user = self.require_user()?;
        match cooperative {
            Some(id) => self.require_cooperative_manager(id, "change its products' images"),
            None if self.is_manager() => Err(AppError::NotFound("No such product image.".into())),
            None => Err(forbidden(
                "only managers and the product's cooperative's members may change its images",
            )),
        }
        .map(|_| user)
    }

    /// Who may set or remove a cooperative's logo and cover: managers and its members.
    pub fn require_cooperative_image_editor(&self, cooperative: i32) -> AppResult<&SignedIn> {
        self.require_cooperative_manager(cooperative, "change its logo and cover")
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
    pub fn sales_scope(&self) -> AppResult<SalesScope> {
        let user = self.require_user()?;
        match (user.role, user.cooperative_id) {
            (Role::Manager, _) => Ok(SalesScope::Market),
            (Role::CooperativeMember, Some(id)) => Ok(SalesScope::Cooperative(id)),
            _ => Err(self.refuse_customer("sales analytics")),
        }
    }

    // --- What the viewer may see of other people -------------------------------------

    /// The cooperative whose lines alone this viewer sees of an order (and whose lines
    /// alone make the order's total and item count): a member's own cooperative, since
    /// the other lines are other cooperatives' business; `None` (every line) for
    /// managers and buyers.
    pub fn order_lines_of_cooperative(&self) -> Option<i32> {
        match self {
            Viewer::User(u) if u.role == Role::CooperativeMember => u.cooperative_id,
            _ => None,
        }
    }

    /// A cooperative's private details — contact, bank account, commission rate, its
    /// products' low-stock thresholds, why a certification of it was revoked: managers
    /// and its own members only.
    pub fn sees_cooperative_private_details(&self, cooperative: i32) -> bool {
        self.manages_cooperative(cooperative)
    }

    /// Whether a cooperative's product list (`Cooperative.products`) shows this viewer
    /// the products that cannot be sold today: to managers and its own members, who have
    /// to fix them; the public sees only what it can buy.
    pub fn sees_unsellable_products_of(&self, cooperative: i32) -> bool {
        self.manages_cooperative(cooperative)
    }

    /// The e-mail address of account `account`: managers, the account itself, and
    /// whoever just signed up or in as it (`own`: the viewer of that request is still
    /// anonymous).
    pub fn sees_account_email(&self, account: i32, own: bool) -> bool {
        own || self.is_manager() || self.is_user(account)
    }

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
