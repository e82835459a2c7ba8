//! Orders: placing them (stock taken at once, atomically, never oversold), replaying them
//! safely by idempotency key, and moving them through their life cycle
//! `PLACED → PAID → FULFILLED`, or `CANCELLED` / `REFUNDED`, with the stock effect and
//! history of every change.

use crate::domain::compliance;
use crate::domain::cooperatives::commission_bp;
use crate::domain::enums::{Channel, OrderStatus, PaymentMethod, StockMovementKind};
use crate::domain::input;
use crate::domain::policy::SignedIn;
use crate::domain::stock::{self, Movement, Shortage};
use crate::entities::{
    certification, certification_product, cooperative, order, order_event, order_line, product,
};
use crate::error::{AppError, AppResult, UserError, UserErrorCode, record_outcome};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, Set,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// Most lines an order may have.
pub const MAX_LINES: usize = 100;
/// Most units of one product an order may hold.
pub const MAX_QUANTITY: i32 = 1_000;
/// Longest idempotency key.
pub const MAX_KEY_LEN: usize = 128;

/// Who to contact about an order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// An order as the client asked for it.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    pub channel: Channel,
    /// (product id, quantity), in the client's order; repeated products are merged.
    pub lines: Vec<(i32, i32)>,
    pub idempotency_key: String,
    pub contact: Contact,
    pub note: Option<String>,
}

fn line_error(code: UserErrorCode, index: usize, field: &str, message: String) -> UserError {
    UserError {
        field: vec![
            "input".into(),
            "lines".into(),
            index.to_string(),
            field.into(),
        ],
        message,
        code,
    }
}

/// Checks the contact and the note of an order: trimmed, within their lengths, a
/// usable e-mail address and phone number; empty fields become `None`.
fn clean_contact(
    errors: &mut Vec<UserError>,
    contact: &Contact,
    note: Option<&str>,
) -> (Contact, Option<String>) {
    let non_empty = |t: Option<String>| t.filter(|t| !t.is_empty());
    let name = non_empty(input::optional(
        errors,
        "contact.name",
        "a contact name",
        contact.name.as_deref(),
        input::NAME,
        false,
    ));
    let email = contact
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .and_then(|e| match input::email(e) {
            Some(e) => Some(e),
            None => {
                errors.push(UserError::new(
                    UserErrorCode::InvalidEmail,
                    &["contact", "email"],
                    "Enter a valid e-mail address.",
                ));
                None
            }
        });
    let phone = contact
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .and_then(|p| match input::phone(p) {
            Some(p) => Some(p),
            None => {
                errors.push(UserError::new(
                    UserErrorCode::Invalid,
                    &["contact", "phone"],
                    "A phone number has 6 to 32 digits, spaces and + - . ( ).",
                ));
                None
            }
        });
    let note = non_empty(input::optional(
        errors,
        "note",
        "a note",
        note,
        input::ORDER_NOTE,
        true,
    ));
    (Contact { name, email, phone }, note)
}

/// A checked request: its lines merged by product, its trimmed key and its fingerprint.
struct Prepared {
    /// Product id → (quantity, index of its first line, for error paths).
    merged: BTreeMap<i32, (i32, usize)>,
    key: String,
    hash: String,
}

fn prepare(request: &mut OrderRequest) -> AppResult<Prepared> {
    let merged = validate(request)?;
    Ok(Prepared {
        key: request.idempotency_key.trim().to_owned(),
        hash: request_hash(request, &merged),
        merged,
    })
}

/// Checks the shape of a request and merges repeated products: product id → (quantity,
/// index of its first line, for error paths). The contact and note come back cleaned.
fn validate(request: &mut OrderRequest) -> AppResult<BTreeMap<i32, (i32, usize)>> {
    let mut errors = Vec::new();
    let key = request.idempotency_key.trim();
    if key.is_empty() || key.chars().count() > MAX_KEY_LEN || key.chars().any(char::is_control) {
        errors.push(UserError::new(
            UserErrorCode::Invalid,
            &["idempotencyKey"],
            format!(
                "An idempotency key has 1 to {MAX_KEY_LEN} characters, none of them control characters."
            ),
        ));
    }
    let (contact, note) = clean_contact(&mut errors, &request.contact, request.note.as_deref());
    request.contact = contact;
    request.note = note;
    if request.lines.is_empty() || request.lines.len() > MAX_LINES {
        errors.push(UserError::new(
            UserErrorCode::InvalidQuantity,
            &["lines"],
            format!("An order has 1 to {MAX_LINES} lines."),
        ));
    }
    let mut merged: BTreeMap<i32, (i32, usize)> = BTreeMap::new();
    for (index, (product_id, quantity)) in request.lines.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(quantity) {
            errors.push(line_error(
                UserErrorCode::InvalidQuantity,
                index,
                "quantity",
                format!("Order 1 to {MAX_QUANTITY} units of a product."),
            ));
            continue;
        }
        let entry = merged.entry(*product_id).or_insert((0, index));
        entry.0 += quantity;
    }
    for (quantity, index) in merged.values() {
        if *quantity > MAX_QUANTITY {
            errors.push(line_error(
                UserErrorCode::InvalidQuantity,
                *index,
                "quantity",
                format!("Order at most {MAX_QUANTITY} units of a product in all."),
            ));
        }
    }
    if errors.is_empty() {
        Ok(merged)
    } else {
        Err(AppError::User(errors))
    }
}

/// The fingerprint of a request's content, to tell a replay from a reuse of its key.
fn request_hash(request: &OrderRequest, merged: &BTreeMap<i32, (i32, usize)>) -> String {
    let lines: Vec<(i32, i32)> = merged.iter().map(|(id, (q, _))| (*id, *q)).collect();
    let canonical = serde_json::json!({
        "channel": request.channel.as_str(),
        "lines": lines,
        "contact": [request.contact.name, request.contact.email, request.contact.phone],
        "note": request.note,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

async fn find_by_key(
    db: &impl ConnectionTrait,
    user_id: i32,
    key: &str,
) -> AppResult<Option<order::Model>> {
    Ok(order::Entity::find()
        .filter(order::Column::UserId.eq(user_id))
        .filter(order::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

fn replay(existing: order::Model, hash: &str) -> AppResult<order::Model> {
    if existing.request_hash.as_deref() == Some(hash) {
        Ok(existing)
    } else {
        Err(AppError::user(
            UserErrorCode::IdempotencyConflict,
            &["idempotencyKey"],
            "This idempotency key was already used for a different order.",
        ))
    }
}

fn order_number() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    let code: String = (0..10)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("SM-{code}")
}

/// Places an order for `buyer`: validates it, refuses unsellable products, takes the
/// stock of every line and records the order with its snapshots, all in one transaction.
/// The same key with the same content returns the first order and changes nothing; with
/// other content it is refused (`IDEMPOTENCY_CONFLICT`).
#[tracing::instrument(skip_all, fields(buyer = buyer.user_id, channel = %request.channel, lines = request.lines.len(), order_id = tracing::field::Empty, error = tracing::field::Empty))]
pub async fn place(
    db: &DatabaseConnection,
    buyer: &SignedIn,
    mut request: OrderRequest,
    today: chrono::NaiveDate,
) -> AppResult<order::Model> {
    let prepared = prepare(&mut request)?;
    // A replay is found by the check at the start of the transaction, not by one before
    // it: one pool checkout and round trip less for every new order (bench/orders.sh).
    let txn = crate::db::begin_write(db).await?;
    let result = place_in(&txn, buyer, &request, &prepared, today, Utc::now()).await;
    let Prepared { key, hash, .. } = prepared;
    let outcome = match crate::db::finish(txn, result).await {
        // A concurrent request with the same key won the unique index: answer as a replay.
        Err(AppError::Database(e))
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            match find_by_key(db, buyer.user_id, &key).await? {
                Some(existing) => replay(existing, &hash),
                None => Err(AppError::Database(e)),
            }
        }
        other => other,
    };
    if let Ok(order) = &outcome {
        tracing::Span::current().record("order_id", order.id);
    }
    record_outcome(outcome)
}

/// Places an order in the caller's transaction as at instant `at`, `today` being its
/// market-local date (which decides what is sellable): the checks and effects of
/// [`place`], for replaying past sales such as the demo's history. A key already used is
/// answered as a replay or a conflict; a concurrent insert of the same key surfaces as a
/// database error (only [`place`] turns it into a replay).
#[tracing::instrument(skip_all, fields(buyer = buyer.user_id, channel = %request.channel, lines = request.lines.len()))]
pub async fn place_at(
    txn: &impl ConnectionTrait,
    buyer: &SignedIn,
    mut request: OrderRequest,
    today: chrono::NaiveDate,
    at: DateTime<Utc>,
) -> AppResult<order::Model> {
    let prepared = prepare(&mut request)?;
    place_in(txn, buyer, &request, &prepared, today, at).await
}

async fn place_in(
    txn: &impl ConnectionTrait,
    buyer: &SignedIn,
    request: &OrderRequest,
    prepared: &Prepared,
    today: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<order::Model> {
    let Prepared { merged, key, hash } = prepared;
    // Under SQLite's single writer this sees any order committed before; on PostgreSQL a
    // concurrent one with the same key is caught by the unique index (see `place`).
    if let Some(existing) = find_by_key(txn, buyer.user_id, key).await? {
        return replay(existing, hash);
    }
    // Every query is a round trip inside the transaction: products come with their
    // cooperatives, and certification lists are read only when a certification needs one.
    let ids: Vec<i32> = merged.keys().copied().collect();
    let mut products: HashMap<i32, product::Model> = HashMap::with_capacity(ids.len());
    let mut coops: HashMap<i32, cooperative::Model> = HashMap::new();
    for (p, coop) in product::Entity::find()
        .find_also_related(cooperative::Entity)
        .filter(product::Column::Id.is_in(ids.clone()))
        .all(txn)
        .await?
    {
        if let Some(coop) = coop {
            coops.insert(coop.id, coop);
        }
        products.insert(p.id, p);
    }
    let coop_ids: Vec<i32> = coops.keys().copied().collect();
    let certs = certification::Entity::find()
        .filter(certification::Column::CooperativeId.is_in(coop_ids))
        .all(txn)
        .await?;
    let listed: Vec<(i32, i32)> = if certs.iter().all(|c| c.covers_all_products) {
        Vec::new()
    } else {
        certification_product::Entity::find()
            .filter(certification_product::Column::ProductId.is_in(ids))
            .all(txn)
            .await?
            .into_iter()
            .map(|cp| (cp.certification_id, cp.product_id))
            .collect()
    };

    let mut errors = Vec::new();
    for (product_id, (_, index)) in merged {
        let Some(product) = products.get(product_id) else {
            errors.push(line_error(
                UserErrorCode::NotFound,
                *index,
                "productId",
                "No such product.".into(),
            ));
            continue;
        };
        let coop = coops
            .get(&product.cooperative_id)
            .ok_or_else(|| AppError::Internal("product without cooperative".into()))?;
        let covering: Vec<&certification::Model> = certs
            .iter()
            .filter(|c| c.cooperative_id == coop.id)
            .filter(|c| c.covers_all_products || listed.contains(&(c.id, product.id)))
            .collect();
        let issues = compliance::assess(product, coop, &covering, today);
        if !issues.is_empty() {
            let reasons: Vec<String> = issues.into_iter().map(|i| i.message).collect();
            errors.push(line_error(
                UserErrorCode::NotSellable,
                *index,
                "productId",
                format!("{} cannot be sold: {}", product.sku, reasons.join(" ")),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }

    let total: i64 = merged
        .iter()
        .map(|(id, (q, _))| products[id].price_cents * i64::from(*q))
        .sum();
    let items: i32 = merged.values().map(|(q, _)| q).sum();
    let order = order::ActiveModel {
        number: Set(order_number()),
        user_id: Set(Some(buyer.user_id)),
        channel: Set(request.channel),
        status: Set(OrderStatus::Placed),
        total_cents: Set(total),
        item_count: Set(items),
        contact_name: Set(request.contact.name.clone()),
        contact_email: Set(request.contact.email.clone()),
        contact_phone: Set(request.contact.phone.clone()),
        note: Set(request.note.clone()),
        idempotency_key: Set(Some(key.clone())),
        request_hash: Set(Some(hash.clone())),
        placed_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;

    // Stock is taken product by product in id order, so concurrent orders over the same
    // products always lock them in the same order and cannot deadlock.
    let mut errors = Vec::new();
    for (product_id, (quantity, index)) in merged {
        let field = vec![
            "input".into(),
            "lines".into(),
            index.to_string(),
            "quantity".into(),
        ];
        let taken = stock::apply_at(
            txn,
            Movement {
                product_id: *product_id,
                kind: StockMovementKind::Sale,
                delta: -quantity,
                reason: None,
                note: Some(format!("Order {}", order.number)),
                order_id: Some(order.id),
                author_id: Some(buyer.user_id),
            },
            Shortage::OrderLine(field),
            now,
        )
        .await;
        match taken {
            Ok(_) => {}
            Err(AppError::User(mut e)) => errors.append(&mut e),
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }

    let lines = merged.iter().map(|(product_id, (quantity, _))| {
        let p = &products[product_id];
        let coop = &coops[&p.cooperative_id];
        order_line::ActiveModel {
            order_id: Set(order.id),
            product_id: Set(p.id),
            sku: Set(p.sku.clone()),
            product_name: Set(p.name.clone()),
            quantity: Set(*quantity),
            unit_price_cents: Set(p.price_cents),
            total_cents: Set(p.price_cents * i64::from(*quantity)),
            cooperative_id: Set(coop.id),
            segment_id: Set(p.segment_id),
            region_code: Set(coop.region_code.clone()),
            kind: Set(coop.kind),
            commission_rate_bp: Set(commission_bp(coop)),
            payout_statement_id: Set(None),
            ..Default::default()
        }
    });
    order_line::Entity::insert_many(lines)
        .exec_without_returning(txn)
        .await?;
    record_event(
        txn,
        order.id,
        (None, OrderStatus::Placed),
        Some(buyer.user_id),
        None,
        now,
    )
    .await?;
    Ok(order)
}

async fn record_event(
    db: &impl ConnectionTrait,
    order_id: i64,
    (from, to): (Option<OrderStatus>, OrderStatus),
    actor: Option<i32>,
    note: Option<String>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    order_event::ActiveModel {
        order_id: Set(order_id),
        from_status: Set(from),
        to_status: Set(to),
        actor_id: Set(actor),
        note: Set(note),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A change of an order's status requested by a manager.
#[derive(Debug, Clone)]
pub enum Transition {
    MarkPaid {
        method: PaymentMethod,
        reference: Option<String>,
    },
    Fulfill,
    Cancel {
        reason: Option<String>,
    },
    Refund {
        restock: bool,
        reason: Option<String>,
    },
}

impl Transition {
    /// The transition's name in spans and logs (without its free-text reason).
    pub fn name(&self) -> &'static str {
        match self {
            Self::MarkPaid { .. } => "mark_paid",
            Self::Fulfill => "fulfill",
            Self::Cancel { .. } => "cancel",
            Self::Refund { .. } => "refund",
        }
    }

    /// The transition with its texts checked (a reference of at most 128 characters, a
    /// reason of at most 1,000; no control characters) and trimmed, blank ones dropped.
    pub fn checked(self) -> AppResult<Self> {
        let mut errors = Vec::new();
        let mut text = |field: &str, what: &str, value: Option<String>, max: usize| {
            input::optional(&mut errors, field, what, value.as_deref(), max, true)
                .filter(|t| !t.is_empty())
        };
        let checked = match self {
            Transition::MarkPaid { method, reference } => Transition::MarkPaid {
                method,
                reference: text(
                    "reference",
                    "a payment reference",
                    reference,
                    input::REFERENCE,
                ),
            },
            Transition::Fulfill => Transition::Fulfill,
            Transition::Cancel { reason } => Transition::Cancel {
                reason: text("reason", "a reason", reason, input::ORDER_NOTE),
            },
            Transition::Refund { restock, reason } => Transition::Refund {
                restock,
                reason: text("reason", "a reason", reason, input::ORDER_NOTE),
            },
        };
        if errors.is_empty() {
            Ok(checked)
        } else {
            Err(AppError::User(errors))
        }
    }

    /// The statuses it may start from, and the one it leads to.
    pub fn rule(&self) -> (&'static [OrderStatus], OrderStatus) {
        use OrderStatus::*;
        match self {
            Transition::MarkPaid { .. } => (&[Placed], Paid),
            Transition::Fulfill => (&[Paid], Fulfilled),
            Transition::Cancel { .. } => (&[Placed, Paid], Cancelled),
            Transition::Refund { .. } => (&[Paid, Fulfilled], Refunded),
        }
    }
}

/// Applies `transition` to order `order_id` in `txn`: a conditional update (so two
/// concurrent changes cannot both apply), the stock it returns, and a history line.
pub async fn transition(
    txn: &impl ConnectionTrait,
    order_id: i64,
    transition: Transition,
    actor: Option<i32>,
) -> AppResult<order::Model> {
    transition_at(txn, order_id, transition, actor, Utc::now()).await
}

/// [`transition`] as at instant `now`, for replaying past changes (the demo's history):
/// the order's timestamps, stock movements, payout corrections and history line carry it.
#[tracing::instrument(skip_all, fields(order_id = order_id, transition = transition.name(), actor = actor))]
pub async fn transition_at(
    txn: &impl ConnectionTrait,
    order_id: i64,
    transition: Transition,
    actor: Option<i32>,
    now: DateTime<Utc>,
) -> AppResult<order::Model> {
    let transition = transition.checked()?;
    let (from, to) = transition.rule();
    let current = order::Entity::find_by_id(order_id)
        .filter(visible())
        .one(txn)
        .await?
        .ok_or_else(|| AppError::user(UserErrorCode::NotFound, &["orderId"], "No such order."))?;
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to.as_str()))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.is_in(from.iter().map(|s| s.as_str())));
    let note = match &transition {
        Transition::MarkPaid { method, reference } => {
            update = update
                .col_expr(order::Column::PaidAt, Expr::value(now))
                .col_expr(order::Column::PaymentMethod, Expr::value(method.as_str()))
                .col_expr(
                    order::Column::PaymentReference,
                    Expr::value(reference.clone()),
                );
            reference.clone()
        }
        Transition::Fulfill => {
            update = update.col_expr(order::Column::FulfilledAt, Expr::value(now));
            None
        }
        Transition::Cancel { reason } => {
            update = update.col_expr(order::Column::CancelledAt, Expr::value(now));
            reason.clone()
        }
        Transition::Refund { reason, .. } => {
            update = update.col_expr(order::Column::RefundedAt, Expr::value(now));
            reason.clone()
        }
    };
    let changed = update.exec(txn).await?.rows_affected;
    if changed == 0 {
        let allowed: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        return Err(AppError::user(
            UserErrorCode::InvalidStatus,
            &["orderId"],
            format!(
                "Order {} is {}; only an order that is {} can become {}.",
                current.number,
                current.status,
                allowed.join(" or "),
                to
            ),
        ));
    }
    // An imported order never took stock (history moves none), so cancelling it returns
    // none; a refund with `restock` does: the goods come back to the shop.
    let restock = match &transition {
        Transition::Cancel { .. } if current.imported_at.is_none() => {
            Some(StockMovementKind::Cancellation)
        }
        Transition::Cancel { .. } => None,
        Transition::Refund { restock: true, .. } => Some(StockMovementKind::Return),
        _ => None,
    };
    if let Some(kind) = restock {
        let lines = order_line::Entity::find()
            .filter(order_line::Column::OrderId.eq(order_id))
            .order_by_asc(order_line::Column::ProductId)
            .all(txn)
            .await?;
        for line in lines {
            stock::apply_at(
                txn,
                Movement {
                    product_id: line.product_id,
                    kind,
                    delta: line.quantity,
                    reason: None,
                    note: Some(format!("Order {}", current.number)),
                    order_id: Some(order_id),
                    author_id: actor,
                },
                Shortage::Adjustment,
                now,
            )
            .await?;
        }
    }
    crate::domain::rollups::on_status_change(txn, order_id, current.status, to).await?;
    crate::domain::payouts::on_order_status_change(txn, &current, to, now).await?;
    record_event(txn, order_id, (Some(current.status), to), actor, note, now).await?;
    order::Entity::find_by_id(order_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::Internal("order vanished".into()))
}

/// Cancels every order left `PLACED` (unpaid) since before `older_than` ago, returning its
/// stock; each order in its own transaction. Returns the cancelled orders.
#[tracing::instrument(skip_all, fields(older_than_hours = older_than.num_hours(), actor = actor, cancelled = tracing::field::Empty))]
pub async fn cancel_stale(
    db: &DatabaseConnection,
    older_than: Duration,
    actor: Option<i32>,
) -> AppResult<Vec<order::Model>> {
    let cutoff: DateTime<Utc> = Utc::now() - older_than;
    let stale = order::Entity::find()
        .filter(order::Column::Status.eq(OrderStatus::Placed))
        .filter(order::Column::PlacedAt.lt(cutoff))
        .order_by_asc(order::Column::Id)
        .all(db)
        .await?;
    let mut cancelled = Vec::with_capacity(stale.len());
    for o in stale {
        let txn = crate::db::begin_write(db).await?;
        let reason = Some(format!(
            "Unpaid for more than {} hours",
            older_than.num_hours()
        ));
        let result = transition(&txn, o.id, Transition::Cancel { reason }, actor).await;
        match crate::db::finish(txn, result).await {
            Ok(order) => cancelled.push(order),
            // Paid or cancelled meanwhile by someone else: not stale any more.
            Err(AppError::User(_)) => {}
            Err(e) => return Err(e),
        }
    }
    tracing::Span::current().record("cancelled", cancelled.len());
    Ok(cancelled)
}

/// The orders anyone may see: all but those of an import still being written (its batch
/// not `DONE` yet, `domain::import`), so an import appears all at once or not at all.
pub fn visible() -> Condition {
    use sea_orm::sea_query::{Alias, ExprTrait, Query};
    Condition::any()
        .add(order::Column::ImportBatchId.is_null())
        .add(
            order::Column::ImportBatchId.in_subquery(
                Query::select()
                    .column(Alias::new("id"))
                    .from(Alias::new("import_batches"))
                    .and_where(Expr::col(Alias::new("state")).eq("DONE"))
                    .to_owned(),
            ),
        )
}

/// Which orders a viewer may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderScope {
    /// Managers: every order.
    All,
    /// Customers: the orders they placed.
    PlacedBy(i32),
    /// Members: the orders holding their cooperative's products (and only those lines).
    Cooperative(i32),
}

/// A filter of the order list.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub channel: Option<Channel>,
    /// Placed at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Placed before this instant.
    pub until: Option<DateTime<Utc>>,
    pub cooperative_id: Option<i32>,
}

/// The orders of `scope` matching `filter`.
pub fn orders_query(scope: OrderScope, filter: &OrderFilter) -> sea_orm::Select<order::Entity> {
    use sea_orm::sea_query::Query;
    let holding = |coop: i32| {
        order::Column::Id.in_subquery(
            Query::select()
                .column(order_line::Column::OrderId)
                .from(order_line::Entity)
                .and_where(order_line::Column::CooperativeId.eq(coop))
                .to_owned(),
        )
    };
    let mut select = order::Entity::find().filter(visible());
    match scope {
        OrderScope::All => {}
        OrderScope::PlacedBy(user) => select = select.filter(order::Column::UserId.eq(user)),
        OrderScope::Cooperative(coop) => select = select.filter(holding(coop)),
    }
    if let Some(status) = filter.status {
        select = select.filter(order::Column::Status.eq(status));
    }
    if let Some(channel) = filter.channel {
        select = select.filter(order::Column::Channel.eq(channel));
    }
    if let Some(from) = filter.from {
        select = select.filter(order::Column::PlacedAt.gte(from));
    }
    if let Some(until) = filter.until {
        select = select.filter(order::Column::PlacedAt.lt(until));
    }
    if let Some(coop) = filter.cooperative_id {
        select = select.filter(holding(coop));
    }
    select
}

/// The orders among `ids` that `scope` may read, in one statement (the others are left out).
pub async fn visible_by_ids(
    db: &impl ConnectionTrait,
    scope: OrderScope,
    ids: Vec<i64>,
) -> AppResult<Vec<order::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(orders_query(scope, &OrderFilter::default())
        .filter(order::Column::Id.is_in(ids))
        .all(db)
        .await?)
}

/// How a client names one order.
#[derive(Debug, Clone)]
pub enum OrderKey {
    Id(i64),
    Number(String),
}

/// The order named by `key`, if `scope` may read it.
pub async fn find_in_scope(
    db: &impl ConnectionTrait,
    scope: OrderScope,
    key: OrderKey,
) -> AppResult<Option<order::Model>> {
    let select = orders_query(scope, &OrderFilter::default());
    let select = match key {
        OrderKey::Id(id) => select.filter(order::Column::Id.eq(id)),
        OrderKey::Number(number) => select.filter(order::Column::Number.eq(number)),
    };
    Ok(select.one(db).await?)
}
