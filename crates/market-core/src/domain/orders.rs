//! Orders: placing them (stock taken at once, atomically, never oversold), replaying them
//! safely by idempotency key, and moving them through their life cycle
//! `PLACED → PAID → FULFILLED`, or `CANCELLED` / `REFUNDED`, and their parcels through
//! `SHIPPED → DELIVERED` or `RETURNED` (cash on delivery: unpaid until the courier brings
//! the money), with the stock effect and history of every change. An order's delivery fee
//! is in its total, never in a line.

use crate::domain::addresses::AddressFields;
use crate::domain::compliance;
use crate::domain::cooperatives::commission_bp;
use crate::domain::delivery::{self, Quote};
use crate::domain::enums::{
    Channel, CooperativeKind, DeliveryStatus, OrderStatus, PaymentMethod, StockMovementKind,
};
use crate::domain::events::{self, EventKind, NewEvent};
use crate::domain::input;
use crate::domain::policy::SignedIn;
use crate::domain::stock::{self, Movement, Shortage};
use crate::entities::{
    certification, certification_product, cooperative, order, order_event, order_line,
    pack_component, product, promotion, stock_movement,
};
use crate::error::{AppError, AppResult, UserError, UserErrorCode, record_outcome};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::sea_query::{Expr, ExprTrait, JoinType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend,
    EntityTrait, FromQueryResult, QueryFilter, QueryOrder, Set, Statement,
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
    /// How the order reaches the buyer; `None`: no delivery chosen (the till).
    pub delivery: Option<DeliveryChoice>,
}

/// The delivery an order asks for: a method and, for home delivery, the (checked) address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryChoice {
    pub method_id: i32,
    pub address: Option<AddressFields>,
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
    /// The quote of the delivery asked for (read before the write).
    delivery: Option<Quote>,
    /// The instant whose promotions price the order.
    priced_at: DateTime<Utc>,
}

fn prepare(request: &mut OrderRequest) -> AppResult<Prepared> {
    let merged = validate(request)?;
    Ok(Prepared {
        key: request.idempotency_key.trim().to_owned(),
        hash: request_hash(request, &merged),
        merged,
        delivery: None,
        priced_at: Utc::now(),
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
    if request.delivery.is_some() && request.channel == Channel::Store {
        errors.push(UserError::new(
            UserErrorCode::Invalid,
            &["deliveryMethodId"],
            "A STORE sale is handed over at the till: it has no delivery.",
        ));
    }
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
    let mut canonical = serde_json::json!({
        "channel": request.channel.as_str(),
        "lines": lines,
        "contact": [request.contact.name, request.contact.email, request.contact.phone],
        "note": request.note,
    });
    // Only when there is one, so the fingerprints of orders without delivery are unchanged.
    if let Some(d) = &request.delivery {
        canonical["delivery"] = serde_json::json!([d.method_id, d.address]);
    }
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
/// stock of every line and records the order with its snapshots, all at once or not at
/// all. The same key with the same content returns the first order and changes nothing;
/// with other content it is refused (`IDEMPOTENCY_CONFLICT`).
///
/// Two statements for a new order (BENCHMARKS.md, placeOrder after issue #20): one read
/// (the products with their cooperatives, the certifications that may cover them, the
/// promotions running and the components of any gift pack asked for — whose component
/// rows alone take one more statement), then the write — on PostgreSQL one statement
/// that is its own transaction, on SQLite one `BEGIN IMMEDIATE` transaction of short
/// statements.
pub async fn place(
    db: &DatabaseConnection,
    buyer: &SignedIn,
    request: OrderRequest,
    today: chrono::NaiveDate,
) -> AppResult<order::Model> {
    place_priced(db, buyer, request, today, Utc::now()).await
}

/// [`place`] with the promotions running at `priced_at` (the server's clock, which tests
/// may pin; the order is placed now).
#[tracing::instrument(skip_all, fields(buyer = buyer.user_id, channel = %request.channel, lines = request.lines.len(), order_id = tracing::field::Empty, error = tracing::field::Empty))]
pub async fn place_priced(
    db: &DatabaseConnection,
    buyer: &SignedIn,
    mut request: OrderRequest,
    today: chrono::NaiveDate,
    priced_at: DateTime<Utc>,
) -> AppResult<order::Model> {
    let mut prepared = prepare(&mut request)?;
    prepared.priced_at = priced_at;
    let outcome = async {
        if let Err(e) = quote_delivery(db, &request, &mut prepared).await {
            return refused(db, buyer.user_id, &prepared, e).await;
        }
        // Up to three attempts: a shortage that is gone when its lines are read again
        // (stock delivered meanwhile) is tried once more rather than refused.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let written = match db.get_database_backend() {
                DbBackend::Postgres => {
                    place_in(db, buyer, &request, &prepared, today, Utc::now()).await
                }
                _ => {
                    let checked = match check(db, &prepared, today).await {
                        Ok(lines) => lines,
                        Err(e) => return refused(db, buyer.user_id, &prepared, e).await,
                    };
                    let _turn = crate::db::sqlite_writer_turn(db).await;
                    let txn = crate::db::begin_write(db).await?;
                    // A write that did not place the order leaves nothing behind.
                    let result =
                        write_sqlite(&txn, buyer, &request, &prepared, &checked, Utc::now())
                            .await
                            .and_then(|placed| placed.ok_or_else(stock_moved));
                    crate::db::finish(txn, result).await.map(Some)
                }
            };
            match written {
                Ok(None) if attempts < 3 => {}
                Ok(None) => break Err(stock_moved()),
                Ok(Some(order)) => break Ok(order),
                Err(e) => break Err(e),
            }
        }
    }
    .await;
    if let Ok(order) = &outcome {
        tracing::Span::current().record("order_id", order.id);
    }
    record_outcome(outcome)
}

/// Places an order in the caller's transaction as at instant `at`, `today` being its
/// market-local date (which decides what is sellable): the checks and effects of
/// [`place`], for replaying past sales such as the demo's history. A key already used is
/// answered as a replay or a conflict.
#[tracing::instrument(skip_all, fields(buyer = buyer.user_id, channel = %request.channel, lines = request.lines.len()))]
pub async fn place_at(
    txn: &impl ConnectionTrait,
    buyer: &SignedIn,
    mut request: OrderRequest,
    today: chrono::NaiveDate,
    at: DateTime<Utc>,
) -> AppResult<order::Model> {
    let mut prepared = prepare(&mut request)?;
    prepared.priced_at = at;
    if let Err(e) = quote_delivery(txn, &request, &mut prepared).await {
        return refused(txn, buyer.user_id, &prepared, e).await;
    }
    let written = match txn.get_database_backend() {
        DbBackend::Postgres => place_in(txn, buyer, &request, &prepared, today, at).await?,
        _ => {
            let checked = match check(txn, &prepared, today).await {
                Ok(lines) => lines,
                Err(e) => return refused(txn, buyer.user_id, &prepared, e).await,
            };
            write_sqlite(txn, buyer, &request, &prepared, &checked, at).await?
        }
    };
    written.ok_or_else(stock_moved)
}

/// Reads the quote of the delivery the request asks for (one statement more, only then).
async fn quote_delivery(
    db: &impl ConnectionTrait,
    request: &OrderRequest,
    prepared: &mut Prepared,
) -> AppResult<()> {
    if let Some(choice) = &request.delivery {
        prepared.delivery = Some(
            delivery::quote(
                db,
                choice.method_id,
                choice.address.as_ref(),
                &["deliveryMethodId"],
            )
            .await?,
        );
    }
    Ok(())
}

/// PostgreSQL: the checks, then the one-statement write.
async fn place_in(
    db: &impl ConnectionTrait,
    buyer: &SignedIn,
    request: &OrderRequest,
    prepared: &Prepared,
    today: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<Option<order::Model>> {
    let checked = match check(db, prepared, today).await {
        Ok(lines) => lines,
        Err(e) => return refused(db, buyer.user_id, prepared, e).await.map(Some),
    };
    write_pg(db, buyer, request, prepared, &checked, now).await
}

/// A write refused for a shortage that a second look no longer finds, three times over.
fn stock_moved() -> AppError {
    AppError::internal("the stock kept changing while the order was placed")
}

/// One line as it is recorded: the product and its cooperative as the checks saw them.
#[derive(Debug, Clone, serde::Serialize)]
struct Line {
    product_id: i32,
    quantity: i32,
    #[serde(skip)]
    index: usize,
    sku: String,
    product_name: String,
    unit_price_cents: i64,
    cooperative_id: i32,
    segment_id: i32,
    region_code: String,
    kind: CooperativeKind,
    commission_rate_bp: i32,
    /// The line's revenue: `unit_price_cents × quantity` for a product sold alone, the
    /// component's share of the pack's total for a pack's component.
    total_cents: i64,
    /// The pack this line is a component of, and the pack as sold (snapshots).
    pack_id: Option<i32>,
    pack_sku: Option<String>,
    pack_name: Option<String>,
    pack_quantity: Option<i32>,
    pack_unit_price_cents: Option<i64>,
    /// The promotion that lowered the price, what it took off `total_cents` and the part
    /// the market funds (`domain::promotions`).
    promotion_id: Option<i32>,
    discount_cents: i64,
    market_discount_cents: i64,
}

/// The stock an order takes of one product: its lines' units added up (a product sold
/// alone and in a pack of the same order is taken once).
#[derive(Debug, Clone)]
struct Take {
    product_id: i32,
    quantity: i32,
    /// The index of its first line, for error paths.
    index: usize,
    sku: String,
    cooperative_id: i32,
}

/// The stock to take, one per product, in product id order (the order rows are locked in).
fn takes(lines: &[Line]) -> Vec<Take> {
    let mut by_product: BTreeMap<i32, Take> = BTreeMap::new();
    for l in lines {
        by_product
            .entry(l.product_id)
            .and_modify(|t| t.quantity += l.quantity)
            .or_insert_with(|| Take {
                product_id: l.product_id,
                quantity: l.quantity,
                index: l.index,
                sku: l.sku.clone(),
                cooperative_id: l.cooperative_id,
            });
    }
    by_product.into_values().collect()
}

/// Reads what an order needs in one statement and checks that every product exists and
/// is sellable on `today`; returns the lines in product id order, snapshots filled.
async fn check(
    db: &impl ConnectionTrait,
    prepared: &Prepared,
    today: chrono::NaiveDate,
) -> AppResult<Vec<Line>> {
    let merged = &prepared.merged;
    let ids: Vec<i32> = merged.keys().copied().collect();
    // One statement: each product with its cooperative, the cooperative's certifications
    // and whether each one lists the product (a certification that covers all products
    // lists none) — one row per product and certification.
    use sea_orm::sea_query::Alias;
    use sea_orm::{IdenStatic, Iterable, QueryTrait};
    let (c, cp) = (Alias::new("c"), Alias::new("cp"));
    // The components of the packs asked for come in the same statement (for an order
    // without packs the subquery finds nothing).
    let mut query = product::Entity::find()
        .find_also_related(cooperative::Entity)
        .filter(
            Condition::any()
                .add(product::Column::Id.is_in(ids.clone()))
                .add(
                    product::Column::Id.in_subquery(
                        sea_orm::sea_query::Query::select()
                            .column(pack_component::Column::ComponentId)
                            .from(pack_component::Entity)
                            .and_where(pack_component::Column::PackId.is_in(ids.clone()))
                            .to_owned(),
                    ),
                ),
        )
        .into_query();
    query
        .join_as(
            JoinType::LeftJoin,
            certification::Entity,
            c.clone(),
            Expr::col((c.clone(), certification::Column::CooperativeId))
                .equals((cooperative::Entity, cooperative::Column::Id)),
        )
        .join_as(
            JoinType::LeftJoin,
            certification_product::Entity,
            cp.clone(),
            Condition::all()
                .add(
                    Expr::col((cp.clone(), certification_product::Column::CertificationId))
                        .equals((c.clone(), certification::Column::Id)),
                )
                .add(
                    Expr::col((cp.clone(), certification_product::Column::ProductId))
                        .equals((product::Entity, product::Column::Id)),
                ),
        );
    // The promotions running at the pricing instant, in the same statement.
    let pr = Alias::new("pr");
    query.join_as(
        JoinType::LeftJoin,
        promotion::Entity,
        pr.clone(),
        crate::domain::promotions::applies("pr", prepared.priced_at),
    );
    for column in certification::Column::iter() {
        query.expr_as(
            Expr::col((c.clone(), column)),
            Alias::new(format!("C_{}", column.as_str())),
        );
    }
    for column in promotion::Column::iter() {
        query.expr_as(
            Expr::col((pr.clone(), column)),
            Alias::new(format!("P_{}", column.as_str())),
        );
    }
    query.expr_as(
        Expr::col((cp.clone(), certification_product::Column::ProductId)),
        Alias::new("listed"),
    );
    let rows = db
        .query_all_raw(db.get_database_backend().build(&query))
        .await?;
    let mut products: HashMap<i32, product::Model> = HashMap::with_capacity(ids.len());
    let mut coops: HashMap<i32, cooperative::Model> = HashMap::new();
    let mut certs: Vec<certification::Model> = Vec::new();
    let mut listed: Vec<(i32, i32)> = Vec::new();
    let mut promos: HashMap<i32, Vec<promotion::Model>> = HashMap::new();
    for row in rows {
        let product = product::Model::from_query_result(&row, "A_")?;
        if let Some(promo) = promotion::Model::from_query_result_optional(&row, "P_")? {
            let known = promos.entry(product.id).or_default();
            if !known.iter().any(|p| p.id == promo.id) {
                known.push(promo);
            }
        }
        if let Some(coop) = cooperative::Model::from_query_result_optional(&row, "B_")? {
            coops.entry(coop.id).or_insert(coop);
        }
        if let Some(cert) = certification::Model::from_query_result_optional(&row, "C_")? {
            if row.try_get::<Option<i32>>("", "listed")?.is_some() {
                listed.push((cert.id, product.id));
            }
            if !certs.iter().any(|known| known.id == cert.id) {
                certs.push(cert);
            }
        }
        products.entry(product.id).or_insert(product);
    }

    // Packs only: their components (one more statement, only for an order with packs).
    let pack_ids: Vec<i32> = merged
        .keys()
        .filter(|id| products.get(id).is_some_and(|p| p.is_pack))
        .copied()
        .collect();
    let components = crate::domain::packs::components_of(db, &pack_ids).await?;
    let assess = |product: &product::Model| -> AppResult<(&cooperative::Model, Vec<compliance::ComplianceIssue>)> {
        let coop = coops
            .get(&product.cooperative_id)
            .ok_or_else(|| AppError::Internal("product without cooperative".into()))?;
        let covering: Vec<&certification::Model> = certs
            .iter()
            .filter(|c| c.cooperative_id == coop.id)
            .filter(|c| c.covers_all_products || listed.contains(&(c.id, product.id)))
            .collect();
        Ok((coop, compliance::assess(product, coop, &covering, today)))
    };

    let mut errors = Vec::new();
    let mut lines = Vec::with_capacity(merged.len());
    for (product_id, (quantity, index)) in merged {
        let Some(product) = products.get(product_id) else {
            errors.push(line_error(
                UserErrorCode::NotFound,
                *index,
                "productId",
                "No such product.".into(),
            ));
            continue;
        };
        let promotion = crate::domain::promotions::best(
            promos.get(product_id).into_iter().flatten(),
            product.price_cents,
        );
        if product.is_pack {
            let sale = PackSale {
                pack: product,
                quantity: *quantity,
                index: *index,
                promotion,
            };
            match pack_lines(sale, &components, &products, &assess)? {
                Ok(pack) => lines.extend(pack),
                Err(error) => errors.push(error),
            }
            continue;
        }
        let (coop, issues) = assess(product)?;
        let discount = promotion.map_or(0, |(_, off)| off * i64::from(*quantity));
        if !issues.is_empty() {
            let reasons: Vec<String> = issues.into_iter().map(|i| i.message).collect();
            errors.push(line_error(
                UserErrorCode::NotSellable,
                *index,
                "productId",
                format!("{} cannot be sold: {}", product.sku, reasons.join(" ")),
            ));
            continue;
        }
        lines.push(Line {
            product_id: product.id,
            quantity: *quantity,
            index: *index,
            sku: product.sku.clone(),
            product_name: product.name.clone(),
            unit_price_cents: product.price_cents,
            cooperative_id: coop.id,
            segment_id: product.segment_id,
            region_code: coop.region_code.clone(),
            kind: coop.kind,
            commission_rate_bp: commission_bp(coop),
            total_cents: product.price_cents * i64::from(*quantity) - discount,
            pack_id: None,
            pack_sku: None,
            pack_name: None,
            pack_quantity: None,
            pack_unit_price_cents: None,
            promotion_id: promotion.map(|(p, _)| p.id),
            discount_cents: discount,
            market_discount_cents: promotion.map_or(0, |(p, _)| {
                crate::domain::promotions::market_part(p, discount)
            }),
        });
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(AppError::User(errors))
    }
}

type Assess<'a> = dyn Fn(&product::Model) -> AppResult<(&'a cooperative::Model, Vec<compliance::ComplianceIssue>)>
    + 'a;

/// A pack as an order line asks for it, with the promotion that applies to it and its
/// unit discount.
struct PackSale<'p> {
    pack: &'p product::Model,
    quantity: i32,
    index: usize,
    promotion: Option<(&'p promotion::Model, i64)>,
}

/// The lines of a pack sold: one per component, in component id order, each with its
/// share of the pack's total (and of its discount) in proportion to the component's list
/// price × quantity (`packs::allocate`), its own cooperative's snapshots and commission
/// rate; or the `NOT_SELLABLE` error naming every component that cannot be sold.
fn pack_lines<'a>(
    sale: PackSale<'_>,
    components: &BTreeMap<i32, Vec<crate::entities::pack_component::Model>>,
    products: &'a HashMap<i32, product::Model>,
    assess: &Assess<'a>,
) -> AppResult<Result<Vec<Line>, UserError>> {
    let PackSale {
        pack,
        quantity,
        index,
        promotion,
    } = sale;
    let mut issues = Vec::new();
    if !pack.active {
        issues.push(compliance::inactive());
    }
    let mut parts = Vec::new();
    for c in components
        .get(&pack.id)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let component = products
            .get(&c.component_id)
            .ok_or_else(|| AppError::Internal("pack component not read".into()))?;
        let (coop, found) = assess(component)?;
        issues.extend(found.into_iter().map(|i| i.for_component(&component.sku)));
        parts.push((component, coop, c.quantity));
    }
    if parts.is_empty() {
        return Ok(Err(line_error(
            UserErrorCode::NotSellable,
            index,
            "productId",
            format!("{} cannot be sold: the pack has no components.", pack.sku),
        )));
    }
    if !issues.is_empty() {
        let reasons: Vec<String> = issues.into_iter().map(|i| i.message).collect();
        return Ok(Err(line_error(
            UserErrorCode::NotSellable,
            index,
            "productId",
            format!("{} cannot be sold: {}", pack.sku, reasons.join(" ")),
        )));
    }
    let weights: Vec<i64> = parts
        .iter()
        .map(|(p, _, q)| p.price_cents * i64::from(*q))
        .collect();
    // The list total, the discount and the market's part of it are each split in
    // proportion to the components' list prices, exactly: the lines' totals add up to
    // what the shopper pays.
    use crate::domain::packs::allocate;
    let discount = promotion.map_or(0, |(_, off)| off * i64::from(quantity));
    let market = promotion.map_or(0, |(p, _)| {
        crate::domain::promotions::market_part(p, discount)
    });
    let list_shares = allocate(pack.price_cents * i64::from(quantity), &weights);
    let discount_shares = allocate(discount, &weights);
    let market_shares = allocate(market, &weights);
    let shares = list_shares
        .into_iter()
        .zip(discount_shares)
        .zip(market_shares)
        .map(|((list, off), market)| (list - off, off, market));
    Ok(Ok(parts
        .into_iter()
        .zip(shares)
        .map(|((component, coop, per_pack), (share, off, market))| Line {
            product_id: component.id,
            quantity: per_pack * quantity,
            index,
            sku: component.sku.clone(),
            product_name: component.name.clone(),
            unit_price_cents: component.price_cents,
            cooperative_id: coop.id,
            segment_id: component.segment_id,
            region_code: coop.region_code.clone(),
            kind: coop.kind,
            commission_rate_bp: commission_bp(coop),
            total_cents: share,
            pack_id: Some(pack.id),
            pack_sku: Some(pack.sku.clone()),
            pack_name: Some(pack.name.clone()),
            pack_quantity: Some(quantity),
            pack_unit_price_cents: Some(pack.price_cents),
            promotion_id: promotion.map(|(p, _)| p.id),
            discount_cents: off,
            market_discount_cents: market,
        })
        .collect()))
}

/// A refused request whose key was already used answers as that order's replay (or an
/// `IDEMPOTENCY_CONFLICT`): the first order stands even if its products cannot be sold
/// any more. Any other refusal stands.
async fn refused(
    db: &impl ConnectionTrait,
    user_id: i32,
    prepared: &Prepared,
    error: AppError,
) -> AppResult<order::Model> {
    if !matches!(error, AppError::User(_)) {
        return Err(error);
    }
    match find_by_key(db, user_id, &prepared.key).await? {
        Some(existing) => replay(existing, &prepared.hash),
        None => Err(error),
    }
}

/// The order's total (its lines and the delivery fee), its number of items and its
/// delivery fee.
fn totals(lines: &[Line], prepared: &Prepared) -> (i64, i32, i64) {
    let subtotal: i64 = lines.iter().map(|l| l.total_cents).sum();
    let fee = prepared
        .delivery
        .as_ref()
        .map_or(0, |q| q.fee_for(subtotal));
    (subtotal + fee, lines.iter().map(|l| l.quantity).sum(), fee)
}

/// The delivery columns of a new order: method, fee and address snapshot.
fn delivery_values(request: &OrderRequest, fee: i64) -> [sea_orm::Value; 3] {
    let choice = request.delivery.as_ref();
    [
        choice.map(|d| d.method_id).into(),
        fee.into(),
        choice
            .and_then(|d| d.address.as_ref())
            .map(AddressFields::to_json)
            .into(),
    ]
}

/// PostgreSQL: the whole order in one statement, which is its own transaction when no
/// transaction is open. The order row is inserted unless its key exists (`ON CONFLICT DO
/// NOTHING`: a concurrent request with the same key waits for this one and then finds
/// nothing to do); only then are the products locked, in id order (`ORDER BY id FOR
/// UPDATE`: concurrent orders over the same products cannot deadlock), and their stock
/// taken. A line that is short takes the level below zero, which `CHECK (stock >= 0)`
/// refuses: the statement fails and nothing of it remains (under READ COMMITTED the
/// check sees the level left by any concurrent order it waited for). The movements, lines,
/// history, one catalog version and the events (`order.placed`, and `stock.low` /
/// `stock.out` for the products it takes across their thresholds: `domain::events`) come
/// from the same statement; other instances hear of them after commit
/// (`catalog_version::Announcer`, `events::Hub::poke`), never from a `NOTIFY` inside it.
/// Products are found by `id = ANY (ARRAY(…))`, an index scan: the prepared statement's
/// generic plan cannot know that the JSON holds a few lines and would otherwise join them
/// by scanning every product.
const PLACE_POSTGRES: &str = r#"WITH l AS (
    SELECT * FROM json_to_recordset($1::json) AS l(product_id int, quantity int, sku text,
        product_name text, unit_price_cents bigint, cooperative_id int, segment_id int,
        region_code text, kind text, commission_rate_bp int, total_cents bigint, pack_id int,
        pack_sku text, pack_name text, pack_quantity int, pack_unit_price_cents bigint,
        promotion_id int, discount_cents bigint, market_discount_cents bigint)
), w AS (
    SELECT product_id, sum(quantity)::int AS quantity, min(sku) AS sku,
        min(cooperative_id) AS cooperative_id
    FROM l GROUP BY product_id
), o AS (
    INSERT INTO orders (number, user_id, channel, status, total_cents, item_count,
        contact_name, contact_email, contact_phone, note, idempotency_key, request_hash,
        placed_at, updated_at, delivery_method_id, delivery_fee_cents, shipping_address)
    VALUES ($2, $3, $4, 'PLACED', $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $15, $16, $17)
    ON CONFLICT (user_id, idempotency_key) DO NOTHING
    RETURNING *
), locked AS (
    SELECT p.id FROM products p
    WHERE p.id = ANY (ARRAY(SELECT product_id FROM l)) AND EXISTS (SELECT 1 FROM o)
    ORDER BY p.id FOR UPDATE OF p
), taken AS (
    UPDATE products p SET stock = p.stock - w.quantity, updated_at = $13
    FROM w
    WHERE p.id = ANY (ARRAY(SELECT id FROM locked)) AND w.product_id = p.id
    RETURNING p.id, p.stock, p.low_stock_threshold AS threshold
), moved AS (
    INSERT INTO stock_movements (product_id, kind, delta, level_after, note, order_id,
        author_id, created_at)
    SELECT taken.id, 'SALE', -w.quantity, taken.stock, $14, o.id, $3, $13
    FROM taken JOIN w ON w.product_id = taken.id CROSS JOIN o
), lined AS (
    INSERT INTO order_lines (order_id, product_id, sku, product_name, quantity,
        unit_price_cents, total_cents, cooperative_id, segment_id, region_code, kind,
        commission_rate_bp, pack_id, pack_sku, pack_name, pack_quantity,
        pack_unit_price_cents, promotion_id, discount_cents, market_discount_cents)
    SELECT o.id, l.product_id, l.sku, l.product_name, l.quantity, l.unit_price_cents,
        l.total_cents, l.cooperative_id, l.segment_id, l.region_code,
        l.kind, l.commission_rate_bp, l.pack_id, l.pack_sku, l.pack_name, l.pack_quantity,
        l.pack_unit_price_cents, l.promotion_id, l.discount_cents, l.market_discount_cents
    FROM o CROSS JOIN l ORDER BY l.product_id, l.pack_id NULLS FIRST
), evented AS (
    INSERT INTO order_events (order_id, to_status, actor_id, created_at)
    SELECT o.id, 'PLACED', $3, $13 FROM o
), changed AS (
    INSERT INTO catalog_changes (changed_at) SELECT $13 FROM o RETURNING id
), announced AS (
    INSERT INTO events (kind, subject, user_id, cooperatives, payload, created_at)
    SELECT 'order.placed', o.number, o.user_id,
        (SELECT json_agg(DISTINCT l.cooperative_id)::text FROM l),
        json_build_object('number', o.number, 'status', 'PLACED')::text, $13
    FROM o
    UNION ALL
    SELECT CASE WHEN taken.stock = 0 THEN 'stock.out' ELSE 'stock.low' END, w.sku, NULL,
        json_build_array(w.cooperative_id)::text,
        json_build_object('sku', w.sku, 'stock', taken.stock, 'threshold', taken.threshold)::text,
        $13
    FROM taken JOIN w ON w.product_id = taken.id
    WHERE taken.stock = 0
        OR (taken.stock <= taken.threshold AND taken.stock + w.quantity > taken.threshold)
)
SELECT o.*, changed.id AS catalog_version, (SELECT count(*) FROM taken) AS taken_lines
FROM o CROSS JOIN changed"#;

async fn write_pg(
    db: &impl ConnectionTrait,
    buyer: &SignedIn,
    request: &OrderRequest,
    prepared: &Prepared,
    lines: &[Line],
    now: DateTime<Utc>,
) -> AppResult<Option<order::Model>> {
    let (total, items, fee) = totals(lines, prepared);
    let number = order_number();
    let json = serde_json::to_string(lines)
        .map_err(|e| AppError::internal_caused("order lines as JSON", e))?;
    let mut values: Vec<sea_orm::Value> = vec![
        json.into(),
        number.clone().into(),
        buyer.user_id.into(),
        request.channel.as_str().into(),
        total.into(),
        items.into(),
        request.contact.name.clone().into(),
        request.contact.email.clone().into(),
        request.contact.phone.clone().into(),
        request.note.clone().into(),
        prepared.key.clone().into(),
        prepared.hash.clone().into(),
        now.into(),
        format!("Order {number}").into(),
    ];
    values.extend(delivery_values(request, fee));
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, PLACE_POSTGRES, values);
    let row = match db.query_one_raw(statement).await {
        Ok(row) => row,
        Err(e) if is_check_violation(&e) => return shortage(db, lines).await,
        Err(e) => return Err(e.into()),
    };
    let Some(row) = row else {
        // The key exists: a replay, or a conflict.
        return match find_by_key(db, buyer.user_id, &prepared.key).await? {
            Some(existing) => replay(existing, &prepared.hash).map(Some),
            None => Ok(None),
        };
    };
    let taken: i64 = row.try_get("", "taken_lines")?;
    let products = takes(lines).len();
    if taken != products as i64 {
        return Err(AppError::internal(format!(
            "an order took the stock of {taken} of its {products} products"
        )));
    }
    crate::domain::catalog_version::wrote(row.try_get("", "catalog_version")?);
    crate::domain::catalog_version::emitted();
    Ok(Some(order::Model::from_query_result(&row, "")?))
}

/// Whether a statement failed on a `CHECK` constraint (a level below zero).
fn is_check_violation(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(e.as_ref(), sea_orm::sqlx::Error::Database(d) if d.is_check_violation())
        }
        _ => false,
    }
}

/// Refuses with the `OUT_OF_STOCK` errors of the lines that are short now (after a write
/// that failed for it), saying how many units are available; `None` (try again) if none
/// is any more.
async fn shortage(db: &impl ConnectionTrait, lines: &[Line]) -> AppResult<Option<order::Model>> {
    let levels: HashMap<i32, i32> = product::Entity::find()
        .filter(product::Column::Id.is_in(lines.iter().map(|l| l.product_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.stock))
        .collect();
    let errors: Vec<UserError> = takes(lines)
        .iter()
        .filter_map(|line| {
            let available = levels.get(&line.product_id).copied().unwrap_or(0);
            (available < line.quantity).then(|| {
                line_error(
                    UserErrorCode::OutOfStock,
                    line.index,
                    "quantity",
                    format!("Only {available} units of {} are available.", line.sku),
                )
            })
        })
        .collect();
    if errors.is_empty() {
        Ok(None)
    } else {
        Err(AppError::User(errors))
    }
}

/// SQLite: the order in the caller's write transaction (SQLite runs one writer at a time,
/// so nothing changes between these statements): the order row unless its key exists,
/// every line's stock in one conditional `UPDATE` (all lines or the order fails), then
/// the movements and lines in one multi-row `INSERT` each, the history line and one
/// catalog version.
async fn write_sqlite(
    txn: &impl ConnectionTrait,
    buyer: &SignedIn,
    request: &OrderRequest,
    prepared: &Prepared,
    lines: &[Line],
    now: DateTime<Utc>,
) -> AppResult<Option<order::Model>> {
    let (total, items, fee) = totals(lines, prepared);
    let number = order_number();
    let [method, fee, address] = delivery_values(request, fee);
    let insert = Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "INSERT INTO orders (number, user_id, channel, status, total_cents, item_count, \
         contact_name, contact_email, contact_phone, note, idempotency_key, request_hash, \
         placed_at, updated_at, delivery_method_id, delivery_fee_cents, shipping_address) \
         VALUES (?, ?, ?, 'PLACED', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING *",
        [
            number.clone().into(),
            buyer.user_id.into(),
            request.channel.as_str().into(),
            total.into(),
            items.into(),
            request.contact.name.clone().into(),
            request.contact.email.clone().into(),
            request.contact.phone.clone().into(),
            request.note.clone().into(),
            prepared.key.clone().into(),
            prepared.hash.clone().into(),
            now.into(),
            now.into(),
            method,
            fee,
            address,
        ],
    );
    let Some(row) = txn.query_one_raw(insert).await? else {
        return match find_by_key(txn, buyer.user_id, &prepared.key).await? {
            Some(existing) => replay(existing, &prepared.hash).map(Some),
            None => Err(AppError::internal("an order key vanished")),
        };
    };
    let order = order::Model::from_query_result(&row, "")?;

    let takes = takes(lines);
    let wanted: Vec<[i32; 2]> = takes.iter().map(|t| [t.product_id, t.quantity]).collect();
    let take = Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "UPDATE products SET stock = stock - w.quantity, updated_at = ? \
         FROM (SELECT value ->> 0 AS product_id, value ->> 1 AS quantity FROM json_each(?)) AS w \
         WHERE products.id = w.product_id AND products.stock >= w.quantity \
         RETURNING products.id AS id, products.stock AS stock, \
         products.low_stock_threshold AS threshold",
        [
            now.into(),
            serde_json::to_string(&wanted)
                .map_err(|e| AppError::internal_caused("order lines as JSON", e))?
                .into(),
        ],
    );
    let mut levels: HashMap<i32, i32> = HashMap::with_capacity(takes.len());
    let mut thresholds: HashMap<i32, i32> = HashMap::with_capacity(takes.len());
    for row in txn.query_all_raw(take).await? {
        let id: i32 = row.try_get("", "id")?;
        levels.insert(id, row.try_get("", "stock")?);
        thresholds.insert(id, row.try_get("", "threshold")?);
    }
    if levels.len() != takes.len() {
        return shortage(txn, lines).await;
    }

    let note = format!("Order {}", order.number);
    stock_movement::Entity::insert_many(takes.iter().map(|t| stock_movement::ActiveModel {
        product_id: Set(t.product_id),
        kind: Set(StockMovementKind::Sale),
        delta: Set(-t.quantity),
        level_after: Set(levels[&t.product_id]),
        reason: Set(None),
        note: Set(Some(note.clone())),
        order_id: Set(Some(order.id)),
        author_id: Set(Some(buyer.user_id)),
        created_at: Set(now),
        ..Default::default()
    }))
    .exec_without_returning(txn)
    .await?;
    order_line::Entity::insert_many(lines.iter().map(|l| order_line::ActiveModel {
        order_id: Set(order.id),
        product_id: Set(l.product_id),
        sku: Set(l.sku.clone()),
        product_name: Set(l.product_name.clone()),
        quantity: Set(l.quantity),
        unit_price_cents: Set(l.unit_price_cents),
        total_cents: Set(l.total_cents),
        cooperative_id: Set(l.cooperative_id),
        segment_id: Set(l.segment_id),
        region_code: Set(l.region_code.clone()),
        kind: Set(l.kind),
        commission_rate_bp: Set(l.commission_rate_bp),
        payout_statement_id: Set(None),
        pack_id: Set(l.pack_id),
        pack_sku: Set(l.pack_sku.clone()),
        pack_name: Set(l.pack_name.clone()),
        pack_quantity: Set(l.pack_quantity),
        pack_unit_price_cents: Set(l.pack_unit_price_cents),
        promotion_id: Set(l.promotion_id),
        discount_cents: Set(l.discount_cents),
        market_discount_cents: Set(l.market_discount_cents),
        ..Default::default()
    }))
    .exec_without_returning(txn)
    .await?;
    record_event(
        txn,
        order.id,
        (None, OrderStatus::Placed),
        Some(buyer.user_id),
        None,
        now,
        None,
    )
    .await?;
    crate::domain::catalog_version::touch(txn).await?;
    events::emit(
        txn,
        &placed_events(&order, lines, &takes, &levels, &thresholds),
        now,
    )
    .await?;
    Ok(Some(order))
}

/// SQLite: the events of a new order — `order.placed`, and `stock.low` / `stock.out` for
/// the products it took across their thresholds (as `PLACE_POSTGRES` writes them).
fn placed_events(
    order: &order::Model,
    lines: &[Line],
    takes: &[Take],
    levels: &HashMap<i32, i32>,
    thresholds: &HashMap<i32, i32>,
) -> Vec<NewEvent> {
    let mut cooperatives: Vec<i32> = lines.iter().map(|l| l.cooperative_id).collect();
    cooperatives.sort_unstable();
    cooperatives.dedup();
    let mut out = vec![NewEvent {
        kind: EventKind::OrderPlaced,
        subject: order.number.clone(),
        user_id: order.user_id,
        cooperatives,
        payload: serde_json::json!({ "number": order.number, "status": "PLACED" }),
        occurrence: None,
    }];
    out.extend(takes.iter().filter_map(|l| {
        let after = levels.get(&l.product_id).copied()?;
        let threshold = thresholds.get(&l.product_id).copied()?;
        events::stock_crossing(
            &l.sku,
            l.cooperative_id,
            after + l.quantity,
            after,
            threshold,
        )
    }));
    out
}

async fn record_event(
    db: &impl ConnectionTrait,
    order_id: i64,
    (from, to): (Option<OrderStatus>, OrderStatus),
    actor: Option<i32>,
    note: Option<String>,
    at: DateTime<Utc>,
    delivery: Option<DeliveryStatus>,
) -> AppResult<()> {
    order_event::ActiveModel {
        order_id: Set(order_id),
        delivery_status: Set(delivery),
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
    /// A home delivery handed to the courier, with its tracking reference.
    Ship {
        tracking_reference: Option<String>,
    },
    /// The parcel reached the buyer: a paid order is then `FULFILLED`; an unpaid one
    /// (cash on delivery) stays `PLACED` until the courier's cash is recorded.
    Deliver,
    /// The parcel came back (refused, not collected, returned by the buyer): its goods go
    /// back to stock (`RETURN`), an unpaid order is `CANCELLED`, a paid one `REFUNDED`.
    Return {
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
            Self::Ship { .. } => "ship",
            Self::Deliver => "deliver",
            Self::Return { .. } => "return",
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
            Transition::Ship { tracking_reference } => Transition::Ship {
                tracking_reference: text(
                    "trackingReference",
                    "a tracking reference",
                    tracking_reference,
                    input::REFERENCE,
                ),
            },
            Transition::Deliver => Transition::Deliver,
            Transition::Return { reason } => Transition::Return {
                reason: text("reason", "a reason", reason, input::ORDER_NOTE),
            },
        };
        if errors.is_empty() {
            Ok(checked)
        } else {
            Err(AppError::User(errors))
        }
    }

    /// The statuses it may start from, and the one it leads to from `current` (the
    /// delivery steps keep or move the status depending on whether it is paid).
    pub fn rule(&self, current: OrderStatus) -> (&'static [OrderStatus], OrderStatus) {
        use OrderStatus::*;
        match self {
            Transition::MarkPaid { .. } => (&[Placed], Paid),
            Transition::Fulfill => (&[Paid], Fulfilled),
            Transition::Cancel { .. } => (&[Placed, Paid], Cancelled),
            Transition::Refund { .. } => (&[Paid, Fulfilled], Refunded),
            Transition::Ship { .. } => (&[Placed, Paid], current),
            Transition::Deliver => (
                &[Placed, Paid],
                if current == Paid { Fulfilled } else { current },
            ),
            Transition::Return { .. } => (
                &[Placed, Paid, Fulfilled],
                if current == Placed {
                    Cancelled
                } else {
                    Refunded
                },
            ),
        }
    }

    /// The delivery status it requires (`Err(())`: none, not shipped yet) and the one it
    /// sets; `None` for the transitions that do not look at the delivery.
    fn delivery_rule(&self) -> Option<(Result<&'static [DeliveryStatus], ()>, DeliveryStatus)> {
        use DeliveryStatus::*;
        match self {
            Transition::Ship { .. } => Some((Err(()), Shipped)),
            Transition::Deliver => Some((Ok(&[Shipped]), Delivered)),
            Transition::Return { .. } => Some((Ok(&[Shipped, Delivered]), Returned)),
            _ => None,
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
    let current = order::Entity::find_by_id(order_id)
        .filter(visible())
        .one(txn)
        .await?
        .ok_or_else(|| AppError::user(UserErrorCode::NotFound, &["orderId"], "No such order."))?;
    let (from, mut to) = transition.rule(current.status);
    // Cash collected for a parcel already delivered: paid and handed over at once.
    if matches!(transition, Transition::MarkPaid { .. })
        && current.delivery_status == Some(DeliveryStatus::Delivered)
    {
        to = OrderStatus::Fulfilled;
    }
    let delivery_rule = transition.delivery_rule();
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to.as_str()))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.is_in(from.iter().map(|s| s.as_str())))
        // The status this change was decided on: a concurrent change makes it apply to none.
        .filter(order::Column::Status.eq(current.status.as_str()));
    match delivery_rule {
        Some((Ok(required), set)) => {
            update = update
                .filter(order::Column::DeliveryStatus.is_in(required.iter().map(|d| d.as_str())))
                .col_expr(order::Column::DeliveryStatus, Expr::value(set.as_str()));
        }
        // Only a home delivery (it has an address) is shipped, once.
        Some((Err(()), set)) => {
            update = update
                .filter(order::Column::ShippingAddress.is_not_null())
                .filter(order::Column::DeliveryStatus.is_null())
                .col_expr(order::Column::DeliveryStatus, Expr::value(set.as_str()));
        }
        None => {}
    }
    if matches!(transition, Transition::Cancel { .. }) {
        // A parcel out with the courier comes back through `Return`, not a cancellation.
        update = update.filter(order::Column::DeliveryStatus.is_null());
    }
    let note = match &transition {
        Transition::MarkPaid { method, reference } => {
            update = update
                .col_expr(order::Column::PaidAt, Expr::value(now))
                .col_expr(order::Column::PaymentMethod, Expr::value(method.as_str()))
                .col_expr(
                    order::Column::PaymentReference,
                    Expr::value(reference.clone()),
                );
            if to == OrderStatus::Fulfilled {
                update = update.col_expr(order::Column::FulfilledAt, Expr::value(now));
            }
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
        Transition::Ship { tracking_reference } => {
            update = update
                .col_expr(order::Column::ShippedAt, Expr::value(now))
                .col_expr(
                    order::Column::TrackingReference,
                    Expr::value(tracking_reference.clone()),
                );
            tracking_reference.clone()
        }
        Transition::Deliver => {
            update = update.col_expr(order::Column::DeliveredAt, Expr::value(now));
            if to == OrderStatus::Fulfilled {
                update = update.col_expr(order::Column::FulfilledAt, Expr::value(now));
            }
            None
        }
        Transition::Return { reason } => {
            update = update.col_expr(order::Column::ReturnedAt, Expr::value(now));
            let column = if to == OrderStatus::Cancelled {
                order::Column::CancelledAt
            } else {
                order::Column::RefundedAt
            };
            update = update.col_expr(column, Expr::value(now));
            reason.clone()
        }
    };
    let changed = update.exec(txn).await?.rows_affected;
    if changed == 0 {
        let allowed: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let message = match (&transition, delivery_rule) {
            (Transition::Ship { .. }, _) if current.shipping_address.is_none() => format!(
                "Order {} has no home delivery: there is nothing to ship.",
                current.number
            ),
            (_, Some((required, set))) if allowed.contains(&current.status.as_str()) => {
                let now_at = current
                    .delivery_status
                    .map_or("not shipped", |d| d.as_str());
                let needed = match required {
                    Ok(statuses) => statuses
                        .iter()
                        .map(|d| d.as_str())
                        .collect::<Vec<_>>()
                        .join(" or "),
                    Err(()) => "not shipped yet".to_owned(),
                };
                format!(
                    "The parcel of order {} is {now_at}; only one that is {needed} can become {set}.",
                    current.number
                )
            }
            (Transition::Cancel { .. }, _) if current.delivery_status.is_some() => format!(
                "Order {} is {}: its parcel comes back through `returnOrder`.",
                current.number,
                current.delivery_status.map_or("", |d| d.as_str())
            ),
            _ => format!(
                "Order {} is {}; only an order that is {} can become {}.",
                current.number,
                current.status,
                allowed.join(" or "),
                to
            ),
        };
        return Err(AppError::user(
            UserErrorCode::InvalidStatus,
            &["orderId"],
            message,
        ));
    }
    // An imported order never took stock (history moves none), so cancelling it returns
    // none; a refund with `restock` does: the goods come back to the shop.
    let restock = match &transition {
        Transition::Cancel { .. } if current.imported_at.is_none() => {
            Some(StockMovementKind::Cancellation)
        }
        Transition::Cancel { .. } => None,
        Transition::Refund { restock: true, .. } | Transition::Return { .. } => {
            Some(StockMovementKind::Return)
        }
        _ => None,
    };
    if let Some(kind) = restock {
        let lines = order_line::Entity::find()
            .filter(order_line::Column::OrderId.eq(order_id))
            .order_by_asc(order_line::Column::ProductId)
            .all(txn)
            .await?;
        let moved = !lines.is_empty();
        for line in lines {
            stock::apply_untouched(
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
        if moved {
            // One new catalog version for every product the order gave back.
            crate::domain::catalog_version::touch(txn).await?;
        }
    }
    crate::domain::rollups::on_status_change(txn, order_id, current.status, to).await?;
    crate::domain::payouts::on_order_status_change(txn, &current, to, now).await?;
    let delivery = delivery_rule.map(|(_, set)| set);
    record_event(
        txn,
        order_id,
        (Some(current.status), to),
        actor,
        note,
        now,
        delivery,
    )
    .await?;
    let announced = match to {
        OrderStatus::Paid => Some(EventKind::OrderPaid),
        OrderStatus::Cancelled => Some(EventKind::OrderCancelled),
        OrderStatus::Refunded => Some(EventKind::OrderRefunded),
        _ => None,
    };
    if let Some(kind) = announced {
        events::emit_for_order(txn, kind, order_id, now).await?;
    }
    order::Entity::find_by_id(order_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::Internal("order vanished".into()))
}

/// A customer cancels their own order while it is `PLACED` (unpaid) and not shipped; its
/// stock is returned. Another's order is `NOT_FOUND`, as if it did not exist.
pub async fn cancel_own(
    txn: &impl ConnectionTrait,
    customer: i32,
    order_id: i64,
    reason: Option<String>,
) -> AppResult<order::Model> {
    let current = order::Entity::find_by_id(order_id)
        .filter(order::Column::UserId.eq(customer))
        .one(txn)
        .await?
        .ok_or_else(|| AppError::user(UserErrorCode::NotFound, &["orderId"], "No such order."))?;
    if current.status != OrderStatus::Placed {
        return Err(AppError::user(
            UserErrorCode::InvalidStatus,
            &["orderId"],
            format!(
                "Order {} is {}; a customer can cancel an order only while it is PLACED (unpaid). Contact the market.",
                current.number, current.status
            ),
        ));
    }
    transition(txn, order_id, Transition::Cancel { reason }, Some(customer)).await
}

/// Cancels every order left `PLACED` (unpaid) since before `older_than` ago and not
/// shipped, returning its stock; each order in its own transaction. Returns the cancelled orders.
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
        // A parcel out for cash on delivery is not stale: it comes back through `Return`.
        .filter(order::Column::DeliveryStatus.is_null())
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
