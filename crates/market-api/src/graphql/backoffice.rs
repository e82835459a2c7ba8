//! The back office: managers onboard and manage cooperatives.

use crate::error::Result;
use crate::error::{AppError, AppResult, UserErrorCode};
use crate::graphql::context::ContextExt;
use crate::graphql::cooperative::Cooperative;
use crate::graphql::enums::{CooperativeKind, CooperativeStatus};
use crate::graphql::ids::{self, NodeType};
use crate::graphql::payload::respond;
use crate::graphql::scalars::{Date, Decimal};
use crate::payload;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use market_core::db;
use market_core::domain::cooperatives::{self, CooperativeFields};
use market_core::models::cooperative;
use rust_decimal::prelude::ToPrimitive;

/// A cooperative to onboard.
#[derive(InputObject)]
pub struct CreateCooperativeInput {
    /// Name of the cooperative.
    pub name: String,
    /// URL-friendly unique key; derived from the name when omitted.
    pub slug: Option<String>,
    /// Presentation.
    pub description: Option<String>,
    /// Terroir, cosmetics or handicrafts.
    pub kind: CooperativeKind,
    /// Region code, e.g. "MA-09".
    pub region: String,
    /// Province or prefecture of that region.
    pub province: Option<String>,
    /// Founding date.
    pub founded_on: Option<Date>,
    /// Number of members.
    pub member_count: Option<i32>,
    /// Led by women.
    pub women_led: Option<bool>,
    /// Led by young people.
    pub youth_led: Option<bool>,
    /// Date it joined the market (default today).
    pub listed_since: Option<Date>,
    /// Initial status (default `INCUBATED`).
    pub status: Option<CooperativeStatus>,
    /// Contact e-mail (private).
    pub contact_email: Option<String>,
    /// Contact phone (private).
    pub contact_phone: Option<String>,
    /// Commission as a fraction of sales, e.g. "0.15"; the default of its kind when omitted.
    pub commission_rate: Option<Decimal>,
    /// RIB (24 digits) payouts are sent to (private).
    pub payout_account: Option<String>,
}

/// Changes to a cooperative; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateCooperativeInput {
    /// The cooperative to change.
    pub id: ID,
    /// New name.
    pub name: Option<String>,
    /// New slug.
    pub slug: Option<String>,
    /// New presentation.
    pub description: Option<String>,
    /// New region code (the province is cleared unless given too).
    pub region: Option<String>,
    /// New province ("" clears it).
    pub province: Option<String>,
    /// New founding date.
    pub founded_on: Option<Date>,
    /// New member count.
    pub member_count: Option<i32>,
    /// Led by women.
    pub women_led: Option<bool>,
    /// Led by young people.
    pub youth_led: Option<bool>,
    /// Date it joined the market.
    pub listed_since: Option<Date>,
    /// New contact e-mail ("" clears it).
    pub contact_email: Option<String>,
    /// New contact phone ("" clears it).
    pub contact_phone: Option<String>,
    /// New commission as a fraction, e.g. "0.12"; `null` returns to the default of its kind.
    pub commission_rate: MaybeUndefined<Decimal>,
    /// New RIB ("" clears it).
    pub payout_account: Option<String>,
}

/// A change of a cooperative's status.
#[derive(InputObject)]
pub struct SetCooperativeStatusInput {
    /// The cooperative.
    pub id: ID,
    /// Its new status. `SUSPENDED` stops the sale of all its products at once.
    pub status: CooperativeStatus,
}

payload!(
    /// The result of a cooperative mutation.
    CooperativePayload {
        /// The cooperative as saved.
        cooperative: Cooperative
    }
);

/// A commission fraction ("0.15") in basis points (1500); the range is checked with the
/// other fields by `domain::cooperatives`.
fn rate_bp(rate: Decimal) -> AppResult<i32> {
    let bp = rate.0 * rust_decimal::Decimal::from(10_000);
    match bp.to_i32() {
        Some(v) if bp.fract().is_zero() => Ok(v),
        _ => Err(AppError::user(
            UserErrorCode::Invalid,
            &["commissionRate"],
            "A commission rate is a fraction between 0 and 1 with at most 4 decimals.",
        )),
    }
}

async fn save(
    ctx: &Context<'_>,
    current: Option<cooperative::Model>,
    fields: AppResult<CooperativeFields>,
) -> Result<CooperativePayload> {
    let fields = match fields {
        Ok(f) => f,
        Err(e) => return respond(Err(e), CooperativePayload::ok),
    };
    let txn = db::begin_write(ctx.db()).await?;
    let result = cooperatives::save(&txn, current, fields, ctx.today()).await;
    respond(db::finish(txn, result).await, |c| {
        CooperativePayload::ok(Cooperative(c))
    })
}

async fn find(ctx: &Context<'_>, id: &ID) -> AppResult<cooperative::Model> {
    let id = ids::decode::<i32>(id, NodeType::Cooperative)?;
    market_core::domain::reads::cooperative(ctx.db(), id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such cooperative.".into()))
}

/// Back-office mutations (managers only).
#[derive(Default)]
pub struct BackofficeMutation;

/// Back-office mutations (managers only).
#[Object]
impl BackofficeMutation {
    /// Onboards a cooperative.
    async fn create_cooperative(
        &self,
        ctx: &Context<'_>,
        input: CreateCooperativeInput,
    ) -> Result<CooperativePayload> {
        ctx.viewer().require_manager("onboard cooperatives")?;
        let fields = input
            .commission_rate
            .map(rate_bp)
            .transpose()
            .map(|rate| CooperativeFields {
                name: Some(input.name),
                slug: input.slug,
                description: input.description,
                kind: Some(input.kind.into()),
                region_code: Some(input.region),
                province: input.province,
                founded_on: input.founded_on.map(|d| d.0),
                member_count: input.member_count,
                women_led: input.women_led,
                youth_led: input.youth_led,
                listed_since: input.listed_since.map(|d| d.0),
                status: input.status.map(Into::into),
                contact_email: input.contact_email,
                contact_phone: input.contact_phone,
                commission_rate_bp: rate.map(Some),
                payout_account: input.payout_account,
            });
        save(ctx, None, fields).await
    }

    /// Changes a cooperative's details, commission rate or payout account.
    async fn update_cooperative(
        &self,
        ctx: &Context<'_>,
        input: UpdateCooperativeInput,
    ) -> Result<CooperativePayload> {
        ctx.viewer()
            .require_manager("change a cooperative's details")?;
        let current = find(ctx, &input.id).await?;
        let rate = match input.commission_rate {
            MaybeUndefined::Undefined => Ok(None),
            MaybeUndefined::Null => Ok(Some(None)),
            MaybeUndefined::Value(r) => rate_bp(r).map(|bp| Some(Some(bp))),
        };
        let fields = rate.map(|commission_rate_bp| CooperativeFields {
            name: input.name,
            slug: input.slug,
            description: input.description,
            kind: None,
            region_code: input.region,
            province: input.province,
            founded_on: input.founded_on.map(|d| d.0),
            member_count: input.member_count,
            women_led: input.women_led,
            youth_led: input.youth_led,
            listed_since: input.listed_since.map(|d| d.0),
            status: None,
            contact_email: input.contact_email,
            contact_phone: input.contact_phone,
            commission_rate_bp,
            payout_account: input.payout_account,
        });
        save(ctx, Some(current), fields).await
    }

    /// Incubates, lists or suspends a cooperative. Suspension makes all its products
    /// unsellable at once; listing again restores them (if they are certified).
    async fn set_cooperative_status(
        &self,
        ctx: &Context<'_>,
        input: SetCooperativeStatusInput,
    ) -> Result<CooperativePayload> {
        ctx.viewer()
            .require_manager("change a cooperative's status")?;
        let current = find(ctx, &input.id).await?;
        let fields = CooperativeFields {
            status: Some(input.status.into()),
            ..Default::default()
        };
        save(ctx, Some(current), Ok(fields)).await
    }
}
