//! The `Cooperative` type: a producers' cooperative with its products and certifications,
//! and the cooperative list's filter and sort.

use crate::error::Result;
use crate::error::{AppError, AppResult};
use crate::graphql::certifications::Certification;
use crate::graphql::context::{ContextExt, load_or_default, load_required};
use crate::graphql::enums::{CooperativeKind, CooperativeStatus, SortDirection};
use crate::graphql::i18n::{self, Localized, Translation};
use crate::graphql::ids::{self, NodeType};
use crate::graphql::image::Image;
use crate::graphql::loaders::{
    CertificationsOfCooperative, PicturesOfCooperative, ProvinceKey, RegionKey,
};
use crate::graphql::pagination::PageArgs;
use crate::graphql::product::{
    ProductConnection, ProductSort, ProductSortField, first_products_page, list_products,
};
use crate::graphql::region::Region;
use crate::graphql::scalars::{Date, Decimal};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use market_core::domain::catalog::ProductFilter;
use market_core::domain::compliance::{self};
use market_core::domain::enums::CooperativeImageRole as ImageRole;
use market_core::domain::translations::{Subject, SubjectKind};
use market_core::models::cooperative;

/// A producers' cooperative listed by the market.
pub struct Cooperative(pub cooperative::Model);

impl Cooperative {
    fn subject(&self) -> Subject {
        Subject::new(SubjectKind::Cooperative, self.0.id)
    }

    async fn localized(&self, ctx: &Context<'_>) -> AppResult<Localized> {
        i18n::localize(ctx, self.subject(), &self.0.name, &self.0.description).await
    }

    async fn picture(&self, ctx: &Context<'_>, role: ImageRole) -> Result<Option<Image>> {
        let pictures: Vec<_> = load_or_default(ctx, PicturesOfCooperative(self.0.id)).await?;
        Ok(pictures
            .into_iter()
            .find(|p| p.record.role == role)
            .map(Image))
    }
}

/// A producers' cooperative listed by the market.
#[Object]
impl Cooperative {
    /// Global ID of the cooperative.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Cooperative, self.0.id)
    }
    /// URL-friendly unique name.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Name of the cooperative, in the request's language (falling back along its
    /// chain; the registered name is the base-language one).
    async fn name(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.localized(ctx).await?.name)
    }
    /// Presentation of the cooperative, in the request's language.
    async fn description(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.localized(ctx).await?.description)
    }
    /// The language `name` is in.
    async fn language(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.localized(ctx).await?.language)
    }
    /// The cooperative's name and description in each language other than the base one.
    async fn translations(&self, ctx: &Context<'_>) -> Result<Vec<Translation>> {
        Ok(i18n::translations(ctx, self.subject()).await?)
    }
    /// The cooperative's logo; `null` when it has none.
    async fn logo(&self, ctx: &Context<'_>) -> Result<Option<Image>> {
        self.picture(ctx, ImageRole::Logo).await
    }
    /// A wide picture for the top of the cooperative's page; `null` when it has none.
    async fn cover(&self, ctx: &Context<'_>) -> Result<Option<Image>> {
        self.picture(ctx, ImageRole::Cover).await
    }
    /// Terroir, cosmetics or handicrafts.
    async fn kind(&self) -> CooperativeKind {
        self.0.kind.into()
    }
    /// The region the cooperative is based in.
    async fn region(&self, ctx: &Context<'_>) -> Result<Region> {
        Ok(Region(
            load_required(ctx, RegionKey(self.0.region_code.clone()), "region").await?,
        ))
    }
    /// The province or prefecture the cooperative is based in.
    async fn province(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let Some(id) = self.0.province_id else {
            return Ok(None);
        };
        let row = ctx
            .loaders()
            .load_one(ProvinceKey(id))
            .await
            .map_err(AppError::from)?;
        let Some(p) = row else {
            return Ok(None);
        };
        let subject = Subject::new(SubjectKind::Province, p.id);
        Ok(Some(i18n::localize(ctx, subject, &p.name, "").await?.name))
    }
    /// When the cooperative was founded.
    async fn founded_on(&self) -> Option<Date> {
        self.0.founded_on.map(Date)
    }
    /// Number of members.
    async fn member_count(&self) -> i32 {
        self.0.member_count
    }
    /// Whether the cooperative is led by women.
    async fn women_led(&self) -> bool {
        self.0.women_led
    }
    /// Whether the cooperative is led by young people.
    async fn youth_led(&self) -> bool {
        self.0.youth_led
    }
    /// When the cooperative joined the market.
    async fn listed_since(&self) -> Date {
        Date(self.0.listed_since)
    }
    /// Incubated, listed or suspended.
    async fn status(&self) -> CooperativeStatus {
        self.0.status.into()
    }
    /// Contact e-mail; `null` unless the viewer is a manager or a member of this cooperative.
    #[graphql(cache_control(private))]
    async fn contact_email(&self, ctx: &Context<'_>) -> Option<&str> {
        self.private(ctx, self.0.contact_email.as_deref())
    }
    /// Contact phone; `null` unless the viewer is a manager or a member of this cooperative.
    #[graphql(cache_control(private))]
    async fn contact_phone(&self, ctx: &Context<'_>) -> Option<&str> {
        self.private(ctx, self.0.contact_phone.as_deref())
    }
    /// Bank account (RIB) payouts are sent to; `null` unless the viewer is a manager or a
    /// member of this cooperative.
    #[graphql(cache_control(private))]
    async fn payout_account(&self, ctx: &Context<'_>) -> Option<&str> {
        self.private(ctx, self.0.payout_account.as_deref())
    }
    /// Commission the market keeps on sales, as a fraction ("0.15" = 15 %); `null` unless
    /// the viewer is a manager or a member of this cooperative.
    #[graphql(cache_control(private))]
    async fn commission_rate(&self, ctx: &Context<'_>) -> Option<Decimal> {
        ctx.viewer()
            .sees_cooperative_private_details(self.0.id)
            .then(|| {
                Decimal(rust_decimal::Decimal::new(
                    market_core::domain::cooperatives::commission_bp(&self.0).into(),
                    4,
                ))
            })
    }
    /// Products at or below their low-stock threshold, sellable or not. Managers and
    /// members of this cooperative only (`FORBIDDEN` otherwise).
    #[graphql(cache_control(private))]
    async fn low_stock_products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ProductConnection> {
        ctx.viewer()
            .require_cooperative_manager(self.0.id, "list its low-stock products")?;
        let filter = ProductFilter {
            cooperative_id: Some(self.0.id),
            include_unsellable: true,
            low_stock: true,
            ..Default::default()
        };
        let sort = ProductSort {
            field: ProductSortField::Name,
            direction: SortDirection::Asc,
        };
        let args = PageArgs::new(first, after, last, before);
        match args.first_page_rows()? {
            Some(rows) => first_products_page(ctx, filter, Some(sort), rows).await,
            None => list_products(ctx, filter, Some(sort), args).await,
        }
    }
    /// The cooperative's products, sellable ones only unless the viewer manages it.
    #[allow(clippy::too_many_arguments)] // the four Relay arguments, filter and sort
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        sort: Option<ProductSort>,
    ) -> Result<ProductConnection> {
        let filter = ProductFilter {
            cooperative_id: Some(self.0.id),
            include_unsellable: ctx.viewer().sees_unsellable_products_of(self.0.id),
            ..Default::default()
        };
        let args = PageArgs::new(first, after, last, before);
        match args.first_page_rows()? {
            Some(rows) => first_products_page(ctx, filter, sort, rows).await,
            None => list_products(ctx, filter, sort, args).await,
        }
    }
    /// Certifications held by the cooperative. By default only those valid today;
    /// `includeInvalid` adds expired, revoked and not-yet-valid ones. Certifications are
    /// public labels, so anyone may list them (only `revokedReason` is private).
    async fn certifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_invalid: bool,
    ) -> Result<Vec<Certification>> {
        let today = ctx.today();
        let all = load_or_default(ctx, CertificationsOfCooperative(self.0.id)).await?;
        Ok(all
            .into_iter()
            .filter(|c| include_invalid || compliance::is_valid(c, today))
            .map(Certification)
            .collect())
    }
}

impl Cooperative {
    fn private<'a>(&self, ctx: &Context<'_>, value: Option<&'a str>) -> Option<&'a str> {
        value.filter(|_| ctx.viewer().sees_cooperative_private_details(self.0.id))
    }
}

/// Filters of the cooperative list; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct CooperativeFilterInput {
    /// Only cooperatives of this kind.
    pub kind: Option<CooperativeKind>,
    /// Only cooperatives of this region (its code, `MA-01` … `MA-12`; an unknown one is
    /// `BAD_USER_INPUT` listing the codes).
    pub region: Option<String>,
    /// Only cooperatives in this status.
    pub status: Option<CooperativeStatus>,
    /// Words to find in the name; case- and accent-insensitive. At most 200 characters.
    pub search: Option<String>,
}

/// What cooperatives can be sorted by.
#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum CooperativeSortField {
    /// Alphabetically by name.
    #[default]
    Name,
    /// By the date they joined the market, most recent first (`DESC` gives earliest first).
    Newest,
}

/// The order of a cooperative list.
#[derive(InputObject, Default, Clone, Copy)]
pub struct CooperativeSort {
    /// What to sort by.
    #[graphql(default)]
    pub field: CooperativeSortField,
    /// Which way.
    #[graphql(default)]
    pub direction: SortDirection,
}

crate::connection_types!(
    CooperativeConnection,
    CooperativeEdge,
    Cooperative,
    "cooperatives"
);
