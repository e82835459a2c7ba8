//! Small builders for test data, written straight to the database.

use chrono::{NaiveDate, Utc};
use market_core::entities::{
    certification, certification_product, cooperative, product, segment, stock_movement,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use solidarity_market::domain::enums::{
    CertificationType, CooperativeKind, CooperativeStatus, StockMovementKind,
};
use solidarity_market::domain::search::{normalize, product_search_text};

/// A cooperative to insert.
pub struct NewCoop<'a> {
    pub name: &'a str,
    pub kind: CooperativeKind,
    pub region: &'a str,
    pub status: CooperativeStatus,
}

impl<'a> NewCoop<'a> {
    pub fn new(name: &'a str, kind: CooperativeKind, region: &'a str) -> Self {
        Self {
            name,
            kind,
            region,
            status: CooperativeStatus::Listed,
        }
    }
}

pub async fn coop(db: &DatabaseConnection, c: NewCoop<'_>) -> cooperative::Model {
    let now = Utc::now();
    cooperative::ActiveModel {
        slug: Set(normalize(c.name).replace([' ', '\''], "-")),
        name: Set(c.name.to_owned()),
        search_text: Set(normalize(c.name)),
        description: Set(String::new()),
        kind: Set(c.kind),
        region_code: Set(c.region.to_owned()),
        province_id: Set(None),
        founded_on: Set(NaiveDate::from_ymd_opt(2010, 1, 1)),
        member_count: Set(20),
        women_led: Set(true),
        youth_led: Set(false),
        listed_since: Set(NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()),
        status: Set(c.status),
        contact_email: Set(Some("contact@example.ma".into())),
        contact_phone: Set(Some("+212 600 000 000".into())),
        commission_rate_bp: Set(None),
        payout_account: Set(Some("011780000012345678901234".into())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert cooperative")
}

/// A product to insert.
pub struct NewProduct<'a> {
    pub sku: &'a str,
    pub name: &'a str,
    pub segment: &'a str,
    pub price_cents: i64,
    pub stock: i32,
    pub active: bool,
    /// Seconds after a fixed epoch, to order by newest.
    pub age: i64,
}

impl<'a> NewProduct<'a> {
    pub fn new(
        sku: &'a str,
        name: &'a str,
        segment: &'a str,
        price_cents: i64,
        stock: i32,
    ) -> Self {
        Self {
            sku,
            name,
            segment,
            price_cents,
            stock,
            active: true,
            age: 0,
        }
    }
}

pub async fn product(
    db: &DatabaseConnection,
    coop: &cooperative::Model,
    p: NewProduct<'_>,
) -> product::Model {
    let segment = segment::Entity::find()
        .filter(segment::Column::Slug.eq(p.segment))
        .one(db)
        .await
        .expect("segment query")
        .unwrap_or_else(|| panic!("no segment {}", p.segment));
    let created = chrono::DateTime::from_timestamp(1_700_000_000 + p.age, 0).unwrap();
    let model = product::ActiveModel {
        sku: Set(p.sku.to_owned()),
        name: Set(p.name.to_owned()),
        description: Set(format!("{} from {}", p.name, coop.name)),
        search_text: Set(product_search_text(p.name, "", "250 g")),
        segment_id: Set(segment.id),
        cooperative_id: Set(coop.id),
        format: Set("250 g".into()),
        price_cents: Set(p.price_cents),
        active: Set(p.active),
        stock: Set(p.stock),
        low_stock_threshold: Set(5),
        created_at: Set(created),
        updated_at: Set(created),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert product");
    if p.stock > 0 {
        stock_movement::ActiveModel {
            product_id: Set(model.id),
            kind: Set(StockMovementKind::Delivery),
            delta: Set(p.stock),
            level_after: Set(p.stock),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("insert movement");
    }
    model
}

/// Gives `coop` a certification; `products` empty means it covers all of them.
pub async fn certify(
    db: &DatabaseConnection,
    coop: &cooperative::Model,
    kind: CertificationType,
    issued_on: NaiveDate,
    expires_on: Option<NaiveDate>,
    products: &[&product::Model],
) -> certification::Model {
    let now = Utc::now();
    let cert = certification::ActiveModel {
        cooperative_id: Set(coop.id),
        r#type: Set(kind),
        number: Set(format!("{}-{}", kind, coop.id)),
        issuer: Set("ONSSA".into()),
        issued_on: Set(issued_on),
        expires_on: Set(expires_on),
        covers_all_products: Set(products.is_empty()),
        revoked_at: Set(None),
        revoked_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert certification");
    for p in products {
        certification_product::ActiveModel {
            certification_id: Set(cert.id),
            product_id: Set(p.id),
        }
        .insert(db)
        .await
        .expect("insert coverage");
    }
    cert
}

/// A date relative to today (UTC is close enough for fixtures far from the boundary).
pub fn days_from_today(days: i64) -> NaiveDate {
    Utc::now().date_naive() + chrono::Duration::days(days)
}

/// Creates an account and signs it in, returning its bearer token.
pub async fn account(
    db: &DatabaseConnection,
    email: &str,
    role: solidarity_market::domain::enums::Role,
    cooperative: Option<&cooperative::Model>,
) -> String {
    use solidarity_market::domain::auth;
    let user = auth::create_user(
        db,
        auth::NewUser {
            email: email.into(),
            password: "correct horse battery".into(),
            name: email.into(),
            role,
            cooperative_id: cooperative.map(|c| c.id),
        },
    )
    .await
    .expect("create account");
    auth::issue_token(db, user.id, chrono::Duration::hours(1))
        .await
        .expect("issue token")
}

/// The five kinds of viewer of the authorization matrix.
pub struct Actors {
    pub customer: String,
    pub own_member: String,
    pub other_member: String,
    pub manager: String,
}

/// A Terroir cooperative with one product (certified) and another cooperative, with an
/// account of each kind.
pub struct Portal {
    pub coop: cooperative::Model,
    pub other: cooperative::Model,
    pub product: product::Model,
    pub actors: Actors,
}

pub async fn portal(db: &DatabaseConnection) -> Portal {
    use solidarity_market::domain::enums::Role;
    let coop = self::coop(
        db,
        NewCoop::new(
            "Coopérative Aït Bouguemez",
            CooperativeKind::Terroir,
            "MA-05",
        ),
    )
    .await;
    let other = self::coop(
        db,
        NewCoop::new(
            "Coopérative Tighanimine",
            CooperativeKind::Cosmetics,
            "MA-09",
        ),
    )
    .await;
    let product = self::product(
        db,
        &coop,
        NewProduct::new("HON-BGZ-1", "Thyme honey", "honey", 9000, 10),
    )
    .await;
    certify(
        db,
        &coop,
        CertificationType::OnssaAuthorization,
        days_from_today(-30),
        None,
        &[],
    )
    .await;
    let actors = Actors {
        customer: account(db, "customer@example.ma", Role::Customer, None).await,
        own_member: account(
            db,
            "member@bouguemez.ma",
            Role::CooperativeMember,
            Some(&coop),
        )
        .await,
        other_member: account(
            db,
            "member@tighanimine.ma",
            Role::CooperativeMember,
            Some(&other),
        )
        .await,
        manager: account(db, "manager@market.ma", Role::Manager, None).await,
    };
    Portal {
        coop,
        other,
        product,
        actors,
    }
}

/// A calendar date, for tests that pin the server's clock.
pub fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a real date")
}

/// Marks `cert` revoked now with `reason`, as `revokeCertification` would.
pub async fn revoke(
    db: &DatabaseConnection,
    cert: &certification::Model,
    reason: &str,
) -> certification::Model {
    let mut model: certification::ActiveModel = cert.clone().into();
    model.revoked_at = Set(Some(Utc::now()));
    model.revoked_reason = Set(Some(reason.to_owned()));
    model.update(db).await.expect("revoke certification")
}

/// An account of each kind for `coop` (its member) and `other` (the other member), with
/// e-mails derived from the cooperatives' slugs so several sets can live in one database.
pub async fn actors_of(
    db: &DatabaseConnection,
    coop: &cooperative::Model,
    other: &cooperative::Model,
) -> Actors {
    use solidarity_market::domain::enums::Role;
    Actors {
        customer: account(
            db,
            &format!("customer@{}.example.ma", coop.slug),
            Role::Customer,
            None,
        )
        .await,
        own_member: account(
            db,
            &format!("member@{}.coop.ma", coop.slug),
            Role::CooperativeMember,
            Some(coop),
        )
        .await,
        other_member: account(
            db,
            &format!("member@{}.coop.ma", other.slug),
            Role::CooperativeMember,
            Some(other),
        )
        .await,
        manager: account(
            db,
            &format!("manager@{}.market.ma", coop.slug),
            Role::Manager,
            None,
        )
        .await,
    }
}

/// Moves the payment of order `number` to `paid_at`. Orders are paid "now" through the
/// API, and payout periods must be over before they are settled: payout tests date their
/// payments into past periods with this, the one field they cannot set through the API.
pub async fn set_paid_at(db: &DatabaseConnection, number: &str, paid_at: chrono::DateTime<Utc>) {
    use market_core::entities::order;
    use sea_orm::sea_query::Expr;
    let changed = order::Entity::update_many()
        .col_expr(order::Column::PaidAt, Expr::value(paid_at))
        .filter(order::Column::Number.eq(number))
        .exec(db)
        .await
        .expect("set paid_at")
        .rows_affected;
    assert_eq!(changed, 1, "no order {number}");
}
