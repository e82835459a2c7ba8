//! Delivery at the API: the zones and methods managers configure, the options a shopper
//! gets for an address (`deliveryMethods`), and the address an order ships to.

use crate::error::{AppError, AppResult, Result, UserErrorCode};
use crate::graphql::addresses::AddressInput;
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{self, NodeType};
use crate::graphql::money::{Money, to_centimes};
use crate::graphql::payload::respond;
use crate::graphql::scalars::Decimal;
use crate::payload;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use market_core::db;
use market_core::domain::addresses::{self, AddressFields};
use market_core::domain::delivery::{self, MethodInput, Quote, RateInput};
use market_core::domain::enums as d;
use market_core::models::{delivery_method, delivery_rate, delivery_zone};

/// How a delivery method hands the goods over.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "d::DeliveryKind")]
pub enum DeliveryKind {
    /// Collected by the buyer at the market's shop in Casablanca; no address needed.
    Pickup,
    /// Brought to the buyer's address by a courier.
    HomeDelivery,
}

/// Where the parcel of a home-delivered order stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "d::DeliveryStatus")]
pub enum DeliveryStatus {
    /// Handed to the courier (with a tracking reference when there is one).
    Shipped,
    /// Handed to the buyer.
    Delivered,
    /// Came back to the market; its goods were restocked.
    Returned,
}

/// A zone delivery fees depend on: a city of a region, a whole region, or anywhere. An
/// address falls in the most specific zone that matches it.
#[derive(SimpleObject)]
pub struct DeliveryZone {
    /// Global ID of the zone.
    pub id: ID,
    /// Stable code, e.g. `CASABLANCA`.
    pub code: String,
    /// Name, e.g. "Other cities of Casablanca–Settat".
    pub name: String,
    /// The region it covers; `null`: every region.
    pub region_code: Option<String>,
    /// The city it covers (any letter case); `null`: every city of its region.
    pub city: Option<String>,
}

impl From<delivery_zone::Model> for DeliveryZone {
    fn from(z: delivery_zone::Model) -> Self {
        Self {
            id: ids::encode(NodeType::DeliveryZone, z.id),
            code: z.code,
            name: z.name,
            region_code: z.region_code,
            city: z.city,
        }
    }
}

/// How long a delivery is expected to take, in days after the order.
#[derive(SimpleObject)]
pub struct DeliveryWindow {
    /// At the earliest.
    pub min_days: i32,
    /// At the latest.
    pub max_days: i32,
}

/// A method's fee and window in one zone.
#[derive(SimpleObject)]
pub struct DeliveryRate {
    /// The zone.
    pub zone: DeliveryZone,
    /// The fee (before the method's free-delivery threshold).
    pub fee: Money,
    /// The estimated window.
    pub estimated_delivery: DeliveryWindow,
}

impl DeliveryRate {
    fn new(rate: delivery_rate::Model, zone: delivery_zone::Model) -> Self {
        Self {
            zone: zone.into(),
            fee: Money::mad(rate.fee_cents),
            estimated_delivery: DeliveryWindow {
                min_days: rate.min_days,
                max_days: rate.max_days,
            },
        }
    }
}

/// A way of getting an order to its buyer, as managers configure it.
pub struct DeliveryMethod {
    model: delivery_method::Model,
    rates: Vec<DeliveryRate>,
}

/// A way of getting an order to its buyer, as managers configure it.
#[Object]
impl DeliveryMethod {
    /// Global ID of the method (`deliveryMethodId` when ordering).
    async fn id(&self) -> ID {
        ids::encode(NodeType::DeliveryMethod, self.model.id)
    }
    /// Stable code, e.g. `HOME_DELIVERY`.
    async fn code(&self) -> &str {
        &self.model.code
    }
    /// Name shown to shoppers.
    async fn name(&self) -> &str {
        &self.model.name
    }
    /// Pickup or home delivery.
    async fn kind(&self) -> DeliveryKind {
        self.model.kind.into()
    }
    /// Whether shoppers are offered it.
    async fn active(&self) -> bool {
        self.model.active
    }
    /// Orders whose lines come to at least this much get it free; `null`: never free
    /// (unless its fee is zero).
    async fn free_above(&self) -> Option<Money> {
        self.model.free_above_cents.map(Money::mad)
    }
    /// Its fee and window by zone.
    async fn rates(&self) -> &[DeliveryRate] {
        &self.rates
    }
}

impl DeliveryMethod {
    /// The method with only its name and settings (no rates).
    pub fn bare(model: delivery_method::Model) -> Self {
        Self {
            model,
            rates: Vec::new(),
        }
    }
}

/// A delivery method offered for an address, with what it costs and takes there.
pub struct DeliveryOption(pub Quote);

/// A delivery method offered for an address, with what it costs and takes there.
#[Object]
impl DeliveryOption {
    /// The method (without its rates).
    async fn method(&self) -> DeliveryMethod {
        DeliveryMethod::bare(self.0.method.clone())
    }
    /// The zone whose rate applies.
    async fn zone(&self) -> DeliveryZone {
        self.0.zone.clone().into()
    }
    /// The fee for an order whose lines come to `subtotal` (none: the zone's fee before
    /// the free-delivery threshold).
    async fn fee(&self, subtotal: Option<Decimal>) -> Result<Money> {
        let Some(subtotal) = subtotal else {
            return Ok(Money::mad(self.0.rate_cents));
        };
        let cents = to_centimes(subtotal.0)
            .ok_or_else(|| AppError::bad_input("`subtotal` has at most two decimals"))?;
        Ok(Money::mad(self.0.fee_for(cents)))
    }
    /// Orders whose lines come to at least this much get it free.
    async fn free_above(&self) -> Option<Money> {
        self.0.method.free_above_cents.map(Money::mad)
    }
    /// How long it is expected to take.
    async fn estimated_delivery(&self) -> DeliveryWindow {
        DeliveryWindow {
            min_days: self.0.min_days,
            max_days: self.0.max_days,
        }
    }
}

/// The address a delivery is for: one of the signed-in customer's (`addressId`) or one
/// given in full (`address`), checked; `None` when neither is given. Errors name the
/// fields under `input`.
pub async fn chosen_address(
    ctx: &Context<'_>,
    address_id: Option<&ID>,
    address: Option<AddressInput>,
    (id_field, address_field): (&str, &str),
) -> AppResult<Option<AddressFields>> {
    match (address_id, address) {
        (Some(_), Some(_)) => Err(AppError::user(
            UserErrorCode::Invalid,
            &[id_field],
            format!("Give `{id_field}` or `{address_field}`, not both."),
        )),
        (Some(id), None) => {
            let user = ctx.viewer().require_user()?.user_id;
            let id = ids::decode::<i32>(id, NodeType::Address)?;
            let row = addresses::own(ctx.db(), user, id, &[id_field]).await?;
            Ok(Some(AddressFields::from(&row)))
        }
        (None, Some(given)) => Ok(Some(
            addresses::check(ctx.db(), &given.into(), &[address_field]).await?,
        )),
        (None, None) => Ok(None),
    }
}

/// A method's fee and window in one zone.
#[derive(InputObject)]
pub struct DeliveryRateInput {
    /// The zone's code (see `deliveryZones`).
    pub zone_code: String,
    /// The fee in MAD, 0 or more.
    pub fee: Decimal,
    /// Estimated days at the earliest, 0 to 60.
    pub min_days: i32,
    /// Estimated days at the latest, `minDays` to 60.
    pub max_days: i32,
}

/// A delivery method to create.
#[derive(InputObject)]
pub struct CreateDeliveryMethodInput {
    /// Stable code, unique, at most 64 characters.
    pub code: String,
    /// Name shown to shoppers, at most 200 characters.
    pub name: String,
    /// Pickup or home delivery.
    pub kind: DeliveryKind,
    /// Free at or above this subtotal; none: never free.
    pub free_above: Option<Decimal>,
    /// Offered to shoppers (default: yes).
    pub active: Option<bool>,
    /// Its fee and window by zone; an address outside them is not served.
    pub rates: Vec<DeliveryRateInput>,
}

/// A delivery method to change; omitted fields are kept.
#[derive(InputObject)]
pub struct UpdateDeliveryMethodInput {
    /// The method.
    pub id: ID,
    /// New name.
    pub name: Option<String>,
    /// Offered to shoppers or not.
    pub active: Option<bool>,
    /// New free-delivery threshold.
    pub free_above: Option<Decimal>,
    /// Remove the free-delivery threshold.
    #[graphql(default)]
    pub clear_free_above: bool,
    /// Replaces all its rates.
    pub rates: Option<Vec<DeliveryRateInput>>,
}

payload!(
    /// The result of `createDeliveryMethod` or `updateDeliveryMethod`.
    DeliveryMethodPayload {
        /// The method as it is now.
        delivery_method: DeliveryMethod
    }
);

fn amount(value: Decimal, field: &[&str]) -> AppResult<i64> {
    to_centimes(value.0).ok_or_else(|| {
        AppError::user(
            UserErrorCode::InvalidAmount,
            field,
            "An amount has at most two decimals.",
        )
    })
}

fn rates_input(rates: Vec<DeliveryRateInput>) -> AppResult<Vec<RateInput>> {
    rates
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let index = i.to_string();
            Ok(RateInput {
                zone_code: r.zone_code,
                fee_cents: amount(r.fee, &["rates", &index, "fee"])?,
                min_days: r.min_days,
                max_days: r.max_days,
            })
        })
        .collect()
}

async fn with_rates(
    ctx: &Context<'_>,
    methods: Vec<delivery_method::Model>,
) -> AppResult<Vec<DeliveryMethod>> {
    let mut rates = delivery::rates_of(ctx.db(), methods.iter().map(|m| m.id).collect()).await?;
    Ok(methods
        .into_iter()
        .map(|model| {
            let (mine, others): (Vec<_>, Vec<_>) =
                rates.drain(..).partition(|(r, _)| r.method_id == model.id);
            rates = others;
            DeliveryMethod {
                model,
                rates: mine
                    .into_iter()
                    .map(|(r, z)| DeliveryRate::new(r, z))
                    .collect(),
            }
        })
        .collect())
}

/// Delivery queries.
#[derive(Default)]
pub struct DeliveryQuery;

/// Delivery queries.
#[Object]
impl DeliveryQuery {
    /// The delivery methods offered for an address — one of the signed-in customer's
    /// (`addressId`) or one given in full (`address`) — with their fee and window there.
    /// Without an address only pickup is listed.
    async fn delivery_methods(
        &self,
        ctx: &Context<'_>,
        address_id: Option<ID>,
        address: Option<AddressInput>,
    ) -> Result<Vec<DeliveryOption>> {
        let address =
            chosen_address(ctx, address_id.as_ref(), address, ("addressId", "address")).await?;
        Ok(delivery::options(ctx.db(), address.as_ref())
            .await?
            .into_iter()
            .map(DeliveryOption)
            .collect())
    }

    /// The zones delivery fees depend on.
    async fn delivery_zones(&self, ctx: &Context<'_>) -> Result<Vec<DeliveryZone>> {
        Ok(delivery::zones(ctx.db())
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Every delivery method, offered or not, with its rates (managers).
    async fn all_delivery_methods(&self, ctx: &Context<'_>) -> Result<Vec<DeliveryMethod>> {
        ctx.viewer().require_manager("see every delivery method")?;
        let methods = delivery::methods(ctx.db(), false).await?;
        Ok(with_rates(ctx, methods).await?)
    }
}

/// Delivery mutations (managers).
#[derive(Default)]
pub struct DeliveryMutation;

/// Delivery mutations (managers).
#[Object]
impl DeliveryMutation {
    /// Creates a delivery method with its rates by zone (managers).
    async fn create_delivery_method(
        &self,
        ctx: &Context<'_>,
        input: CreateDeliveryMethodInput,
    ) -> Result<DeliveryMethodPayload> {
        ctx.viewer().require_manager("configure delivery")?;
        let given = (|| {
            Ok::<_, AppError>(MethodInput {
                code: Some(input.code),
                name: Some(input.name),
                kind: Some(input.kind.into()),
                active: input.active,
                free_above_cents: Some(
                    input
                        .free_above
                        .map(|a| amount(a, &["freeAbove"]))
                        .transpose()?,
                ),
                rates: Some(rates_input(input.rates)?),
            })
        })();
        let given = match given {
            Ok(g) => g,
            Err(e) => return respond(Err(e), |p: DeliveryMethodPayload| p),
        };
        let txn = db::begin_write(ctx.db()).await?;
        let result = delivery::create_method(&txn, given).await;
        let result = db::finish(txn, result).await;
        let result = match result {
            Ok(m) => with_rates(ctx, vec![m]).await.map(|mut v| v.remove(0)),
            Err(e) => Err(e),
        };
        respond(result, DeliveryMethodPayload::ok)
    }

    /// Changes a delivery method: its name, whether it is offered, its free-delivery
    /// threshold, its rates (managers). Orders already placed keep their fee.
    async fn update_delivery_method(
        &self,
        ctx: &Context<'_>,
        input: UpdateDeliveryMethodInput,
    ) -> Result<DeliveryMethodPayload> {
        ctx.viewer().require_manager("configure delivery")?;
        let id = ids::decode::<i32>(&input.id, NodeType::DeliveryMethod)?;
        let given = (|| {
            let free_above_cents = if input.clear_free_above {
                Some(None)
            } else {
                input
                    .free_above
                    .map(|a| amount(a, &["freeAbove"]).map(Some))
                    .transpose()?
            };
            Ok::<_, AppError>(MethodInput {
                name: input.name,
                active: input.active,
                free_above_cents,
                rates: input.rates.map(rates_input).transpose()?,
                ..Default::default()
            })
        })();
        let given = match given {
            Ok(g) => g,
            Err(e) => return respond(Err(e), |p: DeliveryMethodPayload| p),
        };
        let txn = db::begin_write(ctx.db()).await?;
        let result = delivery::update_method(&txn, id, given).await;
        let result = db::finish(txn, result).await;
        let result = match result {
            Ok(m) => with_rates(ctx, vec![m]).await.map(|mut v| v.remove(0)),
            Err(e) => Err(e),
        };
        respond(result, DeliveryMethodPayload::ok)
    }
}
