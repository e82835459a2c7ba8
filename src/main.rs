//! The `solidarity-market` command: serve the API, migrate, seed, export the schema.

use clap::{Parser, Subcommand};
use solidarity_market::config::{Config, LogFormat};
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
    /// Fill an empty database with the demo catalog.
    Seed,
    /// Write the GraphQL schema (SDL) to a file, or to standard output with `-`.
    ExportSchema {
        /// Where to write it.
        #[arg(long, short, default_value = "schema.graphql")]
        output: String,
    },
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
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
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let conn = db::connect(&config.database_url, 2)
                .await
                .map_err(|e| e.to_string())?;
            db::migrate(&conn).await.map_err(|e| e.to_string())?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Seed => {
            let config = Config {
                seed_demo: true,
                ..config
            };
            prepare_database(&config).await.map_err(|e| describe(&e))?;
            Ok(())
        }
        Command::ExportSchema { output } => {
            let sdl = solidarity_market::graphql::sdl();
            if output == "-" {
                print!("{sdl}");
                Ok(())
            } else {
                std::fs::write(&output, sdl).map_err(|e| format!("cannot write {output}: {e}"))
            }
        }
    }
}

fn describe(err: &solidarity_market::error::AppError) -> String {
    match err {
        solidarity_market::error::AppError::Database(e) => format!("database: {e}"),
        other => other.message(),
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let db = prepare_database(&config).await.map_err(|e| describe(&e))?;
    let addr = config.bind_addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!(
        "listening on http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    axum::serve(listener, app(AppState::new(db, config)))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())
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
