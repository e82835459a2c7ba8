//! Who may do what. Every permission decision of the API is a function here, so "what
//! can a cooperative member do?" has one answer in one file.

use crate::domain::enums::Role;
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

    /// Managers, or members of cooperative `id`: the people who run that cooperative's
    /// affairs and may see its private data (bank account, contacts, ledger, unsellable products).
    pub fn manages_cooperative(&self, id: i32) -> bool {
        self.is_manager() || self.is_member_of(id)
    }

    /// Requires a manager: `UNAUTHENTICATED` when anonymous, `FORBIDDEN` otherwise.
    pub fn require_manager(&self) -> AppResult<&SignedIn> {
        let user = self.require_user()?;
        if user.role == Role::Manager {
            Ok(user)
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Requires a manager or a member of cooperative `id`.
    pub fn require_cooperative_manager(&self, id: i32) -> AppResult<&SignedIn> {
        let user = self.require_user()?;
        if self.manages_cooperative(id) {
            Ok(user)
        } else {
            Err(AppError::Forbidden)
        }
    }
}

impl Viewer {
    /// Whose sales the viewer may analyse: managers the whole market, a member only its
    /// own cooperative's lines; customers are `FORBIDDEN`, anonymous viewers
    /// `UNAUTHENTICATED`.
    pub fn sales_scope(&self) -> AppResult<crate::domain::analytics::SalesScope> {
        use crate::domain::analytics::SalesScope;
        let user = self.require_user()?;
        match (user.role, user.cooperative_id) {
            (Role::Manager, _) => Ok(SalesScope::Market),
            (Role::CooperativeMember, Some(id)) => Ok(SalesScope::Cooperative(id)),
            _ => Err(AppError::Forbidden),
        }
    }
}
