//! Gift packs (issue #18): a product made of other products, possibly of several
//! cooperatives. A pack is sellable only when every component is; its stock is computed
//! from its components' (the least of `floor(stock / quantity)`), never stored. An order
//! line of a pack is recorded as one line per component holding that component's share
//! of the pack's revenue ([`allocate`]), so stock, payouts, rollups and analytics see
//! through packs without knowing them.

use crate::domain::catalog::{self, ProductFields};
use crate::domain::compliance::{self, ComplianceIssue};
use crate::entities::{certification, certification_product, cooperative, pack_component, product};
use crate::error::{AppError, AppResult, UserError, UserErrorCode};
use chrono::NaiveDate;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use std::collections::{BTreeMap, HashMap};

/// Most components a pack may have.
pub const MAX_COMPONENTS: usize = 20;
/// Most units of one component in a pack.
pub const MAX_COMPONENT_QUANTITY: i32 = 100;

/// Splits `total` centimes into parts proportional to `weights` (one per component, in
/// the components' id order), exactly: the parts add up to `total`. Each part is first
/// rounded down; the centimes left over go one each to the parts with the largest
/// remainders, ties to the earlier component — the same input always gives the same
/// split. When every weight is zero (free components) the split is by equal weights.
pub fn allocate(total: i64, weights: &[i64]) -> Vec<i64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let equal = vec![1; weights.len()];
    let weights: &[i64] = if weights.iter().all(|w| *w <= 0) {
        &equal
    } else {
        weights
    };
    let sum: i128 = weights.iter().map(|w| i128::from(Ord::max(*w, 0))).sum();
    let total_wide = i128::from(total);
    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let scaled = total_wide * i128::from(Ord::max(*w, 0));
        parts.push(scaled.div_euclid(sum));
        remainders.push((scaled.rem_euclid(sum), i));
    }
    let mut left = total_wide - parts.iter().sum::<i128>();
    // Largest remainder first; equal remainders: the earlier component first.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left <= 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
        .into_iter()
        .map(|p| i64::try_from(p).unwrap_or(0))
        .collect()
}

/// The components of the packs `pack_ids`, each pack's in component id order.
pub async fn components_of(
    db: &impl ConnectionTrait,
    pack_ids: &[i32],
) -> Result<BTreeMap<i32, Vec<pack_component::Model>>, DbErr> {
    let mut out: BTreeMap<i32, Vec<pack_component::Model>> = BTreeMap::new();
    if pack_ids.is_empty() {
        return Ok(out);
    }
    for c in pack_component::Entity::find()
        .filter(pack_component::Column::PackId.is_in(pack_ids.iter().copied()))
        .order_by_asc(pack_component::Column::PackId)
        .order_by_asc(pack_component::Column::ComponentId)
        .all(db)
        .await?
    {
        out.entry(c.pack_id).or_default().push(c);
    }
    Ok(out)
}

/// The stock available of each pack of `pack_ids`: the least, over its components, of
/// `floor(component stock / quantity)`, in one statement. A pack without components has
/// none.
pub async fn available(
    db: &impl ConnectionTrait,
    pack_ids: &[i32],
) -> Result<HashMap<i32, i32>, DbErr> {
    if pack_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let pc = Alias::new("pc");
    let p = Alias::new("p");
    let query = Query::select()
        .expr_as(
            Expr::col((pc.clone(), pack_component::Column::PackId)),
            Alias::new("pack_id"),
        )
        .expr_as(
            Expr::cust("MIN(\"p\".\"stock\" / \"pc\".\"quantity\")"),
            Alias::new("available"),
        )
        .from_as(pack_component::Entity, pc.clone())
        .join_as(
            JoinType::InnerJoin,
            product::Entity,
            p.clone(),
            Expr::col((p.clone(), product::Column::Id))
                .equals((pc.clone(), pack_component::Column::ComponentId)),
        )
        .and_where(
            Expr::col((pc.clone(), pack_component::Column::PackId)).is_in(pack_ids.iter().copied()),
        )
        .group_by_col((pc, pack_component::Column::PackId))
        .to_owned();
    let mut out = HashMap::with_capacity(pack_ids.len());
    for row in db
        .query_all_raw(db.get_database_backend().build(&query))
        .await?
    {
        let id: i32 = row.try_get("", "pack_id")?;
        // PostgreSQL's MIN of integers is an integer; SQLite's too.
        let level: i64 = row
            .try_get::<i64>("", "available")
            .or_else(|_| row.try_get::<i32>("", "available").map(i64::from))?;
        out.insert(id, i32::try_from(Ord::max(level, 0)).unwrap_or(i32::MAX));
    }
    Ok(out)
}

/// What makes the components of the packs `pack_ids` unsellable on `today`, by pack, in
/// component id order, each issue naming its component — in one statement: the
/// components with their cooperatives and the certifications that may cover them (the
/// rows `orders` reads for a sale). The packs' own `active` flag is the caller's.
pub async fn component_issues(
    db: &impl ConnectionTrait,
    pack_ids: &[i32],
    today: NaiveDate,
) -> Result<HashMap<i32, Vec<ComplianceIssue>>, DbErr> {
    use sea_orm::{FromQueryResult, IdenStatic, Iterable, QueryTrait};
    let mut out: HashMap<i32, Vec<ComplianceIssue>> =
        pack_ids.iter().map(|id| (*id, Vec::new())).collect();
    if pack_ids.is_empty() {
        return Ok(out);
    }
    let (pc, c, cp) = (Alias::new("pc"), Alias::new("c"), Alias::new("cp"));
    let mut query = product::Entity::find()
        .find_also_related(cooperative::Entity)
        .into_query();
    query
        .join_as(
            JoinType::InnerJoin,
            pack_component::Entity,
            pc.clone(),
            Expr::col((pc.clone(), pack_component::Column::ComponentId))
                .equals((product::Entity, product::Column::Id)),
        )
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
            sea_orm::Condition::all()
                .add(
                    Expr::col((cp.clone(), certification_product::Column::CertificationId))
                        .equals((c.clone(), certification::Column::Id)),
                )
                .add(
                    Expr::col((cp.clone(), certification_product::Column::ProductId))
                        .equals((product::Entity, product::Column::Id)),
                ),
        )
        .and_where(
            Expr::col((pc.clone(), pack_component::Column::PackId)).is_in(pack_ids.iter().copied()),
        );
    for column in certification::Column::iter() {
        query.expr_as(
            Expr::col((c.clone(), column)),
            Alias::new(format!("C_{}", column.as_str())),
        );
    }
    query.expr_as(
        Expr::col((cp, certification_product::Column::ProductId)),
        Alias::new("listed"),
    );
    query.expr_as(
        Expr::col((pc, pack_component::Column::PackId)),
        Alias::new("pack_id"),
    );
    let rows = db
        .query_all_raw(db.get_database_backend().build(&query))
        .await?;
    let mut components: BTreeMap<(i32, i32), (product::Model, cooperative::Model)> =
        BTreeMap::new();
    let mut certs: Vec<certification::Model> = Vec::new();
    let mut listed: Vec<(i32, i32)> = Vec::new();
    for row in rows {
        let product = product::Model::from_query_result(&row, "A_")?;
        let pack: i32 = row.try_get("", "pack_id")?;
        if let Some(cert) = certification::Model::from_query_result_optional(&row, "C_")? {
            if row.try_get::<Option<i32>>("", "listed")?.is_some() {
                listed.push((cert.id, product.id));
            }
            if !certs.iter().any(|known| known.id == cert.id) {
                certs.push(cert);
            }
        }
        if let Some(coop) = cooperative::Model::from_query_result_optional(&row, "B_")? {
            components
                .entry((pack, product.id))
                .or_insert((product, coop));
        }
    }
    for ((pack, _), (p, coop)) in &components {
        let covering: Vec<&certification::Model> = certs
            .iter()
            .filter(|c| c.cooperative_id == coop.id)
            .filter(|c| c.covers_all_products || listed.contains(&(c.id, p.id)))
            .collect();
        out.entry(*pack).or_default().extend(
            compliance::assess(p, coop, &covering, today)
                .into_iter()
                .map(|i| i.for_component(&p.sku)),
        );
    }
    Ok(out)
}

/// Why `pack` cannot be sold on `today`: inactive itself, or any of its components'
/// issues (each naming its component); empty when it can.
pub async fn issues(
    db: &impl ConnectionTrait,
    pack: &product::Model,
    today: NaiveDate,
) -> Result<Vec<ComplianceIssue>, DbErr> {
    let mut out = Vec::new();
    if !pack.active {
        out.push(compliance::inactive());
    }
    out.extend(
        component_issues(db, &[pack.id], today)
            .await?
            .remove(&pack.id)
            .unwrap_or_default(),
    );
    Ok(out)
}

/// A pack as a manager composes it.
#[derive(Debug, Clone, Default)]
pub struct PackFields {
    pub sku: String,
    pub name: String,
    pub description: Option<String>,
    pub format: String,
    pub price_cents: i64,
    /// The pack's segment in the catalog (of its home cooperative's kind).
    pub segment_slug: String,
    pub active: Option<bool>,
    /// (product id, units per pack), in the manager's order; the first names the pack's
    /// home cooperative (whose listing shows it).
    pub components: Vec<(i32, i32)>,
}

fn component_error(index: usize, field: &str, message: impl Into<String>) -> UserError {
    UserError {
        field: vec![
            "input".into(),
            "components".into(),
            index.to_string(),
            field.into(),
        ],
        message: message.into(),
        code: UserErrorCode::Invalid,
    }
}

/// Creates a pack: a product (`is_pack`) of its first component's cooperative, and its
/// components. Components must exist, be distinct, not be packs themselves, and number 1
/// to [`MAX_COMPONENTS`], each 1 to [`MAX_COMPONENT_QUANTITY`] units. One transaction
/// (the caller's); a new catalog version.
#[tracing::instrument(skip_all, fields(sku = %fields.sku))]
pub async fn create(db: &impl ConnectionTrait, fields: PackFields) -> AppResult<product::Model> {
    let mut errors = Vec::new();
    if fields.components.is_empty() || fields.components.len() > MAX_COMPONENTS {
        errors.push(UserError::new(
            UserErrorCode::Invalid,
            &["components"],
            format!("A pack has 1 to {MAX_COMPONENTS} components."),
        ));
    }
    let ids: Vec<i32> = fields.components.iter().map(|(id, _)| *id).collect();
    let found: HashMap<i32, product::Model> = product::Entity::find()
        .filter(product::Column::Id.is_in(ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut seen = Vec::new();
    for (index, (id, quantity)) in fields.components.iter().enumerate() {
        if !(1..=MAX_COMPONENT_QUANTITY).contains(quantity) {
            let mut e = component_error(
                index,
                "quantity",
                format!("A pack holds 1 to {MAX_COMPONENT_QUANTITY} units of a component."),
            );
            e.code = UserErrorCode::InvalidQuantity;
            errors.push(e);
        }
        match found.get(id) {
            None => {
                let mut e = component_error(index, "productId", "No such product.");
                e.code = UserErrorCode::NotFound;
                errors.push(e);
            }
            Some(p) if p.is_pack => errors.push(component_error(
                index,
                "productId",
                format!(
                    "{} is a pack: a pack's components are single products.",
                    p.sku
                ),
            )),
            Some(p) if seen.contains(id) => {
                let mut e = component_error(
                    index,
                    "productId",
                    format!("{} is listed twice: give its quantity once.", p.sku),
                );
                e.code = UserErrorCode::Duplicate;
                errors.push(e);
            }
            Some(_) => seen.push(*id),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }
    let home = found[&fields.components[0].0].cooperative_id;
    let coop = cooperative::Entity::find_by_id(home)
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal("product without cooperative".into()))?;
    let saved = catalog::save_product(
        db,
        &coop,
        None,
        ProductFields {
            sku: Some(fields.sku),
            name: Some(fields.name),
            description: fields.description,
            format: Some(fields.format),
            price_cents: Some(fields.price_cents),
            segment_slug: Some(fields.segment_slug),
            active: fields.active,
            low_stock_threshold: Some(0),
        },
    )
    .await?;
    let mut pack: product::ActiveModel = saved.into();
    pack.is_pack = Set(true);
    let pack = pack.update(db).await?;
    pack_component::Entity::insert_many(fields.components.iter().map(|(id, quantity)| {
        pack_component::ActiveModel {
            pack_id: Set(pack.id),
            component_id: Set(*id),
            quantity: Set(*quantity),
        }
    }))
    .exec_without_returning(db)
    .await?;
    // The storefront's stock and sellability of this product are new.
    crate::domain::catalog_version::touch(db).await?;
    Ok(pack)
}

/// Refuses a stock movement on a pack: its stock is its components'.
pub fn refuse_stock_of_pack(p: &product::Model) -> AppResult<()> {
    if p.is_pack {
        return Err(AppError::user(
            UserErrorCode::Invalid,
            &["productId"],
            format!(
                "{} is a pack: its stock is computed from its components'; deliver or adjust those.",
                p.sku
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::allocate;

    #[test]
    fn parts_add_up_to_the_total_and_follow_the_weights() {
        assert_eq!(
            allocate(10_000, &[5_000, 3_000, 2_000]),
            vec![5_000, 3_000, 2_000]
        );
        // 100 split 1:1:1 → 34, 33, 33: the remainder to the earliest tie.
        assert_eq!(allocate(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(allocate(0, &[3, 4]), vec![0, 0]);
        assert_eq!(allocate(7, &[0, 0]), vec![4, 3]);
        let mut seed = 42_u64;
        let mut next = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            seed >> 33
        };
        for _ in 0..2_000 {
            let n = 1 + (next() % 6) as usize;
            let weights: Vec<i64> = (0..n).map(|_| (next() % 100_000) as i64).collect();
            let total = (next() % 10_000_000) as i64;
            let parts = allocate(total, &weights);
            assert_eq!(parts.iter().sum::<i64>(), total);
            let sum: i64 = weights.iter().sum();
            for (p, w) in parts.iter().zip(&weights) {
                assert!(*p >= 0);
                if sum > 0 {
                    // Within one centime of the exact proportion.
                    let exact = i128::from(total) * i128::from(*w);
                    let scaled = i128::from(*p) * i128::from(sum);
                    assert!((scaled - exact).abs() < i128::from(sum));
                }
            }
        }
    }
}
