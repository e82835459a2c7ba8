//! Accounts and sessions: argon2id password hashes, bearer tokens stored as SHA-256
//! hashes (so any number of server instances accept them and a database leak does not
//! leak sessions), and login throttling kept in the database.

use crate::domain::enums::Role;
use crate::domain::input;
use crate::domain::policy::{SignedIn, Viewer};
use crate::domain::signin_limits;
use crate::entities::{auth_token, cooperative, user};
use crate::error::{AppError, AppResult, UserError, UserErrorCode, record_outcome};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{Duration, Utc};
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Set,
};
use sha2::{Digest, Sha256};
use std::sync::{LazyLock, OnceLock};
use tokio::sync::Semaphore;

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;
/// Longest password accepted (hashing cost is bounded).
pub const MAX_PASSWORD_LEN: usize = 128;

/// argon2id at the OWASP minimum: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// How many hashes may run at once (`MAX_CONCURRENT_PASSWORD_HASHES`), set once at startup
/// by [`limit_concurrent_hashes`]; the number of cores otherwise.
static HASHING_LIMIT: OnceLock<usize> = OnceLock::new();

/// Bounds the hashes running at once, so a burst of logins queues instead of starving
/// every other request of CPU and memory.
static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(*HASHING_LIMIT.get_or_init(cores)));

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Sets how many password hashes may run at once (`0`: one per core). Only the first call
/// before the first hash counts: the limit of a running process does not change.
pub fn limit_concurrent_hashes(limit: usize) {
    let _ = HASHING_LIMIT.set(if limit == 0 { cores() } else { limit });
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| AppError::internal_caused("waiting for the hashing semaphore", e))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::internal_caused("running a hashing task", e))
}

/// Hashes a password (PHC string) off the async runtime.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn hash_password(password: &str) -> AppResult<String> {
    let password = password.to_owned();
    blocking(move || {
        let mut salt = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await?
    .map_err(|e| AppError::internal_caused("hashing a password", e))
}

/// A hash of nothing anyone knows, verified against when the e-mail is unknown so both
/// cases take the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    argon2()
        .hash_password(
            &secret,
            &SaltString::encode_b64(&[7u8; 16]).expect("static salt"),
        )
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Checks a password against a PHC hash off the async runtime.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn verify_password(hash: Option<String>, password: &str) -> AppResult<bool> {
    let password = password.to_owned();
    blocking(move || {
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        PasswordHash::new(&hash)
            .map(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
}

/// Normalizes and checks an e-mail address (see [`input::email`]).
pub fn parse_email(email: &str) -> AppResult<String> {
    input::email(email).ok_or_else(|| {
        AppError::user(
            UserErrorCode::InvalidEmail,
            &["email"],
            "Enter a valid e-mail address.",
        )
    })
}

/// Checks a new password: 10 to 128 characters, no control characters (a NUL cannot be
/// typed, and some clients would cut the password at it).
pub fn check_password(password: &str) -> AppResult<()> {
    let len = password.chars().count();
    let message = if len < MIN_PASSWORD_LEN {
        format!("Use at least {MIN_PASSWORD_LEN} characters.")
    } else if len > MAX_PASSWORD_LEN {
        format!("Use at most {MAX_PASSWORD_LEN} characters.")
    } else if password.chars().any(char::is_control) {
        "A password may not hold control characters (such as NUL).".to_owned()
    } else {
        return Ok(());
    };
    Err(AppError::user(
        UserErrorCode::WeakPassword,
        &["password"],
        message,
    ))
}

/// Collects the user errors of a check into `errors`; other failures are returned.
fn collect<T>(errors: &mut Vec<UserError>, result: AppResult<T>) -> AppResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(AppError::User(mut e)) => {
            errors.append(&mut e);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// What a new account is made of.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub password: String,
    pub name: String,
    pub role: Role,
    pub cooperative_id: Option<i32>,
}

/// Checks every field of a new account and reports every problem at once.
async fn check_new_user(db: &impl ConnectionTrait, new: &NewUser) -> AppResult<(String, String)> {
    let mut errors = Vec::new();
    let email = collect(&mut errors, parse_email(&new.email))?;
    collect(&mut errors, check_password(&new.password))?;
    let name = input::required(&mut errors, "name", "a name", &new.name, input::NAME);
    let membership = match (new.role, new.cooperative_id) {
        (Role::CooperativeMember, None) => Some((
            UserErrorCode::Invalid,
            "A cooperative member must belong to a cooperative.",
        )),
        (Role::CooperativeMember, Some(id)) => cooperative::Entity::find_by_id(id)
            .one(db)
            .await?
            .is_none()
            .then_some((UserErrorCode::NotFound, "No such cooperative.")),
        (_, Some(_)) => Some((
            UserErrorCode::Invalid,
            "Only cooperative members belong to a cooperative.",
        )),
        (_, None) => None,
    };
    if let Some((code, message)) = membership {
        errors.push(UserError::new(code, &["cooperativeId"], message));
    }
    match email {
        Some(email) if errors.is_empty() => Ok((email, name)),
        _ => Err(AppError::User(errors)),
    }
}

/// Creates an account after checking its fields (every problem at once); `DUPLICATE`
/// when the e-mail is taken.
#[tracing::instrument(skip_all, fields(role = %new.role, cooperative_id = new.cooperative_id, user_id = tracing::field::Empty))]
pub async fn create_user(db: &impl ConnectionTrait, new: NewUser) -> AppResult<user::Model> {
    let (email, name) = check_new_user(db, &new).await?;
    if user::Entity::find()
        .filter(user::Column::Email.eq(email.clone()))
        .count(db)
        .await?
        > 0
    {
        return Err(duplicate_email());
    }
    let now = Utc::now();
    let model = user::ActiveModel {
        email: Set(email),
        name: Set(name),
        password_hash: Set(hash_password(&new.password).await?),
        role: Set(new.role),
        cooperative_id: Set(new
            .cooperative_id
            .filter(|_| new.role == Role::CooperativeMember)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    // A concurrent registration of the same e-mail loses on the unique index.
    let created = model.insert(db).await.map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => duplicate_email(),
        _ => AppError::Database(e),
    })?;
    tracing::Span::current().record("user_id", created.id);
    Ok(created)
}

fn duplicate_email() -> AppError {
    AppError::user(
        UserErrorCode::Duplicate,
        &["email"],
        "An account already uses this e-mail address.",
    )
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Opens a session for `user_id`: returns the bearer token (shown once, stored hashed).
#[tracing::instrument(skip(db, ttl))]
pub async fn issue_token(
    db: &impl ConnectionTrait,
    user_id: i32,
    ttl: Duration,
) -> AppResult<String> {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let now = Utc::now();
    auth_token::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(token_hash(&token)),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// The viewer a bearer token stands for: anonymous unless the token exists, is not
/// revoked and has not expired.
pub async fn authenticate(db: &impl ConnectionTrait, token: &str) -> AppResult<Option<Viewer>> {
    // One statement: every authenticated request pays for it (bench/checkout.sh).
    let account: sea_orm::RelationDef = auth_token::Entity::belongs_to(user::Entity)
        .from(auth_token::Column::UserId)
        .to(user::Column::Id)
        .into();
    let Some((session, Some(account))) = auth_token::Entity::find()
        .select_also(user::Entity)
        .join(sea_orm::JoinType::InnerJoin, account)
        .filter(auth_token::Column::TokenHash.eq(token_hash(token)))
        .filter(auth_token::Column::RevokedAt.is_null())
        .filter(auth_token::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(Viewer::User(SignedIn {
        user_id: account.id,
        role: account.role,
        cooperative_id: account.cooperative_id,
        token_id: session.id,
    })))
}

/// Revokes one session.
#[tracing::instrument(skip(db))]
pub async fn revoke_token(db: &impl ConnectionTrait, token_id: i64) -> AppResult<()> {
    auth_token::Entity::update_many()
        .col_expr(auth_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(auth_token::Column::Id.eq(token_id))
        .filter(auth_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Checks e-mail and password. The attempt is counted before the password is checked,
/// and refused with `THROTTLED` beyond the limits of [`signin_limits`]; a wrong e-mail
/// and a wrong password get the same `INVALID_CREDENTIALS`, after the same work.
#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty, error = tracing::field::Empty))]
pub async fn login(
    db: &impl ConnectionTrait,
    limits: signin_limits::Limits,
    email: &str,
    password: &str,
    client: Option<std::net::IpAddr>,
) -> AppResult<user::Model> {
    // One exit, so the span records how the attempt ended (never the e-mail).
    let outcome: AppResult<_> = async {
        if input::email(email).is_none() || check_password(password).is_err() {
            // No account has such an e-mail or password: the same answer as a wrong one,
            // without storing or looking up text the database may not even accept.
            return Err(invalid_credentials());
        }
        let attempt = signin_limits::admit_login(db, limits, email, client).await?;
        let account = user::Entity::find()
            .filter(user::Column::Email.eq(email.trim().to_lowercase()))
            .one(db)
            .await?;
        let matched =
            verify_password(account.as_ref().map(|a| a.password_hash.clone()), password).await?;
        match account {
            Some(account) if matched => {
                attempt.succeeded(db).await?;
                Ok(account)
            }
            _ => {
                attempt.failed(db).await?;
                Err(invalid_credentials())
            }
        }
    }
    .await;
    if let Ok(account) = &outcome {
        tracing::Span::current().record("user_id", account.id);
    }
    record_outcome(outcome)
}

fn invalid_credentials() -> AppError {
    AppError::user(
        UserErrorCode::InvalidCredentials,
        &[],
        "The e-mail or the password is wrong.",
    )
}
