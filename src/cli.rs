//! The data commands of the `solidarity-market` binary — `import orders|catalog`,
//! `rollups rebuild`, `seed --years` — with their progress bars and messages. They live
//! in the library so the tests can run them as the binary does.

use crate::config::Config;
use crate::db::{self, DatabaseConnection, DbErr};
use crate::domain::import::{self, ImportError};
use crate::error::AppError;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use tracing::Instrument;

fn bar(what: &str) -> ProgressBar {
    let bar = if std::env::var_os("NO_PROGRESS").is_some() {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    if let Ok(style) =
        ProgressStyle::with_template("{msg:<8} [{bar:40}] {pos:>9}/{len} ({elapsed}, eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// An [`AppError`] as a `std::error::Error`, so the commands can use `?` and anyhow's
/// `.context(…)` on it. `AppError` has no `Display` on purpose (a stray `?` in a resolver
/// must not drop its code); for people at a terminal it reads as
/// [`AppError::describe`]: the cause chain of a server-side failure, the message of any
/// other.
#[derive(Debug)]
pub struct CliError(pub AppError);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.describe())
    }
}

impl std::error::Error for CliError {}

impl From<AppError> for CliError {
    fn from(err: AppError) -> Self {
        Self(err)
    }
}

/// Database errors read like the domain's (one line, repeated causes dropped).
impl From<DbErr> for CliError {
    fn from(err: DbErr) -> Self {
        Self(AppError::Database(err))
    }
}

/// Says why an import wrote nothing: every bad row with its line, or the failure.
pub fn explain(err: &ImportError) -> String {
    match err {
        ImportError::Rejected { errors, more } => {
            let mut text = String::from("nothing was imported:");
            for e in errors {
                text.push_str(&format!("\n  {e}"));
            }
            if *more > 0 {
                text.push_str(&format!("\n  … and {more} more rows with problems"));
            }
            text
        }
        ImportError::Failed(e) => format!("nothing was imported: {}", e.describe()),
    }
}

/// Connects with the tools' patient pool and applies the pending migrations.
pub async fn connect_and_migrate(config: &Config) -> anyhow::Result<DatabaseConnection> {
    // The error already says where it looked and why.
    let conn = db::connect(&config.database_url, 2)
        .await
        .map_err(|e| CliError(AppError::from_connect(e)))?;
    db::migrate(&conn)
        .await
        .map_err(CliError::from)
        .context("cannot apply the migrations")?;
    Ok(conn)
}

async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let conn = connect_and_migrate(config).await?;
    crate::seed::seed_reference_data(&conn)
        .await
        .map_err(CliError::from)
        .context("cannot load the reference data")?;
    crate::domain::rollups::ensure_built(&conn, config.market_timezone)
        .await
        .map_err(CliError::from)
        .context("cannot build the sales rollups")?;
    Ok(conn)
}

fn open(file: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))
}

/// `import orders FILE`.
pub async fn import_orders(config: &Config, file: &Path) -> anyhow::Result<()> {
    let conn = connect(config).await?;
    let progress = bar("orders");
    let report = import::import_orders(&conn, open(file)?, |done, total| {
        progress.set_length(total);
        progress.set_position(done);
    })
    .instrument(tracing::info_span!("import_orders"))
    .await
    .map_err(|e| anyhow::anyhow!(explain(&e)))?;
    progress.finish();
    println!(
        "imported {} orders ({} lines); {} already imported",
        report.orders, report.lines, report.already_imported
    );
    Ok(())
}

/// `import catalog FILE`.
pub async fn import_catalog(config: &Config, file: &Path) -> anyhow::Result<()> {
    let conn = connect(config).await?;
    let progress = bar("catalog");
    let report = import::import_catalog(&conn, open(file)?, |done, total| {
        progress.set_length(total);
        progress.set_position(done);
    })
    .instrument(tracing::info_span!("import_catalog"))
    .await
    .map_err(|e| anyhow::anyhow!(explain(&e)))?;
    progress.finish();
    // Running instances hear of the new products now rather than at their next poll.
    if let Err(err) = crate::domain::catalog_version::announce(&conn).await {
        tracing::warn!(error = %err, "could not announce the imported catalog");
    }
    println!(
        "imported {} cooperatives and {} products; {} products already there",
        report.cooperatives, report.products, report.already_there
    );
    Ok(())
}

/// `rollups rebuild`.
pub async fn rebuild_rollups(config: &Config) -> anyhow::Result<()> {
    let conn = connect(config).await?;
    let progress = bar("orders");
    let orders = crate::domain::reads::count_orders(&conn)
        .await
        .map_err(CliError::from)
        .context("cannot count the orders")?;
    progress.set_length(orders);
    let txn = db::begin_write(&conn)
        .await
        .map_err(CliError::from)
        .context("cannot start the rebuild")?;
    let result =
        crate::domain::rollups::rebuild(&txn, config.market_timezone, |n| progress.inc(n)).await;
    let summary = db::finish(txn, result)
        .await
        .map_err(CliError::from)
        .context("cannot rebuild the sales rollups")?;
    progress.finish();
    println!(
        "rebuilt the sales rollups from {} sales orders ({} lines)",
        summary.orders, summary.lines
    );
    Ok(())
}

/// `seed --profile market --years N`, after the catalog.
pub async fn seed_history(config: &Config, years: u32) -> anyhow::Result<()> {
    if years == 0 {
        return Ok(());
    }
    let conn = connect(config).await?;
    let started = std::time::Instant::now();
    let summary = crate::seed::history::seed_history(
        &conn,
        config.market_timezone,
        config.market_today(),
        years,
        std::env::var_os("NO_PROGRESS").is_none(),
    )
    .await
    .map_err(CliError::from)
    .context("cannot seed the history")?;
    println!(
        "seeded {years} years of history in {:.0?}: {} orders ({} sales), {} lines, {} items, {} MAD",
        started.elapsed(),
        summary.orders,
        summary.sales_orders,
        summary.lines,
        summary.items,
        summary.revenue_cents / 100
    );
    Ok(())
}
