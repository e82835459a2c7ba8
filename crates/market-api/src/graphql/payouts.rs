//! Payouts: issuing and paying the statements that settle cooperatives' sales, reading
//! them (managers: all; members: their own cooperative's), and the on-time figures.

use crate::error::AppError;
use crate::error::Result;
use crate::graphql::context::{ContextExt, load_or_default, load_required};
use crate::graphql::cooperative::Cooperative;
use crate::graphql::ids::{self, NodeType};
use crate::graphql::loaders::{CooperativeKey, FirstLinesOfStatement, LineCountOfStatement};
use crate::graphql::money::Money;
use crate::graphql::orders::OrderLine;
use crate::graphql::pagination::{
    Cursor, PageArgs, connection, listing_connection, loaded_first_page,
};
use crate::graphql::payload::{Payload, respond};
use crate::graphql::scalars::{Date, Decimal};
use crate::payload;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use market_core::domain::enums as d;
use market_core::domain::lists;
use market_core::domain::payouts::{
    self, AdjustmentRow, Calendar, Payment, Period, SettledLine, StatementFilter,
};
use market_core::models::payout_statement;

/// Where a payout statement stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "d::PayoutStatus")]
pub enum PayoutStatus {
    /// Issued, to be paid by its due date.
    Due,
    /// Paid (see `paidOn` and `bankReference`).
    Paid,
    /// Its net is negative: nothing is paid, and the balance is carried into the
    /// cooperative's next statement.
    CarriedForward,
}

/// What a payout adjustment corrects.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "d::PayoutAdjustmentKind")]
pub enum PayoutAdjustmentKind {
    /// A line settled in an earlier statement whose order was then refunded or cancelled:
    /// its net is taken back.
    Refund,
    /// The negative balance of an earlier statement, carried forward.
    CarriedBalance,
}

/// What the market owes a cooperative for one period: its paid sales, less commission,
/// corrected by refunds of earlier sales and any negative balance carried in. Issued
/// statements never change, except to record their payment.
pub struct PayoutStatement(pub payout_statement::Model);

/// What the market owes a cooperative for one period: its paid sales, less commission,
/// corrected by refunds of earlier sales and any negative balance carried in. Issued
/// statements never change, except to record their payment.
#[Object(cache_control(private))]
impl PayoutStatement {
    /// Global ID of the statement.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::PayoutStatement, self.0.id)
    }
    /// Human-readable statement number, e.g. "PS-000042", for transfer references and books.
    async fn number(&self) -> String {
        statement_number(self.0.id)
    }
    /// The cooperative paid.
    async fn cooperative(&self, ctx: &Context<'_>) -> Result<Cooperative> {
        Ok(Cooperative(
            load_required(ctx, CooperativeKey(self.0.cooperative_id), "cooperative").await?,
        ))
    }
    /// First day of the period (market time zone).
    async fn period_start(&self) -> Date {
        Date(self.0.period_start)
    }
    /// Last day of the period, included (market time zone).
    async fn period_end(&self) -> Date {
        Date(self.0.period_end)
    }
    /// Total of the lines settled: sales paid in the period.
    async fn gross_sales(&self) -> Money {
        Money::mad(self.0.gross_cents)
    }
    /// Commission the market keeps, computed per line at the rate of the day the order was
    /// placed, rounded half-even to the centime.
    async fn commission(&self) -> Money {
        Money::mad(self.0.commission_cents)
    }
    /// Refunds of lines settled in earlier statements (zero or negative).
    async fn refund_adjustments(&self) -> Money {
        Money::mad(self.0.refund_adjustment_cents)
    }
    /// Negative balance carried in from earlier statements (zero or negative).
    async fn carried_in(&self) -> Money {
        Money::mad(self.0.carried_in_cents)
    }
    /// Gross sales − commission + refund adjustments + carried in. Negative when refunds
    /// outweigh sales; the statement is then `CARRIED_FORWARD`.
    async fn net(&self) -> Money {
        Money::mad(self.0.net_cents)
    }
    /// What the market pays: the net, or zero when it is negative and carried forward.
    async fn amount_due(&self) -> Money {
        Money::mad(self.0.net_cents.max(0))
    }
    /// The date it must be paid by: the period's end plus the payment terms.
    async fn due_on(&self) -> Date {
        Date(self.0.due_on)
    }
    /// Where it stands.
    async fn status(&self) -> PayoutStatus {
        self.0.status.into()
    }
    /// Whether it is `DUE` and its due date has passed (market time zone).
    async fn overdue(&self, ctx: &Context<'_>) -> bool {
        payouts::is_overdue(&self.0, ctx.today())
    }
    /// The day it was paid.
    async fn paid_on(&self) -> Option<Date> {
        self.0.paid_on.map(Date)
    }
    /// The bank reference of the transfer.
    async fn bank_reference(&self) -> Option<&str> {
        self.0.bank_reference.as_deref()
    }
    /// When it was issued.
    async fn issued_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The order lines it settles, in line order.
    async fn lines(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<PayoutLineConnection> {
        let args = PageArgs::new(first, after, last, before);
        let cursor = |l: &SettledLine| Cursor::by_id(l.line.id);
        let Some(rows) = args.first_page_rows()? else {
            let listing = lists::lines_of_statement(ctx.db(), self.0.id, args).await?;
            return Ok(listing_connection(listing, cursor, PayoutLine));
        };
        // A first page, read with those of the other statements of a list.
        let (page, fields) = loaded_first_page(
            ctx,
            FirstLinesOfStatement(self.0.id, rows),
            rows,
            LineCountOfStatement(self.0.id),
            {
                let id = self.0.id;
                move || lists::count_lines_of_statement(id)
            },
        )
        .await?;
        Ok(connection(page, fields, cursor, PayoutLine))
    }
    /// The refunds and carried balances it takes in, oldest first.
    async fn adjustments(&self, ctx: &Context<'_>) -> Result<Vec<PayoutAdjustment>> {
        let found = load_or_default(ctx, AdjustmentsOfStatement(self.0.id)).await?;
        Ok(found.into_iter().map(PayoutAdjustment).collect())
    }
    /// Where to download it as CSV (for the bank transfer and the cooperative's books):
    /// `GET` this path with the same bearer token.
    async fn csv_url(&self) -> String {
        format!(
            "/payouts/{}.csv",
            ids::encode(NodeType::PayoutStatement, self.0.id).0
        )
    }
}

/// The readable number of statement `id`.
pub fn statement_number(id: i32) -> String {
    format!("PS-{id:06}")
}

/// An order line settled by a statement, with what the cooperative earns on it.
pub struct PayoutLine(pub SettledLine);

/// An order line settled by a statement, with what the cooperative earns on it.
#[Object]
impl PayoutLine {
    /// The order line.
    async fn order_line(&self) -> OrderLine {
        OrderLine(self.0.line.clone())
    }
    /// Number of its order.
    async fn order_number(&self) -> &str {
        &self.0.order_number
    }
    /// When its order was paid (what places it in the period).
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
    /// SKU at order time.
    async fn sku(&self) -> &str {
        &self.0.line.sku
    }
    /// Product name at order time.
    async fn product_name(&self) -> &str {
        &self.0.line.product_name
    }
    /// Units sold.
    async fn quantity(&self) -> i32 {
        self.0.line.quantity
    }
    /// What the line counts for: its total (quantity × unit price, or a gift pack
    /// component's share), plus the part of a promotion's discount the market funds.
    async fn gross(&self) -> Money {
        Money::mad(payouts::line_gross(&self.0.line))
    }
    /// Commission rate in force when the order was placed, as a fraction ("0.1500").
    async fn commission_rate(&self) -> Decimal {
        Decimal(rust_decimal::Decimal::new(
            self.0.line.commission_rate_bp.into(),
            4,
        ))
    }
    /// Commission on the line, rounded half-even to the centime.
    async fn commission(&self) -> Money {
        Money::mad(payouts::commission_cents(
            payouts::line_gross(&self.0.line),
            self.0.line.commission_rate_bp,
        ))
    }
    /// What the cooperative earns on it: gross − commission.
    async fn net(&self) -> Money {
        Money::mad(payouts::line_net(&self.0.line))
    }
}

crate::connection_types!(
    PayoutLineConnection,
    PayoutLineEdge,
    PayoutLine,
    "settled order lines"
);

/// A correction taken in by a statement: a refund of a line settled earlier, or the
/// negative balance of an earlier statement.
pub struct PayoutAdjustment(pub AdjustmentRow);

/// A correction taken in by a statement: a refund of a line settled earlier, or the
/// negative balance of an earlier statement.
#[Object]
impl PayoutAdjustment {
    /// What it corrects.
    async fn kind(&self) -> PayoutAdjustmentKind {
        self.0.adjustment.kind.into()
    }
    /// The amount (negative: it reduces the net).
    async fn amount(&self) -> Money {
        Money::mad(self.0.adjustment.amount_cents)
    }
    /// Why, for people.
    async fn reason(&self) -> &str {
        &self.0.adjustment.reason
    }
    /// When it was recorded.
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.adjustment.created_at
    }
    /// The refunded order's number (refunds).
    async fn order_number(&self) -> Option<&str> {
        self.0.order_number.as_deref()
    }
    /// The refunded line's SKU (refunds).
    async fn sku(&self) -> Option<&str> {
        self.0.sku.as_deref()
    }
    /// The statement whose negative balance this carries (carried balances).
    async fn carried_from(&self) -> Option<PayoutStatement> {
        self.0.source.clone().map(PayoutStatement)
    }
}

/// The adjustments a statement took in, with what describes them.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct AdjustmentsOfStatement(pub i32);

crate::graphql::loaders::db_loader!(AdjustmentsOfStatement => Vec<AdjustmentRow>, |db, keys| {
    let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
    let rows = payouts::adjustment_rows(db, ids)
        .await
        .map_err(|e| match e {
            AppError::Database(e) => std::sync::Arc::new(e),
            other => std::sync::Arc::new(market_core::db::DbErr::Custom(format!("{other:?}"))),
        })?;
    Ok(crate::graphql::loaders::group(
        keys,
        rows.into_iter().filter_map(|row| {
            let id = row.adjustment.payout_statement_id?;
            Some((AdjustmentsOfStatement(id), row))
        }),
    ))
});

crate::connection_types!(
    PayoutStatementConnection,
    PayoutStatementEdge,
    PayoutStatement,
    "payout statements"
);

/// Filters of the statement list; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct PayoutStatementFilterInput {
    /// Only this cooperative's statements (members may only give their own).
    pub cooperative_id: Option<ID>,
    /// Only statements in this status.
    pub status: Option<PayoutStatus>,
    /// `true`: only statements `DUE` past their due date; `false`: all the others.
    pub overdue: Option<bool>,
}

/// The period to settle.
#[derive(InputObject)]
pub struct GeneratePayoutStatementsInput {
    /// First day of the period (market time zone).
    pub period_start: Date,
    /// Last day of the period, included; it must be before today (the period is over).
    pub period_end: Date,
}

/// The payment of a statement.
#[derive(InputObject)]
pub struct MarkPayoutPaidInput {
    /// The statement (it must be `DUE`).
    pub statement_id: ID,
    /// The day the transfer was made: after the period, not after today.
    pub paid_on: Date,
    /// The bank reference of the transfer (1 to 128 characters).
    pub reference: String,
}

/// The days whose due statements `payoutPerformance` measures.
#[derive(InputObject)]
pub struct PayoutRangeInput {
    /// First due date counted.
    pub from: Date,
    /// Last due date counted, included.
    pub to: Date,
}

/// The result of `generatePayoutStatements`.
#[derive(SimpleObject, Default)]
pub struct GeneratePayoutStatementsPayload {
    /// The statements issued by this call, by cooperative; empty when everything of the
    /// period was already settled.
    pub statements: Vec<PayoutStatement>,
    /// Problems with the input; empty when the mutation succeeded. Nothing is written when
    /// there are any.
    pub user_errors: Vec<crate::error::UserError>,
}

impl Payload for GeneratePayoutStatementsPayload {
    fn with_errors(errors: Vec<market_core::error::UserError>) -> Self {
        Self {
            user_errors: crate::error::user_errors(errors),
            ..Default::default()
        }
    }
}

payload!(
    /// The result of a payout statement mutation.
    PayoutStatementPayload {
        /// The statement as it is now.
        payout_statement: PayoutStatement
    }
);

/// How well the market keeps its promise of payment on time: the statements whose due
/// date falls in the range, as they stand today.
#[derive(SimpleObject)]
pub struct PayoutPerformance {
    /// First due date counted.
    pub from: Date,
    /// Last due date counted.
    pub to: Date,
    /// Statements due in the range, whatever their status.
    pub statements_issued: i64,
    /// Of those, statements with a negative net carried forward (nothing to pay).
    pub carried_forward: i64,
    /// Paid on or before their due date.
    pub paid_on_time: i64,
    /// Paid after their due date.
    pub paid_late: i64,
    /// Unpaid and not yet due.
    pub awaiting_payment: i64,
    /// Unpaid past their due date.
    pub overdue: i64,
    /// Paid on time ÷ statements that have come due (paid, or unpaid past their due date),
    /// as a fraction with four decimals ("0.9500"); `null` when none has come due.
    pub on_time_rate: Option<Decimal>,
    /// Mean delay of the statements paid late, in days; `null` when none was.
    pub average_days_late: Option<Decimal>,
    /// What the unpaid statements of the range amount to, today.
    pub amount_outstanding: Money,
    /// What the overdue ones amount to, today.
    pub amount_overdue: Money,
}

/// Payout queries.
#[derive(Default)]
pub struct PayoutsQuery;

/// Payout queries.
#[Object]
impl PayoutsQuery {
    /// Payout statements, latest period first: every cooperative's for managers, their own
    /// cooperative's for members (`FORBIDDEN` for customers, and for a member asking for
    /// another cooperative's).
    async fn payout_statements(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<PayoutStatementFilterInput>,
    ) -> Result<PayoutStatementConnection> {
        ctx.viewer().statement_scope()?;
        let f = filter.unwrap_or_default();
        let cooperative_id = f
            .cooperative_id
            .as_ref()
            .map(|id| ids::decode::<i32>(id, NodeType::Cooperative))
            .transpose()?;
        let scope = ctx.viewer().statement_scope_for(cooperative_id)?;
        market_core::domain::catalog::check_filter_keys(
            ctx.db(),
            market_core::domain::catalog::FilterKeys {
                cooperative: cooperative_id.zip(f.cooperative_id.as_ref().map(|id| id.as_str())),
                ..Default::default()
            },
        )
        .await?;
        let filter = StatementFilter {
            cooperative_id,
            status: f.status.map(Into::into),
            overdue: f.overdue,
        };
        let args = PageArgs::new(first, after, last, before);
        let listing = lists::statements(ctx.db(), scope, &filter, ctx.today(), args).await?;
        Ok(listing_connection(
            listing,
            lists::statement_cursor,
            PayoutStatement,
        ))
    }

    /// Whether cooperatives are paid on time (managers): the statements due in `range`,
    /// how many were paid on time or late, how late, and what is outstanding and overdue
    /// today.
    async fn payout_performance(
        &self,
        ctx: &Context<'_>,
        range: PayoutRangeInput,
    ) -> Result<PayoutPerformance> {
        ctx.viewer().require_manager("see the payout performance")?;
        let figures = payouts::performance(ctx.db(), range.from.0, range.to.0, ctx.today()).await?;
        Ok(PayoutPerformance {
            from: range.from,
            to: range.to,
            statements_issued: figures.issued,
            carried_forward: figures.carried_forward,
            paid_on_time: figures.paid_on_time,
            paid_late: figures.paid_late,
            awaiting_payment: figures.awaiting_payment,
            overdue: figures.overdue,
            on_time_rate: figures.on_time_rate().map(Decimal),
            average_days_late: figures.average_days_late().map(Decimal),
            amount_outstanding: Money::mad(figures.outstanding_cents),
            amount_overdue: Money::mad(figures.overdue_cents),
        })
    }
}

/// Payout mutations.
#[derive(Default)]
pub struct PayoutsMutation;

/// Payout mutations.
#[Object]
impl PayoutsMutation {
    /// Settles a period (managers): issues one `DUE` statement per cooperative with sales
    /// paid in the period (market time zone) not yet settled, or refunds of earlier
    /// settled sales to take in. Due on the period's end plus the payment terms. Running
    /// it again creates nothing new, and overlapping periods never settle a line twice.
    /// Refused with `INVALID_RANGE` for a reversed period or one not over yet.
    async fn generate_payout_statements(
        &self,
        ctx: &Context<'_>,
        input: GeneratePayoutStatementsInput,
    ) -> Result<GeneratePayoutStatementsPayload> {
        ctx.viewer().require_manager("generate payout statements")?;
        let period = Period {
            start: input.period_start.0,
            end: input.period_end.0,
        };
        let calendar = Calendar {
            timezone: ctx.config().market_timezone,
            today: ctx.today(),
        };
        let result =
            payouts::generate(ctx.db(), period, calendar, ctx.config().payment_terms_days).await;
        respond(result, |statements| GeneratePayoutStatementsPayload {
            statements: statements.into_iter().map(PayoutStatement).collect(),
            user_errors: Vec::new(),
        })
    }

    /// Records the payment of a `DUE` statement (managers): it becomes `PAID`. Paying it
    /// again, or paying a `CARRIED_FORWARD` statement, is refused with `INVALID_STATUS`.
    async fn mark_payout_paid(
        &self,
        ctx: &Context<'_>,
        input: MarkPayoutPaidInput,
    ) -> Result<PayoutStatementPayload> {
        ctx.viewer()
            .require_manager("mark payout statements paid")?;
        let statement_id = ids::decode::<i32>(&input.statement_id, NodeType::PayoutStatement)?;
        let payment = Payment {
            statement_id,
            paid_on: input.paid_on.0,
            reference: input.reference,
        };
        let result = payouts::mark_paid(ctx.db(), payment, ctx.today()).await;
        respond(result, |s| PayoutStatementPayload::ok(PayoutStatement(s)))
    }
}
