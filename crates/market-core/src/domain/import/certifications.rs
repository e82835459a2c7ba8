//! Importing certifications (the demo's): keyed by cooperative and number, checked
//! whole, then written in one transaction.

use super::*;

/// The columns of a certifications file, in order.
pub const CERTIFICATION_COLUMNS: [&str; 9] = [
    "cooperative_slug",
    "type",
    "number",
    "issuer",
    "issued_on",
    "expires_on",
    "skus",
    "revoked_at",
    "revoked_reason",
];

/// A checked certification to write.
struct NewCertification {
    cooperative_id: i32,
    kind: CertificationType,
    number: String,
    issuer: String,
    issued_on: NaiveDate,
    expires_on: Option<NaiveDate>,
    products: Vec<i32>,
    revoked: Option<(DateTime<Utc>, String)>,
}

/// Imports certifications and labels (see [`CERTIFICATION_COLUMNS`]) with `txn`, which
/// the caller commits: all or nothing, like a catalog file, and keyed by cooperative and
/// number, so a certification already recorded is left as it is. `skus` lists the
/// products covered, separated by spaces (empty: every product of the holder, present
/// and future); a certification revoked before this system keeps its `revoked_at` (RFC
/// 3339) and `revoked_reason`. The same rules as `domain::certifications::add` apply to
/// each row. Returns how many it added. Used by the demo seeder, whose certifications
/// could not go through `add` and `revoke` (those stamp the current time).
pub async fn import_certifications(
    txn: &impl ConnectionTrait,
    input: impl Read,
) -> Result<usize, ImportError> {
    let mut reader = csv_reader(input);
    check_header(&mut reader, &CERTIFICATION_COLUMNS)?;
    let coops: HashMap<String, i32> = cooperative::Entity::find()
        .all(txn)
        .await?
        .into_iter()
        .map(|c| (c.slug, c.id))
        .collect();
    let products: HashMap<String, (i32, i32)> = product::Entity::find()
        .all(txn)
        .await?
        .into_iter()
        .map(|p| (p.sku, (p.id, p.cooperative_id)))
        .collect();
    let known: HashSet<(i32, String)> = certification::Entity::find()
        .all(txn)
        .await?
        .into_iter()
        .map(|c| (c.cooperative_id, c.number))
        .collect();
    let mut problems = Problems::default();
    let mut seen: HashSet<(i32, String)> = HashSet::new();
    let mut new: Vec<NewCertification> = Vec::new();
    for record in reader.records() {
        let Some((line, record)) = problems.row(record, CERTIFICATION_COLUMNS.len()) else {
            continue;
        };
        let field = |i: usize| record.get(i).unwrap_or("").to_owned();
        let mut bad: Vec<String> = Vec::new();
        let holder = coops.get(&field(0)).copied();
        if holder.is_none() {
            bad.push(format!("unknown cooperative \"{}\"", field(0)));
        }
        let kind = CertificationType::parse(&field(1).to_uppercase());
        if kind.is_none() {
            bad.push(format!("type \"{}\" is not a certification type", field(1)));
        }
        let text = |bad: &mut Vec<String>, column: &str, text: String, max: usize| {
            match crate::domain::input::check(&text, max, false) {
                Ok(t) if !t.is_empty() => t,
                _ => {
                    bad.push(format!("{column} must have 1 to {max} characters"));
                    String::new()
                }
            }
        };
        let number = text(&mut bad, "number", field(2), 80);
        let issuer = text(&mut bad, "issuer", field(3), 200);
        let date = |bad: &mut Vec<String>, column: &str, text: String| {
            if text.is_empty() {
                return None;
            }
            NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .map_err(|_| bad.push(format!("{column} \"{text}\" is not a date (YYYY-MM-DD)")))
                .ok()
        };
        let issued_on = date(&mut bad, "issued_on", field(4));
        if field(4).is_empty() {
            bad.push("issued_on is required".into());
        }
        let expires_on = date(&mut bad, "expires_on", field(5));
        if let (Some(start), Some(end)) = (issued_on, expires_on)
            && end < start
        {
            bad.push(format!("expires_on {end} comes before issued_on {start}"));
        }
        let mut covered = Vec::new();
        for sku in field(6).split_whitespace() {
            match products.get(&sku.to_uppercase()) {
                Some((id, owner)) if Some(*owner) == holder => covered.push(*id),
                Some(_) => bad.push(format!("{sku} is not a product of {}", field(0))),
                None => bad.push(format!("unknown SKU \"{sku}\"")),
            }
        }
        let revoked_at = match field(7) {
            t if t.is_empty() => None,
            t => DateTime::parse_from_rfc3339(&t)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|_| {
                    bad.push(format!(
                        "revoked_at \"{t}\" is not a time (RFC 3339 with an offset)"
                    ))
                })
                .ok(),
        };
        let reason = field(8);
        if field(7).is_empty() != reason.is_empty() {
            bad.push("revoked_at and revoked_reason go together".into());
        }
        if let Some(holder) = holder
            && !seen.insert((holder, number.clone()))
        {
            bad.push(format!(
                "number {number} appears twice for this cooperative"
            ));
        }
        if !bad.is_empty() {
            problems.add(line, bad.join("; "));
            continue;
        }
        let (Some(cooperative_id), Some(kind), Some(issued_on)) = (holder, kind, issued_on) else {
            continue;
        };
        if known.contains(&(cooperative_id, number.clone())) {
            continue;
        }
        covered.sort_unstable();
        covered.dedup();
        new.push(NewCertification {
            cooperative_id,
            kind,
            number,
            issuer,
            issued_on,
            expires_on,
            products: covered,
            revoked: revoked_at.map(|at| (at, reason)),
        });
    }
    problems.check()?;

    let now = Utc::now();
    for chunk in new.chunks(50) {
        let rows = chunk.iter().map(|c| certification::ActiveModel {
            cooperative_id: sea_orm::Set(c.cooperative_id),
            r#type: sea_orm::Set(c.kind),
            number: sea_orm::Set(c.number.clone()),
            issuer: sea_orm::Set(c.issuer.clone()),
            issued_on: sea_orm::Set(c.issued_on),
            expires_on: sea_orm::Set(c.expires_on),
            covers_all_products: sea_orm::Set(c.products.is_empty()),
            revoked_at: sea_orm::Set(c.revoked.as_ref().map(|(at, _)| *at)),
            revoked_reason: sea_orm::Set(c.revoked.as_ref().map(|(_, why)| why.clone())),
            created_at: sea_orm::Set(now),
            updated_at: sea_orm::Set(now),
            ..Default::default()
        });
        certification::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    let ids: HashMap<(i32, String), i32> = certification::Entity::find()
        .all(txn)
        .await?
        .into_iter()
        .map(|c| ((c.cooperative_id, c.number), c.id))
        .collect();
    let mut links = Vec::new();
    for c in &new {
        let id = *ids
            .get(&(c.cooperative_id, c.number.clone()))
            .ok_or_else(|| AppError::Internal("imported certification vanished".into()))?;
        links.extend(
            c.products
                .iter()
                .map(|p| certification_product::ActiveModel {
                    certification_id: sea_orm::Set(id),
                    product_id: sea_orm::Set(*p),
                }),
        );
    }
    for chunk in links.chunks(50) {
        certification_product::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(new.len())
}
