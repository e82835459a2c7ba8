//! Importing past sales (`import orders`): checked whole, written in short paced chunks
//! under a staging batch, switched in by one row.

use super::*;

/// What an orders import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrdersReport {
    /// Orders added (new `order_ref`s).
    pub orders: usize,
    /// Their lines.
    pub lines: usize,
    /// Orders of the file already imported before, left as they were.
    pub already_imported: usize,
    /// Rows written by the switch-in, the one transaction that shows the import: one
    /// (the batch's state) whatever the import's size, none when nothing was new.
    pub switch_in_rows: u64,
}

/// What an order line snapshots of its product and cooperative.
#[derive(Debug, Clone)]
pub struct ProductSnapshot {
    pub product_id: i32,
    pub sku: String,
    pub name: String,
    pub cooperative_id: i32,
    pub segment_id: i32,
    pub region_code: String,
    pub kind: CooperativeKind,
    pub commission_bp: i32,
}

/// Every product of the catalog as an order line would snapshot it now, by SKU.
pub async fn product_snapshots(
    db: &impl ConnectionTrait,
) -> AppResult<HashMap<String, ProductSnapshot>> {
    let coops = crate::domain::reads::all_cooperatives_by_id(db).await?;
    let mut out = HashMap::new();
    for p in product::Entity::find().all(db).await? {
        let coop = coops
            .get(&p.cooperative_id)
            .ok_or_else(|| AppError::Internal("product without cooperative".into()))?;
        out.insert(
            p.sku.clone(),
            ProductSnapshot {
                product_id: p.id,
                sku: p.sku,
                name: p.name,
                cooperative_id: coop.id,
                segment_id: p.segment_id,
                region_code: coop.region_code.clone(),
                kind: coop.kind,
                commission_bp: commission_bp(coop),
            },
        );
    }
    Ok(out)
}

/// A past order to write.
#[derive(Debug, Clone)]
pub struct HistoricOrder {
    /// Unique order number (`orders.number`, at most 32 characters).
    pub number: String,
    pub external_ref: Option<String>,
    pub channel: Channel,
    pub status: OrderStatus,
    pub placed_at: DateTime<Utc>,
    /// (product index in the caller's snapshot list, quantity, unit price in centimes)
    pub lines: Vec<(usize, i32, i64)>,
}

/// The order number of an imported order: derived from its reference, so it is stable.
fn imported_number(order_ref: &str) -> String {
    let digest = hex::encode(Sha256::digest(order_ref.as_bytes()));
    format!("IM-{}", &digest[..16].to_uppercase())
}

/// Rows per multi-row `INSERT` (14 values an order, 13 a line: far under both databases' limits).
const INSERT_ROWS: usize = 1_000;

/// Writes past orders and their lines with multi-row `INSERT`s (tagged with `batch`, the
/// import writing them, if any: see [`ImportOptions`]), without touching stock,
/// and adds the sales among them to `delta` (the caller applies it). Timestamps of the
/// life cycle (`paid_at`…) are set to `placed_at`: history does not say more. The orders
/// are marked `imported_at`: their sales were paid before this system, so payouts leave
/// them out.
pub async fn insert_orders(
    txn: &impl ConnectionTrait,
    products: &[ProductSnapshot],
    orders: &[HistoricOrder],
    delta: &mut Delta,
    tz: chrono_tz::Tz,
    batch: Option<i64>,
) -> AppResult<()> {
    let backend = txn.get_database_backend();
    let now = Utc::now();
    for chunk in orders.chunks(INSERT_ROWS) {
        let mut sql = String::from(
            "INSERT INTO orders (number, user_id, channel, status, total_cents, item_count, \
             external_ref, placed_at, paid_at, fulfilled_at, cancelled_at, refunded_at, \
             updated_at, imported_at, import_batch_id) VALUES ",
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 15);
        for (i, o) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
            let total: i64 = o.lines.iter().map(|(_, q, p)| i64::from(*q) * p).sum();
            let items: i32 = o.lines.iter().map(|(_, q, _)| q).sum();
            let paid = matches!(
                o.status,
                OrderStatus::Paid | OrderStatus::Fulfilled | OrderStatus::Refunded
            );
            let at = |yes: bool| -> Value { yes.then_some(o.placed_at).into() };
            values.extend([
                o.number.clone().into(),
                Option::<i32>::None.into(),
                o.channel.as_str().into(),
                o.status.as_str().into(),
                total.into(),
                items.into(),
                o.external_ref.clone().into(),
                o.placed_at.into(),
                at(paid),
                at(o.status == OrderStatus::Fulfilled),
                at(o.status == OrderStatus::Cancelled),
                at(o.status == OrderStatus::Refunded),
                now.into(),
                now.into(),
                batch.into(),
            ]);
        }
        sql.push_str(" RETURNING id, number");
        let rows = txn.query_all_raw(statement(backend, &sql, values)).await?;
        let mut ids: HashMap<String, i64> = HashMap::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get_by_index(0)?;
            let number: String = row.try_get_by_index(1)?;
            ids.insert(number, id);
        }

        let mut lines: Vec<(i64, &ProductSnapshot, i32, i64)> = Vec::new();
        for o in chunk {
            let id = *ids
                .get(&o.number)
                .ok_or_else(|| AppError::Internal("inserted order not returned".into()))?;
            let mut sale = Vec::new();
            for (index, quantity, price) in &o.lines {
                let p = products
                    .get(*index)
                    .ok_or_else(|| AppError::Internal("line of an unknown product".into()))?;
                lines.push((id, p, *quantity, *price));
                sale.push(SaleLine {
                    product_id: p.product_id,
                    cooperative_id: p.cooperative_id,
                    segment_id: p.segment_id,
                    kind: p.kind,
                    region_code: p.region_code.clone(),
                    quantity: *quantity,
                    total_cents: i64::from(*quantity) * price,
                    // Imported history is recorded at the prices paid, without promotions.
                    discount_cents: 0,
                });
            }
            if rollups::is_sale(o.status) {
                delta.add_order(rollups::sales_day(o.placed_at, tz), o.channel, &sale, 1);
            }
        }
        for part in lines.chunks(INSERT_ROWS) {
            let mut sql = String::from(
                "INSERT INTO order_lines (order_id, product_id, sku, product_name, quantity, \
                 unit_price_cents, total_cents, cooperative_id, segment_id, region_code, kind, \
                 commission_rate_bp, payout_statement_id) VALUES ",
            );
            let mut values: Vec<Value> = Vec::with_capacity(part.len() * 13);
            for (i, (order_id, p, quantity, price)) in part.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str("(?,?,?,?,?,?,?,?,?,?,?,?,?)");
                values.extend([
                    (*order_id).into(),
                    p.product_id.into(),
                    p.sku.clone().into(),
                    p.name.clone().into(),
                    (*quantity).into(),
                    (*price).into(),
                    (i64::from(*quantity) * price).into(),
                    p.cooperative_id.into(),
                    p.segment_id.into(),
                    p.region_code.clone().into(),
                    p.kind.as_str().into(),
                    p.commission_bp.into(),
                    Option::<i32>::None.into(),
                ]);
            }
            txn.execute_raw(statement(backend, &sql, values)).await?;
        }
    }
    Ok(())
}

/// One parsed row of an orders file.
struct OrderRow {
    line: u64,
    placed_at: DateTime<Utc>,
    channel: Channel,
    status: OrderStatus,
    product: usize,
    quantity: i32,
    unit_price: i64,
}

/// Imports an orders file (see [`ORDER_COLUMNS`]): one row per order line, rows of the
/// same `order_ref` forming one order. `progress(done, total)` is told how many orders
/// have been written.
pub async fn import_orders(
    db: &DatabaseConnection,
    input: impl Read,
    progress: impl FnMut(u64, u64),
) -> Result<OrdersReport, ImportError> {
    import_orders_with(db, input, progress, ImportOptions::default()).await
}

/// [`import_orders`] with its [`ImportOptions`].
pub async fn import_orders_with(
    db: &DatabaseConnection,
    input: impl Read,
    mut progress: impl FnMut(u64, u64),
    options: ImportOptions,
) -> Result<OrdersReport, ImportError> {
    let mut reader = csv_reader(input);
    check_header(&mut reader, &ORDER_COLUMNS)?;
    let catalog = product_snapshots(db).await?;
    let mut snapshots: Vec<ProductSnapshot> = Vec::new();
    let mut index_of: HashMap<String, usize> = HashMap::new();
    let mut problems = Problems::default();
    // Orders in the order of their first row, with their rows.
    let mut refs: Vec<String> = Vec::new();
    let mut by_ref: HashMap<String, usize> = HashMap::new();
    let mut rows: Vec<Vec<OrderRow>> = Vec::new();
    for record in reader.records() {
        let Some((line, record)) = problems.row(record, ORDER_COLUMNS.len()) else {
            continue;
        };
        let field = |i: usize| record.get(i).unwrap_or("");
        let mut bad = Vec::new();
        let order_ref = field(0).to_owned();
        if order_ref.is_empty() || order_ref.len() > 128 {
            bad.push("order_ref must have 1 to 128 characters".to_owned());
        }
        let placed_at = DateTime::parse_from_rfc3339(field(1))
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                bad.push(format!(
                    "placed_at \"{}\" is not an RFC 3339 time with offset (2024-12-31T23:30:00Z)",
                    field(1)
                ))
            })
            .ok();
        let channel = Channel::parse(field(2)).or_else(|| {
            bad.push(format!("channel \"{}\" is not ONLINE or STORE", field(2)));
            None
        });
        let status = OrderStatus::parse(field(3))
            .filter(|s| *s != OrderStatus::Placed)
            .or_else(|| {
                bad.push(format!(
                    "status \"{}\" is not PAID, FULFILLED, CANCELLED or REFUNDED",
                    field(3)
                ));
                None
            });
        let sku = field(4).to_uppercase();
        let product = match catalog.get(&sku) {
            Some(p) => Some(*index_of.entry(sku.clone()).or_insert_with(|| {
                snapshots.push(p.clone());
                snapshots.len() - 1
            })),
            None => {
                bad.push(format!("unknown SKU \"{}\"", field(4)));
                None
            }
        };
        let quantity = match field(5).parse::<i64>() {
            Ok(q) if (1..=MAX_QUANTITY).contains(&q) => Some(q as i32),
            _ => {
                bad.push(format!(
                    "quantity \"{}\" is not a whole number from 1 to {MAX_QUANTITY}",
                    field(5)
                ));
                None
            }
        };
        let unit_price = parse_price(field(6)).map_err(|e| bad.push(e)).ok();
        if !bad.is_empty() {
            problems.add(line, bad.join("; "));
            continue;
        }
        let (
            Some(placed_at),
            Some(channel),
            Some(status),
            Some(product),
            Some(quantity),
            Some(unit_price),
        ) = (placed_at, channel, status, product, quantity, unit_price)
        else {
            continue;
        };
        let n = *by_ref.entry(order_ref.clone()).or_insert_with(|| {
            refs.push(order_ref.clone());
            rows.push(Vec::new());
            rows.len() - 1
        });
        if let Some(first) = rows[n].first()
            && (first.placed_at != placed_at || first.channel != channel || first.status != status)
        {
            problems.add(
                line,
                format!(
                    "order {order_ref} has another placed_at, channel or status on line {}",
                    first.line
                ),
            );
            continue;
        }
        if rows[n].len() >= 1_000 {
            problems.add(line, format!("order {order_ref} has more than 1,000 lines"));
            continue;
        }
        rows[n].push(OrderRow {
            line,
            placed_at,
            channel,
            status,
            product,
            quantity,
            unit_price,
        });
    }
    problems.check()?;
    write_orders(db, &snapshots, refs, rows, &mut progress, options).await
}

/// How an orders import writes: how many orders (then rollup rows) per transaction, and
/// an optional [`Hold`] between chunks.
#[derive(Clone)]
pub struct ImportOptions {
    /// Orders written by the first transaction.
    pub chunk_orders: usize,
    /// Rollup rows written by the first transaction of the rollups.
    pub chunk_rows: usize,
    /// Whether later chunks are sized by time, each holding the write lock about
    /// [`crate::db::Pacer::TARGET`] (50 ms), or keep the sizes above.
    pub paced: bool,
    /// Where a caller may hold the import between two chunks.
    pub hold: Option<std::sync::Arc<Hold>>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            chunk_orders: CHUNK_ORDERS,
            chunk_rows: CHUNK_ROWS,
            paced: true,
            hold: None,
        }
    }
}

impl ImportOptions {
    fn pacer(&self, first: usize) -> crate::db::Pacer {
        if self.paced {
            crate::db::Pacer::new(first)
        } else {
            crate::db::Pacer::fixed(first)
        }
    }
}

/// Orders in the first chunk of an import (then sized by time): measured at ~0.3 ms an
/// order (2.5 lines) on a loaded 2-core machine, about 60 ms of write lock.
pub const CHUNK_ORDERS: usize = 200;
/// Rollup rows in the first transaction of an import's rollups (then sized by time).
pub const CHUNK_ROWS: usize = 2_000;

/// A point between two chunks where a running import waits for its caller: it says how
/// many orders it has written (`arrived`), then waits for `true` (go on) or `false`
/// (abandon: nothing of the import is kept). It is reached between two chunks of orders,
/// and once more when everything, rollups included, is written and only the switch-in
/// is left. Tests use it to prove that other writes go
/// through while an import runs, and that an abandoned import leaves nothing behind.
pub struct Hold {
    pub arrived: tokio::sync::mpsc::Sender<u64>,
    pub proceed: tokio::sync::Mutex<tokio::sync::mpsc::Receiver<bool>>,
}

impl Hold {
    /// A hold, the receiver of its arrivals and the sender of its decisions.
    pub fn new() -> (
        std::sync::Arc<Self>,
        tokio::sync::mpsc::Receiver<u64>,
        tokio::sync::mpsc::Sender<bool>,
    ) {
        let (arrived, arrivals) = tokio::sync::mpsc::channel(1);
        let (decide, proceed) = tokio::sync::mpsc::channel(1);
        (
            std::sync::Arc::new(Self {
                arrived,
                proceed: tokio::sync::Mutex::new(proceed),
            }),
            arrivals,
            decide,
        )
    }

    /// Waits at the hold; `false` when the import is to be abandoned.
    async fn wait(&self, done: u64) -> bool {
        if self.arrived.send(done).await.is_err() {
            return true;
        }
        self.proceed.lock().await.recv().await.unwrap_or(true)
    }
}

/// A batch left `STAGING` this long without a sign of life belongs to an import that
/// died: the next import deletes what it wrote.
const ABANDONED_AFTER: chrono::Duration = chrono::Duration::minutes(10);
/// Orders deleted per statement when an abandoned batch is cleared.
const DELETE_ROWS: usize = 5_000;

/// Deletes the rollup rows and every order (and, by cascade, line) of batch `id`, in
/// short transactions, then the batch.
async fn discard_batch(db: &DatabaseConnection, id: i64) -> AppResult<()> {
    let backend = db.get_database_backend();
    rollups::discard(db, id).await?;
    loop {
        let txn = crate::db::begin_write(db).await?;
        let deleted = txn
            .execute_raw(statement(
                backend,
                &format!(
                    "DELETE FROM orders WHERE id IN \
                     (SELECT id FROM orders WHERE import_batch_id = ? LIMIT {DELETE_ROWS})"
                ),
                vec![id.into()],
            ))
            .await?
            .rows_affected();
        if deleted == 0 {
            txn.execute_raw(statement(
                backend,
                "DELETE FROM import_batches WHERE id = ? AND state = 'STAGING'",
                vec![id.into()],
            ))
            .await?;
            txn.commit().await?;
            return Ok(());
        }
        txn.commit().await?;
    }
}

/// Clears the batches of imports that died while staging.
async fn discard_abandoned(db: &DatabaseConnection) -> AppResult<()> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(statement(
            backend,
            "SELECT id FROM import_batches WHERE state = 'STAGING' AND heartbeat_at < ?",
            vec![(Utc::now() - ABANDONED_AFTER).into()],
        ))
        .await?;
    for row in rows {
        let id: i64 = row.try_get_by_index(0)?;
        tracing::warn!(
            batch = id,
            "clearing the orders of an import that did not finish"
        );
        discard_batch(db, id).await?;
    }
    Ok(())
}

/// Writes the new orders of a checked file: each chunk in its own short transaction,
/// tagged with the import's batch and hidden from every reader; then one short
/// transaction marks the batch `DONE` and adds the sales to the rollups, and the whole
/// import appears at once. Any failure (or an abandon at a hold) deletes what was written.
async fn write_orders(
    db: &DatabaseConnection,
    snapshots: &[ProductSnapshot],
    refs: Vec<String>,
    rows: Vec<Vec<OrderRow>>,
    progress: &mut impl FnMut(u64, u64),
    options: ImportOptions,
) -> Result<OrdersReport, ImportError> {
    let backend = db.get_database_backend();
    discard_abandoned(db).await?;
    for batch in rollups::unfolded(db).await? {
        rollups::fold(db, batch).await?;
    }
    // Which references are already imported (by a finished import: those of one still
    // staging are refused by the unique index when this one writes them).
    let mut known: HashSet<String> = HashSet::new();
    for chunk in refs.chunks(INSERT_ROWS) {
        let marks = vec!["?"; chunk.len()].join(",");
        let found = db
            .query_all_raw(statement(
                backend,
                &format!(
                    "SELECT external_ref FROM orders WHERE external_ref IN ({marks}) \
                     AND (import_batch_id IS NULL OR import_batch_id IN \
                          (SELECT id FROM import_batches WHERE state = 'DONE'))"
                ),
                chunk.iter().map(|r| r.clone().into()).collect(),
            ))
            .await?;
        for row in found {
            known.insert(row.try_get_by_index(0)?);
        }
    }
    let mut report = OrdersReport {
        already_imported: known.len(),
        ..Default::default()
    };
    let total = (refs.len() - known.len()) as u64;
    let orders: Vec<HistoricOrder> = refs
        .into_iter()
        .zip(rows)
        .filter(|(order_ref, _)| !known.contains(order_ref))
        .map(|(order_ref, lines)| {
            let first = &lines[0];
            report.orders += 1;
            report.lines += lines.len();
            HistoricOrder {
                number: imported_number(&order_ref),
                external_ref: Some(order_ref),
                channel: first.channel,
                status: first.status,
                placed_at: first.placed_at,
                lines: lines
                    .iter()
                    .map(|l| (l.product, l.quantity, l.unit_price))
                    .collect(),
            }
        })
        .collect();
    if orders.is_empty() {
        progress(0, 0);
        return Ok(report);
    }

    let now = Utc::now();
    let batch: i64 = db
        .query_one_raw(statement(
            backend,
            "INSERT INTO import_batches (kind, state, started_at, heartbeat_at) \
             VALUES ('ORDERS', 'STAGING', ?, ?) RETURNING id",
            vec![now.into(), now.into()],
        ))
        .await?
        .ok_or_else(|| AppError::Internal("import batch not returned".into()))?
        .try_get_by_index(0)?;
    let staged = stage_orders(db, snapshots, &orders, batch, progress, total, &options).await;
    let switched = match staged {
        Ok(()) => switch_in(db, batch).await.map_err(ImportError::from),
        Err(e) => Err(e),
    };
    match switched {
        Ok(rows) => {
            report.switch_in_rows = rows;
            // Switched in: the import is whole and visible. Folding its rollup rows into
            // the live ones only keeps the analytics' reads small; if it fails, the next
            // import does it.
            let started = std::time::Instant::now();
            match rollups::fold(db, batch).await {
                Ok(moved) => tracing::info!(
                    batch,
                    rows = moved,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "folded the import's rollups into the live ones"
                ),
                Err(e) => {
                    tracing::warn!(batch, error = ?e, "could not fold the import's rollups; the next import will")
                }
            }
            Ok(report)
        }
        Err(e) => {
            if let Err(cleanup) = discard_batch(db, batch).await {
                tracing::error!(batch, error = ?cleanup, "could not clear a failed import; the next import will");
            }
            Err(e)
        }
    }
}

/// The error of an import abandoned at its hold.
fn abandoned() -> ImportError {
    ImportError::Failed(AppError::bad_input(
        "the import was abandoned; nothing was imported",
    ))
}

/// Writes `orders` chunk by chunk under batch `batch`, then their rollup rows, also under
/// the batch and in short transactions: everything but the switch-in.
async fn stage_orders(
    db: &DatabaseConnection,
    snapshots: &[ProductSnapshot],
    orders: &[HistoricOrder],
    batch: i64,
    progress: &mut impl FnMut(u64, u64),
    total: u64,
    options: &ImportOptions,
) -> Result<(), ImportError> {
    let tz = rollups::timezone(db).await?;
    let mut delta = Delta::default();
    let mut pace = options.pacer(options.chunk_orders);
    let mut done = 0usize;
    while done < orders.len() {
        if done > 0
            && let Some(hold) = &options.hold
            && !hold.wait(done as u64).await
        {
            return Err(abandoned());
        }
        let chunk = &orders[done..(done + pace.size()).min(orders.len())];
        let started = std::time::Instant::now();
        let txn = crate::db::begin_write(db).await?;
        let written = async {
            insert_orders(&txn, snapshots, chunk, &mut delta, tz, Some(batch)).await?;
            heartbeat(&txn, batch).await
        }
        .await;
        crate::db::finish(txn, written)
            .await
            .map_err(already_importing)?;
        pace.took(started.elapsed());
        done += chunk.len();
        progress(done as u64, total);
    }

    let started = std::time::Instant::now();
    let rows = delta.rows();
    let mut parts = delta.into_parts();
    let mut pace = options.pacer(options.chunk_rows);
    while let Some(part) = parts.next_part(pace.size()) {
        let step = std::time::Instant::now();
        let txn = crate::db::begin_write(db).await?;
        let written = async {
            rollups::apply_as(&txn, part, batch).await?;
            heartbeat(&txn, batch).await
        }
        .await;
        crate::db::finish(txn, written).await?;
        pace.took(step.elapsed());
    }
    tracing::info!(
        batch,
        rows,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "wrote the import's rollup rows (not counted before the switch-in)"
    );
    if let Some(hold) = &options.hold
        && !hold.wait(done as u64).await
    {
        return Err(abandoned());
    }
    Ok(())
}

/// Marks batch `batch` as alive (see [`discard_abandoned`]).
async fn heartbeat(txn: &impl ConnectionTrait, batch: i64) -> AppResult<()> {
    txn.execute_raw(statement(
        txn.get_database_backend(),
        "UPDATE import_batches SET heartbeat_at = ? WHERE id = ?",
        vec![Utc::now().into(), batch.into()],
    ))
    .await?;
    Ok(())
}

/// The one tiny transaction that makes a staged import visible: the batch becomes `DONE`,
/// and with it its orders and rollup rows, whatever the import's size. Returns the rows
/// it wrote (one).
async fn switch_in(db: &DatabaseConnection, batch: i64) -> AppResult<u64> {
    let backend = db.get_database_backend();
    let started = std::time::Instant::now();
    let txn = crate::db::begin_write(db).await?;
    let result = async {
        let switched = txn
            .execute_raw(statement(
                backend,
                "UPDATE import_batches SET state = 'DONE', finished_at = ? \
                 WHERE id = ? AND state = 'STAGING'",
                vec![Utc::now().into(), batch.into()],
            ))
            .await?
            .rows_affected();
        if switched != 1 {
            return Err(AppError::internal(format!(
                "import batch {batch} vanished while staging"
            )));
        }
        Ok(switched)
    }
    .await;
    let rows = crate::db::finish(txn, result).await?;
    tracing::info!(
        batch,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "switched the import in"
    );
    Ok(rows)
}

/// A unique-index refusal while staging: another import is writing the same orders.
fn already_importing(e: AppError) -> ImportError {
    match &e {
        AppError::Database(db)
            if matches!(
                db.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            ImportError::Failed(AppError::bad_input(
                "another import is writing some of these orders; run this one again once it has finished",
            ))
        }
        _ => ImportError::Failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imported_numbers_are_stable_and_short() {
        let n = imported_number("POS-2019-000001");
        assert_eq!(n, imported_number("POS-2019-000001"));
        assert!(n.len() <= 32 && n.starts_with("IM-"));
        assert_ne!(n, imported_number("POS-2019-000002"));
    }
}
