//! The signed-in customer's address book, and the address an order ships to.

use crate::error::Result;
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{self, NodeType};
use crate::graphql::payload::respond;
use crate::payload;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use market_core::db;
use market_core::domain::addresses::{self, AddressFields};
use market_core::models::address;

/// A delivery address in Morocco.
#[derive(SimpleObject, Clone)]
pub struct PostalAddress {
    /// Who receives the parcel.
    pub recipient: String,
    /// Their phone number, in international form (`+212…`), for the courier.
    pub phone: String,
    /// Street, number, building, apartment.
    pub street: String,
    /// City or town.
    pub city: String,
    /// Province or prefecture, as the market's reference data spells it.
    pub province: String,
    /// Region code (`MA-01` to `MA-12`).
    pub region_code: String,
    /// Five-digit postal code, if given.
    pub postal_code: Option<String>,
}

impl From<AddressFields> for PostalAddress {
    fn from(a: AddressFields) -> Self {
        Self {
            recipient: a.recipient,
            phone: a.phone,
            street: a.street,
            city: a.city,
            province: a.province,
            region_code: a.region_code,
            postal_code: a.postal_code,
        }
    }
}

/// An address of the signed-in customer's address book.
pub struct Address(pub address::Model);

/// An address of the signed-in customer's address book.
#[Object(cache_control(private))]
impl Address {
    /// Global ID of the address.
    async fn id(&self) -> ID {
        ids::encode(NodeType::Address, self.0.id)
    }
    /// Whether it is the customer's default address (the first one is, until another is
    /// made the default).
    async fn is_default(&self) -> bool {
        self.0.is_default
    }
    /// The address itself.
    async fn address(&self) -> PostalAddress {
        AddressFields::from(&self.0).into()
    }
}

/// A Moroccan address as the client gives it. Every field but `postalCode` is required
/// when creating an address; when updating, the fields given replace the stored ones.
#[derive(InputObject, Default, Clone)]
pub struct AddressInput {
    /// Who receives the parcel, at most 200 characters.
    pub recipient: Option<String>,
    /// A Moroccan phone number as people write it: `06 61 23 45 67`, `0522-123456`,
    /// `+212 661 234 567`, `00212…` (mobile 06/07, fixed 05/08).
    pub phone: Option<String>,
    /// Street, number, building, apartment; at most 300 characters.
    pub street: Option<String>,
    /// City or town, at most 100 characters.
    pub city: Option<String>,
    /// A province of the region (see `regions { provinces }`), any letter case.
    pub province: Option<String>,
    /// Region code, `MA-01` to `MA-12`.
    pub region_code: Option<String>,
    /// Five digits; optional.
    pub postal_code: Option<String>,
}

impl From<AddressInput> for addresses::AddressInput {
    fn from(a: AddressInput) -> Self {
        Self {
            recipient: a.recipient,
            phone: a.phone,
            street: a.street,
            city: a.city,
            province: a.province,
            region_code: a.region_code,
            postal_code: a.postal_code,
        }
    }
}

/// An address to add to the address book.
#[derive(InputObject)]
pub struct CreateAddressInput {
    /// The address.
    pub address: AddressInput,
    /// Make it the default address (the first address always is).
    #[graphql(default)]
    pub make_default: bool,
}

/// An address to change.
#[derive(InputObject)]
pub struct UpdateAddressInput {
    /// The address.
    pub id: ID,
    /// The fields to change.
    pub address: Option<AddressInput>,
    /// Make it the default address.
    #[graphql(default)]
    pub make_default: bool,
}

/// An address to remove.
#[derive(InputObject)]
pub struct DeleteAddressInput {
    /// The address. Orders keep the copy of the address they shipped to.
    pub id: ID,
}

payload!(
    /// The result of `createAddress` or `updateAddress`.
    AddressPayload {
        /// The address as it is now.
        address: Address
    }
);

payload!(
    /// The result of `deleteAddress`.
    DeleteAddressPayload {
        /// The ID of the address removed.
        deleted_address_id: ID
    }
);

/// Address book queries.
#[derive(Default)]
pub struct AddressesQuery;

/// Address book queries.
#[Object]
impl AddressesQuery {
    /// The signed-in account's addresses (at most 20), the default one first.
    async fn addresses(&self, ctx: &Context<'_>) -> Result<Vec<Address>> {
        let user = ctx.viewer().require_user()?.user_id;
        Ok(addresses::list(ctx.db(), user)
            .await?
            .into_iter()
            .map(Address)
            .collect())
    }
}

/// Address book mutations.
#[derive(Default)]
pub struct AddressesMutation;

/// Address book mutations.
#[Object]
impl AddressesMutation {
    /// Adds an address to the signed-in account's book (at most 20). Checked: a Moroccan
    /// phone number, a known region and one of its provinces, a five-digit postal code if
    /// any (`INVALID`, `NOT_FOUND`, `TOO_LONG` on the field at fault).
    async fn create_address(
        &self,
        ctx: &Context<'_>,
        input: CreateAddressInput,
    ) -> Result<AddressPayload> {
        let user = ctx.viewer().require_user()?.user_id;
        let txn = db::begin_write(ctx.db()).await?;
        let result = addresses::create(&txn, user, &input.address.into(), input.make_default).await;
        respond(db::finish(txn, result).await, |a| {
            AddressPayload::ok(Address(a))
        })
    }

    /// Changes one of the signed-in account's addresses (`NOT_FOUND` for another's).
    async fn update_address(
        &self,
        ctx: &Context<'_>,
        input: UpdateAddressInput,
    ) -> Result<AddressPayload> {
        let user = ctx.viewer().require_user()?.user_id;
        let id = ids::decode::<i32>(&input.id, NodeType::Address)?;
        let patch = input.address.unwrap_or_default().into();
        let txn = db::begin_write(ctx.db()).await?;
        let result = addresses::update(&txn, user, id, &patch, input.make_default).await;
        respond(db::finish(txn, result).await, |a| {
            AddressPayload::ok(Address(a))
        })
    }

    /// Removes one of the signed-in account's addresses; if it was the default, the oldest
    /// remaining one becomes the default.
    async fn delete_address(
        &self,
        ctx: &Context<'_>,
        input: DeleteAddressInput,
    ) -> Result<DeleteAddressPayload> {
        let user = ctx.viewer().require_user()?.user_id;
        let id = ids::decode::<i32>(&input.id, NodeType::Address)?;
        let txn = db::begin_write(ctx.db()).await?;
        let result = addresses::delete(&txn, user, id).await;
        respond(db::finish(txn, result).await, |id| {
            DeleteAddressPayload::ok(ids::encode(NodeType::Address, id))
        })
    }
}
