//! Opaque global IDs: base64url of `Type:key`. Clients must treat them as opaque; the
//! server checks the type so an order ID can never be used as a product ID.

use crate::error::{AppError, AppResult};
use async_graphql::ID;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// The object types that have global IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    Product,
    Cooperative,
    Segment,
    Region,
    Certification,
    User,
    Order,
    OrderLine,
    StockMovement,
    PayoutStatement,
    ProductImage,
    Address,
    DeliveryMethod,
    DeliveryZone,
    Webhook,
}

impl NodeType {
    pub fn name(self) -> &'static str {
        match self {
            Self::Product => "Product",
            Self::Cooperative => "Cooperative",
            Self::Segment => "Segment",
            Self::Region => "Region",
            Self::Certification => "Certification",
            Self::User => "User",
            Self::Order => "Order",
            Self::OrderLine => "OrderLine",
            Self::StockMovement => "StockMovement",
            Self::PayoutStatement => "PayoutStatement",
            Self::ProductImage => "ProductImage",
            Self::Address => "Address",
            Self::DeliveryMethod => "DeliveryMethod",
            Self::DeliveryZone => "DeliveryZone",
            Self::Webhook => "Webhook",
        }
    }

    const ALL: [NodeType; 15] = [
        Self::Product,
        Self::Cooperative,
        Self::Segment,
        Self::Region,
        Self::Certification,
        Self::User,
        Self::Order,
        Self::OrderLine,
        Self::StockMovement,
        Self::PayoutStatement,
        Self::ProductImage,
        Self::Address,
        Self::DeliveryMethod,
        Self::DeliveryZone,
        Self::Webhook,
    ];
}

/// Encodes the global ID of an object.
pub fn encode(node_type: NodeType, key: impl std::fmt::Display) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{key}", node_type.name())))
}

/// The longest global ID: a type name and a key, base64-encoded.
const MAX_ID_LEN: usize = 128;

fn invalid(id: &str) -> AppError {
    AppError::bad_input(format!(
        "{} is not a valid ID",
        market_core::domain::catalog::quoted(id)
    ))
}

/// Decodes any global ID into its type and key. Only the IDs the server hands out are
/// accepted: a key of letters, digits and dashes, in the canonical base64url without
/// padding, so one object has exactly one ID (see [`int_key`]).
pub fn decode_any(id: &str) -> AppResult<(NodeType, String)> {
    if id.len() > MAX_ID_LEN {
        return Err(invalid(id));
    }
    let bytes = URL_SAFE_NO_PAD.decode(id).map_err(|_| invalid(id))?;
    let text = String::from_utf8(bytes).map_err(|_| invalid(id))?;
    let (name, key) = text.split_once(':').ok_or_else(|| invalid(id))?;
    let node_type = NodeType::ALL
        .into_iter()
        .find(|t| t.name() == name)
        .ok_or_else(|| invalid(id))?;
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(invalid(id));
    }
    Ok((node_type, key.to_owned()))
}

/// The integer key of a decoded ID, refusing every spelling but the canonical one
/// (`+89`, `089` and ` 89` all parse as 89 but are not the ID of product 89).
pub fn int_key<T: std::str::FromStr + ToString>(id: &str, key: &str) -> AppResult<T> {
    match key.parse::<T>() {
        Ok(value) if value.to_string() == key => Ok(value),
        _ => Err(invalid(id)),
    }
}

/// Decodes a global ID that must be of `expected` type with an integer key.
pub fn decode<T: std::str::FromStr + ToString>(id: &str, expected: NodeType) -> AppResult<T> {
    let (node_type, key) = decode_any(id)?;
    if node_type != expected {
        return Err(AppError::bad_input(format!(
            "{} is not the ID of a {}",
            market_core::domain::catalog::quoted(id),
            expected.name()
        )));
    }
    int_key(id, &key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_the_type() {
        let id = encode(NodeType::Product, 42);
        assert_eq!(decode::<i32>(&id, NodeType::Product).unwrap(), 42);
        assert!(decode::<i32>(&id, NodeType::Cooperative).is_err());
        assert!(decode_any("not base64!").is_err());
        let plus = URL_SAFE_NO_PAD.encode("Product:+42");
        assert!(decode::<i32>(&plus, NodeType::Product).is_err());
        let zero = URL_SAFE_NO_PAD.encode("Product:042");
        assert!(decode::<i32>(&zero, NodeType::Product).is_err());
        let nul = URL_SAFE_NO_PAD.encode("Region:MA\u{0}03");
        assert!(decode_any(&nul).is_err());
    }
}
