//! Certifications: the `Certification` type (reading them is public — `Cooperative.certifications`,
//! `Product.certifications` — they are labels shown to shoppers), and the back office:
//! managers record, correct and revoke them, see what expires soon and what cannot be sold.

use crate::error::Result;
use crate::error::{AppError, AppResult};
use crate::graphql::context::{ContextExt, load_required};
use crate::graphql::cooperative::Cooperative;
use crate::graphql::enums::CertificationType;
use crate::graphql::ids::{self, NodeType};
use crate::graphql::loaders::{CooperativeKey, ProductsListedByCertification};
use crate::graphql::pagination::{PageArgs, listing_connection};
use crate::graphql::payload::respond;
use crate::graphql::product::{ComplianceIssue, Product};
use crate::graphql::scalars::Date;
use crate::payload;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Days, Utc};
use market_core::db;
use market_core::domain::certifications::{self as dcert, CertificationChanges, NewCertification};
use market_core::domain::compliance;
use market_core::domain::lists;
use market_core::models::certification;

/// A certification or label held by a cooperative.
pub struct Certification(pub certification::Model);

/// A certification or label held by a cooperative.
#[Object]
impl Certification {
    /// Global ID of the certification.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Certification, self.0.id)
    }
    /// Type of certification.
    #[graphql(name = "type")]
    async fn certification_type(&self) -> CertificationType {
        self.0.r#type.into()
    }
    /// Number on the certificate.
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// Who issued it (ONSSA, DMP, a certification body…).
    async fn issuer(&self) -> &str {
        &self.0.issuer
    }
    /// Date it took effect.
    async fn issued_on(&self) -> Date {
        Date(self.0.issued_on)
    }
    /// Last day it is valid; `null` when it does not expire.
    async fn expires_on(&self) -> Option<Date> {
        self.0.expires_on.map(Date)
    }
    /// Whether it covers every product of the cooperative, present and future (otherwise
    /// only those in `products`).
    async fn covers_all_products(&self) -> bool {
        self.0.covers_all_products
    }
    /// The products a list coverage names, by name; empty when `coversAllProducts` (it
    /// then covers every product of the cooperative).
    async fn products(&self, ctx: &Context<'_>) -> Result<Vec<Product>> {
        if self.0.covers_all_products {
            return Ok(Vec::new());
        }
        let listed = ctx
            .loaders()
            .load_one(ProductsListedByCertification(self.0.id))
            .await
            .map_err(AppError::from)?;
        Ok(listed
            .unwrap_or_default()
            .into_iter()
            .map(Product)
            .collect())
    }
    /// When it was revoked, if it was.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    /// Why it was revoked; `null` unless the viewer is a manager or a member of the
    /// holding cooperative (that it was revoked is public, the reason is not).
    #[graphql(cache_control(private))]
    async fn revoked_reason(&self, ctx: &Context<'_>) -> Option<&str> {
        self.0.revoked_reason.as_deref().filter(|_| {
            ctx.viewer()
                .sees_cooperative_private_details(self.0.cooperative_id)
        })
    }
    /// Whether it is in force today in the market's time zone: issued, not revoked, not expired.
    async fn is_valid(&self, ctx: &Context<'_>) -> bool {
        compliance::is_valid(&self.0, ctx.today())
    }
    /// The cooperative holding it.
    async fn cooperative(&self, ctx: &Context<'_>) -> Result<Cooperative> {
        Ok(Cooperative(
            load_required(ctx, CooperativeKey(self.0.cooperative_id), "cooperative").await?,
        ))
    }
}

/// The longest look-ahead of `expiringCertifications`, in days (about ten years).
pub const MAX_WITHIN_DAYS: i32 = 3660;

/// A certification to record.
#[derive(InputObject)]
pub struct AddCertificationInput {
    /// The cooperative holding it.
    pub cooperative_id: ID,
    /// Type of certification.
    #[graphql(name = "type")]
    pub certification_type: CertificationType,
    /// Number on the certificate (1 to 80 characters).
    pub number: String,
    /// Who issued it (ONSSA, DMP, a certification body…; 1 to 200 characters).
    pub issuer: String,
    /// Date it takes effect; before it, it covers nothing.
    pub issued_on: Date,
    /// Last day it is valid (not before `issuedOn`); omit when it does not expire.
    pub expires_on: Option<Date>,
    /// The products it covers, all of the holding cooperative; empty (the default) covers
    /// every product of the cooperative, present and future.
    #[graphql(default)]
    pub product_ids: Vec<ID>,
}

/// A correction of a certification; omitted fields stay as they are. The type and the
/// holder cannot change: revoke it and add another. A revoked certification cannot be
/// corrected.
#[derive(InputObject)]
pub struct UpdateCertificationInput {
    /// The certification to correct.
    pub id: ID,
    /// New number.
    pub number: Option<String>,
    /// New issuer.
    pub issuer: Option<String>,
    /// New date of effect.
    pub issued_on: Option<Date>,
    /// New last day of validity; `null` makes it not expire (a renewal moves it later).
    pub expires_on: MaybeUndefined<Date>,
    /// New coverage, replacing the old one; empty covers every product of the cooperative.
    pub product_ids: Option<Vec<ID>>,
}

/// The withdrawal of a certification.
#[derive(InputObject)]
pub struct RevokeCertificationInput {
    /// The certification to revoke.
    pub id: ID,
    /// Why it is withdrawn (required; shown to managers and the cooperative's members).
    pub reason: String,
}

payload!(
    /// The result of a certification mutation.
    CertificationPayload {
        /// The certification as saved.
        certification: Certification
    }
);

/// A product that cannot be sold, with why.
#[derive(SimpleObject)]
pub struct ProductCompliance {
    /// The product.
    pub product: Product,
    /// Why it cannot be sold today (never empty).
    pub issues: Vec<ComplianceIssue>,
}

/// A cooperative's products that cannot be sold.
#[derive(SimpleObject)]
pub struct CooperativeCompliance {
    /// The cooperative.
    pub cooperative: Cooperative,
    /// Its unsellable products, by name.
    pub products: Vec<ProductCompliance>,
}

crate::connection_types!(
    CertificationConnection,
    CertificationEdge,
    Certification,
    "certifications"
);

fn decode_products(ids: &[ID]) -> AppResult<Vec<i32>> {
    ids.iter()
        .map(|id| ids::decode::<i32>(id, NodeType::Product))
        .collect()
}

fn certification_id(id: &ID) -> AppResult<i32> {
    ids::decode::<i32>(id, NodeType::Certification)
}

/// Runs a certification change in one write transaction and answers with its payload.
async fn write<F>(ctx: &Context<'_>, change: F) -> Result<CertificationPayload>
where
    F: AsyncFnOnce(
        &db::DatabaseTransaction,
    ) -> AppResult<market_core::models::certification::Model>,
{
    let txn = db::begin_write(ctx.db()).await?;
    let result = change(&txn).await;
    respond(db::finish(txn, result).await, |c| {
        CertificationPayload::ok(Certification(c))
    })
}

/// Certification queries of the back office (managers only).
#[derive(Default)]
pub struct CertificationsQuery;

/// Certification queries of the back office (managers only).
#[Object]
impl CertificationsQuery {
    /// Valid certifications whose last day falls between today and today + `withinDays`
    /// (both included, in the market's time zone), soonest first: the renewals to chase.
    /// `withinDays` is 0 to 3660. Managers only.
    #[allow(clippy::too_many_arguments)] // the four Relay arguments and the window
    async fn expiring_certifications(
        &self,
        ctx: &Context<'_>,
        within_days: i32,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<CertificationConnection> {
        ctx.viewer()
            .require_manager("list expiring certifications")?;
        let days = u64::try_from(within_days)
            .ok()
            .filter(|d| *d <= MAX_WITHIN_DAYS as u64)
            .ok_or_else(|| AppError::bad_input(format!("withinDays is 0 to {MAX_WITHIN_DAYS}")))?;
        let today = ctx.today();
        let until = today
            .checked_add_days(Days::new(days))
            .ok_or_else(|| AppError::bad_input("withinDays reaches past the calendar"))?;
        let args = PageArgs::new(first, after, last, before);
        let listing = lists::expiring_certifications(ctx.db(), today, until, args).await?;
        Ok(listing_connection(
            listing,
            lists::expiring_cursor,
            Certification,
        ))
    }

    /// Every product that cannot be sold today, with its issues, grouped by cooperative
    /// (cooperatives and products by name). Managers only.
    async fn compliance_report(&self, ctx: &Context<'_>) -> Result<Vec<CooperativeCompliance>> {
        ctx.viewer().require_manager("see the compliance report")?;
        let report = dcert::compliance_report(ctx.db(), ctx.today()).await?;
        // The cooperatives are known: spare the nested fields a lookup.
        ctx.loaders()
            .feed_many(
                report
                    .iter()
                    .map(|c| (CooperativeKey(c.cooperative.id), c.cooperative.clone())),
            )
            .await;
        let chain = &crate::graphql::i18n::language(ctx).chain;
        Ok(report
            .into_iter()
            .map(|c| CooperativeCompliance {
                cooperative: Cooperative(c.cooperative),
                products: c
                    .products
                    .into_iter()
                    .map(|(p, issues)| ProductCompliance {
                        product: Product(p),
                        issues: issues
                            .into_iter()
                            .map(|i| ComplianceIssue::new(i, chain))
                            .collect(),
                    })
                    .collect(),
            })
            .collect())
    }
}

/// Certification mutations of the back office (managers only). Each takes effect at once:
/// the very next request sees the products it makes sellable or unsellable.
#[derive(Default)]
pub struct CertificationsMutation;

/// Certification mutations of the back office (managers only). Each takes effect at once:
/// the very next request sees the products it makes sellable or unsellable.
#[Object]
impl CertificationsMutation {
    /// Records a certification held by a cooperative, covering all its products or a list.
    async fn add_certification(
        &self,
        ctx: &Context<'_>,
        input: AddCertificationInput,
    ) -> Result<CertificationPayload> {
        ctx.viewer().require_manager("record certifications")?;
        let new = NewCertification {
            cooperative_id: ids::decode::<i32>(&input.cooperative_id, NodeType::Cooperative)?,
            cert_type: input.certification_type.into(),
            number: input.number,
            issuer: input.issuer,
            issued_on: input.issued_on.0,
            expires_on: input.expires_on.map(|d| d.0),
            product_ids: decode_products(&input.product_ids)?,
        };
        write(ctx, async |txn| dcert::add(txn, new).await).await
    }

    /// Corrects or renews a certification: number, issuer, dates, coverage.
    async fn update_certification(
        &self,
        ctx: &Context<'_>,
        input: UpdateCertificationInput,
    ) -> Result<CertificationPayload> {
        ctx.viewer().require_manager("correct certifications")?;
        let id = certification_id(&input.id)?;
        let changes = CertificationChanges {
            number: input.number,
            issuer: input.issuer,
            issued_on: input.issued_on.map(|d| d.0),
            expires_on: match input.expires_on {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(d) => Some(Some(d.0)),
            },
            product_ids: input
                .product_ids
                .as_deref()
                .map(decode_products)
                .transpose()?,
        };
        write(ctx, async |txn| dcert::update(txn, id, changes).await).await
    }

    /// Withdraws a certification: from now on it covers nothing, and the products that
    /// needed it stop being sold. Final: a revoked certification cannot be restored.
    async fn revoke_certification(
        &self,
        ctx: &Context<'_>,
        input: RevokeCertificationInput,
    ) -> Result<CertificationPayload> {
        ctx.viewer().require_manager("revoke certifications")?;
        let id = certification_id(&input.id)?;
        write(ctx, async |txn| dcert::revoke(txn, id, &input.reason).await).await
    }
}
