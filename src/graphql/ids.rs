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
}

impl NodeType {
    fn name(self) -> &'static str {
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
        }
    }

    const ALL: [NodeType; 10] = [
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
    ];
}

/// Encodes the global ID of an object.
pub fn encode(node_type: NodeType, key: impl std::fmt::Display) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{key}", node_type.name())))
}

/// Decodes any global ID into its type and key.
pub fn decode_any(id: &str) -> AppResult<(NodeType, String)> {
    let invalid = || AppError::bad_input(format!("\"{id}\" is not a valid ID"));
    let bytes = URL_SAFE_NO_PAD.decode(id).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (name, key) = text.split_once(':').ok_or_else(invalid)?;
    let node_type = NodeType::ALL
        .into_iter()
        .find(|t| t.name() == name)
        .ok_or_else(invalid)?;
    Ok((node_type, key.to_owned()))
}

/// Decodes a global ID that must be of `expected` type with an integer key.
pub fn decode<T: std::str::FromStr>(id: &str, expected: NodeType) -> AppResult<T> {
    let (node_type, key) = decode_any(id)?;
    if node_type != expected {
        return Err(AppError::bad_input(format!(
            "\"{id}\" is not the ID of a {}",
            expected.name()
        )));
    }
    key.parse()
        .map_err(|_| AppError::bad_input(format!("\"{id}\" is not a valid ID")))
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
    }
}
