//! Payouts: settling paid sales into one statement per cooperative and period, the
//! commission rule, refunds after settlement, negative balances carried forward, the
//! payment of statements, and the figures that show whether cooperatives are paid on time.
//!
//! The rules (README, "Payouts"):
//!
//! - A line settles when its order is `PAID` or `FULFILLED` and was paid (`paid_at`) in the
//!   period, reckoned in the market's time zone. A line whose order was cancelled or
//!   refunded before settlement never settles. Imported history (`orders.imported_at`)
//!   was paid before this system and never settles here.
//! - Commission is computed per line from the rate snapshotted on it when the order was
//!   placed, rounded half-even to the centime ([`commission_cents`]).
//! - A line is claimed by a conditional `UPDATE … WHERE payout_statement_id IS NULL`, so
//!   however many generations run, each line is in one statement at most.
//! - A settled line whose order is cancelled or refunded gets a negative adjustment (its
//!   net), taken in by the cooperative's next statement; a statement whose net is negative
//!   is `CARRIED_FORWARD` (nothing to pay) and its balance is carried into the next one.
//! - Statements are immutable once issued: only `mark_paid` changes one, and only its
//!   status, payment date and bank reference.

use crate::domain::enums::{OrderStatus, PayoutAdjustmentKind, PayoutStatus};
use crate::domain::market_time;
use crate::entities::{order, order_line, payout_adjustment, payout_statement};
use crate::error::{AppError, AppResult, UserError, UserErrorCode, record_outcome};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{Alias, Expr, LockType, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Set, TryInsertResult,
};
use std::collections::{BTreeSet, HashMap};

/// The order statuses whose lines are sales to settle.
pub const SETTLED_STATUSES: [OrderStatus; 2] = [OrderStatus::Paid, OrderStatus::Fulfilled];

/// The longest bank reference kept with a payment.
pub const MAX_REFERENCE_LEN: usize = 128;

/// The commission the market keeps on a line of `total_cents` at `rate_bp` basis points,
/// in centimes, rounded half to even ("banker's rounding"): exact halves go to the even
/// centime, so rounding does not drift in the market's favour over millions of lines.
pub fn commission_cents(total_cents: i64, rate_bp: i32) -> i64 {
    let scaled = i128::from(total_cents) * i128::from(rate_bp);
    let whole = scaled.div_euclid(10_000);
    let rest = scaled.rem_euclid(10_000);
    let rounded = match (rest * 2).cmp(&10_000) {
        std::cmp::Ordering::Less => whole,
        std::cmp::Ordering::Greater => whole + 1,
        std::cmp::Ordering::Equal => whole + (whole & 1),
    };
    // |rate| ≤ 100 % in practice, so the result is within the range of the total.
    i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX })
}

/// What a line counts for in its cooperative's payout: what the shopper paid for it and
/// the part of its promotion's discount that the market funds (`domain::promotions`);
/// the cooperative bears the rest of the discount.
pub fn line_gross(line: &order_line::Model) -> i64 {
    line.total_cents + line.market_discount_cents
}

/// What the cooperative earns on a line: its gross less the commission.
pub fn line_net(line: &order_line::Model) -> i64 {
    let gross = line_gross(line);
    gross - commission_cents(gross, line.commission_rate_bp)
}

/// The market's calendar: its time zone and today's date there.
#[derive(Debug, Clone, Copy)]
pub struct Calendar {
    pub timezone: Tz,
    pub today: NaiveDate,
}

/// A settlement period: both days included, in the market's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    /// The instants `[from, until)` the period covers.
    fn instants(self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let range = market_time::days_range(self.start, self.end, tz);
        (range.start, range.end)
    }

    /// Refuses reversed periods and periods that are not over: a statement is final, so
    /// the sales it settles must all have happened.
    fn check(self, today: NaiveDate) -> AppResult<()> {
        if self.start > self.end {
            return Err(AppError::user(
                UserErrorCode::InvalidRange,
                &["periodEnd"],
                "The period ends before it starts.",
            ));
        }
        if self.end >= today {
            return Err(AppError::user(
                UserErrorCode::InvalidRange,
                &["periodEnd"],
                format!(
                    "Only a period that is over can be settled: it must end before today ({today})."
                ),
            ));
        }
        Ok(())
    }
}

/// The ids of the orders whose lines settle in `[from, until)`: paid sales of the period,
/// imported history excepted.
fn orders_paid_between(from: DateTime<Utc>, until: DateTime<Utc>) -> SelectStatement {
    Query::select()
        .column(order::Column::Id)
        .from(order::Entity)
        .and_where(order::Column::Status.is_in(SETTLED_STATUSES.map(|s| s.as_str())))
        .and_where(order::Column::PaidAt.gte(from))
        .and_where(order::Column::PaidAt.lt(until))
        .and_where(order::Column::ImportedAt.is_null())
        .to_owned()
}

/// Issues the statements of `period`: one per cooperative with paid sales of the period
/// not yet settled, or refunds recorded before the period's end not yet taken in. Returns
/// the statements created (none when everything was already settled). One transaction.
#[tracing::instrument(skip_all, fields(period_start = %period.start, period_end = %period.end, statements = tracing::field::Empty, error = tracing::field::Empty))]
pub async fn generate(
    db: &DatabaseConnection,
    period: Period,
    calendar: Calendar,
    terms_days: u16,
) -> AppResult<Vec<payout_statement::Model>> {
    let outcome: AppResult<_> = async {
        period.check(calendar.today)?;
        let txn = crate::db::begin_write(db).await?;
        let result = generate_in(&txn, period, calendar.timezone, terms_days, Utc::now()).await;
        crate::db::finish(txn, result).await
    }
    .await;
    if let Ok(statements) = &outcome {
        tracing::Span::current().record("statements", statements.len());
    }
    record_outcome(outcome)
}

/// [`generate`] in the caller's transaction as at instant `at`, `calendar.today` being its
/// market-local date: for replaying past settlements (the demo's history).
#[tracing::instrument(skip_all, fields(period_start = %period.start, period_end = %period.end))]
pub async fn generate_at(
    txn: &impl ConnectionTrait,
    period: Period,
    calendar: Calendar,
    terms_days: u16,
    at: DateTime<Utc>,
) -> AppResult<Vec<payout_statement::Model>> {
    period.check(calendar.today)?;
    generate_in(txn, period, calendar.timezone, terms_days, at).await
}

async fn generate_in(
    txn: &impl ConnectionTrait,
    period: Period,
    tz: Tz,
    terms_days: u16,
    now: DateTime<Utc>,
) -> AppResult<Vec<payout_statement::Model>> {
    let (from, until) = period.instants(tz);

    // PostgreSQL: lock the orders to settle, in id order, before claiming their lines. A
    // cancellation or refund updates its order row, so it either waits for this
    // transaction (and then sees the lines settled, and corrects them) or goes first (and
    // the order is no longer `PAID` when its lines are claimed). A concurrent generation
    // waits here too. SQLite needs none of this: its writers run one at a time.
    if txn.get_database_backend() == DbBackend::Postgres {
        let mut lock = orders_paid_between(from, until);
        lock.and_where(
            order::Column::Id.in_subquery(
                Query::select()
                    .column(order_line::Column::OrderId)
                    .from(order_line::Entity)
                    .and_where(order_line::Column::PayoutStatementId.is_null())
                    .to_owned(),
            ),
        )
        .order_by(order::Column::Id, sea_orm::Order::Asc)
        .lock(LockType::NoKeyUpdate);
        let mut count_locked = Query::select();
        count_locked
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .from_subquery(lock, Alias::new("locked"));
        txn.query_one(&count_locked).await?;
    }

    let with_sales: Vec<i32> = order_line::Entity::find()
        .select_only()
        .column(order_line::Column::CooperativeId)
        .distinct()
        .filter(order_line::Column::PayoutStatementId.is_null())
        .filter(order_line::Column::OrderId.in_subquery(orders_paid_between(from, until)))
        .into_tuple()
        .all(txn)
        .await?;
    let with_refunds: Vec<i32> = payout_adjustment::Entity::find()
        .select_only()
        .column(payout_adjustment::Column::CooperativeId)
        .distinct()
        .filter(payout_adjustment::Column::PayoutStatementId.is_null())
        .filter(payout_adjustment::Column::Kind.eq(PayoutAdjustmentKind::Refund))
        .filter(payout_adjustment::Column::CreatedAt.lt(until))
        .into_tuple()
        .all(txn)
        .await?;
    // Cooperatives in id order, so concurrent generations take their locks in one order.
    let cooperatives: BTreeSet<i32> = with_sales.into_iter().chain(with_refunds).collect();

    let mut issued = Vec::new();
    for cooperative_id in cooperatives {
        if let Some(statement) =
            issue(txn, cooperative_id, period, (from, until), terms_days, now).await?
        {
            issued.push(statement);
        }
    }
    let announced: Vec<_> = issued
        .iter()
        .map(|s| payout_event(crate::domain::events::EventKind::PayoutIssued, s))
        .collect();
    crate::domain::events::emit(txn, &announced, now).await?;
    Ok(issued)
}

/// The event of a statement issued or paid, heard by its cooperative and the managers.
fn payout_event(
    kind: crate::domain::events::EventKind,
    s: &payout_statement::Model,
) -> crate::domain::events::NewEvent {
    crate::domain::events::NewEvent {
        kind,
        subject: s.id.to_string(),
        user_id: None,
        cooperatives: vec![s.cooperative_id],
        payload: serde_json::json!({
            "statementId": s.id,
            "periodStart": s.period_start,
            "periodEnd": s.period_end,
            "netCents": s.net_cents,
            "dueOn": s.due_on,
            "status": s.status.as_str(),
            "paidOn": s.paid_on,
        }),
        occurrence: None,
    }
}

/// Issues the statement of one cooperative, or nothing when it already has one for this
/// exact period or there is nothing left to settle (another generation took it).
async fn issue(
    txn: &impl ConnectionTrait,
    cooperative_id: i32,
    period: Period,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
    terms_days: u16,
    now: DateTime<Utc>,
) -> AppResult<Option<payout_statement::Model>> {
    use payout_adjustment::Column as A;
    use payout_statement::Column as S;
    let inserted = payout_statement::Entity::insert(payout_statement::ActiveModel {
        cooperative_id: Set(cooperative_id),
        period_start: Set(period.start),
        period_end: Set(period.end),
        gross_cents: Set(0),
        commission_cents: Set(0),
        refund_adjustment_cents: Set(0),
        carried_in_cents: Set(0),
        net_cents: Set(0),
        due_on: Set(period.end + Duration::days(terms_days.into())),
        status: Set(PayoutStatus::Due),
        paid_on: Set(None),
        bank_reference: Set(None),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([S::CooperativeId, S::PeriodStart, S::PeriodEnd])
    .exec(txn)
    .await?;
    let id = match inserted {
        TryInsertResult::Inserted(result) => result.last_insert_id,
        // This cooperative already has its statement for this period: re-running a period
        // creates nothing new.
        TryInsertResult::Conflicted | TryInsertResult::Empty => return Ok(None),
    };

    let lines = order_line::Entity::update_many()
        .col_expr(order_line::Column::PayoutStatementId, Expr::value(id))
        .filter(order_line::Column::CooperativeId.eq(cooperative_id))
        .filter(order_line::Column::PayoutStatementId.is_null())
        .filter(order_line::Column::OrderId.in_subquery(orders_paid_between(from, until)))
        .exec(txn)
        .await?
        .rows_affected;
    let refunds = payout_adjustment::Entity::update_many()
        .col_expr(A::PayoutStatementId, Expr::value(id))
        .filter(A::CooperativeId.eq(cooperative_id))
        .filter(A::PayoutStatementId.is_null())
        .filter(A::Kind.eq(PayoutAdjustmentKind::Refund))
        .filter(A::CreatedAt.lt(until))
        .exec(txn)
        .await?
        .rows_affected;
    if lines + refunds == 0 {
        payout_statement::Entity::delete_by_id(id).exec(txn).await?;
        return Ok(None);
    }
    // Balances of earlier periods' negative statements ride along.
    payout_adjustment::Entity::update_many()
        .col_expr(A::PayoutStatementId, Expr::value(id))
        .filter(A::CooperativeId.eq(cooperative_id))
        .filter(A::PayoutStatementId.is_null())
        .filter(A::Kind.eq(PayoutAdjustmentKind::CarriedBalance))
        .filter(
            A::SourceStatementId.in_subquery(
                Query::select()
                    .column(S::Id)
                    .from(payout_statement::Entity)
                    .and_where(S::CooperativeId.eq(cooperative_id))
                    .and_where(S::PeriodEnd.lt(period.end))
                    .to_owned(),
            ),
        )
        .exec(txn)
        .await?;

    // Lines grouped by (total, rate): the commission of each is the same, and a statement
    // of thousands of lines reads a few dozen rows.
    let gross_of_line = || Expr::cust("total_cents + market_discount_cents");
    let groups: Vec<(i64, i32, i64)> = order_line::Entity::find()
        .select_only()
        .column_as(gross_of_line(), "gross")
        .column(order_line::Column::CommissionRateBp)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(order_line::Column::PayoutStatementId.eq(id))
        .group_by(gross_of_line())
        .group_by(order_line::Column::CommissionRateBp)
        .into_tuple()
        .all(txn)
        .await?;
    let gross: i64 = groups.iter().map(|(total, _, n)| total * n).sum();
    let commission: i64 = groups
        .iter()
        .map(|(total, rate, n)| commission_cents(*total, *rate) * n)
        .sum();
    let taken_in: Vec<(PayoutAdjustmentKind, i64)> = payout_adjustment::Entity::find()
        .select_only()
        .column(A::Kind)
        .column(A::AmountCents)
        .filter(A::PayoutStatementId.eq(id))
        .into_tuple()
        .all(txn)
        .await?;
    let sum_of = |kind: PayoutAdjustmentKind| -> i64 {
        taken_in
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, a)| a)
            .sum()
    };
    let refund_cents = sum_of(PayoutAdjustmentKind::Refund);
    let carried_in = sum_of(PayoutAdjustmentKind::CarriedBalance);
    let net = gross - commission + refund_cents + carried_in;
    let status = if net < 0 {
        PayoutStatus::CarriedForward
    } else {
        PayoutStatus::Due
    };
    let statement = payout_statement::ActiveModel {
        id: Set(id),
        gross_cents: Set(gross),
        commission_cents: Set(commission),
        refund_adjustment_cents: Set(refund_cents),
        carried_in_cents: Set(carried_in),
        net_cents: Set(net),
        status: Set(status),
        ..Default::default()
    }
    .update(txn)
    .await?;
    if net < 0 {
        payout_adjustment::ActiveModel {
            cooperative_id: Set(cooperative_id),
            order_line_id: Set(None),
            amount_cents: Set(net),
            reason: Set(format!(
                "Negative balance of the statement for {} to {}, carried forward",
                period.start, period.end
            )),
            payout_statement_id: Set(None),
            created_at: Set(now),
            kind: Set(PayoutAdjustmentKind::CarriedBalance),
            source_statement_id: Set(Some(id)),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(Some(statement))
}

/// Corrects the settlement of an order that becomes `CANCELLED` or `REFUNDED`: each of its
/// lines already in a statement gets a negative adjustment of its net, which the
/// cooperative's next statement takes in (issued statements never change). Lines not yet
/// settled need nothing: they will never settle.
///
/// Called by `orders::transition` in its transaction, after the order row was updated:
/// that update waits for a generation holding the order (see `generate_in`), so the lines
/// read here are the settled ones.
pub async fn on_order_status_change(
    txn: &impl ConnectionTrait,
    order: &order::Model,
    to: OrderStatus,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let what = match to {
        OrderStatus::Cancelled => "cancelled",
        OrderStatus::Refunded => "refunded",
        _ => return Ok(()),
    };
    let settled = order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order.id))
        .filter(order_line::Column::PayoutStatementId.is_not_null())
        .order_by_asc(order_line::Column::Id)
        .all(txn)
        .await?;
    if settled.is_empty() {
        return Ok(());
    }
    let adjustments = settled.iter().map(|line| payout_adjustment::ActiveModel {
        cooperative_id: Set(line.cooperative_id),
        order_line_id: Set(Some(line.id)),
        amount_cents: Set(-line_net(line)),
        reason: Set(format!(
            "Order {} {what} after settlement: {} × {}",
            order.number, line.quantity, line.sku
        )),
        payout_statement_id: Set(None),
        created_at: Set(now),
        kind: Set(PayoutAdjustmentKind::Refund),
        source_statement_id: Set(None),
        ..Default::default()
    });
    payout_adjustment::Entity::insert_many(adjustments)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// A payment of a statement, as the manager records it.
#[derive(Debug, Clone)]
pub struct Payment {
    pub statement_id: i32,
    pub paid_on: NaiveDate,
    pub reference: String,
}

/// Records the payment of a `DUE` statement: it becomes `PAID` with its date and bank
/// reference. Paying a statement twice, or one with nothing to pay, is refused
/// (`INVALID_STATUS`); the change is conditional, so two managers paying at once cannot
/// both succeed.
pub async fn mark_paid(
    db: &DatabaseConnection,
    payment: Payment,
    today: NaiveDate,
) -> AppResult<payout_statement::Model> {
    let txn = crate::db::begin_write(db).await?;
    let result = mark_paid_in(&txn, payment, today).await;
    crate::db::finish(txn, result).await
}

/// [`mark_paid`] in the caller's transaction, `today` being the market-local date the
/// payment is recorded on.
#[tracing::instrument(skip_all, fields(statement_id = payment.statement_id, paid_on = %payment.paid_on))]
pub async fn mark_paid_in(
    txn: &impl ConnectionTrait,
    payment: Payment,
    today: NaiveDate,
) -> AppResult<payout_statement::Model> {
    let statement = payout_statement::Entity::find_by_id(payment.statement_id)
        .one(txn)
        .await?
        .ok_or_else(|| {
            AppError::user(
                UserErrorCode::NotFound,
                &["statementId"],
                "No such payout statement.",
            )
        })?;
    let mut errors = Vec::new();
    let reference = payment.reference.trim();
    if reference.is_empty()
        || reference.chars().count() > MAX_REFERENCE_LEN
        || reference.chars().any(char::is_control)
    {
        errors.push(UserError::new(
            UserErrorCode::Invalid,
            &["reference"],
            format!(
                "Give the bank reference of the transfer, 1 to {MAX_REFERENCE_LEN} characters (no control characters)."
            ),
        ));
    }
    if payment.paid_on > today {
        errors.push(UserError::new(
            UserErrorCode::Invalid,
            &["paidOn"],
            format!("A payment cannot be dated after today ({today})."),
        ));
    } else if payment.paid_on <= statement.period_end {
        errors.push(UserError::new(
            UserErrorCode::Invalid,
            &["paidOn"],
            format!(
                "A statement is paid after its period, which ended on {}.",
                statement.period_end
            ),
        ));
    }
    if let Some(refused) = status_refusal(&statement) {
        errors.push(refused);
    }
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }
    let changed = payout_statement::Entity::update_many()
        .col_expr(
            payout_statement::Column::Status,
            Expr::value(PayoutStatus::Paid.as_str()),
        )
        .col_expr(
            payout_statement::Column::PaidOn,
            Expr::value(payment.paid_on),
        )
        .col_expr(
            payout_statement::Column::BankReference,
            Expr::value(reference.to_owned()),
        )
        .filter(payout_statement::Column::Id.eq(statement.id))
        .filter(payout_statement::Column::Status.eq(PayoutStatus::Due))
        .exec(txn)
        .await?
        .rows_affected;
    let now = payout_statement::Entity::find_by_id(statement.id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::Internal("payout statement vanished".into()))?;
    if changed == 0 {
        // Paid by someone else between our read and our update.
        return Err(AppError::User(status_refusal(&now).into_iter().collect()));
    }
    crate::domain::events::emit(
        txn,
        &[payout_event(
            crate::domain::events::EventKind::PayoutPaid,
            &now,
        )],
        Utc::now(),
    )
    .await?;
    Ok(now)
}

fn status_refusal(statement: &payout_statement::Model) -> Option<UserError> {
    let message = match statement.status {
        PayoutStatus::Due => return None,
        PayoutStatus::Paid => format!(
            "This statement was already paid on {} (reference {}).",
            statement
                .paid_on
                .map_or_else(|| "an unknown date".to_owned(), |d| d.to_string()),
            statement.bank_reference.as_deref().unwrap_or("none")
        ),
        PayoutStatus::CarriedForward => {
            "This statement's net is negative: there is nothing to pay, its balance is carried into the next statement."
                .to_owned()
        }
    };
    Some(UserError::new(
        UserErrorCode::InvalidStatus,
        &["statementId"],
        message,
    ))
}

/// Which statements a viewer may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementScope {
    /// Managers: every cooperative's.
    All,
    /// Members: their own cooperative's.
    Cooperative(i32),
}

/// A filter of the statement list.
#[derive(Debug, Clone, Default)]
pub struct StatementFilter {
    pub cooperative_id: Option<i32>,
    pub status: Option<PayoutStatus>,
    /// `Some(true)`: only `DUE` statements past their due date; `Some(false)`: all others.
    pub overdue: Option<bool>,
}

/// Whether a statement is unpaid past its due date on `today`.
pub fn is_overdue(statement: &payout_statement::Model, today: NaiveDate) -> bool {
    statement.status == PayoutStatus::Due && statement.due_on < today
}

fn overdue_condition(today: NaiveDate) -> Condition {
    Condition::all()
        .add(payout_statement::Column::Status.eq(PayoutStatus::Due))
        .add(payout_statement::Column::DueOn.lt(today))
}

/// The statements of `scope` matching `filter`, on `today`.
pub fn statements_query(
    scope: StatementScope,
    filter: &StatementFilter,
    today: NaiveDate,
) -> Select<payout_statement::Entity> {
    let mut select = payout_statement::Entity::find();
    if let StatementScope::Cooperative(id) = scope {
        select = select.filter(payout_statement::Column::CooperativeId.eq(id));
    }
    if let Some(id) = filter.cooperative_id {
        select = select.filter(payout_statement::Column::CooperativeId.eq(id));
    }
    if let Some(status) = filter.status {
        select = select.filter(payout_statement::Column::Status.eq(status));
    }
    match filter.overdue {
        Some(true) => select = select.filter(overdue_condition(today)),
        Some(false) => select = select.filter(overdue_condition(today).not()),
        None => {}
    }
    select
}

/// A settled line with the order it belongs to.
#[derive(Debug, Clone)]
pub struct SettledLine {
    pub line: order_line::Model,
    pub order_number: String,
    pub paid_at: Option<DateTime<Utc>>,
}

/// `lines` with their orders, found among `orders`.
fn attach(lines: Vec<order_line::Model>, orders: Vec<order::Model>) -> AppResult<Vec<SettledLine>> {
    let orders: HashMap<i64, order::Model> = orders.into_iter().map(|o| (o.id, o)).collect();
    lines
        .into_iter()
        .map(|line| {
            let order = orders
                .get(&line.order_id)
                .ok_or_else(|| AppError::Internal("settled line without order".into()))?;
            Ok(SettledLine {
                order_number: order.number.clone(),
                paid_at: order.paid_at,
                line,
            })
        })
        .collect()
}

/// Attaches their orders' numbers and payment instants to a page of `lines` (one query).
pub async fn with_orders(
    db: &impl ConnectionTrait,
    lines: Vec<order_line::Model>,
) -> AppResult<Vec<SettledLine>> {
    let ids: BTreeSet<i64> = lines.iter().map(|l| l.order_id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let orders = order::Entity::find()
        .filter(order::Column::Id.is_in(ids))
        .all(db)
        .await?;
    attach(lines, orders)
}

/// Every line a statement settles, in line order, with their orders (two queries
/// whatever the number of lines).
pub async fn statement_lines(
    db: &impl ConnectionTrait,
    statement_id: i32,
) -> AppResult<Vec<SettledLine>> {
    let lines = order_line::Entity::find()
        .filter(order_line::Column::PayoutStatementId.eq(statement_id))
        .order_by_asc(order_line::Column::Id)
        .all(db)
        .await?;
    let orders = order::Entity::find()
        .filter(
            order::Column::Id.in_subquery(
                order_line::Entity::find()
                    .select_only()
                    .column(order_line::Column::OrderId)
                    .filter(order_line::Column::PayoutStatementId.eq(statement_id))
                    .into_query(),
            ),
        )
        .all(db)
        .await?;
    attach(lines, orders)
}

/// A correction taken in by a statement.
#[derive(Clone)]
pub struct AdjustmentRow {
    pub adjustment: payout_adjustment::Model,
    /// The refunded line's order number and SKU (refunds).
    pub order_number: Option<String>,
    pub sku: Option<String>,
    /// The statement whose balance is carried (carried balances).
    pub source: Option<payout_statement::Model>,
}

/// The adjustments taken in by `statement_ids`, oldest first, with their lines' orders and
/// carried statements: at most four queries whatever the number of statements.
pub async fn adjustment_rows(
    db: &impl ConnectionTrait,
    statement_ids: Vec<i32>,
) -> AppResult<Vec<AdjustmentRow>> {
    let adjustments = payout_adjustment::Entity::find()
        .filter(payout_adjustment::Column::PayoutStatementId.is_in(statement_ids))
        .order_by_asc(payout_adjustment::Column::Id)
        .all(db)
        .await?;
    let line_ids: BTreeSet<i64> = adjustments.iter().filter_map(|a| a.order_line_id).collect();
    let lines = if line_ids.is_empty() {
        Vec::new()
    } else {
        order_line::Entity::find()
            .filter(order_line::Column::Id.is_in(line_ids))
            .all(db)
            .await?
    };
    let lines: HashMap<i64, SettledLine> = with_orders(db, lines)
        .await?
        .into_iter()
        .map(|l| (l.line.id, l))
        .collect();
    let source_ids: BTreeSet<i32> = adjustments
        .iter()
        .filter_map(|a| a.source_statement_id)
        .collect();
    let sources: HashMap<i32, payout_statement::Model> = if source_ids.is_empty() {
        HashMap::new()
    } else {
        payout_statement::Entity::find()
            .filter(payout_statement::Column::Id.is_in(source_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect()
    };
    Ok(adjustments
        .into_iter()
        .map(|adjustment| {
            let line = adjustment.order_line_id.and_then(|id| lines.get(&id));
            AdjustmentRow {
                order_number: line.map(|l| l.order_number.clone()),
                sku: line.map(|l| l.line.sku.clone()),
                source: adjustment
                    .source_statement_id
                    .and_then(|id| sources.get(&id).cloned()),
                adjustment,
            }
        })
        .collect())
}

/// How well the market keeps its promise of payment on time, over the statements due in
/// a range of days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Performance {
    /// Statements due in the range (every status).
    pub issued: i64,
    /// Of those, the ones with nothing to pay (negative net, carried forward).
    pub carried_forward: i64,
    /// Paid on or before their due date.
    pub paid_on_time: i64,
    /// Paid after their due date.
    pub paid_late: i64,
    /// Unpaid, not yet due.
    pub awaiting_payment: i64,
    /// Unpaid past their due date.
    pub overdue: i64,
    /// Days late, summed over the statements paid late.
    pub days_late_total: i64,
    /// What the `DUE` statements of the range amount to.
    pub outstanding_cents: i64,
    /// What the overdue ones amount to.
    pub overdue_cents: i64,
}

impl Performance {
    /// Paid on time ÷ (paid + overdue): statements not yet due do not count yet. `None`
    /// when no statement has come due.
    pub fn on_time_rate(&self) -> Option<rust_decimal::Decimal> {
        let came_due = self.paid_on_time + self.paid_late + self.overdue;
        (came_due > 0).then(|| {
            fixed(
                rust_decimal::Decimal::from(self.paid_on_time)
                    / rust_decimal::Decimal::from(came_due),
                4,
            )
        })
    }

    /// The mean delay of the statements paid late, in days (two decimals); `None` when
    /// none was paid late.
    pub fn average_days_late(&self) -> Option<rust_decimal::Decimal> {
        (self.paid_late > 0).then(|| {
            fixed(
                rust_decimal::Decimal::from(self.days_late_total)
                    / rust_decimal::Decimal::from(self.paid_late),
                2,
            )
        })
    }
}

/// `value` rounded half-even to exactly `places` decimals ("1.0000", "11.00").
fn fixed(value: rust_decimal::Decimal, places: u32) -> rust_decimal::Decimal {
    let mut rounded =
        value.round_dp_with_strategy(places, rust_decimal::RoundingStrategy::MidpointNearestEven);
    rounded.rescale(places);
    rounded
}

/// The payment performance of the statements due from `from` to `to` (days included),
/// as it stands on `today`.
#[tracing::instrument(skip(db))]
pub async fn performance(
    db: &impl ConnectionTrait,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> AppResult<Performance> {
    if from > to {
        return Err(AppError::bad_input("the range ends before it starts"));
    }
    use payout_statement::Column as S;
    let rows: Vec<(PayoutStatus, i64, NaiveDate, Option<NaiveDate>)> =
        payout_statement::Entity::find()
            .select_only()
            .columns([S::Status, S::NetCents, S::DueOn, S::PaidOn])
            .filter(S::DueOn.gte(from))
            .filter(S::DueOn.lte(to))
            .into_tuple()
            .all(db)
            .await?;
    let mut p = Performance::default();
    for (status, net, due_on, paid_on) in rows {
        p.issued += 1;
        match (status, paid_on) {
            (PayoutStatus::CarriedForward, _) => p.carried_forward += 1,
            (PayoutStatus::Paid, Some(paid_on)) if paid_on <= due_on => p.paid_on_time += 1,
            (PayoutStatus::Paid, paid_on) => {
                p.paid_late += 1;
                p.days_late_total += paid_on.map_or(0, |d| (d - due_on).num_days());
            }
            (PayoutStatus::Due, _) => {
                p.outstanding_cents += net;
                if due_on < today {
                    p.overdue += 1;
                    p.overdue_cents += net;
                } else {
                    p.awaiting_payment += 1;
                }
            }
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal::{Decimal, RoundingStrategy};

    #[test]
    fn commission_rounds_exact_halves_to_the_even_centime() {
        // 15 % of 0.10 MAD = 1.5 centimes → 2; 15 % of 0.30 MAD = 4.5 → 4.
        assert_eq!(commission_cents(10, 1500), 2);
        assert_eq!(commission_cents(30, 1500), 4);
        // 50 % of 1, 3, 5 centimes: 0.5 → 0, 1.5 → 2, 2.5 → 2.
        assert_eq!(commission_cents(1, 5000), 0);
        assert_eq!(commission_cents(3, 5000), 2);
        assert_eq!(commission_cents(5, 5000), 2);
        // Not a tie: ordinary rounding.
        assert_eq!(commission_cents(1999, 1500), 300); // 299.85
        assert_eq!(commission_cents(1001, 1234), 124); // 123.5234
        assert_eq!(commission_cents(0, 1500), 0);
        assert_eq!(commission_cents(9000, 0), 0);
        assert_eq!(commission_cents(9000, 10_000), 9000);
        // Negative amounts round symmetrically.
        assert_eq!(commission_cents(-30, 1500), -4);
        assert_eq!(commission_cents(-10, 1500), -2);
    }

    #[test]
    fn commission_agrees_with_decimal_midpoint_nearest_even() {
        for total in (-2_000..20_000).step_by(7) {
            for rate in [0, 1, 250, 1234, 1500, 2000, 2500, 3333, 5000, 9999, 10_000] {
                let exact = Decimal::from(total) * Decimal::from(rate) / Decimal::from(10_000);
                let expected = exact
                    .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven)
                    .to_string()
                    .parse::<i64>()
                    .unwrap();
                assert_eq!(
                    commission_cents(total, rate),
                    expected,
                    "{total} at {rate} bp"
                );
            }
        }
    }

    #[test]
    fn a_period_is_settled_only_once_it_is_over() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let january = Period {
            start: d(1, 1),
            end: d(1, 31),
        };
        assert!(january.check(d(2, 1)).is_ok());
        assert!(january.check(d(1, 31)).is_err(), "not over on its last day");
        let reversed = Period {
            start: d(1, 31),
            end: d(1, 1),
        };
        assert!(reversed.check(d(3, 1)).is_err());
    }

    #[test]
    fn a_period_covers_market_local_days() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let january = Period {
            start: d(1, 1),
            end: d(1, 31),
        };
        let (from, until) = january.instants(chrono_tz::Africa::Casablanca);
        // Casablanca is UTC+1 in winter: the market's January starts at 23:00 UTC.
        assert_eq!(from, Utc.with_ymd_and_hms(2025, 12, 31, 23, 0, 0).unwrap());
        assert_eq!(until, Utc.with_ymd_and_hms(2026, 1, 31, 23, 0, 0).unwrap());
    }
}
