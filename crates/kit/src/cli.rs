//! The command line every service binary shares: `serve` (the default), `migrate` and `openapi`.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{self, ServiceConfig};
use crate::db::Db;
use crate::server::{self, Service};
use crate::{docs, shutdown, telemetry};

#[derive(Debug, Parser)]
struct Cli {
    /// A TOML file layered over the embedded defaults (environment variables still win).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service until SIGTERM or Ctrl-C (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the service's OpenAPI document.
    Openapi,
}

/// The whole `main` of a service binary.
pub fn main<S: Service>() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Openapi = command {
        return match server::spec::<S>() {
            Ok(spec) => {
                print!("{}", docs::spec_json(&spec));
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("chorus-{}: {error}", S::NAME);
                ExitCode::FAILURE
            }
        };
    }
    let config: S::Config = match config::load(S::NAME, S::DEFAULT_CONFIG, cli.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("chorus-{}: {error}", S::NAME);
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.telemetry());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let outcome = runtime.block_on(async move {
        match command {
            Command::Migrate => migrate::<S>(&config).await,
            _ => serve::<S>(config).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "chorus-{} failed", S::NAME);
            eprintln!("chorus-{}: {error:#}", S::NAME);
            ExitCode::FAILURE
        }
    }
}

async fn migrate<S: Service>(config: &S::Config) -> anyhow::Result<()> {
    let db = Db::connect(config.database())?;
    let applied = db.migrate(S::migrations()).await?;
    tracing::info!(service = S::NAME, ?applied, "migrations applied");
    Ok(())
}

async fn serve<S: Service>(config: S::Config) -> anyhow::Result<()> {
    let running = server::start::<S>(config).await?;
    shutdown::signal().await;
    tracing::info!(service = S::NAME, "shutting down");
    running.stop().await;
    Ok(())
}
