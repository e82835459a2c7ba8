//! Accounts: sign-up, sign-in, sign-out, `me`, and accounts created by managers.

use crate::error::Result;
use crate::error::{AppError, AppResult};
use crate::graphql::context::{ContextExt, load_required};
use crate::graphql::cooperative::Cooperative;
use crate::graphql::ids::{self, NodeType};
use crate::graphql::loaders::CooperativeKey;
use crate::graphql::payload::respond;
use crate::http::auth::ClientAddr;
use crate::payload;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Duration, Utc};
use market_core::db;
use market_core::domain::auth::{self, NewUser};
use market_core::domain::carts;
use market_core::domain::enums as d;
use market_core::domain::signin_limits;
use market_core::models::user;

/// What an account may do.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "d::Role")]
pub enum Role {
    /// A shopper: browses the catalog and orders online.
    Customer,
    /// A member of one cooperative: manages its products and stock, sees its sales.
    CooperativeMember,
    /// A market manager: runs the market.
    Manager,
}

/// An account.
pub struct User {
    model: user::Model,
    /// Shown to the account itself even before its token is used (sign-in payloads).
    own: bool,
}

impl User {
    pub fn new(model: user::Model) -> Self {
        Self { model, own: false }
    }

    /// The account of the session being opened: its private fields are shown.
    fn own(model: user::Model) -> Self {
        Self { model, own: true }
    }
}

/// An account.
#[Object(cache_control(private))]
impl User {
    /// Global ID of the account.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::User, self.model.id)
    }
    /// E-mail address; `null` unless the viewer is this user or a manager.
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        ctx.viewer()
            .sees_account_email(self.model.id, self.own)
            .then_some(self.model.email.as_str())
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.model.name
    }
    /// What the account may do.
    async fn role(&self) -> Role {
        self.model.role.into()
    }
    /// The cooperative of a member.
    async fn cooperative(&self, ctx: &Context<'_>) -> Result<Option<Cooperative>> {
        let Some(id) = self.model.cooperative_id else {
            return Ok(None);
        };
        Ok(Some(Cooperative(
            load_required(ctx, CooperativeKey(id), "cooperative").await?,
        )))
    }
    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
}

/// A new customer account.
#[derive(InputObject)]
pub struct RegisterInput {
    /// E-mail address, used to sign in (case-insensitive, unique).
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    /// Display name.
    pub name: String,
}

/// Credentials.
#[derive(InputObject)]
pub struct LoginInput {
    /// E-mail address of the account.
    pub email: String,
    /// Its password.
    pub password: String,
    /// The id of an anonymous cart to merge into the customer's cart (its lines added to
    /// theirs). An unknown or expired cart is ignored.
    pub cart_id: Option<ID>,
}

/// An account created by a manager.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// E-mail address (unique).
    pub email: String,
    /// Initial password, at least 10 characters.
    pub password: String,
    /// Display name.
    pub name: String,
    /// What the account may do.
    pub role: Role,
    /// The cooperative of a `COOPERATIVE_MEMBER` (required for them, refused otherwise).
    pub cooperative_id: Option<ID>,
}

/// A session: the bearer token to send as `Authorization: Bearer <token>`, and its account.
#[derive(SimpleObject, Default)]
pub struct AuthPayload {
    /// The bearer token; shown once, valid until it expires or `logout` revokes it.
    pub token: Option<String>,
    /// When the token expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// The signed-in account.
    pub user: Option<User>,
    /// Problems with the input; empty on success.
    pub user_errors: Vec<crate::error::UserError>,
}

impl crate::graphql::payload::Payload for AuthPayload {
    fn with_errors(errors: Vec<market_core::error::UserError>) -> Self {
        Self {
            user_errors: crate::error::user_errors(errors),
            ..Default::default()
        }
    }
}

payload!(
    /// The result of `logout`.
    LogoutPayload {
        /// `true` when the token used for the request was revoked.
        revoked: bool
    }
);

payload!(
    /// The result of `createUser`.
    UserPayload {
        /// The new account.
        user: User
    }
);

async fn sign_in(ctx: &Context<'_>, account: user::Model) -> AppResult<AuthPayload> {
    let ttl = Duration::hours(ctx.config().token_ttl_hours);
    let token = auth::issue_token(ctx.db(), account.id, ttl).await?;
    Ok(AuthPayload {
        token: Some(token),
        expires_at: Some(Utc::now() + ttl),
        user: Some(User::own(account)),
        user_errors: Vec::new(),
    })
}

/// `register`'s answer for an address that already has an account is the answer for a new
/// one: the `DUPLICATE` error is dropped (other field errors stay), after hashing the
/// password as creating the account would have, so neither the answer nor its timing
/// tells the addresses apart.
async fn without_duplicates(created: AppResult<user::Model>, password: &str) -> AppResult<()> {
    match created {
        Ok(_) => Ok(()),
        Err(AppError::User(errors))
            if errors
                .iter()
                .any(|e| e.code == crate::error::UserErrorCode::Duplicate) =>
        {
            let others: Vec<_> = errors
                .into_iter()
                .filter(|e| e.code != crate::error::UserErrorCode::Duplicate)
                .collect();
            if others.is_empty() {
                auth::hash_password(password).await?;
                Ok(())
            } else {
                Err(AppError::User(others))
            }
        }
        Err(other) => Err(other),
    }
}

/// Account queries.
#[derive(Default)]
pub struct AccountsQuery;

/// Account queries.
#[Object]
impl AccountsQuery {
    /// The signed-in account, or `null` when anonymous.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let market_core::domain::policy::Viewer::User(u) = ctx.viewer() else {
            return Ok(None);
        };
        let account = market_core::domain::reads::user(ctx.db(), u.user_id)
            .await
            .map_err(AppError::from)?;
        Ok(account.map(User::new))
    }
}

/// Account mutations.
#[derive(Default)]
pub struct AccountsMutation;

/// Account mutations.
#[Object]
impl AccountsMutation {
    /// Creates a customer account; sign in with `login` next. The answer is the same
    /// whether or not the address already had an account (no token, no `DUPLICATE`):
    /// without an e-mail check there is no other way not to tell strangers which addresses
    /// are customers'. Malformed fields are still `userErrors`. Registrations are limited
    /// per client address (`THROTTLED`, with `retryAfter`).
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<AuthPayload> {
        let client = ctx.data_opt::<ClientAddr>().and_then(|c| c.0);
        let limits = signin_limits::Limits::from_config(ctx.config());
        if let Err(e) = signin_limits::admit_registration(ctx.db(), limits, client).await {
            return respond(Err(e), |p: AuthPayload| p);
        }
        let password = input.password.clone();
        let created = auth::create_user(
            ctx.db(),
            NewUser {
                email: input.email,
                password: input.password,
                name: input.name,
                role: d::Role::Customer,
                cooperative_id: None,
            },
        )
        .await;
        respond(without_duplicates(created, &password).await, |_| {
            AuthPayload::default()
        })
    }

    /// Signs in. A wrong e-mail and a wrong password get the same answer
    /// (`INVALID_CREDENTIALS`); repeated failures are throttled (`THROTTLED`).
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<AuthPayload> {
        let client = ctx.data_opt::<ClientAddr>().and_then(|c| c.0);
        let limits = signin_limits::Limits::from_config(ctx.config());
        let result =
            match auth::login(ctx.db(), limits, &input.email, &input.password, client).await {
                Ok(account) => {
                    if let (Some(cart), d::Role::Customer) = (&input.cart_id, account.role) {
                        let txn = db::begin_write(ctx.db()).await?;
                        let merged = carts::merge_on_sign_in(&txn, cart.as_str(), account.id).await;
                        db::finish(txn, merged).await?;
                    }
                    sign_in(ctx, account).await
                }
                Err(e) => Err(e),
            };
        respond(result, |p| p)
    }

    /// Revokes the token this request was made with.
    async fn logout(&self, ctx: &Context<'_>) -> Result<LogoutPayload> {
        let user = ctx.viewer().require_user()?;
        auth::revoke_token(ctx.db(), user.token_id).await?;
        Ok(LogoutPayload::ok(true))
    }

    /// Creates an account of any role (managers only).
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> Result<UserPayload> {
        ctx.viewer().require_manager("create accounts")?;
        let cooperative_id = input
            .cooperative_id
            .map(|id| ids::decode::<i32>(&id, NodeType::Cooperative))
            .transpose()?;
        // One INSERT, so no explicit transaction: the password is hashed before it, and
        // holding SQLite's write lock through a hash would stall every other writer.
        let result = auth::create_user(
            ctx.db(),
            NewUser {
                email: input.email,
                password: input.password,
                name: input.name,
                role: input.role.into(),
                cooperative_id,
            },
        )
        .await;
        respond(result, |u| UserPayload::ok(User::new(u)))
    }
}
