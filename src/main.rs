//! The `solidarity-market` command: serve the API, migrate, seed, export the schema.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use solidarity_market::cli::{CliError, connect_and_migrate};
use solidarity_market::config::{Config, LogFormat};
use solidarity_market::domain::enums::Role;
use solidarity_market::domain::reads;
use solidarity_market::{AppState, app, db, prepare_database};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// GraphQL backend of the Solidarity Market, a fair-trade marketplace for the products
/// of Moroccan cooperatives.
#[derive(Parser)]
#[command(name = "solidarity-market", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default): migrates the database first, and fills an
    /// empty one with the demo catalog unless `--seed-demo false`.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Fill an empty database with the demo catalog, or with the market-scale one.
    Seed {
        /// Which catalog: `demo` (40 cooperatives) or `market` (424 cooperatives and
        /// 5,000 products, the size of the real market, for benchmarks).
        #[arg(long, value_enum, default_value_t = SeedProfile::Demo)]
        profile: SeedProfile,
        /// With `--profile market`: also generate this many full years of sales history,
        /// ending with last year (about a million orders in the last one, +18 % a year).
        #[arg(long, default_value_t = 0)]
        years: u32,
    },
    /// Import past sales (`orders`) or cooperatives and products (`catalog`) from a CSV
    /// file: all or nothing, and importing the same file twice adds nothing.
    Import {
        #[command(subcommand)]
        what: ImportKind,
    },
    /// Maintain the sales rollups behind the analytics.
    Rollups {
        #[command(subcommand)]
        action: RollupsAction,
    },
    /// Create an account, e.g. the first manager of a new installation.
    CreateUser {
        /// E-mail address (unique, case-insensitive).
        #[arg(long)]
        email: String,
        /// Password, at least 10 characters. Prefer `--password-stdin` or the
        /// `NEW_USER_PASSWORD` environment variable: a flag stays in the shell's history
        /// and is visible to other users in `ps`.
        #[arg(long, env = "NEW_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Read the password from standard input (its first line), e.g.
        /// `printf '%s\n' "$PASS" | solidarity-market create-user --password-stdin …`.
        #[arg(long, conflicts_with = "password")]
        password_stdin: bool,
        /// MANAGER, COOPERATIVE_MEMBER or CUSTOMER.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Slug of the cooperative of a COOPERATIVE_MEMBER.
        #[arg(long)]
        cooperative: Option<String>,
        /// Display name (defaults to the e-mail address).
        #[arg(long)]
        name: Option<String>,
    },
    /// Write the GraphQL schema (SDL) to a file, or to standard output with `-`.
    ExportSchema {
        /// Where to write it.
        #[arg(long, short, default_value = "schema.graphql")]
        output: String,
    },
}

/// What `import` reads.
#[derive(Subcommand)]
enum ImportKind {
    /// Past order lines: `order_ref,placed_at,channel,status,sku,quantity,unit_price`.
    Orders {
        /// The CSV file.
        file: std::path::PathBuf,
    },
    /// Cooperatives and products: `cooperative_slug,cooperative_name,kind,region,province,
    /// listed_since,sku,product_name,segment,format,price`.
    Catalog {
        /// The CSV file.
        file: std::path::PathBuf,
    },
}

/// What `rollups` does.
#[derive(Subcommand)]
enum RollupsAction {
    /// Recompute every sales rollup from the order lines (in the market's time zone).
    Rebuild,
}

/// The catalogs `seed` can load.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SeedProfile {
    /// The demo catalog, the one `serve` seeds on first start.
    Demo,
    /// The market-scale catalog of the benchmarks.
    Market,
}

fn init_logging(config: &Config) {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for people at a terminal: a log file or a collector gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.config);
    let json_logs = matches!(cli.config.log_format, LogFormat::Json);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Said once on stderr, with its causes on the same line (`{:#}`: "what we were
            // doing: why"): as a log event for collectors reading JSON, as a plain line for
            // people otherwise.
            let message = format!("{err:#}");
            if json_logs {
                tracing::error!("{message}");
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            connect_and_migrate(&config).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Seed {
            profile: SeedProfile::Market,
            years,
        } => {
            seed_market(&config).await?;
            solidarity_market::cli::seed_history(&config, years).await
        }
        Command::Seed {
            profile: SeedProfile::Demo,
            years: 0,
        } => seed_demo(config).await,
        Command::Seed { .. } => bail!("--years needs --profile market"),
        Command::Import {
            what: ImportKind::Orders { file },
        } => solidarity_market::cli::import_orders(&config, &file).await,
        Command::Import {
            what: ImportKind::Catalog { file },
        } => solidarity_market::cli::import_catalog(&config, &file).await,
        Command::Rollups {
            action: RollupsAction::Rebuild,
        } => solidarity_market::cli::rebuild_rollups(&config).await,
        Command::CreateUser {
            email,
            password,
            password_stdin,
            role,
            cooperative,
            name,
        } => {
            let password = new_password(password, password_stdin)?;
            create_user(config, email, password, role, cooperative, name).await
        }
        Command::ExportSchema { output } => {
            let sdl = solidarity_market::graphql::sdl();
            if output == "-" {
                print!("{sdl}");
                Ok(())
            } else {
                std::fs::write(&output, &sdl).with_context(|| format!("cannot write {output}"))?;
                let path = std::fs::canonicalize(&output)
                    .map_or_else(|_| output.clone(), |p| p.display().to_string());
                println!("wrote the schema ({} lines) to {path}", sdl.lines().count());
                Ok(())
            }
        }
    }
}

/// The password of `create-user`: from the flag or `NEW_USER_PASSWORD`, or the first
/// line of standard input with `--password-stdin`.
fn new_password(given: Option<String>, from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let password = line.trim_end_matches(['\n', '\r']).to_owned();
        if password.is_empty() {
            bail!("standard input held no password");
        }
        return Ok(password);
    }
    given.context("give the password with --password-stdin (or NEW_USER_PASSWORD, or --password)")
}

/// `seed` (the demo profile): fills an empty database, and refuses — saying why — one
/// that already holds a catalog, like `seed --profile market`.
async fn seed_demo(config: Config) -> anyhow::Result<()> {
    let config = Config {
        seed_demo: false,
        ..config
    };
    let conn = prepare_database(&config)
        .await
        .map_err(CliError::from)
        .context("cannot prepare the database")?;
    let existing = reads::count_cooperatives(&conn)
        .await
        .map_err(CliError::from)
        .context("cannot count the cooperatives")?;
    if existing > 0 {
        bail!(
            "the database already holds {existing} cooperatives: seed only fills an empty database"
        );
    }
    solidarity_market::seed_demo(&conn, &config)
        .await
        .map_err(CliError::from)
        .context("cannot seed the demo catalog")?;
    println!("seeded the demo catalog");
    Ok(())
}

/// Seeds the market-scale catalog into an empty database, in one transaction.
async fn seed_market(config: &Config) -> anyhow::Result<()> {
    use solidarity_market::seed;
    let conn = connect_and_migrate(config).await?;
    let existing = reads::count_cooperatives(&conn)
        .await
        .map_err(CliError::from)
        .context("cannot count the cooperatives")?;
    if existing > 0 {
        bail!(
            "the database already holds {existing} cooperatives: the market profile only seeds an empty database"
        );
    }
    let txn = db::begin_write(&conn)
        .await
        .map_err(CliError::from)
        .context("cannot start seeding")?;
    let summary = seed::market::seed_market_catalog(&txn, config.market_today(), true)
        .await
        .map_err(CliError::from)
        .context("cannot seed the market catalog")?;
    txn.commit()
        .await
        .map_err(CliError::from)
        .context("cannot commit the market catalog")?;
    tracing::info!(
        cooperatives = summary.cooperatives,
        products = summary.products,
        certifications = summary.certifications,
        stock_movements = summary.stock_movements,
        "seeded the market catalog"
    );
    Ok(())
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(&text.to_uppercase())
        .ok_or_else(|| "expected MANAGER, COOPERATIVE_MEMBER or CUSTOMER".to_owned())
}

async fn create_user(
    config: Config,
    email: String,
    password: String,
    role: Role,
    cooperative: Option<String>,
    name: Option<String>,
) -> anyhow::Result<()> {
    let conn = connect_and_migrate(&config).await?;
    let cooperative_id = match cooperative {
        Some(slug) => Some(
            reads::cooperative_by_slug(&conn, &slug)
                .await
                .map_err(CliError::from)
                .context("cannot look the cooperative up")?
                .with_context(|| format!("no cooperative with slug {slug}"))?
                .id,
        ),
        None => None,
    };
    let new = solidarity_market::domain::auth::NewUser {
        name: name.unwrap_or_else(|| email.clone()),
        email,
        password,
        role,
        cooperative_id,
    };
    let created = solidarity_market::domain::auth::create_user(&conn, new)
        .await
        .map_err(CliError::from)
        .context("cannot create the account")?;
    println!(
        "created {} {} (id {})",
        created.role, created.email, created.id
    );
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let db = prepare_database(&config)
        .await
        .map_err(CliError::from)
        .context("cannot prepare the database")?;
    let addr = config.bind_addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener
        .local_addr()
        .context("cannot read the address listened on")?;
    tracing::info!("listening on http://{local}");
    let state = AppState::new(db, config.clone());
    // A store that cannot be opened would fail every upload and rendition: say so now.
    state
        .images
        .check()
        .map_err(|why| anyhow::anyhow!("the image store cannot be used: {why}"))?;
    tracing::info!(image_store = %state.images.location, "images");
    let router = app(state);
    solidarity_market::server::serve(listener, router, &config, shutdown_signal())
        .await
        .context("the server stopped")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
